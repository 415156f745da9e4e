"""mul: elementwise product of two tensors of the same rank with numpy broadcasting (a squeeze-and-excite
block's (H, W, C) * (1, 1, C)); carries an activation. The generic target emits TFLite MUL (TFLM-exact
GENERIC_MUL). The K210 has no layer for it: the compiler lists it by name."""
from __future__ import annotations

import numpy as np

from ..ir.graph import IRError
from ..ir.opdef import OpDef, register
from . import tf_emit


@register
class Mul(OpDef):
    TYPE = "mul"
    ARITY = (2, 2)
    CARRIES_ACTIVATION = True
    ABSORBS_ACTIVATION = True

    def infer_shape(self, attrs, in_shapes):
        a, b = (tuple(s) for s in in_shapes)
        if len(a) != len(b):
            # with the batch axis in front, (N, H, W, C) * (N, C) would broadcast N against W
            raise IRError(f"mul of tensors of different ranks {in_shapes}")
        try:
            return tuple(int(d) for d in np.broadcast_shapes(a, b))
        except ValueError:
            raise IRError(f"mul of shapes that do not broadcast {in_shapes}") from None

    def run_float(self, attrs, xs):
        return xs[0] * xs[1]

    def macs(self, attrs, in_shapes, out_shape):
        return int(np.prod(out_shape))

    def to_tf(self, tf, xs, attrs):
        return tf_emit.act(tf, tf.multiply(xs[0], xs[1]), attrs)
