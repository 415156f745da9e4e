"""GENERIC_LOOKUP (0x4012): an int8 -> int8 element-wise function as a 256-entry table indexed by
the input byte. An int8 input has only 256 values, so tabulating TFLM's reference arithmetic at
convert time gives its outputs exactly; the tables below are TFLM's int8 kernels, written out:

LOGISTIC: reference_integer_ops::Logistic (input to Q4.27 by input_multiplier/left shift, gemmlowp
logistic, Q0.31 -> 8 bits, output zero point -128), radius cut-offs as TFLM's Prepare computes them.
TANH: reference_integer_ops::Tanh (the same input scaling, gemmlowp tanh, Q0.31 -> 7 fraction bits).
LEAKY_RELU: reference_ops::QuantizeLeakyRelu (identity / alpha multipliers from float products).
HARD_SWISH: reference_ops::HardSwish<int8> (int16 fixed point, multipliers downscaled to 16 bits).
RELU: TFLM's ReluQuantized (rescale by input/output scale, clamp at the output's zero); RELU6: TFLM's
Relu6Quantized (a clamp between the input's zero point and its quantized 6, no rescale)."""
import math

import numpy as np

from .generic_common import GENERIC_BASE, GenericLayer, main_i8
from .generic_math import mbqm, quantize_multiplier, rdbpot, srdhm
from .generic_softmax import INT32_MAX, _sat_shl, exp_on_negative_values, one_over_one_plus_x_for_x_in_0_1

INPUTS = np.arange(-128, 128, dtype=np.int64)        # table index = input byte ^ 0x80
INPUT_INTEGER_BITS = 4


def _q4_input(scale, zp):
    """(input - zp) in Q4.27 with TFLM's Prepare multiplier (frexp, not QuantizeMultiplier), and
    the radius beyond which the output saturates."""
    q, left_shift = math.frexp(float(scale) * float(1 << (31 - INPUT_INTEGER_BITS)))
    mult = int(math.floor(abs(q * (1 << 31)) + 0.5)) * (1 if q >= 0 else -1)
    radius = math.floor(1.0 * ((1 << INPUT_INTEGER_BITS) - 1) * (1 << (31 - INPUT_INTEGER_BITS))
                        / (1 << left_shift))
    x = INPUTS - zp
    return x, mbqm(x, mult, left_shift), radius


def _rounding_half_sum(a, b):
    s = a + b
    s = s + np.where(s >= 0, 1, -1)
    return np.where(s >= 0, s // 2, -((-s) // 2))


def logistic_table(scale, zp):
    x, a, radius = _q4_input(scale, zp)
    pos = a > 0
    absx = np.where(pos, a, -a)
    r_pos = one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(-absx, INPUT_INTEGER_BITS))
    r = np.where(a == 0, 1 << 30, np.where(pos, r_pos, INT32_MAX - r_pos))
    out = np.clip(rdbpot(r, 31 - 8) - 128, -128, 127)
    return np.where(x <= -radius, -128, np.where(x >= radius, 127, out))


def tanh_table(scale, zp):
    x, a, radius = _q4_input(scale, zp)
    neg = a < 0
    n = np.where(neg, a, -a)
    # neg_tanh_on_negative_values: exp(2n) as ExactMulByPot<1> (the same raw with one more integer bit)
    t = exp_on_negative_values(n, INPUT_INTEGER_BITS + 1)
    # one_minus_x_over_one_plus_x_for_x_in_0_1 (F0 in, F2 Newton-Raphson, F0 out)
    half_den = _rounding_half_sum(t, INT32_MAX)
    y = 1515870810 + srdhm(half_den, -1010580540)
    for _ in range(3):
        y = y + _sat_shl(srdhm(y, (1 << 29) - srdhm(half_den, y)), 2)
    r = _sat_shl(y - (1 << 29), 2)
    r = np.where(a == 0, 0, np.where(neg, -r, r))
    out = np.clip(rdbpot(r, 31 - 7), -128, 127)
    return np.where(x <= -radius, -128, np.where(x >= radius, 127, out))


def leaky_relu_table(in_scale, in_zp, out_scale, out_zp, alpha):
    f = np.float32
    m_a, s_a = quantize_multiplier(float(f(f(in_scale) * f(alpha)) / f(out_scale)))
    m_i, s_i = quantize_multiplier(float(f(in_scale) / f(out_scale)))
    x = INPUTS - in_zp
    out = np.where(x >= 0, mbqm(x, m_i, s_i), mbqm(x, m_a, s_a)) + out_zp
    return np.clip(out, -128, 127)


def _i16(v):
    return ((np.asarray(v, np.int64) + (1 << 15)) % (1 << 16)) - (1 << 15)


