"""flatten ((H, W, C) -> (H*W*C,), TF order) and reshape (attr 'shape', one -1 allowed). The K210 keeps maps
in CHW order and vectors and 2-D (rows, K) tensors in row-major order: a reshape moves no bytes when both orders
agree or when its consumers permute their weights (dense); otherwise a CHW -> HWC flatten CPU layer (u8 with
--allow-patched, else f32). A detection head's (H, W, A*K) -> (H*W*A, K) is that flatten: the row-major
bytes of (H*W*A, K) are the HWC flattening of the map."""
from __future__ import annotations

import numpy as np

from ..ir.graph import IRError
from ..ir.opdef import OpDef, opdef, register
from ..kmodel.layers import QuantizedTensorflowFlatten, TensorflowFlatten


class _Reshape(OpDef):
    K210_ROWS_IN = True

    def k210_byte_copy(self, options):
        return True

    def lower_k210(self, comp, op):
        src_t, out, name, g = op.inputs[0], op.outputs[0], op.name, comp.g
        ins, outs = comp.shape(src_t), comp.shape(out)
        cons = g.consumers(out)
        same_mem = tuple(ins) == tuple(outs) or (
            (len(ins) != 3 or ins[0] * ins[1] == 1 or ins[2] == 1) and
            (len(outs) != 3 or outs[0] * outs[1] == 1 or outs[2] == 1))
        if src_t in comp.pending:
            comp.resolve_pending(src_t, "u8")
        if same_mem:
            comp.alias(out, src_t)                      # CHW order == HWC order here
            comp.chw_flat[out] = comp.chw_flat.get(src_t)
            return
        if len(ins) == 3 and len(outs) == 1 and out not in g.outputs and cons and \
                all(opdef(o.type).K210_VECTOR_IN for o in cons):
            comp.alias(out, src_t)                      # dense weights are permuted instead
            comp.chw_flat[out] = ins
            return
        if len(ins) == 3 and len(outs) in (1, 2) and comp.opt.allow_patched and out not in g.outputs:
            h, w, c = ins
            src = comp.need_u8(src_t)
            ob = comp.buf("main", h * w * c, out + ":u8")
            lay = QuantizedTensorflowFlatten(flags=0, main_mem_in_address=0, main_mem_out_address=0,
                                             shape_width=w, shape_height=h, shape_channels=c)
            comp.emit_io(lay, name, src, ob, (c, h, w), outs, "CHW -> HWC, patched kpu.c only")
            comp.homes[out] = {"u8": ob}
            return
        if len(ins) == 3 and len(outs) in (1, 2):
            h, w, c = ins
            src = comp.need_f32(src_t)
            ob = comp.buf("main", 4 * h * w * c, out + ":f32", "f32")
            lay = TensorflowFlatten(flags=0, main_mem_in_address=0, main_mem_out_address=0,
                                    shape_width=w, shape_height=h, shape_channels=c)
            comp.emit_io(lay, name, src, ob, (c, h, w), outs, "CHW -> HWC")
            comp.homes[out] = {"f32": ob}
            return
        return comp.bad.append((name, op.source_type or self.TYPE, f"reshape {ins} -> {outs}"))


@register
class Flatten(_Reshape):
    TYPE = "flatten"

    def infer_shape(self, attrs, in_shapes):
        return (int(np.prod(in_shapes[0])),)

    def run_float(self, attrs, xs):
        return xs[0].reshape(xs[0].shape[0], -1)

    def to_tf(self, tf, xs, attrs):
        return tf.reshape(xs[0], (-1, int(np.prod(xs[0].shape[1:]))))


@register
class Reshape(_Reshape):
    TYPE = "reshape"

    def infer_shape(self, attrs, in_shapes):
        s = in_shapes[0]
        shape = list(attrs["shape"])
        n = int(np.prod(s))
        if -1 in shape:
            k = int(np.prod([v for v in shape if v != -1]))
            shape[shape.index(-1)] = n // k
        if int(np.prod(shape)) != n:
            raise IRError(f"cannot reshape {s} to {attrs['shape']}")
        return tuple(shape)

    def run_float(self, attrs, xs):
        return xs[0].reshape((xs[0].shape[0],) + tuple(attrs["shape"]))

    def to_tf(self, tf, xs, attrs):
        # the target shape resolved: TF takes one -1 only, the batch's
        return tf.reshape(xs[0], (-1,) + self.infer_shape(attrs, [tuple(xs[0].shape[1:])]))

    def is_identity(self, attrs, in_shape, out_shape):
        return in_shape == out_shape
