"""GENERIC_SOFTMAX (0x4009): TFLite int8 SOFTMAX (int8 -> int8) as TFLM's reference
Softmax<int8,int8>: gemmlowp fixed point, input differences scaled to Q5.26, exp_on_negative_values,
sum in Q12.19, GetReciprocal (one_over_one_plus_x_for_x_in_0_1), RoundingDivideByPOT to 8 bits."""
import math

import numpy as np

from .generic_common import GENERIC_BASE, GenericLayer, main_i8
from .generic_math import quantize_multiplier, rdbpot, srdhm

INT32_MAX = (1 << 31) - 1
INT32_MIN = -(1 << 31)


def _wrap32(v):
    return ((np.asarray(v, np.int64) + (1 << 31)) % (1 << 32)) - (1 << 31)


def _sat_shl(x, e):
    """gemmlowp SaturatingRoundingMultiplyByPOT<e> for e > 0 on int32."""
    thr = (1 << (31 - e)) - 1
    r = _wrap32(np.asarray(x, np.int64) << e)
    r = np.where(x > thr, INT32_MAX, r)
    return np.where(x < -thr, INT32_MIN, r)


def _exp_interval(a):
    """exp_on_interval_between_negative_one_quarter_and_0_excl, Q0.31 in and out."""
    x = a + (1 << 28)
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = rdbpot(x4, 2)
    t = rdbpot(srdhm(x4_over_4 + x3, 715827883) + x2, 1)
    return 1895147668 + srdhm(1895147668, x + t)


def exp_on_negative_values(a, integer_bits=5):
    """gemmlowp exp_on_negative_values for FixedPoint<int32, integer_bits> (raw int64 arrays)."""
    frac = 31 - integer_bits
    one_quarter = 1 << (frac - 2)
    mask = one_quarter - 1
    a_mod = (a & mask) - one_quarter
    result = _exp_interval(_sat_shl(a_mod, integer_bits))
    remainder = a_mod - a
    for exponent, mult in ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308), (2, 39332535),
                           (3, 720401), (4, 242)):
        if integer_bits > exponent:
            bit = 1 << (frac + exponent)
            result = np.where((remainder & bit) != 0, srdhm(result, mult), result)
    if integer_bits > 5:
        result = np.where(a < -(1 << (36 - integer_bits)), 0, result)
    return np.where(a == 0, INT32_MAX, result)


def one_over_one_plus_x_for_x_in_0_1(a):
    half_den = (a + INT32_MAX + np.where(a + INT32_MAX >= 0, 1, -1))
    half_den = np.where(half_den >= 0, half_den // 2, -((-half_den) // 2))
    x = 1515870810 + srdhm(half_den, -1010580540)
    for _ in range(3):
        hdx = srdhm(half_den, x)
        one_minus = (1 << 29) - hdx
        x = x + _sat_shl(srdhm(x, one_minus), 2)
    return _sat_shl(x, 1)


def get_reciprocal(x, integer_digits=12):
    x = np.asarray(x, np.int64)
    u = x & 0xFFFFFFFF
    clz = np.where(u == 0, 32, 31 - np.floor(np.log2(np.maximum(u, 1))).astype(np.int64))
    num_bits_over_unit = integer_digits - clz
    shifted = _wrap32(((u << clz) & 0xFFFFFFFF) - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted), num_bits_over_unit


class GenericSoftmax(GenericLayer):
    TYPE, NAME = GENERIC_BASE + 9, "GENERIC_SOFTMAX"
    FIELDS = (("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"), ("outer", "I"),
              ("depth", "I"), ("input_multiplier", "i"), ("input_left_shift", "i"), ("diff_min", "i"))

    TFLITE_OPS = ("SOFTMAX",)

    @classmethod
    def from_tflite(cls, ctx, op):
        """TFLM SoftmaxPrepare: beta * input scale in Q5.26, diff_min from the input radius."""
        x = ctx.tensor(op.inputs[0])
        beta = op.options("SoftmaxOptions").Beta()
        xs, _ = ctx.q(op.inputs[0])
        real = min(float(beta) * float(xs) * (1 << (31 - 5)), (1 << 31) - 1.0)
        if not real > 1.0:
            # TFLM's QuantizeMultiplierGreaterThanOne aborts the program here; refuse at convert time instead
            raise ctx.Error(f"{op.name} #{op.index}: input {ctx.tensor(op.inputs[0])['name']!r} has scale {xs:.3g}: "
                            f"beta * scale * 2^26 = {real:.3g} must exceed 1 (TFLM refuses it); the calibrated "
                            "logits have almost no range (untrained or dead layers before the softmax?)")
        mult, lshift = quantize_multiplier(real)
        radius = math.floor(1.0 * ((1 << 5) - 1) * (1 << (31 - 5)) / (1 << lshift))
        depth = x["shape"][-1]
        return cls(main_mem_in_address=ctx.addr(op.inputs[0]), main_mem_out_address=ctx.addr(op.outputs[0]),
                   outer=int(np.prod(x["shape"])) // depth, depth=depth, input_multiplier=mult,
                   input_left_shift=lshift, diff_min=int(-1.0 * radius))

    def overlap_lag(self):
        return 0            # row by row, element-wise within a row after its max and sum

    def reads(self):
        return [main_i8("main_mem_in_address", self.main_mem_in_address, self.outer * self.depth)]

    def writes(self):
        return [main_i8("main_mem_out_address", self.main_mem_out_address, self.outer * self.depth,
                        (self.outer, self.depth))]

    def check(self, model):
        self.check_fields(outer=(1, 1 << 24), depth=(1, 2047), input_multiplier=(0, INT32_MAX),
                          input_left_shift=(0, 31), diff_min=(-(1 << 31), 0))
        super().check(model)

    def execute(self, mem):
        x = mem.read_main(self.main_mem_in_address, self.outer * self.depth, "i8").astype(np.int64)
        x = x.reshape(self.outer, self.depth)
        diff = x - x.max(axis=1, keepdims=True)
        use = diff >= self.diff_min
        scaled = srdhm(_wrap32(diff << self.input_left_shift), self.input_multiplier)
        e = exp_on_negative_values(scaled)
        sum_exps = np.where(use, rdbpot(e, 12), 0).sum(axis=1, keepdims=True)
        sum_exps = _wrap32(sum_exps)
        scale, bits = get_reciprocal(sum_exps, 12)
        out = rdbpot(srdhm(scale, e), bits + 31 - 8) - 128
        out = np.where(use, np.clip(out, -128, 127), -128)
        mem.write_main(self.main_mem_out_address, out.astype(np.int8).reshape(-1))
