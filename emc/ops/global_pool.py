"""global_avg_pool / global_max_pool over H and W: (H, W, C) -> (C,), or (1, 1, C) with keepdims.
On the K210: max as a whole-map QUANTIZED_MAX_POOL2D; average as f32 GLOBAL_AVERAGE_POOL2D, or with
--allow-patched the u8 QUANTIZED_GLOBAL_AVERAGE_POOL2D of Maix-EMC's patched kpu.c."""
from __future__ import annotations

from ..ir.opdef import OpDef, register
from ..kmodel.layers import GlobalAveragePool2d, QuantizedGlobalAveragePool2d
from .pool import max_pool_cpu


class _GlobalPool(OpDef):
    CHANNEL_PRESERVING = True

    def infer_shape(self, attrs, in_shapes):
        s = in_shapes[0]
        return (1, 1, s[2]) if attrs.get("keepdims") else (s[2],)

    def run_float(self, attrs, xs):
        y = self.reduce(xs[0])
        return y.reshape(y.shape[0], 1, 1, -1) if attrs.get("keepdims") else y


@register
class GlobalAvgPool(_GlobalPool):
    TYPE = "global_avg_pool"

    def reduce(self, x):
        return x.mean(axis=(1, 2))

    def to_tf(self, tf, xs, attrs):
        return tf.reduce_mean(xs[0], axis=[1, 2], keepdims=bool(attrs.get("keepdims")))

    def k210_byte_copy(self, options):
        # the patched kpu.c's u8 average keeps the input's quantization
        return options.allow_patched

    def lower_k210(self, comp, op):
        out = op.outputs[0]
        h, w, c = comp.shape(op.inputs[0])
        if comp.opt.allow_patched:
            src = comp.need_u8(op.inputs[0])
            ob = comp.buf("main", c, out + ":u8")
            lay = QuantizedGlobalAveragePool2d(flags=0, main_mem_in_address=0, main_mem_out_address=0,
                                               kernel_size=h * w, channels=c)
            comp.emit_io(lay, op.name, src, ob, (c, h, w), (c,), "patched kpu.c only")
            comp.homes[out] = {"u8": ob}
            return
        src = comp.need_f32(op.inputs[0])
        ob = comp.buf("main", 4 * c, out + ":f32", "f32")
        lay = GlobalAveragePool2d(flags=0, main_mem_in_address=0, main_mem_out_address=0, kernel_size=h * w,
                                  channels=c)
        comp.emit_io(lay, op.name, src, ob, (c, h, w), (c,))
        comp.homes[out] = {"f32": ob}


@register
class GlobalMaxPool(_GlobalPool):
    TYPE = "global_max_pool"

    def reduce(self, x):
        return x.max(axis=(1, 2))

    def to_tf(self, tf, xs, attrs):
        return tf.reduce_max(xs[0], axis=[1, 2], keepdims=bool(attrs.get("keepdims")))

    def k210_byte_copy(self, options):
        return True

    def lower_k210(self, comp, op):
        h, w, c = comp.shape(op.inputs[0])
        return max_pool_cpu(comp, op, (h, w), (1, 1), (0, 0, 0, 0), (1, 1))
