"""The K210 layer group (type 0x2800+, spec §8.18-§8.20): K210_CONV runs one KPU layer;
K210_UPLOAD / K210_ADD_PADDING move main-buffer u8 maps into KPU RAM; K210_REMOVE_PADDING
takes pixel (0,0) of each 4x4 channel back out (how FC layers run as 1x1 convs)."""
from __future__ import annotations

import struct

import numpy as np

from .. import kpu
from ..errors import KModelError
from .base import KPU_RAM_BYTES, Layer, Range, main_u8

ALIGN_REGS, ALIGN_WEIGHTS, ALIGN_BN, ALIGN_ACT = 8, 128, 128, 256


def _align(n, a):
    return (n + a - 1) // a * a


class K210Conv(Layer):
    TYPE, NAME = 10240, "K210_CONV"
    FIELDS = (("flags", "I"), ("main_mem_out_address", "I"), ("layer_offset", "I"),
              ("weights_offset", "I"), ("bn_offset", "I"), ("act_offset", "I"))

    # ---- register access ---------------------------------------------------------------
    def reg(self, name):
        return kpu.get_field(self.regs, name)

    def set_reg(self, name, value):
        kpu.set_field(self.regs, name, value)

    @property
    def ic(self): return self.reg("i_ch_num") + 1
    @property
    def oc(self): return self.reg("o_ch_num") + 1
    @property
    def in_w(self): return self.reg("i_row_wid") + 1
    @property
    def in_h(self): return self.reg("i_col_high") + 1
    @property
    def out_w(self): return self.reg("o_row_wid") + 1
    @property
    def out_h(self): return self.reg("o_col_high") + 1
    @property
    def k(self): return 3 if self.reg("kernel_type") == 1 else 1
    @property
    def depthwise(self): return bool(self.reg("depth_wise_layer"))
    @property
    def pool_type(self): return self.reg("pool_type")

    def macs(self):
        """The KPU convolves at full resolution, then pools."""
        return self.oc * self.in_h * self.in_w * self.k * self.k * (1 if self.depthwise else self.ic)

    def parameter_bytes(self):
        # weights, then per output channel an 8-byte batch-norm word, then the 144-byte activation table
        return self.weights.nbytes + 8 * self.oc + 144

    def software_kpu_scratch(self):
        """int64 acc + x_term per pixel, the activated map, the pooled output."""
        hw = self.in_w * self.in_h
        return 16 * hw + (hw + 7) // 8 * 8 + self.oc * self.out_w * self.out_h

    def weight_count(self, ic=None, oc=None, k=None, dw=None):
        ic, oc = ic or self.ic, oc or self.oc
        k = k or self.k
        dw = self.depthwise if dw is None else dw
        return oc * k * k * (1 if dw else ic)

    # ---- emitting -------------------------------------------------------------------------
    @classmethod
    def make(cls, *, weights, bn, act, in_shape, src_row, dst_row, depthwise=False, pool_type=0,
             pad_value=0, arg_x=0, shr_x=0, arg_w=0, shr_w=0, arg_add=0, main_out=None, eight_bit=True):
        """A K210_CONV with all 12 register words filled as the SDK runtime expects them.

        weights: (OC, IC|1, K, K) unsigned ints; bn: (mul, add, shift) arrays or encoded u64;
        act: (x_start, y_mul, shift, bias) or 18 encoded u64; in_shape: (IC, H, W);
        src_row/dst_row: KPU RAM rows; main_out: main-buffer offset to also DMA the output to.
        """
        weights = np.asarray(weights)
        oc, k = weights.shape[0], weights.shape[-1]
        ic, h, w = in_shape
        if k not in (1, 3) or weights.shape[-2] != k:
            raise ValueError(f"KPU kernels are 1x1 or 3x3, not {weights.shape[-2:]}")
        if depthwise and (ic != oc or weights.shape[1] != 1):
            raise ValueError("depthwise needs IC == OC and weights (C, 1, K, K)")
        if not depthwise and weights.shape[1] != ic:
            raise ValueError(f"weights have {weights.shape[1]} input channels, input has {ic}")
        if not (1 <= ic <= 1024 and 1 <= oc <= 1024 and 1 <= w <= 1024 and 1 <= h <= 512):
            raise ValueError(f"KPU limits: channels <= 1024, width <= 1024, height <= 512 (got {in_shape} -> {oc})")
        stride = kpu.POOL_TYPES[pool_type][2]
        ow, oh = w // stride, h // stride
        layer = cls(flags=0 if main_out is None else 1, main_mem_out_address=main_out or 0,
                    weights=weights, bn=bn if np.ndim(bn) == 1 else kpu.encode_bn(*bn),
                    act=act if np.ndim(act) == 1 and len(act) == 18 else kpu.encode_act(*act))
        r = layer.set_reg
        gi, rli, _ = kpu.layout_for_width(w)
        go, rlo, _ = kpu.layout_for_width(ow)
        n_coef, load_time, para = kpu.weight_loads(ic, oc, k, depthwise, eight_bit)
        for name, v in (("depth_wise_layer", int(depthwise)), ("image_src_addr", src_row),
                        ("image_dst_addr", dst_row), ("i_ch_num", ic - 1), ("o_ch_num", oc - 1),
                        ("o_ch_num_coef", n_coef - 1), ("i_row_wid", w - 1), ("i_col_high", h - 1),
                        ("o_row_wid", ow - 1), ("o_col_high", oh - 1), ("kernel_type", 1 if k == 3 else 0),
                        ("pool_type", pool_type), ("load_para", 1), ("dma_burst_size", 15), ("pad_value", pad_value),
                        ("load_coor", 1), ("load_time", load_time - 1), ("para_size", para),
                        ("channel_switch_addr", rli * h), ("row_switch_addr", rli), ("coef_group", gi),
                        ("load_act", 1), ("wb_channel_switch_addr", rlo * oh), ("wb_row_switch_addr", rlo),
                        ("wb_group", go), ("shr_w", shr_w), ("shr_x", shr_x), ("arg_w", arg_w), ("arg_x", arg_x),
                        ("arg_add", arg_add), ("send_data_out", 0 if main_out is None else 1),
                        ("channel_byte_num", ow * oh - 1), ("dma_total_byte", ow * oh * oc - 1)):
            r(name, int(v))
        return layer

    # ---- body layout ---------------------------------------------------------------------
    def set_tail(self, regs=None, weights=None, bn=None, act=None, **values):
        super().set_tail(**values)
        self.regs = [0] * 12 if regs is None else [int(v) for v in regs]
        self.weights = weights           # (OC, IC|1, K, K) unsigned (u8 or u16)
        self.bn = bn                     # u64 per output channel
        self.act = act                   # 18 x u64
        self._rel = None

    def parse_tail(self, r):
        start = r.start
        r.at(self.layer_offset, "layer_offset", 96)
        self.regs = [int(v) for v in r.array(np.uint64, 12, "registers")]
        kt = self.reg("kernel_type")
        if kt not in (0, 1):
            raise KModelError(f"kernel_type {kt} is not 0 (1x1) or 1 (3x3)", layer=r.layer,
                              field="kernel_type", offset=self.layer_offset + 4 * 8)
        if self.depthwise and self.ic != self.oc:
            raise KModelError(f"depthwise layer with {self.ic} input and {self.oc} output channels",
                              layer=r.layer, field="o_ch_num", offset=self.layer_offset + 2 * 8)
        eight = bool(r.model_flags & 1)
        dt = np.uint8 if eight else np.dtype("<u2")
        n = self.weight_count()
        r.at(self.weights_offset, "weights_offset", n * np.dtype(dt).itemsize)
        w = r.array(dt, n, "weights")
        self.weights = w.reshape(self.oc, 1 if self.depthwise else self.ic, self.k, self.k)
        r.at(self.bn_offset, "bn_offset", 8 * self.oc)
        self.bn = r.array(np.uint64, self.oc, "bn")
        r.at(self.act_offset, "act_offset", 144)
        self.act = r.array(np.uint64, 18, "act")
        self._rel = (start, self.layer_offset - start, self.weights_offset - start,
                     self.bn_offset - start, self.act_offset - start)

    def pack(self, file_offset, model=None):
        wbytes = np.ascontiguousarray(self.weights).astype(
            np.uint8 if (model is None or model.eight_bit) else "<u2").tobytes()
        if self._rel is not None and (file_offset - self._rel[0]) % 256 == 0:
            lo, wo, bo, ao = (file_offset + r for r in self._rel[1:])      # keep a read file's layout
        else:
            lo = _align(file_offset + 24, ALIGN_REGS)
            wo = _align(lo + 96, ALIGN_WEIGHTS)
            bo = _align(wo + len(wbytes), ALIGN_BN)
            ao = _align(bo + 8 * self.oc, ALIGN_ACT)
        self.layer_offset, self.weights_offset, self.bn_offset, self.act_offset = lo, wo, bo, ao
        end = max(lo + 96, wo + len(wbytes), bo + 8 * self.oc, ao + 144)
        buf = bytearray(end - file_offset)
        struct.pack_into("<6I", buf, 0, self.flags, self.main_mem_out_address, lo, wo, bo, ao)
        for off, data in ((lo, np.asarray(self.regs, "<u8").tobytes()), (wo, wbytes),
                          (bo, np.asarray(self.bn, "<u8").tobytes()), (ao, np.asarray(self.act, "<u8").tobytes())):
            buf[off - file_offset:off - file_offset + len(data)] = data
        return bytes(buf)

    # ---- memory ----------------------------------------------------------------------------
    def _in_layout(self):
        return self.reg("coef_group"), self.reg("row_switch_addr"), self.reg("channel_switch_addr")

    def _out_layout(self):
        return self.reg("wb_group"), self.reg("wb_row_switch_addr"), self.reg("wb_channel_switch_addr")

    def reads(self):
        g, rl, cs = self._in_layout()
        ext = kpu.kpu_extent(self.ic, self.in_h, self.in_w, g, rl, cs) if g in (1, 2, 4) else 0
        return [Range("kpu", self.reg("image_src_addr") * kpu.ROW, ext, "image_src_addr", "u8",
                      (self.ic, self.in_h, self.in_w))]

    def writes(self):
        g, rl, cs = self._out_layout()
        ext = kpu.kpu_extent(self.oc, self.out_h, self.out_w, g, rl, cs) if g in (1, 2, 4) else 0
        res = [Range("kpu", self.reg("image_dst_addr") * kpu.ROW, ext, "image_dst_addr", "u8",
                     (self.oc, self.out_h, self.out_w))]
        if self.flags & 1:
            n = self.oc * self.out_h * self.out_w
            res.append(main_u8("main_mem_out_address", self.main_mem_out_address, n,
                               (self.oc, self.out_h, self.out_w)))
        return res

    def reg_error(self, msg, name):
        off = None if self.layer_offset is None else self.layer_offset + 8 * kpu.REG_FIELDS[name][0]
        return KModelError(msg, layer=self.index, field=name, offset=off)

    def check(self, model):
        if self.flags & ~1:
            raise self.error(f"flags 0x{self.flags:x} has unknown bits", "flags")
        pt = self.pool_type
        if pt not in kpu.POOL_TYPES:
            raise self.reg_error(f"pool_type {pt} is not 0..9", "pool_type")
        stride = kpu.POOL_TYPES[pt][2]
        if (self.out_w, self.out_h) != (self.in_w // stride, self.in_h // stride):
            raise self.reg_error(f"output {self.out_w}x{self.out_h} does not match input "
                                 f"{self.in_w}x{self.in_h} with pool {kpu.POOL_TYPES[pt][0]}", "o_row_wid")
        for side, (g, rl, cs), names in (("input", self._in_layout(), ("coef_group", "row_switch_addr",
                                                                       "channel_switch_addr")),
                                         ("output", self._out_layout(), ("wb_group", "wb_row_switch_addr",
                                                                         "wb_channel_switch_addr"))):
            if g not in (1, 2, 4):
                raise self.reg_error(f"{side} channel group {g} is not 1, 2 or 4", names[0])
            if rl == 0 or cs == 0:
                raise self.reg_error(f"{side} row/channel stride is 0", names[1] if rl == 0 else names[2])
            w = self.in_w if side == "input" else self.out_w
            if rl * kpu.ROW // g < w or (g > 1 and rl != 1):
                raise self.reg_error(f"{side} layout (group {g}, row length {rl}) cannot hold width {w}", names[1])
        for rng in self.reads() + self.writes():
            if rng.mem == "kpu" and rng.end > KPU_RAM_BYTES:
                raise self.reg_error(f"KPU RAM map [{rng.start}, {rng.end}) exceeds 2 MiB", rng.field)
        if self.flags & 1 and self.reg("dma_total_byte") + 1 != self.oc * self.out_h * self.out_w:
            raise self.reg_error(f"dma_total_byte+1 = {self.reg('dma_total_byte') + 1} != output size "
                                 f"{self.oc * self.out_h * self.out_w}", "dma_total_byte")
        shifts = kpu.decode_act(self.act)[2]
        bad = np.nonzero(shifts > 63)[0]
        if bad.size:                         # as the C loader: a rounding shift of 64+ bits is undefined
            i = int(bad[0])
            raise KModelError(f"activation segment {i} shift {int(shifts[i])} > 63", layer=self.index,
                              field="act", offset=self.act_offset + 8 * i)
        super().check(model)

    # ---- reference execution -------------------------------------------------------------------
    def input_spec(self, model):
        return "u8", (self.ic, self.in_h, self.in_w)

    def set_input(self, mem, x):
        kpu.kpu_write(mem.kpu, self.reg("image_src_addr"), np.asarray(x, np.uint8), *self._in_layout())

    def compute(self, x):
        """The software KPU: u8 (IC,H,W) -> u8 (OC,H_out,W_out)."""
        mul, add, shift = kpu.decode_bn(self.bn)
        act = kpu.decode_act(self.act)
        # output channels in blocks keep the int64 intermediates small on large maps
        step = max(1, (1 << 21) // (self.in_h * self.in_w))
        outs = []
        for o in range(0, self.oc, step):
            sl = slice(o, o + step)
            xin = x[sl] if self.depthwise else x
            conv = kpu.conv(xin, self.weights[sl], self.k, self.depthwise, self.reg("pad_value"),
                            self.reg("arg_x"), self.reg("shr_x"), self.reg("arg_w"), self.reg("shr_w"),
                            self.reg("arg_add"))
            bn = kpu.batchnorm(conv, mul[sl], add[sl], shift[sl])
            outs.append(kpu.pool(kpu.activate(bn, *act), self.pool_type))
        return np.concatenate(outs)

    def execute(self, mem):
        x = kpu.kpu_read(mem.kpu, self.reg("image_src_addr"), self.ic, self.in_h, self.in_w, *self._in_layout())
        out = self.compute(x)
        kpu.kpu_write(mem.kpu, self.reg("image_dst_addr"), out, *self._out_layout())
        if self.flags & 1:
            mem.write_main(self.main_mem_out_address, out.reshape(-1))

    def dump(self, mem):
        return kpu.kpu_read(mem.kpu, self.reg("image_dst_addr"), self.oc, self.out_h, self.out_w,
                            *self._out_layout())

    def describe(self):
        kind = "dw" if self.depthwise else "conv"
        s = (f"{kind}{self.k}x{self.k} {self.ic}x{self.in_h}x{self.in_w} -> {self.oc}x{self.out_h}x{self.out_w} "
             f"pool={kpu.POOL_TYPES.get(self.pool_type, ('?',))[0]} kpu {self.reg('image_src_addr')}->"
             f"{self.reg('image_dst_addr')}")
        if self.flags & 1:
            s += f" main_out={self.main_mem_out_address}"
        return s


class K210Upload(Layer):
    TYPE, NAME = 10243, "K210_UPLOAD"
    FIELDS = (("flags", "I"), ("main_mem_in_address", "I"), ("kpu_mem_out_address", "I"),
              ("width", "I"), ("height", "I"), ("channels", "I"))

    def _dims_ok(self):
        return all(1 <= v <= 4096 for v in (self.width, self.height, self.channels))

    def reads(self):
        return [main_u8("main_mem_in_address", self.main_mem_in_address, self.width * self.height * self.channels,
                        (self.channels, self.height, self.width))]

    def writes(self):
        g, rl, _ = kpu.layout_for_width(max(self.width, 1))
        ext = kpu.kpu_extent(self.channels, self.height, self.width, g, rl, rl * self.height) if self._dims_ok() else 0
        return [Range("kpu", self.kpu_mem_out_address * kpu.ROW, ext, "kpu_mem_out_address", "u8",
                      (self.channels, self.height, self.width))]

    def check(self, model):
        if not self._dims_ok():
            raise self.error(f"shape {self.width}x{self.height}x{self.channels} out of range 1..4096", "width")
        super().check(model)

    def execute(self, mem):
        x = mem.read_main(self.main_mem_in_address, self.width * self.height * self.channels, "u8")
        kpu.upload(mem.kpu, self.kpu_mem_out_address, x.reshape(self.channels, self.height, self.width))

    def dump(self, mem):
        g, rl, _ = kpu.layout_for_width(self.width)
        return kpu.kpu_read(mem.kpu, self.kpu_mem_out_address, self.channels, self.height, self.width,
                            g, rl, rl * self.height)


class K210AddPadding(Layer):
    TYPE, NAME = 10241, "K210_ADD_PADDING"
    FIELDS = (("flags", "I"), ("main_mem_in_address", "I"), ("kpu_mem_out_address", "I"), ("channels", "I"))

    def reads(self):
        return [main_u8("main_mem_in_address", self.main_mem_in_address, self.channels)]

    def writes(self):
        c = max(self.channels, 1)
        ext = ((c - 1) // 4) * 256 + ((c - 1) % 4) * 16 + 1
        return [Range("kpu", self.kpu_mem_out_address * kpu.ROW, ext, "kpu_mem_out_address", "u8", (c, 1, 1))]

    def check(self, model):
        if self.channels == 0:
            raise self.error("channels is 0", "channels")
        super().check(model)

    def execute(self, mem):
        x = mem.read_main(self.main_mem_in_address, self.channels, "u8")
        # pixel (0,0) of a 4x4 map: groups 4, row_len 1, channel stride 4 rows
        kpu.kpu_write(mem.kpu, self.kpu_mem_out_address, x.reshape(-1, 1, 1), 4, 1, 4)

    def dump(self, mem):
        return kpu.kpu_read(mem.kpu, self.kpu_mem_out_address, self.channels, 1, 1, 4, 1, 4)


class K210RemovePadding(Layer):
    TYPE, NAME = 10242, "K210_REMOVE_PADDING"
    FIELDS = (("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"), ("channels", "I"))

    def reads(self):
        return [main_u8("main_mem_in_address", self.main_mem_in_address, max(self.channels - 1, 0) * 16 + 1)]

    def writes(self):
        return [main_u8("main_mem_out_address", self.main_mem_out_address, self.channels)]

    def check(self, model):
        if self.channels == 0:
            raise self.error("channels is 0", "channels")
        super().check(model)

    def execute(self, mem):
        x = mem.read_main(self.main_mem_in_address, (self.channels - 1) * 16 + 1, "u8")
        mem.write_main(self.main_mem_out_address, x[::16].copy())
