"""int8 .tflite -> kmodel v3 container of generic layers (parsed with the `tflite` package).

Every quantization parameter is taken from the file as is (no requantization); the derived
fixed-point multipliers are computed exactly as TFLM's Prepare functions compute them.
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
from ...kmodel.layers.generic_math import quantize_multiplier
from ...kmodel.layers import generic_layers as G
from .overlap import layer_lag
from .planner import plan

F32 = np.float32
_ITEM = {tflite.TensorType.INT8: 1, tflite.TensorType.FLOAT32: 4, tflite.TensorType.INT32: 4,
         tflite.TensorType.UINT8: 1, tflite.TensorType.INT16: 2, tflite.TensorType.INT64: 8}


class ImportError_(ValueError):
    pass


def _opts(op, cls):
    o = cls()
    t = op.BuiltinOptions()
    o.Init(t.Bytes, t.Pos)
    return o


def _out_and_pad(in_sz, k, stride, dil, padding):
    eff = (k - 1) * dil + 1
    if padding == Padding.SAME:
        out = (in_sz + stride - 1) // stride
    else:
        out = (in_sz - eff + stride) // stride
    pad = max(((out - 1) * stride + eff - in_sz) // 2, 0)
    return out, pad


def _act_range(act, scale, zp):
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


class _Model:
    def __init__(self, data):
        self.m = tflite.Model.GetRootAsModel(data, 0)
        if self.m.SubgraphsLength() != 1:
            raise ImportError_("only single-subgraph models are supported")
        self.g = self.m.Subgraphs(0)

    def tensor(self, i):
        t = self.g.Tensors(i)
        q = t.Quantization()
        scales = q.ScaleAsNumpy() if q is not None and q.ScaleLength() else np.zeros(0, F32)
        zps = q.ZeroPointAsNumpy() if q is not None and q.ZeroPointLength() else np.zeros(0, np.int64)
        return dict(name=t.Name().decode(errors="replace"), shape=tuple(int(v) for v in t.ShapeAsNumpy()),
                    type=t.Type(),
                    scale=np.asarray(scales, F32), zp=np.asarray(zps, np.int64), buffer=t.Buffer())

    def data(self, i, dtype):
        buf = self.m.Buffers(self.g.Tensors(i).Buffer())
        return np.frombuffer(buf.DataAsNumpy().tobytes(), dtype)

    def opcode(self, op):
        oc = self.m.OperatorCodes(op.OpcodeIndex())
        return max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())


def import_tflite(data: bytes, label="tflite buffer") -> KModel:
    """Build a generic-profile KModel from an int8 .tflite (bytes)."""
    verify_tflite(data, label)          # every offset, length and index checked before tflite reads any
    M = _Model(bytes(data))
    g = M.g
    if g.InputsLength() != 1:
        raise ImportError_("exactly one model input is supported")
    nops = g.OperatorsLength()
    alias = {}                    # reshape output -> its input (same bytes)

    def root(t):
        while t in alias:
            t = alias[t]
        return t

    specs = []                    # (op kind, op, inputs, outputs)
    for i in range(nops):
        op = g.Operators(i)
        specs.append((M.opcode(op), op, list(op.InputsAsNumpy()), list(op.OutputsAsNumpy())))
    for code, op, ins, outs in specs:
        if code == Op.RESHAPE:
            alias[outs[0]] = ins[0]
    # lifetimes over layer positions: input at 0, op i at i + 1
    life = {}
    in_t = root(g.Inputs(0))
    life[in_t] = [0, 0]
    for i, (code, op, ins, outs) in enumerate(specs):
        for t in ins:
            if t >= 0 and root(t) in life:
                life[root(t)][1] = i + 1
        for t in outs:
            r = root(t)
            if r not in life:
                life[r] = [i + 1, i + 1]
    for k in range(g.OutputsLength()):
        life[root(g.Outputs(k))][1] = nops + 1

    def nbytes(t):
        ti = M.tensor(t)
        return int(np.prod(ti["shape"])) * _ITEM[ti["type"]]

    # first pass with placeholder addresses: each layer's geometry gives the overlap it allows
    overlaps = {}
    pos = 0
    for code, op, ins, outs in specs:
        pos += 1
        if code == Op.RESHAPE:
            continue
        lag = layer_lag(_layer(M, code, op, ins, outs, lambda t: 0))
        if lag is None:
            continue
        out = root(outs[0])
        for t in ins:
            if t >= 0 and root(t) in life and life[root(t)][1] == pos and root(t) != out:
                overlaps[(out, root(t))] = lag
    offsets, total = plan({t: (nbytes(t), a, b) for t, (a, b) in life.items()}, overlaps)

    def addr(t):
        return offsets[root(t)]

    ti = M.tensor(in_t)
    if ti["type"] not in (tflite.TensorType.INT8, tflite.TensorType.FLOAT32):
        raise ImportError_("the model input must be int8 or float32")
    shp = ti["shape"]
    if not 1 <= len(shp) <= 4:
        raise ImportError_(f"input rank {len(shp)} not supported")
    is_f = ti["type"] == tflite.TensorType.FLOAT32
    layers = [G.GenericInput(main_mem_out_address=addr(in_t), dtype=1 if is_f else 2, rank=len(shp),
                             **{f"dim{i}": (shp[i] if i < len(shp) else 0) for i in range(4)},
                             scale=0.0 if is_f else float(ti["scale"][0]),
                             zero_point=0 if is_f else int(ti["zp"][0]))]
    for code, op, ins, outs in specs:
        if code == Op.RESHAPE:
            continue
        layers.append(_layer(M, code, op, ins, outs, addr))
    outputs = [(addr(g.Outputs(k)), nbytes(g.Outputs(k))) for k in range(g.OutputsLength())]
    for k in range(g.OutputsLength()):
        to = M.tensor(g.Outputs(k))
        if not 1 <= len(to["shape"]) <= 4 or to["type"] not in (tflite.TensorType.INT8, tflite.TensorType.FLOAT32):
            raise ImportError_("model outputs must be int8 or float32 tensors of rank 1..4")
        is_f = to["type"] == tflite.TensorType.FLOAT32
        layers.append(G.GenericOutput(main_mem_address=addr(g.Outputs(k)), dtype=1 if is_f else 2,
                                      rank=len(to["shape"]),
                                      **{f"dim{i}": (to["shape"][i] if i < len(to["shape"]) else 0) for i in range(4)},
                                      scale=0.0 if is_f else float(to["scale"][0]),
                                      zero_point=0 if is_f else int(to["zp"][0])))
    return KModel(layers=layers, outputs=outputs, flags=1, main_mem_usage=total)


def _q(t):
    if not t["scale"].size:        # a float model, or a tensor stripped of its quantization
        raise ImportError_(f"tensor '{t['name']}' has no quantization parameters: the generic target takes an "
                           f"int8 .tflite")
    return float(t["scale"][0]), int(t["zp"][0])


def _layer(M, code, op, ins, outs, addr):
    if code in (Op.CONV_2D, Op.DEPTHWISE_CONV_2D):
        x, w, o = M.tensor(ins[0]), M.tensor(ins[1]), M.tensor(outs[0])
        dw = code == Op.DEPTHWISE_CONV_2D
        opt = _opts(op, tflite.DepthwiseConv2DOptions if dw else tflite.Conv2DOptions)
        _, ih, iw, ic = x["shape"]
        _, oh, ow, oc = o["shape"]
        kh, kw = w["shape"][1], w["shape"][2]
        sh, sw = opt.StrideH(), opt.StrideW()
        dh, dwl = opt.DilationHFactor(), opt.DilationWFactor()
        eoh, pt = _out_and_pad(ih, kh, sh, dh, opt.Padding())
        eow, pl = _out_and_pad(iw, kw, sw, dwl, opt.Padding())
        if (eoh, eow) != (oh, ow):
            raise ImportError_(f"conv output {oh}x{ow} != computed {eoh}x{eow}")
        xs, xz = _q(x)
        os_, oz = _q(o)
        fs = w["scale"] if w["scale"].size > 1 else np.repeat(w["scale"], oc)
        mult, shift = zip(*(quantize_multiplier(float(xs) * float(s) / float(os_)) for s in fs))
        bias = M.data(ins[2], "<i4") if len(ins) > 2 and ins[2] >= 0 else np.zeros(oc, np.int32)
        lo, hi = _act_range(opt.FusedActivationFunction(), os_, oz)
        cls = G.GenericDepthwiseConv2d if dw else G.GenericConv2d
        return cls(main_mem_in_address=addr(ins[0]), main_mem_out_address=addr(outs[0]), in_h=ih, in_w=iw, in_c=ic,
                   out_h=oh, out_w=ow, out_c=oc, k_h=kh, k_w=kw, stride_h=sh, stride_w=sw, dil_h=dh, dil_w=dwl,
                   pad_top=pt, pad_left=pl, input_offset=-xz, output_offset=oz, act_min=lo, act_max=hi,
                   depth_multiplier=opt.DepthMultiplier() if dw else 1, bias=bias, multiplier=mult, shift=shift,
                   weights=M.data(ins[1], np.int8))
    if code == Op.FULLY_CONNECTED:
        x, w, o = M.tensor(ins[0]), M.tensor(ins[1]), M.tensor(outs[0])
        opt = _opts(op, tflite.FullyConnectedOptions)
        od, idp = w["shape"]
        batches = int(np.prod(x["shape"])) // idp
        xs, xz = _q(x)
        os_, oz = _q(o)
        per_ch = w["scale"].size > 1
        # TFLM GetQuantizedConvolutionMultipler: float product, then double division
        scales = w["scale"] if per_ch else w["scale"][:1]
        mult, shift = zip(*(quantize_multiplier(float(F32(xs) * F32(s)) / float(os_)) for s in scales))
        bias = M.data(ins[2], "<i4") if len(ins) > 2 and ins[2] >= 0 else np.zeros(od, np.int32)
        lo, hi = _act_range(opt.FusedActivationFunction(), os_, oz)
        return G.GenericFullyConnected(main_mem_in_address=addr(ins[0]), main_mem_out_address=addr(outs[0]),
                                       batches=batches, in_depth=idp, out_depth=od, input_offset=-xz,
                                       filter_offset=-int(w["zp"][0]) if w["zp"].size else 0, output_offset=oz,
                                       act_min=lo, act_max=hi, per_channel=int(per_ch), bias=bias, multiplier=mult,
                                       shift=shift, weights=M.data(ins[1], np.int8))
    if code in (Op.AVERAGE_POOL_2D, Op.MAX_POOL_2D):
        x, o = M.tensor(ins[0]), M.tensor(outs[0])
        opt = _opts(op, tflite.Pool2DOptions)
        _, ih, iw, c = x["shape"]
        _, oh, ow, _ = o["shape"]
        _, pt = _out_and_pad(ih, opt.FilterHeight(), opt.StrideH(), 1, opt.Padding())
        _, pl = _out_and_pad(iw, opt.FilterWidth(), opt.StrideW(), 1, opt.Padding())
        lo, hi = _act_range(opt.FusedActivationFunction(), *_q(o))
        cls = G.GenericAveragePool2d if code == Op.AVERAGE_POOL_2D else G.GenericMaxPool2d
        return cls(main_mem_in_address=addr(ins[0]), main_mem_out_address=addr(outs[0]), in_h=ih, in_w=iw,
                   channels=c, out_h=oh, out_w=ow, f_h=opt.FilterHeight(), f_w=opt.FilterWidth(),
                   stride_h=opt.StrideH(), stride_w=opt.StrideW(), pad_top=pt, pad_left=pl, act_min=lo, act_max=hi)
    if code == Op.ADD:
        a, b, o = M.tensor(ins[0]), M.tensor(ins[1]), M.tensor(outs[0])
        if a["shape"] != b["shape"]:
            raise ImportError_("broadcasting ADD is not supported")
        opt = _opts(op, tflite.AddOptions)
        (as_, az), (bs, bz), (os_, oz) = _q(a), _q(b), _q(o)
        left = 20
        twice = 2 * float(max(F32(as_), F32(bs)))
        m1, s1 = quantize_multiplier(float(as_) / twice)
        m2, s2 = quantize_multiplier(float(bs) / twice)
        mo, so = quantize_multiplier(twice / ((1 << left) * float(os_)))
        lo, hi = _act_range(opt.FusedActivationFunction(), os_, oz)
        return G.GenericAdd(main_mem_in_a_address=addr(ins[0]), main_mem_in_b_address=addr(ins[1]),
                            main_mem_out_address=addr(outs[0]), count=int(np.prod(o["shape"])), input1_offset=-az,
                            input1_multiplier=m1, input1_shift=s1, input2_offset=-bz, input2_multiplier=m2,
                            input2_shift=s2, left_shift=left, output_offset=oz, output_multiplier=mo,
                            output_shift=so, act_min=lo, act_max=hi)
    if code == Op.SOFTMAX:
        x, o = M.tensor(ins[0]), M.tensor(outs[0])
        beta = _opts(op, tflite.SoftmaxOptions).Beta()
        xs, _ = _q(x)
        real = min(float(beta) * float(xs) * (1 << (31 - 5)), (1 << 31) - 1.0)
        mult, lshift = quantize_multiplier(real)
        radius = math.floor(1.0 * ((1 << 5) - 1) * (1 << (31 - 5)) / (1 << lshift))
        depth = x["shape"][-1]
        return G.GenericSoftmax(main_mem_in_address=addr(ins[0]), main_mem_out_address=addr(outs[0]),
                                outer=int(np.prod(x["shape"])) // depth, depth=depth, input_multiplier=mult,
                                input_left_shift=lshift, diff_min=int(-1.0 * radius))
    if code == Op.CONCATENATION:
        o = M.tensor(outs[0])
        axis = _opts(op, tflite.ConcatenationOptions).Axis()
        shape = o["shape"]
        axis = axis + len(shape) if axis < 0 else axis
        if _opts(op, tflite.ConcatenationOptions).FusedActivationFunction() != Act.NONE:
            raise ImportError_("CONCATENATION with a fused activation is not supported")
        inner = int(np.prod(shape[axis + 1:]))
        chunks = []
        for t in ins:
            ti = M.tensor(t)
            if ti["type"] != tflite.TensorType.INT8 or _q(ti) != _q(o):
                raise ImportError_("CONCATENATION inputs must be int8 with the output's scale and zero point "
                                   "(TFLM copies bytes; the generic profile does not requantize)")
            chunks += [addr(t), ti["shape"][axis] * inner]
        return G.GenericConcat(main_mem_out_address=addr(outs[0]), input_count=len(ins),
                               outer=int(np.prod(shape[:axis])), inputs=chunks)
    if code == Op.QUANTIZE:
        x, o = M.tensor(ins[0]), M.tensor(outs[0])
        if x["type"] != tflite.TensorType.FLOAT32 or o["type"] != tflite.TensorType.INT8:
            raise ImportError_("only float32 -> int8 QUANTIZE is supported")
        s_, z = _q(o)
        return G.GenericQuantize(main_mem_in_address=addr(ins[0]), main_mem_out_address=addr(outs[0]),
                                 count=int(np.prod(o["shape"])), scale=s_, zero_point=z)
    if code == Op.DEQUANTIZE:
        x, o = M.tensor(ins[0]), M.tensor(outs[0])
        if x["type"] != tflite.TensorType.INT8 or o["type"] != tflite.TensorType.FLOAT32:
            raise ImportError_("only int8 -> float32 DEQUANTIZE is supported")
        s_, z = _q(x)
        return G.GenericDequantize(main_mem_in_address=addr(ins[0]), main_mem_out_address=addr(outs[0]),
                                   count=int(np.prod(o["shape"])), scale=s_, zero_point=z)
    name = {v: k for k, v in vars(Op).items() if not k.startswith("_")}.get(code, str(code))
    raise ImportError_(f"operator {name} is not supported by the generic profile")
