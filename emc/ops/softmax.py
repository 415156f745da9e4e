"""softmax over the last axis. On the K210 an f32 SOFTMAX CPU layer over a vector (or a 1x1xN map); over the
rows of a 2-D (rows, K) tensor (a detection head's class scores) one SOFTMAX layer per row, on consecutive
K-float slices, up to MAX_K210_ROWS rows (each costs a 24-byte layer in the kmodel and one dispatch)."""
from __future__ import annotations

import numpy as np

from ..ir.execute import softmax
from ..ir.opdef import ElementwiseOpDef, register
from ..kmodel.layers import Softmax


# rows of a 2-D softmax the K210 lowering takes: 24 KiB of layer table at most
MAX_K210_ROWS = 1024


@register
class SoftmaxOp(ElementwiseOpDef):
    TYPE = "softmax"
    K210_ROWS_IN = True

    def run_float(self, attrs, xs):
        return softmax(xs[0])

    def to_tf(self, tf, xs, attrs):
        return tf.nn.softmax(xs[0])

    def lower_k210(self, comp, op):
        out = op.outputs[0]
        shp = comp.shape(out)
        n = int(np.prod(shp))
        rows, k = (shp[0], shp[1]) if len(shp) == 2 else (1, n)
        if len(shp) == 3 and n != shp[-1]:    # a 1x1xN map is a vector in CHW
            return comp.bad.append((op.name, op.source_type or self.TYPE, "softmax over a map larger than 1x1"))
        if rows > MAX_K210_ROWS:
            return comp.bad.append((op.name, op.source_type or self.TYPE, (
                f"softmax over {rows} rows of {shp}: one SOFTMAX layer per row, at most {MAX_K210_ROWS}; "
                "convert with save_kmodel(..., softmax=False) and apply it on the host")))
        src = comp.need_f32(op.inputs[0])
        ob = comp.buf("main", 4 * n, out + ":f32", "f32")
        for r in range(rows):
            lay = Softmax(flags=0, main_mem_in_address=0, main_mem_out_address=0, channels=k)
            comp.emit_io(lay, op.name, src, ob, (k,), (k,), f"row {r}" if rows > 1 else "", offset=4 * k * r)
        comp.homes[out] = {"f32": ob}
