"""add: elementwise sum of two or more same-shape tensors; carries an activation. On the K210 a chain of
u8 QUANTIZED_ADD CPU layers (activation: linear, or relu / relu6 through the output range)."""
from __future__ import annotations

import math

import numpy as np

from ..ir.graph import IRError
from ..ir.opdef import OpDef, register
from ..kmodel.layers import QuantizedAdd
from . import tf_emit


@register
class Add(OpDef):
    TYPE = "add"
    ARITY = (2, None)
    CARRIES_ACTIVATION = True
    ABSORBS_ACTIVATION = True

    def infer_shape(self, attrs, in_shapes):
        s = in_shapes[0]
        for o in in_shapes[1:]:
            if tuple(o) != tuple(s):
                raise IRError(f"add of different shapes {in_shapes}")
        return s

    def run_float(self, attrs, xs):
        y = xs[0]
        for o in xs[1:]:
            y = y + o
        return y

    def to_tf(self, tf, xs, attrs):
        # pairwise: TFLite ADD (TFLM and the generic profile have no int8 ADD_N)
        y = xs[0]
        for o in xs[1:]:
            y = y + o
        return tf_emit.act(tf, y, attrs)

    def lower_k210(self, comp, op):
        out, name = op.outputs[0], op.name
        act = op.attrs.get("act", "linear")
        if act not in ("linear", "relu", "relu6"):
            return comp.bad.append((name, op.source_type or self.TYPE, f"activation {act} after add"))
        cur = op.inputs[0]
        for j, other in enumerate(op.inputs[1:]):
            dst_t = out if j == len(op.inputs) - 2 else comp.g.unique_name(out + f"_part{j}")
            if dst_t != out:
                comp.add_tensor_like(dst_t, out)
            _quantized_add(comp, name, cur, other, dst_t)
            cur = dst_t
        if act == "relu" and comp.q(out)[1] != 0:
            comp.bad.append((name, op.source_type or self.TYPE, "relu after add needs a zero-based range"))


def _quantized_add(comp, name, a, b, out):
    """out = a + b on u8 tensors: QUANTIZED_ADD with the input scales as fixed-point multipliers."""
    sa, za = comp.q(a)
    sb, zb = comp.q(b)
    so, zo = comp.q(out)
    ba, bb = comp.need_u8(a), comp.need_u8(b)
    n = int(np.prod(comp.shape(out)))
    k = min(30, 30 - max(0, math.ceil(math.log2(max(sa, sb) / so * 256 + 1e-30))))
    ob = comp.buf("main", n, out + ":u8")
    lay = QuantizedAdd(flags=0, main_mem_in_a_address=0, main_mem_in_b_address=0, main_mem_out_address=0,
                       count=n, in_a_offset=-za, in_a_mul=int(round(sa / so * 2 ** k)), in_a_shift=0,
                       in_b_offset=-zb, in_b_mul=int(round(sb / so * 2 ** k)), in_b_shift=0,
                       out_offset=zo, out_mul=1, out_shift=k)
    comp.emit(lay, name, "CPU", comp.chw(comp.shape(a)), comp.chw(comp.shape(out)), [ba, bb], [ob])
    comp.fix(lambda: (setattr(lay, "main_mem_in_a_address", ba.addr),
                      setattr(lay, "main_mem_in_b_address", bb.addr),
                      setattr(lay, "main_mem_out_address", ob.addr)))
    comp.homes[out] = {"u8": ob}
