"""What every kmodel v3 layer type has in common: its body is a run of little-endian scalar
fields, maybe followed by a variable tail; it reads and writes byte ranges of the main buffer
(and/or KPU RAM); it has a reference execution.

One module per layer type subclasses `Layer` and keeps, in one place, the body layout, the
validation of its fields and its exact reference arithmetic.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from ..errors import KModelError

KPU_RAM_BYTES = 2 * 1024 * 1024
KPU_ROW_BYTES = 64
KPU_ROWS = KPU_RAM_BYTES // KPU_ROW_BYTES

# Absurd sizes are refused before anything is allocated (a K210 has 8 MiB of RAM in all).
MAX_MAIN_MEM = 64 * 1024 * 1024

_FMT_SIZE = {"I": 4, "i": 4, "f": 4}


class BodyReader:
    """Bounds-checked reads inside one layer body. Every failure names layer, field and offset."""

    def __init__(self, data: bytes, start: int, size: int, layer: int):
        self.data = data
        self.start = start
        self.size = size              # bytes of the body present in the file
        self.layer = layer
        self.pos = start
        self.hi = start               # furthest byte consumed (for keeping trailing padding)
        self.model_flags = 1

    def consumed_end(self):
        return max(self.hi, self.pos)

    @property
    def end(self):
        return self.start + self.size

    def error(self, msg, field=None, offset=None):
        return KModelError(msg, layer=self.layer, field=field, offset=self.pos if offset is None else offset)

    def need(self, n, field):
        if n < 0 or self.pos + n > self.end:
            raise self.error(f"body ends at byte {self.end}, needs {n} more bytes at {self.pos}", field)

    def scalar(self, fmt, field):
        self.need(4, field)
        v = struct.unpack_from("<" + fmt, self.data, self.pos)[0]
        self._advance(4)
        return v

    def _advance(self, n):
        self.pos += n
        self.hi = max(self.hi, self.pos)

    def raw(self, n, field):
        self.need(n, field)
        b = bytes(self.data[self.pos:self.pos + n])
        self._advance(n)
        return b

    def array(self, dtype, count, field):
        dt = np.dtype(dtype).newbyteorder("<")
        if count < 0 or count > self.size:
            raise self.error(f"count {count} cannot fit in a {self.size}-byte body", field)
        n = count * dt.itemsize
        self.need(n, field)
        a = np.frombuffer(self.data, dt, count, self.pos).copy()
        self._advance(n)
        return a

    def at(self, offset, field, length):
        """Seek to an absolute file offset that must lie inside this body with `length` bytes."""
        if offset < self.start or offset + length > self.end:
            raise KModelError(f"points to bytes {offset}..{offset + length} outside the layer body "
                              f"[{self.start}, {self.end})", layer=self.layer, field=field,
                              offset=self.start)
        self.pos = offset


@dataclass
class Range:
    """A byte range in one memory: 'main' (main buffer offset) or 'kpu' (KPU RAM byte address)."""
    mem: str
    start: int
    size: int
    field: str
    dtype: str = "u8"        # u8 / f32 / i8 : how a dump should show it
    shape: tuple | None = None

    @property
    def end(self):
        return self.start + self.size


class Layer:
    """Base of all layer bodies. Subclasses set TYPE, NAME, FIELDS and, if needed, the tail hooks."""

    TYPE: int = -1
    NAME: str = "?"
    FIELDS: tuple = ()           # ((name, 'I'|'i'|'f'), ...): the fixed part of the body
    SDK_RUNS: bool = True        # executed by the stock Kendryte SDK kpu.c
    ALIGN = 8                    # writers pad each body so the next starts 8-aligned

    def __init__(self, **values):
        for name, _ in self.FIELDS:
            setattr(self, name, values.pop(name, 0))
        self.index = None
        self.file_offset = None
        self.set_tail(**values)

    # -- body layout ------------------------------------------------------------------
    def set_tail(self, **values):
        if values:
            raise TypeError(f"{self.NAME}: unknown fields {sorted(values)}")

    @classmethod
    def parse(cls, r: BodyReader) -> "Layer":
        obj = cls.__new__(cls)
        obj.index = r.layer
        obj.file_offset = r.start
        for name, fmt in cls.FIELDS:
            setattr(obj, name, r.scalar(fmt, name))
        obj.parse_tail(r)
        return obj

    def parse_tail(self, r: BodyReader):
        pass

    def pack(self, file_offset: int, model=None) -> bytes:
        """Body bytes without trailing alignment padding; file_offset is where the body starts."""
        fixed = b"".join(struct.pack("<" + fmt, getattr(self, name)) for name, fmt in self.FIELDS)
        return fixed + self.pack_tail(file_offset + len(fixed), model)

    def pack_tail(self, file_offset: int, model=None) -> bytes:
        return b""

    def fields(self) -> dict:
        return {name: getattr(self, name) for name, _ in self.FIELDS}

    # -- memory ----------------------------------------------------------------------
    def reads(self) -> list[Range]:
        return []

    def writes(self) -> list[Range]:
        return []

    # -- facts the passes, the planner, the arena formula and the bench ask ---------------
    def macs(self) -> int:
        """Multiply-accumulates of one run (convolutions and dense layers; 0 for the rest)."""
        return 0

    def overlap_lag(self):
        """None: the output may not share bytes with a dying input. Otherwise how many bytes below
        the input the output must start so the C kernel, writing in its loop order, never
        overwrites input bytes it still has to read (emc/backends/generic/planner.py)."""
        return None

    def cpu_scratch(self) -> int:
        """Bytes of CPU-kernel scratch the C runtime reserves for this layer in every build
        (emc_need_cpu_scratch: what the Cortex-M DSP kernels use)."""
        return 0

    def parameter_bytes(self) -> int:
        """Bytes of trained parameters in the body (weights and biases), for `emc info`."""
        return self.weights.nbytes + self.bias.nbytes if hasattr(self, "weights") else 0

    def software_kpu_scratch(self) -> int:
        """Bytes of scratch the C runtime's software KPU needs for this layer (emc_need_scratch)."""
        return 0

    def check(self, model):
        """Validate against the model (main_mem_usage, KPU RAM). Raise KModelError."""
        for rng in self.reads() + self.writes():
            limit = model.main_mem_usage if rng.mem == "main" else KPU_RAM_BYTES
            if rng.size < 0 or rng.start < 0 or rng.end > limit:
                what = "main_mem_usage" if rng.mem == "main" else "KPU RAM (2 MiB)"
                raise KModelError(f"{rng.mem} range [{rng.start}, {rng.end}) exceeds {what} = {limit}",
                                  layer=self.index, field=rng.field, offset=self.field_offset(rng.field))

    def field_offset(self, field):
        """Absolute file offset of a fixed field (for error messages), if known."""
        if self.file_offset is None:
            return None
        off = self.file_offset
        for name, fmt in self.FIELDS:
            if name == field:
                return off
            off += _FMT_SIZE[fmt]
        return self.file_offset

    def error(self, msg, field=None):
        return KModelError(msg, layer=self.index, field=field, offset=self.field_offset(field))

    # -- reference execution -------------------------------------------------------------
    def input_spec(self, model):
        """(dtype, shape) this layer takes as the model input when it is layer 0."""
        raise first_layer_error(self)

    def set_input(self, mem, x):
        """Place the model input (already checked against input_spec) where this layer reads it."""
        raise first_layer_error(self)

    def execute(self, mem):
        raise NotImplementedError(f"{self.NAME} has no reference execution")

    def describe(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.fields().items() if k != "flags")

    def __repr__(self):
        return f"<{self.NAME} #{self.index} {self.describe()}>"


