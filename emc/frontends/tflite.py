"""TFLite flatbuffers (float or int8) -> IR, parsed with the `tflite` package only (no TensorFlow).

int8 models: weights are dequantized (the K210 requantizes them its own way); activation tensors
keep the file's scale/zero point, recorded as u8 quantization (zero_point + 128) on the IR tensors
so that the backend can use them instead of calibrated ranges.
"""
from __future__ import annotations

import numpy as np

from ..ir import Graph, QuantParams, UnsupportedLayersError
from .tflite_verify import verify_tflite

_TYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 7: np.int16, 9: np.int8}
_FUSED = {0: "linear", 1: "relu", 3: "relu6", 4: "tanh"}


def _codes():
    import tflite
    return {v: k for k, v in tflite.BuiltinOperator.__dict__.items() if not k.startswith("_")}


def _opts(op, cls):
    t = op.BuiltinOptions()
    o = cls()
    if t is not None:
        o.Init(t.Bytes, t.Pos)
    return o


class _Reader:
    def __init__(self, model, sg):
        self.m = model
        self.sg = sg
        self.folded = {}        # output tensor of a DEQUANTIZE of a constant -> that constant's tensor

    def has_data(self, i):
        buf = self.m.Buffers(self.tensor(i).Buffer())
        return buf is not None and buf.DataLength() > 0

    def tensor(self, i):
        return self.sg.Tensors(i)

    def name(self, i):
        return (self.tensor(i).Name() or b"").decode(errors="replace")    # the name is optional

    def shape(self, i):
        s = self.tensor(i).ShapeAsNumpy()
        return tuple(int(v) for v in s) if not isinstance(s, int) else ()

    def quant(self, i):
        q = self.tensor(i).Quantization()
        if q is None or q.ScaleLength() == 0:
            return None
        return (q.ScaleAsNumpy().astype(np.float64), q.ZeroPointAsNumpy().astype(np.int64), q.QuantizedDimension())

    def const(self, i):
        """Float value of a constant tensor (dequantized if stored quantized or float16), or None."""
        if i in self.folded:
            return self.const(self.folded[i])
        t = self.tensor(i)
        buf = self.m.Buffers(t.Buffer())
        if buf is None or buf.DataLength() == 0:
            return None
        dt = _TYPES.get(t.Type())
        if dt is None:
            raise ValueError(f"tensor type {t.Type()} not supported")
        a = np.frombuffer(buf.DataAsNumpy().tobytes(), dt).reshape(self.shape(i))
        q = self.quant(i)
        if dt in (np.int8, np.uint8, np.int32, np.int16) and q is not None:
            s, z, dim = q
            if len(s) > 1:
                bshape = [1] * a.ndim
                bshape[dim] = -1
                s, z = s.reshape(bshape), z.reshape(bshape)
            return ((a.astype(np.float64) - z) * s).astype(np.float32)
        return a.astype(np.float32)


