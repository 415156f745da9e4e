"""Cross-layer equalization (Nagel et al. 2019, 'Data-Free Quantization Through Weight Equalization and
Bias Correction', sec. 4.1), for the K210's per-tensor u8 activations.

For a pair A -> B of convolutions joined by a positive-homogeneous activation (linear, ReLU, leaky ReLU)
and channel-preserving ops (pools), output channel i of A is divided by s_i and the weights of B reading
channel i are multiplied by s_i: the float function is unchanged. Nagel chooses s_i = sqrt(r1_i / r2_i)
with r1 the range of A's output channel and r2 that of B's input weights, so both become sqrt(r1 r2).

On the K210 the weights already have a scale per output channel; what is per tensor is the activation
between A and B (u8, one scale). So r1_i is measured where it hurts: the calibrated range of channel i of
A's output ('activations', the default); 'weights' uses A's weight range as in the paper. Channels whose
activation is tiny then use more of the u8 range and B's weights for them shrink instead.

ReLU6 (Keras MobileNets) is not positive homogeneous; Nagel replace it by ReLU. Here a ReLU6 pair is kept
and only enlarged (s_i <= 1), and only as far as channel i's calibrated maximum stays within the tensor's
(<= 6): the clip then moves to >= that channel's calibrated maximum, so the function is unchanged on every
value the calibration saw; beyond it the u8 quantization clips at the tensor maximum anyway.
('activations' mode only: it needs the calibrated ranges.)"""
from __future__ import annotations

import numpy as np

from ..ir import channels
from ..ir.execute import run_float

MODES = ("activations", "weights")


def _pairs(g, only_depthwise, clipped):
    """(A, B, path tensor) for every equalizable pair."""
    out = []
    for a in g.ops:
        act = a.attrs.get("act", "linear")
        if not channels.has_channel_weights(a) or not (
                act in channels.POSITIVE_HOMOGENEOUS or (clipped and act in channels.CLIPPED)):
            continue
        t = a.outputs[0]
        path_ok = True
        while True:
            cons = g.consumers(t)
            if len(cons) != 1 or t in g.outputs or g.tensors[t].quant is not None:
                path_ok = False
                break
            (b,) = cons
            if channels.is_channel_preserving(b):
                t = b.outputs[0]
                continue
            break
        if not path_ok or not channels.has_channel_weights(b) or len(b.inputs) != 1:
            continue
        if not channels.accepts_input_scale(b):
            continue
        if only_depthwise and not (channels.is_depthwise(a) or channels.is_depthwise(b)):
            continue
        if g.tensors[a.outputs[0]].quant is not None or g.tensors[b.outputs[0]].quant is not None:
            continue                    # ranges fixed by the file (int8 .tflite): leave them
        out.append((a, b))
    return out


def _activation_absmax(g, x, tensors, batch=16):
    amax = {t: None for t in tensors}
    for i in range(0, len(x), batch):
        vals = run_float(g, x[i:i + batch], keep=True)
        for t in tensors:
            v = np.abs(vals[t]).reshape(-1, vals[t].shape[-1]).max(axis=0)
            amax[t] = v if amax[t] is None else np.maximum(amax[t], v)
    return amax


def equalize(g, x=None, mode="activations", only_depthwise=True, sweeps=4, max_scale=64.0):
    """Rescale channels of equalizable pairs in place. x: calibration inputs (needed for 'activations').
    Returns the number of pairs changed. only_depthwise: only pairs with a depthwise side (the case
    that needs it; plain conv stacks such as the seed CIFAR-10 network stay byte-identical)."""
    if mode not in MODES:
        raise ValueError(f"unknown equalization mode {mode!r}; known: {MODES}")
    if mode == "activations" and x is None:
        raise ValueError("equalization mode 'activations' needs calibration inputs x")
    pairs = _pairs(g, only_depthwise, clipped=mode == "activations")
    if not pairs:
        return 0
    amax = _activation_absmax(g, x, [a.outputs[0] for a, _ in pairs]) if mode == "activations" else None
    for _ in range(sweeps if mode == "weights" else 1):
        for a, b in pairs:
            r1 = amax[a.outputs[0]] if amax is not None else channels.out_channel_absmax(a)
            r2 = channels.in_channel_absmax(b)
            if r1 is None or r2 is None:
                continue
            ok = (r1 > 0) & (r2 > 0)
            s = np.ones_like(r2)
            s[ok] = np.sqrt(r1[ok] / r2[ok])
            s = np.clip(s, 1.0 / max_scale, max_scale) if ok.any() else s
            if a.attrs.get("act", "linear") in channels.CLIPPED:
                # only enlarge, and only up to the tensor's calibrated maximum (see the module doc)
                s = s / s[ok].max() if ok.any() else s
                s[ok] = np.maximum(s[ok], r1[ok] / r1[ok].max())
            elif ok.any():
                # normalise to a geometric mean of 1 (only relative ranges matter)
                s = s / np.exp(np.mean(np.log(s[ok])))
            channels.scale_out_channels(a, 1.0 / s)
            channels.scale_in_channels(b, s)
            if amax is not None:
                amax[a.outputs[0]] = r1 / s
    return len(pairs)
