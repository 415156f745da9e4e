"""K210 weight quantization: unsigned weights with ONE zero point per layer (the KPU has a single
arg_x) and a scale per output channel (folded later into the per-channel BN multipliers)."""
from __future__ import annotations

import numpy as np


def quantize_weights_shared_zp(w, bits=8):
    """w: float (OC, ...). Returns (wq unsigned (OC, ...), zero_point int, scales (OC,) float64)
    with w ~= scale[o] * (wq - zero_point)."""
    w = np.asarray(w, np.float64)
    oc = w.shape[0]
    flat = w.reshape(oc, -1)
    qmax = (1 << bits) - 1
    lo = np.minimum(flat.min(axis=1), 0.0)
    hi = np.maximum(flat.max(axis=1), 0.0)
    ideal = np.maximum((hi - lo) / qmax, 1e-30)
    zs = np.arange(qmax + 1) if bits <= 8 else np.unique(np.linspace(0, qmax, 1025).round().astype(np.int64))
    z = zs[:, None].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_hi = np.where(hi[None] > 0, hi[None] / np.maximum(qmax - z, 1e-30), 0.0)
        s_hi = np.where((qmax - z) == 0, np.where(hi[None] > 0, np.inf, 0.0), s_hi)
        s_lo = np.where(lo[None] < 0, -lo[None] / np.maximum(z, 1e-30), 0.0)
        s_lo = np.where(z == 0, np.where(lo[None] < 0, np.inf, 0.0), s_lo)
    s = np.maximum(s_hi, s_lo)
    cost = np.log(np.maximum(s, 1e-30) / ideal[None]).sum(axis=1)
    cost[~np.isfinite(s).all(axis=1)] = np.inf
    zp = int(zs[int(np.argmin(cost))])
    scales = s[int(np.argmin(cost))]
    scales = np.where(scales > 0, scales, 1.0)
    wq = np.clip(np.round(flat / scales[:, None]) + zp, 0, qmax).astype(np.uint8 if bits <= 8 else np.uint16)
    return wq.reshape(w.shape), zp, scales
