"""GENERIC_DEPTHWISE_CONV2D (0x4002): TFLite int8 DEPTHWISE_CONV_2D, per-channel, as TFLM's
reference_integer_ops::DepthwiseConvPerChannel (output channel = in_channel * multiplier + m)."""
import numpy as np

from .generic_common import GENERIC_BASE
from .generic_conv2d import _ConvBase


class GenericDepthwiseConv2d(_ConvBase):
    TYPE, NAME = GENERIC_BASE + 2, "GENERIC_DEPTHWISE_CONV2D"
    DEPTHWISE = True
    TFLITE_OPS = ("DEPTHWISE_CONV_2D",)

    def cpu_scratch(self):
        """Per channel: start accumulator (int32), int16 weights, 3 int32 requantization constants,
        a pad byte."""
        return (17 + 2 * self.k_h * self.k_w) * self.out_c

    def execute(self, mem):
        x = self.load(mem)
        w = self.weights.astype(np.int64).reshape(self.k_h, self.k_w, self.out_c)
        acc = np.zeros((self.out_h, self.out_w, self.out_c), np.int64)
        src = np.arange(self.out_c) // self.depth_multiplier
        for ky, kx, v, valid in self.taps(x):
            acc += v[..., src] * valid[..., None] * w[ky, kx]
        self.finish(acc, mem)
