"""Body and window walk shared by GENERIC_AVERAGE_POOL2D and GENERIC_MAX_POOL2D (NHWC int8)."""
import numpy as np

from .generic_common import I8_MAX, I8_MIN, GenericLayer, image_hwc, main_i8
from .generic_overlap import window_lag

POOL_FIELDS = (("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"),
               ("in_h", "I"), ("in_w", "I"), ("channels", "I"), ("out_h", "I"), ("out_w", "I"),
               ("f_h", "I"), ("f_w", "I"), ("stride_h", "I"), ("stride_w", "I"), ("pad_top", "I"),
               ("pad_left", "I"), ("act_min", "i"), ("act_max", "i"))


class GenericPool(GenericLayer):
    FIELDS = POOL_FIELDS

    @classmethod
    def from_tflite(cls, ctx, op):
        opt = op.options("Pool2DOptions")
        ih, iw, c = image_hwc(ctx, op, op.inputs[0])
        oh, ow, _ = image_hwc(ctx, op, op.outputs[0])
        _, _, pt, pl = ctx.window(op, ih, iw, opt.FilterHeight(), opt.FilterWidth(), opt.StrideH(), opt.StrideW(),
                                  1, 1, opt.Padding() == ctx.SAME)
        lo, hi = ctx.act_range(opt.FusedActivationFunction(), *ctx.q(op.outputs[0]))
        return cls(main_mem_in_address=ctx.addr(op.inputs[0]), main_mem_out_address=ctx.addr(op.outputs[0]),
                   in_h=ih, in_w=iw, channels=c, out_h=oh, out_w=ow, f_h=opt.FilterHeight(), f_w=opt.FilterWidth(),
                   stride_h=opt.StrideH(), stride_w=opt.StrideW(), pad_top=pt, pad_left=pl, act_min=lo, act_max=hi)

    def overlap_lag(self):
        return window_lag(self.in_h, self.in_w, self.channels, self.out_h, self.out_w, self.channels, self.f_h,
                          self.f_w, self.stride_h, self.stride_w, self.pad_top, self.pad_left)

    def reads(self):
        return [main_i8("main_mem_in_address", self.main_mem_in_address, self.in_h * self.in_w * self.channels)]

    def writes(self):
        return [main_i8("main_mem_out_address", self.main_mem_out_address, self.out_h * self.out_w * self.channels,
                        (self.out_h, self.out_w, self.channels))]

    def check(self, model):
        big = 1 << 16
        self.check_fields(in_h=(1, big), in_w=(1, big), channels=(1, big), out_h=(1, big), out_w=(1, big),
                          f_h=(1, 4096), f_w=(1, 4096), stride_h=(1, 4096), stride_w=(1, 4096),
                          pad_top=(0, 4096), pad_left=(0, 4096), act_min=(I8_MIN, I8_MAX),
                          act_max=(self.act_min, I8_MAX))
        super().check(model)

    def windows(self, mem):
        x = mem.read_main(self.main_mem_in_address, self.in_h * self.in_w * self.channels, "i8")
        x = x.reshape(self.in_h, self.in_w, self.channels).astype(np.int64)
        oy = np.arange(self.out_h)[:, None] * self.stride_h - self.pad_top
        ox = np.arange(self.out_w)[None, :] * self.stride_w - self.pad_left
        for ky in range(self.f_h):
            for kx in range(self.f_w):
                iy, ix = oy + ky, ox + kx
                valid = (iy >= 0) & (iy < self.in_h) & (ix >= 0) & (ix < self.in_w)
                yield x[np.clip(iy, 0, self.in_h - 1), np.clip(ix, 0, self.in_w - 1)], valid[..., None]
