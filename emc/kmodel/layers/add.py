"""ADD (1) and QUANTIZED_ADD (2): elementwise sums (spec §8.1, §8.2)."""
import numpy as np

from .base import Layer, main_f32, main_u8


class Add(Layer):
    TYPE, NAME = 1, "ADD"
    FIELDS = (("flags", "I"), ("main_mem_in_a_address", "I"), ("main_mem_in_b_address", "I"),
              ("main_mem_out_address", "I"), ("count", "I"))

    def reads(self):
        return [main_f32("main_mem_in_a_address", self.main_mem_in_a_address, self.count),
                main_f32("main_mem_in_b_address", self.main_mem_in_b_address, self.count)]

    def writes(self):
        return [main_f32("main_mem_out_address", self.main_mem_out_address, self.count)]

    def execute(self, mem):
        a = mem.read_main(self.main_mem_in_a_address, self.count, "f32")
        b = mem.read_main(self.main_mem_in_b_address, self.count, "f32")
        mem.write_main(self.main_mem_out_address, (a + b).astype(np.float32))


def carry_shift(v, s):
    """kpu.c kpu_carry_shift: round-half-up for positives; negative odd values step one further down.

    Reproduced as is (not fixed) so QUANTIZED_ADD matches the SDK runtime byte for byte.
    """
    v = np.asarray(v, np.int64)
    if s <= 0:
        return v
    v = v >> (s - 1)
    odd = (v & 1) == 1
    half = v >> 1
    return np.where(odd, np.where(v < 0, half - 1, half + 1), half)


class QuantizedAdd(Layer):
    TYPE, NAME = 2, "QUANTIZED_ADD"
    FIELDS = (("flags", "I"), ("main_mem_in_a_address", "I"), ("main_mem_in_b_address", "I"),
              ("main_mem_out_address", "I"), ("count", "I"),
              ("in_a_offset", "i"), ("in_a_mul", "i"), ("in_a_shift", "i"),
              ("in_b_offset", "i"), ("in_b_mul", "i"), ("in_b_shift", "i"),
              ("out_offset", "i"), ("out_mul", "i"), ("out_shift", "i"))

    @property
    def span(self):
        # kpu.c works in blocks of 8 and touches up to 7 bytes past `count`.
        return (self.count + 7) // 8 * 8

    def reads(self):
        return [main_u8("main_mem_in_a_address", self.main_mem_in_a_address, self.count),
                main_u8("main_mem_in_b_address", self.main_mem_in_b_address, self.count)]

    def writes(self):
        return [main_u8("main_mem_out_address", self.main_mem_out_address, self.count)]

    def check(self, model):
        super().check(model)
        for f in ("in_a_shift", "in_b_shift", "out_shift"):
            if not 0 <= getattr(self, f) < 64:
                raise self.error(f"shift {getattr(self, f)} out of range 0..63", f)

    def execute(self, mem):
        n = self.span
        a = mem.read_main(self.main_mem_in_a_address, n, "u8", slack=True).astype(np.int64)
        b = mem.read_main(self.main_mem_in_b_address, n, "u8", slack=True).astype(np.int64)
        va = (a + self.in_a_offset) * self.in_a_mul
        vb = (b + self.in_b_offset) * self.in_b_mul
        if self.in_a_shift == self.in_b_shift:
            v = (va + vb) >> self.in_a_shift
        else:
            v = (va >> self.in_a_shift) + (vb >> self.in_b_shift)
        v = carry_shift(v * self.out_mul, self.out_shift) + self.out_offset
        mem.write_main(self.main_mem_out_address, np.clip(v, 0, 255).astype(np.uint8), slack=True)
