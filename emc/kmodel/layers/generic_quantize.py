"""GENERIC_QUANTIZE (0x400A): f32 -> int8 as TFLM's reference AffineQuantize:
q = clamp(roundf(x / scale) + zero_point) with the division and rounding in float32."""
import numpy as np

from .base import main_f32
from .fround import roundf
from .generic_common import GENERIC_BASE, GenericLayer, main_i8

F32 = np.float32


class GenericQuantize(GenericLayer):
    TYPE, NAME = GENERIC_BASE + 10, "GENERIC_QUANTIZE"
    FIELDS = (("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"), ("count", "I"),
              ("scale", "f"), ("zero_point", "i"))

    TFLITE_OPS = ("QUANTIZE",)

    @classmethod
    def from_tflite(cls, ctx, op):
        x, o = ctx.tensor(op.inputs[0]), ctx.tensor(op.outputs[0])
        if x["dtype"] != "f32" or o["dtype"] != "i8":
            raise ctx.Error(f"QUANTIZE #{op.index}: only float32 -> int8 is supported")
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
