"""The software KPU against hand-worked numbers and independent float computations.

Each test builds a one-layer kmodel with the writer, runs it through the reference executor and
compares with values worked out by hand or with plain float64 numpy written here, not with
the code under test."""
import numpy as np
import pytest

from emc.kmodel import KModel, kpu, load
from emc.kmodel.layers import K210Conv, QuantizedAdd
from emc.reference import run
from emc.reference.memory import Memory

IDENTITY_ACT = ([-(1 << 35)] + [0] * 15, [0] + [1] * 15, [0] * 16, [0] * 16)   # y = bn (segments 1..15)


def conv_model(x_shape, weights, **kw):
    kw.setdefault("bn", ([1] * weights.shape[0], [0] * weights.shape[0], [0] * weights.shape[0]))
    kw.setdefault("act", IDENTITY_ACT)
    layer = K210Conv.make(weights=weights, in_shape=x_shape, src_row=0, dst_row=16384, main_out=0, **kw)
    stride = kpu.POOL_TYPES[kw.get("pool_type", 0)][2]
    n = weights.shape[0] * (x_shape[1] // stride) * (x_shape[2] // stride)
    m = KModel([layer], outputs=[(0, n)], main_mem_usage=n)
    return load(m.to_bytes())          # through the writer and the validating reader


def run_conv(x, weights, **kw):
    m = conv_model(x.shape, weights, **kw)
    oc = weights.shape[0]
    return run(m, x)[0].reshape(oc, m.layers[0].out_h, m.layers[0].out_w).astype(np.int64)


def test_3x3_conv_hand_worked():
    x = np.arange(1, 10, dtype=np.uint8).reshape(1, 3, 3)        # 1 2 3 / 4 5 6 / 7 8 9
    w = np.ones((1, 1, 3, 3), np.uint8)
    out = run_conv(x, w)[0]
    # zero padding: corner = 1+2+4+5, edge = 1+2+3+4+5+6, centre = 45
    assert out.tolist() == [[12, 21, 16], [27, 45, 33], [24, 39, 28]]


def test_3x3_conv_pad_value_fills_border():
    x = np.zeros((1, 3, 3), np.uint8)
    out = run_conv(x, np.ones((1, 1, 3, 3), np.uint8), pad_value=2)[0]
    assert out.tolist() == [[10, 6, 10], [6, 0, 6], [10, 6, 10]]    # 5 / 3 / 0 padded taps x 2


def float_conv(xr, wr, depthwise):
    """Plain float64 'same' convolution with zero padding (independent of the KPU model)."""
    ic, h, w = xr.shape
    oc, _, k, _ = wr.shape
    p = k // 2
    xp = np.pad(xr, ((0, 0), (p, p), (p, p)))
    out = np.zeros((oc, h, w))
    for o in range(oc):
        for y in range(h):
            for x in range(w):
                win = xp[o:o + 1] if depthwise else xp
                out[o, y, x] = np.sum(win[:, y:y + k, x:x + k] * wr[o])
    return out


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("depthwise", [False, True])
def test_affine_offsets_make_a_real_convolution(k, depthwise):
    """With arg_x = -zw, arg_w = -zx, arg_add = K*K*zx*zw and pad_value = zx the KPU computes
    sum (x - zx)(w - zw): an exact integer convolution of the zero-point-removed values."""
    rng = np.random.default_rng(k + 2 * depthwise)
    ic, oc = (5, 5) if depthwise else (3, 4)
    zx, zw = 37, 121
    x = rng.integers(0, 256, (ic, 6, 7), dtype=np.uint8)
    w = rng.integers(0, 256, (oc, 1 if depthwise else ic, k, k), dtype=np.uint8)
    expected = float_conv(x.astype(np.float64) - zx, w.astype(np.float64) - zw, depthwise)
    # exact check of the conv value, through a BN that divides it down into 0..255
    # (shr_x = 4 with arg_x scaled by 16 exercises the shift without losing bits)
    span = np.abs(expected).max() + 1
    shift = int(np.ceil(np.log2(span / 127.0))) if span > 127 else 0
    out = run_conv(x, w, depthwise=depthwise, pad_value=zx, arg_x=-zw * 16, shr_x=4, arg_w=-zx, shr_w=0,
                   arg_add=k * k * zx * zw, bn=([1] * oc, [128] * oc, [shift] * oc))
    ref = np.floor(expected / 2 ** shift) + 128
    assert np.array_equal(out, np.clip(ref, 0, 255))


def test_arg_x_shift_is_applied_per_input_channel():
    """(arg_x * sum_x_c) >> shr_x is floored per input channel before the channels are summed."""
    x = np.array([[[1]], [[1]], [[1]]], np.uint8)                 # 3 channels, 1x1
    w = np.zeros((1, 3, 1, 1), np.uint8)
    out = run_conv(x, w, arg_x=3, shr_x=1, bn=([1], [10], [0]))   # floor(3/2) * 3 = 3, not floor(9/2) = 4
    assert out[0, 0, 0] == 10 + 3


def test_bn_mul_is_24bit_signed_and_shift_floors():
    x = np.full((1, 1, 1), 10, np.uint8)
    w = np.ones((1, 1, 1, 1), np.uint8)
    # conv = 10; mul -3 (encoded 0xFFFFFD in 24 bits), shift 1, add 40 -> floor(-30/2) + 40 = 25
    assert run_conv(x, w, bn=([-3], [40], [1]))[0, 0, 0] == 25
    # floor, not truncation toward zero
    assert run_conv(x, w, bn=([-1], [40], [3]))[0, 0, 0] == 40 - 2     # floor(-10/8) = -2


def test_bn_mul_overflow_is_refused_when_writing():
    with pytest.raises(ValueError, match="24-bit"):
        kpu.encode_bn([1 << 23], [0], [0])
    # and a file whose norm_mul has bit 23 set reads it back negative (as the hardware does)
    mul, add, shift = kpu.decode_bn(kpu.encode_bn([-(1 << 23)], [-5], [15]))
    assert (mul[0], add[0], shift[0]) == (-(1 << 23), -5, 15)


def act_table():
    xs = [-(1 << 35), 0, 100] + [1 << 34] * 13
    ym = [0, 3, -2] + [0] * 13
    sh = [0, 2, 1] + [0] * 13
    bias = [0, 10, 200] + [255] * 13
    return xs, ym, sh, bias


@pytest.mark.parametrize("bn,expected", [
    (-5, 0),      # segment 0 (x_start = -2^35): y = 0
    (0, 0),       # 0 > x_start[1] = 0 is false: still segment 0
    (1, 11),      # segment 1: round(1*3/4) = round(0.75) = 1, + 10
    (2, 12),      # round(6/4 = 1.5) = 2 (halves round up)
    (100, 85),    # still segment 1 at its end: round(300/4) = 75, + 10
    (101, 199),   # segment 2: round((101-100)*-2/2) = -1, + 200
    (104, 196),   # round(4*-2/2) = -4, + 200
])
def test_activation_segment_boundaries(bn, expected):
    x = np.zeros((1, 1, 1), np.uint8)
    w = np.zeros((1, 1, 1, 1), np.uint8)
    assert run_conv(x, w, bn=([0], [bn], [0]), act=act_table())[0, 0, 0] == expected


def test_activation_clamps_to_u8():
    xs = [-(1 << 35)] + [0] * 15
    out = run_conv(np.zeros((1, 1, 1), np.uint8), np.zeros((1, 1, 1, 1), np.uint8), bn=([0], [1000], [0]),
                   act=(xs, [0] + [1] * 15, [0] * 16, [0] + [0] * 15))
    assert out[0, 0, 0] == 255


MAP = np.arange(1, 17, dtype=np.uint8).reshape(1, 4, 4)      # 1..16 row by row


@pytest.mark.parametrize("pool_type,expected", [
    (0, MAP[0].tolist()),
    (1, [[6, 8], [14, 16]]),                              # max 2x2 stride 2
    (2, [[3, 5], [11, 13]]),                              # mean 2x2: 3.5, 5.5, 11.5, 13.5 truncated
    (3, [[16]]),                                          # max 4x4
    (4, [[8]]),                                           # mean 4x4: 136/16 = 8.5 truncated
    (5, [[1, 3], [9, 11]]),                               # left-top pick (stride-2 conv)
    (6, [[2, 4], [10, 12]]),                              # right-top pick
    (7, [[1]]),                                           # left-top 4x4 pick
    (8, [[3, 4, 5, 6], [7, 8, 9, 10], [11, 12, 13, 14], [13, 14, 15, 16]]),  # mean 2x2 s1, edge clamped
    (9, [[6, 7, 8, 8], [10, 11, 12, 12], [14, 15, 16, 16], [14, 15, 16, 16]]),  # max 2x2 s1
])
def test_pool_types(pool_type, expected):
    out = run_conv(MAP, np.ones((1, 1, 1, 1), np.uint8), pool_type=pool_type)[0]
    assert out.tolist() == expected


def test_row_layout_of_wide_maps_round_trips():
    """Widths 16/32/64+ use 4/2/1 channels per 64-byte row; a 1x1 identity conv must see and
    write back every element at its place."""
    rng = np.random.default_rng(5)
    for w in (3, 16, 17, 32, 33, 64, 65, 130):
        x = rng.integers(0, 256, (5, 3, w), dtype=np.uint8)
        eye = np.eye(5, dtype=np.uint8).reshape(5, 5, 1, 1)
        assert np.array_equal(run_conv(x, eye), x), w


def qadd_model(a, b, **params):
    n = len(a)
    layer = QuantizedAdd(main_mem_in_a_address=0, main_mem_in_b_address=16, main_mem_out_address=32, count=n,
                         **params)
    return KModel([layer], outputs=[(32, n)], main_mem_usage=48)


def test_quantized_add_carry_shift_quirk():
    """kpu.c's carry shift rounds negative odd intermediates one step further down:
    v = -3 with out_shift 1: -3 >> 0 = -3 (odd, negative) -> (-3 >> 1) - 1 = -3, where -1.5
    would round to -2 (half away from zero) or -1 (half up). Positive 3 -> 2."""
    from emc.kmodel.layers.add import carry_shift
    assert carry_shift(np.array([-3, 3, -4, 5, -5]), 1).tolist() == [-3, 2, -2, 3, -4]
    # -6/4 = -1.5: -6 >> 1 = -3 is odd and negative -> (-3 >> 1) - 1 = -3; 6/4 -> 2; 7/4 -> 2
    assert carry_shift(np.array([-6, 6, 7]), 2).tolist() == [-3, 2, 2]
    m = qadd_model([0], [0], in_a_offset=-3, in_a_mul=1, in_a_shift=0, in_b_offset=0, in_b_mul=0, in_b_shift=0,
                   out_offset=10, out_mul=1, out_shift=1)
    # a = 0: (0 - 3) * 1 >> 0 = -3 ; carry_shift(-3, 1) = -3 ; + 10 = 7
    assert ex_run_main(m, np.zeros(16, np.uint8), np.zeros(16, np.uint8))[0] == 7


def ex_run_main(m, a, b):
    """Run a model whose first layer reads main memory: fill main memory directly."""
    mem = Memory(m.main_mem_usage)
    mem.write_main(0, a)
    mem.write_main(16, b)
    for layer in m.layers:
        layer.execute(mem)
    return mem.read_main(32, 16, "u8")


def test_quantized_add_equal_and_different_shifts():
    m = qadd_model([0] * 8, [0] * 8, in_a_offset=1, in_a_mul=3, in_a_shift=1, in_b_offset=2, in_b_mul=5,
                   in_b_shift=1, out_offset=0, out_mul=1, out_shift=0)
    a = np.arange(16, dtype=np.uint8)
    b = np.arange(16, dtype=np.uint8)[::-1].copy()
    out = ex_run_main(m, a, b)
    # equal shifts: ((a+1)*3 + (b+2)*5) >> 1, computed here in plain Python
    exp = [min(255, ((int(x) + 1) * 3 + (int(y) + 2) * 5) >> 1) for x, y in zip(a[:8], b[:8])]
    assert out[:8].tolist() == exp
    m2 = qadd_model([0] * 8, [0] * 8, in_a_offset=1, in_a_mul=3, in_a_shift=1, in_b_offset=2, in_b_mul=5,
                    in_b_shift=2, out_offset=0, out_mul=1, out_shift=0)
    out2 = ex_run_main(m2, a, b)
    exp2 = [min(255, (((int(x) + 1) * 3) >> 1) + (((int(y) + 2) * 5) >> 2)) for x, y in zip(a[:8], b[:8])]
    assert out2[:8].tolist() == exp2
