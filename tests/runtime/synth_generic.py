"""Synthetic generic-profile models of one layer each (GENERIC_INPUT, the layer, GENERIC_OUTPUT)
with random weights, offsets and requantization, chosen to hit every edge of the C kernels (portable
and DSP): odd channel and pixel counts, K % 4 != 0, padding, stride, dilation, depth multiplier 2,
narrow activation ranges, left shifts, shift 0, huge biases, weight offsets, INT32_MIN multipliers,
ADD tables, pruned channels; with extra=True also the portable kernels' own edges (windows entirely in
the padding, every FC row tail, single-channel layers). Expected outputs come from the Python
reference (emc.reference), which is checked against TFLM in test_generic.py."""
import numpy as np


def synth(kind, rng, ih=7, iw=6, ic=5, oc=7, k=(3, 3), stride=(1, 1), dil=(1, 1), pad=(1, 1), dm=1,
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


def with_add_scratch(data):
    """The model with a small ADD after its layer (reading that layer's first 16 output bytes into
    a spare area): the loader then reserves the ADD's 2048 scratch bytes, so that the DSP conv
    kernel of a one-conv model has room for its wider pixel blocks (4, 6 or 8 columns)."""
    from emc.kmodel import load
    from emc.kmodel.layers import generic_layers as G
    m = load(data)
    src = m.layers[1].main_mem_out_address
    dst = (m.main_mem_usage + 15) // 16 * 16
    add = G.GenericAdd(main_mem_in_a_address=src, main_mem_in_b_address=src, main_mem_out_address=dst, count=16,
                       input1_offset=3, input1_multiplier=1 << 30, input1_shift=-1, input2_offset=-7,
                       input2_multiplier=1 << 30, input2_shift=-2, left_shift=20, output_offset=1,
                       output_multiplier=1 << 30, output_shift=-18, act_min=-128, act_max=127)
    m.layers.insert(2, add)
    m.main_mem_usage = dst + 16
    return m.to_bytes()


def synth_cases(extra=False):
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
        # with an ADD's scratch (with_add_scratch) the DSP conv runs blocks of 8, 6 or 4 pixels x 1
        # channel; pixel counts that leave a remainder for the pair path, odd channel counts, the
        # exact epilogue (a shift beyond the folded offset's 21 bits, a huge bias), IC % 4 != 0
        # (gathered bytes) and K % 4 != 0, pruned pairs around an odd last channel
        "blocks8_conv_ic8_oc7": ("conv", dict(ic=8, oc=7)),
        "blocks8_conv_shift23_exact": ("conv", dict(ic=8, oc=5, shifts=[-5, -23, -1, -12, -8])),
        "blocks8_conv_big_bias_exact": ("conv", dict(ic=8, oc=4, bias_scale=0)),
        "blocks8_conv_ic3_stride2": ("conv", dict(ih=9, iw=8, ic=3, oc=9, stride=(2, 2))),
        "blocks8_conv_ic5_k45": ("conv", dict(ih=6, iw=5, ic=5, oc=6)),
        "blocks8_conv_pruned_odd": ("conv", dict(ih=5, iw=5, ic=8, oc=13, k=(1, 1), pad=(0, 0))),
        "blocks6_conv_ic16_oc4": ("conv", dict(ih=5, iw=5, ic=16, oc=4)),
        "blocks4_conv_ic24_oc4": ("conv", dict(ih=5, iw=3, ic=24, oc=4)),
        # 3x3 depthwise asm with doubled weights and the folded offset: a channel count with a
        # C-side tail; a right shift beyond the fold's 21 bits (exact C epilogue instead)
        "dw_c10_3x3_tail": ("dw", dict(ih=6, iw=5, ic=10)),
        "dw_c8_3x3_shift23": ("dw", dict(ic=8, shifts=[-6, -23, -9, -4, -10, -7, -5, -8])),
        # 17x16 = 272 taps: the weight sums beyond the halfword lanes' 256 taps
        "dw_c4_17x16_taps": ("dw", dict(ih=18, iw=16, ic=4, k=(17, 16), pad=(0, 0))),
    }
    if extra:
        specs.update({
            # windows entirely in the padding (no tap inside: the output is the requantized bias)
            "conv_all_pad_windows": ("conv", dict(ih=3, iw=3, ic=3, oc=5, k=(2, 2), stride=(3, 3), pad=(4, 4))),
            "dw_c6_all_pad_windows": ("dw", dict(ih=3, iw=4, ic=6, k=(2, 2), stride=(3, 3), pad=(4, 4))),
            # one output pixel and one channel (both pairs degenerate), K odd
            "conv_1pixel_1chan": ("conv", dict(ih=3, iw=3, ic=7, oc=1, pad=(0, 0))),
            "dw_c1_5x5": ("dw", dict(ih=6, iw=5, ic=1, k=(5, 5), pad=(2, 2))),
            "dw_c9_dm3_stride2": ("dw", dict(ih=7, iw=6, ic=3, dm=3, stride=(2, 2))),
            # FC row tails of 2 and 3, a single row, a one-byte input
            "fc_33x6": ("fc", dict(ic=33, oc=6)),
            "fc_9x7_w_offset": ("fc", dict(ic=9, oc=7, w_off=5, batches=2)),
            "fc_40x1": ("fc", dict(ic=40, oc=1)),
            "fc_1x4": ("fc", dict(ic=1, oc=4)),
        })
    dead = {"conv_pruned_pairs": [2, 3, 6, 7, 8, 9, 10], "conv_pruned_all": list(range(6)),
            "blocks8_conv_pruned_odd": [0, 1, 4, 5, 6, 7, 9]}
    out = []
    for name, (kind, kw) in specs.items():
        if name == "conv_big_bias" or name == "blocks8_conv_big_bias_exact":
            data = synth(kind, rng, **kw)
            m = load(data)
            m.layers[1].bias[:] = big + [123456789, -5]
            data = m.to_bytes()
        elif name in dead:
            data = synth(kind, rng, **kw)
            m = load(data)
            conv = m.layers[1]
            w = conv.weights.reshape(conv.out_c, -1)
            w[dead[name]] = 0
            huge = [c for c in dead[name][::2] if c ^ 1 in dead[name]]   # not beside a live one (computed)
            conv.bias[huge] = 1 << 30
            conv.shift[huge] = -31
            data = m.to_bytes()
        elif name == "dw_c4_17x16_taps":   # sums of -128 * 272 and 127 * 272 overflow an int16
            m = load(synth(kind, rng, **kw))
            w = m.layers[1].weights.reshape(-1, 4)
            w[:, 0], w[:, 3] = -128, 127
            data = m.to_bytes()
        else:
            data = synth(kind, rng, **kw)
        if name.startswith("blocks"):
            data = with_add_scratch(data)
        m = load(data)
        out.append(_finish(name, "generic", data, _device_inputs(name, m, 2)))
    return out
