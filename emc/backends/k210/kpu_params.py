"""From float conv weights/bias and tensor quantization to K210 KPU register values, BN table and
activation table (kmodel_v3.md §5-§7). Everything here is pure integer/float bookkeeping."""
from __future__ import annotations

import math

import numpy as np

from ...kmodel import kpu
from ...quant.weights import quantize_weights_shared_zp

NORM_MUL_MAX = (1 << 23) - 1           # norm_mul is 24-bit signed
X_START_MIN = -(1 << 35)
X_UNUSED = (1 << 35) - 16              # start of unused segments: never selected
PWL_ACTS = ("linear", "relu", "relu6", "leaky_relu")


class KPUParamError(ValueError):
    pass


def _f(act, alpha):
    from ...ir.execute import SMOOTH
    if act in SMOOTH:
        return lambda v: np.asarray(SMOOTH[act](np.asarray(v, np.float64)), np.float64)
    return {
        "sigmoid": lambda v: 1.0 / (1.0 + np.exp(-v)),
        "tanh": np.tanh,
        "linear": lambda v: v,
        "relu": lambda v: np.maximum(v, 0),
        "relu6": lambda v: np.clip(v, 0, 6),
        "leaky_relu": lambda v: np.where(v >= 0, v, alpha * v),
    }[act]


def fixed_slope(slope):
    """slope (output LSB per bn unit) -> (y_mul 16-bit signed, shift 0..255)."""
    if slope == 0 or not np.isfinite(slope):
        return 0, 0
    shift = 14 - int(math.floor(math.log2(abs(slope))))
    shift = max(0, min(255, shift))
    m = int(round(slope * 2.0 ** shift))
    while abs(m) >= (1 << 15) and shift > 0:
        shift -= 1
        m = int(round(slope * 2.0 ** shift))
    if abs(m) >= (1 << 15):
        raise KPUParamError(f"activation slope {slope} too large for the KPU")
    return m, shift


def weight_load_params(ic, oc, k, depthwise, bits):
    """The KPU's weight-load plan (kpu.weight_loads), refused with a reason where it exceeds the KPU."""
    n, lt, para = kpu.weight_loads(ic, oc, k, depthwise, bits == 8)
    if lt > 64:
        raise KPUParamError(f"{oc} output channels need {lt} weight loads (KPU limit 64)")
    if para >= (1 << 17):
        raise KPUParamError("weight chunk does not fit para_size")
    return n, lt, para


def activation_table(act, alpha, u, A, so, zo, v_lo, v_hi):
    """16 segments (x_start, y_mul, shift, bias) implementing out = clamp(round(f(v*u)/so + zo))
    for bn = v * 2^A."""
    sc = 2.0 ** A
    segs = []           # (x_start in bn units, slope in output-LSB per bn unit, bias u8)

    def add(xs, slope, bias):
        segs.append((int(max(X_START_MIN, min(X_UNUSED - 1, xs))), slope, int(max(0, min(255, round(bias))))))

    k = u / so                       # output LSBs per v unit for slope-1 pieces
    if act == "linear":
        add(X_START_MIN, 0.0, 0)
        add(math.floor(-zo / k * sc), k / sc, 0)
    elif act == "relu":
        add(X_START_MIN, 0.0, zo)
        add(0, k / sc, zo)
    elif act == "relu6":
        add(X_START_MIN, 0.0, zo)
        add(0, k / sc, zo)
        add(round(6.0 / u * sc), 0.0, min(255, 6.0 / so + zo))
    elif act == "leaky_relu":
        if zo > 0 and alpha > 0:
            add(X_START_MIN, 0.0, 0)
            add(math.floor(-zo / (k * alpha) * sc), alpha * k / sc, 0)
        else:
            add(X_START_MIN, 0.0, zo)
        add(0, k / sc, zo)
    else:
        f = _f(act, alpha)
        g = lambda v: f(v * u) / so + zo      # noqa: E731
        lo, hi = float(v_lo), float(v_hi)
        if hi - lo < 1e-9:
            hi = lo + 1.0
        # breakpoints with density ~ sqrt|g''| (minimax-optimal for piecewise-linear fits), then a
        # minimax line per segment whose start is nudged so that its u8 bias is an exact integer
        t = np.linspace(lo, hi, 4097)
        gv = g(t)
        d2 = np.abs(np.gradient(np.gradient(gv, t), t))
        dens = np.sqrt(d2) + 0.05 * np.sqrt(d2).mean() + 1e-12
        cum = np.concatenate([[0], np.cumsum((dens[1:] + dens[:-1]) / 2 * np.diff(t))])
        bps = np.interp(np.linspace(0, cum[-1], 15), cum, t)
        add(X_START_MIN, 0.0, g(lo))
        for i in range(14):
            a, b = bps[i], bps[i + 1]
            if b <= a:
                continue
            slope = (g(b) - g(a)) / (b - a)
            tt = np.linspace(a, b, 65)
            res = g(tt) - (g(a) + slope * (tt - a))
            c = g(a) + (res.max() + res.min()) / 2
            xa = a
            if slope != 0 and 0 <= round(c) <= 255:
                dlt = (c - round(c)) / slope
                if abs(dlt) < 0.25 * (b - a):
                    xa, c = a - dlt, round(c)
            add(math.floor(xa * sc), slope / sc, c)
        add(math.floor(bps[14] * sc), 0.0, g(hi))
    # drop segments that are not increasing (can happen when starts collide), pad with unused ones
    out = []
    for s in segs:
        if out and s[0] <= out[-1][0]:
            out[-1] = s if s[0] == out[-1][0] else out[-1]
            continue
        out.append(s)
    while len(out) < 16:
        out.append((X_UNUSED + len(out), 0.0, 0))
    xs, ym, sh, bias = [], [], [], []
    for x0, slope, b in out[:16]:
        m, s = fixed_slope(slope)
        xs.append(x0)
        ym.append(m)
        sh.append(s)
        bias.append(b)
    return xs, ym, sh, bias


