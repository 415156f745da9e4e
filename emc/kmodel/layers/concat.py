"""CONCAT (16) / QUANTIZED_CONCAT (17): byte-wise append of main-buffer ranges (spec §8.12).
On CHW data this concatenates along channels."""
import numpy as np

from .base import Layer, Range


class Concat(Layer):
    TYPE, NAME = 16, "CONCAT"
    FIELDS = (("flags", "I"), ("main_mem_out_address", "I"), ("input_count", "I"))
    DT = "f32"

    def parse_tail(self, r):
        self.inputs = [tuple(x) for x in r.array(np.uint32, 2 * self.input_count, "inputs").reshape(-1, 2).tolist()]

    def set_tail(self, inputs=(), **values):
        super().set_tail(**values)
        self.inputs = [tuple(x) for x in inputs]
        self.input_count = len(self.inputs)

    def pack_tail(self, file_offset, model=None):
        return np.asarray(self.inputs, "<u4").reshape(-1).tobytes()

    @property
    def total(self):
        return sum(s for _, s in self.inputs)

    def reads(self):
        return [Range("main", a, s, f"inputs[{i}]", self.DT) for i, (a, s) in enumerate(self.inputs)]

    def writes(self):
        return [Range("main", self.main_mem_out_address, self.total, "main_mem_out_address", self.DT)]

    def execute(self, mem):
        parts = [mem.read_main(a, s, "u8") for a, s in self.inputs]
        mem.write_main(self.main_mem_out_address, np.concatenate(parts) if parts else np.zeros(0, np.uint8))

    def describe(self):
        return f"out={self.main_mem_out_address}, inputs={self.inputs}"


class QuantizedConcat(Concat):
    TYPE, NAME = 17, "QUANTIZED_CONCAT"
    DT = "u8"
