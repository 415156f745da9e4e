"""Bias correction (Nagel et al. 2019, 'Data-Free Quantization Through Weight Equalization and Bias
Correction', sec. 4.3), empirical variant, for the K210's 8/16-bit weights.

Quantized weights W~ = W + eps shift a layer's expected output: E[y~] - E[y] = eps * E[x]. The KPU's
weights (one zero point per layer, a scale per output channel) round 3x3 depthwise kernels of 9 values
coarsely, and ReLU inputs have E[x] > 0, so the shift does not average out; it is removed from the
bias. W~ is what the kmodel holds: kpu_params.weights_as_run on the compiler's own KPU weight layout, or
cpu_conv.weights_as_run for a convolution the compiler runs on the CPU. E[x] is the mean of the layer's
float input over the calibration data, per position, so 'same' padding borders are exact: the shift is
conv(E[x], eps) averaged over the output positions (a conv is linear in x).

Dense layers are not corrected: on the CPU they run in f32 (no weight error); with dense_on_kpu their
8-bit weight error stays (not measured)."""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from ...ir.execute import run_float
from ...ir.opdef import opdef
from . import cpu_conv
from .kpu_params import weights_as_run

MODES = ("auto", "on", "off")


def weight_error(comp, op):
    """(eps, conv): the kmodel's weights minus op's float weights, as weights of the float conv `conv` (an
    OpDef) that applies them with op's strides and pads; None when the compiler cannot place op (it
    refuses the model anyway)."""
    d = opdef(op.type)
    mode, _ = comp.plan_conv(op)
    if mode is None:
        if not comp.opt.allow_patched:
            return None
        return cpu_conv.weights_as_run(op) - np.asarray(op.attrs["weights"], np.float64), d
    w, dw = d.kpu_weights(op.attrs)                    # (OC, ICg, K, K), as conv_params receives them
    w = np.asarray(w, np.float64)
    eps = weights_as_run(w, comp.opt.quant_bit) - w
    if dw:
        return eps[:, 0].transpose(1, 2, 0)[..., None], d
    # HWIO; also a depthwise with multiplier > 1, which the KPU runs as a dense conv with zeros
    return eps.transpose(2, 3, 1, 0), opdef("conv2d")


def output_shift(op, eps, conv, mean_in):
    """E[y~] - E[y] per output channel: the weight error applied to the mean input map, averaged."""
    y = conv.run_float({**op.attrs, "weights": eps, "bias": None}, [np.asarray(mean_in, np.float64)[None]])
    return y.mean(axis=(0, 1, 2))


def input_means(g, x, ops, batch=16):
    """{op name: mean over x of op's float input map (H, W, C)}."""
    sums = {op.name: 0.0 for op in ops}
    for i in range(0, len(x), batch):
        vals = run_float(g, x[i:i + batch], keep=True)
        for op in ops:
            sums[op.name] = sums[op.name] + vals[op.inputs[0]].astype(np.float64).sum(axis=0)
    return {k: v / len(x) for k, v in sums.items()}


def wanted(g, mode):
    """Whether `mode` corrects graph g: 'auto' for graphs with a depthwise convolution."""
    if mode not in MODES:
        raise ValueError(f"bias_correct must be one of {MODES}, not {mode!r}")
    if mode == "auto":
        return any(opdef(op.type).DEPTHWISE for op in g.ops)
    return mode == "on"


def corrections(comp, x):
    """{op name: bias shift to subtract} for every conv of the compiler's graph."""
    g = comp.g
    kernels = {op.name: weight_error(comp, op) for op in g.ops if opdef(op.type).CONV}
    ops = [op for op in g.ops if kernels.get(op.name) is not None]
    means = input_means(g, x, ops)
    return {op.name: output_shift(op, *kernels[op.name], means[op.name]) for op in ops}


@contextmanager
def corrected_biases(comp, x, mode="on"):
    """Within the block, the convolutions of comp's graph carry the corrected biases (b - eps E[x]); the
    float biases are back afterwards (the graph stays the float model the report compares with).
    Yields the number of layers corrected."""
    g = comp.g
    shifts = corrections(comp, x) if wanted(g, mode) else {}
    saved = {}
    try:
        for op in g.ops:
            if op.name in shifts:
                saved[op.name] = op.attrs.get("bias")
                b = np.zeros(len(shifts[op.name])) if saved[op.name] is None else saved[op.name]
                op.attrs["bias"] = (np.asarray(b, np.float64) - shifts[op.name]).astype(np.float32)
        yield len(saved)
    finally:
        for op in g.ops:
            if op.name in saved:
                op.attrs["bias"] = saved[op.name]
