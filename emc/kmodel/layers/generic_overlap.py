"""How many bytes below its input a windowed layer's output must start so that the C kernel,
writing in its loop order, never overwrites input bytes it still has to read
(emc/backends/generic/planner.py). Each generic layer answers `overlap_lag()` itself; the
convolutions, depthwise convolutions and pools of runtime_c/kernels/generic walk output pixels in
raster order (oy, ox) and write all channels of a pixel after reading that pixel's window, which
`window_lag` turns into bytes.
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
