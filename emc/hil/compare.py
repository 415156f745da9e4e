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


def first_divergence(dev, input_size: int, expected_layers: list):
    """Run once with per-layer CRCs, compare them with the PC's per-layer outputs, then capture the
    first differing layer and locate its differing bytes. Returns None when every layer matches."""
    dev.invoke(input_size, trace_crc=True)
    trace = dev.get_trace()
    for t, want in zip(trace, expected_layers):
        if t.size == len(want) and t.crc == zlib.crc32(want):
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
