"""Float (numpy) execution of the IR: the float model used for calibration and for accuracy reports.

All arrays carry a leading batch axis. Matches TensorFlow semantics (NHWC, TF 'same' padding,
average pooling excludes padding).
"""
from __future__ import annotations

import numpy as np

from .graph import IRError
from .opdef import opdef


_ERF = np.frompyfunc(__import__("math").erf, 1, 1)


def _softplus(x):
    return np.logaddexp(0.0, x)


SMOOTH = {
    "swish": lambda x: x / (1.0 + np.exp(-x)),
    "hard_swish": lambda x: x * np.clip(x + 3.0, 0.0, 6.0) / 6.0,
    "hard_sigmoid": lambda x: np.clip(x / 6.0 + 0.5, 0.0, 1.0),          # Keras 3: relu6(x + 3) / 6
    "hard_sigmoid_k2": lambda x: np.clip(0.2 * x + 0.5, 0.0, 1.0),     # Keras 2 (tf_keras): 0.2 x + 0.5
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "selu": lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(np.minimum(x, 0))),
    "softplus": _softplus,
    "gelu": lambda x: 0.5 * x * (1.0 + np.asarray(_ERF(np.asarray(x, np.float64) / np.sqrt(2.0)), np.float64)),
    "gelu_tanh": lambda x: 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x ** 3))),
    "mish": lambda x: x * np.tanh(_softplus(x)),
}


def apply_act(x, act, alpha=0.2):
    if act in (None, "linear"):
        return x
    if act in SMOOTH:
        return SMOOTH[act](x).astype(x.dtype if hasattr(x, "dtype") else np.float64)
    if act == "relu":
        return np.maximum(x, 0)
    if act == "relu6":
        return np.clip(x, 0, 6)
    if act == "leaky_relu":
        return np.where(x >= 0, x, x * alpha)
    if act == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if act == "tanh":
        return np.tanh(x)
    if act == "softmax":
        return softmax(x)
    raise IRError(f"unknown activation {act}")


def softmax(x):
    m = x.max(axis=-1, keepdims=True)
    e = np.exp(x - m)
    return e / e.sum(axis=-1, keepdims=True)


def patches(x, kh, kw, sh, sw, pads, dil=(1, 1), value=0.0):
    """x (N,H,W,C) -> (N,OH,OW,kh,kw,C) windows after padding."""
    pt, pb, pl, pr = pads
    if any(pads):
        x = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)), constant_values=value)
    n, h, w, c = x.shape
    keh = (kh - 1) * dil[0] + 1
    kew = (kw - 1) * dil[1] + 1
    oh = (h - keh) // sh + 1
    ow = (w - kew) // sw + 1
    s = x.strides
    view = np.lib.stride_tricks.as_strided(
        x, (n, oh, ow, kh, kw, c), (s[0], s[1] * sh, s[2] * sw, s[1] * dil[0], s[2] * dil[1], s[3]),
        writeable=False)
    return view


def run_op(op, xs, record_preact=None):
    d = opdef(op.type)
    if d is None:
        raise IRError(f"no float execution for op type {op.type}")
    y = d.run_float(op.attrs, xs)
    if not d.CARRIES_ACTIVATION:
        return y
    if record_preact is not None:
        record_preact[op.outputs[0]] = y
    a = op.attrs
    return apply_act(y, a.get("act", "linear"), a.get("alpha", 0.2))


def run_float(graph, inputs, keep=False, preact=False):
    """Run the graph on a batch. inputs: array (N, *shape) for a single-input graph, or dict name->array.

    Returns dict output name -> array; with keep=True every tensor; with preact=True also
    '<tensor>:preact' entries holding pre-activation values of ops with a fused activation.
    """
    if not isinstance(inputs, dict):
        if len(graph.inputs) != 1:
            raise IRError(f"graph has {len(graph.inputs)} inputs: pass a dict")
        inputs = {graph.inputs[0]: inputs}
    vals = {}
    for name in graph.inputs:
        x = np.asarray(inputs[name], np.float32)
        shape = graph.shape(name)
        if x.shape[1:] != tuple(shape):
            if x.shape == tuple(shape):
                x = x[None]
            else:
                raise IRError(f"input {name}: expected shape (N, {', '.join(map(str, shape))}), got {x.shape}")
        vals[name] = x
    pre = {} if preact else None
    for op in graph.ops:
        y = run_op(op, [vals[t] for t in op.inputs], pre)
        vals[op.outputs[0]] = y.astype(np.float32)
    if pre:
        for k, v in pre.items():
            vals[k + ":preact"] = v.astype(np.float32)
    if keep or preact:
        return vals
    return {t: vals[t] for t in graph.outputs}
