"""GENERIC_SLICE (0x4015): a strided byte copy: `outer` rows of `out_row` bytes taken at `offset`
inside input rows of `in_row` bytes. TFLite SPLIT / SPLIT_V (as TFLM's reference Split: one
contiguous chunk of the split axis per output) and UNPACK (chunks of one, the axis dropped: what an unrolled
Keras LSTM emits for its time steps) import as one GENERIC_SLICE per output."""
import numpy as np

from .generic_common import GENERIC_BASE, GenericLayer, main_i8


class GenericSlice(GenericLayer):
    TYPE, NAME = GENERIC_BASE + 21, "GENERIC_SLICE"
    FIELDS = (("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"), ("outer", "I"),
              ("in_row", "I"), ("offset", "I"), ("out_row", "I"))
    TFLITE_OPS = ("SPLIT", "SPLIT_V", "UNPACK")

    @classmethod
    def from_tflite(cls, ctx, op):
        """SPLIT(axis, x) / SPLIT_V(x, sizes, axis) / UNPACK(x; axis option): one layer per output."""
        if op.name == "UNPACK":
            x_t, axis = op.inputs[0], [op.options("UnpackOptions").Axis()]
        else:
            x_t, axis_t = (op.inputs[1], op.inputs[0]) if op.name == "SPLIT" else (op.inputs[0], op.inputs[2])
            axis = ctx.data(axis_t, "<i4")
        x = ctx.tensor(x_t)
        if axis is None or x["dtype"] != "i8":
            raise ctx.Error(f"{op.name} #{op.index}: int8 input and a constant axis needed")
        shape = x["shape"]
        axis = int(axis[0]) % len(shape)
        inner = int(np.prod(shape[axis + 1:]))
        layers, start = [], 0
        for t in op.outputs:
            if ctx.q(t) != ctx.q(x_t):
                raise ctx.Error(f"{op.name} #{op.index}: outputs must keep the input's quantization")
            size = 1 if op.name == "UNPACK" else ctx.tensor(t)["shape"][axis]
            layers.append(cls(main_mem_in_address=ctx.addr(x_t), main_mem_out_address=ctx.addr(t),
                              outer=int(np.prod(shape[:axis])), in_row=shape[axis] * inner, offset=start * inner,
                              out_row=size * inner))
            start += size
        return layers

    def reads(self):
        return [main_i8("main_mem_in_address", self.main_mem_in_address, self.outer * self.in_row)]

    def writes(self):
        return [main_i8("main_mem_out_address", self.main_mem_out_address, self.outer * self.out_row)]

    def check(self, model):
        big = 1 << 26
        self.check_fields(outer=(1, big), in_row=(1, big), out_row=(1, self.in_row), offset=(0, self.in_row - self.out_row))
        super().check(model)

    def execute(self, mem):
        x = mem.read_main(self.main_mem_in_address, self.outer * self.in_row, "i8").reshape(self.outer, self.in_row)
        mem.write_main(self.main_mem_out_address, x[:, self.offset:self.offset + self.out_row].reshape(-1))