def load_tflite(source, name=None) -> Graph:
    import tflite
    if isinstance(source, (bytes, bytearray)):
        data, label = bytes(source), "tflite buffer"
    else:
        with open(source, "rb") as f:
            data = f.read()
        label = str(source)
    verify_tflite(data, label)          # every offset, length and index checked before tflite reads any
    model = tflite.Model.GetRootAsModel(data, 0)
    if model.SubgraphsLength() != 1:
        raise UnsupportedLayersError([(label, "Model", f"{model.SubgraphsLength()} subgraphs")], label)
    sg = model.Subgraphs(0)
    r = _Reader(model, sg)
    codes = _codes()
    g = Graph(name or (sg.Name().decode(errors="replace") if sg.Name() else "tflite_model"))
    tname = {}

    def tn(i):
        if i not in tname:
            base = r.name(i).split(";")[0] or f"t{i}"
            tname[i] = g.unique_name(base)
        return tname[i]

    def act_quant(i):
        q = r.quant(i)
        t = r.tensor(i)
        if q is None or _TYPES.get(t.Type()) not in (np.int8, np.uint8) or len(q[0]) != 1:
            return None
        s, z, _ = q
        zp = int(z[0]) + (128 if _TYPES[t.Type()] == np.int8 else 0)
        return QuantParams(float(s[0]), zp, "u8")

    for k in range(sg.InputsLength()):
        i = sg.Inputs(k)
        shape = r.shape(i)[1:]
        g.add_input(tn(i), shape, quant=act_quant(i))
    bad = []
    ops = []
    for k in range(sg.OperatorsLength()):
        op = sg.Operators(k)
        oc = model.OperatorCodes(op.OpcodeIndex())
        code = codes.get(max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode()), "CUSTOM")
        ops.append((op, code, [op.Inputs(j) for j in range(op.InputsLength())],
                    [op.Outputs(j) for j in range(op.OutputsLength())]))
    # DEQUANTIZE of a constant (float16 or int8 weights of a "float" file) is folded into the constant
    for k, (_, code, ins, outs) in enumerate(ops):
        if code == "DEQUANTIZE" and len(ins) == 1 and r.has_data(ins[0]):
            r.folded[outs[0]] = ins[0]
    # ops that only compute a RESHAPE's target shape (Keras 3 Flatten: SHAPE/STRIDED_SLICE/PACK)
    uses = {}
    for k, (_, code, ins, _) in enumerate(ops):
        for j, i in enumerate(ins):
            uses.setdefault(i, []).append((k, code == "RESHAPE" and j == 1))
    graph_outs = {sg.Outputs(j) for j in range(sg.OutputsLength())}
    skip = set()
    for k in range(len(ops) - 1, -1, -1):
        outs = ops[k][3]
        if outs and not any(o in graph_outs for o in outs) and all(
                uses.get(o) and all(shape_use or user in skip for user, shape_use in uses[o]) for o in outs):
            skip.add(k)
    for k, (op, code, ins, outs) in enumerate(ops):
        if k in skip or (outs and outs[0] in r.folded):
            continue
        if code == "RESHAPE":
            ins = ins[:1]
        out = tn(outs[0])
        try:
            reason = _convert(g, r, op, code, ins, out, tn)
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
        if outs[0] in tname:
            q = act_quant(outs[0])
            if q is not None:
                g.tensors[out].quant = q
    if bad:
        raise UnsupportedLayersError(bad, f"TFLite model {label}")
    g.outputs = [tn(sg.Outputs(k)) for k in range(sg.OutputsLength())]
    g.meta["source"] = "tflite"
    g.validate()
    return g


