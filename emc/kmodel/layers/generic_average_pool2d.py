"""GENERIC_AVERAGE_POOL2D (0x4004): TFLM reference_integer_ops::AveragePool (int8): sum of the
in-image taps, divided by their count rounding half away from zero, clamped. An output whose
window has no in-image tap is 0 clamped to the activation range."""
import numpy as np

from .generic_common import GENERIC_BASE, clamp_i8
from .generic_pool2d_common import GenericPool


class GenericAveragePool2d(GenericPool):
    TYPE, NAME = GENERIC_BASE + 4, "GENERIC_AVERAGE_POOL2D"
    TFLITE_OPS = ("AVERAGE_POOL_2D",)

    def execute(self, mem):
        acc = np.zeros((self.out_h, self.out_w, self.channels), np.int64)
        cnt = np.zeros((self.out_h, self.out_w, 1), np.int64)
        for v, valid in self.windows(mem):
            acc += v * valid
            cnt += valid
        c = np.maximum(cnt, 1)
        # C++ integer division truncates toward zero
        num = np.where(acc > 0, acc + c // 2, acc - c // 2)
        q = np.sign(num) * (np.abs(num) // c)
        mem.write_main(self.main_mem_out_address, clamp_i8(q, self.act_min, self.act_max).reshape(-1))