def weights_as_run(w, bits=8):
    """The real value of the weights conv_params writes for float w (OC, ICg, K, K): scale * (wq - zero point)."""
    wq, zw, sw = quantize_weights_shared_zp(w, bits)
    return sw.reshape((-1,) + (1,) * (np.ndim(w) - 1)) * (wq.astype(np.float64) - zw)


def conv_params(w, bias, in_q, out_q, act="linear", alpha=0.2, pre_range=(0.0, 0.0), bits=8):
    """w: float (OC, ICg, K, K); bias (OC,) or None; in_q/out_q: (scale, zero_point).
    Returns a dict of register values + 'weights', 'bn' (u64 words), 'act' (u64 words)."""
    w = np.asarray(w, np.float64)
    oc, _, k, _ = w.shape
    b = np.zeros(oc) if bias is None else np.asarray(bias, np.float64)
    sx, zx = float(in_q[0]), float(in_q[1])
    so, zo = float(out_q[0]), int(out_q[1])
    wq, zw, sw = quantize_weights_shared_zp(w, bits)
    if zx == round(zx):
        arg_w, shr_w = -int(round(zx)), 0
    else:
        arg_w, shr_w = -int(round(zx * 2)), 1
    arg_add = int(round(k * k * zx * zw))
    lo, hi = float(pre_range[0]), float(pre_range[1])
    if act in PWL_ACTS:
        u = so
    else:
        u = max(abs(lo), abs(hi), 1e-6) / 256.0
    r = sx * sw / u                      # conv LSB -> v units, per channel
    bv = b / u
    vmax = max(abs(lo), abs(hi)) / u + np.abs(bv).max(initial=0) + 1.0
    # bn = v * 2^A. Hardware-run writers keep bn small (nncase v0.1: 2^10; the hardware-verified Maix-EMC
    # model: 2^20 with |bn| < 2^22): aim at 2^12, go higher only as far as the smallest channel needs for a
    # 20-bit norm_mul, and never beyond what norm_mul / norm_add / the 36-bit segment starts can hold.
    need = math.ceil(math.log2(2.0 ** 20 / (r.min() * 2.0 ** 15)))
    cands = [20, math.floor(math.log2(NORM_MUL_MAX / r.max())), math.floor(math.log2(2.0 ** 33 / vmax))]
    if np.abs(bv).max(initial=0) > 0:
        cands.append(math.floor(math.log2(2.0 ** 30 / np.abs(bv).max())))
    A = min([max(12, need)] + cands)
    if A < -16:
        raise KPUParamError("batch-norm scale out of range")
    muls, shifts = [], []
    for ro in r:
        s = min(15, max(0, math.floor(math.log2(NORM_MUL_MAX / (ro * 2.0 ** A)))))
        m = int(round(ro * 2.0 ** (A + s)))
        while abs(m) > NORM_MUL_MAX and s > 0:
            s -= 1
            m = int(round(ro * 2.0 ** (A + s)))
        if abs(m) > NORM_MUL_MAX:
            raise KPUParamError(f"norm_mul {m} exceeds the 24-bit limit")
        muls.append(m)
        shifts.append(s)
    adds = [int(round(v * 2.0 ** A)) for v in bv]
    bn = kpu.encode_bn(muls, adds, shifts)
    xs, ym, sh, bias8 = activation_table(act, alpha, u, A, so, zo, lo / u, hi / u)
    act_words = kpu.encode_act(xs, ym, sh, bias8)
    return {"weights": wq, "arg_x": -zw, "shr_x": 0, "arg_w": arg_w, "shr_w": shr_w, "arg_add": arg_add,
            "pad_value": int(min(255, max(0, round(zx)))), "bn": bn, "act": act_words,
            "weight_zero_point": zw, "bn_shift_A": A, "weight_scales": sw}


def identity_params(c, k=1, tap=None, zx=0, dense=False):
    """A layer copying its input exactly: depthwise (optionally taking the 3x3 tap (dy, dx)), or with
    dense=True a normal 1x1 conv with an identity weight matrix (for layers that also pool)."""
    if dense:
        w = np.zeros((c, c, k, k), np.uint8)
        dy, dx = tap if k == 3 else (-1, -1)
        w[np.arange(c), np.arange(c), 1 + dy, 1 + dx] = 1
    else:
        w = np.zeros((c, 1, k, k), np.uint8)
    if dense:
        pass
    elif k == 1:
        w[:, 0, 0, 0] = 1
    else:
        dy, dx = tap
        w[:, 0, 1 + dy, 1 + dx] = 1
    # conv = x (no offsets); bn = conv; act: seg0 -> 0 (x == 0), seg1 from 0 with slope 1
    bn = kpu.encode_bn([1] * c, [0] * c, [0] * c)
    xs = [X_START_MIN, 0] + [X_UNUSED + i for i in range(14)]
    act = kpu.encode_act(xs, [0, 1] + [0] * 14, [0] * 16, [0] * 16)
    return {"weights": w, "arg_x": 0, "shr_x": 0, "arg_w": 0, "shr_w": 0, "arg_add": 0, "pad_value": zx,
            "bn": bn, "act": act}
