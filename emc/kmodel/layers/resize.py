"""RESIZE_NEAREST_NEIGHBOR (22, f32) / QUANTIZED_RESIZE_NEAREST_NEIGHBOR (23, u8) (spec §8.15).
kpu.c ignores align_corners; the source index is floor(o * (in/out)) in f32, clamped."""
import numpy as np

from .base import Layer, main_f32, main_u8, shape_fields
from .fround import F32


class ResizeNearestNeighbor(Layer):
    TYPE, NAME = 22, "RESIZE_NEAREST_NEIGHBOR"
    FIELDS = ((("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"))
              + shape_fields("in") + (("out_width", "I"), ("out_height", "I"), ("align_corners", "I")))
    DT = "f32"

    def _rng(self, field, addr, w, h):
        c = self.in_channels
        return (main_f32 if self.DT == "f32" else main_u8)(field, addr, w * h * c, (c, h, w))

    def reads(self):
        return [self._rng("main_mem_in_address", self.main_mem_in_address, self.in_width, self.in_height)]

    def writes(self):
        return [self._rng("main_mem_out_address", self.main_mem_out_address, self.out_width, self.out_height)]

    def check(self, model):
        for f in ("in_width", "in_height", "in_channels", "out_width", "out_height"):
            if not 1 <= getattr(self, f) <= 65536:
                raise self.error(f"{getattr(self, f)} out of range 1..65536", f)
        super().check(model)

    def execute(self, mem):
        x = mem.read_main(self.main_mem_in_address, self.in_width * self.in_height * self.in_channels, self.DT)
        x = x.reshape(self.in_channels, self.in_height, self.in_width)
        sh = F32(self.in_height) / F32(self.out_height)
        sw = F32(self.in_width) / F32(self.out_width)
        iy = np.minimum(np.floor(np.arange(self.out_height, dtype=F32) * sh).astype(np.int64), self.in_height - 1)
        ix = np.minimum(np.floor(np.arange(self.out_width, dtype=F32) * sw).astype(np.int64), self.in_width - 1)
        mem.write_main(self.main_mem_out_address, np.ascontiguousarray(x[:, iy][:, :, ix]).reshape(-1))


class QuantizedResizeNearestNeighbor(ResizeNearestNeighbor):
    TYPE, NAME = 23, "QUANTIZED_RESIZE_NEAREST_NEIGHBOR"
    DT = "u8"
