"""GENERIC_CONV2D (0x4001): TFLite int8 CONV_2D with per-channel requantization, exactly as
TFLM's reference_integer_ops::ConvPerChannel (acc += w * (x + input_offset) over in-image taps,
+ bias, MultiplyByQuantizedMultiplier, + output zero point, clamp to the activation range)."""
import numpy as np

from .generic_common import GENERIC_BASE, I8_MAX, I8_MIN, GenericLayer, clamp_i8, image_hwc, main_i8
from .generic_math import mbqm, quantize_multiplier
from .generic_overlap import window_lag

CONV_FIELDS = (("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"),
               ("in_h", "I"), ("in_w", "I"), ("in_c", "I"), ("out_h", "I"), ("out_w", "I"), ("out_c", "I"),
               ("k_h", "I"), ("k_w", "I"), ("stride_h", "I"), ("stride_w", "I"), ("dil_h", "I"), ("dil_w", "I"),
               ("pad_top", "I"), ("pad_left", "I"), ("input_offset", "i"), ("output_offset", "i"),
               ("act_min", "i"), ("act_max", "i"), ("depth_multiplier", "I"))


class _ConvBase(GenericLayer):
    FIELDS = CONV_FIELDS
    DEPTHWISE = False
    PAD_FOLD = "zero_point"       # a PAD of the input zero point before it folds into pad_top/left
    TAIL = (("bias", "<i4", lambda s: s.out_c), ("multiplier", "<i4", lambda s: s.out_c),
            ("shift", "<i4", lambda s: s.out_c),
            ("weights", "i1", lambda s: s.out_c * s.k_h * s.k_w * (1 if s.DEPTHWISE else s.in_c)))

    @classmethod
    def from_tflite(cls, ctx, op):
        """CONV_2D / DEPTHWISE_CONV_2D: per-channel multipliers as TFLM's Prepare computes them."""
        ins, outs = op.inputs, op.outputs
        w = ctx.tensor(ins[1])
        opt = op.options("DepthwiseConv2DOptions" if cls.DEPTHWISE else "Conv2DOptions")
        ih, iw, ic = image_hwc(ctx, op, ins[0])
        oh, ow, oc = image_hwc(ctx, op, outs[0])
        kh, kw = w["shape"][1], w["shape"][2]
        sh, sw = opt.StrideH(), opt.StrideW()
        dh, dwl = opt.DilationHFactor(), opt.DilationWFactor()
        eoh, eow, pt, pl = ctx.window(op, ih, iw, kh, kw, sh, sw, dh, dwl, opt.Padding() == ctx.SAME)
        if (eoh, eow) != (oh, ow):
            raise ctx.Error(f"{op.name} #{op.index}: output {oh}x{ow} != computed {eoh}x{eow}")
        xs, xz = ctx.q(ins[0])
        os_, oz = ctx.q(outs[0])
        if not w["scale"].size:             # an int8 model whose weights lost their quantization
            raise ctx.Error(f"{op.name} #{op.index}: weights {w['name']!r} have no quantization parameters")
        fs = w["scale"] if w["scale"].size > 1 else np.repeat(w["scale"], oc)
        mult, shift = zip(*(quantize_multiplier(float(xs) * float(s) / float(os_)) for s in fs))
        bias = ctx.data(ins[2], "<i4") if len(ins) > 2 and ins[2] is not None else None
        lo, hi = ctx.act_range(opt.FusedActivationFunction(), os_, oz)
        return cls(main_mem_in_address=ctx.addr(ins[0]), main_mem_out_address=ctx.addr(outs[0]), in_h=ih, in_w=iw,
                   in_c=ic, out_h=oh, out_w=ow, out_c=oc, k_h=kh, k_w=kw, stride_h=sh, stride_w=sw, dil_h=dh,
                   dil_w=dwl, pad_top=pt, pad_left=pl, input_offset=-xz, output_offset=oz, act_min=lo, act_max=hi,
                   depth_multiplier=opt.DepthMultiplier() if cls.DEPTHWISE else 1,
                   bias=np.zeros(oc, np.int32) if bias is None else bias, multiplier=mult, shift=shift,
                   weights=ctx.data(ins[1], np.int8))

    def macs(self):
        return self.out_h * self.out_w * self.out_c * self.k_h * self.k_w * (1 if self.DEPTHWISE else self.in_c)

    def overlap_lag(self):
        return window_lag(self.in_h, self.in_w, self.in_c, self.out_h, self.out_w, self.out_c, self.k_h, self.k_w,
                          self.stride_h, self.stride_w, self.pad_top, self.pad_left, self.dil_h, self.dil_w)

    def reads(self):
        return [main_i8("main_mem_in_address", self.main_mem_in_address, self.in_h * self.in_w * self.in_c,
                        (self.in_h, self.in_w, self.in_c))]

    def writes(self):
        return [main_i8("main_mem_out_address", self.main_mem_out_address, self.out_h * self.out_w * self.out_c,
                        (self.out_h, self.out_w, self.out_c))]

    def check(self, model):
        big = 1 << 16
        self.check_fields(in_h=(1, big), in_w=(1, big), in_c=(1, big), out_h=(1, big), out_w=(1, big),
                          out_c=(1, big), k_h=(1, 64), k_w=(1, 64), stride_h=(1, 64), stride_w=(1, 64),
                          dil_h=(1, 64), dil_w=(1, 64), pad_top=(0, 64), pad_left=(0, 64),
                          input_offset=(-127, 128), output_offset=(I8_MIN, I8_MAX),
                          act_min=(I8_MIN, I8_MAX), act_max=(self.act_min, I8_MAX))
        if self.DEPTHWISE:
            self.check_fields(depth_multiplier=(1, 1 << 16))
            if self.out_c != self.in_c * self.depth_multiplier:
                raise self.error("out_c != in_c * depth_multiplier", "out_c")
        if np.any((self.shift < -31) | (self.shift > 30)):
            raise self.error("shift out of range -31..30", "shift")
        super().check(model)

    def taps(self, x):
        """Yield (ky, kx, window values (OH,OW,C) int64, valid mask (OH,OW))."""
        oy = np.arange(self.out_h)[:, None] * self.stride_h - self.pad_top
        ox = np.arange(self.out_w)[None, :] * self.stride_w - self.pad_left
        for ky in range(self.k_h):
            for kx in range(self.k_w):
                iy, ix = oy + ky * self.dil_h, ox + kx * self.dil_w
                valid = (iy >= 0) & (iy < self.in_h) & (ix >= 0) & (ix < self.in_w)
                v = x[np.clip(iy, 0, self.in_h - 1), np.clip(ix, 0, self.in_w - 1)]
                yield ky, kx, v, valid

    def finish(self, acc, mem):
        acc = acc + self.bias.astype(np.int64)
        acc = mbqm(acc, self.multiplier.astype(np.int64), self.shift.astype(np.int64)) + self.output_offset
        mem.write_main(self.main_mem_out_address, clamp_i8(acc, self.act_min, self.act_max).reshape(-1))

    def load(self, mem):
        x = mem.read_main(self.main_mem_in_address, self.in_h * self.in_w * self.in_c, "i8").astype(np.int64)
        return x.reshape(self.in_h, self.in_w, self.in_c) + self.input_offset


class GenericConv2d(_ConvBase):
    TYPE, NAME = GENERIC_BASE + 1, "GENERIC_CONV2D"
    TFLITE_OPS = ("CONV_2D",)

    def cpu_scratch(self):
        """Two int16 im2col columns (KH*KW*IC each, rounded up to a multiple of 4; a third,
        natural-order one when IC % 4 != 0) + 18 bytes per output channel (requantization record,
        pruned channels' constant output, live flag)."""
        k = self.k_h * self.k_w * self.in_c
        return (6 if self.in_c % 4 else 4) * ((k + 3) // 4 * 4) + 18 * self.out_c

    def execute(self, mem):
        x = self.load(mem)
        w = self.weights.astype(np.int64).reshape(self.out_c, self.k_h, self.k_w, self.in_c)
        acc = np.zeros((self.out_h, self.out_w, self.out_c), np.int64)
        for ky, kx, v, valid in self.taps(x):
            acc += (v * valid[..., None]) @ w[:, ky, kx, :].T      # integer matmul: exact
        self.finish(acc, mem)
