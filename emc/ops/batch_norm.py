"""batch_norm: y = x * scale + offset per channel (inference form); carries an activation. The IR passes
fold it into a preceding conv / dense, or turn it into a 1x1 depthwise conv on maps; no K210 lowering of
its own."""
from __future__ import annotations

import numpy as np

from ..ir.opdef import ElementwiseOpDef, register
from . import tf_emit


@register
class BatchNorm(ElementwiseOpDef):
    TYPE = "batch_norm"
    CARRIES_ACTIVATION = True
    ABSORBS_ACTIVATION = True
    STANDALONE_AS_DEPTHWISE = True

    def run_float(self, attrs, xs):
        return xs[0] * attrs["scale"] + attrs["offset"]

    def macs(self, attrs, in_shapes, out_shape):
        return int(np.prod(in_shapes[0]))

    def affine(self, attrs):
        return attrs["scale"], attrs["offset"]

    def to_tf(self, tf, xs, attrs):
        # a pure scale or a pure offset (Keras' `x * (1 / 6)`, `x + 3.0`) is one TFLite MUL or ADD, not both
        y = xs[0]
        if np.any(np.asarray(attrs["scale"]) != 1):
            y = y * tf_emit.const(tf, attrs["scale"])
        if np.any(np.asarray(attrs["offset"]) != 0):
            y = y + tf_emit.const(tf, attrs["offset"])
        return tf_emit.act(tf, y, attrs)

