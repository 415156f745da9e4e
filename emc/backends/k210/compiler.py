"""IR graph (optimized, calibrated) -> kmodel v3 for the K210.

Placement: convolutions (1x1 / 3x3, depthwise, stride 1/2, with BN + activation + 2x2/4x4 pooling
fused) run on the KPU; everything else becomes SDK CPU layers. Each tensor can live in up to three
"homes": KPU RAM (u8 row layout), main buffer u8 (dense CHW) and main buffer f32 (dense CHW);
conversions (K210_UPLOAD, MAIN_MEM_OUT download, QUANTIZE, DEQUANTIZE) are inserted on demand.
Buffers are placed by liveness afterwards.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import InputError
from ...ir import UnsupportedLayersError
from ...ir.opdef import op_types, opdef
from ...kmodel import KModel, kpu
from ...kmodel.layers import (Concat, Dequantize, FullyConnected, K210AddPadding, K210Conv, K210RemovePadding,
                              K210Upload, QuantizedAdd, QuantizedConcat, QuantizedMaxPool2d, Quantize)
from . import cpu_conv
from .kpu_params import KPUParamError, conv_params, identity_params, weight_load_params
from ...kmodel.layers.generic_input import DT_U8, GenericInput
from .memory import KPU_ROWS, Buf, place

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
            if opdef(op.type).k210_byte_copy(self.opt):
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

    def emit_io(self, layer, op_name, src, dst, in_shape, out_shape, notes="", out_field="main_mem_out_address",
                offset=0):
        """emit() for a CPU layer reading buffer src through its main_mem_in_address and writing dst through
        `out_field`; both addresses (plus `offset` bytes into each buffer) are set once the buffers are placed."""
        i = self.emit(layer, op_name, "CPU", in_shape, out_shape, [src], [dst], notes)
        self.fix(lambda: (setattr(layer, "main_mem_in_address", src.addr + offset),
                          setattr(layer, out_field, dst.addr + offset)))
        return i

    def fix(self, fn):
        self.fixups.append(fn)

    def no_lowering(self, op, detail=""):
        self.bad.append((op.name, op.source_type or op.type, f"no K210 lowering for {op.type}{detail}"))

    def use(self, b):
        b.touch(len(self.layers))

    def add_tensor_like(self, name, like):
        """A new intermediate tensor with the shape and calibrated range of tensor `like`."""
        self.g.add_tensor(name, self.shape(like))
        self.ranges[name] = self.ranges.get(like, (0, 0))
        self._grp_rng[self._grp.find(name)] = self.ranges[name]

    def shape(self, t):
        return self.g.shape(t)

    @staticmethod
    def chw(shape):
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
            self.use(h["kpu"])
            return h["kpu"]
        c, hh, w = self.chw(self.shape(t))
        src = self.need_u8(t)
        dst = self.buf("kpu", kpu.map_rows(w, hh, c), t + ":kpu")
        layer = K210Upload(flags=0, main_mem_in_address=0, kpu_mem_out_address=0, width=w, height=hh, channels=c)
        self.emit_io(layer, t, src, dst, (c, hh, w), (c, hh, w), "main -> KPU RAM", out_field="kpu_mem_out_address")
        h["kpu"] = dst
        return dst

    def alias(self, out, src_t):
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
            self.use(h["u8"])
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
            self.gather(t, [(s, 0, s.size) for s in srcs], b, self.chw(self.shape(t)), self.chw(self.shape(t)),
                        "main copy of a KPU-RAM concat")
            h["u8"] = b
            return b
        if "kpu" in h:
            conv, idx = self.kpu_producer[t]
            b = self.buf("main", n, t + ":u8")
            self.use(b)
            self.send_out(conv, idx, b, " +main out")
            h["u8"] = b
            return b
        src = self.need_f32(t)
        s, z = self.q(t)
        b = self.buf("main", n, t + ":u8")
        layer = Quantize(flags=0, main_mem_in_address=0, main_mem_out_address=0, count=n, scale=s, bias=-z * s)
        self.emit_io(layer, t, src, b, (n,), (n,))
        h["u8"] = b
        return b

    def need_f32(self, t):
        h = self.homes[t]
        if "f32" in h:
            self.use(h["f32"])
            return h["f32"]
        src = self.need_u8(t)
        n = int(np.prod(self.shape(t)))
        s, z = self.q(t)
        b = self.buf("main", 4 * n, t + ":f32", "f32")
        layer = Dequantize(flags=0, main_mem_in_address=0, main_mem_out_address=0, count=n, scale=s, bias=-z * s)
        self.emit_io(layer, t, src, b, (n,), (n,))
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
        if c > 1024 or opdef(op.type).out_channels(op.attrs["weights"]) > 1024:
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
        wts, dw = opdef(op.type).kpu_weights(op.attrs)
        k = wts.shape[2]
        oc = wts.shape[0]
        p = self.kpu_conv_params(op, wts, t_in, out_t)
        if p is None:
            return
        st = tuple(op.attrs["strides"])
        if mode == "padded1x1":
            return self.padded_1x1(op.name, t_in, c, p, oc, out_t, dw)
        pool = fused_pool if fused_pool is not None else 0
        pend = self.pending.get(t_in)
        if pend is not None and k == 1 and not dw and pool == 0 and (
                (st == (1, 1) and pend[1:3] == (2 * h, 2 * w) and min(h, w) >= 4) or
                (st == (2, 2) and h % 2 == 0 and w % 2 == 0 and pend[1:3] == (2 * h, 2 * w) and min(h, w) >= 8)):
            # absorb the pending stride-2 subsampling of the input: 1x1 conv commutes with it
            src = self.homes[t_in]["kpu"]
            self.use(src)
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
            self.send_out(conv, idx, full)
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

    def kpu_conv_params(self, op, wts, t_in, out_t):
        """KPU register parameters for op's weights wts (OC, ICg, K, K) from tensor t_in to out_t, or None
        (op recorded as unsupported) when the KPU cannot represent them."""
        pre = self.ranges.get(op.outputs[0] + ":preact", self.ranges.get(op.outputs[0], (0.0, 0.0)))
        try:
            return conv_params(wts, op.attrs.get("bias"), self.q(t_in), self.q(out_t), op.attrs.get("act", "linear"),
                               op.attrs.get("alpha", 0.2), pre, self.opt.quant_bit)
        except KPUParamError as e:
            self.bad.append((op.name, op.source_type or op.type, str(e)))
            return None

    def send_out(self, conv, idx, b, note=""):
        """KPU layer `conv` (layer index idx) also writes its output to main-memory buffer b."""
        b.touch(idx)
        conv.flags |= 1
        conv.set_reg("send_data_out", 1)
        self.info[idx].notes += note
        self.info[idx].writes.append(b)
        self.fix(lambda: setattr(conv, "main_mem_out_address", b.addr))

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
            self.emit_io(lay, op_name, cur, ob, ins, outs, note)
            cur = ob
        return cur

    def const_u8(self, name, value, count, any_buf):
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

    def gather(self, name, parts, out_buf, in_shape, out_shape, notes, f32=False):
        """QUANTIZED_CONCAT as a byte gather: parts = [(Buf, offset, size)]; adjacent ranges are merged.
        f32: the bytes are float32 values, so the layer is CONCAT (the same copy; its output reads as f32)."""
        merged = []
        for b, off, n in parts:
            if merged and merged[-1][0] is b and merged[-1][1] + merged[-1][2] == off:
                merged[-1] = (b, merged[-1][1], merged[-1][2] + n)
            else:
                merged.append((b, off, n))
        lay = (Concat if f32 else QuantizedConcat)(flags=0, main_mem_out_address=0,
                                                   inputs=[(0, n) for _, _, n in merged])
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
        zb = self.const_u8(op.name + "/zp", zx, cw, src)
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
        self.gather(op.name + "/pad", parts, canvas, (c, h, w), (c, ch, cw), f"zero-point canvas {cw}x{ch}")
        kb = self.buf("kpu", kpu.map_rows(cw, ch, c), t_in + ":kpu_canvas")
        up = K210Upload(flags=0, main_mem_in_address=0, kpu_mem_out_address=0, width=cw, height=ch, channels=c)
        self.emit_io(up, op.name, canvas, kb, (c, ch, cw), (c, ch, cw), "main -> KPU RAM",
                     out_field="kpu_mem_out_address")
        conv, idx, dst = self.kpu_conv(op.name, kb, (c, ch, cw), p, k, dw, 0, out_t + "/canvas", oc)
        full = self.buf("main", oc * ch * cw, out_t + ":canvas:u8")
        self.send_out(conv, idx, full)
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
        self.gather(op.name + "/crop", parts, ob, (oc, ch, cw), (oc, oh, ow), "take the real map back")
        self.homes[out_t] = {"u8": ob}

    def padded_1x1(self, name, t_in, c, p, oc, out_t, dw=False):
        """A 1x1 conv on a 1x1 map (or a dense layer): K210_ADD_PADDING -> 4x4 KPU conv -> REMOVE_PADDING."""
        src = self.need_u8(t_in)
        kb = self.buf("kpu", kpu.map_rows(4, 4, c), t_in + ":kpu4x4")
        lay = K210AddPadding(flags=0, main_mem_in_address=0, kpu_mem_out_address=0, channels=c)
        self.emit_io(lay, name, src, kb, (c,), (c, 4, 4), "vector -> 4x4 KPU map", out_field="kpu_mem_out_address")
        conv, idx, dst = self.kpu_conv(name, kb, (c, 4, 4), p, 1, dw, 0, out_t, oc)
        mb = self.buf("main", 16 * oc, out_t + ":4x4")
        self.send_out(conv, idx, mb)
        ob = self.buf("main", oc, out_t + ":u8")
        rp = K210RemovePadding(flags=0, main_mem_in_address=0, main_mem_out_address=0, channels=oc)
        self.emit_io(rp, name, mb, ob, (oc, 4, 4), (oc,), "pixel (0,0) of each channel")
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
        self.send_out(conv0, idx0, b, " +main out")
        ob = self.buf("main", c * oh * ow, t + ":u8")
        lay = QuantizedMaxPool2d(flags=0, main_mem_in_address=0, main_mem_out_address=0, in_width=w, in_height=h,
                                 in_channels=c, out_width=ow, out_height=oh, out_channels=c, kernel_width=1,
                                 kernel_height=1, stride_width=2, stride_height=2, padding_width=0, padding_height=0)
        self.emit_io(lay, t + "/stride2", b, ob, (c, h, w), (c, oh, ow), "stride-2 pick")
        self.homes[t] = {"u8": ob}
        del self.kpu_producer[t]

    # ---------------------------------------------------------------- other ops
    def do_op(self, op):
        """Lower one op: each op type's module (emc.ops) knows how (emc.ir.opdef.OpDef.lower_k210)."""
        d = opdef(op.type)
        if d.lower_k210 is None:
            return self.no_lowering(op)
        rows_in = [t for t in op.inputs if len(self.shape(t)) == 2]
        if rows_in and not d.K210_ROWS_IN:
            takers = ", ".join(t for t in op_types() if opdef(t).K210_ROWS_IN)
            return self.bad.append((op.name, op.source_type or op.type, (
                f"{op.type} of the 2-D tensor '{rows_in[0]}' {self.shape(rows_in[0])}: on the K210 only "
                f"{takers} take 2-D tensors")))
        return d.lower_k210(self, op)

    # ---------------------------------------------------------------- driver
    def fuse_pools(self):
        """conv (stride 1) -> 2x2/s2 or 4x4/s4 max/avg pool on a divisible map: the KPU pool field."""
        fused = {}
        for op in self.g.ops:
            pool = opdef(op.type).POOL
            if pool is None:
                continue
            prod = self.g.producer(op.inputs[0])
            conv = opdef(prod.type) if prod is not None else None
            if conv is not None and conv.CONV and conv.kpu_depthwise(prod.attrs):
                continue            # no pooling on depthwise KPU layers
            if prod is None or not conv.CONV or \
                    tuple(prod.attrs["strides"]) != (1, 1) or len(self.g.consumers(op.inputs[0])) != 1 or \
                    op.inputs[0] in self.g.outputs:
                continue
            k, s = tuple(op.attrs["ksize"]), tuple(op.attrs["strides"])
            h, w, _ = self.shape(op.inputs[0])
            kinds = {((2, 2), (2, 2)): (1, 2), ((4, 4), (4, 4)): (3, 4)}
            if (k, s) not in kinds or h % s[0] or w % s[1] or h // s[0] < 4 or w // s[1] < 4:
                continue            # the KPU writes maps of at least 4x4
            fused[prod.name] = (op, kinds[(k, s)][0 if pool == "max" else 1])
        return fused

    def plan_ops(self, fused):
        """Op types that reserve buffers before lowering (in-place KPU concats) plan here, in graph order."""
        pool_out = {p.outputs[0]: conv for conv, (p, _) in fused.items()}
        taken = set()
        for op in self.g.ops:
            d = opdef(op.type)
            if d.plan_k210 is not None:
                d.plan_k210(self, op, pool_out, taken)

    def compile(self):
        g = self.g
        if len(g.inputs) != 1:
            raise UnsupportedLayersError([(t, "Input", "kmodel v3 has one input") for t in g.inputs], g.name)
        self._build_quant()
        fused = self.fuse_pools()
        skip = {p.name for p, _ in fused.values()}
        self.plan_ops(fused)
        t_in = g.inputs[0]
        in_shape = g.shape(t_in)
        first = g.ops[0] if g.ops else None
        if len(in_shape) == 1:
            self.homes[t_in] = {"f32": self.buf("main", 4 * in_shape[0], t_in + ":f32", "f32")}
            self.homes[t_in]["f32"].touch(-1)
            if first is None or not opdef(first.type).K210_VECTOR_IN or first.inputs != [t_in]:
                self.bad.append((t_in, "Input", "a vector input must feed a dense layer first"))
        else:
            if len(in_shape) != 3:
                # the ops the K210 has no lowering for at all come first: they are why such an input exists
                for op in g.ops:
                    if opdef(op.type).lower_k210 is None:
                        self.no_lowering(op)
                self.bad.append((t_in, "Input", f"input shape {in_shape}: the K210 takes a vector or an HxWxC map"))
                raise UnsupportedLayersError(self.bad, g.name)
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
            m0 = self.plan_conv(first)[0] if first is not None and opdef(first.type).CONV else None
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
                    own = self.plan_conv(op)[1] if opdef(op.type).CONV else None
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
                if all(t in self.homes for t in pool_op.inputs):
                    self.do_op(pool_op)     # else the conv was refused: it is listed, the pool follows it
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