def _convert(g, r, op, code, ins, out, tn):
    import tflite
    x = tn(ins[0]) if ins else None
    if code in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        cls = tflite.Conv2DOptions if code == "CONV_2D" else tflite.DepthwiseConv2DOptions
        o = _opts(op, cls)
        act = _FUSED.get(o.FusedActivationFunction())
        if act is None:
            return f"fused activation {o.FusedActivationFunction()}"
        w = r.const(ins[1])
        b = r.const(ins[2]) if len(ins) > 2 and ins[2] >= 0 else None
        common = dict(strides=(o.StrideH(), o.StrideW()), padding="same" if o.Padding() == 0 else "valid",
                      dilation=(o.DilationHFactor(), o.DilationWFactor()), act=act, bias=b)
        if code == "CONV_2D":
            g.add_op("conv2d", out, x, source_type=code, weights=np.transpose(w, (1, 2, 3, 0)).copy(), **common)
        else:
            c = r.shape(ins[0])[3]
            _, kh, kw, cm = w.shape
            g.add_op("depthwise_conv2d", out, x, source_type=code, weights=w.reshape(kh, kw, c, cm // c).copy(),
                     **common)
        return None
    if code == "FULLY_CONNECTED":
        o = _opts(op, tflite.FullyConnectedOptions)
        act = _FUSED.get(o.FusedActivationFunction())
        if act is None:
            return f"fused activation {o.FusedActivationFunction()}"
        w = r.const(ins[1])
        b = r.const(ins[2]) if len(ins) > 2 and ins[2] >= 0 else None
        src = x
        if len(r.shape(ins[0])) != 2:
            src = g.add_op("flatten", out + "/flatten", x, source_type="FLATTEN")
        g.add_op("dense", out, src, source_type=code, weights=w.T.copy(), bias=b, act=act)
        return None
    if code in ("ADD", "MUL", "SUB"):
        cls = {"ADD": tflite.AddOptions, "MUL": tflite.MulOptions, "SUB": tflite.SubOptions}[code]
        o = _opts(op, cls)
        act = _FUSED.get(o.FusedActivationFunction())
        if act is None:
            return f"fused activation {o.FusedActivationFunction()}"
        c0, c1 = r.const(ins[0]), r.const(ins[1])
        if c0 is None and c1 is None:
            if code != "ADD":
                return f"{code} of two tensors"
            g.add_op("add", out, [x, tn(ins[1])], source_type=code, act=act)
            return None
        # a per-channel (or scalar) constant: an affine batch_norm op (folded into a conv when possible)
        if c0 is not None and code == "SUB":
            return "constant minus tensor"
        src, cst = (tn(ins[1]), c0) if c0 is not None else (x, c1)
        ch = r.shape(op.Outputs(0))[-1]
        cst = np.asarray(cst, np.float32)
        if cst.size not in (1, ch) or (cst.size == ch and cst.shape[-1] != ch):
            return "constant that is not per-channel"
        v = np.broadcast_to(cst.reshape(-1), (ch,)).astype(np.float32)
        scale = v if code == "MUL" else np.ones(ch, np.float32)
        offset = np.zeros(ch, np.float32) if code == "MUL" else (v if code == "ADD" else -v)
        g.add_op("batch_norm", out, src, source_type=code, scale=scale.copy(), offset=offset.copy(), act=act)
        return None
    if code == "CONCATENATION":
        o = _opts(op, tflite.ConcatenationOptions)
        if _FUSED.get(o.FusedActivationFunction()) != "linear":
            return "fused activation"
        axis = o.Axis()
        g.add_op("concat", out, [tn(i) for i in ins], source_type=code, axis=axis - 1 if axis > 0 else axis)
        return None
    if code in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
        o = _opts(op, tflite.Pool2DOptions)
        act = _FUSED.get(o.FusedActivationFunction())
        if act != "linear":
            return "fused activation on pooling"
        g.add_op("max_pool2d" if code.startswith("MAX") else "avg_pool2d", out, x, source_type=code,
                 ksize=(o.FilterHeight(), o.FilterWidth()), strides=(o.StrideH(), o.StrideW()),
                 padding="same" if o.Padding() == 0 else "valid")
        return None
    if code == "MEAN":
        axes = r.const(ins[1])
        o = _opts(op, tflite.ReducerOptions)
        if axes is None or sorted(int(a) for a in np.ravel(axes)) != [1, 2]:
            return "MEAN over axes other than (1, 2)"
        g.add_op("global_avg_pool", out, x, source_type=code, keepdims=bool(o.KeepDims()))
        return None
    if code == "RESHAPE":
        shape = r.shape(op.Outputs(0))[1:]
        g.add_op("reshape", out, x, source_type=code, shape=shape)
        return None
    if code == "SOFTMAX":
        o = _opts(op, tflite.SoftmaxOptions)
        if o.Beta() != 1.0:
            return f"softmax beta {o.Beta()}"
        g.add_op("softmax", out, x, source_type=code)
        return None
    if code in ("RELU", "RELU6", "LOGISTIC", "TANH", "HARD_SWISH", "ELU"):
        g.add_op("activation", out, x, source_type=code,
                 act={"RELU": "relu", "RELU6": "relu6", "LOGISTIC": "sigmoid", "TANH": "tanh",
                      "HARD_SWISH": "hard_swish", "ELU": "elu"}[code])
        return None
    if code == "GELU":
        o = _opts(op, tflite.GeluOptions)
        g.add_op("activation", out, x, source_type=code, act="gelu_tanh" if o.Approximate() else "gelu")
        return None
    if code == "LEAKY_RELU":
        o = _opts(op, tflite.LeakyReluOptions)
        g.add_op("activation", out, x, source_type=code, act="leaky_relu", alpha=float(o.Alpha()))
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
        o = _opts(op, tflite.ResizeNearestNeighborOptions)
        _, h, w, _ = r.shape(ins[0])
        _, oh, ow, _ = r.shape(op.Outputs(0))
        if o.AlignCorners() or oh % h or ow % w:
            return "align_corners or a non-integer factor"
        g.add_op("resize_nearest", out, x, source_type=code, factor=(oh // h, ow // w))
        return None
    if code in ("QUANTIZE", "DEQUANTIZE"):
        g.add_op("reshape", out, x, source_type=code, shape=g.shape(x))
        return None
    return "operator not supported"
