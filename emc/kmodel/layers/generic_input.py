"""GENERIC_INPUT (0x4000): declares the model input of a generic int8 model (dtype, NHWC shape,
quantization) at a main-buffer address. Runs nothing; must be layer 0."""
import numpy as np

from .generic_common import GENERIC_BASE, GenericLayer, main_i8

DT_I8 = 2


class GenericInput(GenericLayer):
    TYPE, NAME = GENERIC_BASE + 0, "GENERIC_INPUT"
    FIELDS = (("flags", "I"), ("main_mem_out_address", "I"), ("dtype", "I"), ("rank", "I"),
              ("dim0", "I"), ("dim1", "I"), ("dim2", "I"), ("dim3", "I"), ("scale", "f"), ("zero_point", "i"))

    @property
    def shape(self):
        return tuple(getattr(self, f"dim{i}") for i in range(self.rank))

    @property
    def count(self):
        return int(np.prod(self.shape)) if self.rank else 1

    def check(self, model):
        if self.index != 0:
            raise self.error("GENERIC_INPUT must be the first layer", "type")
        self.check_fields(dtype=(DT_I8, DT_I8), rank=(1, 4))
        for i in range(self.rank):
            self.check_fields(**{f"dim{i}": (1, 1 << 24)})
        super().check(model)

    def writes(self):
        return [main_i8("main_mem_out_address", self.main_mem_out_address, self.count, self.shape)]

    def input_spec(self, model):
        return "i8", self.shape

    def set_input(self, mem, x):
        mem.write_main(self.main_mem_out_address, np.asarray(x, np.int8).reshape(-1))

    def execute(self, mem):
        pass
