"""GENERIC_MEAN (0x400D): TFLite int8 MEAN over contiguous axes (e.g. H,W of NHWC: global average
pooling) as TFLM's reference QuantizedMeanOrSum: an int32 sum of the raw int8 values per output,
minus input_zp * count, then MultiplyByQuantizedMultiplier with the multiplier of
input_scale / output_scale pre-divided by the count (the shift TFLM moves into it), + output zp.

The input is seen as (outer, reduce, inner): axes 1,2 of NHWC give (N, H*W, C)."""
import numpy as np

from .generic_common import GENERIC_BASE, GenericLayer, clamp_i8, main_i8
from .generic_math import mbqm, quantize_multiplier


def mean_multiplier(real, count):
    """TFLM QuantizedMeanOrSum: the 1/count factor folded into the quantized multiplier."""
    mult, shift = quantize_multiplier(real)
    s = max(0, min(count.bit_length() - 1, 32, 31 + shift))
    return int((mult << s) // count), shift - s


class GenericMean(GenericLayer):
    TYPE, NAME = GENERIC_BASE + 13, "GENERIC_MEAN"
    FIELDS = (("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"), ("outer", "I"),
              ("reduce", "I"), ("inner", "I"), ("input_zero_point", "i"), ("output_zero_point", "i"),
              ("multiplier", "i"), ("shift", "i"))
    TFLITE_OPS = ("MEAN",)

    @classmethod
    def from_tflite(cls, ctx, op):
        x = ctx.tensor(op.inputs[0])
        shape = x["shape"]
        axes = ctx.data(op.inputs[1], "<i4")
        if axes is None:
            raise ctx.Error(f"MEAN #{op.index}: the axes must be a constant")
        axes = sorted({int(a) % len(shape) for a in axes})
        if axes != list(range(axes[0], axes[-1] + 1)):
            raise ctx.Error(f"MEAN #{op.index}: axes {axes} are not contiguous")
        if x["dtype"] != "i8":
            raise ctx.Error(f"MEAN #{op.index}: only int8 is supported")
        (xs, xz), (os_, oz) = ctx.q(op.inputs[0]), ctx.q(op.outputs[0])
        reduce = int(np.prod(shape[axes[0]:axes[-1] + 1]))
        mult, shift = mean_multiplier(float(np.float64(xs) / np.float64(os_)), reduce)
        return cls(main_mem_in_address=ctx.addr(op.inputs[0]), main_mem_out_address=ctx.addr(op.outputs[0]),
                   outer=int(np.prod(shape[:axes[0]])), reduce=reduce, inner=int(np.prod(shape[axes[-1] + 1:])),
                   input_zero_point=xz, output_zero_point=oz, multiplier=mult, shift=shift)

    def reads(self):
        return [main_i8("main_mem_in_address", self.main_mem_in_address, self.outer * self.reduce * self.inner)]

    def writes(self):
        return [main_i8("main_mem_out_address", self.main_mem_out_address, self.outer * self.inner,
                        (self.outer, self.inner))]

    def check(self, model):
        big = 1 << 24
        self.check_fields(outer=(1, big), reduce=(1, big), inner=(1, big), input_zero_point=(-128, 127),
                          output_zero_point=(-128, 127), multiplier=(0, (1 << 31) - 1), shift=(-31, 30))
        super().check(model)

    def execute(self, mem):
        n = self.outer * self.reduce * self.inner
        x = mem.read_main(self.main_mem_in_address, n, "i8").astype(np.int64)
        s = x.reshape(self.outer, self.reduce, self.inner).sum(axis=1) - self.input_zero_point * self.reduce
        s = ((s + (1 << 31)) % (1 << 32)) - (1 << 31)          # int32, as TFLM's sum
        out = mbqm(s, self.multiplier, self.shift) + self.output_zero_point
        mem.write_main(self.main_mem_out_address, clamp_i8(out, -128, 127).reshape(-1))
