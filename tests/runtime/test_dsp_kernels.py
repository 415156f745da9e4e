"""Cortex-M DSP-extension kernels (runtime_c/ports/cortex_m, EMC_USE_DSP): they build warning-free
for M4 and M7, and the QEMU firmware built with them (make DSP=1, the default) gives outputs
byte-identical to the portable firmware (DSP=0) and to the PC reference, on the four MLPerf Tiny
models and on synthetic layers chosen to hit every edge of the kernels (odd channel counts,
IC % 4 != 0, padding, stride, dilation, depth multiplier 2, narrow activation ranges, left shifts,
shift 0, huge biases, weight offsets, INT32_MIN multipliers, ADD tables), and the software KPU's DSP
path on K210 models. The loader's arena (with the im2col scratch) equals the Python formula the
convertor reports."""
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

RT = pathlib.Path(__file__).resolve().parents[2] / "runtime_c"
CPUS = {"cortex-m4": ["-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16"], "cortex-m7": ["-mcpu=cortex-m7", "-mfpu=fpv5-d16"]}


def _have_qemu():
    return shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm") and shutil.which("make")


@pytest.mark.parametrize("cpu", sorted(CPUS))
def test_dsp_kernels_build_warning_free(cpu, tmp_path):
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    srcs = sorted(RT.glob("ports/cortex_m/*.c")) + sorted(RT.glob("kernels/generic/*.c")) + \
        [RT / "kernels/v3/k_k210_conv.c"]
    for dsp in (["-DEMC_USE_DSP=1"], []):
        for src in srcs:
            r = subprocess.run(["arm-none-eabi-gcc", "-mthumb", "-mfloat-abi=hard"] + CPUS[cpu] + dsp +
                               ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-ffp-contract=off", "-O2",
                                f"-I{RT / 'include'}", f"-I{RT / 'src'}", "-c", str(src),
                                "-o", str(tmp_path / (src.stem + ".o"))], capture_output=True, text=True)
            assert r.returncode == 0, f"{cpu} {dsp} {src.name}:\n{r.stderr}"


def test_dsp_needs_the_dsp_extension(tmp_path):
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    r = subprocess.run(["arm-none-eabi-gcc", "-mcpu=cortex-m3", "-mthumb", "-DEMC_USE_DSP=1", "-std=c99",
                        f"-I{RT / 'include'}", f"-I{RT / 'src'}", "-c", str(RT / "ports/cortex_m/kernels_dsp_conv.c"),
                        "-o", str(tmp_path / "x.o")], capture_output=True, text=True)
    assert r.returncode != 0 and "DSP extension" in r.stderr


def _outputs(sess, case):
    """Raw output bytes of every input of the case, and the arena the device's loader reported."""
    outs = []
    for x in case.inputs:
        x = np.ascontiguousarray(x)
        res, o = sess.do(case.name, lambda dev, pre: dev.run(x.tobytes(), preloaded_input=pre), case.kmodel,
                         x.tobytes())
        assert res.status == 0
        outs.append(o)
    return outs, sess.load_result.arena_required


def _run_all(target, kernels, cases_):
    from emc.hil import harness
    dut = harness.QemuDut(target, kernels=kernels, log=lambda *a: None)
    try:
        sess = harness.Session(dut, log=lambda *a: None)
        return [_outputs(sess, c) for c in cases_]
    finally:
        dut.close()


def _expected(case):
    return [[np.ascontiguousarray(e).tobytes() for e in exp] for exp in case.expected]


@pytest.fixture(scope="module")
def mlperf_cases():
    from emc.hil import cases
    return [cases.build(m, 2) for m in ("kws", "vww", "ic", "ad")]


@pytest.mark.slow
@pytest.mark.parametrize("target", ["qemu-m4", "qemu-m7"])
def test_mlperf_dsp_firmware_byte_identical(target, mlperf_cases):
    if not _have_qemu():
        pytest.skip("needs arm-none-eabi-gcc, make and qemu-system-arm")
    from emc.kmodel import load
    from emc.kmodel.arena import arena_bytes
    dsp = _run_all(target, "dsp", mlperf_cases)
    port = _run_all(target, "portable", mlperf_cases) if target == "qemu-m4" else None
    for i, case in enumerate(mlperf_cases):
        outs, arena = dsp[i]
        assert outs == _expected(case), f"{case.name}: DSP firmware differs from the PC reference"
        assert arena == arena_bytes(load(case.kmodel)), case.name
        if port is not None:
            assert outs == port[i][0], f"{case.name}: DSP and portable firmware differ"


