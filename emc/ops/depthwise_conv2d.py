"""depthwise_conv2d: weights (KH, KW, C, M) (channel multiplier M), output channel c*M + m; otherwise as
conv2d (bias, strides, padding -> pads, dilation, activation). On the K210 a KPU depthwise layer when M = 1,
else a dense KPU conv with zero weights off the diagonal."""
from __future__ import annotations

import numpy as np

from ..ir.opdef import register
from . import tf_emit
from .conv2d import Conv2d


@register
class DepthwiseConv2d(Conv2d):
    TYPE = "depthwise_conv2d"
    DEPTHWISE = True

    def out_channels(self, w):
        return w.shape[2] * w.shape[3]

    def run_float(self, attrs, xs):
        p = self.windows(attrs, xs[0])                                  # N,OH,OW,KH,KW,C
        kh, kw, c, m = attrs["weights"].shape
        y = np.einsum("nhwijc,ijcm->nhwcm", p, attrs["weights"]).reshape(p.shape[0], p.shape[1], p.shape[2], c * m)
        b = attrs.get("bias")
        return y + b if b is not None else y

    def macs(self, attrs, in_shapes, out_shape):
        kh, kw = attrs["weights"].shape[:2]
        return int(np.prod(out_shape)) * kh * kw

    def scale_out_weights(self, w, s):
        kh, kw, c, m = w.shape
        return (w.reshape(kh, kw, c * m) * s).reshape(kh, kw, c, m)

    def out_channel_absmax(self, attrs):
        w = np.asarray(attrs["weights"], np.float64)
        kh, kw, c, m = w.shape
        return np.abs(w.reshape(kh, kw, c * m)).max(axis=(0, 1))

    def accepts_input_scale(self, attrs):
        # equalization pairs take a depthwise layer as the consumer only with a channel multiplier of 1
        return attrs["weights"].shape[3] == 1

    def to_tf(self, tf, xs, attrs):
        w = tf_emit.const(tf, attrs["weights"])
        dil = tuple(attrs.get("dilation", (1, 1)))
        x, pad = tf_emit.padding(tf, xs[0], attrs, w.shape[:2], dil)
        y = tf.nn.depthwise_conv2d(x, w, (1,) + tuple(attrs["strides"]) + (1,), pad, dilations=dil)
        return tf_emit.bias_act(tf, y, attrs)

    def kpu_depthwise(self, attrs):
        return attrs["weights"].shape[3] == 1

    def kpu_weights(self, attrs):
        w = attrs["weights"]
        kh, kw, c, m = w.shape
        if self.kpu_depthwise(attrs):
            return np.transpose(w[:, :, :, 0], (2, 0, 1))[:, None], True
        full = np.zeros((kh, kw, c, c * m), w.dtype)       # multiplier > 1: a dense conv with zeros
        for ci in range(c):
            full[:, :, ci, ci * m:(ci + 1) * m] = w[:, :, ci, :]
        return np.transpose(full, (3, 2, 0, 1)), False
