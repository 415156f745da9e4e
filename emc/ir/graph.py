"""Tensors, ops and the graph (DAG) with shape inference, validation and topological order."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .opdef import opdef

ACTIVATIONS = ("linear", "relu", "relu6", "leaky_relu", "sigmoid", "tanh", "softmax",
               # smooth elementwise functions: fitted into the KPU's 16-segment table
               "swish", "hard_swish", "hard_sigmoid", "hard_sigmoid_k2", "elu", "selu", "softplus", "gelu", "gelu_tanh", "mish")

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
            except IRError as e:
                raise IRError(f"op {op.name}: {e}") from None
            except Exception as e:  # noqa: BLE001 - turn any attribute problem into an IRError
                raise IRError(f"op {op.name} ({op.type}): cannot infer shape from {ins}: {e}") from e
            self.tensors[op.outputs[0]].shape = tuple(int(v) for v in out)
        return self

    def validate(self):
        errors = []
        seen_out = {}
        for op in self.ops:
            d = opdef(op.type)
            if d is None:
                errors.append(f"op {op.name}: unknown type {op.type}")
                continue
            lo, hi = d.ARITY
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


def window_out(attrs, in_shape, k, dilation=(1, 1)):
    """(OH, OW) of a windowed op (conv / pool) from attrs 'strides' and 'padding'; sets attrs['pads']."""
    padding = attrs["padding"]
    if isinstance(padding, str):
        pad_y = pad_x = padding
    else:
        t, b, left, r = padding
        pad_y, pad_x = (t, b), (left, r)
    oh, ph = conv_out_pads(in_shape[0], k[0], attrs["strides"][0], pad_y, dilation[0])
    ow, pw = conv_out_pads(in_shape[1], k[1], attrs["strides"][1], pad_x, dilation[1])
    attrs["pads"] = (ph[0], ph[1], pw[0], pw[1])
    return oh, ow


def _infer(op, ins):
    d = opdef(op.type)
    if d is None:
        raise IRError(f"unknown op type {op.type}")
    return d.infer_shape(op.attrs, ins)


def ceil_div(a, b):
    return -(-a // b)


__all__ = ["Graph", "Op", "Tensor", "QuantParams", "IRError", "UnsupportedLayersError", "ACTIVATIONS",
           "conv_out_pads", "window_out", "math"]
