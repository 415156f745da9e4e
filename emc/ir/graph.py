"""Tensors, ops and the graph (DAG) with shape inference, validation and topological order."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

ACTIVATIONS = ("linear", "relu", "relu6", "leaky_relu", "sigmoid", "tanh", "softmax",
               # smooth elementwise functions: fitted into the KPU's 16-segment table
               "swish", "hard_swish", "hard_sigmoid", "elu", "selu", "softplus", "gelu", "gelu_tanh", "mish")

# op type -> (min inputs, max inputs); None = unbounded
OP_ARITY = {
    "conv2d": (1, 1), "depthwise_conv2d": (1, 1), "dense": (1, 1), "batch_norm": (1, 1),
    "activation": (1, 1), "max_pool2d": (1, 1), "avg_pool2d": (1, 1), "global_avg_pool": (1, 1),
    "global_max_pool": (1, 1), "pad": (1, 1), "flatten": (1, 1), "reshape": (1, 1),
    "softmax": (1, 1), "add": (2, None), "concat": (2, None), "resize_nearest": (1, 1),
}
ACT_OPS = ("conv2d", "depthwise_conv2d", "dense", "batch_norm", "add", "activation")


class IRError(ValueError):
    """The graph is inconsistent (bad shapes, dangling tensors, cycles, bad attributes)."""


class UnsupportedLayersError(ValueError):
    """One error for a whole model: every layer a frontend or backend cannot handle, by name and type."""

    def __init__(self, items, where="model"):
        # items: list of (layer name, layer type, reason)
        self.items = list(items)
        lines = [f"  - {n} ({t}){': ' + r if r else ''}" for n, t, r in self.items]
        super().__init__(f"{len(self.items)} unsupported layer(s) in {where}:\n" + "\n".join(lines))


@dataclass
class QuantParams:
    """Affine quantization real = scale * (q - zero_point). scale/zero_point may be per-channel arrays."""
    scale: float | np.ndarray
    zero_point: int | np.ndarray = 0
    dtype: str = "u8"
    axis: int | None = None
    min: float | None = None       # calibrated real range, if known
    max: float | None = None

    def quantize(self, x):
        lo, hi = (0, 255) if self.dtype == "u8" else (-128, 127)
        return np.clip(np.round(np.asarray(x, np.float64) / self.scale + self.zero_point), lo, hi).astype(
            np.uint8 if self.dtype == "u8" else np.int8)

    def dequantize(self, q):
        return (np.asarray(q, np.float64) - self.zero_point) * self.scale


@dataclass
class Tensor:
    name: str
    shape: tuple | None = None         # without batch; (H, W, C) for maps
    dtype: str = "f32"
    quant: QuantParams | None = None   # known quantization (e.g. from an int8 TFLite file)
    data: np.ndarray | None = None     # a constant's value (tfl graphs: the file's buffer, typed and shaped)

    @property
    def size(self):
        return int(np.prod(self.shape)) if self.shape is not None else None


@dataclass
class Op:
    type: str
    name: str
    inputs: list
    outputs: list
    attrs: dict = field(default_factory=dict)
    source_type: str = ""              # the framework's layer class, for messages/reports

    def __repr__(self):
        return f"Op({self.type} {self.name!r} {self.inputs}->{self.outputs})"


def conv_out_pads(size, k, s, padding, dilation=1):
    """Output size and (before, after) padding for one spatial axis, TF semantics."""
    ke = (k - 1) * dilation + 1
    if isinstance(padding, (tuple, list)):
        before, after = padding
        return (size + before + after - ke) // s + 1, (before, after)
    if padding == "valid":
        return (size - ke) // s + 1, (0, 0)
    if padding == "same":
        out = -(-size // s)
        total = max((out - 1) * s + ke - size, 0)
        return out, (total // 2, total - total // 2)
    raise IRError(f"unknown padding {padding!r}")


class Graph:
    def __init__(self, name="model"):
        self.name = name
        self.tensors: dict[str, Tensor] = {}
        self.ops: list[Op] = []
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        self.meta: dict = {}

    # -- building ---------------------------------------------------------------------------
    def add_tensor(self, name, shape=None, dtype="f32", quant=None):
        if name in self.tensors:
            t = self.tensors[name]
            if shape is not None:
                t.shape = tuple(shape)
            return t
        t = Tensor(name, tuple(shape) if shape is not None else None, dtype, quant)
        self.tensors[name] = t
        return t

    def add_input(self, name, shape, quant=None):
        self.add_tensor(name, shape, quant=quant)
        self.inputs.append(name)
        return name

    def add_op(self, type, name, inputs, outputs=None, source_type="", **attrs):
        if outputs is None:
            outputs = [name]
        if isinstance(inputs, str):
            inputs = [inputs]
        if isinstance(outputs, str):
            outputs = [outputs]
        for t in list(inputs) + list(outputs):
            self.add_tensor(t)
        op = Op(type, name, list(inputs), list(outputs), attrs, source_type)
        self.ops.append(op)
        return op.outputs[0]

    def unique_name(self, base):
        names = set(self.tensors) | {o.name for o in self.ops}
        if base not in names:
            return base
        i = 1
        while f"{base}_{i}" in names:
            i += 1
        return f"{base}_{i}"

    # -- queries ----------------------------------------------------------------------------
    def producer(self, tname):
        for op in self.ops:
            if tname in op.outputs:
                return op
        return None

    def consumers(self, tname):
        return [op for op in self.ops if tname in op.inputs]

    def op(self, name):
        for op in self.ops:
            if op.name == name:
                return op
        raise KeyError(name)

    def shape(self, tname):
        return self.tensors[tname].shape

    # -- order ------------------------------------------------------------------------------
    def toposort(self):
        """Order ops so every op comes after the producers of its inputs (stable w.r.t. insertion)."""
        produced = set(self.inputs)
        pending = list(self.ops)
        out = []
        while pending:
            progress = False
            rest = []
            for op in pending:
                if all(t in produced for t in op.inputs):
                    out.append(op)
                    produced.update(op.outputs)
                    progress = True
                else:
                    rest.append(op)
            if not progress:
                missing = sorted({t for op in rest for t in op.inputs if t not in produced
                                  and self.producer(t) is None})
                if missing:
                    raise IRError(f"tensors used but never produced: {missing}")
                raise IRError("graph has a cycle through ops " + ", ".join(o.name for o in rest))
            pending = rest
        self.ops = out
        return out

    def prune(self):
        """Drop ops whose outputs reach no graph output."""
        live = set(self.outputs)
        keep = []
        for op in reversed(self.toposort()):
            if any(t in live for t in op.outputs):
                keep.append(op)
                live.update(op.inputs)
        self.ops = list(reversed(keep))
        self.tensors = {k: v for k, v in self.tensors.items() if k in live or k in self.inputs}

    # -- shapes -----------------------------------------------------------------------------
    def infer_shapes(self):
        for op in self.toposort():
            ins = [self.tensors[t].shape for t in op.inputs]
            if any(s is None for s in ins):
                raise IRError(f"op {op.name}: input shape unknown")
            try:
                out = _infer(op, ins)
            except IRError:
                raise
            except Exception as e:  # noqa: BLE001 - turn any attribute problem into an IRError
                raise IRError(f"op {op.name} ({op.type}): cannot infer shape from {ins}: {e}") from e
            self.tensors[op.outputs[0]].shape = tuple(int(v) for v in out)
        return self

    def validate(self):
        errors = []
        seen_out = {}
        for op in self.ops:
            if op.type not in OP_ARITY:
                errors.append(f"op {op.name}: unknown type {op.type}")
                continue
            lo, hi = OP_ARITY[op.type]
            if len(op.inputs) < lo or (hi is not None and len(op.inputs) > hi):
                errors.append(f"op {op.name} ({op.type}): {len(op.inputs)} inputs")
            for t in op.outputs:
                if t in seen_out:
                    errors.append(f"tensor {t} produced by both {seen_out[t]} and {op.name}")
                seen_out[t] = op.name
                if t in self.inputs:
                    errors.append(f"graph input {t} is produced by op {op.name}")
            act = op.attrs.get("act", "linear")
            if act not in ACTIVATIONS:
                errors.append(f"op {op.name}: unknown activation {act}")
        for t in self.outputs:
            if t not in self.tensors:
                errors.append(f"graph output {t} does not exist")
        if not self.inputs:
            errors.append("graph has no input")
        if errors:
            raise IRError("invalid graph:\n  " + "\n  ".join(errors))
        self.toposort()
        self.infer_shapes()
        return self

    def summary(self):
        lines = [f"Graph {self.name}: inputs {[(t, self.shape(t)) for t in self.inputs]}"]
        for op in self.ops:
            act = op.attrs.get("act")
            lines.append(f"  {op.type:18s} {op.name:24s} {[self.shape(t) for t in op.inputs]} -> "
                         f"{self.shape(op.outputs[0])}" + (f" act={act}" if act and act != "linear" else ""))
        lines.append(f"  outputs {self.outputs}")
        return "\n".join(lines)

    def copy(self):
        import copy
        return copy.deepcopy(self)


def _pool_like(op, s, k, strides):
    h, w, c = s
    oh, ph = conv_out_pads(h, k[0], strides[0], _axis_pad(op.attrs["padding"], 0))
    ow, pw = conv_out_pads(w, k[1], strides[1], _axis_pad(op.attrs["padding"], 1))
    op.attrs["pads"] = (ph[0], ph[1], pw[0], pw[1])
    return oh, ow


def _axis_pad(padding, axis):
    if isinstance(padding, str):
        return padding
    t, b, left, r = padding
    return (t, b) if axis == 0 else (left, r)


def _infer(op, ins):
    a = op.attrs
    s = ins[0]
    t = op.type
    if t in ("conv2d", "depthwise_conv2d"):
        if len(s) != 3:
            raise IRError(f"op {op.name}: needs an (H, W, C) input, got {s}")
        w = a["weights"]
        kh, kw, ic = w.shape[:3]
        if ic != s[2]:
            raise IRError(f"op {op.name}: weights expect {ic} input channels, input has {s[2]}")
        d = a.get("dilation", (1, 1))
        oh, ph = conv_out_pads(s[0], kh, a["strides"][0], _axis_pad(a["padding"], 0), d[0])
        ow, pw = conv_out_pads(s[1], kw, a["strides"][1], _axis_pad(a["padding"], 1), d[1])
        a["pads"] = (ph[0], ph[1], pw[0], pw[1])
        oc = w.shape[3] if t == "conv2d" else ic * w.shape[3]
        if oh <= 0 or ow <= 0:
            raise IRError(f"op {op.name}: empty output")
        return (oh, ow, oc)
    if t == "dense":
        n = int(np.prod(s))
        if a["weights"].shape[0] != n:
            raise IRError(f"op {op.name}: weights expect {a['weights'].shape[0]} inputs, got {s}")
        return (a["weights"].shape[1],)
    if t in ("batch_norm", "activation", "softmax"):
        return s
    if t in ("max_pool2d", "avg_pool2d"):
        oh, ow = _pool_like(op, s, a["ksize"], a["strides"])
        return (oh, ow, s[2])
    if t in ("global_avg_pool", "global_max_pool"):
        return (1, 1, s[2]) if a.get("keepdims") else (s[2],)
    if t == "resize_nearest":
        fy, fx = a["factor"]
        return (s[0] * fy, s[1] * fx, s[2])
    if t == "pad":
        pt, pb, pl, pr = a["pads"]
        return (s[0] + pt + pb, s[1] + pl + pr, s[2])
    if t == "flatten":
        return (int(np.prod(s)),)
    if t == "reshape":
        shape = list(a["shape"])
        n = int(np.prod(s))
        if -1 in shape:
            k = int(np.prod([v for v in shape if v != -1]))
            shape[shape.index(-1)] = n // k
        if int(np.prod(shape)) != n:
            raise IRError(f"op {op.name}: cannot reshape {s} to {a['shape']}")
        return tuple(shape)
    if t == "add":
        for o in ins[1:]:
            if tuple(o) != tuple(s):
                raise IRError(f"op {op.name}: add of different shapes {ins}")
        return s
    if t == "concat":
        axis = a.get("axis", -1)
        axis = axis % len(s)
        out = list(s)
        for o in ins[1:]:
            if len(o) != len(s) or any(o[i] != s[i] for i in range(len(s)) if i != axis):
                raise IRError(f"op {op.name}: concat of incompatible shapes {ins}")
            out[axis] += o[axis]
        a["axis"] = axis
        return tuple(out)
    raise IRError(f"op {op.name}: unknown op type {t}")


def ceil_div(a, b):
    return -(-a // b)


__all__ = ["Graph", "Op", "Tensor", "QuantParams", "IRError", "UnsupportedLayersError", "ACTIVATIONS",
           "conv_out_pads", "math"]
