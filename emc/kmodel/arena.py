"""The C runtime's arena size for a model (runtime_c, docs/runtime_c.md), computed from a parsed
KModel so the convertor can report it without building C. Kept equal to emc_arena_required()
(tests/runtime/test_arena.py checks every sample, synthetic and generic model)."""
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


def k210_conv_scratch(layer):
    """Software-KPU scratch of one K210_CONV: int64 acc + x_term per pixel, the activated map,
    the pooled output."""
    hw = layer.in_w * layer.in_h
    return 16 * hw + (hw + 7) // 8 * 8 + layer.oc * layer.out_w * layer.out_h


def cpu_scratch(layer):
    """CPU-kernel scratch of one layer (emc_need_cpu_scratch), reserved in every build for the
    Cortex-M DSP kernels: GENERIC_CONV2D two int16 im2col columns (KH*KW*IC each, rounded up to
    a multiple of 4; a third, natural-order one when IC % 4 != 0) + 18 bytes per output channel
    (requantization record, pruned channels' constant output, live flag), GENERIC_DEPTHWISE_CONV2D (17 + 2*KH*KW) bytes
    per channel (start accumulator, regrouped int16 weights, requantization constants, pad row), GENERIC_ADD two 256-entry int32 tables."""
    if layer.TYPE == 0x4001:
        k = layer.k_h * layer.k_w * layer.in_c
        return (6 if layer.in_c % 4 else 4) * ((k + 3) // 4 * 4) + 18 * layer.out_c
    if layer.TYPE == 0x4002:          # depthwise: start accumulator (int32) + int16 weights + 3 int32 constants + pad byte, per channel
        return (17 + 2 * layer.k_h * layer.k_w) * layer.out_c
    if layer.TYPE == 0x4006:          # add: two 256-entry int32 tables
        return 2048
    return 0


def arena_bytes(model, hardware_kpu=False):
    """Bytes of arena emc_model_load needs. hardware_kpu: the port provides the real KPU RAM and
    runs every K210_CONV (emc_port_t.kpu_ram and .k210_conv set): no KPU window, no software-KPU
    scratch. The scratch region is shared by the software KPU and the CPU kernels (im2col)."""
    lo, hi = kpu_window(model)
    scratch = 0 if hardware_kpu else max((k210_conv_scratch(layer) for layer in model.layers if layer.TYPE == 10240),
                                         default=0)
    scratch = max([scratch] + [cpu_scratch(layer) for layer in model.layers])
    return (_align16(model.main_mem_usage + MAIN_SLACK) + (0 if hardware_kpu else (hi - lo) * ROW)
            + _align16(scratch) + OUT_DESC_BYTES * len(model.outputs))
