"""Synthetic kmodel v3 files that exercise every layer type the C runtime runs (the real sample
files use only some of them) and many K210_CONV configurations (1x1/3x3, depthwise, every pool
type, 16-bit weights, group layouts 1/2/4, offset shifts, main-memory output). Built with the
project's own layer classes; used by the C == Python tests and as small fuzz seeds."""
from __future__ import annotations

import numpy as np

from emc.kmodel import KModel, kpu
from emc.kmodel.layers import LAYER_CLASSES as L


class Main:
    """Bump allocator over the main buffer (8-aligned)."""

    def __init__(self):
        self.top = 0

    def __call__(self, n):
        a = self.top
        self.top += (n + 7) // 8 * 8
        return a


def act_table(rng):
    xs = np.sort(rng.integers(-60000, 60000, 15))
    x_start = np.concatenate([[-(1 << 35)], xs])
    y_mul = rng.integers(-400, 400, 16)
    y_mul[0] = 0
    return x_start, y_mul, np.full(16, 14), rng.integers(0, 128, 16)


def bn_table(rng, oc):
    return rng.integers(-1500, 1500, oc), rng.integers(-20000, 20000, oc), np.full(oc, 5)


def k210_conv(rng, in_shape, oc, k, pool, src, dst, *, dw=False, main_out=None, eight_bit=True, shifts=(0, 0)):
    ic = in_shape[0]
    wmax = 256 if eight_bit else 4096
    w = rng.integers(0, wmax, (oc, 1 if dw else ic, k, k))
    shr_x, shr_w = shifts
    return L[10240].make(weights=w, bn=bn_table(rng, oc), act=act_table(rng), in_shape=in_shape, src_row=src,
                         dst_row=dst, depthwise=dw, pool_type=pool, pad_value=int(rng.integers(0, 256)),
                         arg_x=int(-rng.integers(0, 200) << shr_x), shr_x=shr_x,
                         arg_w=int(-rng.integers(0, 200) << shr_w), shr_w=shr_w,
                         arg_add=int(rng.integers(0, 1 << 20)), main_out=main_out, eight_bit=eight_bit)


