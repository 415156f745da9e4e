"""pad: constant padding of a map, pads (top, bottom, left, right), value (default 0). A zero pad before a
conv becomes the conv's padding (IR pass fold_pads); on the K210 otherwise a byte gather with a constant."""
from __future__ import annotations

import numpy as np

from ..ir.opdef import OpDef, register


@register
class Pad(OpDef):
    TYPE = "pad"

    def infer_shape(self, attrs, in_shapes):
        s = in_shapes[0]
        pt, pb, pl, pr = attrs["pads"]
        return (s[0] + pt + pb, s[1] + pl + pr, s[2])

    def run_float(self, attrs, xs):
        pt, pb, pl, pr = attrs["pads"]
        return np.pad(xs[0], ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=attrs.get("value", 0.0))

    def is_identity(self, attrs, in_shape, out_shape):
        return not any(attrs["pads"])

    def zero_pads(self, attrs):
        return attrs["pads"] if attrs.get("value", 0) == 0 else None

    def to_tf(self, tf, xs, attrs):
        return tf.pad(xs[0], [[0, 0], list(attrs["pads"][:2]), list(attrs["pads"][2:]), [0, 0]],
                      constant_values=attrs.get("value", 0.0))

    def k210_byte_copy(self, options):
        return True

    def lower_k210(self, comp, op):
        out, name = op.outputs[0], op.name
        if len(comp.shape(out)) != 3:
            return comp.no_lowering(op)
        h, w, c = comp.shape(op.inputs[0])
        pt, pb, pl, pr = op.attrs["pads"]
        oh, ow = h + pt + pb, w + pl + pr
        src = comp.need_u8(op.inputs[0])
        s_o, z_o = comp.q(out)
        fill = int(min(255, max(0, round(op.attrs.get("value", 0.0) / s_o + z_o))))
        zb = comp.const_u8(name + "/zp", fill, max(ow, 1), src)
        parts = []
        for ci in range(c):
            for y in range(oh):
                if pt <= y < pt + h:
                    if pl:
                        parts.append((zb, 0, pl))
                    parts.append((src, (ci * h + y - pt) * w, w))
                    if pr:
                        parts.append((zb, 0, pr))
                else:
                    parts.append((zb, 0, ow))
        ob = comp.buf("main", c * oh * ow, out + ":u8")
        comp.gather(name, parts, ob, (c, h, w), (c, oh, ow), "pad by byte gather")
        comp.homes[out] = {"u8": ob}
