"""TFLite flatbuffers (float or int8) -> float IR: the tfl-dialect graph of the one reader
(emc/frontends/tflite_reader.py) legalized into the float IR op types, for the K210 backend.

int8 models: weights are dequantized (the K210 requantizes them its own way); activation tensors
keep the file's scale/zero point, recorded as u8 quantization (zero_point + 128) on the IR tensors
so that the backend can use them instead of calibrated ranges. A DEQUANTIZE of a constant (float16
or int8 weights of a "float" file) folds into that constant; the ops that only compute a RESHAPE's
target shape (Keras 3 Flatten: SHAPE/STRIDED_SLICE/PACK) fold away (the file gives the shape).
"""
from __future__ import annotations

import numpy as np

from ..ir import Graph, QuantParams, UnsupportedLayersError
from ..ir.tfl import ACT_NONE, ACT_RELU, ACT_RELU6, ACT_TANH, PADDING_SAME, builtin, shape_only_ops
from . import dense_on_last_axis
from .tflite_reader import read_tflite

_FLOAT_VALUED = ("f32", "f16", "i32", "u8", "i64", "i16", "i8")     # constants legalized to float32
_FUSED = {ACT_NONE: "linear", ACT_RELU: "relu", ACT_RELU6: "relu6", ACT_TANH: "tanh"}


class _Constants:
    """Float values of a tfl graph's constant tensors."""

    def __init__(self, tfl):
        self.tfl = tfl
        self.folded = {}        # output tensor of a DEQUANTIZE of a constant -> that constant's tensor

    def shape(self, t):
        return self.tfl.tensors[t].shape

    def has_data(self, t):
        return self.tfl.tensors[t].data is not None

    def quant(self, t):
        """(scale float64 array, zero point int64 array, quantized dimension), or None without scales."""
        q = self.tfl.tensors[t].quant
        if q is None or q.scale.size == 0:
            return None
        return q.scale.astype(np.float64), q.zero_point, q.axis

    def const(self, t):
        """Float value of a constant tensor (dequantized if stored quantized or float16), or None."""
        if t in self.folded:
            return self.const(self.folded[t])
        x = self.tfl.tensors[t]
        if x.data is None:
            return None
        if x.dtype not in _FLOAT_VALUED:
            raise ValueError(f"tensor type {x.dtype} not supported")
        a = x.data.reshape(x.shape)
        q = self.quant(t)
        if x.dtype in ("i8", "u8", "i32", "i16") and q is not None:
            s, z, dim = q
            if len(s) > 1:
                bshape = [1] * a.ndim
                bshape[dim] = -1
                s, z = s.reshape(bshape), z.reshape(bshape)
            return ((a.astype(np.float64) - z) * s).astype(np.float32)
        return a.astype(np.float32)


def load_tflite(source, name=None) -> Graph:
    """A .tflite (path or bytes) -> float IR graph (validated, shapes inferred), named `name` or by its subgraph.
    Every operator the float IR cannot express is listed in one UnsupportedLayersError."""
    tfl = read_tflite(source)
    label = tfl.meta["label"]
    r = _Constants(tfl)
    g = Graph(name or tfl.name)
    tname = {}

    def tn(t):
        if t not in tname:
            tname[t] = g.unique_name(t.split(";")[0])
        return tname[t]

    def act_quant(t):
        q = r.quant(t)
        dtype = tfl.tensors[t].dtype
        if q is None or dtype not in ("i8", "u8") or len(q[0]) != 1:
            return None
        s, z, _ = q
        zp = int(z[0]) + (128 if dtype == "i8" else 0)
        return QuantParams(float(s[0]), zp, "u8")

    for t in tfl.inputs:
        g.add_input(tn(t), r.shape(t)[1:], quant=act_quant(t))
    bad = []
    for op in tfl.ops:
        if builtin(op) == "DEQUANTIZE" and len(op.inputs) == 1 and r.has_data(op.inputs[0]):
            r.folded[op.outputs[0]] = op.inputs[0]
    skip = shape_only_ops(tfl.ops, set(tfl.outputs))
    last_step = _last_step_slices(tfl, r)
    skip |= {tfl.ops.index(s) for s in last_step.values()}
    for k, op in enumerate(tfl.ops):
        ins, outs, code = op.inputs, op.outputs, builtin(op)
        if k in skip or (outs and outs[0] in r.folded):
            continue
        if k in last_step:          # the LSTM gives its last step only, under the slice's name
            outs = last_step[k].outputs
        if code == "RESHAPE":
            ins = ins[:1]
        out = tn(outs[0])
        try:
            reason = _convert(g, r, op, code, ins, out, tn, r.shape(outs[0])[1:])
        except Exception as e:  # noqa: BLE001
            reason = f"{type(e).__name__}: {e}"
        if reason:
            bad.append((out, code, reason))
            # a stand-in with the op's output shape, so that the ops after it are checked for themselves:
            # the error lists the unsupported operators, not every one downstream of the first
            if out not in g.tensors:
                g.add_tensor(out, r.shape(outs[0])[1:])
            continue
        g.tensors[out].shape = r.shape(outs[0])[1:]
        q = act_quant(outs[0])
        if q is not None:
            g.tensors[out].quant = q
    if bad:
        raise UnsupportedLayersError(bad, f"TFLite model {label}")
    g.outputs = [tn(t) for t in tfl.outputs]
    g.meta["source"] = "tflite"
    g.validate()
    return g


