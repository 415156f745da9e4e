"""GENERIC_RESIZE_NEAREST (0x4013): TFLite RESIZE_NEAREST_NEIGHBOR (int8 NHWC) as TFLM's
reference ResizeNearestNeighbor: output pixel (y, x) copies the channels of input pixel
(src_y[y], src_x[x]). The source rows and columns are computed at convert time with TFLM's
GetNearestNeighbor (float32 scale, align_corners, half_pixel_centers) and stored in the body."""
import numpy as np

from .generic_common import GENERIC_BASE, GenericLayer, main_i8

F32 = np.float32


def nearest_sources(in_size, out_size, align_corners, half_pixel_centers):
    """tflite::reference_ops::GetNearestNeighbor for every output index."""
    if align_corners and out_size > 1:
        scale = F32(in_size - 1) / F32(out_size - 1)
    else:
        scale = F32(in_size) / F32(out_size)
    pos = ((np.arange(out_size).astype(F32) + F32(0.5 if half_pixel_centers else 0.0)) * scale).astype(F32)
    if align_corners:
        src = np.sign(pos) * np.floor(np.abs(pos) + F32(0.5))      # TfLiteRound: half away from zero
    else:
        src = np.floor(pos)
    src = np.minimum(src.astype(np.int64), in_size - 1)
    return np.maximum(src, 0) if half_pixel_centers else src


class GenericResizeNearest(GenericLayer):
    TYPE, NAME = GENERIC_BASE + 19, "GENERIC_RESIZE_NEAREST"
    FIELDS = (("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"), ("batches", "I"),
              ("in_h", "I"), ("in_w", "I"), ("channels", "I"), ("out_h", "I"), ("out_w", "I"))
    TAIL = (("src_y", "<u4", lambda s: s.out_h), ("src_x", "<u4", lambda s: s.out_w))
    TFLITE_OPS = ("RESIZE_NEAREST_NEIGHBOR",)
    OPTIONS = "ResizeNearestNeighborOptions"

    @classmethod
    def tables(cls, ih, iw, oh, ow, align_corners, half_pixel_centers):
        """The body's tail: what each output row / column reads (subclasses store their own)."""
        return dict(src_y=nearest_sources(ih, oh, align_corners, half_pixel_centers),
                    src_x=nearest_sources(iw, ow, align_corners, half_pixel_centers))

    @classmethod
    def from_tflite(cls, ctx, op):
        x, o = ctx.tensor(op.inputs[0]), ctx.tensor(op.outputs[0])
        if len(x["shape"]) != 4 or x["dtype"] != "i8" or ctx.q(op.inputs[0]) != ctx.q(op.outputs[0]):
            raise ctx.Error(f"{op.name} #{op.index}: a 4D int8 input with the output's quantization is needed")
        opt = op.options(cls.OPTIONS)
        n, ih, iw, c = x["shape"]
        _, oh, ow, _ = o["shape"]
        ac, hp = bool(opt.AlignCorners()), bool(opt.HalfPixelCenters())
        return cls(main_mem_in_address=ctx.addr(op.inputs[0]), main_mem_out_address=ctx.addr(op.outputs[0]),
                   batches=n, in_h=ih, in_w=iw, channels=c, out_h=oh, out_w=ow, **cls.tables(ih, iw, oh, ow, ac, hp))

    def reads(self):
        return [main_i8("main_mem_in_address", self.main_mem_in_address,
                        self.batches * self.in_h * self.in_w * self.channels)]

    def writes(self):
        return [main_i8("main_mem_out_address", self.main_mem_out_address,
                        self.batches * self.out_h * self.out_w * self.channels,
                        (self.batches, self.out_h, self.out_w, self.channels))]

    def check(self, model):
        big = 1 << 16
        self.check_fields(batches=(1, big), in_h=(1, big), in_w=(1, big), channels=(1, big), out_h=(1, big),
                          out_w=(1, big))
        self.check_tables()
        super().check(model)

    def check_tables(self):
        if np.any(self.src_y >= self.in_h) or np.any(self.src_x >= self.in_w):
            raise self.error("a source row or column lies outside the input", "src_y")

    def execute(self, mem):
        x = mem.read_main(self.main_mem_in_address, self.batches * self.in_h * self.in_w * self.channels, "i8")
        x = x.reshape(self.batches, self.in_h, self.in_w, self.channels)
        y = x[:, self.src_y.astype(np.int64)][:, :, self.src_x.astype(np.int64)]
        mem.write_main(self.main_mem_out_address, np.ascontiguousarray(y).reshape(-1))
