"""GENERIC_RESIZE_BILINEAR (0x4016): TFLite RESIZE_BILINEAR (int8 NHWC) as TFLM's reference
ResizeBilinear for int8, which works in 10-bit fixed point: a source position in 1/1024 pixels per
output row and column, the four neighbours weighted by products of 10-bit fractions (a 20-bit sum),
rounded half away from zero. The positions depend only on the shapes and the two flags, so the
neighbour rows/columns and fractions are computed here at convert time and stored in the body;
the C kernel only does the per-channel sum."""
import numpy as np

from .generic_common import GENERIC_BASE
from .generic_resize_nearest import GenericResizeNearest

ONE = 1 << 10          # TFLM's fixed-point unit (scale_10)


def _cdiv(a, b):
    """C integer division (truncates toward zero) on int64 arrays."""
    a = np.asarray(a, np.int64)
    return np.sign(a) * (np.abs(a) // b)


def bilinear_sources(in_size, out_size, align_corners, half_pixel_centers):
    """(lower, upper, fraction) per output index: TFLM's scale_10 and ComputeInterpolationValues."""
    if align_corners and out_size > 1:
        scale = (ONE * (in_size - 1) + (out_size - 1) // 2) // (out_size - 1)
    else:
        scale = (ONE * in_size + out_size // 2) // out_size
    pos = np.arange(out_size, dtype=np.int64) * scale
    if half_pixel_centers:
        pos = pos + scale // 2 - ONE // 2
    lower = np.maximum(_cdiv(pos, ONE), 0)
    upper = np.minimum(_cdiv(pos + ONE - 1, ONE), in_size - 1)
    return lower, upper, pos - ONE * lower


class GenericResizeBilinear(GenericResizeNearest):
    """Same fields, reads and writes as GENERIC_RESIZE_NEAREST; the tail holds, per output row then
    per output column, the lower and upper source index and the 10-bit fraction (int32; the
    fraction is negative near the border with half_pixel_centers, as in TFLM)."""
    TYPE, NAME = GENERIC_BASE + 22, "GENERIC_RESIZE_BILINEAR"
    TAIL = (("y0", "<i4", lambda s: s.out_h), ("y1", "<i4", lambda s: s.out_h), ("fy", "<i4", lambda s: s.out_h),
            ("x0", "<i4", lambda s: s.out_w), ("x1", "<i4", lambda s: s.out_w), ("fx", "<i4", lambda s: s.out_w))
    TFLITE_OPS = ("RESIZE_BILINEAR",)
    OPTIONS = "ResizeBilinearOptions"

    @classmethod
    def tables(cls, ih, iw, oh, ow, align_corners, half_pixel_centers):
        y0, y1, fy = bilinear_sources(ih, oh, align_corners, half_pixel_centers)
        x0, x1, fx = bilinear_sources(iw, ow, align_corners, half_pixel_centers)
        return dict(y0=y0, y1=y1, fy=fy, x0=x0, x1=x1, fx=fx)

    def check_tables(self):
        for lo, hi, frac, size in ((self.y0, self.y1, self.fy, self.in_h), (self.x0, self.x1, self.fx, self.in_w)):
            if np.any(lo < 0) or np.any(hi < 0) or np.any(lo >= size) or np.any(hi >= size):
                raise self.error("a source row or column lies outside the input", "y0")
            if np.any(np.abs(frac) > 2 * ONE):
                raise self.error(f"a fraction lies outside -{2 * ONE}..{2 * ONE}", "fy")

    def execute(self, mem):
        x = mem.read_main(self.main_mem_in_address, self.batches * self.in_h * self.in_w * self.channels, "i8")
        x = x.reshape(self.batches, self.in_h, self.in_w, self.channels).astype(np.int64)
        y0, y1, x0, x1 = (a.astype(np.int64) for a in (self.y0, self.y1, self.x0, self.x1))
        fy = self.fy.astype(np.int64)[None, :, None, None]
        fx = self.fx.astype(np.int64)[None, None, :, None]
        top, bottom = x[:, y0], x[:, y1]
        acc = (top[:, :, x0] * (ONE - fy) * (ONE - fx) + bottom[:, :, x0] * fy * (ONE - fx)
               + top[:, :, x1] * (ONE - fy) * fx + bottom[:, :, x1] * fy * fx)
        out = _cdiv(acc + np.where(acc > 0, 1 << 19, -(1 << 19)), 1 << 20)
        mem.write_main(self.main_mem_out_address, out.astype(np.int8).reshape(-1))

    def macs(self):
        return 4 * self.batches * self.out_h * self.out_w * self.channels