# UNIDIRECTIONAL_SEQUENCE_LSTM inputs: input, then per gate (i, f, c, o) its input weights (U, F), its
# recurrent weights (U, U), three peephole weights, the four gate biases, projection weights and bias, the
# two state variables and four layer-norm coefficients
_LSTM_IN_W, _LSTM_REC_W, _LSTM_PEEPHOLE, _LSTM_BIAS, _LSTM_PROJECTION, _LSTM_LAYER_NORM = (
    slice(1, 5), slice(5, 9), slice(9, 12), slice(12, 16), slice(16, 18), slice(20, 24))
# the cell clip the TFLite converter writes for every Keras LSTM (the IR lstm has none: the int8 route writes
# the same clip back)
_KERAS_CELL_CLIP = 10.0


def _last_step_slices(tfl, r):
    """{index of an UNIDIRECTIONAL_SEQUENCE_LSTM: the STRIDED_SLICE that is its only consumer and keeps its
    last time step} (Keras' return_sequences=False): the pair becomes one lstm op giving the last step."""
    found = {}
    for k, op in enumerate(tfl.ops):
        if builtin(op) != "UNIDIRECTIONAL_SEQUENCE_LSTM":
            continue
        users = [u for u in tfl.ops if op.outputs[0] in u.inputs]
        if len(users) != 1 or builtin(users[0]) != "STRIDED_SLICE" or op.outputs[0] in tfl.outputs:
            continue
        s = users[0]
        _, t, u = r.shape(op.outputs[0])
        begin, strides = r.const(s.inputs[1]), r.const(s.inputs[3])
        if (begin is not None and strides is not None and tuple(r.shape(s.outputs[0])) == (1, u)
                and int(begin[1]) in (-1, t - 1) and not (s.attrs["begin_mask"] & 2) and np.all(strides == 1)
                and s.attrs["shrink_axis_mask"] == 2):
            found[k] = s
    return found


def _lstm(g, r, op, x, out, return_sequences):
    o = op.attrs
    ins = op.inputs
    if o["time_major"]:
        return "time-major LSTM"
    if o["fused_activation_function"] != ACT_TANH:
        return f"cell activation {o['fused_activation_function']} (only TANH)"
    if o["cell_clip"] not in (0.0, _KERAS_CELL_CLIP) or o["proj_clip"]:
        return f"cell clip {o['cell_clip']} / projection clip {o['proj_clip']} (only Keras' {_KERAS_CELL_CLIP})"
    optional = ins[_LSTM_PEEPHOLE] + ins[_LSTM_PROJECTION] + (ins[_LSTM_LAYER_NORM] if len(ins) > 20 else [])
    if any(t is not None for t in optional):
        return "peephole, projection or layer-norm LSTM"
    if any(t is None for t in ins[_LSTM_IN_W] + ins[_LSTM_REC_W] + ins[_LSTM_BIAS]):
        return "coupled input and forget gates (no input gate weights)"
    kernel = np.concatenate([r.const(t) for t in ins[_LSTM_IN_W]], axis=0).T
    recurrent = np.concatenate([r.const(t) for t in ins[_LSTM_REC_W]], axis=0).T
    bias = np.concatenate([r.const(t) for t in ins[_LSTM_BIAS]])
    g.add_op("lstm", out, x, source_type="UNIDIRECTIONAL_SEQUENCE_LSTM", units=recurrent.shape[0],
             return_sequences=return_sequences, kernel=kernel.copy(), recurrent_kernel=recurrent.copy(), bias=bias)
    return None


