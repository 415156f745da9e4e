"""GENERIC_PRELU (0x4017): TFLite PRELU (int8) as TFLM's prelu kernel (reference
BroadcastPrelu4DSlow): x = input + input_offset; x >= 0 gives MultiplyByQuantizedMultiplier(x,
input_scale / output_scale), x < 0 gives MultiplyByQuantizedMultiplier(x * (alpha + alpha_offset),
input_scale * alpha_scale / output_scale); + output zero point, clamped to int8. alpha (usually a
constant per channel) broadcasts over the input like a MUL operand."""
import numpy as np

from .generic_broadcast import BROADCAST_FIELDS, GenericBroadcast
from .generic_common import GENERIC_BASE, I8_MAX, I8_MIN, clamp_i8
from .generic_math import mbqm, quantize_multiplier


class GenericPrelu(GenericBroadcast):
    TYPE, NAME = GENERIC_BASE + 23, "GENERIC_PRELU"
    FIELDS = BROADCAST_FIELDS + (("input_offset", "i"), ("alpha_offset", "i"), ("output_offset", "i"),
                                 ("positive_multiplier", "i"), ("positive_shift", "i"),
                                 ("negative_multiplier", "i"), ("negative_shift", "i"))
    TFLITE_OPS = ("PRELU",)

    @classmethod
    def from_tflite(cls, ctx, op):
        x, alpha, swapped, fields = cls.operands(ctx, op)
        if swapped:
            raise ctx.Error(f"{op.name} #{op.index}: a constant input with a computed alpha is not supported")
        (xs, xz), (as_, az), (os_, oz) = ctx.q(x), ctx.q(alpha), ctx.q(op.outputs[0])
        pm, ps = quantize_multiplier(float(xs) / float(os_))
        nm, ns = quantize_multiplier(float(xs) * float(as_) / float(os_))
        return cls(input_offset=-xz, alpha_offset=-az, output_offset=oz, positive_multiplier=pm,
                   positive_shift=ps, negative_multiplier=nm, negative_shift=ns, **fields)

    def check(self, model):
        self.check_fields(input_offset=(-127, 128), alpha_offset=(-127, 128), output_offset=(I8_MIN, I8_MAX),
                          positive_shift=(-31, 30), negative_shift=(-31, 30))
        super().check(model)

    def combine(self, a, b):
        x = a + self.input_offset
        pos = mbqm(x, self.positive_multiplier, self.positive_shift)
        neg = mbqm(x * (b + self.alpha_offset), self.negative_multiplier, self.negative_shift)
        return clamp_i8(np.where(x >= 0, pos, neg) + self.output_offset, I8_MIN, I8_MAX)