def _srdhm16(a, b):
    """gemmlowp SaturatingRoundingDoublingHighMul on int16."""
    ab = np.asarray(a, np.int64) * b
    s = ab + np.where(ab >= 0, 1 << 14, 1 - (1 << 14))
    q = _i16(np.where(s >= 0, s >> 15, -((-s) >> 15)))
    return np.where((a == b) & (a == -(1 << 15)), (1 << 15) - 1, q)


def _sat_shl16(v, amount):
    return np.clip(np.asarray(v, np.int64) * (1 << amount), -(1 << 15), (1 << 15) - 1)


def _to_int16_multiplier(m):
    """tflite DownScaleInt32ToInt16Multiplier."""
    return (1 << 15) - 1 if m >= (1 << 31) - 1 - (1 << 15) else (m + (1 << 15)) >> 16


def hard_swish_table(in_scale, in_zp, out_scale, out_zp):
    f = np.float32
    hires = f(f(1.0 / 128.0) * f(in_scale))
    out_m, out_e = quantize_multiplier(float(f(hires / f(out_scale))))
    rel_m, rel_e = quantize_multiplier(float(f(hires / f(f(3.0) / f(32768.0)))))
    out_m, rel_m = _to_int16_multiplier(out_m), _to_int16_multiplier(rel_m)
    hi = _i16((INPUTS - in_zp) * 128)
    pre_out = _srdhm16(hi, out_m)
    r = hi
    if rel_e > 0:
        r = _sat_shl16(r, rel_e - 1)
    r = _srdhm16(r, rel_m)
    if rel_e > 0:
        r = _sat_shl16(r, 1)
    if rel_e < 0:
        r = rdbpot(r, -rel_e, bits=16)
    r = _i16((r + (1 << 15)) >> 1)
    ab = r * pre_out                       # SaturatingDoublingHighMul (truncating, no nudge)
    pre = _i16(np.where(ab >= 0, ab >> 15, -((-ab) >> 15)))
    pre = np.where((r == pre_out) & (r == -(1 << 15)), (1 << 15) - 1, pre)
    out = _i16(rdbpot(pre, -out_e, bits=16) + out_zp)
    return np.clip(out, -128, 127)


def relu_table(in_scale, in_zp, out_scale, out_zp):
    m, s = quantize_multiplier(float(in_scale) / float(out_scale))        # double, as CalculateReluOpData
    lo = max(-128, out_zp + int(np.round(np.float32(0.0) / np.float32(out_scale))))
    return np.clip(out_zp + mbqm(INPUTS - in_zp, m, s), lo, 127)


def relu6_table(in_scale, in_zp):
    six = int(np.round(np.float32(6.0) / np.float32(in_scale))) + in_zp    # FloatToQuantizedType
    return np.clip(INPUTS, in_zp, min(127, max(-128, six)))


class GenericLookup(GenericLayer):
    TYPE, NAME = GENERIC_BASE + 18, "GENERIC_LOOKUP"
    FIELDS = (("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"), ("count", "I"))
    TAIL = (("table", "i1", lambda s: 256),)          # output for input byte b at index b ^ 0x80
    TFLITE_OPS = ("LOGISTIC", "TANH", "LEAKY_RELU", "HARD_SWISH", "RELU", "RELU6")

    @classmethod
    def from_tflite(cls, ctx, op):
        x, o = ctx.tensor(op.inputs[0]), ctx.tensor(op.outputs[0])
        if x["dtype"] != "i8" or o["dtype"] != "i8":
            raise ctx.Error(f"{op.name} #{op.index}: only int8 is supported")
        (xs, xz), (os_, oz) = ctx.q(op.inputs[0]), ctx.q(op.outputs[0])
        if op.name == "LOGISTIC":
            table = logistic_table(xs, xz)
        elif op.name == "TANH":
            table = tanh_table(xs, xz)
        elif op.name == "HARD_SWISH":
            table = hard_swish_table(xs, xz, os_, oz)
        elif op.name == "RELU":
            table = relu_table(xs, xz, os_, oz)
        elif op.name == "RELU6":
            table = relu6_table(xs, xz)
        else:
            table = leaky_relu_table(xs, xz, os_, oz, op.options("LeakyReluOptions").Alpha())
        return cls(main_mem_in_address=ctx.addr(op.inputs[0]), main_mem_out_address=ctx.addr(op.outputs[0]),
                   count=int(np.prod(o["shape"])), table=table.astype(np.int8))

    def reads(self):
        return [main_i8("main_mem_in_address", self.main_mem_in_address, self.count)]

    def writes(self):
        return [main_i8("main_mem_out_address", self.main_mem_out_address, self.count)]

    def overlap_lag(self):
        return 0            # element-wise, in order

    def check(self, model):
        self.check_fields(count=(1, 1 << 26))
        super().check(model)

    def execute(self, mem):
        x = mem.read_main(self.main_mem_in_address, self.count, "i8").astype(np.int64)
        mem.write_main(self.main_mem_out_address, self.table[x + 128])
