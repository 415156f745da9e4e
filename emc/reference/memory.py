"""The two memories a kmodel runs in: the main buffer (main_mem_usage bytes) and the 2 MiB KPU RAM."""
import numpy as np

from ..kmodel.errors import KModelError
from ..kmodel.layers.base import KPU_RAM_BYTES

DTYPES = {"u8": np.uint8, "i8": np.int8, "f32": np.dtype("<f4"), "i32": np.dtype("<i4")}
# QUANTIZED_ADD touches up to 7 bytes past its count; the runtime keeps this slack after main memory.
MAIN_SLACK = 8


class Memory:
    def __init__(self, main_size, layer=None, fused_fp=False):
        self.main_size = main_size
        # float a*b+c fused (one rounding) as the K210's GCC-built SDK runtime does, or not
        self.fused_fp = fused_fp
        self.main = np.zeros(main_size + MAIN_SLACK, np.uint8)
        self._kpu = None
        self.layer = layer           # index of the executing layer, for errors

    @property
    def kpu(self):
        if self._kpu is None:       # allocated on first use: CPU-only models never need 2 MiB
            self._kpu = np.zeros(KPU_RAM_BYTES, np.uint8)
        return self._kpu

    def _span(self, addr, nbytes, slack):
        limit = self.main_size + (MAIN_SLACK if slack else 0)
        if addr < 0 or nbytes < 0 or addr + nbytes > limit:
            raise KModelError(f"main buffer access [{addr}, {addr + nbytes}) outside [0, {limit})", layer=self.layer)
        return slice(addr, addr + nbytes)

    def read_main(self, addr, count, dtype, slack=False):
        dt = np.dtype(DTYPES[dtype])
        return self.main[self._span(addr, count * dt.itemsize, slack)].view(dt).copy()

    def write_main(self, addr, arr, slack=False):
        b = np.ascontiguousarray(arr).reshape(-1).view(np.uint8)
        self.main[self._span(addr, b.size, slack)] = b
