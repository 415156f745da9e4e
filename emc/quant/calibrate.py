"""Activation ranges from calibration data: minmax, kld (entropy), percentile."""
from __future__ import annotations

import numpy as np

from ..ir.execute import run_float
from .progress import Progress

METHODS = ("minmax", "kld", "percentile")
_BINS = 2048


class _Stat:
    def __init__(self):
        self.min = np.inf
        self.max = -np.inf
        self.samples = []

    def add(self, v, keep):
        self.min = min(self.min, float(v.min()))
        self.max = max(self.max, float(v.max()))
        if keep:
            flat = v.reshape(-1)
            if flat.size > 20000:
                flat = flat[np.random.default_rng(len(self.samples)).choice(flat.size, 20000, replace=False)]
            self.samples.append(flat.astype(np.float32))


def calibrate(graph, x, method="minmax", batch=16, progress=None, percentile=99.99):
    """Run the float graph over x (N, ...) and return {tensor: (min, max)} including the
    '<t>:preact' pre-activation tensors of fused ops. Ranges always contain 0."""
    if method not in METHODS and not callable(method):
        raise ValueError(f"unknown quant_func {method!r}; known: {METHODS}")
    keep = method != "minmax"
    stats = {}
    n = len(x)
    bar = Progress(n, "calibrating", enabled=progress)
    for i in range(0, n, batch):
        vals = run_float(graph, x[i:i + batch], preact=True)
        for k, v in vals.items():
            stats.setdefault(k, _Stat()).add(v, keep)
        bar.update(min(batch, n - i))
    bar.close()
    ranges = {}
    for k, s in stats.items():
        lo, hi = s.min, s.max
        if keep and s.samples:
            data = np.concatenate(s.samples)
            if callable(method):
                lo, hi = method(data, lo, hi)
            elif method == "percentile":
                lo = float(np.percentile(data, 100 - percentile)) if lo < 0 else lo
                hi = float(np.percentile(data, percentile)) if hi > 0 else hi
            elif method == "kld":
                lo, hi = _kld_range(data, lo, hi)
        ranges[k] = (min(lo, 0.0), max(hi, 0.0))
    return ranges


def _kld_threshold(a):
    """Entropy calibration (TensorRT style) of non-negative samples: the clipping threshold."""
    amax = float(a.max())
    if amax <= 0:
        return 0.0
    hist, edges = np.histogram(a, bins=_BINS, range=(0, amax))
    hist = hist.astype(np.float64)
    best, best_t = np.inf, amax
    nq = 128
    for i in range(nq, _BINS + 1, 16):
        ref = hist[:i].copy()
        ref[i - 1] += hist[i:].sum()
        if ref.sum() == 0:
            continue
        # quantize the first i bins into nq levels
        idx = (np.arange(i) * nq) // i
        q = np.zeros(i)
        for j in range(nq):
            m = idx == j
            nz = m & (hist[:i] > 0)
            if nz.any():
                q[nz] = hist[:i][m].sum() / nz.sum()
        p = ref / ref.sum()
        qs = q.sum()
        if qs == 0:
            continue
        q = q / qs
        mask = p > 0
        kl = np.sum(p[mask] * np.log(p[mask] / np.maximum(q[mask], 1e-12)))
        if kl < best:
            best, best_t = kl, float(edges[i])
    return best_t


def _kld_range(data, lo, hi):
    if hi > 0:
        hi = min(hi, _kld_threshold(data[data > 0]) if (data > 0).any() else hi)
    if lo < 0:
        lo = max(lo, -_kld_threshold(-data[data < 0]) if (data < 0).any() else lo)
    return lo, hi
