"""Global pools over CHW maps: GLOBAL_AVERAGE_POOL2D (5) and its quantized form (6, Maix-EMC's
patched kpu.c only); GLOBAL_MAX_POOL2D (3/4) share the body but the SDK runs neither."""
import numpy as np

from .base import Layer, main_f32, main_u8
from .fround import seq_sum_f32


class GlobalAveragePool2d(Layer):
    TYPE, NAME = 5, "GLOBAL_AVERAGE_POOL2D"
    FIELDS = (("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"),
              ("kernel_size", "I"), ("channels", "I"))
    DT = "f32"

    def _rng(self, field, addr, count):
        return (main_f32 if self.DT == "f32" else main_u8)(field, addr, count)

    def reads(self):
        return [self._rng("main_mem_in_address", self.main_mem_in_address, self.kernel_size * self.channels)]

    def writes(self):
        return [self._rng("main_mem_out_address", self.main_mem_out_address, self.channels)]

    def check(self, model):
        if self.kernel_size == 0:
            raise self.error("kernel_size is 0", "kernel_size")
        super().check(model)

    def _in(self, mem, dt):
        x = mem.read_main(self.main_mem_in_address, self.kernel_size * self.channels, dt)
        return x.reshape(self.channels, self.kernel_size)

    def execute(self, mem):
        x = self._in(mem, "f32")
        out = seq_sum_f32(x, axis=1) / np.float32(self.kernel_size)
        mem.write_main(self.main_mem_out_address, out.astype(np.float32))


class QuantizedGlobalAveragePool2d(GlobalAveragePool2d):
    TYPE, NAME = 6, "QUANTIZED_GLOBAL_AVERAGE_POOL2D"
    SDK_RUNS = False       # only in Maix-EMC's patched kpu.c
    DT = "u8"

    def execute(self, mem):
        x = self._in(mem, "u8").astype(np.uint64)
        mem.write_main(self.main_mem_out_address, (x.sum(axis=1) // self.kernel_size).astype(np.uint8))


class GlobalMaxPool2d(GlobalAveragePool2d):
    TYPE, NAME = 3, "GLOBAL_MAX_POOL2D"
    SDK_RUNS = False

    def execute(self, mem):
        mem.write_main(self.main_mem_out_address, self._in(mem, "f32").max(axis=1).astype(np.float32))


class QuantizedGlobalMaxPool2d(GlobalAveragePool2d):
    TYPE, NAME = 4, "QUANTIZED_GLOBAL_MAX_POOL2D"
    SDK_RUNS = False
    DT = "u8"

    def execute(self, mem):
        mem.write_main(self.main_mem_out_address, self._in(mem, "u8").max(axis=1).astype(np.uint8))
