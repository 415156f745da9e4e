"""Device-versus-PC comparison helpers: find the first layer whose output differs."""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np


@dataclasses.dataclass
class Divergence:
    layer: int            # index of the first differing layer (None: all layers identical)
    type: int
    size: int
    diff_offsets: list    # first differing byte offsets (empty when the sizes differ)
    device: bytes
    expected: bytes


def kpu_ram_view(ltype: int, size: int, want_size: int, hw_kpu: bool) -> bool:
    """True for a K210_CONV without main-memory output run by a hardware KPU (device flag hw_kpu):
    the runtime's layer hook then sees the map in KPU RAM row layout (no scratch to gather it into
    dense CHW), including bytes between rows/channel groups that no layer defines, so it cannot be
    compared byte for byte with the PC's dense map. Its consumers still are."""
    return hw_kpu and ltype == 10240 and size != want_size


def first_divergence(dev, input_size: int, expected_layers: list):
    """Run once with per-layer CRCs, compare them with the PC's per-layer outputs, then capture the
    first differing layer and locate its differing bytes. Returns None when every layer matches
    (layers in KPU RAM view on a hardware-KPU device are skipped: kpu_ram_view)."""
    hw_kpu = "hw_kpu" in dev.hello().flags
    dev.invoke(input_size, trace_crc=True)
    trace = dev.get_trace()
    for t, want in zip(trace, expected_layers):
        if t.size == len(want) and t.crc == zlib.crc32(want):
            continue
        if kpu_ram_view(t.type, t.size, len(want), hw_kpu):
            continue
        dev.invoke(input_size, capture_layer=t.index)
        cap = dev.get_layer()
        offs = []
        if len(cap.data) == len(want):
            a = np.frombuffer(cap.data, np.uint8)
            b = np.frombuffer(want, np.uint8)
            offs = np.flatnonzero(a != b)[:32].tolist()
        return Divergence(t.index, t.type, t.size, offs, cap.data, want)
    return None
