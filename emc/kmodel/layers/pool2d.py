"""Windowed pools on CHW maps (spec §8.5, §8.6): QUANTIZED_MAX_POOL2D (8) and AVERAGE_POOL2D (9)
are run by the SDK; MAX_POOL2D (7) and QUANTIZED_AVERAGE_POOL2D (10) share the layout but are not."""
import numpy as np

from .base import Layer, main_f32, main_u8, shape_fields

POOL_FIELDS = ((("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"))
               + shape_fields("in") + shape_fields("out")
               + (("kernel_width", "I"), ("kernel_height", "I"), ("stride_width", "I"),
                  ("stride_height", "I"), ("padding_width", "I"), ("padding_height", "I")))


class _Pool(Layer):
    FIELDS = POOL_FIELDS
    DT = "u8"
    OP = "max"

    def _rng(self, field, addr, w, h, c):
        return (main_f32 if self.DT == "f32" else main_u8)(field, addr, w * h * c, (c, h, w))

    def reads(self):
        return [self._rng("main_mem_in_address", self.main_mem_in_address,
                          self.in_width, self.in_height, self.in_channels)]

    def writes(self):
        return [self._rng("main_mem_out_address", self.main_mem_out_address,
                          self.out_width, self.out_height, self.out_channels)]

    def check(self, model):
        for f in ("kernel_width", "kernel_height", "stride_width", "stride_height"):
            if not 1 <= getattr(self, f) <= 4096:
                raise self.error(f"{getattr(self, f)} out of range 1..4096", f)
        for f in ("in_width", "in_height", "in_channels", "out_width", "out_height"):
            if not 1 <= getattr(self, f) <= 65536:
                raise self.error(f"{getattr(self, f)} out of range 1..65536", f)
        if self.out_channels != self.in_channels:
            raise self.error(f"out channels {self.out_channels} != in channels {self.in_channels}", "out_channels")
        super().check(model)

    def windows(self, x):
        """Yield (values, valid) for every kernel tap over the output grid (C, OH, OW)."""
        oy = np.arange(self.out_height)[:, None] * self.stride_height - self.padding_height
        ox = np.arange(self.out_width)[None, :] * self.stride_width - self.padding_width
        for ky in range(self.kernel_height):
            for kx in range(self.kernel_width):
                iy, ix = oy + ky, ox + kx
                valid = (iy >= 0) & (iy < self.in_height) & (ix >= 0) & (ix < self.in_width)
                v = x[:, np.clip(iy, 0, self.in_height - 1), np.clip(ix, 0, self.in_width - 1)]
                yield v, np.broadcast_to(valid, v.shape[1:])

    def load(self, mem):
        x = mem.read_main(self.main_mem_in_address, self.in_width * self.in_height * self.in_channels, self.DT)
        return x.reshape(self.in_channels, self.in_height, self.in_width)

    def execute(self, mem):
        x = self.load(mem)
        shape = (self.out_channels, self.out_height, self.out_width)
        if self.OP == "max":
            # kpu.c starts from 0 (u8) / lowest float and keeps the max of the in-image taps
            acc = np.zeros(shape, np.uint8) if self.DT == "u8" else np.full(shape, -np.inf, np.float32)
            for v, valid in self.windows(x):
                acc = np.where(valid, np.maximum(acc, v), acc)
        else:
            acc = np.zeros(shape, np.float32 if self.DT == "f32" else np.uint32)
            cnt = np.zeros(shape[1:], np.uint32)
            for v, valid in self.windows(x):
                acc = np.where(valid, (acc + v).astype(acc.dtype), acc)
                cnt += valid
            cnt = np.maximum(cnt, 1)
            acc = (acc / np.float32(1) / cnt.astype(np.float32)).astype(np.float32) if self.DT == "f32" \
                else (acc // cnt).astype(np.uint8)
        mem.write_main(self.main_mem_out_address, acc.reshape(-1))


class QuantizedMaxPool2d(_Pool):
    TYPE, NAME = 8, "QUANTIZED_MAX_POOL2D"


class MaxPool2d(_Pool):
    TYPE, NAME = 7, "MAX_POOL2D"
    SDK_RUNS = False
    DT = "f32"


class AveragePool2d(_Pool):
    TYPE, NAME = 9, "AVERAGE_POOL2D"
    FIELDS = POOL_FIELDS + (("act", "I"),)    # kpu.c ignores act
    DT, OP = "f32", "mean"


class QuantizedAveragePool2d(_Pool):
    TYPE, NAME = 10, "QUANTIZED_AVERAGE_POOL2D"
    SDK_RUNS = False
    OP = "mean"
