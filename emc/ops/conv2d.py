"""conv2d: weights (KH, KW, IC, OC), optional bias (OC), strides, padding ('same' / 'valid' / explicit
(top, bottom, left, right)) -> derived explicit `pads`, optional dilation; carries an activation.
On the K210 it is a KPU convolution (or EMC CPU layers with --allow-patched): K210Compiler.do_conv."""
from __future__ import annotations

import numpy as np

from ..ir.execute import patches
from ..ir.graph import IRError, window_out
from ..ir.opdef import OpDef, register
from . import tf_emit


@register
class Conv2d(OpDef):
    TYPE = "conv2d"
    CARRIES_ACTIVATION = True
    ABSORBS_ACTIVATION = True
    ABSORBS_BATCH_NORM = True
    ABSORBS_PAD = True
    CONV = True

    def out_channels(self, w):
        return w.shape[3]

    def infer_shape(self, attrs, in_shapes):
        s = in_shapes[0]
        if len(s) != 3:
            raise IRError(f"needs an (H, W, C) input, got {s}")
        w = attrs["weights"]
        kh, kw, ic = w.shape[:3]
        if ic != s[2]:
            raise IRError(f"weights expect {ic} input channels, input has {s[2]}")
        oh, ow = window_out(attrs, s, (kh, kw), attrs.get("dilation", (1, 1)))
        if oh <= 0 or ow <= 0:
            raise IRError("empty output")
        return (oh, ow, self.out_channels(w))

    def windows(self, attrs, x):
        """x (N, H, W, C) -> its (N, OH, OW, KH, KW, C) receptive fields."""
        kh, kw = attrs["weights"].shape[:2]
        s = attrs["strides"]
        return patches(x, kh, kw, s[0], s[1], attrs["pads"], attrs.get("dilation", (1, 1)))

    def run_float(self, attrs, xs):
        y = np.tensordot(self.windows(attrs, xs[0]), attrs["weights"], axes=([3, 4, 5], [0, 1, 2]))
        b = attrs.get("bias")
        return y + b if b is not None else y

    def macs(self, attrs, in_shapes, out_shape):
        kh, kw, ic = attrs["weights"].shape[:3]
        return int(np.prod(out_shape)) * kh * kw * ic

    def out_channel_slice(self, attrs, lo, hi):
        b = attrs.get("bias")
        return {**attrs, "weights": np.ascontiguousarray(attrs["weights"][..., lo:hi]),
                "bias": None if b is None else np.ascontiguousarray(b[lo:hi])}

    def out_channel_absmax(self, attrs):
        return np.abs(np.asarray(attrs["weights"], np.float64)).max(axis=(0, 1, 2))

    def to_tf(self, tf, xs, attrs):
        w = tf_emit.const(tf, attrs["weights"])
        dil = tuple(attrs.get("dilation", (1, 1)))
        x, pad = tf_emit.padding(tf, xs[0], attrs, w.shape[:2], dil)
        return tf_emit.bias_act(tf, tf.nn.conv2d(x, w, attrs["strides"], pad, dilations=dil), attrs)

    def kpu_depthwise(self, attrs):
        """Whether the KPU runs it as a depthwise layer."""
        return False

    def kpu_weights(self, attrs):
        """Weights as the KPU takes them: (OC, IC per group, K, K) and whether the layer is depthwise."""
        return np.transpose(attrs["weights"], (3, 2, 0, 1)), False

    def lower_k210(self, comp, op):
        return comp.do_conv(op)
