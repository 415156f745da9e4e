"""IR graph (optimized, calibrated) -> kmodel v3 for the K210.

Placement: convolutions (1x1 / 3x3, depthwise, stride 1/2, with BN + activation + 2x2/4x4 pooling
fused) run on the KPU; everything else becomes SDK CPU layers. Each tensor can live in up to three
"homes": KPU RAM (u8 row layout), main buffer u8 (dense CHW) and main buffer f32 (dense CHW);
conversions (K210_UPLOAD, MAIN_MEM_OUT download, QUANTIZE, DEQUANTIZE) are inserted on demand.
Buffers are placed by liveness afterwards.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ...errors import InputError
from ...ir import UnsupportedLayersError
from ...kmodel import KModel, kpu
from ...kmodel.layers import (GlobalAveragePool2d, Dequantize, FullyConnected, K210AddPadding, K210Conv,
                              K210RemovePadding, K210Upload, Logistic, QuantizedAdd, QuantizedConcat,
                              QuantizedMaxPool2d, Quantize, Softmax, TensorflowFlatten, AveragePool2d,
                              QuantizedGlobalAveragePool2d, QuantizedTensorflowFlatten,
                              QuantizedResizeNearestNeighbor)
from . import cpu_conv
from .kpu_params import KPUParamError, conv_params, identity_params, weight_load_params
from ...kmodel.layers.generic_input import DT_U8, GenericInput
from .memory import KPU_ROWS, Buf, place

FC_ACT = {"linear": 0, "relu": 1, "relu6": 2}
PATCHED_HINT = "; --allow-patched runs it as EMC CPU layers (not in stock kpu.c)"
# what a KPU register field that overflows limits, for the error message
KPU_FIELD_MEANING = {
    "channel_byte_num": "it is out_w*out_h-1: one output channel of a KPU layer holds at most 65536 bytes "
                        "(e.g. 256x256); use a smaller input or downsample (stride/pool) before this layer",
    "dma_total_byte": "it is out_w*out_h*channels-1: the layer's whole output",
    "para_size": "the bytes of one weight load",
}


@dataclass
class Options:
    quant_bit: int = 8
    allow_patched: bool = False      # allow layer types only Maix-EMC's patched kpu.c runs (6, 21)
    keep_softmax: bool = True
    dense_on_kpu: bool = False       # dense layers as 1x1 KPU convs on a 4x4 padded map (u8) instead of f32 CPU


@dataclass
class LayerInfo:
    """One emitted layer, for the conversion report."""
    index: int
    type: str
    op: str
    where: str
    in_shape: tuple
    out_shape: tuple
    notes: str = ""
    mem: str = ""            # where its outputs were placed (filled after allocation)
    fallback: str = ""       # why the KPU could not take it, when it runs as a CPU conv (--allow-patched)
    writes: list = field(default_factory=list, repr=False)


def qparams(rng, fixed=None):
    """(scale, zero_point) for a u8 tensor with real range rng."""
    if fixed is not None:
        return fixed
    lo, hi = min(rng[0], 0.0), max(rng[1], 0.0)
    if hi - lo < 1e-6:            # a constant (e.g. dead ReLU) tensor: any scale represents it
        hi = lo + 1e-3
    s = (hi - lo) / 255.0
    z = int(round(-lo / s))
    return s, max(0, min(255, z))


class _Groups:
    """Union-find of tensors that must share quantization (byte copies: max pool, concat, reshape)."""

    def __init__(self):
        self.p = {}

    def find(self, a):
        self.p.setdefault(a, a)
        while self.p[a] != a:
            self.p[a] = self.p[self.p[a]]
            a = self.p[a]
        return a

    def union(self, a, b):
        self.p[self.find(a)] = self.find(b)


class K210Compiler:
    def __init__(self, graph, ranges, input_quant=None, options=None, fixed_quant=None):
        self.g = graph
        self.ranges = ranges
        self.opt = options or Options()
        self.layers = []
        self.info = []
        self.bufs = []
        self.homes = {}          # tensor -> {'kpu': Buf, 'u8': Buf, 'f32': Buf}
        self.kpu_producer = {}   # tensor -> (K210Conv, layer index)
        self.pending = {}        # tensor -> (C, H, W) of the full-resolution KPU map it is the even subsample of
        self.concat_part = {}    # tensor -> (parent KPU Buf, row offset): written in place into a concat
        self.kpu_concat = {}     # concat output tensor living in KPU RAM -> its part tensors
        self.chw_flat = {}       # vector tensor -> (H, W, C) of the map it is a CHW flattening of
        self.fixups = []
        self.bad = []
        self.input_quant = input_quant
        self.fixed = dict(fixed_quant or {})
        self._quant = {}

    # ---------------------------------------------------------------- quantization
    def _build_quant(self):
        g = self.g
        grp = _Groups()
        for op in g.ops:
            if op.type in ("max_pool2d", "global_max_pool", "flatten", "reshape", "concat", "pad",
                           "resize_nearest") or \
                    (op.type == "global_avg_pool" and self.opt.allow_patched):
                for t in op.inputs:
                    grp.union(t, op.outputs[0])
        rng, fixed = {}, {}
        for t in g.tensors:
            r = grp.find(t)
            lo, hi = self.ranges.get(t, (0.0, 0.0))
            a, b = rng.get(r, (0.0, 0.0))
            rng[r] = (min(a, lo), max(b, hi))
            if t in self.fixed:
                fixed[r] = self.fixed[t]
        if self.input_quant is not None:
            fixed[grp.find(g.inputs[0])] = self.input_quant
        self._grp, self._grp_rng, self._grp_fixed = grp, rng, fixed

    def q(self, t):
        r = self._grp.find(t)
        if t not in self._quant:
            self._quant[t] = qparams(self._grp_rng[r], self._grp_fixed.get(r))
        return self._quant[t]

    # ---------------------------------------------------------------- emission helpers
    def buf(self, mem, size, name, dtype="u8"):
        b = Buf(mem, int(size), name, dtype)
        self.bufs.append(b)
        return b

    def emit(self, layer, op_name, where, in_shape, out_shape, reads=(), writes=(), notes=""):
        i = len(self.layers)
        for b in list(reads) + list(writes):
            b.touch(i)
        self.layers.append(layer)
        self.info.append(LayerInfo(i, layer.NAME, op_name, where, tuple(in_shape), tuple(out_shape), notes,
                                   writes=list(writes)))
        return i

    def fix(self, fn):
        self.fixups.append(fn)

    def _use(self, b):
        b.touch(len(self.layers))

    def shape(self, t):
        return self.g.shape(t)

    @staticmethod
    def _chw(shape):
        if len(shape) == 3:
            h, w, c = shape
            return c, h, w
        return (int(np.prod(shape)), 1, 1)

    # ---------------------------------------------------------------- homes
    def need_kpu(self, t):
        if t in self.pending:
            self.resolve_pending(t, "kpu")
        h = self.homes[t]
        if "kpu" in h:
            self._use(h["kpu"])
            return h["kpu"]
        c, hh, w = self._chw(self.shape(t))
        src = self.need_u8(t)
        dst = self.buf("kpu", kpu.map_rows(w, hh, c), t + ":kpu")
        layer = K210Upload(flags=0, main_mem_in_address=0, kpu_mem_out_address=0, width=w, height=hh, channels=c)
        self.emit(layer, t, "CPU", (c, hh, w), (c, hh, w), [src], [dst], "main -> KPU RAM")
        self.fix(lambda: setattr(layer, "main_mem_in_address", src.addr))
        self.fix(lambda: setattr(layer, "kpu_mem_out_address", dst.addr))
        h["kpu"] = dst
        return dst

    def _alias(self, out, src_t):
        """`out` names the same bytes as `src_t` (a reshape that moves nothing): it shares the homes and,
        when the bytes sit in KPU RAM, the conv that can also send them to main memory."""
        self.homes[out] = self.homes[src_t]
        for table in (self.kpu_producer, self.kpu_concat):
            if src_t in table:
                table[out] = table[src_t]

    def need_u8(self, t):
        if t in self.pending:
            self.resolve_pending(t, "u8")
        h = self.homes[t]
        if "u8" in h:
            self._use(h["u8"])
            return h["u8"]
        n = int(np.prod(self.shape(t)))
        if "i8hwc" in h:        # a CPU conv's int8 HWC output: back to u8 CHW
            src = h["i8hwc"]
            hh, w, c = src.hwc
            b = self._cpu_steps(t, src, f"{t}:u8", [
                (cpu_conv.flip_layer(n), (hh, w, c), (hh, w, c), "i8 -> u8"),
                (cpu_conv.transpose_layer((1, hh, w, c), (0, 3, 1, 2)), (hh, w, c), (c, hh, w), "HWC -> CHW")])
            h["u8"] = b
            return b
        if "kpu" in h and t in self.kpu_concat:
            srcs = [self.need_u8(x) for x in self.kpu_concat[t]]
            b = self.buf("main", n, t + ":u8")
            lay = QuantizedConcat(flags=0, main_mem_out_address=0, inputs=[(0, s.size) for s in srcs])
            self.emit(lay, t, "CPU", self._chw(self.shape(t)), self._chw(self.shape(t)), srcs, [b],
                      "main copy of a KPU-RAM concat")
            self.fix(lambda: (setattr(lay, "main_mem_out_address", b.addr),
                              setattr(lay, "inputs", [(s.addr, s.size) for s in srcs])))
            h["u8"] = b
            return b
        if "kpu" in h:
            conv, idx = self.kpu_producer[t]
            b = self.buf("main", n, t + ":u8")
            b.touch(idx)
            self._use(b)
            conv.flags |= 1
            conv.set_reg("send_data_out", 1)
            self.info[idx].notes += " +main out"
            self.info[idx].writes.append(b)
            self.fix(lambda: setattr(conv, "main_mem_out_address", b.addr))
            h["u8"] = b
            return b
        src = self.need_f32(t)
        s, z = self.q(t)
        b = self.buf("main", n, t + ":u8")
        layer = Quantize(flags=0, main_mem_in_address=0, main_mem_out_address=0, count=n, scale=s, bias=-z * s)
        self.emit(layer, t, "CPU", (n,), (n,), [src], [b])
        self.fix(lambda: (setattr(layer, "main_mem_in_address", src.addr),
                          setattr(layer, "main_mem_out_address", b.addr)))
        h["u8"] = b
        return b

    def need_f32(self, t):
        h = self.homes[t]
        if "f32" in h:
            self._use(h["f32"])
            return h["f32"]
        src = self.need_u8(t)
        n = int(np.prod(self.shape(t)))
        s, z = self.q(t)
        b = self.buf("main", 4 * n, t + ":f32", "f32")
        layer = Dequantize(flags=0, main_mem_in_address=0, main_mem_out_address=0, count=n, scale=s, bias=-z * s)
        self.emit(layer, t, "CPU", (n,), (n,), [src], [b])
        self.fix(lambda: (setattr(layer, "main_mem_in_address", src.addr),
                          setattr(layer, "main_mem_out_address", b.addr)))
        h["f32"] = b
        return b

    # ---------------------------------------------------------------- KPU conv
    def kpu_conv(self, name, src_kpu, in_shape_chw, params, k, depthwise, pool_type, out_tensor, oc):
        ic, h, w = in_shape_chw
        ow, oh = w // kpu.POOL_TYPES[pool_type][2], h // kpu.POOL_TYPES[pool_type][2]
        if min(ow, oh) < 4 or min(w, h) < 4:
            raise AssertionError(f"internal: KPU layer {name} with a map under 4x4 ({w}x{h} -> {ow}x{oh})")
        part = self.concat_part.get(out_tensor)
        if part is not None and self.shape(out_tensor) == (oh, ow, oc):
            dst = self.buf("kpu", kpu.map_rows(ow, oh, oc), out_tensor + ":kpu(view)")
            dst.parent, dst.offset = part
        else:
            dst = self.buf("kpu", kpu.map_rows(ow, oh, oc), (out_tensor or name) + ":kpu")
        weight_load_params(ic, oc, k, depthwise, self.opt.quant_bit)      # refuses what the KPU cannot load
        try:       # the register recipe is K210Conv.make's; the addresses are set once buffers are placed
            conv = K210Conv.make(weights=params["weights"], bn=params["bn"], act=params["act"], in_shape=(ic, h, w),
                                 src_row=0, dst_row=0, depthwise=depthwise, pool_type=pool_type,
                                 pad_value=params["pad_value"], arg_x=params["arg_x"], shr_x=params["shr_x"],
                                 arg_w=params["arg_w"], shr_w=params["shr_w"], arg_add=params["arg_add"],
                                 eight_bit=self.opt.quant_bit == 8)
        except kpu.RegisterFieldError as e:
            why = KPU_FIELD_MEANING.get(e.field, "")
            raise InputError(f"{e}{'; ' + why if why else ''}", where=(
                f"layer '{name}' ({'dw' if depthwise else 'conv'}{k}x{k}, input {w}x{h}x{ic} -> "
                f"output {ow}x{oh}x{oc})")) from None
        sr = conv.set_reg
        idx = self.emit(conv, name, "KPU", (ic, h, w), (oc, oh, ow), [src_kpu], [dst],
                        f"{'dw' if depthwise else 'conv'}{k}x{k} pool={kpu.POOL_TYPES[pool_type][0]}")
        self.fix(lambda: (sr("image_src_addr", src_kpu.addr), sr("image_dst_addr", dst.addr)))
        return conv, idx, dst

    def _conv_weights(self, op):
        """IR conv/depthwise -> (w (OC, ICg, K, K), depthwise flag)."""
        w = op.attrs["weights"]
        if op.type == "conv2d":
            return np.transpose(w, (3, 2, 0, 1)), False
        kh, kw, c, m = w.shape
        if m == 1:
            return np.transpose(w[:, :, :, 0], (2, 0, 1))[:, None], True
        full = np.zeros((kh, kw, c, c * m), w.dtype)       # multiplier > 1: a dense conv with zeros
        for ci in range(c):
            full[:, :, ci, ci * m:(ci + 1) * m] = w[:, :, ci, :]
        return np.transpose(full, (3, 2, 0, 1)), False

    def plan_conv(self, op):
        """Check that the KPU can do it; returns (mode, reason). Modes: 'direct', 'shift', 'padded1x1'."""
        h, w, c = self.shape(op.inputs[0])
        kh, kw = op.attrs["weights"].shape[:2]
        st = tuple(op.attrs["strides"])
        pads = tuple(op.attrs["pads"])
        if tuple(op.attrs.get("dilation", (1, 1))) != (1, 1):
            return None, "dilated convolution"
        if kh != kw or kh not in (1, 3):
            return None, f"{kh}x{kw} kernel (KPU: 1x1 or 3x3)"
        if st not in ((1, 1), (2, 2)):
            return None, f"stride {st} (KPU: 1 or 2)"
        if w > 320 or h > 256:
            return None, f"input {w}x{h} too large for the KPU (max 320 wide, 256 high)"
        if c > 1024 or op.attrs["weights"].shape[3] * (c if op.type == "depthwise_conv2d" else 1) > 1024:
            return None, "more than 1024 channels"
        if (h, w) == (1, 1) and kh == 1 and st == (1, 1):
            return "padded1x1", None
        pt, pb, pl, pr = pads
        if h < 4 or w < 4:
            if max(pads) > (1 if kh == 3 else 0):
                return None, f"padding {pads} on a {w}x{h} map"
            return ("small", max(h, 4), max(w, 4)), None     # zero-point canvas of at least 4x4
        if kh == 1:
            if any(pads):
                return None, "padded 1x1 convolution"
            return ("direct", None) if st == (1, 1) else (("stride2", 0, 0), None)
        if st == (1, 1):
            if pads == (1, 1, 1, 1):
                return "direct", None
            if max(pads) <= 1:
                return ("crop", 1 - pt, 1 - pl), None     # 'same' on the KPU, then a byte-gather crop
            return None, f"3x3 padding {pads}"
        # stride 2: the KPU computes 'same' 3x3 at every position; output y is centred at 2y + 1 - pt
        if pt > 1 or pl > 1 or pb > 1 or pr > 1:
            return None, f"3x3 stride 2 padding {pads}"
        return ("stride2", 1 - pt, 1 - pl), None

    def do_conv(self, op, fused_pool=None, out_tensor=None):
        mode, reason = self.plan_conv(op)
        if mode is None:
            if self.opt.allow_patched:
                return self._cpu_conv(op, reason)
            self.bad.append((op.name, op.source_type or op.type, reason + PATCHED_HINT))
            return
        t_in = op.inputs[0]
        out_t = out_tensor or op.outputs[0]
        h, w, c = self.shape(t_in)
        wts, dw = self._conv_weights(op)
        k = wts.shape[2]
        oc = wts.shape[0]
        act = op.attrs.get("act", "linear")
        pre = self.ranges.get(op.outputs[0] + ":preact", self.ranges.get(op.outputs[0], (0.0, 0.0)))
        try:
            p = conv_params(wts, op.attrs.get("bias"), self.q(t_in), self.q(out_t), act,
                            op.attrs.get("alpha", 0.2), pre, self.opt.quant_bit)
        except KPUParamError as e:
            self.bad.append((op.name, op.source_type or op.type, str(e)))
            return
        st = tuple(op.attrs["strides"])
        if mode == "padded1x1":
            return self._padded_1x1(op.name, t_in, c, p, oc, out_t, dw)
        pool = fused_pool if fused_pool is not None else 0
        pend = self.pending.get(t_in)
        if pend is not None and k == 1 and not dw and pool == 0 and (
                (st == (1, 1) and pend[1:3] == (2 * h, 2 * w) and min(h, w) >= 4) or
                (st == (2, 2) and h % 2 == 0 and w % 2 == 0 and pend[1:3] == (2 * h, 2 * w) and min(h, w) >= 8)):
            # absorb the pending stride-2 subsampling of the input: 1x1 conv commutes with it
            src = self.homes[t_in]["kpu"]
            self._use(src)
            c, h, w = pend[:3]
            conv, idx, dst = self.kpu_conv(op.name, src, (c, h, w), p, 1, False, 5 if st == (1, 1) else 7, out_t, oc)
            self.info[idx].notes += " (deferred stride 2)"
            self.homes[out_t] = {"kpu": dst}
            self.kpu_producer[out_t] = (conv, idx)
            return
        if mode[0] == "small":
            return self._small_map_conv(op, mode[1], mode[2], p, k, dw, oc, out_t)
        src = self.need_kpu(t_in)
        if mode[0] == "crop":
            _, y0, x0 = mode
            oh, ow = self.shape(op.outputs[0])[:2]
            conv, idx, dst = self.kpu_conv(op.name, src, (c, h, w), p, k, dw, 0, out_t + "/same", oc)
            full = self.buf("main", oc * h * w, out_t + ":same:u8")
            full.touch(idx)
            conv.flags |= 1
            conv.set_reg("send_data_out", 1)
            self.info[idx].writes.append(full)
            self.fix(lambda: setattr(conv, "main_mem_out_address", full.addr))
            ob = self.buf("main", oc * oh * ow, out_t + ":u8")
            rel = [(ch * h * w + (y0 + y) * w + x0, ow) for ch in range(oc) for y in range(oh)]
            lay = QuantizedConcat(flags=0, main_mem_out_address=0, inputs=rel)
            self.emit(lay, op.name + "/crop", "CPU", (oc, h, w), (oc, oh, ow), [full], [ob],
                      "crop by byte gather ('valid'/asymmetric padding)")
            self.fix(lambda: (setattr(lay, "main_mem_out_address", ob.addr),
                              setattr(lay, "inputs", [(full.addr + a, n) for a, n in rel])))
            self.homes[out_t] = {"u8": ob}
            return
        if mode == "direct":
            conv, idx, dst = self.kpu_conv(op.name, src, (c, h, w), p, k, dw, pool, out_t, oc)
            self.homes[out_t] = {"kpu": dst}
            self.kpu_producer[out_t] = (conv, idx)
            return
        _, offy, offx = mode
        oh, ow = self.shape(op.outputs[0])[:2]
        exact = (h, w) == (2 * oh, 2 * ow)
        big = oh >= 4 and ow >= 4                    # KPU outputs must be at least 4x4
        if (offy, offx) == (0, 0) and exact and not dw and big:
            conv, idx, dst = self.kpu_conv(op.name, src, (c, h, w), p, k, dw, 5, out_t, oc)
            self.homes[out_t] = {"kpu": dst}
            self.kpu_producer[out_t] = (conv, idx)
            return
        # The conv runs at full resolution. Centres at odd positions (TF 'same' on even maps) are
        # moved to even ones by an identity layer taking tap (+offy, +offx); the even-position
        # subsampling is then left pending for the consumer (a following 1x1 conv absorbs it as
        # left_top pooling; otherwise a KPU identity or a CPU 1x1/2 max pool picks it). Depthwise
        # KPU layers never pool here: the Kendryte compilers avoid depthwise + pooling on the chip.
        conv, idx, dst = self.kpu_conv(op.name, src, (c, h, w), p, k, dw, 0, out_t + "/full", oc)
        if (offy, offx) != (0, 0):
            zo = self.q(out_t)[1]
            if not dw and oc <= 128 and exact and big:
                # a normal (non-depthwise) identity 3x3 conv may pool: shift and pick in one layer
                ip = identity_params(oc, 3, (offy, offx), zx=zo, dense=True)
                conv, idx, dst = self.kpu_conv(op.name + "/stride2", dst, (oc, h, w), ip, 3, False, 5, out_t, oc)
                self.info[idx].notes += " (TF 'same' stride-2 alignment)"
                self.homes[out_t] = {"kpu": dst}
                self.kpu_producer[out_t] = (conv, idx)
                return
            ip = identity_params(oc, 3, (offy, offx), zx=zo)
            conv, idx, dst = self.kpu_conv(op.name + "/shift", dst, (oc, h, w), ip, 3, True, 0, out_t, oc)
            self.info[idx].notes += " (stride-2 alignment shift)"
        self.pending[out_t] = (oc, h, w, oh, ow)
        self.homes[out_t] = {"kpu": dst}
        self.kpu_producer[out_t] = (conv, idx)

    def _cpu_conv(self, op, why):
        """A convolution the KPU cannot run, as EMC generic int8 CPU layers (see cpu_conv.py)."""
        t_in, out_t = op.inputs[0], op.outputs[0]
        (h, w, c), (oh, ow, oc) = self.shape(t_in), self.shape(out_t)
        try:
            conv = cpu_conv.conv_layer(op, (h, w, c), (oh, ow, oc), self.q(t_in), self.q(out_t))
        except ValueError as e:
            return self.bad.append((op.name, op.source_type or op.type, f"{why}; on the CPU: {e}"))
        src = self.homes[t_in].get("i8hwc")           # the previous CPU conv's output: no round trip
        if src is None or src.hwc != (h, w, c):
            src = self._cpu_steps(op.name, self.need_u8(t_in), f"{t_in}:i8hwc", [
                (cpu_conv.transpose_layer((1, c, h, w), (0, 2, 3, 1)), (c, h, w), (h, w, c), "CHW -> HWC"),
                (cpu_conv.flip_layer(h * w * c), (h, w, c), (h, w, c), "u8 -> i8")])
            src.hwc = (h, w, c)
            self.homes[t_in]["i8hwc"] = src
        ob = self._cpu_steps(op.name, src, f"{out_t}:i8hwc",
                             [(conv, (h, w, c), (oh, ow, oc), f"CPU conv, KPU cannot: {why}")])
        self.info[-1].fallback = why
        ob.hwc = (oh, ow, oc)
        self.homes[out_t] = {"i8hwc": ob}

    def _cpu_steps(self, op_name, src, name, steps):
        """Emit main-buffer layers one after the other, each reading the previous one's output."""
        cur = src
        for k, (lay, ins, outs, note) in enumerate(steps):
            # the last buffer holds the tensor (the report's per-layer errors find it by this name)
            ob = self.buf("main", int(np.prod(outs)), name if k == len(steps) - 1 else f"{name}~{k}")
            self.emit(lay, op_name, "CPU", ins, outs, [cur], [ob], note)
            self.fix(lambda lay=lay, a=cur, b=ob: (setattr(lay, "main_mem_in_address", a.addr),
                                                   setattr(lay, "main_mem_out_address", b.addr)))
            cur = ob
        return cur

    def _const_u8(self, name, value, count, any_buf):
        """count bytes of `value` in main memory: a QUANTIZED_ADD with zero multipliers."""
        b = self.buf("main", count, f"{name}:const{value}")
        lay = QuantizedAdd(flags=0, main_mem_in_a_address=0, main_mem_in_b_address=0, main_mem_out_address=0,
                           count=count, in_a_offset=0, in_a_mul=0, in_a_shift=0, in_b_offset=0, in_b_mul=0,
                           in_b_shift=0, out_offset=int(value), out_mul=0, out_shift=0)
        self.emit(lay, name, "CPU", (count,), (count,), [any_buf], [b], f"constant {value} (zero point)")
        self.fix(lambda: (setattr(lay, "main_mem_in_a_address", any_buf.addr),
                          setattr(lay, "main_mem_in_b_address", any_buf.addr),
                          setattr(lay, "main_mem_out_address", b.addr)))
        return b

    def _gather(self, name, parts, out_buf, in_shape, out_shape, notes):
        """QUANTIZED_CONCAT as a byte gather: parts = [(Buf, offset, size)]; adjacent ranges are merged."""
        merged = []
        for b, off, n in parts:
            if merged and merged[-1][0] is b and merged[-1][1] + merged[-1][2] == off:
                merged[-1] = (b, merged[-1][1], merged[-1][2] + n)
            else:
                merged.append((b, off, n))
        lay = QuantizedConcat(flags=0, main_mem_out_address=0, inputs=[(0, n) for _, _, n in merged])
        self.emit(lay, name, "CPU", in_shape, out_shape, list({id(b): b for b, _, _ in merged}.values()),
                  [out_buf], notes)
        self.fix(lambda: (setattr(lay, "main_mem_out_address", out_buf.addr),
                          setattr(lay, "inputs", [(b.addr + off, n) for b, off, n in merged])))

    def _small_map_conv(self, op, ch, cw, p, k, dw, oc, out_t):
        """A conv on a map narrower than 4: embed it in a zero-point canvas of ch x cw (>= 4x4) by a byte
        gather, run 'same' on the KPU, download, and gather the wanted output positions back."""
        t_in = op.inputs[0]
        h, w, c = self.shape(t_in)
        oh, ow = self.shape(op.outputs[0])[:2]
        sy, sx = op.attrs["strides"]
        pt, _, pl, _ = op.attrs["pads"]
        src = self.need_u8(t_in)
        zx = int(round(self.q(t_in)[1]))
        zb = self._const_u8(op.name + "/zp", zx, cw, src)
        parts = []
        for ci in range(c):
            for y in range(ch):
                if y < h:
                    parts.append((src, (ci * h + y) * w, w))
                    if cw > w:
                        parts.append((zb, 0, cw - w))
                else:
                    parts.append((zb, 0, cw))
        canvas = self.buf("main", c * ch * cw, t_in + f":canvas{ch}x{cw}")
        self._gather(op.name + "/pad", parts, canvas, (c, h, w), (c, ch, cw), f"zero-point canvas {cw}x{ch}")
        kb = self.buf("kpu", kpu.map_rows(cw, ch, c), t_in + ":kpu_canvas")
        up = K210Upload(flags=0, main_mem_in_address=0, kpu_mem_out_address=0, width=cw, height=ch, channels=c)
        self.emit(up, op.name, "CPU", (c, ch, cw), (c, ch, cw), [canvas], [kb], "main -> KPU RAM")
        self.fix(lambda: (setattr(up, "main_mem_in_address", canvas.addr),
                          setattr(up, "kpu_mem_out_address", kb.addr)))
        conv, idx, dst = self.kpu_conv(op.name, kb, (c, ch, cw), p, k, dw, 0, out_t + "/canvas", oc)
        full = self.buf("main", oc * ch * cw, out_t + ":canvas:u8")
        full.touch(idx)
        conv.flags |= 1
        conv.set_reg("send_data_out", 1)
        self.info[idx].writes.append(full)
        self.fix(lambda: setattr(conv, "main_mem_out_address", full.addr))
        off = 1 - pt if k == 3 else 0
        offx = 1 - pl if k == 3 else 0
        parts = []
        for o in range(oc):
            for y in range(oh):
                row = (o * ch + sy * y + off) * cw
                if sx == 1:
                    parts.append((full, row + offx, ow))
                else:
                    parts.extend((full, row + sx * x + offx, 1) for x in range(ow))
        ob = self.buf("main", oc * oh * ow, out_t + ":u8")
        self._gather(op.name + "/crop", parts, ob, (oc, ch, cw), (oc, oh, ow), "take the real map back")
        self.homes[out_t] = {"u8": ob}

    def _padded_1x1(self, name, t_in, c, p, oc, out_t, dw=False):
        """A 1x1 conv on a 1x1 map (or a dense layer): K210_ADD_PADDING -> 4x4 KPU conv -> REMOVE_PADDING."""
        src = self.need_u8(t_in)
        kb = self.buf("kpu", kpu.map_rows(4, 4, c), t_in + ":kpu4x4")
        lay = K210AddPadding(flags=0, main_mem_in_address=0, kpu_mem_out_address=0, channels=c)
        self.emit(lay, name, "CPU", (c,), (c, 4, 4), [src], [kb], "vector -> 4x4 KPU map")
        self.fix(lambda: (setattr(lay, "main_mem_in_address", src.addr),
                          setattr(lay, "kpu_mem_out_address", kb.addr)))
        conv, idx, dst = self.kpu_conv(name, kb, (c, 4, 4), p, 1, dw, 0, out_t, oc)
        mb = self.buf("main", 16 * oc, out_t + ":4x4")
        mb.touch(idx)
        conv.flags |= 1
        conv.set_reg("send_data_out", 1)
        self.info[idx].writes.append(mb)
        self.fix(lambda: setattr(conv, "main_mem_out_address", mb.addr))
        ob = self.buf("main", oc, out_t + ":u8")
        rp = K210RemovePadding(flags=0, main_mem_in_address=0, main_mem_out_address=0, channels=oc)
        self.emit(rp, name, "CPU", (oc, 4, 4), (oc,), [mb], [ob], "pixel (0,0) of each channel")
        self.fix(lambda: (setattr(rp, "main_mem_in_address", mb.addr),
                          setattr(rp, "main_mem_out_address", ob.addr)))
        self.homes[out_t] = {"u8": ob}

    def resolve_pending(self, t, to):
        """Materialize the stride-2 subsampling left pending on t's full-resolution KPU map."""
        c, h, w, oh, ow = self.pending.pop(t)
        full = self.homes[t]["kpu"]
        conv0, idx0 = self.kpu_producer[t]
        if to == "kpu" and c <= 256 and (h, w) == (2 * oh, 2 * ow) and min(oh, ow) >= 4:
            ip = identity_params(c, 1, dense=True, zx=self.q(t)[1])
            conv, idx, dst = self.kpu_conv(t + "/stride2", full, (c, h, w), ip, 1, False, 5, t, c)
            self.info[idx].notes += " (stride-2 pick)"
            self.homes[t] = {"kpu": dst}
            self.kpu_producer[t] = (conv, idx)
            return
        # on the CPU: download the full map, pick the even positions with a 1x1/2 max pool
        b = self.buf("main", c * h * w, t + ":full:u8")
        b.touch(idx0)
        conv0.flags |= 1
        conv0.set_reg("send_data_out", 1)
        self.info[idx0].notes += " +main out"
        self.info[idx0].writes.append(b)
        self.fix(lambda: setattr(conv0, "main_mem_out_address", b.addr))
        ob = self.buf("main", c * oh * ow, t + ":u8")
        lay = QuantizedMaxPool2d(flags=0, main_mem_in_address=0, main_mem_out_address=0, in_width=w, in_height=h,
                                 in_channels=c, out_width=ow, out_height=oh, out_channels=c, kernel_width=1,
                                 kernel_height=1, stride_width=2, stride_height=2, padding_width=0, padding_height=0)
        self.emit(lay, t + "/stride2", "CPU", (c, h, w), (c, oh, ow), [b], [ob], "stride-2 pick")
        self.fix(lambda: (setattr(lay, "main_mem_in_address", b.addr),
                          setattr(lay, "main_mem_out_address", ob.addr)))
        self.homes[t] = {"u8": ob}
        del self.kpu_producer[t]

    # ---------------------------------------------------------------- other ops
    def do_maxpool_cpu(self, op, kernel, strides, pads, out_shape):
        t = op.inputs[0]
        h, w, c = self.shape(t)
        src = self.need_u8(t)
        oh, ow = out_shape
        ob = self.buf("main", oh * ow * c, op.outputs[0] + ":u8")
        lay = QuantizedMaxPool2d(flags=0, main_mem_in_address=0, main_mem_out_address=0, in_width=w, in_height=h,
                                 in_channels=c, out_width=ow, out_height=oh, out_channels=c,
                                 kernel_width=kernel[1], kernel_height=kernel[0], stride_width=strides[1],
                                 stride_height=strides[0], padding_width=pads[2], padding_height=pads[0])
        self.emit(lay, op.name, "CPU", (c, h, w), (c, oh, ow), [src], [ob])
        self.fix(lambda: (setattr(lay, "main_mem_in_address", src.addr),
                          setattr(lay, "main_mem_out_address", ob.addr)))
        self.homes[op.outputs[0]] = {"u8": ob}

    def do_op(self, op):
        t = op.type
        g = self.g
        out = op.outputs[0]
        name = op.name
        if t in ("conv2d", "depthwise_conv2d"):
            return self.do_conv(op)
        if t == "max_pool2d":
            oh, ow, _ = self.shape(out)
            pads = op.attrs["pads"]
            if pads[1] > op.attrs["ksize"][0] - 1 or pads[3] > op.attrs["ksize"][1] - 1:
                return self.bad.append((name, op.source_type, "padding larger than the window"))
            return self.do_maxpool_cpu(op, op.attrs["ksize"], op.attrs["strides"], pads, (oh, ow))
        if t == "pad" and len(self.shape(out)) == 3:
            h, w, c = self.shape(op.inputs[0])
            pt, pb, pl, pr = op.attrs["pads"]
            oh, ow = h + pt + pb, w + pl + pr
            src = self.need_u8(op.inputs[0])
            s_o, z_o = self.q(out)
            fill = int(min(255, max(0, round(op.attrs.get("value", 0.0) / s_o + z_o))))
            zb = self._const_u8(name + "/zp", fill, max(ow, 1), src)
            parts = []
            for ci in range(c):
                for y in range(oh):
                    if pt <= y < pt + h:
                        if pl:
                            parts.append((zb, 0, pl))
                        parts.append((src, (ci * h + y - pt) * w, w))
                        if pr:
                            parts.append((zb, 0, pr))
                    else:
                        parts.append((zb, 0, ow))
            ob = self.buf("main", c * oh * ow, out + ":u8")
            self._gather(name, parts, ob, (c, h, w), (c, oh, ow), "pad by byte gather")
            self.homes[out] = {"u8": ob}
            return
        if t == "resize_nearest":
            h, w, c = self.shape(op.inputs[0])
            oh, ow, _ = self.shape(out)
            src = self.need_u8(op.inputs[0])
            ob = self.buf("main", c * oh * ow, out + ":u8")
            lay = QuantizedResizeNearestNeighbor(flags=0, main_mem_in_address=0, main_mem_out_address=0,
                                                 in_width=w, in_height=h, in_channels=c, out_width=ow,
                                                 out_height=oh, align_corners=0)
            self.emit(lay, name, "CPU", (c, h, w), (c, oh, ow), [src], [ob])
            self.fix(lambda: (setattr(lay, "main_mem_in_address", src.addr),
                              setattr(lay, "main_mem_out_address", ob.addr)))
            self.homes[out] = {"u8": ob}
            return
        if t == "global_max_pool":
            h, w, c = self.shape(op.inputs[0])
            return self.do_maxpool_cpu(op, (h, w), (1, 1), (0, 0, 0, 0), (1, 1))
        if t == "avg_pool2d":
            h, w, c = self.shape(op.inputs[0])
            oh, ow, _ = self.shape(out)
            src = self.need_f32(op.inputs[0])
            ob = self.buf("main", 4 * oh * ow * c, out + ":f32", "f32")
            pads = op.attrs["pads"]
            lay = AveragePool2d(flags=0, main_mem_in_address=0, main_mem_out_address=0, in_width=w, in_height=h,
                                in_channels=c, out_width=ow, out_height=oh, out_channels=c,
                                kernel_width=op.attrs["ksize"][1], kernel_height=op.attrs["ksize"][0],
                                stride_width=op.attrs["strides"][1], stride_height=op.attrs["strides"][0],
                                padding_width=pads[2], padding_height=pads[0], act=0)
            self.emit(lay, name, "CPU", (c, h, w), (c, oh, ow), [src], [ob])
            self.fix(lambda: (setattr(lay, "main_mem_in_address", src.addr),
                              setattr(lay, "main_mem_out_address", ob.addr)))
            self.homes[out] = {"f32": ob}
            return
        if t == "global_avg_pool" and self.opt.allow_patched:
            h, w, c = self.shape(op.inputs[0])
            src = self.need_u8(op.inputs[0])
            ob = self.buf("main", c, out + ":u8")
            lay = QuantizedGlobalAveragePool2d(flags=0, main_mem_in_address=0, main_mem_out_address=0,
                                               kernel_size=h * w, channels=c)
            self.emit(lay, name, "CPU", (c, h, w), (c,), [src], [ob], "patched kpu.c only")
            self.fix(lambda: (setattr(lay, "main_mem_in_address", src.addr),
                              setattr(lay, "main_mem_out_address", ob.addr)))
            self.homes[out] = {"u8": ob}
            return
        if t == "global_avg_pool":
            h, w, c = self.shape(op.inputs[0])
            src = self.need_f32(op.inputs[0])
            ob = self.buf("main", 4 * c, out + ":f32", "f32")
            lay = GlobalAveragePool2d(flags=0, main_mem_in_address=0, main_mem_out_address=0, kernel_size=h * w,
                                      channels=c)
            self.emit(lay, name, "CPU", (c, h, w), (c,), [src], [ob])
            self.fix(lambda: (setattr(lay, "main_mem_in_address", src.addr),
                              setattr(lay, "main_mem_out_address", ob.addr)))
            self.homes[out] = {"f32": ob}
            return
        if t in ("flatten", "reshape"):
            src_t = op.inputs[0]
            ins, outs = self.shape(src_t), self.shape(out)
            cons = g.consumers(out)
            same_mem = tuple(ins) == tuple(outs) or (
                (len(ins) != 3 or ins[0] * ins[1] == 1 or ins[2] == 1) and
                (len(outs) != 3 or outs[0] * outs[1] == 1 or outs[2] == 1))
            if src_t in self.pending:
                self.resolve_pending(src_t, "u8")
            if same_mem:
                self._alias(out, src_t)                      # CHW order == HWC order here
                self.chw_flat[out] = self.chw_flat.get(src_t)
                return
            if len(ins) == 3 and len(outs) == 1 and out not in g.outputs and cons and \
                    all(o.type == "dense" for o in cons):
                self._alias(out, src_t)                      # dense weights are permuted instead
                self.chw_flat[out] = ins
                return
            if len(ins) == 3 and len(outs) == 1 and self.opt.allow_patched and out not in g.outputs:
                h, w, c = ins
                src = self.need_u8(src_t)
                ob = self.buf("main", h * w * c, out + ":u8")
                lay = QuantizedTensorflowFlatten(flags=0, main_mem_in_address=0, main_mem_out_address=0,
                                                 shape_width=w, shape_height=h, shape_channels=c)
                self.emit(lay, name, "CPU", (c, h, w), (h * w * c,), [src], [ob], "CHW -> HWC, patched kpu.c only")
                self.fix(lambda: (setattr(lay, "main_mem_in_address", src.addr),
                                  setattr(lay, "main_mem_out_address", ob.addr)))
                self.homes[out] = {"u8": ob}
                return
            if len(ins) == 3 and len(outs) == 1:
                h, w, c = ins
                src = self.need_f32(src_t)
                ob = self.buf("main", 4 * h * w * c, out + ":f32", "f32")
                lay = TensorflowFlatten(flags=0, main_mem_in_address=0, main_mem_out_address=0,
                                        shape_width=w, shape_height=h, shape_channels=c)
                self.emit(lay, name, "CPU", (c, h, w), (h * w * c,), [src], [ob], "CHW -> HWC")
                self.fix(lambda: (setattr(lay, "main_mem_in_address", src.addr),
                                  setattr(lay, "main_mem_out_address", ob.addr)))
                self.homes[out] = {"f32": ob}
                return
            return self.bad.append((name, op.source_type or t, f"reshape {ins} -> {outs}"))
        if t == "dense":
            src_t = op.inputs[0]
            W = np.asarray(op.attrs["weights"], np.float32)
            n_in, n_out = W.shape
            perm = self.chw_flat.get(src_t)
            if perm is not None:
                h, w, c = perm
                idx = np.arange(h * w * c).reshape(h, w, c).transpose(2, 0, 1).reshape(-1)
                W = W[idx]                                  # rows in CHW order
            act = op.attrs.get("act", "linear")
            if self.opt.dense_on_kpu and n_in <= 1024 and n_out <= 1024:
                pre = self.ranges.get(out + ":preact", self.ranges.get(out, (0.0, 0.0)))
                try:
                    p = conv_params(W.T[:, :, None, None], op.attrs.get("bias"), self.q(src_t), self.q(out), act,
                                    op.attrs.get("alpha", 0.2), pre, self.opt.quant_bit)
                except KPUParamError as e:
                    return self.bad.append((name, op.source_type or t, str(e)))
                return self._padded_1x1(name, src_t, n_in, p, n_out, out)
            if act not in FC_ACT and act != "sigmoid":
                return self.bad.append((name, op.source_type or t, f"activation {act} after a CPU dense layer"))
            src = self.need_f32(src_t)
            ob = self.buf("main", 4 * n_out, out + ":f32", "f32")
            b = op.attrs.get("bias")
            lay = FullyConnected(flags=0, main_mem_in_address=0, main_mem_out_address=0, in_channels=n_in,
                                 out_channels=n_out, act=FC_ACT.get(act, 0), weights=W.T.copy(),
                                 bias=np.zeros(n_out, np.float32) if b is None else b)
            self.emit(lay, name, "CPU", (n_in,), (n_out,), [src], [ob], f"f32 act={act}")
            self.fix(lambda: (setattr(lay, "main_mem_in_address", src.addr),
                              setattr(lay, "main_mem_out_address", ob.addr)))
            if act == "sigmoid":
                self._logistic(name, ob, n_out)
            self.homes[out] = {"f32": ob}
            return
        if t == "softmax":
            n = int(np.prod(self.shape(out)))
            if len(self.shape(out)) != 1 and n != self.shape(out)[-1]:    # a 1x1xN map is a vector in CHW
                return self.bad.append((name, op.source_type or t, "softmax over a map larger than 1x1"))
            src = self.need_f32(op.inputs[0])
            ob = self.buf("main", 4 * n, out + ":f32", "f32")
            lay = Softmax(flags=0, main_mem_in_address=0, main_mem_out_address=0, channels=n)
            self.emit(lay, name, "CPU", (n,), (n,), [src], [ob])
            self.fix(lambda: (setattr(lay, "main_mem_in_address", src.addr),
                              setattr(lay, "main_mem_out_address", ob.addr)))
            self.homes[out] = {"f32": ob}
            return
        if t == "activation" and op.attrs.get("act") == "sigmoid" and len(self.shape(out)) == 1:
            n = self.shape(out)[0]
            src = self.need_f32(op.inputs[0])
            ob = self.buf("main", 4 * n, out + ":f32", "f32")
            lay = Logistic(flags=0, main_mem_in_address=0, main_mem_out_address=0, channels=n)
            self.emit(lay, name, "CPU", (n,), (n,), [src], [ob])
            self.fix(lambda: (setattr(lay, "main_mem_in_address", src.addr),
                              setattr(lay, "main_mem_out_address", ob.addr)))
            self.homes[out] = {"f32": ob}
            return
        if t == "add":
            act = op.attrs.get("act", "linear")
            if act not in ("linear", "relu", "relu6"):
                return self.bad.append((name, op.source_type or t, f"activation {act} after add"))
            cur = op.inputs[0]
            for j, other in enumerate(op.inputs[1:]):
                dst_t = out if j == len(op.inputs) - 2 else self.g.unique_name(out + f"_part{j}")
                if dst_t != out:
                    self.g.add_tensor(dst_t, self.shape(out))
                    self.ranges[dst_t] = self.ranges.get(out, (0, 0))
                    self._grp_rng[self._grp.find(dst_t)] = self.ranges[dst_t]
                self._qadd(name, cur, other, dst_t)
                cur = dst_t
            if act == "relu" and self.q(out)[1] != 0:
                self.bad.append((name, op.source_type or t, "relu after add needs a zero-based range"))
            return
        if t == "concat":
            shp = self.shape(out)
            if op.attrs["axis"] != len(shp) - 1:
                return self.bad.append((name, op.source_type or t, "concat not along channels"))
            homes = [self.homes[x].get("kpu") for x in op.inputs]
            parents = {id(b.parent) for b in homes if b is not None and b.parent is not None}
            if all(b is not None and b.parent is not None for b in homes) and len(parents) == 1 \
                    and all(x not in self.pending for x in op.inputs):
                parent = homes[0].parent
                for b in homes:
                    self._use(b)
                self.homes[out] = {"kpu": parent}
                self.kpu_concat[out] = list(op.inputs)
                return
            srcs = [self.need_u8(x) for x in op.inputs]
            n = int(np.prod(shp))
            ob = self.buf("main", n, out + ":u8")
            lay = QuantizedConcat(flags=0, main_mem_out_address=0, inputs=[(0, b.size) for b in srcs])
            c, h, w = self._chw(shp)
            self.emit(lay, name, "CPU", tuple(self._chw(self.shape(x)) for x in op.inputs), (c, h, w),
                      srcs, [ob], "byte concat along channels")
            self.fix(lambda: (setattr(lay, "main_mem_out_address", ob.addr),
                              setattr(lay, "inputs", [(b.addr, b.size) for b in srcs])))
            self.homes[out] = {"u8": ob}
            return
        self.bad.append((name, op.source_type or t, f"no K210 lowering for {t}"
                         + (f" with activation {op.attrs.get('act')}" if t == "activation" else "")))

    def _logistic(self, name, buf, n):
        lay = Logistic(flags=0, main_mem_in_address=0, main_mem_out_address=0, channels=n)
        self.emit(lay, name, "CPU", (n,), (n,), [buf], [buf], "sigmoid")
        self.fix(lambda: (setattr(lay, "main_mem_in_address", buf.addr),
                          setattr(lay, "main_mem_out_address", buf.addr)))

    def _qadd(self, name, a, b, out):
        sa, za = self.q(a)
        sb, zb = self.q(b)
        so, zo = self.q(out)
        ba, bb = self.need_u8(a), self.need_u8(b)
        n = int(np.prod(self.shape(out)))
        k = min(30, 30 - max(0, math.ceil(math.log2(max(sa, sb) / so * 256 + 1e-30))))
        ob = self.buf("main", n, out + ":u8")
        lay = QuantizedAdd(flags=0, main_mem_in_a_address=0, main_mem_in_b_address=0, main_mem_out_address=0,
                           count=n, in_a_offset=-za, in_a_mul=int(round(sa / so * 2 ** k)), in_a_shift=0,
                           in_b_offset=-zb, in_b_mul=int(round(sb / so * 2 ** k)), in_b_shift=0,
                           out_offset=zo, out_mul=1, out_shift=k)
        self.emit(lay, name, "CPU", self._chw(self.shape(a)), self._chw(self.shape(out)), [ba, bb], [ob])
        self.fix(lambda: (setattr(lay, "main_mem_in_a_address", ba.addr),
                          setattr(lay, "main_mem_in_b_address", bb.addr),
                          setattr(lay, "main_mem_out_address", ob.addr)))
        self.homes[out] = {"u8": ob}

    # ---------------------------------------------------------------- driver
    def fuse_pools(self):
        """conv (stride 1) -> 2x2/s2 or 4x4/s4 max/avg pool on a divisible map: the KPU pool field."""
        fused = {}
        for op in self.g.ops:
            if op.type not in ("max_pool2d", "avg_pool2d"):
                continue
            prod = self.g.producer(op.inputs[0])
            if prod is not None and prod.type == "depthwise_conv2d" and prod.attrs["weights"].shape[3] == 1:
                continue            # no pooling on depthwise KPU layers
            if prod is None or prod.type not in ("conv2d", "depthwise_conv2d") or \
                    tuple(prod.attrs["strides"]) != (1, 1) or len(self.g.consumers(op.inputs[0])) != 1 or \
                    op.inputs[0] in self.g.outputs:
                continue
            k, s = tuple(op.attrs["ksize"]), tuple(op.attrs["strides"])
            h, w, _ = self.shape(op.inputs[0])
            kinds = {((2, 2), (2, 2)): (1, 2), ((4, 4), (4, 4)): (3, 4)}
            if (k, s) not in kinds or h % s[0] or w % s[1] or h // s[0] < 4 or w // s[1] < 4:
                continue            # the KPU writes maps of at least 4x4
            fused[prod.name] = (op, kinds[(k, s)][0 if op.type == "max_pool2d" else 1])
        return fused

    def plan_kpu_concats(self, fused):
        """Channel concats whose parts all come from KPU convs are written in place: each part is a view
        into one KPU RAM map, which needs every part but the last to fill whole channel groups."""
        g = self.g
        pool_out = {p.outputs[0]: conv for conv, (p, _) in fused.items()}
        taken = set()
        for op in g.ops:
            if op.type != "concat" or len(g.shape(op.outputs[0])) != 3:
                continue
            h, w, ctot = g.shape(op.outputs[0])
            groups = kpu.layout_for_width(w)[0]
            parts = op.inputs
            if len(set(parts)) != len(parts) or any(x in taken or x in g.inputs for x in parts):
                continue
            ok = min(h, w) >= 4
            for j, x in enumerate(parts):
                prod = g.producer(x)
                is_conv = prod is not None and (prod.type in ("conv2d", "depthwise_conv2d") or x in pool_out)
                if not is_conv or (j < len(parts) - 1 and g.shape(x)[2] % groups):
                    ok = False
            if not ok:
                continue
            parent = self.buf("kpu", kpu.map_rows(w, h, ctot), op.outputs[0] + ":kpu")
            rows_per_group = kpu.map_rows(w, h, groups)
            ch = 0
            for x in parts:
                self.concat_part[x] = (parent, (ch // groups) * rows_per_group)
                ch += g.shape(x)[2]
                taken.add(x)

    def compile(self):
        g = self.g
        if len(g.inputs) != 1:
            raise UnsupportedLayersError([(t, "Input", "kmodel v3 has one input") for t in g.inputs], g.name)
        self._build_quant()
        fused = self.fuse_pools()
        skip = {p.name for p, _ in fused.values()}
        self.plan_kpu_concats(fused)
        t_in = g.inputs[0]
        in_shape = g.shape(t_in)
        first = g.ops[0] if g.ops else None
        if len(in_shape) == 1:
            self.homes[t_in] = {"f32": self.buf("main", 4 * in_shape[0], t_in + ":f32", "f32")}
            self.homes[t_in]["f32"].touch(-1)
            if first is None or first.type != "dense" or first.inputs != [t_in]:
                self.bad.append((t_in, "Input", "a vector input must feed a dense layer first"))
        else:
            if len(in_shape) != 3:
                raise UnsupportedLayersError([(t_in, "Input", f"input shape {in_shape}")], g.name)
            h, w, c = in_shape
            if (h < 4 or w < 4) and self.opt.allow_patched:
                # the input stays in the main buffer (u8 CHW); the KPU's first layer cannot take it
                ib = self.buf("main", h * w * c, t_in + ":u8")
                lay = GenericInput(flags=0, main_mem_out_address=0, dtype=DT_U8, rank=3, dim0=c, dim1=h, dim2=w,
                                   dim3=0, scale=float(self.q(t_in)[0]), zero_point=int(round(self.q(t_in)[1])))
                self.emit(lay, t_in, "CPU", (c, h, w), (c, h, w), [], [ib], f"{w}x{h} input in main memory")
                self.fix(lambda: setattr(lay, "main_mem_out_address", ib.addr))
                self.homes[t_in] = {"u8": ib}
                first = None
            if t_in not in self.homes:
                kb = self.buf("kpu", kpu.map_rows(w, h, c), t_in + ":kpu")
                kb.touch(-1)
                self.homes[t_in] = {"kpu": kb}
            if (h < 4 or w < 4) and not self.opt.allow_patched:
                raise UnsupportedLayersError([(t_in, "Input", f"{w}x{h} input: the KPU's first layer needs at least 4x4; "
                                              "--allow-patched keeps it in main memory for CPU layers")],
                                             g.name)
            m0 = self.plan_conv(first)[0] if first is not None and first.type in ("conv2d", "depthwise_conv2d") \
                else None
            if "u8" in self.homes[t_in]:
                pass
            elif m0 is None or m0 == "padded1x1" or m0[0] == "small" or first.inputs != [t_in]:
                # layer 0 must be a KPU conv reading the input: copy it through an identity layer
                ip = identity_params(c, 1, zx=int(round(self.q(t_in)[1])))
                conv, idx, dst = self.kpu_conv("input_copy", kb, (c, h, w), ip, 1, True, 0, t_in, c)
                self.homes[t_in] = {"kpu": dst}
                self.kpu_producer[t_in] = (conv, idx)
        for op in g.ops:
            if any(t not in self.homes for t in op.inputs):
                if op.name not in skip:
                    own = self.plan_conv(op)[1] if op.type in ("conv2d", "depthwise_conv2d") else None
                    if own and not self.opt.allow_patched:    # unsupported for itself; the others follow the cause
                        self.bad.append((op.name, op.source_type or op.type, own + PATCHED_HINT))
                continue
            if op.name in skip:
                continue
            if op.name in fused:
                pool_op, ptype = fused[op.name]
                if self.plan_conv(op)[0] == "direct":
                    self.do_conv(op, fused_pool=ptype, out_tensor=pool_op.outputs[0])
                    self.info[-1].op += "+" + pool_op.name
                    continue
                self.do_op(op)
                self.do_op(pool_op)
                continue
            self.do_op(op)
        if self.bad:
            raise UnsupportedLayersError(self.bad, f"model '{g.name}' for the K210")
        out_bufs = []
        for t in g.outputs:
            b = self.need_f32(t)
            b.keep = True
            out_bufs.append((t, b))
        if not self.layers or self.layers[0].TYPE not in (K210Conv.TYPE, FullyConnected.TYPE, GenericInput.TYPE):
            raise UnsupportedLayersError([(g.ops[0].name, g.ops[0].type, "the first layer must run on the KPU")],
                                         g.name)
        end = len(self.layers)
        kbufs = [b for b in self.bufs if b.mem == "kpu"]
        mbufs = [b for b in self.bufs if b.mem == "main"]
        for b in kbufs + mbufs:
            if b.first > b.last:
                b.first = b.last
        msa = place(kbufs, "kpu", end, top_down=True)
        main = place(mbufs, "main", end)
        for f in self.fixups:
            f()
        for li in self.info:
            li.mem = ", ".join(
                f"kpu rows {b.addr}..{b.addr + b.size - 1}" if b.mem == "kpu" else f"main [{b.addr}, {b.addr + b.size})"
                for b in li.writes)
        model = KModel(layers=self.layers, outputs=[(b.addr, b.size) for _, b in out_bufs],
                       flags=1 if self.opt.quant_bit == 8 else 0, main_mem_usage=max(8, (main + 7) // 8 * 8),
                       max_start_address=msa)
        self.main_mem = model.main_mem_usage
        self.kpu_rows = KPU_ROWS - msa
        self.output_names = [t for t, _ in out_bufs]
        return model
