"""GENERIC_MUL (0x400F): TFLite int8 MUL with broadcasting, as TFLM's reference_integer_ops::Mul /
BroadcastMul6DSlow: (a + input1_offset) * (b + input2_offset), MultiplyByQuantizedMultiplier with
input1_scale * input2_scale / output_scale (in double), + output zero point, clamped."""
from .generic_broadcast import BROADCAST_FIELDS, GenericBroadcast
from .generic_common import GENERIC_BASE, I8_MAX, I8_MIN, clamp_i8
from .generic_math import mbqm, quantize_multiplier


class GenericMul(GenericBroadcast):
    TYPE, NAME = GENERIC_BASE + 15, "GENERIC_MUL"
    FIELDS = BROADCAST_FIELDS + (("input1_offset", "i"), ("input2_offset", "i"), ("output_offset", "i"),
                                 ("output_multiplier", "i"), ("output_shift", "i"), ("act_min", "i"),
                                 ("act_max", "i"))
    TFLITE_OPS = ("MUL",)

    @classmethod
    def from_tflite(cls, ctx, op):
        a, b, _, fields = cls.operands(ctx, op)
        (as_, az), (bs, bz), (os_, oz) = ctx.q(a), ctx.q(b), ctx.q(op.outputs[0])
        mult, shift = quantize_multiplier(float(as_) * float(bs) / float(os_))
        lo, hi = ctx.act_range(op.options("MulOptions").FusedActivationFunction(), os_, oz)
        return cls(input1_offset=-az, input2_offset=-bz, output_offset=oz, output_multiplier=mult,
                   output_shift=shift, act_min=lo, act_max=hi, **fields)

    def check(self, model):
        self.check_fields(input1_offset=(-127, 128), input2_offset=(-127, 128), output_offset=(I8_MIN, I8_MAX),
                          output_shift=(-31, 30), act_min=(I8_MIN, I8_MAX), act_max=(self.act_min, I8_MAX))
        super().check(model)

    def combine(self, a, b):
        prod = (a + self.input1_offset) * (b + self.input2_offset)
        out = mbqm(prod, self.output_multiplier, self.output_shift) + self.output_offset
        return clamp_i8(out, self.act_min, self.act_max)
