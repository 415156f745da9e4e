"""GENERIC_MAX_POOL2D (0x4005): TFLM reference_integer_ops::MaxPool (int8): max of the in-image
taps (starting from -128), clamped to the activation range."""
import numpy as np

from .generic_common import GENERIC_BASE, clamp_i8
from .generic_pool2d_common import GenericPool


class GenericMaxPool2d(GenericPool):
    TYPE, NAME = GENERIC_BASE + 5, "GENERIC_MAX_POOL2D"
    TFLITE_OPS = ("MAX_POOL_2D",)
    PAD_FOLD = "lowest"           # a PAD of -128 before it folds into pad_top/left

    def execute(self, mem):
        acc = np.full((self.out_h, self.out_w, self.channels), -128, np.int64)
        for v, valid in self.windows(mem):
            acc = np.where(valid, np.maximum(acc, v), acc)
        mem.write_main(self.main_mem_out_address, clamp_i8(acc, self.act_min, self.act_max).reshape(-1))
