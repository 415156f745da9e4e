"""The C runtime's arena size for a model (runtime_c, docs/runtime_c.md), computed from a parsed
KModel so the convertor can report it without building C. Kept equal to emc_arena_required()
(tests/runtime/test_arena.py checks every sample, synthetic and generic model). Each layer states
its own scratch (`Layer.cpu_scratch`, `Layer.software_kpu_scratch`)."""
from __future__ import annotations

MAIN_SLACK = 8            # QUANTIZED_ADD ceil(n/8)*8 and the KPU's 8-byte DMA granule
OUT_DESC_BYTES = 32       # per output: dtype, rank, shape[4], scale, zero point
ROW = 64


def _align16(n):
    return (n + 15) // 16 * 16


def kpu_window(model):
    """(lo, hi) KPU RAM rows the model touches ([lo, hi), (0, 0) when none)."""
    lo, hi = None, 0
    for layer in model.layers:
        for r in list(layer.reads()) + list(layer.writes()):
            if r.mem != "kpu" or r.size <= 0:
                continue
            row = r.start // ROW
            end = (r.start + r.size + ROW - 1) // ROW
            lo = row if lo is None else min(lo, row)
            hi = max(hi, end)
    return (0, 0) if lo is None else (lo, hi)


def arena_bytes(model, hardware_kpu=False):
    """Bytes of arena emc_model_load needs. hardware_kpu: the port provides the real KPU RAM and
    runs every K210_CONV (emc_port_t.kpu_ram and .k210_conv set): no KPU window, no software-KPU
    scratch. The scratch region is shared by the software KPU and the CPU kernels (im2col)."""
    lo, hi = kpu_window(model)
    scratch = 0 if hardware_kpu else max((layer.software_kpu_scratch() for layer in model.layers), default=0)
    scratch = max([scratch] + [layer.cpu_scratch() for layer in model.layers])
    return (_align16(model.main_mem_usage + MAIN_SLACK) + (0 if hardware_kpu else (hi - lo) * ROW)
            + _align16(scratch) + OUT_DESC_BYTES * len(model.outputs))
