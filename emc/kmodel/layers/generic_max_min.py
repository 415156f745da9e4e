"""GENERIC_MAX_MIN (0x4018): TFLite MAXIMUM / MINIMUM (int8, with broadcasting) as TFLM's
maximum_minimum kernel: the larger (smaller) of the two raw int8 values. TFLM compares the stored
bytes and does not requantize (the converter gives both inputs and the output one scale), so
neither does this layer. Keras/TF emit MAXIMUM for max(x, a * x) leaky-ReLU forms."""
import numpy as np

from .generic_broadcast import BROADCAST_FIELDS, GenericBroadcast
from .generic_common import GENERIC_BASE


class GenericMaxMin(GenericBroadcast):
    TYPE, NAME = GENERIC_BASE + 24, "GENERIC_MAX_MIN"
    FIELDS = BROADCAST_FIELDS + (("minimum", "I"),)     # 0: MAXIMUM, 1: MINIMUM
    TFLITE_OPS = ("MAXIMUM", "MINIMUM")

    @classmethod
    def from_tflite(cls, ctx, op):
        _, _, _, fields = cls.operands(ctx, op)       # max/min are symmetric: operand order is free
        return cls(minimum=int(op.name == "MINIMUM"), **fields)

    def check(self, model):
        self.check_fields(minimum=(0, 1))
        super().check(model)

    def combine(self, a, b):
        return (np.minimum if self.minimum else np.maximum)(a, b).astype(np.int8)
