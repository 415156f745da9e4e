"""A tfl-dialect IR graph (an int8 .tflite read by emc/frontends/tflite_reader.py) -> kmodel v3
container of generic layers.

Every quantization parameter is taken from the graph (the file's) as is (no requantization); the
derived fixed-point multipliers are computed exactly as TFLM's Prepare functions compute them.

This module knows no operator: each generic layer module names the TFLite operators it takes
(`TFLITE_OPS`) and builds its layer from one tfl op (`from_tflite(ctx, op)`, a list of layers for an
operator with several outputs), asking the `IRContext` below for tensors, options, constants,
addresses and activation ranges. The registry is `emc.kmodel.layers.generic_layers.TFLITE_OPS`.
Before the layers are built, shape-only chains fold into the RESHAPE they feed (fold_shapes writes
the shapes they compute into the graph's tensors) and a PAD folds into the window of the layer that
reads it (fold_pads, on the builder's own view of the ops: the graph's ops stay as the file has them).
"""
from __future__ import annotations

import math

import numpy as np

from ...ir import tfl
from ...kmodel.container import KModel
from ...kmodel.layers import generic_layers as G
from ...kmodel.layers.generic_input import MAX_INPUTS
from .planner import plan

F32 = np.float32


class BuildError(ValueError):
    pass


