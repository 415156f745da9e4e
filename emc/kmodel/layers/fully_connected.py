"""FULLY_CONNECTED (18): f32 dense layer with optional ReLU/ReLU6 (spec §8.13).
QUANTIZED_FULLY_CONNECTED (19) is enumerated by the SDK but has no body: kept opaque."""
import numpy as np

from .base import Layer, Opaque, main_f32
from .fround import F32, madd

ACT_NONE, ACT_RELU, ACT_RELU6 = 0, 1, 2


class FullyConnected(Layer):
    TYPE, NAME = 18, "FULLY_CONNECTED"
    FIELDS = (("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"),
              ("in_channels", "I"), ("out_channels", "I"), ("act", "I"))

    def parse_tail(self, r):
        w = r.array(np.float32, self.in_channels * self.out_channels, "weights")
        self.weights = w.reshape(self.out_channels, self.in_channels)
        self.bias = r.array(np.float32, self.out_channels, "bias")

    def set_tail(self, weights=None, bias=None, **values):
        super().set_tail(**values)
        self.weights = np.zeros((self.out_channels, self.in_channels), F32) if weights is None \
            else np.asarray(weights, F32).reshape(self.out_channels, self.in_channels)
        self.bias = np.zeros(self.out_channels, F32) if bias is None else np.asarray(bias, F32)

    def pack_tail(self, file_offset, model=None):
        return self.weights.astype("<f4").tobytes() + self.bias.astype("<f4").tobytes()

    def reads(self):
        return [main_f32("main_mem_in_address", self.main_mem_in_address, self.in_channels)]

    def macs(self):
        return self.in_channels * self.out_channels

    def writes(self):
        return [main_f32("main_mem_out_address", self.main_mem_out_address, self.out_channels)]

    def check(self, model):
        if self.act not in (ACT_NONE, ACT_RELU, ACT_RELU6):
            raise self.error(f"act {self.act} is not 0 (none), 1 (relu) or 2 (relu6)", "act")
        super().check(model)

    def input_spec(self, model):
        return "f32", (self.in_channels,)

    def set_input(self, mem, x):
        mem.write_main(self.main_mem_in_address, np.asarray(x, F32).reshape(-1))

    def execute(self, mem):
        x = mem.read_main(self.main_mem_in_address, self.in_channels, "f32")
        # sum += x[i]*w[o][i] in input order, in f32, then + bias: kpu.c's loop, reproduced exactly
        acc = np.zeros(self.out_channels, F32)
        wt = self.weights.T
        for i in range(self.in_channels):
            acc = madd(wt[i], x[i], acc, mem.fused_fp)
        y = (acc + self.bias).astype(F32)
        if self.act == ACT_RELU:
            y = np.maximum(y, F32(0))
        elif self.act == ACT_RELU6:
            y = np.minimum(np.maximum(y, F32(0)), F32(6))
        mem.write_main(self.main_mem_out_address, y)


class QuantizedFullyConnected(Opaque):
    TYPE, NAME = 19, "QUANTIZED_FULLY_CONNECTED"
