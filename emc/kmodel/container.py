"""The kmodel v3 container: header, output table, layer table, bodies (spec §2).

`load()` validates every header field, table entry and body against the file and against the
memory the model claims, and raises KModelError (layer, field, byte offset) on any problem.
`KModel.to_bytes()` writes a file; for a file that was read it reproduces it byte for byte,
including bytes after the last layer body (padding some tools add).

A byte-swapped file (every 32-bit word reversed: a kmodel read back from a K210 flash image, or
written big-endian) is recognised by its version word reading 0x03000000, swapped back and loaded;
`KModel.notes` says so and `to_bytes()` writes the normal little-endian file.
"""
from __future__ import annotations

import os
import struct

from .errors import KModelError
from .layers import LAYER_CLASSES
from .layers.base import KPU_ROWS, MAX_MAIN_MEM, BodyReader, Layer

HEADER = struct.Struct("<7I")   # version, flags, arch, layers_length, max_start_address, main_mem_usage, output_count
V3 = 3
V3_SWAPPED = 0x03000000         # the version word of a v3 file whose 32-bit words are byte-reversed
KMDL = b"LDMK"                  # 'KMDL' as a little-endian multi-char constant: v4 (nncase v0.2) and v5 (v1.x)
FLAG_EIGHT_BIT = 1


def _align(n, a):
    return (n + a - 1) // a * a


class KModel:
    """A parsed (or to-be-written) kmodel v3."""

    def __init__(self, layers=(), outputs=(), flags=FLAG_EIGHT_BIT, main_mem_usage=0,
                 max_start_address=KPU_ROWS, arch=0):
        self.version = V3
        self.flags = flags
        self.arch = arch
        self.max_start_address = max_start_address
        self.main_mem_usage = main_mem_usage
        self.outputs = [tuple(o) for o in outputs]      # (address, size) in the main buffer
        self.layers: list[Layer] = list(layers)
        self.path = None
        self.tail_missing = 0      # trailing padding bytes the source file did not write (nncase v0.1)
        self.trailing = b""        # bytes after the last body in the source file (kept on round-trip)
        self.byte_swapped = False  # the source file had byte-reversed 32-bit words
        self.notes: list[str] = []
        for i, layer in enumerate(self.layers):
            layer.index = i

    @property
    def eight_bit(self):
        return bool(self.flags & FLAG_EIGHT_BIT)

    # ---- writing --------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        n, no = len(self.layers), len(self.outputs)
        body_start = HEADER.size + 8 * no + 8 * n
        bodies, sizes = [], []
        pos = body_start
        for i, layer in enumerate(self.layers):
            layer.index = i
            body = layer.pack(pos, self)
            size = _align(pos + len(body), Layer.ALIGN) - pos
            keep = getattr(layer, "body_size", None)
            if keep is not None and keep >= len(body):
                size = keep        # a read file keeps its own body sizes (Maix-EMC does not 8-align)
            pad = getattr(layer, "pad_bytes", b"")
            if len(pad) != size - len(body):
                pad = b"\0" * (size - len(body))
            bodies.append(body + pad)
            sizes.append(size)
            pos += size
        out = bytearray(HEADER.pack(V3, self.flags, self.arch, n, self.max_start_address,
                                    self.main_mem_usage, no))
        for addr, size in self.outputs:
            out += struct.pack("<2I", addr, size)
        for layer, size in zip(self.layers, sizes):
            out += struct.pack("<2I", layer.TYPE, size)
        for b in bodies:
            out += b
        if self.tail_missing:
            del out[len(out) - self.tail_missing:]
        out += self.trailing
        return bytes(out)

    def save(self, path):
        data = self.to_bytes()
        with open(path, "wb") as f:
            f.write(data)
        return len(data)

    # ---- queries ----------------------------------------------------------------------
    def output_dtypes(self):
        """dtype of each output, taken from the last layer that writes its range."""
        res = []
        for addr, size in self.outputs:
            dt = "u8"
            for layer in self.layers:
                for r in layer.writes():
                    if r.mem == "main" and r.start <= addr < r.end:
                        dt = r.dtype
            res.append(dt)
        return res

    def input_spec(self):
        """(dtype, shape) of the model input (input 0), as its first layer takes it."""
        if not self.layers:
            raise KModelError("model has no layers", path=self.path)
        return self.layers[0].input_spec(self)

    def input_layers(self):
        """The layers that take the model inputs, in input order: layer 0, and with it every
        directly following layer that declares an input too (generic models with several inputs)."""
        n = 1
        while n < len(self.layers) and getattr(self.layers[n], "DECLARES_INPUT", False):
            n += 1
        return self.layers[:n]

    def input_specs(self):
        """[(dtype, shape)] of every model input, in input order."""
        if not self.layers:
            raise KModelError("model has no layers", path=self.path)
        return [layer.input_spec(self) for layer in self.input_layers()]

    def __repr__(self):
        return f"<KModel v3 {len(self.layers)} layers, main_mem={self.main_mem_usage}, outputs={self.outputs}>"


def _err(msg, field, offset, layer=None):
    return KModelError(msg, field=field, offset=offset, layer=layer)


def swap_words(data: bytes) -> bytes:
    """Every 32-bit word byte-reversed (the file must be a whole number of words)."""
    import numpy as np
    return np.frombuffer(data, "<u4").byteswap().tobytes()


