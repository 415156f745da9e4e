"""GENERIC_OUTPUT (0x400C): declares dtype, NHWC shape and quantization of one model output (the
v3 output table has only address and size); runs nothing. The importer appends one per output, so
the C runtime's emc_model_output reports scale and zero point and the reference its dtype."""
import numpy as np

from .base import Range
from .generic_common import GENERIC_BASE, GenericLayer
from .generic_input import DTYPE_NAMES, DT_I8, DT_U8, tensor_spec


class GenericOutput(GenericLayer):
    TYPE, NAME = GENERIC_BASE + 12, "GENERIC_OUTPUT"
    FIELDS = (("flags", "I"), ("main_mem_address", "I"), ("dtype", "I"), ("rank", "I"),
              ("dim0", "I"), ("dim1", "I"), ("dim2", "I"), ("dim3", "I"), ("scale", "f"), ("zero_point", "i"))

    @classmethod
    def for_tensor(cls, ctx, t):
        return cls(main_mem_address=ctx.addr(t), **tensor_spec(ctx, t, "output"))

    @property
    def shape(self):
        return tuple(getattr(self, f"dim{i}") for i in range(self.rank))

    @property
    def dt(self):
        return DTYPE_NAMES.get(self.dtype, "i8")

    def check(self, model):
        self.check_fields(dtype=(DT_U8, DT_I8), rank=(1, 4))
        for i in range(self.rank):
            self.check_fields(**{f"dim{i}": (1, 1 << 24)})
        super().check(model)

    def writes(self):
        n = int(np.prod(self.shape)) * (4 if self.dt == "f32" else 1)
        return [Range("main", self.main_mem_address, n, "main_mem_address", self.dt, self.shape)]

    def execute(self, mem):
        pass