def kpu_model(seed=0, eight_bit=True):
    """K210_CONV chain over every pool type and layout, then CPU u8 layers and a float tail."""
    rng = np.random.default_rng(seed)
    mem = Main()
    layers = []
    shape = (5, 12, 20)                       # C, H, W: width 20 -> 2 channels per row
    configs = [(7, 3, 0, False), (7, 3, 9, True), (7, 1, 8, False), (7, 3, 1, False), (9, 1, 6, False),
               (9, 3, 2, False), (9, 3, 0, True)]
    src, dst = 0, 4000
    for i, (oc, k, pool, dw) in enumerate(configs):
        oc = shape[0] if dw else oc
        s = kpu.POOL_TYPES[pool][2]
        out = (oc, shape[1] // s, shape[2] // s)
        last = i == len(configs) - 1
        conv = k210_conv(rng, shape, oc, k, pool, src, dst, dw=dw, eight_bit=eight_bit,
                         shifts=(3, 2) if i == 1 else (0, 0), main_out=mem(out[0] * out[1] * out[2]) if last else None)
        layers.append(conv)
        shape, src, dst = out, dst, src
    # 6x10x9 map in main memory: CPU u8 layers
    c, h, w = shape
    m0 = layers[-1].main_mem_out_address

    mp = mem(c * 5 * 3)
    layers.append(L[8](main_mem_in_address=m0, main_mem_out_address=mp, in_width=w, in_height=h, in_channels=c,
                       out_width=3, out_height=5, out_channels=c, kernel_width=3, kernel_height=3,
                       stride_width=3, stride_height=2, padding_width=1, padding_height=1))
    up = 20000
    layers.append(L[10243](main_mem_in_address=mp, kpu_mem_out_address=up, width=3, height=5, channels=c))
    conv = k210_conv(rng, (c, 5, 3), 4, 3, 9, up, up + 100, main_out=mem(4 * 5 * 3), eight_bit=eight_bit)
    layers.append(conv)
    q = conv.main_mem_out_address
    fl = mem(60)
    layers.append(L[21](main_mem_in_address=q, main_mem_out_address=fl, shape_width=3, shape_height=5,
                        shape_channels=4))
    rs = mem(4 * 7 * 4)
    layers.append(L[23](main_mem_in_address=q, main_mem_out_address=rs, in_width=3, in_height=5, in_channels=4,
                        out_width=4, out_height=7, align_corners=0))
    qa = mem(60 + 8)
    layers.append(L[2](main_mem_in_a_address=fl, main_mem_in_b_address=q, main_mem_out_address=qa, count=60,
                       in_a_offset=-3, in_a_mul=1 << 20, in_a_shift=12, in_b_offset=5, in_b_mul=3 << 19,
                       in_b_shift=13, out_offset=7, out_mul=1 << 15, out_shift=23))
    rq = mem(60)
    rq_layer = L[13](main_mem_in_address=qa, main_mem_out_address=rq, count=60,
                     table=rng.integers(0, 256, 256).astype(np.uint8))
    layers.append(rq_layer)
    qg = mem(4)
    layers.append(L[6](main_mem_in_address=rq, main_mem_out_address=qg, kernel_size=15, channels=4))
    qc = mem(60 + 112 + 4)
    layers.append(L[17](main_mem_out_address=qc, inputs=[(rq, 60), (rs, 112), (qg, 4)]))
    cd = mem(4 * 176)
    layers.append(L[24](main_mem_in_address=qc, main_mem_out_address=cd, channels=4, channel_size=44,
                        scales=rng.uniform(0.001, 0.05, 4).astype(np.float32),
                        biases=rng.uniform(-2, 2, 4).astype(np.float32)))
    layers += float_tail(rng, mem, cd, 176)
    return KModel(layers=layers, outputs=[(layers[-1].main_mem_out_address, 4 * 24), (qc, 176)],
                  flags=1 if eight_bit else 0, main_mem_usage=mem.top, max_start_address=0)


def float_tail(rng, mem, x, n):
    """Float layers from an n-vector at x: FC, pools, flatten, resize, L2, softmax, logistic, add,
    concat, quantize / dequantize, and the K210 padding pair around a 1x1 KPU conv."""
    out = []
    fc = mem(4 * 24)
    out.append(L[18](main_mem_in_address=x, main_mem_out_address=fc, in_channels=n, out_channels=24, act=2,
                     weights=rng.normal(0, 0.2, (24, n)).astype(np.float32),
                     bias=rng.normal(0, 0.5, 24).astype(np.float32)))
    ap = mem(4 * 8)                                   # (c=4, h=2, w=3) -> 2x2 s1 -> (4, 1, 2)
    out.append(L[9](main_mem_in_address=fc, main_mem_out_address=ap, in_width=3, in_height=2, in_channels=4,
                    out_width=2, out_height=1, out_channels=4, kernel_width=2, kernel_height=2, stride_width=1,
                    stride_height=1, padding_width=0, padding_height=1, act=0))
    gp = mem(16)
    out.append(L[5](main_mem_in_address=fc, main_mem_out_address=gp, kernel_size=6, channels=4))
    tf = mem(96)
    out.append(L[20](main_mem_in_address=fc, main_mem_out_address=tf, shape_width=3, shape_height=2,
                     shape_channels=4))
    rz = mem(4 * 4 * 15)
    out.append(L[22](main_mem_in_address=tf, main_mem_out_address=rz, in_width=3, in_height=2, in_channels=4,
                     out_width=5, out_height=3, align_corners=1))
    cc = mem(4 * (8 + 4 + 60))
    out.append(L[16](main_mem_out_address=cc, inputs=[(ap, 32), (gp, 16), (rz, 240)]))
    qz = mem(72)
    out.append(L[11](main_mem_in_address=cc, main_mem_out_address=qz, count=72, scale=0.03, bias=-1.5))
    pad = 30000
    out.append(L[10241](main_mem_in_address=qz, kpu_mem_out_address=pad, channels=72))
    conv = k210_conv(rng, (72, 4, 4), 24, 1, 0, pad, pad + 200, main_out=mem(24 * 16))
    out.append(conv)
    rp = mem(24)
    out.append(L[10242](main_mem_in_address=conv.main_mem_out_address, main_mem_out_address=rp, channels=24))
    dq = mem(96)
    out.append(L[12](main_mem_in_address=rp, main_mem_out_address=dq, count=24, scale=0.02, bias=-2.0))
    l2 = mem(96)
    out.append(L[14](main_mem_in_address=dq, main_mem_out_address=l2, channels=24))
    lg = mem(96)
    out.append(L[25](main_mem_in_address=dq, main_mem_out_address=lg, channels=24))
    ad = mem(96)
    out.append(L[1](main_mem_in_a_address=l2, main_mem_in_b_address=lg, main_mem_out_address=ad, count=24))
    sm = mem(96)
    out.append(L[15](main_mem_in_address=ad, main_mem_out_address=sm, channels=24))
    return out


def fc_first_model(seed=1):
    """A model whose layer 0 is FULLY_CONNECTED (f32 input), then the float tail."""
    rng = np.random.default_rng(seed)
    mem = Main()
    x = mem(4 * 10)
    h = mem(4 * 176)
    layers = [L[18](main_mem_in_address=x, main_mem_out_address=h, in_channels=10, out_channels=176, act=1,
                    weights=rng.normal(0, 0.5, (176, 10)).astype(np.float32),
                    bias=rng.normal(0, 0.5, 176).astype(np.float32))]
    layers += float_tail(rng, mem, h, 176)
    return KModel(layers=layers, outputs=[(layers[-1].main_mem_out_address, 96)], flags=1,
                  main_mem_usage=mem.top, max_start_address=0)


def all_models():
    return {"kpu8": kpu_model(0, True), "kpu16": kpu_model(3, False), "fc_first": fc_first_model(1)}
