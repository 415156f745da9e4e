"""int8 .tflite -> kmodel v3 container of generic layers (parsed with the `tflite` package).

Every quantization parameter is taken from the file as is (no requantization); the derived
fixed-point multipliers are computed exactly as TFLM's Prepare functions compute them.

This module knows no operator: each generic layer module names the TFLite operators it takes
(`TFLITE_OPS`) and builds its layer from them (`from_tflite(ctx, op)`, a list of layers for an
operator with several outputs), asking the `TFLiteContext`
below for tensors, options, constants, addresses and activation ranges. The registry is
`emc.kmodel.layers.generic_layers.TFLITE_OPS`.
"""
from __future__ import annotations

import math

import numpy as np
import tflite
from tflite.ActivationFunctionType import ActivationFunctionType as Act
from tflite.BuiltinOperator import BuiltinOperator as Op
from tflite.Padding import Padding

from ...frontends.tflite_verify import verify_tflite
from ...kmodel.container import KModel
from ...kmodel.layers import generic_layers as G
from ...kmodel.layers.generic_input import MAX_INPUTS
from .planner import plan

F32 = np.float32
_ITEM = {tflite.TensorType.INT8: 1, tflite.TensorType.FLOAT32: 4, tflite.TensorType.INT32: 4,
         tflite.TensorType.UINT8: 1, tflite.TensorType.INT16: 2, tflite.TensorType.INT64: 8}
_OP_NAMES = {v: k for k, v in vars(Op).items() if not k.startswith("_")}
# a layer's TFLite dtype names (what `ctx.tensor(i)["dtype"]` gives)
DTYPES = {tflite.TensorType.INT8: "i8", tflite.TensorType.FLOAT32: "f32", tflite.TensorType.INT32: "i32",
          tflite.TensorType.UINT8: "u8", tflite.TensorType.INT16: "i16", tflite.TensorType.INT64: "i64"}


class ImportError_(ValueError):
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
    if act == Act.NONE:
        return -128, 127
    if act == Act.RELU:
        return max(-128, q(0.0)), 127
    if act == Act.RELU6:
        return max(-128, q(0.0)), min(127, q(6.0))
    if act == Act.RELU_N1_TO_1:
        return max(-128, q(-1.0)), min(127, q(1.0))
    raise ImportError_(f"fused activation {act} not supported")


class TFLiteOp:
    """One operator as a layer module sees it: its name, inputs, outputs and options."""

    def __init__(self, ctx, index, raw):
        self.index = index
        self.raw = raw
        self.name = _OP_NAMES.get(ctx.opcode(raw), str(ctx.opcode(raw)))
        self.inputs = [int(v) for v in raw.InputsAsNumpy()] if raw.InputsLength() else []
        self.outputs = [int(v) for v in raw.OutputsAsNumpy()]

    def options(self, cls_name):
        o = getattr(tflite, cls_name)()
        t = self.raw.BuiltinOptions()
        if t is not None:
            o.Init(t.Bytes, t.Pos)
        return o


