"""K210 graph rewrites before lowering: forms the KPU cannot take as they are, rewritten into forms it can.

A KPU layer has at most 1024 output channels (its channel fields are 10 bits). A conv with more (MobileNetV2's
last 1x1 conv, 320 -> 1280) becomes convs of at most 1024 output channels each, joined by a channel concat;
the parts write straight into one KPU RAM map (the compiler's in-place concat); a CPU layer reading the result
gets its main-memory copy from the parts' outputs by one byte gather (QUANTIZED_CONCAT)."""
from __future__ import annotations

from ...ir.opdef import opdef

KPU_MAX_CHANNELS = 1024


def split_wide_convs(g, limit=KPU_MAX_CHANNELS):
    """Rewrites g in place; returns the names of the ops split."""
    split = []
    for op in list(g.ops):
        d = opdef(op.type)
        if not d.CONV or len(g.shape(op.inputs[0])) != 3 or g.shape(op.inputs[0])[2] > limit:
            continue
        oc = d.out_channels(op.attrs["weights"])
        if oc <= limit:
            continue
        ranges = [(lo, min(oc, lo + limit)) for lo in range(0, oc, limit)]
        slices = [d.out_channel_slice(op.attrs, lo, hi) for lo, hi in ranges]
        if slices[0] is None:
            continue
        out = op.outputs[0]
        h, w, _ = g.shape(out)
        pos = g.ops.index(op)
        g.ops.remove(op)
        parts = []
        for j, ((lo, hi), attrs) in enumerate(zip(ranges, slices)):
            name = g.unique_name(f"{op.name}/ch{lo}")
            g.add_tensor(name, (h, w, hi - lo))
            g.ops.insert(pos + j, type(op)(op.type, name, list(op.inputs), [name], attrs, op.source_type))
            parts.append(name)
        g.ops.insert(pos + len(parts), type(op)("concat", op.name, parts, [out], {"axis": -1}, op.source_type))
        split.append(op.name)
    if split:
        g.infer_shapes()
    return split
