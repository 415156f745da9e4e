"""Shared body helpers of the EMC generic int8 profile (docs/generic_profile.md).

Generic layers live in the extension type range 0x4000+ (the SDK uses 0..25 and 10240..10243).
Tensors are NHWC int8 in the main buffer; the arithmetic is TFLite's reference int8 kernels
(as in TFLM), bit for bit. Every body is a run of u32/i32 fields followed by 4-byte-aligned
int32 arrays and then the int8 weights.
"""
from __future__ import annotations

import numpy as np

from .base import Layer, Range

GENERIC_BASE = 0x4000
I8_MIN, I8_MAX = -128, 127


def main_i8(field, addr, count, shape=None):
    return Range("main", addr, count, field, "i8", shape or (count,))


class GenericLayer(Layer):
    SDK_RUNS = False
    TAIL = ()        # ((name, dtype or dtype_fn(self), count_fn(self)), ...) arrays after the fixed fields

    def tail_dtype(self, dt):
        """A TAIL dtype; a callable one depends on the fixed fields (a body-layout flag)."""
        return dt(self) if callable(dt) else dt

    def set_tail(self, **values):
        for name, dt, _ in self.TAIL:
            dt = self.tail_dtype(dt)
            v = values.pop(name, None)
            setattr(self, name, np.zeros(0, dt) if v is None else np.asarray(v, dt).reshape(-1))
        super().set_tail(**values)

    def parse_tail(self, r):
        for name, dt, count in self.TAIL:
            n = int(count(self))
            if n > r.size:
                raise r.error(f"{name} count {n} cannot fit the body", name)
            setattr(self, name, r.array(self.tail_dtype(dt), n, name))

    def pack_tail(self, file_offset, model=None):
        out = b""
        for name, dt, count in self.TAIL:
            a = np.asarray(getattr(self, name), np.dtype(self.tail_dtype(dt)).newbyteorder("<"))
            if a.size != count(self):
                raise ValueError(f"{self.NAME}: {name} has {a.size} values, expected {count(self)}")
            out += a.tobytes()
        return out

    def check_fields(self, **ranges):
        for f, (lo, hi) in ranges.items():
            v = getattr(self, f)
            if not lo <= v <= hi:
                raise self.error(f"{f} = {v} out of range {lo}..{hi}", f)


def image_hwc(ctx, op, t):
    """(H, W, C) of an operator's NHWC tensor t; the windowed layers (conv, pools) have no batch loop, so
    a batch other than 1 is refused rather than computed for image 0 only."""
    shape = ctx.tensor(t)["shape"]
    if len(shape) != 4 or shape[0] != 1:
        raise ctx.Error(f"{op.name} #{op.index}: tensor {ctx.tensor(t)['name']!r} has shape {tuple(shape)}; "
                        f"this layer takes NHWC with batch 1")
    return tuple(int(v) for v in shape[1:])


def clamp_i8(v, lo, hi):
    return np.clip(v, lo, hi).astype(np.int8)


DIMS = 4     # TFLM pads tensor shapes to 4D at the front


def dim_fields(prefix):
    """u32 fields prefix0..prefix3, one per axis of a 4D shape."""
    return tuple((f"{prefix}{i}", "I") for i in range(DIMS))


def front_pad(shape, value=1):
    """A shape (or per-axis values) of rank <= 4 padded to 4D at the front, as TFLM does."""
    return (value,) * (DIMS - len(shape)) + tuple(int(s) for s in shape)


class GenericMove4d(GenericLayer):
    """A data-movement layer over a whole int8 tensor of shape in_dim0..3 (fields after flags and
    the two addresses); subclasses define `out_shape`."""

    @property
    def in_shape(self):
        return tuple(getattr(self, f"in_dim{i}") for i in range(DIMS))

    def reads(self):
        return [main_i8("main_mem_in_address", self.main_mem_in_address, int(np.prod(self.in_shape)))]

    def writes(self):
        return [main_i8("main_mem_out_address", self.main_mem_out_address, int(np.prod(self.out_shape)),
                        self.out_shape)]

    def read_input(self, mem):
        return mem.read_main(self.main_mem_in_address, int(np.prod(self.in_shape)), "i8").reshape(self.in_shape)
