"""Float32 helpers that reproduce the C runtime's single-precision arithmetic exactly."""
import numpy as np

F32 = np.float32


def roundf(v):
    """C roundf (half away from zero) of float32 values, done in float64 where x+0.5 is exact."""
    v = np.asarray(v, np.float64)
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def seq_sum_f32(a, axis=-1):
    """Sequential float32 accumulation (the order a C loop uses), along `axis`."""
    a = np.moveaxis(np.asarray(a, F32), axis, 0)
    acc = np.zeros(a.shape[1:], F32)
    for row in a:
        acc = (acc + row).astype(F32)
    return acc


def madd(a, b, c, fused=False):
    """a*b + c in float32: two roundings (C with -ffp-contract=off), or one like a fused
    multiply-add (what GCC emits for the K210 SDK runtime: fmadd.s).

    The fused form is exact: a*b of two float32 is exact in float64; the float64 sum is then
    corrected for double rounding (TwoSum error term) where it lands on a float32 midpoint.
    """
    a, b, c = (np.asarray(v, F32) for v in (a, b, c))
    if not fused:
        return ((a * b).astype(F32) + c).astype(F32)
    p = a.astype(np.float64) * b.astype(np.float64)
    cd = c.astype(np.float64)
    s = p + cd
    bv = s - p
    err = (p - (s - bv)) + (cd - bv)                   # exact: p + c == s + err
    r = s.astype(F32)
    lo = np.where(r.astype(np.float64) > s, np.nextafter(r, F32(-np.inf)), r).astype(np.float64)
    hi = np.nextafter(lo.astype(F32), F32(np.inf)).astype(np.float64)
    tie = s == (lo + hi) / 2
    nudged = np.where(err > 0, np.nextafter(s, np.inf), np.nextafter(s, -np.inf))
    s = np.where(tie & (err != 0), nudged, s)
    return s.astype(F32)
