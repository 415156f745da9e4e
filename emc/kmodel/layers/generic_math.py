"""Exact numpy twins of C runtime arithmetic shared by several layer families.

expf_f32: bit-identical to emc_expf in runtime_c/src/emc_math.c (the exp every float layer of the
C runtime uses; C libraries and numpy's float32 exp disagree in the last ulp on ~11% of inputs).

TFLite / TFLM fixed-point integer helpers (int64 numpy, exact): used by the generic int8 layers.
"""
from __future__ import annotations

import math

import numpy as np

F32 = np.float32


# ---- exp -------------------------------------------------------------------------------
def _pow2i(n):
    return ((np.asarray(n, np.int64) + 127) << 23).astype(np.uint32).view(F32)


def expf_f32(x):
    """exp(x) for float32 x, the exact operation sequence of emc_expf."""
    x = np.asarray(x, F32)
    scalar = x.ndim == 0
    x = np.atleast_1d(x)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        half = np.where(x < 0, F32(-0.5), F32(0.5)).astype(F32)
        t = (x * F32(1.44269504088896341) + half).astype(F32)
        k = np.trunc(np.nan_to_num(np.clip(t, -200, 200))).astype(np.int64)
        kf = k.astype(F32)
        r = (x - kf * F32(0.693359375)).astype(F32)
        r = (r - kf * F32(-2.12194440e-4)).astype(F32)
        z = (r * r).astype(F32)
        p = F32(1.9875691500e-4)
        for c in (1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1):
            p = (p * r + F32(c)).astype(F32)
        y = ((p * z + r).astype(F32) + F32(1.0)).astype(F32)
        k1 = np.trunc(k / 2).astype(np.int64)
        k1 = np.where(np.abs(k) > 300, 0, k1)
        k2 = np.where(np.abs(k) > 300, 0, k - k1)
        out = ((y * _pow2i(k1)).astype(F32) * _pow2i(k2)).astype(F32)
        out = np.where(x > F32(88.72283935546875), F32(np.inf), out)
        out = np.where(x < F32(-103.972084045410156), F32(0), out)
        out = np.where(np.isnan(x), x, out).astype(F32)
    return out[0] if scalar else out


# ---- TFLite fixed point (gemmlowp / TFLM reference semantics) ---------------------------------
def quantize_multiplier(real: float):
    """tflite::QuantizeMultiplier: real -> (int32 multiplier, shift) with real ~ m * 2^(shift-31)."""
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    qf = _round_away(q * (1 << 31))
    if qf == (1 << 31):
        qf //= 2
        shift += 1
    if shift < -31:
        shift, qf = 0, 0
    if shift > 30:
        shift, qf = 30, (1 << 31) - 1
    return int(qf), int(shift)


def _round_away(v: float) -> int:
    """std::round: half away from zero."""
    return int(math.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)


def srdhm(a, b):
    """gemmlowp SaturatingRoundingDoublingHighMul on int32 values (int64 arrays)."""
    a = np.asarray(a, np.int64)
    b = np.asarray(b, np.int64)
    overflow = (a == b) & (a == -(1 << 31))
    ab = a * b
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    s = ab + nudge
    # C++ integer division truncates toward zero
    q = np.where(s >= 0, s >> 31, -((-s) >> 31))
    return np.where(overflow, (1 << 31) - 1, q).astype(np.int64)


def rdbpot(x, exponent, bits=64):
    """gemmlowp RoundingDivideByPOT (round half away from zero). bits: the integer type it is instantiated
    on; its mask (1 << exponent) - 1 has that type, so on int16 (TFLM's HardSwish) an exponent >= 16 wraps
    the mask to -1 and the result becomes -1 for x < 0 and 1 for x >= 0, which TFLM's numbers then hold."""
    x = np.asarray(x, np.int64)
    exponent = np.asarray(exponent, np.int64)
    mask = (np.int64(1) << exponent) - 1
    if bits < 64:
        mask = (mask + (1 << (bits - 1))) % (1 << bits) - (1 << (bits - 1))
    remainder = x & mask
    threshold = (mask >> 1) + np.where(x < 0, 1, 0)
    return (x >> exponent) + np.where(remainder > threshold, 1, 0)


def mbqm(x, multiplier, shift):
    """tflite::MultiplyByQuantizedMultiplier (TFLM reference, 32-bit path)."""
    shift = np.asarray(shift, np.int64)
    left = np.where(shift > 0, shift, 0)
    right = np.where(shift > 0, 0, -shift)
    x = np.asarray(x, np.int64) * (np.int64(1) << left)
    x = ((x + (1 << 31)) % (1 << 32)) - (1 << 31)          # int32 wrap, as in C++
    return rdbpot(srdhm(x, multiplier), right)
