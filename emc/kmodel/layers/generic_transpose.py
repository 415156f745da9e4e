"""GENERIC_TRANSPOSE (0x4014): TFLite TRANSPOSE of an int8 tensor (rank <= 4, padded to 4 at the
front) as TFLM's reference Transpose: output axis k is input axis perm[k]; a byte permutation."""
import numpy as np

from .generic_common import DIMS, GENERIC_BASE, GenericMove4d, dim_fields


class GenericTranspose(GenericMove4d):
    TYPE, NAME = GENERIC_BASE + 20, "GENERIC_TRANSPOSE"
    FIELDS = ((("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"))
              + dim_fields("in_dim") + dim_fields("perm"))
    TFLITE_OPS = ("TRANSPOSE",)

    @classmethod
    def from_tflite(cls, ctx, op):
        x = ctx.tensor(op.inputs[0])
        perm = ctx.data(op.inputs[1], "<i4")
        shape = x["shape"]
        if perm is None or len(shape) > DIMS or x["dtype"] != "i8" or sorted(perm) != list(range(len(shape))):
            raise ctx.Error(f"TRANSPOSE #{op.index}: int8 rank <= 4 with a constant permutation needed")
        lead = DIMS - len(shape)
        dims = (1,) * lead + tuple(shape)
        full = list(range(lead)) + [int(p) + lead for p in perm]
        return cls(main_mem_in_address=ctx.addr(op.inputs[0]), main_mem_out_address=ctx.addr(op.outputs[0]),
                   **{f"in_dim{i}": dims[i] for i in range(DIMS)}, **{f"perm{i}": full[i] for i in range(DIMS)})

    @property
    def perm(self):
        return tuple(getattr(self, f"perm{i}") for i in range(DIMS))

    @property
    def out_shape(self):
        return tuple(self.in_shape[p] for p in self.perm) if sorted(self.perm) == list(range(DIMS)) else self.in_shape

    def check(self, model):
        self.check_fields(**{f"in_dim{i}": (1, 1 << 24) for i in range(DIMS)},
                          **{f"perm{i}": (0, DIMS - 1) for i in range(DIMS)})
        if sorted(self.perm) != list(range(DIMS)):
            raise self.error(f"perm {self.perm} is not a permutation", "perm0")
        super().check(model)

    def execute(self, mem):
        x = self.read_input(mem)
        mem.write_main(self.main_mem_out_address, np.ascontiguousarray(x.transpose(self.perm)).reshape(-1))
