"""GENERIC_RESHAPE (0x4008): a byte copy (NHWC data needs no reordering for TFLite RESHAPE).
The importer aliases reshape outputs to their input instead when it can, emitting no layer."""

from .generic_common import GENERIC_BASE, GenericLayer, main_i8


class GenericReshape(GenericLayer):
    TYPE, NAME = GENERIC_BASE + 8, "GENERIC_RESHAPE"
    FIELDS = (("flags", "I"), ("main_mem_in_address", "I"), ("main_mem_out_address", "I"), ("count", "I"))
    TFLITE_OPS = ("RESHAPE",)
    ALIASES_INPUT = True     # the importer gives the output its input's bytes and emits no layer

    def reads(self):
        return [main_i8("main_mem_in_address", self.main_mem_in_address, self.count)]

    def writes(self):
        return [main_i8("main_mem_out_address", self.main_mem_out_address, self.count)]

    def execute(self, mem):
        mem.write_main(self.main_mem_out_address, mem.read_main(self.main_mem_in_address, self.count, "i8"))