def parse(data: bytes) -> KModel:
    data = bytes(data)
    size = len(data)
    if size < 8:
        raise _err(f"file is {size} bytes, too short for any kmodel header", "version", 0)
    if struct.unpack_from("<I", data, 0)[0] == V3_SWAPPED:
        if size % 4:
            raise _err(f"byte-swapped kmodel v3 (version word 00 00 00 03: big-endian 32-bit words, as in a "
                       f"K210 flash image) of {size} bytes, not a whole number of words: cannot swap it back",
                       "version", 0)
        try:
            model = parse(swap_words(data))
        except KModelError as e:
            e.message = f"byte-swapped kmodel v3 (swapped back to little-endian): {e.message}"
            e.args = (e._text(),)
            raise
        model.byte_swapped = True
        model.notes.append("the file is byte-swapped (big-endian 32-bit words, as in a K210 flash image): "
                           "loaded after swapping every word back; saving writes the normal little-endian file")
        return model
    if data[:4] == KMDL:
        ver = struct.unpack_from("<I", data, 4)[0]
        name = {4: "kmodel v4 (nncase v0.2)", 5: "kmodel v5 (nncase v1.x)"}.get(ver, f"kmodel version {ver}")
        raise _err(f"{name} is not supported: only kmodel v3 (nncase v0.1, Maix-EMC) is; "
                   f"convert the source model with emc instead", "version", 4)
    if size < HEADER.size:
        raise _err(f"file is {size} bytes, shorter than the 28-byte kmodel v3 header", "header", 0)
    version, flags, arch, nlayers, msa, mmu, nout = HEADER.unpack_from(data, 0)
    if version != V3:
        hint = " (a legacy kpu_model_header_t 'kpu task' file, not a kmodel)" if version == 1 else ""
        raise _err(f"version is {version}, expected 3{hint}", "version", 0)
    if flags & ~FLAG_EIGHT_BIT:
        raise _err(f"flags 0x{flags:x} has unknown bits (only bit0 eight_bit_mode is defined)", "flags", 4)
    if arch != 0:
        raise _err(f"arch is {arch}, must be 0", "arch", 8)
    if nlayers == 0:
        raise _err("layers_length is 0", "layers_length", 12)
    if nout == 0:
        raise _err("output_count is 0", "output_count", 24)
    if msa > KPU_ROWS:
        raise _err(f"max_start_address {msa} is beyond the {KPU_ROWS} KPU RAM rows", "max_start_address", 16)
    if mmu > MAX_MAIN_MEM:
        raise _err(f"main_mem_usage {mmu} bytes is implausible (limit {MAX_MAIN_MEM})", "main_mem_usage", 20)
    body_start = HEADER.size + 8 * nout + 8 * nlayers
    if body_start > size:
        which, off = ("output_count", 24) if HEADER.size + 8 * nout > size else ("layers_length", 12)
        raise _err(f"tables need {body_start} bytes but the file has {size}", which, off)

    model = KModel(flags=flags, main_mem_usage=mmu, max_start_address=msa, arch=arch)
    for i in range(nout):
        off = HEADER.size + 8 * i
        addr, osize = struct.unpack_from("<2I", data, off)
        if osize == 0 or addr + osize > mmu:
            raise _err(f"output {i} [{addr}, {addr + osize}) is empty or outside main_mem_usage {mmu}",
                       f"outputs[{i}]", off)
        model.outputs.append((addr, osize))

    table = HEADER.size + 8 * nout
    pos = body_start
    for i in range(nlayers):
        toff = table + 8 * i
        ltype, bsize = struct.unpack_from("<2I", data, toff)
        cls = LAYER_CLASSES.get(ltype)
        if cls is None:
            raise _err(f"unknown layer type {ltype}", "type", toff, layer=i)
        end = pos + bsize
        last = i == nlayers - 1
        # nncase v0.1 leaves out the last body's alignment padding (up to 7 bytes).
        if end > size and not (last and end - size < Layer.ALIGN):
            raise _err(f"{cls.NAME} body [{pos}, {end}) runs past the end of the file ({size} bytes)",
                       "body_size", toff + 4, layer=i)
        present = min(bsize, size - pos)
        r = BodyReader(data, pos, present, i)
        r.model_flags = flags
        layer = cls.parse(r)
        layer.index = i
        layer.body_size = bsize
        layer.pad_bytes = data[r.consumed_end():pos + present] if hasattr(r, "consumed_end") else b""
        if last and end > size:
            model.tail_missing = end - size
            layer.pad_bytes += b"\0" * (end - size)
        model.layers.append(layer)
        pos = end
    if pos < size:
        model.trailing = data[pos:]
    for layer in model.layers:
        layer.check(model)
    model.input_spec()      # the first layer must be able to take the model input (as in the C loader)
    return model


def load(source) -> KModel:
    """Read a kmodel v3 from a path or bytes. Raises KModelError naming the file on any problem."""
    path = None
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        path = os.fspath(source)
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_MAIN_MEM + 1)
        except OSError as e:
            raise KModelError(f"cannot read: {e.strerror}", path=path) from None
    try:
        model = parse(data)
    except KModelError as e:
        raise e.with_path(path) if path else e
    model.path = path
    return model
