"""crop: drop rows and columns at the borders of a map, crops (top, bottom, left, right) (Keras Cropping2D,
NASNet's cells). Generic target: TFLite STRIDED_SLICE; on the K210 a byte gather of the kept rows."""
from __future__ import annotations

from ..ir.graph import IRError
from ..ir.opdef import OpDef, register


@register
class Crop(OpDef):
    TYPE = "crop"

    def infer_shape(self, attrs, in_shapes):
        s = in_shapes[0]
        if len(s) != 3:
            raise IRError(f"crop of a {len(s)}-D tensor {tuple(s)} (an HxWxC map expected)")
        ct, cb, cl, cr = attrs["crops"]
        if min(ct, cb, cl, cr) < 0 or ct + cb >= s[0] or cl + cr >= s[1]:
            raise IRError(f"crops {tuple(attrs['crops'])} leave nothing of a {s[0]}x{s[1]} map")
        return (s[0] - ct - cb, s[1] - cl - cr, s[2])

    def run_float(self, attrs, xs):
        ct, cb, cl, cr = attrs["crops"]
        h, w = xs[0].shape[1:3]
        return xs[0][:, ct:h - cb, cl:w - cr, :]

    def is_identity(self, attrs, in_shape, out_shape):
        return not any(attrs["crops"])

    def to_tf(self, tf, xs, attrs):
        ct, cb, cl, cr = attrs["crops"]
        h, w = int(xs[0].shape[1]), int(xs[0].shape[2])
        return xs[0][:, ct:h - cb, cl:w - cr, :]

    def k210_byte_copy(self, options):
        return True

    def lower_k210(self, comp, op):
        out, name = op.outputs[0], op.name
        h, w, c = comp.shape(op.inputs[0])
        ct, cb, cl, cr = op.attrs["crops"]
        oh, ow = h - ct - cb, w - cl - cr
        src = comp.need_u8(op.inputs[0])
        parts = [(src, (ci * h + y) * w + cl, ow) for ci in range(c) for y in range(ct, ct + oh)]
        ob = comp.buf("main", c * oh * ow, out + ":u8")
        comp.gather(name, parts, ob, (c, h, w), (c, oh, ow), "crop by byte gather")
        comp.homes[out] = {"u8": ob}
