"""K210 KPU hardware facts and its arithmetic (spec §4.3, §5, §6): the 12 layer-argument register
words, the BN and activation tables, the KPU RAM row layout, and a bit-exact software model of
one KPU layer (conv -> BN -> 16-segment activation -> pool). Integer paths use exact int64."""
from __future__ import annotations

import numpy as np

ROW = 64

# name: (word, lsb, width, signed)  -- kpu_layer_argument_t, LSB first
REG_FIELDS = {
    "int_en": (0, 0, 1, False), "ram_flag": (0, 1, 1, False), "full_add": (0, 2, 1, False),
    "depth_wise_layer": (0, 3, 1, False),
    "image_src_addr": (1, 0, 15, False), "image_dst_addr": (1, 32, 15, False),
    "i_ch_num": (2, 0, 10, False), "o_ch_num": (2, 32, 10, False), "o_ch_num_coef": (2, 48, 10, False),
    "i_row_wid": (3, 0, 10, False), "i_col_high": (3, 10, 9, False),
    "o_row_wid": (3, 32, 10, False), "o_col_high": (3, 42, 9, False),
    "kernel_type": (4, 0, 3, False), "pad_type": (4, 3, 1, False), "pool_type": (4, 4, 4, False),
    "first_stride": (4, 8, 1, False), "bypass_conv": (4, 9, 1, False), "load_para": (4, 10, 1, False),
    "dma_burst_size": (4, 16, 8, False), "pad_value": (4, 24, 8, False), "bwsx_base_addr": (4, 32, 32, False),
    "load_coor": (5, 0, 1, False), "load_time": (5, 1, 6, False), "para_size": (5, 15, 17, False),
    "para_start_addr": (5, 32, 32, False),
    "coef_column_offset": (6, 0, 4, False), "coef_row_offset": (6, 4, 12, False),
    "channel_switch_addr": (7, 0, 15, False), "row_switch_addr": (7, 16, 4, False),
    "coef_size": (7, 20, 8, False), "coef_group": (7, 28, 3, False), "load_act": (7, 31, 1, False),
    "active_addr": (7, 32, 32, False),
    "wb_channel_switch_addr": (8, 0, 15, False), "wb_row_switch_addr": (8, 16, 4, False),
    "wb_group": (8, 20, 3, False),
    "shr_w": (9, 0, 4, False), "shr_x": (9, 4, 4, False), "arg_w": (9, 8, 24, True), "arg_x": (9, 32, 24, True),
    "arg_add": (10, 0, 40, True),
    "send_data_out": (11, 0, 1, False), "channel_byte_num": (11, 16, 16, False),
    "dma_total_byte": (11, 32, 32, False),
}

# (filter, stride, select offset (y, x) or None) per pool_type; spec §6.4
POOL_TYPES = {
    0: ("bypass", 1, 1, None), 1: ("max_2_s2", 2, 2, None), 2: ("mean_2_s2", 2, 2, None),
    3: ("max_4_s4", 4, 4, None), 4: ("mean_4_s4", 4, 4, None), 5: ("left_top_2_s2", 2, 2, (0, 0)),
    6: ("right_top_2_s2", 2, 2, (0, 1)), 7: ("left_top_4_s4", 4, 4, (0, 0)),
    8: ("mean_2_s1", 2, 1, None), 9: ("max_2_s1", 2, 1, None),
}


def sext(v, bits):
    v &= (1 << bits) - 1
    return v - (1 << bits) if v >> (bits - 1) else v


def get_field(words, name):
    w, lsb, width, signed = REG_FIELDS[name]
    v = (int(words[w]) >> lsb) & ((1 << width) - 1)
    return sext(v, width) if signed else v


class RegisterFieldError(ValueError):
    """A value does not fit its KPU register field: names the field, the value and the limit."""

    def __init__(self, name, value, width, signed):
        self.field, self.value, self.width, self.signed = name, value, width, signed
        lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
        self.limit = (lo, hi)
        kind = f"{width}-bit signed" if signed else f"{width}-bit"
        super().__init__(f"KPU register field {name}={value} does not fit its {kind} range [{lo}, {hi}]")


def set_field(words, name, value):
    w, lsb, width, signed = REG_FIELDS[name]
    mask = (1 << width) - 1
    if signed:
        if not -(1 << (width - 1)) <= value < (1 << (width - 1)):
            raise RegisterFieldError(name, value, width, True)
    elif not 0 <= value <= mask:
        raise RegisterFieldError(name, value, width, False)
    words[w] = (int(words[w]) & ~(mask << lsb)) | ((value & mask) << lsb)