def out_and_pad(in_sz, k, stride, dil, same):
    """TFLite's output size and leading padding of one spatial axis (Padding SAME / VALID)."""
    eff = (k - 1) * dil + 1
    if same:
        out = (in_sz + stride - 1) // stride
    else:
        out = (in_sz - eff + stride) // stride
    pad = max(((out - 1) * stride + eff - in_sz) // 2, 0)
    return out, pad


def act_range(act, scale, zp):
    """TFLM CalculateActivationRangeQuantized for int8 and a fused activation (enum value)."""
    def q(f):
        v = F32(f) / F32(scale)
        return zp + int(math.copysign(math.floor(abs(float(v)) + 0.5), float(v)))
    if act == tfl.ACT_NONE:
        return -128, 127
    if act == tfl.ACT_RELU:
        return max(-128, q(0.0)), 127
    if act == tfl.ACT_RELU6:
        return max(-128, q(0.0)), min(127, q(6.0))
    if act == tfl.ACT_RELU_N1_TO_1:
        return max(-128, q(-1.0)), min(127, q(1.0))
    raise BuildError(f"fused activation {act} not supported")


class _Options:
    """One options table of a tfl op, read the way the `tflite` package reads it (opt.StrideH()),
    from the op's decoded attrs (attrs["stride_h"])."""

    def __init__(self, op, attrs):
        self._op, self._attrs = op, attrs

    def __getattr__(self, field):
        key = tfl.attr_name(field)
        if key not in self._attrs:
            raise BuildError(f"{self._op.name} #{self._op.index}: its options have no {field}")
        return lambda: self._attrs[key]


class IROp:
    """One tfl op as a layer module sees it: its builtin name, its position in the file, its input
    and output tensors (IR tensor names; None for an absent optional input) and its options."""

    def __init__(self, index, op):
        self.index = index
        self.name = tfl.builtin(op)
        self.attrs = op.attrs
        self.inputs = list(op.inputs)       # own lists: the folds below rewire them
        self.outputs = list(op.outputs)

    def options(self, table):
        """The op's builtin options, table the one its layer module reads ("Conv2DOptions")."""
        if self.attrs.get("options_table") != table:
            raise BuildError(f"{self.name} #{self.index}: the file gives no {table}")
        return _Options(self, self.attrs)


class IRContext:
    """What a layer module's `from_tflite` may ask about the tfl graph being built."""

    SAME = tfl.PADDING_SAME
    Error = BuildError

    def __init__(self, graph, fc_weights="int8"):
        self.g = graph
        self.fc_weights = fc_weights   # the FULLY_CONNECTED weight layout asked for ("int8" / "int16")
        self.offsets = {}
        self.folded_pads = {}        # operator index -> (top, bottom, left, right) of a PAD folded into it

    def tensor(self, t):
        """dict(shape, dtype ('i8', 'f32', ...), scale (array), zp (array), qdim, name)."""
        x = self.g.tensors[t]
        q = x.quant
        return dict(shape=x.shape, dtype=x.dtype, scale=q.scale if q is not None else np.zeros(0, F32),
                    zp=q.zero_point if q is not None else np.zeros(0, np.int64),
                    qdim=q.axis if q is not None else 0, name=x.name)

    def q(self, t):
        """(scale, zero point) of a per-tensor quantized tensor."""
        x = self.tensor(t)
        if x["scale"].size != 1:
            raise BuildError(f"tensor {x['name']!r} needs one scale and zero point, has {x['scale'].size}")
        return float(x["scale"][0]), int(x["zp"][0])

    def nbytes(self, t):
        x = self.g.tensors[t]
        return int(np.prod(x.shape)) * tfl.ITEMSIZE[x.dtype]

    def data(self, t, dtype):
        """The constant data of tensor t read as dtype (flat), or None when it has none (an activation)."""
        value = self.g.tensors[t].data
        return None if value is None else np.frombuffer(value.tobytes(), dtype)

    def addr(self, t):
        """Main-buffer offset of an activation tensor (0 during the planning pass)."""
        return self.offsets.get(t, 0)

    act_range = staticmethod(act_range)
    out_and_pad = staticmethod(out_and_pad)

    def window(self, op, ih, iw, kh, kw, sh, sw, dh, dw, same):
        """(out_h, out_w, pad_top, pad_left) of a windowed operator over its input, counting a PAD
        folded into it (fold_pads)."""
        t, b, left, r = self.folded_pads.get(op.index, (0, 0, 0, 0))
        oh, pt = out_and_pad(ih + t + b, kh, sh, dh, same)
        ow, pl = out_and_pad(iw + left + r, kw, sw, dw, same)
        return oh, ow, pt + t, pl + left


def fold_shapes(ctx, ops, skip):
    """Evaluate the shape-only ops (int32 vectors) and give every RESHAPE output tensor (in the
    graph) the shape they compute: a file written with a dynamic batch stores placeholder static
    shapes there."""
    vals = {}

    def value(t):
        v = vals.get(t)
        if v is None:
            v = ctx.data(t, "<i4")
        if v is None:
            raise BuildError(f"tensor {ctx.tensor(t)['name']!r} of a shape computation is not constant")
        return np.asarray(v, np.int64).reshape(ctx.tensor(t)["shape"]) if t not in vals else v

    for k, op in enumerate(ops):
        if k in skip:
            if op.name == "SHAPE":
                vals[op.outputs[0]] = np.array(ctx.tensor(op.inputs[0])["shape"], np.int64)
            elif op.name == "STRIDED_SLICE":
                x, b, e, s = (value(t) for t in op.inputs[:4])
                o = op.options("StridedSliceOptions")
                if x.ndim != 1 or o.EllipsisMask() or o.NewAxisMask():
                    raise BuildError(f"STRIDED_SLICE #{op.index} in a shape computation: only 1-D slices fold")
                r = x[None if o.BeginMask() & 1 else int(b[0]):None if o.EndMask() & 1 else int(e[0]):int(s[0])]
                vals[op.outputs[0]] = r[0] if o.ShrinkAxisMask() & 1 else r
            elif op.name == "PACK":
                vals[op.outputs[0]] = np.stack([value(t) for t in op.inputs], axis=op.options("PackOptions").Axis())
            elif op.name == "CONCATENATION":
                vals[op.outputs[0]] = np.concatenate([np.atleast_1d(value(t)) for t in op.inputs])
            else:
                raise BuildError(f"{op.name} #{op.index} in a shape computation does not fold")
        elif op.name == "RESHAPE" and len(op.inputs) > 1 and op.inputs[1] is not None:
            new = [int(v) for v in np.atleast_1d(value(op.inputs[1]))]
            count = int(np.prod(ctx.tensor(op.inputs[0])["shape"]))
            if -1 in new:
                known = int(np.prod([v for v in new if v != -1]))
                new[new.index(-1)] = count // max(known, 1)
            if int(np.prod(new)) != count:
                raise BuildError(f"RESHAPE #{op.index}: shape {new} does not hold {count} elements")
            ctx.g.tensors[op.outputs[0]].shape = tuple(new)


def fold_pads(ctx, ops, graph_outputs):
    """Drop each PAD whose only reader is a conv / depthwise conv / max pool that can take its
    padding with TFLM's numbers unchanged (GenericPad.foldable); that reader then reads the PAD's
    input and counts the padding in its own pad_top / pad_left (ctx.window)."""
    readers = {}
    for op in ops:
        for j, t in enumerate(op.inputs):
            readers.setdefault(t, []).append((op, j))
    dropped = set()
    for op in ops:
        if op.name not in G.GenericPad.TFLITE_OPS or op.outputs[0] in graph_outputs:
            continue
        users = readers.get(op.outputs[0], [])
        if len(users) != 1 or users[0][1] != 0 or users[0][0].index in ctx.folded_pads:
            continue
        consumer = users[0][0]
        pads = G.GenericPad.foldable(ctx, op, G.TFLITE_OPS.get(consumer.name))
        if pads is None:
            continue
        ctx.folded_pads[consumer.index] = pads
        consumer.inputs[0] = op.inputs[0]
        readers.setdefault(op.inputs[0], []).append((consumer, 0))
        dropped.add(op.index)
    return [op for op in ops if op.index not in dropped]


def _layer_class(op):
    cls = G.TFLITE_OPS.get(op.name)
    if cls is None:
        raise BuildError(f"operator {op.name} (#{op.index}) is not supported by the generic profile")
    return cls


FC_WEIGHT_LAYOUTS = ("int8", "int16")


def build_kmodel(graph, fc_weights="int8") -> KModel:
    """Build a generic-profile KModel from a tfl-dialect graph of an int8 model (fold_shapes updates
    the graph's RESHAPE output shapes). fc_weights="int16" stores the FULLY_CONNECTED weights as int16
    (twice their flash, faster on Cortex-M DSP: the FC_WEIGHTS_I16 layout of
    emc/kmodel/layers/generic_fully_connected.py)."""
    if fc_weights not in FC_WEIGHT_LAYOUTS:
        raise ValueError(f"fc_weights must be one of {', '.join(FC_WEIGHT_LAYOUTS)}, not {fc_weights!r}")
    ctx = IRContext(graph, fc_weights)
    if not 1 <= len(graph.inputs) <= MAX_INPUTS:
        raise BuildError(f"the model has {len(graph.inputs)} inputs; the generic profile takes 1..{MAX_INPUTS}")
    ops = [IROp(k, op) for k, op in enumerate(graph.ops)]
    graph_outputs = set(graph.outputs)
    skip = tfl.shape_only_ops(graph.ops, graph_outputs)
    fold_shapes(ctx, ops, skip)
    ops = [op for k, op in enumerate(ops) if k not in skip]
    ops = fold_pads(ctx, ops, graph_outputs)
    for op in ops:
        if op.name == "RESHAPE":
            op.inputs = op.inputs[:1]          # the static output shape is in the file
    alias = {}                    # outputs that share their input's bytes (RESHAPE) -> that input

    def root(t):
        while t in alias:
            t = alias[t]
        return t

    for op in ops:
        if getattr(_layer_class(op), "ALIASES_INPUT", False):
            alias[op.outputs[0]] = op.inputs[0]
    # lifetimes over layer positions: input at 0, op i at i + 1
    life = {}
    in_ts = [root(t) for t in graph.inputs]
    for t in in_ts:
        life[t] = [0, 0]
    for i, op in enumerate(ops):
        for t in op.inputs:
            if t is not None and root(t) in life:
                life[root(t)][1] = i + 1
        for t in op.outputs:
            r = root(t)
            if r not in life:
                life[r] = [i + 1, i + 1]
    for t in graph.outputs:
        life[root(t)][1] = len(ops) + 1

    # first pass at address 0: each layer's geometry gives the overlap it allows
    overlaps = {}
    built = []
    for pos, op in enumerate(ops, 1):
        cls = _layer_class(op)
        if getattr(cls, "ALIASES_INPUT", False):
            continue
        layer = cls.from_tflite(ctx, op)
        built.append((op, cls))
        if isinstance(layer, list):       # one layer per output (SPLIT): no overlap
            continue
        lag = layer.overlap_lag()
        if lag is None:
            continue
        out = root(op.outputs[0])
        for t in op.inputs:
            if t is not None and root(t) in life and life[root(t)][1] == pos and root(t) != out:
                overlaps[(out, root(t))] = lag
    # the planner breaks ties by tensor key: the file's tensor indices (graph.tensors keeps the file's order)
    index = {t: k for k, t in enumerate(graph.tensors)}
    offsets, total = plan({index[t]: (ctx.nbytes(t), a, b) for t, (a, b) in life.items()},
                          {(index[o], index[i]): lag for (o, i), lag in overlaps.items()})
    ctx.offsets = {t: offsets[index[root(t)]] for t in set(alias) | set(life)}

    layers = [G.GenericInput.for_tensor(ctx, t) for t in in_ts]
    for op, cls in built:
        made = cls.from_tflite(ctx, op)
        layers += made if isinstance(made, list) else [made]
    outputs = [(ctx.addr(t), ctx.nbytes(t)) for t in graph.outputs]
    layers += [G.GenericOutput.for_tensor(ctx, t) for t in graph.outputs]
    return KModel(layers=layers, outputs=outputs, flags=1, main_mem_usage=total)
