"""GENERIC_FULLY_CONNECTED (0x4003): TFLite int8 FULLY_CONNECTED as TFLM's reference
FullyConnected: acc = sum (w + filter_offset) * (x + input_offset) + bias, requantized with one
multiplier (per tensor) or one per output channel."""
import numpy as np

from .generic_common import GENERIC_BASE, I8_MAX, I8_MIN, GenericLayer, clamp_i8, main_i8
from .generic_math import mbqm


class GenericFullyConnected(GenericLayer):
    TYPE, NAME = GENERIC_BASE + 3, "GENERIC_FULLY_CONNECTED"
    FIELDS = (("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"),
              ("batches", "I"), ("in_depth", "I"), ("out_depth", "I"), ("input_offset", "i"),
              ("filter_offset", "i"), ("output_offset", "i"), ("act_min", "i"), ("act_max", "i"),
              ("per_channel", "I"))
    TAIL = (("bias", "<i4", lambda s: s.out_depth), ("multiplier", "<i4", lambda s: s.out_depth if s.per_channel else 1),
            ("shift", "<i4", lambda s: s.out_depth if s.per_channel else 1),
            ("weights", "i1", lambda s: s.out_depth * s.in_depth))

    def reads(self):
        return [main_i8("main_mem_in_address", self.main_mem_in_address, self.batches * self.in_depth)]

    def writes(self):
        return [main_i8("main_mem_out_address", self.main_mem_out_address, self.batches * self.out_depth,
                        (self.batches, self.out_depth))]

    def check(self, model):
        big = 1 << 24
        self.check_fields(batches=(1, big), in_depth=(1, big), out_depth=(1, big), input_offset=(-127, 128),
                          filter_offset=(-127, 128), output_offset=(I8_MIN, I8_MAX), act_min=(I8_MIN, I8_MAX),
                          act_max=(self.act_min, I8_MAX), per_channel=(0, 1))
        if np.any((self.shift < -31) | (self.shift > 30)):
            raise self.error("shift out of range -31..30", "shift")
        super().check(model)

    def execute(self, mem):
        x = mem.read_main(self.main_mem_in_address, self.batches * self.in_depth, "i8").astype(np.int64)
        x = x.reshape(self.batches, self.in_depth) + self.input_offset
        w = self.weights.astype(np.int64).reshape(self.out_depth, self.in_depth) + self.filter_offset
        acc = x @ w.T + self.bias.astype(np.int64)
        acc = mbqm(acc, self.multiplier.astype(np.int64), self.shift.astype(np.int64)) + self.output_offset
        mem.write_main(self.main_mem_out_address, clamp_i8(acc, self.act_min, self.act_max).reshape(-1))