# ---- KPU RAM row layout ----------------------------------------------------------------
def weight_loads(ic, oc, k, depthwise, eight_bit=True):
    """(o_ch_num_coef, load_time, para_size): how the KPU loads a layer's weights, by the nncase rule
    (spec §7): depthwise in one load; otherwise as many output channels per load as fit 30 KiB
    (60 KiB at 16 bits)."""
    bpw = 1 if eight_bit else 2
    if depthwise:
        return oc, 1, oc * k * k * bpw
    one = k * k * ic * bpw
    n = max(1, min(oc, (30 if eight_bit else 60) * 1024 // one))
    return n, -(-oc // n), one * n


def layout_for_width(w):
    """(groups, row_len, row_pitch) for a map of width w (spec §4.3)."""
    if w <= 16:
        return 4, 1, 16
    if w <= 32:
        return 2, 1, 32
    return 1, (w + ROW - 1) // ROW, 64


def map_rows(w, h, c):
    groups, row_len, _ = layout_for_width(w)
    return row_len * h * ((c + groups - 1) // groups)


def _addr_grid(c, h, w, groups, row_len, ch_switch):
    """Byte offsets (relative to the map base) of every element (c, y, x)."""
    pitch = ROW // groups
    cc = np.arange(c)[:, None, None]
    yy = np.arange(h)[None, :, None]
    xx = np.arange(w)[None, None, :]
    return (cc // groups) * ch_switch * ROW + (cc % groups) * pitch + yy * row_len * ROW + xx


def kpu_extent(c, h, w, groups, row_len, ch_switch):
    """Bytes from the map base to one past its last element."""
    pitch = ROW // groups
    return (((c - 1) // groups) * ch_switch * ROW + ((c - 1) % groups) * pitch
            + (h - 1) * row_len * ROW + w)


def kpu_read(kpu, base_row, c, h, w, groups, row_len, ch_switch):
    return kpu[base_row * ROW + _addr_grid(c, h, w, groups, row_len, ch_switch)]


def kpu_write(kpu, base_row, x, groups, row_len, ch_switch):
    c, h, w = x.shape
    kpu[base_row * ROW + _addr_grid(c, h, w, groups, row_len, ch_switch)] = x


def upload(kpu, base_row, x):
    """Scatter a dense CHW u8 map into KPU RAM in the layout its width implies."""
    c, h, w = x.shape
    groups, row_len, _ = layout_for_width(w)
    kpu_write(kpu, base_row, x, groups, row_len, row_len * h)


# ---- tables ----------------------------------------------------------------------------
def decode_bn(words):
    """BN table (u64 per output channel) -> (mul, add, shift) int64 arrays (spec §5.1)."""
    w = np.asarray(words, np.uint64)
    mul = (w & np.uint64(0xFFFFFF)).astype(np.int64)
    mul = np.where(mul >= 1 << 23, mul - (1 << 24), mul)
    add = ((w >> np.uint64(24)) & np.uint64(0xFFFFFFFF)).astype(np.int64)
    add = np.where(add >= 1 << 31, add - (1 << 32), add)
    shift = ((w >> np.uint64(56)) & np.uint64(0xF)).astype(np.int64)
    return mul, add, shift


def encode_bn(mul, add, shift):
    out = []
    for m, a, s in zip(mul, add, shift):
        m, a, s = int(m), int(a), int(s)
        if not -(1 << 23) <= m < (1 << 23):
            raise ValueError(f"BN norm_mul {m} does not fit 24-bit signed")
        if not -(1 << 31) <= a < (1 << 31):
            raise ValueError(f"BN norm_add {a} does not fit 32-bit signed")
        if not 0 <= s < 16:
            raise ValueError(f"BN norm_shift {s} not in 0..15")
        out.append((m & 0xFFFFFF) | ((a & 0xFFFFFFFF) << 24) | (s << 56))
    return np.asarray(out, np.uint64)


def decode_act(words):
    """Activation table (18 u64) -> (x_start, y_mul, shift, bias) per segment (spec §5.2)."""
    w = [int(v) for v in words]
    xs, ym, sh = [], [], []
    for i in range(16):
        sh.append(w[i] & 0xFF)
        ym.append(sext(w[i] >> 8, 16))
        xs.append(sext(w[i] >> 24, 36))
    bias = list((w[16]).to_bytes(8, "little")) + list((w[17]).to_bytes(8, "little"))
    return (np.asarray(xs, np.int64), np.asarray(ym, np.int64), np.asarray(sh, np.int64),
            np.asarray(bias, np.int64))


def encode_act(x_start, y_mul, shift, bias):
    words = []
    for xs, ym, s in zip(x_start, y_mul, shift):
        xs, ym, s = int(xs), int(ym), int(s)
        if not -(1 << 35) <= xs < (1 << 35) or not -(1 << 15) <= ym < (1 << 15) or not 0 <= s < 256:
            raise ValueError(f"activation segment (x_start={xs}, y_mul={ym}, shift={s}) out of range")
        words.append((s & 0xFF) | ((ym & 0xFFFF) << 8) | ((xs & ((1 << 36) - 1)) << 24))
    b = bytes(int(v) & 0xFF for v in bias)
    words.append(int.from_bytes(b[:8], "little"))
    words.append(int.from_bytes(b[8:16], "little"))
    return np.asarray(words, np.uint64)


# ---- arithmetic ------------------------------------------------------------------------
def round_shift(v, s):
    """Shift right by s rounding half up (kpu_carry_shift on the positive side; the KPU's
    activation rounding). s is an int64 array (per element) or scalar."""
    v = np.asarray(v, np.int64)
    s = np.asarray(s, np.int64)
    pos = s > 0
    sm1 = np.where(pos, s - 1, 0)
    t = v >> sm1
    r = (t >> 1) + (t & 1)
    return np.where(pos, r, v)


def conv(x, w, k, depthwise, pad_value, arg_x, shr_x, arg_w, shr_w, arg_add):
    """The KPU conv stage, stride 1 'same': x (IC,H,W) u8, w (OC,IC|1,K,K) unsigned -> int64 (OC,H,W).

    The offset terms are applied per input channel, each shifted before the channels are summed:
        conv = sum_ic [ acc_ic + (arg_x*sum_x_ic >> shr_x) + (arg_w*sum_w_ic >> shr_w) + arg_add ]
    Shifting arg_x*sum_x once over all channels (as the nncase simulators do) leaves a few-LSB
    error on the hardware-verified Maix-EMC CIFAR-10 model; per channel it matches the K210 exactly.
    (arg_w is treated like arg_x by symmetry; with shr_w = 0, as writers emit, both forms agree.)
    """
    ic, h, wd = x.shape
    oc = w.shape[0]
    p = 1 if k == 3 else 0
    xp = np.pad(x, ((0, 0), (p, p), (p, p)), constant_values=int(pad_value)).astype(np.float64)
    wk = w.astype(np.int64).reshape(oc, w.shape[1], k * k)
    sum_w = wk.sum(axis=2)                                 # (OC, IC|1)
    sum_x = np.zeros((ic, h, wd), np.int64)                # window sum per input channel
    acc = np.zeros((oc, h, wd), np.float64)
    # products of u8/u16 weights and u8 pixels summed over <= 1024*9 taps stay below 2^53, so
    # float64 (BLAS) arithmetic is exact here
    for t in range(k * k):
        ky, kx = divmod(t, k)
        tap = xp[:, ky:ky + h, kx:kx + wd]
        sum_x += tap.astype(np.int64)
        if depthwise:
            acc += wk[:, 0, t, None, None] * tap
        else:
            acc += (wk[:, :, t].astype(np.float64) @ tap.reshape(ic, -1)).reshape(oc, h, wd)
    acc = acc.astype(np.int64)
    if depthwise:
        x_term = (arg_x * sum_x) >> shr_x
        w_term = ((arg_w * sum_w[:, 0]) >> shr_w)[:, None, None]
        return acc + x_term + w_term + arg_add
    x_term = ((arg_x * sum_x) >> shr_x).sum(axis=0)[None]
    w_term = ((arg_w * sum_w) >> shr_w).sum(axis=1)[:, None, None]
    return acc + x_term + w_term + arg_add * ic


def batchnorm(v, mul, add, shift):
    return ((v * mul[:, None, None]) >> shift[:, None, None]) + add[:, None, None]


def activate(v, x_start, y_mul, shift, bias):
    seg = np.zeros(v.shape, np.int64)
    for i in range(16):
        seg = np.where(v > x_start[i], i, seg)       # the highest segment whose start is below v
    y = round_shift((v - x_start[seg]) * y_mul[seg], shift[seg]) + bias[seg]
    return np.clip(y, 0, 255).astype(np.uint8)


def pool(x, pool_type):
    name, f, s, sel = POOL_TYPES[pool_type]
    c, h, w = x.shape
    oh, ow = h // s, w // s
    oy = np.arange(oh)[:, None] * s
    ox = np.arange(ow)[None, :] * s
    if pool_type == 0:
        return x.copy()
    if sel is not None:
        iy, ix = oy + sel[0], ox + sel[1]
        valid = (iy < h) & (ix < w)
        v = x[:, np.minimum(iy, h - 1), np.minimum(ix, w - 1)]
        return np.where(valid, v, 0).astype(np.uint8)
    if name.startswith("max"):
        out = np.zeros((c, oh, ow), np.uint8)          # out-of-range taps count as 0 (u8 lowest)
        for ky in range(f):
            for kx in range(f):
                iy, ix = oy + ky, ox + kx
                valid = (iy < h) & (ix < w)
                v = x[:, np.minimum(iy, h - 1), np.minimum(ix, w - 1)]
                out = np.maximum(out, np.where(valid, v, 0).astype(np.uint8))
        return out
    acc = np.zeros((c, oh, ow), np.int64)              # mean: indices clamped to the edge
    for ky in range(f):
        for kx in range(f):
            acc += x[:, np.minimum(oy + ky, h - 1), np.minimum(ox + kx, w - 1)]
    return (acc // (f * f)).astype(np.uint8)