# ---- synthetic edge cases -------------------------------------------------------------------------
def _synth(kind, rng, ih=7, iw=6, ic=5, oc=7, k=(3, 3), stride=(1, 1), dil=(1, 1), pad=(1, 1), dm=1,
           act=(-128, 127), shifts=None, bias_scale=2000, mults=None, in_off=None, w_off=0, batches=1):
    from emc.kmodel.layers import generic_layers as G
    from emc.kmodel import KModel
    in_off = int(rng.integers(-127, 129)) if in_off is None else in_off
    out_off = int(rng.integers(-128, 128))
    if kind == "add":
        n = ih * iw * ic
        out_addr = 2 * ((n + 15) // 16 * 16)
        inp = G.GenericInput(main_mem_out_address=0, dtype=2, rank=1, dim0=2 * ((n + 15) // 16 * 16), dim1=0,
                             dim2=0, dim3=0, scale=0.05, zero_point=-in_off)
        m = [int(v) for v in rng.integers(1 << 30, (1 << 31) - 1, 3)]
        sh = shifts or [-1, -2, -18]
        layer = G.GenericAdd(main_mem_in_a_address=0, main_mem_in_b_address=(n + 15) // 16 * 16,
                             main_mem_out_address=out_addr, count=n, input1_offset=in_off, input1_multiplier=m[0],
                             input1_shift=sh[0], input2_offset=int(rng.integers(-127, 129)), input2_multiplier=m[1],
                             input2_shift=sh[1], left_shift=20, output_offset=out_off, output_multiplier=m[2],
                             output_shift=sh[2], act_min=act[0], act_max=act[1])
        outl = G.GenericOutput(main_mem_address=out_addr, dtype=2, rank=1, dim0=n, dim1=0, dim2=0, dim3=0,
                               scale=0.1, zero_point=out_off)
        return KModel(layers=[inp, layer, outl], outputs=[(out_addr, n)], flags=1,
                      main_mem_usage=out_addr + n).to_bytes()
    if kind == "fc":
        idp, od = ic, oc
        n_in, n_out = batches * idp, batches * od
        nm = od
    else:
        if kind == "dw":
            oc = ic * dm
        oh = (ih + 2 * pad[0] - dil[0] * (k[0] - 1) - 1) // stride[0] + 1
        ow = (iw + 2 * pad[1] - dil[1] * (k[1] - 1) - 1) // stride[1] + 1
        n_in, n_out, nm = ih * iw * ic, oh * ow * oc, oc
    mult = np.asarray(mults if mults is not None else rng.integers(1 << 30, (1 << 31) - 1, nm), np.int32)
    shift = np.asarray(shifts if shifts is not None else rng.integers(-12, -4, nm), np.int32)
    bias = (rng.normal(0, bias_scale, nm)).astype(np.int32)
    inp = G.GenericInput(main_mem_out_address=0, dtype=2, rank=1, dim0=n_in, dim1=0, dim2=0, dim3=0, scale=0.05,
                         zero_point=-in_off)
    out_addr = (n_in + 15) // 16 * 16
    if kind == "fc":
        layer = G.GenericFullyConnected(main_mem_in_address=0, main_mem_out_address=out_addr, batches=batches,
                                        in_depth=idp, out_depth=od, input_offset=in_off, filter_offset=w_off,
                                        output_offset=out_off, act_min=act[0], act_max=act[1], per_channel=1,
                                        bias=bias, multiplier=mult, shift=shift,
                                        weights=rng.integers(-128, 128, od * idp).astype(np.int8))
    else:
        cls = G.GenericDepthwiseConv2d if kind == "dw" else G.GenericConv2d
        nw = oc * k[0] * k[1] * (1 if kind == "dw" else ic)
        layer = cls(main_mem_in_address=0, main_mem_out_address=out_addr, in_h=ih, in_w=iw, in_c=ic, out_h=oh,
                    out_w=ow, out_c=oc, k_h=k[0], k_w=k[1], stride_h=stride[0], stride_w=stride[1], dil_h=dil[0],
                    dil_w=dil[1], pad_top=pad[0], pad_left=pad[1], input_offset=in_off, output_offset=out_off,
                    act_min=act[0], act_max=act[1], depth_multiplier=dm if kind == "dw" else 1, bias=bias,
                    multiplier=mult, shift=shift, weights=rng.integers(-128, 128, nw).astype(np.int8))
    outl = G.GenericOutput(main_mem_address=out_addr, dtype=2, rank=1, dim0=n_out, dim1=0, dim2=0, dim3=0,
                           scale=0.1, zero_point=out_off)
    return KModel(layers=[inp, layer, outl], outputs=[(out_addr, n_out)], flags=1,
                  main_mem_usage=out_addr + n_out).to_bytes()


def _synth_cases():
    from emc.hil.cases import _device_inputs, _finish
    from emc.kmodel import load
    rng = np.random.default_rng(5)
    big = [1 << 30, -(1 << 30)]
    specs = {
        "conv_ic5_oc7_pad": ("conv", {}),
        "conv_ic8_1x1": ("conv", dict(ic=8, oc=16, k=(1, 1), pad=(0, 0))),
        "conv_ic4_odd_pixels": ("conv", dict(ih=5, iw=5, ic=4, oc=3, pad=(0, 0))),
        "conv_ic16_stride2_dil2": ("conv", dict(ih=11, iw=9, ic=16, oc=6, stride=(2, 2), dil=(2, 2), pad=(2, 1))),
        "conv_ic1_10x4": ("conv", dict(ih=12, iw=6, ic=1, oc=9, k=(10, 4), stride=(2, 2), pad=(4, 1))),
        "conv_ic3_narrow_act": ("conv", dict(ic=3, oc=8, act=(-20, 60))),
        "conv_shifts_edge": ("conv", dict(ic=12, oc=6, shifts=[3, 0, -1, -31, -30, -23])),
        "conv_big_bias": ("conv", dict(ic=8, oc=4, bias_scale=0, shifts=[-31, -31, -3, -30])),
        "conv_int32min_mult": ("conv", dict(ic=8, oc=2, mults=[-(1 << 31), 1 << 30])),
        "dw_c8_3x3": ("dw", dict(ic=8, k=(3, 3))),
        "dw_c6_5x3_stride2": ("dw", dict(ih=9, iw=8, ic=6, k=(5, 3), stride=(2, 2), pad=(2, 1))),
        "dw_c4_dm2": ("dw", dict(ic=4, dm=2)),
        "dw_c12_narrow_shift0": ("dw", dict(ic=12, act=(-100, 100), shifts=[0, 1, -1, -31] * 3)),
        "dw_c16_dil2": ("dw", dict(ih=10, iw=10, ic=16, dil=(2, 2), pad=(2, 2))),
        "fc_67x13": ("fc", dict(ic=67, oc=13)),
        "fc_w_offset_batch3": ("fc", dict(ic=20, oc=5, w_off=-3, batches=3)),
        "fc_shifts_edge": ("fc", dict(ic=16, oc=4, shifts=[2, 0, -31, -6])),
        "add_fast": ("add", dict(ih=5, iw=7, ic=3)),
        "add_narrow_shift0": ("add", dict(ih=4, iw=4, ic=5, act=(-50, 90), shifts=[0, -31, 0])),
        "add_out_shift_26": ("add", dict(ih=3, iw=5, ic=4, shifts=[-1, -2, -26])),  # beyond the folded form
        # the first layer of an RGB model: K = 27, the asm takes the last channel pair too
        "conv_ic3_oc8_rgb_pad": ("conv", dict(ih=9, iw=8, ic=3, oc=8, stride=(2, 2))),
        # pruned channels (all-zero weights, as in the MLPerf VWW model): skipped pairs, a half-dead
        # pair that is still computed, an odd pixel count, dead channels with a huge bias
        "conv_pruned_pairs": ("conv", dict(ih=5, iw=5, ic=8, oc=12, k=(1, 1), pad=(0, 0))),
        "conv_pruned_all": ("conv", dict(ih=4, iw=4, ic=16, oc=6, k=(1, 1), pad=(0, 0))),
        "dw_c8_3x3_stride2_pad": ("dw", dict(ih=9, iw=7, ic=8, stride=(2, 2))),
    }
    dead = {"conv_pruned_pairs": [2, 3, 6, 7, 8, 9, 10], "conv_pruned_all": list(range(6))}
    out = []
    for name, (kind, kw) in specs.items():
        if name == "conv_big_bias":
            data = _synth(kind, rng, **kw)
            m = load(data)
            m.layers[1].bias[:] = big + [123456789, -5]
            data = m.to_bytes()
        elif name in dead:
            data = _synth(kind, rng, **kw)
            m = load(data)
            conv = m.layers[1]
            w = conv.weights.reshape(conv.out_c, -1)
            w[dead[name]] = 0
            huge = [c for c in dead[name][::2] if c != 10]   # channel 10 pairs with a live one
            conv.bias[huge] = 1 << 30
            conv.shift[huge] = -31
            data = m.to_bytes()
        else:
            data = _synth(kind, rng, **kw)
        m = load(data)
        out.append(_finish(name, "generic", data, _device_inputs(name, m, 2)))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("target", ["qemu-m4", "qemu-m7"])
def test_synthetic_edge_layers_byte_identical(target):
    if not _have_qemu():
        pytest.skip("needs arm-none-eabi-gcc, make and qemu-system-arm")
    from emc.kmodel import load
    from emc.kmodel.arena import arena_bytes
    cs = _synth_cases()
    dsp = _run_all(target, "dsp", cs)
    for c, (outs, arena) in zip(cs, dsp):
        assert outs == _expected(c), f"{c.name}: DSP firmware differs from the PC reference"
        assert arena == arena_bytes(load(c.kmodel)), c.name


@pytest.mark.slow
def test_software_kpu_dsp_byte_identical():
    """The software KPU's DSP path (32-bit sums, kernels_dsp_kpu.c) on K210 models under QEMU M4."""
    if not _have_qemu():
        pytest.skip("needs arm-none-eabi-gcc, make and qemu-system-arm")
    from emc.hil import cases
    cs = [cases.build(m, 1) for m in ("cifar10-maixemc-hw", "mbnet-k210", "inception-k210")]
    for c, (outs, _arena) in zip(cs, _run_all("qemu-m4", "dsp", cs)):
        assert outs == _expected(c), f"{c.name}: DSP firmware differs from the PC reference"


@pytest.mark.slow
def test_synthetic_k210_models_software_kpu_dsp():
    """The software KPU's Cortex-M paths (3x3 over a padded copy, USADA8 window sums, 1x1 words)
    on the synthetic K210 chains: widths 20/10/5/3 (odd widths: the last pixel of a pair), every
    pool type, depthwise, 16-bit weights, shifted arg_x/arg_w, pad values != 0."""
    if not _have_qemu():
        pytest.skip("needs arm-none-eabi-gcc, make and qemu-system-arm")
    from emc.hil.cases import _device_inputs, _finish
    from emc.kmodel import load
    from emc.kmodel import KModel
    from emc.kmodel.layers import K210Conv
    from .synth_v3 import kpu_model
    cs = []
    for name, km in (("kpu8", kpu_model(0, True)), ("kpu16", kpu_model(3, False))):
        data = km.to_bytes()
        cs.append(_finish(name, "k210", data, _device_inputs(name, load(data), 2)))
    # odd width whose every pixel reaches the output unsaturated (bn / 8, identity activation):
    # the last pixel of each row goes through the 3x3 routine's single-pixel tail
    rng = np.random.default_rng(11)
    ic, h, w, oc = 3, 5, 7, 4
    identity = ([-(1 << 35)] + [0] * 15, [0] + [1] * 15, [0] * 16, [0] * 16)
    conv = K210Conv.make(weights=rng.integers(0, 4, (oc, ic, 3, 3)), in_shape=(ic, h, w), src_row=0,
                         dst_row=16384, main_out=0, bn=([1] * oc, [0] * oc, [3] * oc), act=identity,
                         pad_value=7, arg_x=-1, shr_x=2)
    data = KModel([conv], outputs=[(0, oc * h * w)], main_mem_usage=oc * h * w).to_bytes()
    odd = _finish("k210_odd_width", "k210", data, [rng.integers(0, 21, (ic, h, w)).astype(np.uint8)
                                                    for _ in range(2)])
    want = np.concatenate([np.ravel(e) for exp in odd.expected for e in exp])
    assert 0 < want.min() and want.max() < 255, "the odd-width case must not saturate"
    cs.append(odd)
    from emc.hil import harness
    dut = harness.QemuDut("qemu-m4", kernels="dsp", log=lambda *a: None)
    try:
        sess = harness.Session(dut, log=lambda *a: None)
        for c in cs:
            assert _outputs(sess, c)[0] == _expected(c), f"{c.name}: DSP firmware differs from the PC reference"
            # every layer, not only the outputs: a K210 map can be lost downstream (pooling, clamps)
            for x in c.inputs:
                _, per_layer = harness.first_divergence(sess, c, np.ascontiguousarray(x))
                bad = [row for row in per_layer if row[2] != 0.0]
                assert per_layer and not bad, f"{c.name}: layers differ from the PC: {bad}"
    finally:
        dut.close()
