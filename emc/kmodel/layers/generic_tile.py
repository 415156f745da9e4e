"""GENERIC_TILE (0x4019): TFLite TILE of an int8 tensor (rank <= 4, padded to 4 at the front) with
constant multiples: output element (o0..o3) is input element (o0 % d0, .., o3 % d3), as TFLite's
TILE kernel (TFLM has none; the tests compare with LiteRT's)."""
import numpy as np

from .generic_common import DIMS, GENERIC_BASE, GenericMove4d, dim_fields, front_pad


class GenericTile(GenericMove4d):
    TYPE, NAME = GENERIC_BASE + 25, "GENERIC_TILE"
    FIELDS = ((("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"))
              + dim_fields("in_dim") + dim_fields("multiple"))
    TFLITE_OPS = ("TILE",)

    @classmethod
    def from_tflite(cls, ctx, op):
        x = ctx.tensor(op.inputs[0])
        mult = ctx.data(op.inputs[1], "<i8" if ctx.tensor(op.inputs[1])["dtype"] == "i64" else "<i4")
        shape = x["shape"]
        if (mult is None or len(shape) > DIMS or x["dtype"] != "i8" or len(mult) != len(shape)
                or np.any(mult < 1) or ctx.q(op.inputs[0]) != ctx.q(op.outputs[0])):
            raise ctx.Error(f"TILE #{op.index}: int8 rank <= 4, constant multiples >= 1 and the output's "
                            "quantization needed")
        dims, mult = front_pad(shape), front_pad(mult)
        return cls(main_mem_in_address=ctx.addr(op.inputs[0]), main_mem_out_address=ctx.addr(op.outputs[0]),
                   **{f"in_dim{i}": dims[i] for i in range(DIMS)}, **{f"multiple{i}": mult[i] for i in range(DIMS)})

    @property
    def out_shape(self):
        return tuple(getattr(self, f"in_dim{i}") * getattr(self, f"multiple{i}") for i in range(DIMS))

    def check(self, model):
        self.check_fields(**{f"in_dim{i}": (1, 1 << 24) for i in range(DIMS)},
                          **{f"multiple{i}": (1, 1 << 24) for i in range(DIMS)})
        if np.prod(self.out_shape, dtype=np.float64) > 1 << 26:
            raise self.error(f"output of {np.prod(self.out_shape, dtype=np.float64):.0f} elements is too large",
                             "multiple0")
        super().check(model)

    def execute(self, mem):
        x = self.read_input(mem)
        mult = tuple(getattr(self, f"multiple{i}") for i in range(DIMS))
        mem.write_main(self.main_mem_out_address, np.tile(x, mult).reshape(-1))
