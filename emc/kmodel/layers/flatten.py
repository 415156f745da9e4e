"""TENSORFLOW_FLATTEN (20, f32) / QUANTIZED_TENSORFLOW_FLATTEN (21, u8, Maix-EMC's patched kpu.c
only): reorder CHW to HWC, the order TF's Flatten feeds a Dense layer (spec §8.14)."""
import numpy as np

from .base import Layer, main_f32, main_u8, shape_fields


class TensorflowFlatten(Layer):
    TYPE, NAME = 20, "TENSORFLOW_FLATTEN"
    FIELDS = (("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I")) + shape_fields("shape")
    DT = "f32"

    @property
    def count(self):
        return self.shape_width * self.shape_height * self.shape_channels

    def _rng(self, field, addr, shape):
        return (main_f32 if self.DT == "f32" else main_u8)(field, addr, self.count, shape)

    def reads(self):
        return [self._rng("main_mem_in_address", self.main_mem_in_address,
                          (self.shape_channels, self.shape_height, self.shape_width))]

    def writes(self):
        return [self._rng("main_mem_out_address", self.main_mem_out_address,
                          (self.shape_height, self.shape_width, self.shape_channels))]

    def check(self, model):
        for f in ("shape_width", "shape_height", "shape_channels"):
            if not 1 <= getattr(self, f) <= 1 << 20:
                raise self.error(f"{getattr(self, f)} out of range", f)
        super().check(model)

    def execute(self, mem):
        x = mem.read_main(self.main_mem_in_address, self.count, self.DT)
        x = x.reshape(self.shape_channels, self.shape_height, self.shape_width)
        mem.write_main(self.main_mem_out_address, np.ascontiguousarray(x.transpose(1, 2, 0)).reshape(-1))


class QuantizedTensorflowFlatten(TensorflowFlatten):
    TYPE, NAME = 21, "QUANTIZED_TENSORFLOW_FLATTEN"
    SDK_RUNS = False
    DT = "u8"
