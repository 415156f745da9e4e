"""Float32 vector functions (spec §8.10, §8.11, §8.17): L2_NORMALIZATION (14), SOFTMAX (15),
LOGISTIC (25). exp is emc_expf's exact float32 operation sequence (generic_math.expf_f32), which
the C runtime uses on every target, so these layers are bit-exact too."""
import numpy as np

from .base import Layer, main_f32
from .fround import F32, seq_sum_f32
from .generic_math import expf_f32

IO = (("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"), ("channels", "I"))


class _Vec(Layer):
    FIELDS = IO

    def reads(self):
        return [main_f32("main_mem_in_address", self.main_mem_in_address, self.channels)]

    def writes(self):
        return [main_f32("main_mem_out_address", self.main_mem_out_address, self.channels)]

    def execute(self, mem):
        x = mem.read_main(self.main_mem_in_address, self.channels, "f32")
        with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
            mem.write_main(self.main_mem_out_address, self.fn(x).astype(F32))


class L2Normalization(_Vec):
    TYPE, NAME = 14, "L2_NORMALIZATION"

    def fn(self, x):
        s = seq_sum_f32((x * x).astype(F32)[:, None], axis=0)[0]
        s = max(s, F32(1e-10))
        return x * (F32(1.0) / np.sqrt(F32(s)))


class Softmax(_Vec):
    TYPE, NAME = 15, "SOFTMAX"

    def fn(self, x):
        m = max(F32(np.finfo(F32).tiny), x.max())      # kpu.c seeds the max with FLT_MIN
        e = expf_f32((x - m).astype(F32))
        s = seq_sum_f32(e[:, None], axis=0)[0]
        return e / s


class Logistic(_Vec):
    TYPE, NAME = 25, "LOGISTIC"

    def fn(self, x):
        return F32(1.0) / (F32(1.0) + expf_f32(-x))
