"""GENERIC_STRIDED_SLICE (0x401F): TFLite STRIDED_SLICE of an int8 tensor (rank <= 4, padded to 4 at
the front) as TFLM's reference StridedSlice: per axis a start, a stride (either sign) and a count,
from TFLM's StridedSliceStartForAxis / StridedSliceEndForAxis (begin/end/shrink masks, negative
indices, clamping) computed here; the kernel copies the selected bytes in row-major order.
(A Keras LSTM with return_sequences=False is an UNIDIRECTIONAL_SEQUENCE_LSTM of the whole sequence
followed by this slice of its last step.)"""
import numpy as np

from .generic_common import GENERIC_BASE, GenericLayer, main_i8

DIMS = 4


def _clamp(v, lo, hi):
    return hi if hi < v else lo if v < lo else v


def axis_range(dim, begin, end, stride, begin_masked, end_masked, shrink):
    """(start, count) of one axis: TFLM's StridedSliceStartForAxis / StridedSliceEndForAxis and the
    reference loop `for (i = start; stride > 0 ? i < stop : i > stop; i += stride)`."""
    start = begin + dim if begin < 0 else begin
    start = _clamp(start, 0, dim) if stride > 0 else _clamp(start, -1, dim - 1)
    if begin_masked:
        start = 0 if stride > 0 else dim - 1
    if shrink:
        stop = start if start >= dim else start + 1
    else:
        stop = end + dim if end < 0 else end
        stop = _clamp(stop, 0, dim) if stride > 0 else _clamp(stop, -1, dim - 1)
        if end_masked:
            stop = dim if stride > 0 else -1
    count = len(range(start, stop, stride))
    return (start if count else 0), count


class GenericStridedSlice(GenericLayer):
    TYPE, NAME = GENERIC_BASE + 31, "GENERIC_STRIDED_SLICE"
    FIELDS = ((("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"))
              + tuple((f"in_dim{i}", "I") for i in range(DIMS)) + tuple((f"start{i}", "I") for i in range(DIMS))
              + tuple((f"stride{i}", "i") for i in range(DIMS)) + tuple((f"count{i}", "I") for i in range(DIMS)))
    TFLITE_OPS = ("STRIDED_SLICE",)

    @classmethod
    def from_tflite(cls, ctx, op):
        where = f"STRIDED_SLICE #{op.index}"
        if len(op.inputs) != 4:
            raise ctx.Error(f"{where}: {len(op.inputs)} inputs, TFLM takes 4 (input, begin, end, strides)")
        x = ctx.tensor(op.inputs[0])
        shape = x["shape"]
        begin, end, strides = (ctx.data(t, "<i4") for t in op.inputs[1:])
        if x["dtype"] != "i8" or len(shape) > DIMS or any(v is None or v.size != len(shape)
                                                          for v in (begin, end, strides)):
            raise ctx.Error(f"{where}: an int8 input of rank <= {DIMS} with constant begin/end/strides of its rank "
                            "is needed")
        o = op.options("StridedSliceOptions")
        if o.EllipsisMask() or o.NewAxisMask() or o.Offset():
            raise ctx.Error(f"{where}: ellipsis_mask / new_axis_mask / offset are not supported (TFLM ignores them)")
        if not np.all(strides):
            raise ctx.Error(f"{where}: a stride is 0")
        lead = DIMS - len(shape)
        dims = (1,) * lead + tuple(shape)
        axes = [(0, 1)] * lead + [axis_range(shape[a], int(begin[a]), int(end[a]), int(strides[a]),
                                             o.BeginMask() >> a & 1, o.EndMask() >> a & 1, o.ShrinkAxisMask() >> a & 1)
                                  for a in range(len(shape))]
        if any(n == 0 for _, n in axes):      # (TFLM's loop selects nothing for shrink_axis with a negative stride)
            raise ctx.Error(f"{where}: the slice selects no element")
        full_strides = (1,) * lead + tuple(int(s) for s in strides)
        return cls(main_mem_in_address=ctx.addr(op.inputs[0]), main_mem_out_address=ctx.addr(op.outputs[0]),
                   **{f"in_dim{i}": dims[i] for i in range(DIMS)}, **{f"start{i}": axes[i][0] for i in range(DIMS)},
                   **{f"stride{i}": full_strides[i] for i in range(DIMS)},
                   **{f"count{i}": axes[i][1] for i in range(DIMS)})

    def _axis(self, name):
        return tuple(getattr(self, f"{name}{i}") for i in range(DIMS))

    def reads(self):
        return [main_i8("main_mem_in_address", self.main_mem_in_address, int(np.prod(self._axis("in_dim"))))]

    def writes(self):
        counts = self._axis("count")
        return [main_i8("main_mem_out_address", self.main_mem_out_address, int(np.prod(counts)), counts)]

    def overlap_lag(self):
        return None                     # negative strides read backwards

    def check(self, model):
        self.check_fields(**{f"in_dim{i}": (1, 1 << 24) for i in range(DIMS)},
                          **{f"stride{i}": (-(1 << 24), 1 << 24) for i in range(DIMS)},
                          **{f"count{i}": (0, 1 << 24) for i in range(DIMS)})
        for i, (d, s, st, n) in enumerate(zip(self._axis("in_dim"), self._axis("start"), self._axis("stride"),
                                              self._axis("count"))):
            if n and not (s < d and 0 <= s + (n - 1) * st < d) or st == 0:
                raise self.error(f"axis {i}: start {s}, stride {st}, count {n} leave the input's {d}", f"start{i}")
        super().check(model)

    def execute(self, mem):
        x = mem.read_main(self.main_mem_in_address, int(np.prod(self._axis("in_dim"))), "i8")
        idx = [s + st * np.arange(n) for s, st, n in zip(self._axis("start"), self._axis("stride"),
                                                          self._axis("count"))]
        y = x.reshape(self._axis("in_dim"))[np.ix_(*idx)]
        mem.write_main(self.main_mem_out_address, np.ascontiguousarray(y).reshape(-1))
