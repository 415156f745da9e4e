"""max_pool2d / avg_pool2d: ksize, strides, padding -> derived explicit `pads`; average pooling excludes the
padding (TF). On the K210 a 2x2/2 or 4x4/4 pool after a stride-1 conv is the KPU's pool field
(K210Compiler.fuse_pools); otherwise a u8 QUANTIZED_MAX_POOL2D / f32 AVERAGE_POOL2D CPU layer."""
from __future__ import annotations

import numpy as np

from ..ir.execute import patches
from ..ir.graph import window_out
from ..ir.opdef import OpDef, register
from ..kmodel.layers import AveragePool2d, QuantizedMaxPool2d
from . import tf_emit


class _Pool(OpDef):
    CHANNEL_PRESERVING = True

    def infer_shape(self, attrs, in_shapes):
        s = in_shapes[0]
        oh, ow = window_out(attrs, s, attrs["ksize"])
        return (oh, ow, s[2])

    def windows(self, attrs, x, value):
        k, s = attrs["ksize"], attrs["strides"]
        return patches(x, k[0], k[1], s[0], s[1], attrs["pads"], value=value)


@register
class MaxPool2d(_Pool):
    TYPE = "max_pool2d"
    POOL = "max"

    def run_float(self, attrs, xs):
        return self.windows(attrs, xs[0], -np.inf).max(axis=(3, 4))

    def to_tf(self, tf, xs, attrs):
        return tf.nn.max_pool2d(xs[0], attrs["ksize"], attrs["strides"], _tf_padding(tf, xs[0], attrs, "max"))

    def k210_byte_copy(self, options):
        return True

    def lower_k210(self, comp, op):
        oh, ow, _ = comp.shape(op.outputs[0])
        k, pads = op.attrs["ksize"], op.attrs["pads"]
        if pads[1] > k[0] - 1 or pads[3] > k[1] - 1:
            return comp.bad.append((op.name, op.source_type, "padding larger than the window"))
        return max_pool_cpu(comp, op, k, op.attrs["strides"], pads, (oh, ow))


@register
class AvgPool2d(_Pool):
    TYPE = "avg_pool2d"
    POOL = "avg"

    def run_float(self, attrs, xs):
        x = xs[0]
        k, s, pads = attrs["ksize"], attrs["strides"], attrs["pads"]
        ones = np.ones((1,) + x.shape[1:3] + (1,), x.dtype)
        cnt = patches(ones, k[0], k[1], s[0], s[1], pads, value=0.0).sum(axis=(3, 4))
        return self.windows(attrs, x, 0.0).sum(axis=(3, 4)) / cnt

    def to_tf(self, tf, xs, attrs):
        return tf.nn.avg_pool2d(xs[0], attrs["ksize"], attrs["strides"], _tf_padding(tf, xs[0], attrs, "avg"))

    def lower_k210(self, comp, op):
        out = op.outputs[0]
        h, w, c = comp.shape(op.inputs[0])
        oh, ow, _ = comp.shape(out)
        src = comp.need_f32(op.inputs[0])
        ob = comp.buf("main", 4 * oh * ow * c, out + ":f32", "f32")
        pads = op.attrs["pads"]
        lay = AveragePool2d(flags=0, main_mem_in_address=0, main_mem_out_address=0, in_width=w, in_height=h,
                            in_channels=c, out_width=ow, out_height=oh, out_channels=c,
                            kernel_width=op.attrs["ksize"][1], kernel_height=op.attrs["ksize"][0],
                            stride_width=op.attrs["strides"][1], stride_height=op.attrs["strides"][0],
                            padding_width=pads[2], padding_height=pads[0], act=0)
        comp.emit_io(lay, op.name, src, ob, (c, h, w), (c, oh, ow))
        comp.homes[out] = {"f32": ob}


def _tf_padding(tf, x, attrs, kind):
    """TF's 'SAME' / 'VALID' for the pool's pads. Other pads would need a PAD first, which a max pool would
    see as values and an average pool would count (the float reference excludes padding): refused."""
    x2, pad = tf_emit.padding(tf, x, attrs, attrs["ksize"])
    if x2 is not x:
        raise ValueError(f"{kind} pool with padding other than TF 'same'")
    return pad


def max_pool_cpu(comp, op, kernel, strides, pads, out_shape):
    """A u8 QUANTIZED_MAX_POOL2D CPU layer for op (its input a map) with output (OH, OW)."""
    t = op.inputs[0]
    h, w, c = comp.shape(t)
    src = comp.need_u8(t)
    oh, ow = out_shape
    ob = comp.buf("main", oh * ow * c, op.outputs[0] + ":u8")
    lay = QuantizedMaxPool2d(flags=0, main_mem_in_address=0, main_mem_out_address=0, in_width=w, in_height=h,
                             in_channels=c, out_width=ow, out_height=oh, out_channels=c,
                             kernel_width=kernel[1], kernel_height=kernel[0], stride_width=strides[1],
                             stride_height=strides[0], padding_width=pads[2], padding_height=pads[0])
    comp.emit_io(lay, op.name, src, ob, (c, h, w), (c, oh, ow))
    comp.homes[op.outputs[0]] = {"u8": ob}
