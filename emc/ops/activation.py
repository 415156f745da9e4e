"""activation: a standalone elementwise activation (attrs 'act', 'alpha'; see emc.ir.ACTIVATIONS). The IR
passes fuse it into its producer, or turn it into a 1x1 depthwise conv on maps; on the K210 a sigmoid on a
vector or on the (N, K) rows of a detection head (YOLO-style scores) becomes one LOGISTIC over all its floats."""
from __future__ import annotations

import numpy as np

from ..ir.opdef import ElementwiseOpDef, register
from ..kmodel.layers import Logistic
from . import tf_emit


@register
class Activation(ElementwiseOpDef):
    TYPE = "activation"
    CARRIES_ACTIVATION = True
    FUSES_AS_ACTIVATION = True
    STANDALONE_AS_DEPTHWISE = True
    # a linear activation naming a graph output goes anyway: the output is renamed to its input
    IDENTITY_KEPT_AT_OUTPUT = False
    # elementwise: (N, K) rows are N*K floats in main memory like a vector; the lowering refuses all but sigmoid
    K210_ROWS_IN = True

    def run_float(self, attrs, xs):
        return xs[0]

    def is_identity(self, attrs, in_shape, out_shape):
        return attrs.get("act", "linear") == "linear"

    def to_tf(self, tf, xs, attrs):
        return tf_emit.act(tf, xs[0], attrs)

    def lower_k210(self, comp, op):
        out = op.outputs[0]
        if op.attrs.get("act") != "sigmoid" or len(comp.shape(out)) not in (1, 2):
            return comp.no_lowering(op, f" with activation {op.attrs.get('act')}")
        n = int(np.prod(comp.shape(out)))
        src = comp.need_f32(op.inputs[0])
        ob = comp.buf("main", 4 * n, out + ":f32", "f32")
        lay = Logistic(flags=0, main_mem_in_address=0, main_mem_out_address=0, channels=n)
        comp.emit_io(lay, op.name, src, ob, (n,), (n,))
        comp.homes[out] = {"f32": ob}
