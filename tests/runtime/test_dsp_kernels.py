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

from .synth_generic import synth_cases

RT = pathlib.Path(__file__).resolve().parents[2] / "runtime_c"
CPUS = {"cortex-m4": ["-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16"], "cortex-m7": ["-mcpu=cortex-m7", "-mfpu=fpv5-d16"]}


def _have_qemu():
    return shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm") and shutil.which("make")


@pytest.mark.slow
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


@pytest.mark.slow
@pytest.mark.parametrize("target", ["qemu-m4", "qemu-m7"])
def test_synthetic_edge_layers_byte_identical(target):
    if not _have_qemu():
        pytest.skip("needs arm-none-eabi-gcc, make and qemu-system-arm")
    from emc.kmodel import load
    from emc.kmodel.arena import arena_bytes
    cs = synth_cases()
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


def _block_need(k, ic, oc, n):
    """Scratch bytes the DSP conv's n-pixel blocks need (kernels_dsp_conv.c: n interleaved int16
    columns, the n = 8 sentinel, the gathered bytes when IC % 4 != 0, 18 bytes per channel)."""
    raw = (k + 4 + 7) & ~7 if ic % 4 else 0
    return 8 * n * ((k + 3) // 4) + (8 if n == 8 or raw else 0) + raw + 18 * oc


# (input shape, conv KxK, conv OC, pointwise OC, pixel block the first conv gets): a depthwise layer
# after them reserves the scratch that selects the block; pixel counts 35, 25, 15 leave remainders
# for the smaller blocks and the pair path; odd channel counts; the pointwise conv has IC % 4 != 0
BLOCK_MODELS = [((1, 7, 5, 8), 3, 7, 48, 8), ((1, 5, 5, 16), 3, 5, 60, 6), ((1, 5, 3, 24), 3, 9, 56, 4)]


@pytest.mark.slow
@pytest.mark.parametrize("target", ["qemu-m4", "qemu-m7"])
def test_conv_pixel_blocks_vs_tflm(target):
    """Models made by the real TFLite converter whose conv layers run the DSP kernel's 8-, 6- and
    4-pixel blocks: the QEMU DSP firmware's outputs equal TFLite Micro's, byte for byte."""
    if not _have_qemu():
        pytest.skip("needs arm-none-eabi-gcc, make and qemu-system-arm")
    tf = pytest.importorskip("tensorflow")
    from emc.backends.generic import import_tflite
    from emc.hil.cases import Case
    from emc.kmodel import load
    from emc.kmodel.arena import arena_bytes
    from .tflite_making import int8_tflite
    from .tflm_support import golden_runner
    cs = []
    for shape, kk, oc, pw, block in BLOCK_MODELS:
        rng = np.random.default_rng(sum(shape) + oc)
        w1 = tf.constant(rng.normal(0, 1, (kk, kk, shape[-1], oc)).astype(np.float32))
        w2 = tf.constant(rng.normal(0, 1, (1, 1, oc, pw)).astype(np.float32))
        w3 = tf.constant(rng.normal(0, 1, (3, 3, pw, 1)).astype(np.float32))
        data = int8_tflite(lambda x: tf.nn.depthwise_conv2d(
            tf.nn.relu(tf.nn.conv2d(tf.nn.relu(tf.nn.conv2d(x, w1, 1, "SAME")), w2, 1, "SAME")), w3, [1, 1, 1, 1],
            "SAME"), [shape], seed=oc)
        km = load(import_tflite(data).to_bytes())
        scratch = max(layer.cpu_scratch() for layer in km.layers)
        k = kk * kk * shape[-1]
        assert _block_need(k, shape[-1], oc, block) <= scratch < (
            _block_need(k, shape[-1], oc, block + 2) if block < 8 else 1 << 30), "the model misses its block"
        xs = [rng.integers(-128, 128, shape, dtype=np.int8) for _ in range(2)]
        want = golden_runner(data)
        cs.append(Case(f"blocks{block}_tflm", "generic", km.to_bytes(), xs, [want([x]) for x in xs]))
    for c, (outs, arena) in zip(cs, _run_all(target, "dsp", cs)):
        assert outs == _expected(c), f"{c.name}: DSP firmware differs from TFLM"
        assert arena == arena_bytes(load(c.kmodel)), c.name


# (K, rows of the first FC, rows of the second): K > 256 takes several int16 input chunks; odd K
# (rows not word-aligned: the C loop), K % 4 == 2, odd row counts (the C row after the 2-row asm);
# 604 = 256 + 256 + 92 and K = 12: chunks with an odd group of 4 inputs (LDRD) and an odd unit of 8
FC16_MODELS = [(603, 7, 9), (600, 130, 5), (18, 11, 3), (604, 12, 7)]


@pytest.mark.slow
def test_fc_int16_weights_vs_tflm(native):
    """Models made by the real TFLite converter, imported with int16 fully connected weights
    (--fc-weights int16): the Python reference, the host's portable C, the QEMU M4 and M7 DSP
    firmware and the M4 portable firmware give TFLite Micro's bytes."""
    tf = pytest.importorskip("tensorflow")
    from emc.hil.cases import Case
    from emc.kmodel import load
    from emc.kmodel.arena import arena_bytes
    from .tflite_making import int8_tflite
    from .tflm_support import check_bit_exact, golden_runner
    cs = []
    for k, r1, r2 in FC16_MODELS:
        rng = np.random.default_rng(k + r1)
        w1 = tf.constant(rng.normal(0, 1, (k, r1)).astype(np.float32))
        w2 = tf.constant(rng.normal(0, 1, (r1, r2)).astype(np.float32))
        data = int8_tflite(lambda x: tf.matmul(tf.nn.relu(tf.matmul(x, w1)), w2), [(1, k)], seed=k)
        km, _ = check_bit_exact(data, native, n=4, ops=["FULLY_CONNECTED"], fc_weights="int16")
        fcs = [layer for layer in km.layers if layer.NAME == "GENERIC_FULLY_CONNECTED"]
        assert len(fcs) == 2 and all(layer.flags & 1 and layer.weights.dtype == np.int16 for layer in fcs)
        xs = [rng.integers(-128, 128, (1, k), dtype=np.int8) for _ in range(3)]
        want = golden_runner(data)
        cs.append(Case(f"fc16_{k}x{r1}x{r2}_tflm", "generic", km.to_bytes(), xs, [want([x]) for x in xs]))
    if not _have_qemu():
        pytest.skip("needs arm-none-eabi-gcc, make and qemu-system-arm")
    for target, kernels in (("qemu-m4", "dsp"), ("qemu-m7", "dsp"), ("qemu-m4", "portable")):
        for c, (outs, arena) in zip(cs, _run_all(target, kernels, cs)):
            assert outs == _expected(c), f"{c.name}: {target} {kernels} firmware differs from TFLM"
            assert arena == arena_bytes(load(c.kmodel)), c.name
