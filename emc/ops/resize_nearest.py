"""resize_nearest: nearest-neighbour upsampling by integer factors (fy, fx). On the K210 the u8
QUANTIZED_RESIZE_NEAREST_NEIGHBOR CPU layer."""
from __future__ import annotations

import numpy as np

from ..ir.opdef import OpDef, register
from ..kmodel.layers import QuantizedResizeNearestNeighbor


@register
class ResizeNearest(OpDef):
    TYPE = "resize_nearest"
    CHANNEL_PRESERVING = True

    def infer_shape(self, attrs, in_shapes):
        s = in_shapes[0]
        fy, fx = attrs["factor"]
        return (s[0] * fy, s[1] * fx, s[2])

    def run_float(self, attrs, xs):
        fy, fx = attrs["factor"]
        return np.repeat(np.repeat(xs[0], fy, axis=1), fx, axis=2)

    def to_tf(self, tf, xs, attrs):
        # TFLite RESIZE_NEAREST_NEIGHBOR (half-pixel centres: source floor((y + 0.5) / f) = y // f for an
        # integer factor, with margin against float rounding); tf.repeat became a rank-5 TILE no int8 kernel takes
        h, w = int(xs[0].shape[1]), int(xs[0].shape[2])
        return tf.image.resize(xs[0], (h * attrs["factor"][0], w * attrs["factor"][1]), method="nearest")

    def k210_byte_copy(self, options):
        return True

    def lower_k210(self, comp, op):
        out = op.outputs[0]
        h, w, c = comp.shape(op.inputs[0])
        oh, ow, _ = comp.shape(out)
        src = comp.need_u8(op.inputs[0])
        ob = comp.buf("main", c * oh * ow, out + ":u8")
        lay = QuantizedResizeNearestNeighbor(flags=0, main_mem_in_address=0, main_mem_out_address=0,
                                             in_width=w, in_height=h, in_channels=c, out_width=ow,
                                             out_height=oh, align_corners=0)
        comp.emit_io(lay, op.name, src, ob, (c, h, w), (c, oh, ow))
        comp.homes[out] = {"u8": ob}
