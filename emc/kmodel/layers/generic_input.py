"""GENERIC_INPUT (0x4000): declares one model input of a generic model (int8, uint8 or f32, NHWC shape,
quantization) at a main-buffer address. Runs nothing. A model with n inputs starts with n of them,
in the .tflite's input order (at most MAX_INPUTS, the C runtime's EMC_MAX_INPUTS)."""
import numpy as np

from .base import Range
from .generic_common import GENERIC_BASE, GenericLayer

DT_U8, DT_F32, DT_I8 = 0, 1, 2          # emc_dtype_t
DTYPE_NAMES = {DT_U8: "u8", DT_F32: "f32", DT_I8: "i8"}
BYTES = {DT_U8: 1, DT_F32: 4, DT_I8: 1}
MAX_INPUTS = 4


def tensor_spec(ctx, t, role):
    """The body fields that describe model input/output tensor t of an imported .tflite."""
    ti = ctx.tensor(t)
    shp = ti["shape"]
    if ti["dtype"] not in ("i8", "u8", "f32") or not 1 <= len(shp) <= 4:
        raise ctx.Error(f"model {role} {ti['name']!r}: {ti['dtype']} of rank {len(shp)}; "
                        f"the generic profile takes int8, uint8 or float32 tensors of rank 1..4")
    is_f = ti["dtype"] == "f32"
    scale, zp = (0.0, 0) if is_f else ctx.q(t)
    return dict(dtype={"f32": DT_F32, "i8": DT_I8, "u8": DT_U8}[ti["dtype"]], rank=len(shp), scale=scale, zero_point=zp,
                **{f"dim{i}": (shp[i] if i < len(shp) else 0) for i in range(4)})


class GenericInput(GenericLayer):
    TYPE, NAME = GENERIC_BASE + 0, "GENERIC_INPUT"
    DECLARES_INPUT = True
    FIELDS = (("flags", "I"), ("main_mem_out_address", "I"), ("dtype", "I"), ("rank", "I"),
              ("dim0", "I"), ("dim1", "I"), ("dim2", "I"), ("dim3", "I"), ("scale", "f"), ("zero_point", "i"))

    @classmethod
    def for_tensor(cls, ctx, t):
        return cls(main_mem_out_address=ctx.addr(t), **tensor_spec(ctx, t, "input"))

    @property
    def shape(self):
        return tuple(getattr(self, f"dim{i}") for i in range(self.rank))

    @property
    def count(self):
        return int(np.prod(self.shape)) if self.rank else 1

    @property
    def dt(self):
        return DTYPE_NAMES.get(self.dtype, "i8")

    def check(self, model):
        if not all(getattr(layer, "DECLARES_INPUT", False) for layer in model.layers[:self.index]):
            raise self.error("GENERIC_INPUT must precede every other layer", "type")
        if self.index >= MAX_INPUTS:
            raise self.error(f"more than {MAX_INPUTS} model inputs", "type")
        self.check_fields(dtype=(DT_U8, DT_I8), rank=(1, 4))
        for i in range(self.rank):
            self.check_fields(**{f"dim{i}": (1, 1 << 24)})
        super().check(model)

    def writes(self):
        return [Range("main", self.main_mem_out_address, self.count * (4 if self.dt == "f32" else 1),
                      "main_mem_out_address", self.dt, self.shape)]

    def input_spec(self, model):
        return self.dt, self.shape

    def set_input(self, mem, x):
        mem.write_main(self.main_mem_out_address, np.asarray(x, {"f32": np.float32, "u8": np.uint8, "i8": np.int8}[self.dt])
                       .reshape(-1))

    def execute(self, mem):
        pass
