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


def layer_matches(trace, expected: dict, hw_kpu: bool) -> list:
    """Per trace record (device TRACE_CRC run): True when its CRC is that of the PC's bytes for the
    layer (expected: layer index -> bytes), False when not, None when the two cannot be compared (no
    PC tensor, or a hardware-KPU map in KPU RAM layout: kpu_ram_view)."""
    out = []
    for t in trace:
        want = expected.get(t.index)
        if want is None or kpu_ram_view(t.type, t.size, len(want), hw_kpu):
            out.append(None)
        else:
            out.append(t.size == len(want) and t.crc == zlib.crc32(want) & 0xFFFFFFFF)
    return out


def trace_layers(dev, input_size: int, expected_layers: list):
    """One invoke with per-layer CRCs (the input already set). Returns the trace records and, per
    record, whether the layer matches the PC (layer_matches)."""
    hw_kpu = "hw_kpu" in dev.hello().flags
    dev.invoke(input_size, trace_crc=True)
    trace = dev.get_trace()
    return trace, layer_matches(trace, dict(enumerate(expected_layers)), hw_kpu)


def first_divergence(dev, input_size: int, expected_layers: list, traced=None):
    """Compare every layer's CRC with the PC's per-layer outputs (trace_layers, or `traced` from an
    earlier call), then capture the first differing layer and locate its differing bytes. Returns
    None when every comparable layer matches."""
    trace, matches = traced or trace_layers(dev, input_size, expected_layers)
    for t, same in zip(trace, matches):
        if same is not False:
            continue
        want = expected_layers[t.index]
        dev.invoke(input_size, capture_layer=t.index)
        cap = dev.get_layer()
        offs = []
        if len(cap.data) == len(want):
            a = np.frombuffer(cap.data, np.uint8)
            b = np.frombuffer(want, np.uint8)
            offs = np.flatnonzero(a != b)[:32].tolist()
        return Divergence(t.index, t.type, t.size, offs, cap.data, want)
    return None