class TFLiteContext:
    """What a layer module's `from_tflite` may ask about the model being imported."""

    SAME = Padding.SAME
    Error = ImportError_

    def __init__(self, data, fc_weights="int8"):
        self.fc_weights = fc_weights   # the FULLY_CONNECTED weight layout asked for ("int8" / "int16")
        self.m = tflite.Model.GetRootAsModel(data, 0)
        if self.m.SubgraphsLength() != 1:
            raise ImportError_("only single-subgraph models are supported")
        self.g = self.m.Subgraphs(0)
        self.offsets = {}
        self.shapes = {}             # tensor -> shape folded at import (computed reshapes)
        self.folded_pads = {}        # operator index -> (top, bottom, left, right) of a PAD folded into it

    def tensor(self, i):
        """dict(shape, dtype ('i8', 'f32', ...), scale (array), zp (array), qdim, name)."""
        t = self.g.Tensors(i)
        q = t.Quantization()
        scales = q.ScaleAsNumpy() if q is not None and q.ScaleLength() else np.zeros(0, F32)
        zps = q.ZeroPointAsNumpy() if q is not None and q.ZeroPointLength() else np.zeros(0, np.int64)
        shape = t.ShapeAsNumpy()
        if i in self.shapes:
            shape = self.shapes[i]
        return dict(shape=tuple(int(v) for v in shape) if not isinstance(shape, int) else (),
                    dtype=DTYPES.get(t.Type(), str(t.Type())), scale=np.asarray(scales, F32),
                    zp=np.asarray(zps, np.int64), qdim=q.QuantizedDimension() if q is not None else 0,
                    name=(t.Name() or b"").decode(errors="replace") or f"tensor {i}")

    def q(self, i):
        """(scale, zero point) of a per-tensor quantized tensor."""
        t = self.tensor(i)
        if t["scale"].size != 1:
            raise ImportError_(f"tensor {t['name']!r} needs one scale and zero point, has {t['scale'].size}")
        return float(t["scale"][0]), int(t["zp"][0])

    def nbytes(self, i):
        t = self.g.Tensors(i)
        return int(np.prod(self.tensor(i)["shape"])) * _ITEM[t.Type()]

    def data(self, i, dtype):
        """The constant data of tensor i, or None when it has none (an activation)."""
        buf = self.m.Buffers(self.g.Tensors(i).Buffer())
        if buf is None or buf.DataLength() == 0:
            return None
        return np.frombuffer(buf.DataAsNumpy().tobytes(), dtype)

    def opcode(self, raw):
        oc = self.m.OperatorCodes(raw.OpcodeIndex())
        return max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())

    def addr(self, i):
        """Main-buffer offset of an activation tensor (0 during the planning pass)."""
        return self.offsets.get(i, 0)

    act_range = staticmethod(act_range)
    out_and_pad = staticmethod(out_and_pad)

    def window(self, op, ih, iw, kh, kw, sh, sw, dh, dw, same):
        """(out_h, out_w, pad_top, pad_left) of a windowed operator over its input, counting a PAD
        folded into it at import (fold_pads)."""
        t, b, left, r = self.folded_pads.get(op.index, (0, 0, 0, 0))
        oh, pt = out_and_pad(ih + t + b, kh, sh, dh, same)
        ow, pl = out_and_pad(iw + left + r, kw, sw, dw, same)
        return oh, ow, pt + t, pl + left


def is_quantized_tflite(data: bytes, label="tflite buffer") -> bool:
    """True when the model computes in int8/uint8 (any int8/uint8 tensor): imported as is.
    A float model goes through the IR and the int8 quantization of emc.quant.tflite_int8."""
    verify_tflite(data, label)
    g = tflite.Model.GetRootAsModel(data, 0).Subgraphs(0)
    return any(g.Tensors(i).Type() in (tflite.TensorType.INT8, tflite.TensorType.UINT8)
               for i in range(g.TensorsLength()))


def shape_only_ops(ops, graph_outputs):
    """Indices of ops whose outputs only feed RESHAPE's shape operand (or other such ops): the
    SHAPE -> STRIDED_SLICE -> PACK chains converters emit for Flatten / computed reshapes. The
    file records every tensor's static shape, so the chain folds away at import (no layer)."""
    uses = {}
    for k, op in enumerate(ops):
        for j, t in enumerate(op.inputs):
            uses.setdefault(t, []).append((k, op.name == "RESHAPE" and j == 1))
    skip = set()
    for k in range(len(ops) - 1, -1, -1):
        outs = ops[k].outputs
        if outs and not any(t in graph_outputs for t in outs) and all(
                uses.get(t) and all(shape_use or user in skip for user, shape_use in uses[t]) for t in outs):
            skip.add(k)
    return skip


