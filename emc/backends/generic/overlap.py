"""How many bytes below its input a layer's output must start so that the C kernel, writing in
its loop order, never overwrites input bytes it still has to read (see planner.py).

Mirrors the loop order of runtime_c/kernels/generic: convolutions, depthwise convolutions and
pools walk output pixels in raster order (oy, ox) and write all channels of a pixel after reading
that pixel's window; ADD and SOFTMAX are element-wise in order; FULLY_CONNECTED writes a batch row
after reading its whole input row. Other layers get no overlap.
"""
from __future__ import annotations

import numpy as np


def _first_tap(o, stride, pad, k, dil, size):
    """First in-image input index of each output position's window (or a huge value if none)."""
    start = o * stride - pad
    taps = start[:, None] + dil * np.arange(k)[None, :]
    valid = (taps >= 0) & (taps < size)
    first = np.where(valid, taps, 1 << 40).min(axis=1)
    return first


def window_lag(in_h, in_w, in_c, out_h, out_w, out_c, k_h, k_w, s_h, s_w, p_t, p_l, d_h=1, d_w=1):
    fy = _first_tap(np.arange(out_h), s_h, p_t, k_h, d_h, in_h)
    fx = _first_tap(np.arange(out_w), s_w, p_l, k_w, d_w, in_w)
    start = np.where((fy[:, None] < (1 << 40)) & (fx[None, :] < (1 << 40)),
                     fy[:, None] * in_w + fx[None, :], 1 << 40).reshape(-1)
    # R_p: lowest input pixel still to be read from output pixel p on
    r = np.minimum.accumulate(start[::-1])[::-1]
    p = np.arange(out_h * out_w)
    need = (p + 1) * out_c - in_c * r
    return max(0, int(need.max()))


def layer_lag(layer):
    """(lag, [input field names that may be overlapped]) for a generic layer, or None."""
    n = layer.NAME
    if n in ("GENERIC_CONV2D", "GENERIC_DEPTHWISE_CONV2D"):
        return window_lag(layer.in_h, layer.in_w, layer.in_c, layer.out_h, layer.out_w, layer.out_c, layer.k_h,
                          layer.k_w, layer.stride_h, layer.stride_w, layer.pad_top, layer.pad_left, layer.dil_h,
                          layer.dil_w)
    if n in ("GENERIC_AVERAGE_POOL2D", "GENERIC_MAX_POOL2D"):
        return window_lag(layer.in_h, layer.in_w, layer.channels, layer.out_h, layer.out_w, layer.channels,
                          layer.f_h, layer.f_w, layer.stride_h, layer.stride_w, layer.pad_top, layer.pad_left)
    if n in ("GENERIC_ADD", "GENERIC_SOFTMAX"):
        return 0
    if n == "GENERIC_FULLY_CONNECTED":
        b = np.arange(layer.batches)
        return max(0, int(((b + 1) * layer.out_depth - b * layer.in_depth).max()))
    return None