def _convert(g, r, op, code, ins, out, tn, out_shape):
    """Add the float IR op(s) of tfl op `op` to g (its output `out`, of shape `out_shape` without batch);
    None, or why it cannot be expressed."""
    o = op.attrs
    x = tn(ins[0]) if ins else None
    if code in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        act = _FUSED.get(o["fused_activation_function"])
        if act is None:
            return f"fused activation {o['fused_activation_function']}"
        w = r.const(ins[1])
        b = r.const(ins[2]) if len(ins) > 2 and ins[2] is not None else None
        common = dict(strides=(o["stride_h"], o["stride_w"]), padding="same" if o["padding"] == PADDING_SAME else "valid",
                      dilation=(o["dilation_h_factor"], o["dilation_w_factor"]), act=act, bias=b)
        if code == "CONV_2D":
            g.add_op("conv2d", out, x, source_type=code, weights=np.transpose(w, (1, 2, 3, 0)).copy(), **common)
        else:
            c = r.shape(ins[0])[3]
            _, kh, kw, cm = w.shape
            g.add_op("depthwise_conv2d", out, x, source_type=code, weights=w.reshape(kh, kw, c, cm // c).copy(),
                     **common)
        return None
    if code == "UNIDIRECTIONAL_SEQUENCE_LSTM":
        return _lstm(g, r, op, x, out, return_sequences=len(out_shape) == 2)
    if code == "FULLY_CONNECTED":
        act = _FUSED.get(o["fused_activation_function"])
        if act is None:
            return f"fused activation {o['fused_activation_function']}"
        w = r.const(ins[1])
        b = r.const(ins[2]) if len(ins) > 2 and ins[2] is not None else None
        if o["keep_num_dims"] and len(r.shape(ins[0])) > 2:      # on the last axis of each step or pixel
            return dense_on_last_axis(g, code, x, out, r.shape(ins[0])[1:], w.T.copy(), b, act)
        src = x
        if len(r.shape(ins[0])) != 2:
            src = g.add_op("flatten", out + "/flatten", x, source_type="FLATTEN")
        g.add_op("dense", out, src, source_type=code, weights=w.T.copy(), bias=b, act=act)
        return None
    if code in ("ADD", "MUL", "SUB"):
        act = _FUSED.get(o["fused_activation_function"])
        if act is None:
            return f"fused activation {o['fused_activation_function']}"
        c0, c1 = r.const(ins[0]), r.const(ins[1])
        if c0 is None and c1 is None:
            if code == "MUL":           # a gate (squeeze-and-excite): numpy broadcasting, same rank
                if len(r.shape(ins[0])) != len(r.shape(ins[1])):
                    return f"MUL of tensors of different ranks {r.shape(ins[0])}, {r.shape(ins[1])}"
                g.add_op("mul", out, [x, tn(ins[1])], source_type=code, act=act)
                return None
            if code != "ADD":
                return f"{code} of two tensors"
            g.add_op("add", out, [x, tn(ins[1])], source_type=code, act=act)
            return None
        # a per-channel (or scalar) constant: an affine batch_norm op (folded into a conv when possible)
        if c0 is not None and code == "SUB":
            return "constant minus tensor"
        src, cst = (tn(ins[1]), c0) if c0 is not None else (x, c1)
        ch = r.shape(op.outputs[0])[-1]
        cst = np.asarray(cst, np.float32)
        if cst.size not in (1, ch) or (cst.size == ch and cst.shape[-1] != ch):
            return "constant that is not per-channel"
        v = np.broadcast_to(cst.reshape(-1), (ch,)).astype(np.float32)
        scale = v if code == "MUL" else np.ones(ch, np.float32)
        offset = np.zeros(ch, np.float32) if code == "MUL" else (v if code == "ADD" else -v)
        g.add_op("batch_norm", out, src, source_type=code, scale=scale.copy(), offset=offset.copy(), act=act)
        return None
    if code == "CONCATENATION":
        if _FUSED.get(o["fused_activation_function"]) != "linear":
            return "fused activation"
        axis = o["axis"]
        g.add_op("concat", out, [tn(i) for i in ins], source_type=code, axis=axis - 1 if axis > 0 else axis)
        return None
    if code in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
        act = _FUSED.get(o["fused_activation_function"])
        if act != "linear":
            return "fused activation on pooling"
        g.add_op("max_pool2d" if code.startswith("MAX") else "avg_pool2d", out, x, source_type=code,
                 ksize=(o["filter_height"], o["filter_width"]), strides=(o["stride_h"], o["stride_w"]),
                 padding="same" if o["padding"] == PADDING_SAME else "valid")
        return None
    if code == "MEAN":
        axes = r.const(ins[1])
        if axes is None or sorted(int(a) for a in np.ravel(axes)) != [1, 2]:
            return "MEAN over axes other than (1, 2)"
        g.add_op("global_avg_pool", out, x, source_type=code, keepdims=bool(o["keep_dims"]))
        return None
    if code == "RESHAPE":
        shape = r.shape(op.outputs[0])[1:]
        g.add_op("reshape", out, x, source_type=code, shape=shape)
        return None
    if code == "SOFTMAX":
        if o["beta"] != 1.0:
            return f"softmax beta {o['beta']}"
        g.add_op("softmax", out, x, source_type=code)
        return None
    if code in ("RELU", "RELU6", "LOGISTIC", "TANH", "HARD_SWISH", "ELU"):
        g.add_op("activation", out, x, source_type=code,
                 act={"RELU": "relu", "RELU6": "relu6", "LOGISTIC": "sigmoid", "TANH": "tanh",
                      "HARD_SWISH": "hard_swish", "ELU": "elu"}[code])
        return None
    if code == "GELU":
        g.add_op("activation", out, x, source_type=code, act="gelu_tanh" if o["approximate"] else "gelu")
        return None
    if code == "LEAKY_RELU":
        g.add_op("activation", out, x, source_type=code, act="leaky_relu", alpha=float(o["alpha"]))
        return None
    if code == "PRELU":
        alpha = r.const(ins[1])
        if alpha is None:
            return "PRELU with a computed alpha"
        alpha = np.asarray(alpha, np.float32)
        rank = len(r.shape(ins[0])) - 1          # the IR has no batch axis
        while alpha.ndim > rank and alpha.shape[0] == 1:
            alpha = alpha[0]
        g.add_op("prelu", out, x, source_type=code, alpha=alpha.copy())
        return None
    if code in ("PAD", "PADV2"):
        p = r.const(ins[1])
        if p is None or p.shape != (4, 2) or p[0].any() or p[3].any():
            return "padding other than spatial"
        if code == "PADV2" and len(ins) > 2 and r.const(ins[2]) is not None and np.any(r.const(ins[2])):
            return "non-zero pad value"
        g.add_op("pad", out, x, source_type=code, pads=(int(p[1, 0]), int(p[1, 1]), int(p[2, 0]), int(p[2, 1])),
                 value=0.0)
        return None
    if code == "RESIZE_NEAREST_NEIGHBOR":
        _, h, w, _ = r.shape(ins[0])
        _, oh, ow, _ = r.shape(op.outputs[0])
        if o["align_corners"] or oh % h or ow % w:
            return "align_corners or a non-integer factor"
        g.add_op("resize_nearest", out, x, source_type=code, factor=(oh // h, ow // w))
        return None
    if code in ("QUANTIZE", "DEQUANTIZE"):
        g.add_op("reshape", out, x, source_type=code, shape=g.shape(x))
        return None
    return "operator not supported"
