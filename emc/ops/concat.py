"""concat along an axis (normalized to >= 0 by shape inference). On the K210 a channel concat is a byte
concat (QUANTIZED_CONCAT) in main memory, or free when every part is a KPU conv output written in place
into one KPU RAM map (planned before lowering: plan_k210). 2-D (rows, K) tensors are row-major, so their
concat along rows (detection heads' anchors) is a byte concat too: CONCAT when every part is already f32
(a TENSORFLOW_FLATTEN output), else QUANTIZED_CONCAT."""
from __future__ import annotations

import numpy as np

from ..ir.graph import IRError
from ..ir.opdef import OpDef, opdef, register
from ..kmodel import kpu


@register
class Concat(OpDef):
    TYPE = "concat"
    ARITY = (2, None)
    K210_ROWS_IN = True

    def infer_shape(self, attrs, in_shapes):
        s = in_shapes[0]
        axis = attrs.get("axis", -1) % len(s)
        out = list(s)
        for o in in_shapes[1:]:
            if len(o) != len(s) or any(o[i] != s[i] for i in range(len(s)) if i != axis):
                raise IRError(f"concat of incompatible shapes {in_shapes}")
            out[axis] += o[axis]
        attrs["axis"] = axis
        return tuple(out)

    def run_float(self, attrs, xs):
        return np.concatenate(xs, axis=attrs["axis"] + 1)

    def to_tf(self, tf, xs, attrs):
        return tf.concat(xs, axis=attrs["axis"] + 1 if attrs["axis"] >= 0 else attrs["axis"])

    def k210_byte_copy(self, options):
        return True

    def plan_k210(self, comp, op, pool_out, taken):
        """Channel concats whose parts all come from KPU convs are written in place: each part is a view
        into one KPU RAM map, which needs every part but the last to fill whole channel groups.
        pool_out: tensors of pools fused into a conv; taken: tensors already placed into a concat."""
        g = comp.g
        if len(g.shape(op.outputs[0])) != 3:
            return
        h, w, ctot = g.shape(op.outputs[0])
        groups = kpu.layout_for_width(w)[0]
        parts = op.inputs
        if len(set(parts)) != len(parts) or any(x in taken or x in g.inputs for x in parts):
            return
        ok = min(h, w) >= 4
        for j, x in enumerate(parts):
            prod = g.producer(x)
            is_conv = prod is not None and (opdef(prod.type).CONV or x in pool_out)
            if not is_conv or (j < len(parts) - 1 and g.shape(x)[2] % groups):
                ok = False
        if not ok:
            return
        parent = comp.buf("kpu", kpu.map_rows(w, h, ctot), op.outputs[0] + ":kpu")
        rows_per_group = kpu.map_rows(w, h, groups)
        ch = 0
        for x in parts:
            comp.concat_part[x] = (parent, (ch // groups) * rows_per_group)
            ch += g.shape(x)[2]
            taken.add(x)

    def lower_k210(self, comp, op):
        out, name = op.outputs[0], op.name
        shp = comp.shape(out)
        if len(shp) == 2 and op.attrs["axis"] == 0 or len(shp) == 2 and shp[0] == 1:
            return self._concat_rows(comp, op)
        if op.attrs["axis"] != len(shp) - 1 or len(shp) == 2:
            why = "along K of (rows, K) tensors" if len(shp) == 2 else "not along channels"
            return comp.bad.append((name, op.source_type or self.TYPE, f"concat {why}"))
        homes = [comp.homes[x].get("kpu") for x in op.inputs]
        parents = {id(b.parent) for b in homes if b is not None and b.parent is not None}
        if all(b is not None and b.parent is not None for b in homes) and len(parents) == 1 \
                and all(x not in comp.pending for x in op.inputs):
            parent = homes[0].parent
            for b in homes:
                comp.use(b)
            comp.homes[out] = {"kpu": parent}
            comp.kpu_concat[out] = list(op.inputs)
            return
        srcs = [comp.need_u8(x) for x in op.inputs]
        n = int(np.prod(shp))
        ob = comp.buf("main", n, out + ":u8")
        comp.gather(name, [(b, 0, b.size) for b in srcs], ob, tuple(comp.chw(comp.shape(x)) for x in op.inputs),
                    comp.chw(shp), "byte concat along channels")
        comp.homes[out] = {"u8": ob}

    def _concat_rows(self, comp, op):
        """Row-major parts one after the other: the bytes of the concat along rows."""
        out = op.outputs[0]
        f32 = all("f32" in comp.homes[x] and "u8" not in comp.homes[x] for x in op.inputs)
        srcs = [comp.need_f32(x) if f32 else comp.need_u8(x) for x in op.inputs]
        n = int(np.prod(comp.shape(out)))
        ob = comp.buf("main", 4 * n if f32 else n, out + (":f32" if f32 else ":u8"), "f32" if f32 else "u8")
        comp.gather(op.name, [(b, 0, b.size) for b in srcs], ob, tuple(comp.shape(x) for x in op.inputs),
                    comp.shape(out), "concat along rows", f32=f32)
        comp.homes[out] = {"f32" if f32 else "u8": ob}