class Shape3:
    """kpu_model_shape_t: width, height, channels (3 x u32)."""
    FIELDS = ("width", "height", "channels")


def shape_fields(prefix):
    return tuple((f"{prefix}_{n}", "I") for n in Shape3.FIELDS)


def first_layer_error(layer):
    return KModelError(f"{layer.NAME} cannot be the first layer: the SDK runtime starts a model only at "
                       f"K210_CONV (u8 CHW input) or FULLY_CONNECTED (f32 input)", layer=layer.index,
                       field="type")


class Opaque(Layer):
    """A layer type the SDK enumerates but never defines a body for: kept as raw bytes."""
    SDK_RUNS = False

    @classmethod
    def parse(cls, r):
        obj = cls.__new__(cls)
        obj.index, obj.file_offset = r.layer, r.start
        obj.raw = r.raw(r.size, "body")
        return obj

    def set_tail(self, raw=b"", **values):
        super().set_tail(**values)
        self.raw = raw

    def pack(self, file_offset, model=None):
        return self.raw

    def execute(self, mem):
        raise self.error(f"layer type {self.TYPE} ({self.NAME}) has no defined body or semantics in kmodel v3 "
                         f"and is not executed by the Kendryte SDK runtime", "type")

    def describe(self):
        return f"{len(self.raw)} raw bytes"


def main_f32(field, addr, count, shape=None):
    return Range("main", addr, 4 * count, field, "f32", shape or (count,))


def main_u8(field, addr, count, shape=None):
    return Range("main", addr, count, field, "u8", shape or (count,))
