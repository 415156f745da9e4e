"""Conversions between f32 and u8 (spec §8.7-§8.9, §8.16): QUANTIZE (11), DEQUANTIZE (12),
REQUANTIZE (13), CHANNELWISE_DEQUANTIZE (24)."""
import numpy as np

from .base import Layer, main_f32, main_u8
from .fround import F32, madd, roundf

IO = (("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"), ("count", "I"))


class Quantize(Layer):
    TYPE, NAME = 11, "QUANTIZE"
    FIELDS = IO + (("scale", "f"), ("bias", "f"))

    def reads(self):
        return [main_f32("main_mem_in_address", self.main_mem_in_address, self.count)]

    def writes(self):
        return [main_u8("main_mem_out_address", self.main_mem_out_address, self.count)]

    def check(self, model):
        if not np.isfinite(self.scale) or self.scale == 0:
            raise self.error(f"scale {self.scale} must be finite and non-zero", "scale")
        super().check(model)

    def execute(self, mem):
        x = mem.read_main(self.main_mem_in_address, self.count, "f32")
        inv = F32(1.0) / F32(self.scale)
        v = roundf(((x - F32(self.bias)).astype(F32) * inv).astype(F32))
        mem.write_main(self.main_mem_out_address, np.clip(np.nan_to_num(v), 0, 255).astype(np.uint8))


class Dequantize(Layer):
    TYPE, NAME = 12, "DEQUANTIZE"
    FIELDS = IO + (("scale", "f"), ("bias", "f"))

    def reads(self):
        return [main_u8("main_mem_in_address", self.main_mem_in_address, self.count)]

    def writes(self):
        return [main_f32("main_mem_out_address", self.main_mem_out_address, self.count)]

    def execute(self, mem):
        q = mem.read_main(self.main_mem_in_address, self.count, "u8").astype(F32)
        mem.write_main(self.main_mem_out_address, madd(q, F32(self.scale), F32(self.bias), mem.fused_fp))


class Requantize(Layer):
    TYPE, NAME = 13, "REQUANTIZE"
    FIELDS = IO

    def parse_tail(self, r):
        self.table = r.array(np.uint8, 256, "table")

    def set_tail(self, table=None, **values):
        super().set_tail(**values)
        self.table = np.arange(256, dtype=np.uint8) if table is None else np.asarray(table, np.uint8)

    def pack_tail(self, file_offset, model=None):
        return self.table.astype(np.uint8).tobytes()

    def reads(self):
        return [main_u8("main_mem_in_address", self.main_mem_in_address, self.count)]

    def writes(self):
        return [main_u8("main_mem_out_address", self.main_mem_out_address, self.count)]

    def execute(self, mem):
        q = mem.read_main(self.main_mem_in_address, self.count, "u8")
        mem.write_main(self.main_mem_out_address, self.table[q])


class ChannelwiseDequantize(Layer):
    TYPE, NAME = 24, "CHANNELWISE_DEQUANTIZE"
    FIELDS = (("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"),
              ("channels", "I"), ("channel_size", "I"))

    def parse_tail(self, r):
        sb = r.array(np.float32, 2 * self.channels, "params")
        self.scales, self.biases = sb[0::2].copy(), sb[1::2].copy()

    def set_tail(self, scales=(), biases=(), **values):
        super().set_tail(**values)
        self.scales = np.asarray(scales, np.float32)
        self.biases = np.asarray(biases, np.float32)

    def pack_tail(self, file_offset, model=None):
        return np.stack([self.scales, self.biases], 1).astype("<f4").tobytes()

    @property
    def count(self):
        return self.channels * self.channel_size

    def reads(self):
        return [main_u8("main_mem_in_address", self.main_mem_in_address, self.count)]

    def writes(self):
        return [main_f32("main_mem_out_address", self.main_mem_out_address, self.count,
                         (self.channels, self.channel_size))]

    def execute(self, mem):
        q = mem.read_main(self.main_mem_in_address, self.count, "u8").reshape(self.channels, -1).astype(F32)
        x = madd(q, self.scales[:, None], self.biases[:, None], mem.fused_fp)
        mem.write_main(self.main_mem_out_address, x.reshape(-1))
