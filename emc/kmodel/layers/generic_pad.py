"""GENERIC_PAD (0x400E): TFLite PAD / PADV2 of an int8 NHWC tensor as TFLM's reference Pad: every
output element outside the input box is the pad value (the output zero point, or PADV2's
constant), the rest a copy of the input."""
import numpy as np

from .generic_common import DIMS, GENERIC_BASE, GenericMove4d

FOLD_MAX = 16      # larger paddings stay a PAD layer (a conv's pad fields hold up to 64 in all)


class GenericPad(GenericMove4d):
    TYPE, NAME = GENERIC_BASE + 14, "GENERIC_PAD"
    FIELDS = ((("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"))
              + tuple((f"in_dim{i}", "I") for i in range(DIMS)) + tuple((f"pad_before{i}", "I") for i in range(DIMS))
              + tuple((f"pad_after{i}", "I") for i in range(DIMS)) + (("pad_value", "i"),))
    TFLITE_OPS = ("PAD", "PADV2")

    @classmethod
    def spec(cls, ctx, op):
        """(input shape, paddings (rank, 2), pad value) of a PAD / PADV2, as TFLM's Prepare reads them."""
        x = ctx.tensor(op.inputs[0])
        shape = x["shape"]
        pads = ctx.data(op.inputs[1], "<i4" if ctx.tensor(op.inputs[1])["dtype"] == "i32" else "<i8")
        if pads is None or len(shape) > DIMS or x["dtype"] != "i8":
            raise ctx.Error(f"{op.name} #{op.index}: int8 input of rank <= 4 and constant paddings needed")
        pads = pads.reshape(len(shape), 2).astype(np.int64)
        if (pads < 0).any():
            raise ctx.Error(f"{op.name} #{op.index}: negative paddings")
        if ctx.q(op.inputs[0]) != ctx.q(op.outputs[0]):
            raise ctx.Error(f"{op.name} #{op.index}: input and output quantization differ")
        value = ctx.q(op.outputs[0])[1]
        if len(op.inputs) > 2 and op.inputs[2] is not None:
            const = ctx.data(op.inputs[2], np.int8)
            if const is None:
                raise ctx.Error(f"{op.name} #{op.index}: the pad value must be a constant")
            value = int(const[0])
        return shape, pads, value

    @classmethod
    def foldable(cls, ctx, op, consumer):
        """(top, bottom, left, right) when this PAD can become the padding of `consumer` (the one
        operator reading its output, as its input 0) with TFLM's numbers unchanged, else None.
        TFLM's windowed kernels skip out-of-image taps: a conv's skipped tap equals a pad of its
        input zero point (w * (x + input_offset) = 0), a max pool's a pad of -128 (the start of its
        max). An average pool divides by the in-image count, so no pad value is exact there."""
        fold = getattr(consumer, "PAD_FOLD", None)
        if fold is None:
            return None
        shape, pads, value = cls.spec(ctx, op)
        if len(shape) != 4 or pads[0].any() or pads[3].any() or pads.max() > FOLD_MAX:
            return None
        need = -128 if fold == "lowest" else ctx.q(op.outputs[0])[1]
        return tuple(int(v) for v in (pads[1, 0], pads[1, 1], pads[2, 0], pads[2, 1])) if value == need else None

    @classmethod
    def from_tflite(cls, ctx, op):
        shape, pads, value = cls.spec(ctx, op)
        lead = DIMS - len(shape)           # TFLM pads shapes to 4D at the front
        dims = (1,) * lead + tuple(shape)
        before = (0,) * lead + tuple(int(p) for p in pads[:, 0])
        after = (0,) * lead + tuple(int(p) for p in pads[:, 1])
        return cls(main_mem_in_address=ctx.addr(op.inputs[0]), main_mem_out_address=ctx.addr(op.outputs[0]),
                   pad_value=value, **{f"in_dim{i}": dims[i] for i in range(DIMS)},
                   **{f"pad_before{i}": before[i] for i in range(DIMS)},
                   **{f"pad_after{i}": after[i] for i in range(DIMS)})

    @property
    def out_shape(self):
        return tuple(getattr(self, f"in_dim{i}") + getattr(self, f"pad_before{i}") + getattr(self, f"pad_after{i}")
                     for i in range(DIMS))

    def check(self, model):
        big = 1 << 16
        self.check_fields(pad_value=(-128, 127), **{f"in_dim{i}": (1, 1 << 24) for i in range(DIMS)},
                          **{f"pad_before{i}": (0, big) for i in range(DIMS)},
                          **{f"pad_after{i}": (0, big) for i in range(DIMS)})
        if int(np.prod(self.out_shape)) > 1 << 26:
            raise self.error(f"output of {int(np.prod(self.out_shape))} elements is too large", "pad_after0")
        super().check(model)

    def execute(self, mem):
        x = self.read_input(mem)
        out = np.full(self.out_shape, self.pad_value, np.int8)
        out[tuple(slice(getattr(self, f"pad_before{i}"), getattr(self, f"pad_before{i}") + self.in_shape[i])
                  for i in range(DIMS))] = x
        mem.write_main(self.main_mem_out_address, out.reshape(-1))
