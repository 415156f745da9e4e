"""softmax over the last axis. On the K210 an f32 SOFTMAX CPU layer over a vector (or a 1x1xN map)."""
from __future__ import annotations

import numpy as np

from ..ir.execute import softmax
from ..ir.opdef import ElementwiseOpDef, register
from ..kmodel.layers import Softmax


@register
class SoftmaxOp(ElementwiseOpDef):
    TYPE = "softmax"

    def run_float(self, attrs, xs):
        return softmax(xs[0])

    def to_tf(self, tf, xs, attrs):
        return tf.nn.softmax(xs[0])

    def lower_k210(self, comp, op):
        out = op.outputs[0]
        n = int(np.prod(comp.shape(out)))
        if len(comp.shape(out)) != 1 and n != comp.shape(out)[-1]:    # a 1x1xN map is a vector in CHW
            return comp.bad.append((op.name, op.source_type or self.TYPE, "softmax over a map larger than 1x1"))
        src = comp.need_f32(op.inputs[0])
        ob = comp.buf("main", 4 * n, out + ":f32", "f32")
        lay = Softmax(flags=0, main_mem_in_address=0, main_mem_out_address=0, channels=n)
        comp.emit_io(lay, op.name, src, ob, (n,), (n,))
        comp.homes[out] = {"f32": ob}
