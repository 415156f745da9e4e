"""TFLite int8 ADD as TFLM's reference_integer_ops::Add / BroadcastAdd6DSlow: both inputs shifted
left by left_shift (20), rescaled with MultiplyByQuantizedMultiplierSmallerThanOneExp, summed,
rescaled to the output, clamped. Two layer types: GENERIC_ADD (0x4006, same-shape activations)
and GENERIC_BROADCAST_ADD (0x4010, broadcasting or a constant operand)."""
import numpy as np

from .generic_broadcast import BROADCAST_FIELDS, GenericBroadcast
from .generic_common import GENERIC_BASE, I8_MAX, I8_MIN, GenericLayer, clamp_i8, main_i8
from .generic_math import mbqm, quantize_multiplier

LEFT_SHIFT = 20          # TFLM's int8 ADD Prepare


ADD_ARITHMETIC = (("input1_offset", "i"), ("input1_multiplier", "i"), ("input1_shift", "i"), ("input2_offset", "i"),
                  ("input2_multiplier", "i"), ("input2_shift", "i"), ("left_shift", "i"), ("output_offset", "i"),
                  ("output_multiplier", "i"), ("output_shift", "i"), ("act_min", "i"), ("act_max", "i"))


def add_arithmetic(ctx, op, a, b):
    """TFLM's int8 ADD Prepare: both inputs rescaled to twice the larger input scale."""
    (as_, az), (bs, bz), (os_, oz) = ctx.q(a), ctx.q(b), ctx.q(op.outputs[0])
    twice = 2 * float(max(np.float32(as_), np.float32(bs)))
    m1, s1 = quantize_multiplier(float(as_) / twice)
    m2, s2 = quantize_multiplier(float(bs) / twice)
    mo, so = quantize_multiplier(twice / ((1 << LEFT_SHIFT) * float(os_)))
    lo, hi = ctx.act_range(op.options("AddOptions").FusedActivationFunction(), os_, oz)
    return dict(input1_offset=-az, input1_multiplier=m1, input1_shift=s1, input2_offset=-bz, input2_multiplier=m2,
                input2_shift=s2, left_shift=LEFT_SHIFT, output_offset=oz, output_multiplier=mo, output_shift=so,
                act_min=lo, act_max=hi)


class AddArithmetic:
    """The checks and per-element arithmetic of TFLM's int8 ADD (both layer types)."""

    def check_arithmetic(self):
        self.check_fields(input1_offset=(-127, 128), input2_offset=(-127, 128), left_shift=(0, 20),
                          input1_shift=(-31, 0), input2_shift=(-31, 0), output_shift=(-31, 30),
                          output_offset=(I8_MIN, I8_MAX), act_min=(I8_MIN, I8_MAX), act_max=(self.act_min, I8_MAX))

    def combine(self, a, b):
        sa = mbqm((a + self.input1_offset) << self.left_shift, self.input1_multiplier, self.input1_shift)
        sb = mbqm((b + self.input2_offset) << self.left_shift, self.input2_multiplier, self.input2_shift)
        out = mbqm(sa + sb, self.output_multiplier, self.output_shift) + self.output_offset
        return clamp_i8(out, self.act_min, self.act_max)


class GenericAdd(AddArithmetic, GenericLayer):
    """Two same-shape activations (the DSP kernel's case)."""
    TYPE, NAME = GENERIC_BASE + 6, "GENERIC_ADD"
    FIELDS = (("flags", "I"), ("main_mem_in_a_address", "I"), ("main_mem_in_b_address", "I"),
              ("main_mem_out_address", "I"), ("count", "I")) + ADD_ARITHMETIC
    TFLITE_OPS = ("ADD",)

    @classmethod
    def from_tflite(cls, ctx, op):
        a, b = op.inputs[:2]
        if (ctx.tensor(a)["shape"] != ctx.tensor(b)["shape"] or ctx.data(a, np.int8) is not None
                or ctx.data(b, np.int8) is not None):
            return GenericBroadcastAdd.from_tflite(ctx, op)
        return cls(main_mem_in_a_address=ctx.addr(a), main_mem_in_b_address=ctx.addr(b),
                   main_mem_out_address=ctx.addr(op.outputs[0]), count=int(np.prod(ctx.tensor(op.outputs[0])["shape"])),
                   **add_arithmetic(ctx, op, a, b))

    def overlap_lag(self):
        return 0            # element-wise, in order

    def cpu_scratch(self):
        return 2048         # the DSP kernel's two 256-entry int32 tables

    def reads(self):
        return [main_i8("main_mem_in_a_address", self.main_mem_in_a_address, self.count),
                main_i8("main_mem_in_b_address", self.main_mem_in_b_address, self.count)]

    def writes(self):
        return [main_i8("main_mem_out_address", self.main_mem_out_address, self.count)]

    def check(self, model):
        self.check_fields(count=(1, 1 << 26))
        self.check_arithmetic()
        super().check(model)

    def execute(self, mem):
        a = mem.read_main(self.main_mem_in_a_address, self.count, "i8").astype(np.int64)
        b = mem.read_main(self.main_mem_in_b_address, self.count, "i8").astype(np.int64)
        mem.write_main(self.main_mem_out_address, self.combine(a, b))


class GenericBroadcastAdd(AddArithmetic, GenericBroadcast):
    """ADD with broadcasting or a constant operand (TFLM BroadcastAdd6DSlow)."""
    TYPE, NAME = GENERIC_BASE + 16, "GENERIC_BROADCAST_ADD"
    FIELDS = BROADCAST_FIELDS + ADD_ARITHMETIC

    @classmethod
    def from_tflite(cls, ctx, op):
        a, b, _, fields = cls.operands(ctx, op)
        return cls(**fields, **add_arithmetic(ctx, op, a, b))

    def check(self, model):
        self.check_arithmetic()
        super().check(model)
