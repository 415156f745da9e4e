"""prelu: y = x for x > 0, alpha * x otherwise, alpha learned per element of the input's shape with some axes
shared (Keras PReLU; face and super-resolution nets). Generic target: max(x, 0) + alpha * min(x, 0), which the
TFLite converter makes RELU, MINIMUM, MUL, ADD (all TFLM int8 operators). No K210 lowering: the KPU's
activation table is one per layer, not per channel."""
from __future__ import annotations

import numpy as np

from ..ir.graph import IRError
from ..ir.opdef import ElementwiseOpDef, register
from . import tf_emit


@register
class PRelu(ElementwiseOpDef):
    TYPE = "prelu"

    def infer_shape(self, attrs, in_shapes):
        s = tuple(in_shapes[0])
        a = np.shape(attrs["alpha"])
        try:
            if tuple(np.broadcast_shapes(a, s)) != s:
                raise ValueError
        except ValueError:
            raise IRError(f"alpha of shape {a} does not broadcast to the input {s}") from None
        return s

    def run_float(self, attrs, xs):
        x = xs[0]
        return np.where(x > 0, x, np.asarray(attrs["alpha"], np.float32) * x)

    def to_tf(self, tf, xs, attrs):
        return tf.maximum(xs[0], 0.0) + tf_emit.const(tf, attrs["alpha"]) * tf.minimum(xs[0], 0.0)
