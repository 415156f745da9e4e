"""TFLite QUANTIZE as TFLM computes it. Two layer types:
GENERIC_QUANTIZE (0x400A): f32 -> int8 as the reference AffineQuantize: q = clamp(roundf(x / scale)
+ zero_point) with the division and rounding in float32;
GENERIC_REQUANTIZE (0x4011): uint8/int8 -> uint8/int8 as the reference Requantize: (q - in_zp)
through MultiplyByQuantizedMultiplier(in_scale / out_scale) + out_zp, clamped to the output type
(uint8 <-> int8 at a model's edges, or an int8 rescale)."""
import numpy as np

from .base import Range, main_f32
from .fround import roundf
from .generic_common import GENERIC_BASE, GenericLayer, main_i8
from .generic_input import DT_I8, DT_U8, DTYPE_NAMES
from .generic_math import mbqm, quantize_multiplier

F32 = np.float32


class GenericQuantize(GenericLayer):
    TYPE, NAME = GENERIC_BASE + 10, "GENERIC_QUANTIZE"
    FIELDS = (("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"), ("count", "I"),
              ("scale", "f"), ("zero_point", "i"))

    TFLITE_OPS = ("QUANTIZE",)

    @classmethod
    def from_tflite(cls, ctx, op):
        x, o = ctx.tensor(op.inputs[0]), ctx.tensor(op.outputs[0])
        if x["dtype"] in ("i8", "u8"):
            return GenericRequantize.from_tflite(ctx, op)
        if x["dtype"] != "f32" or o["dtype"] != "i8":
            raise ctx.Error(f"QUANTIZE #{op.index}: {x['dtype']} -> {o['dtype']} is not supported "
                            f"(float32 -> int8, int8/uint8 -> int8/uint8)")
        s_, z = ctx.q(op.outputs[0])
        return cls(main_mem_in_address=ctx.addr(op.inputs[0]), main_mem_out_address=ctx.addr(op.outputs[0]),
                   count=int(np.prod(o["shape"])), scale=s_, zero_point=z)

    def reads(self):
        return [main_f32("main_mem_in_address", self.main_mem_in_address, self.count)]

    def writes(self):
        return [main_i8("main_mem_out_address", self.main_mem_out_address, self.count)]

    def check(self, model):
        if not np.isfinite(self.scale) or not self.scale > 0:
            raise self.error(f"scale {self.scale} must be finite and positive", "scale")
        self.check_fields(zero_point=(-128, 127))
        super().check(model)

    def execute(self, mem):
        x = mem.read_main(self.main_mem_in_address, self.count, "f32")
        with np.errstate(all="ignore"):
            r = roundf((x / F32(self.scale)).astype(F32))
        r = np.nan_to_num(r, nan=0.0, posinf=1e9, neginf=-1e9)
        q = np.clip(np.clip(r, -1e9, 1e9).astype(np.int64) + self.zero_point, -128, 127)
        mem.write_main(self.main_mem_out_address, q.astype(np.int8))


class GenericRequantize(GenericLayer):
    TYPE, NAME = GENERIC_BASE + 17, "GENERIC_REQUANTIZE"
    FIELDS = (("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"), ("count", "I"),
              ("in_dtype", "I"), ("out_dtype", "I"), ("input_zero_point", "i"), ("output_zero_point", "i"),
              ("multiplier", "i"), ("shift", "i"))
    RANGES = {DT_U8: (0, 255), DT_I8: (-128, 127)}

    @classmethod
    def from_tflite(cls, ctx, op):
        x, o = ctx.tensor(op.inputs[0]), ctx.tensor(op.outputs[0])
        codes = {"u8": DT_U8, "i8": DT_I8}
        if o["dtype"] not in codes:
            raise ctx.Error(f"QUANTIZE #{op.index}: {x['dtype']} -> {o['dtype']} is not supported")
        (xs, xz), (os_, oz) = ctx.q(op.inputs[0]), ctx.q(op.outputs[0])
        mult, shift = quantize_multiplier(float(np.float64(xs) / np.float64(os_)))
        return cls(main_mem_in_address=ctx.addr(op.inputs[0]), main_mem_out_address=ctx.addr(op.outputs[0]),
                   count=int(np.prod(o["shape"])), in_dtype=codes[x["dtype"]], out_dtype=codes[o["dtype"]],
                   input_zero_point=xz, output_zero_point=oz, multiplier=mult, shift=shift)

    def reads(self):
        return [Range("main", self.main_mem_in_address, self.count, "main_mem_in_address",
                      DTYPE_NAMES.get(self.in_dtype, "i8"))]

    def writes(self):
        return [Range("main", self.main_mem_out_address, self.count, "main_mem_out_address",
                      DTYPE_NAMES.get(self.out_dtype, "i8"))]

    def overlap_lag(self):
        return 0            # element-wise, in order

    def check(self, model):
        self.check_fields(count=(1, 1 << 26), in_dtype=(DT_U8, DT_I8), out_dtype=(DT_U8, DT_I8),
                          multiplier=(0, (1 << 31) - 1), shift=(-31, 30))
        if self.in_dtype not in self.RANGES or self.out_dtype not in self.RANGES:
            raise self.error("dtypes must be 0 (uint8) or 2 (int8)", "in_dtype")
        self.check_fields(input_zero_point=self.RANGES[self.in_dtype], output_zero_point=self.RANGES[self.out_dtype])
        super().check(model)

    def execute(self, mem):
        q = mem.read_main(self.main_mem_in_address, self.count, DTYPE_NAMES[self.in_dtype]).astype(np.int64)
        out = mbqm(q - self.input_zero_point, self.multiplier, self.shift) + self.output_zero_point
        lo, hi = self.RANGES[self.out_dtype]
        out = np.clip(out, lo, hi).astype(np.uint8 if self.out_dtype == DT_U8 else np.int8)
        mem.write_main(self.main_mem_out_address, out)