def fold_shapes(ctx, ops, skip):
    """Evaluate the shape-only ops (int32 vectors) and give every RESHAPE output the shape they
    compute: a file written with a dynamic batch stores placeholder static shapes there."""
    vals = {}

    def value(t):
        v = vals.get(t)
        if v is None:
            v = ctx.data(t, "<i4")
        if v is None:
            raise ImportError_(f"tensor {ctx.tensor(t)['name']!r} of a shape computation is not constant")
        return np.asarray(v, np.int64).reshape(ctx.tensor(t)["shape"]) if t not in vals else v

    for k, op in enumerate(ops):
        if k in skip:
            if op.name == "SHAPE":
                vals[op.outputs[0]] = np.array(ctx.tensor(op.inputs[0])["shape"], np.int64)
            elif op.name == "STRIDED_SLICE":
                x, b, e, s = (value(t) for t in op.inputs[:4])
                o = op.options("StridedSliceOptions")
                if x.ndim != 1 or o.EllipsisMask() or o.NewAxisMask():
                    raise ImportError_(f"STRIDED_SLICE #{op.index} in a shape computation: only 1-D slices fold")
                r = x[None if o.BeginMask() & 1 else int(b[0]):None if o.EndMask() & 1 else int(e[0]):int(s[0])]
                vals[op.outputs[0]] = r[0] if o.ShrinkAxisMask() & 1 else r
            elif op.name == "PACK":
                vals[op.outputs[0]] = np.stack([value(t) for t in op.inputs], axis=op.options("PackOptions").Axis())
            elif op.name == "CONCATENATION":
                vals[op.outputs[0]] = np.concatenate([np.atleast_1d(value(t)) for t in op.inputs])
            else:
                raise ImportError_(f"{op.name} #{op.index} in a shape computation does not fold")
        elif op.name == "RESHAPE" and len(op.inputs) > 1 and op.inputs[1] >= 0:
            new = [int(v) for v in np.atleast_1d(value(op.inputs[1]))]
            count = int(np.prod(ctx.tensor(op.inputs[0])["shape"]))
            if -1 in new:
                known = int(np.prod([v for v in new if v != -1]))
                new[new.index(-1)] = count // max(known, 1)
            if int(np.prod(new)) != count:
                raise ImportError_(f"RESHAPE #{op.index}: shape {new} does not hold {count} elements")
            ctx.shapes[op.outputs[0]] = tuple(new)


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
        raise ImportError_(f"operator {op.name} (#{op.index}) is not supported by the generic profile")
    return cls


FC_WEIGHT_LAYOUTS = ("int8", "int16")


def import_tflite(data: bytes, label="tflite buffer", fc_weights="int8") -> KModel:
    """Build a generic-profile KModel from an int8 .tflite (bytes). fc_weights="int16" stores the
    FULLY_CONNECTED weights as int16 (twice their flash, faster on Cortex-M DSP: the FC_WEIGHTS_I16
    layout of emc/kmodel/layers/generic_fully_connected.py)."""
    if fc_weights not in FC_WEIGHT_LAYOUTS:
        raise ValueError(f"fc_weights must be one of {', '.join(FC_WEIGHT_LAYOUTS)}, not {fc_weights!r}")
    verify_tflite(data, label)          # every offset, length and index checked before tflite reads any
    ctx = TFLiteContext(bytes(data), fc_weights)
    g = ctx.g
    if not 1 <= g.InputsLength() <= MAX_INPUTS:
        raise ImportError_(f"the model has {g.InputsLength()} inputs; the generic profile takes 1..{MAX_INPUTS}")
    ops = [TFLiteOp(ctx, i, g.Operators(i)) for i in range(g.OperatorsLength())]
    graph_outputs = {g.Outputs(k) for k in range(g.OutputsLength())}
    skip = shape_only_ops(ops, graph_outputs)
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
    in_ts = [root(g.Inputs(k)) for k in range(g.InputsLength())]
    for t in in_ts:
        life[t] = [0, 0]
    for i, op in enumerate(ops):
        for t in op.inputs:
            if t >= 0 and root(t) in life:
                life[root(t)][1] = i + 1
        for t in op.outputs:
            r = root(t)
            if r not in life:
                life[r] = [i + 1, i + 1]
    for k in range(g.OutputsLength()):
        life[root(g.Outputs(k))][1] = len(ops) + 1

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
            if t >= 0 and root(t) in life and life[root(t)][1] == pos and root(t) != out:
                overlaps[(out, root(t))] = lag
    offsets, total = plan({t: (ctx.nbytes(t), a, b) for t, (a, b) in life.items()}, overlaps)
    ctx.offsets = {t: offsets[root(t)] for t in set(alias) | set(offsets)}

    layers = [G.GenericInput.for_tensor(ctx, t) for t in in_ts]
    for op, cls in built:
        made = cls.from_tflite(ctx, op)
        layers += made if isinstance(made, list) else [made]
    outputs = [(ctx.addr(g.Outputs(k)), ctx.nbytes(g.Outputs(k))) for k in range(g.OutputsLength())]
    layers += [G.GenericOutput.for_tensor(ctx, g.Outputs(k)) for k in range(g.OutputsLength())]
    return KModel(layers=layers, outputs=outputs, flags=1, main_mem_usage=total)
