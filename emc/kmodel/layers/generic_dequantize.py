"""GENERIC_DEQUANTIZE (0x400B): int8 -> f32 as TFLM's reference Dequantize:
x = (float)((double)scale * (q - zero_point))."""
import numpy as np

from .base import main_f32
from .generic_common import GENERIC_BASE, GenericLayer, main_i8


class GenericDequantize(GenericLayer):
    TYPE, NAME = GENERIC_BASE + 11, "GENERIC_DEQUANTIZE"
    FIELDS = (("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"), ("count", "I"),
              ("scale", "f"), ("zero_point", "i"))

    TFLITE_OPS = ("DEQUANTIZE",)

    @classmethod
    def from_tflite(cls, ctx, op):
        x, o = ctx.tensor(op.inputs[0]), ctx.tensor(op.outputs[0])
        if x["dtype"] != "i8" or o["dtype"] != "f32":
            raise ctx.Error(f"DEQUANTIZE #{op.index}: only int8 -> float32 is supported")
        s_, z = ctx.q(op.inputs[0])
        return cls(main_mem_in_address=ctx.addr(op.inputs[0]), main_mem_out_address=ctx.addr(op.outputs[0]),
                   count=int(np.prod(o["shape"])), scale=s_, zero_point=z)

    def reads(self):
        return [main_i8("main_mem_in_address", self.main_mem_in_address, self.count)]

    def writes(self):
        return [main_f32("main_mem_out_address", self.main_mem_out_address, self.count)]

    def check(self, model):
        self.check_fields(zero_point=(-128, 127))
        super().check(model)

    def execute(self, mem):
        q = mem.read_main(self.main_mem_in_address, self.count, "i8").astype(np.int64)
        x = (np.float64(np.float32(self.scale)) * (q - self.zero_point)).astype(np.float32)
        mem.write_main(self.main_mem_out_address, x)
