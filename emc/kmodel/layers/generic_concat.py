"""GENERIC_CONCAT (0x4007): TFLite CONCATENATION of int8 tensors sharing one quantization, as
TFLM's reference Concatenation: for each of `outer` slices, each input's contiguous chunk
(its axis dim x inner size, in bytes) is appended in input order. No requantization. PACK (TFLM's
reference Pack: the same copy along a new axis of the output) imports as one too."""
import numpy as np

from .generic_common import GENERIC_BASE, GenericLayer, main_i8


class GenericConcat(GenericLayer):
    TYPE, NAME = GENERIC_BASE + 7, "GENERIC_CONCAT"
    FIELDS = (("flags", "I"), ("main_mem_out_address", "I"), ("input_count", "I"), ("outer", "I"))
    TAIL = (("inputs", "<u4", lambda s: 2 * s.input_count),)     # (address, chunk bytes) per input

    TFLITE_OPS = ("CONCATENATION", "PACK")

    @classmethod
    def from_tflite(cls, ctx, op):
        o = ctx.tensor(op.outputs[0])
        shape = o["shape"]
        pack = op.name == "PACK"          # inputs of one shape stacked along a new output axis
        opt = op.options("PackOptions" if pack else "ConcatenationOptions")
        axis = opt.Axis() + len(shape) if opt.Axis() < 0 else opt.Axis()
        if not pack and opt.FusedActivationFunction() != 0:
            raise ctx.Error(f"CONCATENATION #{op.index} with a fused activation is not supported")
        inner = int(np.prod(shape[axis + 1:]))
        chunks = []
        for t in op.inputs:
            ti = ctx.tensor(t)
            if ti["dtype"] != "i8" or ctx.q(t) != ctx.q(op.outputs[0]):
                raise ctx.Error(f"{op.name} #{op.index}: inputs must be int8 with the output's scale and zero "
                                f"point (TFLM copies bytes; the generic profile does not requantize)")
            chunks += [ctx.addr(t), (1 if pack else ti["shape"][axis]) * inner]
        return cls(main_mem_out_address=ctx.addr(op.outputs[0]), input_count=len(op.inputs),
                   outer=int(np.prod(shape[:axis])), inputs=chunks)

    def chunks(self):
        return [(int(a), int(n)) for a, n in zip(self.inputs[0::2], self.inputs[1::2])]

    @property
    def total(self):
        return self.outer * sum(n for _, n in self.chunks())

    def reads(self):
        return [main_i8(f"inputs[{i}]", a, self.outer * n) for i, (a, n) in enumerate(self.chunks())]

    def writes(self):
        return [main_i8("main_mem_out_address", self.main_mem_out_address, self.total)]

    def check(self, model):
        self.check_fields(input_count=(1, 1024), outer=(1, 1 << 24))
        super().check(model)

    def execute(self, mem):
        parts = [mem.read_main(a, self.outer * n, "i8").reshape(self.outer, n) for a, n in self.chunks()]
        mem.write_main(self.main_mem_out_address, np.concatenate(parts, axis=1).reshape(-1))
