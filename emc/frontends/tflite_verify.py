"""A bounds-checked verifier for .tflite files, run before any reader touches the flatbuffer.

The `tflite` package reads flatbuffers without any check: a truncated file, random bytes or a bad offset
end in struct.error, IndexError or a silently wrong array. This module walks the whole file the way
TFLite's own verifier (flatbuffers::Verifier + the schema) does: every table header and vtable, every
offset, vector length and string inside the file, each scalar field inside its table; then the model's
meaning: tensor, buffer and opcode indices in range, tensor dimensions positive, constant buffers exactly
as large as their tensor's shape and type, quantization parameters consistent and finite, options tables
of the type the operator reads. Anything wrong is one TFLiteFormatError naming the file, the place
(subgraph/tensor/operator) and the byte offset. After `verify_tflite` returned, the reader
(frontends/tflite_reader.py, the only one) only reads inside the file.

Not checked (the readers do not read them): the layout of metadata, signature defs, sparsity and
variant-tensor tables beyond their headers; alignment (the readers unpack unaligned data correctly).
"""
from __future__ import annotations

import math
import struct

from ..errors import InputError

FILE_IDENTIFIER = b"TFL3"
SCHEMA_VERSION = 3
MAX_TABLES = 1_000_000          # flatbuffers::Verifier's default limit on tables visited
MAX_ELEMENTS = 1 << 31          # a tensor larger than this is refused (TFLite indexes with int32)


class TFLiteFormatError(InputError):
    """A .tflite file that is not a well-formed TFLite flatbuffer (exit 2)."""


_SCALAR = {"u8": "<B", "i8": "<b", "bool": "<B", "u16": "<H", "i32": "<i", "u32": "<I", "i64": "<q",
           "u64": "<Q", "f32": "<f"}

# table name -> {field index: kind}. Kinds: a scalar above, "str", "T:<table>", "V:<scalar>" (vector of
# scalars), "VT:<table>" (vector of tables), "VS" (vector of strings), "U:<type field>" (union table).
# A table name without a layout here ("opaque") is checked for its header and field offsets only.
_SCHEMA = {
    "Model": {0: "u32", 1: "VT:OperatorCode", 2: "VT:SubGraph", 3: "str", 4: "VT:Buffer", 5: "V:i32",
              6: "VT:opaque", 7: "VT:opaque"},
    "OperatorCode": {0: "i8", 1: "str", 2: "i32", 3: "i32"},
    "SubGraph": {0: "VT:Tensor", 1: "V:i32", 2: "V:i32", 3: "VT:Operator", 4: "str"},
    "Tensor": {0: "V:i32", 1: "i8", 2: "u32", 3: "str", 4: "T:QuantizationParameters", 5: "bool",
               6: "T:opaque", 7: "V:i32", 8: "bool", 9: "VT:opaque"},
    "QuantizationParameters": {0: "V:f32", 1: "V:f32", 2: "V:f32", 3: "V:i64", 4: "u8", 5: "U:4", 6: "i32"},
    "Operator": {0: "u32", 1: "V:i32", 2: "V:i32", 3: "u8", 4: "U:3", 5: "V:u8", 6: "i8", 7: "V:bool",
                 8: "V:i32", 9: "u64", 10: "u64", 11: "u8", 12: "U:11"},
    "Buffer": {0: "V:u8", 1: "u64", 2: "u64"},
    # the builtin options the readers read (schema.fbs field order)
    "Conv2DOptions": {0: "i8", 1: "i32", 2: "i32", 3: "i8", 4: "i32", 5: "i32", 6: "i8"},
    "DepthwiseConv2DOptions": {0: "i8", 1: "i32", 2: "i32", 3: "i32", 4: "i8", 5: "i32", 6: "i32"},
    "FullyConnectedOptions": {0: "i8", 1: "i8", 2: "bool", 3: "bool", 4: "i8"},
    "AddOptions": {0: "i8", 1: "bool"},
    "MulOptions": {0: "i8"},
    "SubOptions": {0: "i8", 1: "bool"},
    "ConcatenationOptions": {0: "i32", 1: "i8"},
    "Pool2DOptions": {0: "i8", 1: "i32", 2: "i32", 3: "i32", 4: "i32", 5: "i8"},
    "ReducerOptions": {0: "bool"},
    "SoftmaxOptions": {0: "f32"},
    "GeluOptions": {0: "bool"},
    "LeakyReluOptions": {0: "f32"},
    "ResizeNearestNeighborOptions": {0: "bool", 1: "bool"},
}

# builtin operator -> the options table its readers read (and the union type that must carry it)
_OP_OPTIONS = {"CONV_2D": "Conv2DOptions", "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
               "FULLY_CONNECTED": "FullyConnectedOptions", "ADD": "AddOptions", "MUL": "MulOptions",
               "SUB": "SubOptions", "CONCATENATION": "ConcatenationOptions", "MAX_POOL_2D": "Pool2DOptions",
               "AVERAGE_POOL_2D": "Pool2DOptions", "MEAN": "ReducerOptions", "SOFTMAX": "SoftmaxOptions",
               "GELU": "GeluOptions", "LEAKY_RELU": "LeakyReluOptions",
               "RESIZE_NEAREST_NEIGHBOR": "ResizeNearestNeighborOptions",
               "UNIDIRECTIONAL_SEQUENCE_LSTM": "UnidirectionalSequenceLSTMOptions"}

# builtin operator -> how many inputs it has at least (TFLite's kernels check it in Prepare; the readers index them)
_OP_MIN_INPUTS = {"CONV_2D": 2, "DEPTHWISE_CONV_2D": 2, "FULLY_CONNECTED": 2, "ADD": 2, "MUL": 2, "SUB": 2,
                  "MEAN": 2, "PAD": 2, "PADV2": 2, "RESHAPE": 1, "CONCATENATION": 1, "MAX_POOL_2D": 1,
                  "AVERAGE_POOL_2D": 1, "SOFTMAX": 1, "RELU": 1, "RELU6": 1, "LOGISTIC": 1, "TANH": 1,
                  "HARD_SWISH": 1, "ELU": 1, "GELU": 1, "LEAKY_RELU": 1, "RESIZE_NEAREST_NEIGHBOR": 1,
                  "QUANTIZE": 1, "DEQUANTIZE": 1, "UNIDIRECTIONAL_SEQUENCE_LSTM": 1}

# TensorType -> bytes per element (types without a fixed size are not size-checked)
_ITEMSIZE = {0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 6: 1, 7: 2, 8: 8, 9: 1, 10: 8, 11: 16, 12: 8, 15: 4, 16: 2, 18: 2}
_TYPE_NAMES = {0: "FLOAT32", 1: "FLOAT16", 2: "INT32", 3: "UINT8", 4: "INT64", 5: "STRING", 6: "BOOL",
               7: "INT16", 8: "COMPLEX64", 9: "INT8", 10: "FLOAT64", 11: "COMPLEX128", 12: "UINT64",
               13: "RESOURCE", 14: "VARIANT", 15: "UINT32", 16: "UINT16", 17: "INT4", 18: "BFLOAT16"}

_MAGICS = [(b"\x89HDF\r\n\x1a\n", "an HDF5 file (a Keras/TensorLayer .h5?)"),
           (b"PK\x03\x04", "a zip archive (a Keras .keras?)"),
           (b"\x03\x00\x00\x00", "a kmodel v3"), (b"KMDL", "a kmodel v4/v5"),
           (b"\x08\x01\x12", "a protobuf (a TensorFlow .pb?)")]


class _Table:
    """A verified table: its position, its size and where each present field is."""

    def __init__(self, pos, size, fields):
        self.pos, self.size, self.fields = pos, size, fields


class _Verifier:
    def __init__(self, data, label):
        self.d = data
        self.n = len(data)
        self.label = label
        self.tables = 0
        self.seen = {}             # (pos, table name) -> _Table: a table shared by several offsets is walked once

    def fail(self, msg, offset=None, where=None):
        raise TFLiteFormatError(msg, file=self.label, where=where, offset=offset)

    def scalar(self, pos, kind, what):
        size = struct.calcsize(_SCALAR[kind])
        if pos < 0 or pos + size > self.n:
            self.fail(f"{what} ({size} bytes) is past the end of the file ({self.n} bytes)", pos)
        return struct.unpack_from(_SCALAR[kind], self.d, pos)[0]

    def deref(self, pos, what):
        """Follow the uoffset stored at `pos`; the target must lie in the file."""
        rel = self.scalar(pos, "u32", f"offset of {what}")
        target = pos + rel
        if rel == 0 or target >= self.n:
            self.fail(f"offset of {what} points to byte {target}, outside the file ({self.n} bytes)", pos)
        return target

    def vector(self, pos, elem_size, what):
        """(first element position, length) of the vector at `pos`, all inside the file."""
        length = self.scalar(pos, "u32", f"length of {what}")
        if pos + 4 + length * elem_size > self.n:
            self.fail(f"{what} claims {length} elements of {elem_size} bytes, past the end of the file "
                      f"({self.n} bytes)", pos)
        return pos + 4, length

    def string(self, pos, what):
        start, length = self.vector(pos, 1, what)
        if start + length >= self.n or self.d[start + length] != 0:
            self.fail(f"{what} ({length} bytes) lacks its terminating zero byte", pos)
        return bytes(self.d[start:start + length])

    def table(self, pos, name, what):
        key = (pos, name)
        if key in self.seen:
            return self.seen[key]
        self.tables += 1
        if self.tables > MAX_TABLES:
            self.fail(f"more than {MAX_TABLES} tables", pos)
        soff = self.scalar(pos, "i32", f"{what} table header")
        vt = pos - soff
        if vt < 0 or vt + 4 > self.n:
            self.fail(f"{what}: its vtable at byte {vt} is outside the file ({self.n} bytes)", pos)
        vt_size = self.scalar(vt, "u16", f"{what} vtable size")
        size = self.scalar(vt + 2, "u16", f"{what} table size")
        if vt_size < 4 or vt_size % 2 or vt + vt_size > self.n:
            self.fail(f"{what}: vtable size {vt_size} is odd, too small or past the end of the file", vt)
        if size < 4 or pos + size > self.n:
            self.fail(f"{what}: table of {size} bytes at byte {pos} does not fit in the file ({self.n} bytes)",
                      vt + 2)
        layout = _SCHEMA.get(name, {})
        fields = {}
        for k in range((vt_size - 4) // 2):
            fo = self.scalar(vt + 4 + 2 * k, "u16", f"{what} field {k} offset")
            if not fo:
                continue
            kind = layout.get(k)
            width = struct.calcsize(_SCALAR[kind]) if kind in _SCALAR else 4 if kind else 1
            if fo < 4 or fo + width > size:
                self.fail(f"{what}: field {k} at table offset {fo} (+{width} bytes) is outside the table "
                          f"({size} bytes)", vt + 4 + 2 * k)
            fields[k] = pos + fo
        t = _Table(pos, size, fields)
        self.seen[key] = t
        for k, kind in layout.items():
            if k in fields and kind not in _SCALAR:
                self.child(t, k, kind, f"{what}.{k}")
        return t

    def child(self, t, k, kind, what):
        pos = self.deref(t.fields[k], what)
        if kind == "str":
            self.string(pos, what)
        elif kind.startswith("T:"):
            self.table(pos, kind[2:], what)
        elif kind.startswith("U:"):
            utype = self.scalar(t.fields[int(kind[2:])], "u8", f"{what} type") if int(kind[2:]) in t.fields else 0
            self.table(pos, _union_table(utype), what)
        elif kind.startswith("V:"):
            self.vector(pos, struct.calcsize(_SCALAR[kind[2:]]), what)
        elif kind.startswith("VT:"):
            start, length = self.vector(pos, 4, what)
            for i in range(length):
                self.table(self.deref(start + 4 * i, f"{what}[{i}]"), kind[3:], f"{what}[{i}]")

    # ---- reading verified fields --------------------------------------------------------------------
    def get(self, t, k, kind, default=0):
        return self.scalar(t.fields[k], kind, "field") if k in t.fields else default

    def vec_at(self, t, k, kind):
        """Elements of a verified scalar vector field (empty if absent)."""
        if k not in t.fields:
            return []
        start, length = self.vector(self.deref(t.fields[k], "vector"), struct.calcsize(_SCALAR[kind]), "vector")
        fmt = "<%d%s" % (length, _SCALAR[kind][1])
        return list(struct.unpack_from(fmt, self.d, start))

    def tables_at(self, t, k, name):
        if k not in t.fields:
            return []
        start, length = self.vector(self.deref(t.fields[k], name), 4, name)
        return [self.table(self.deref(start + 4 * i, name), name, name) for i in range(length)]

    def str_at(self, t, k):
        if k not in t.fields:
            return ""
        return self.string(self.deref(t.fields[k], "string"), "string").decode("utf-8", "replace")


def _union_table(utype):
    if not utype:
        return "opaque"
    import tflite
    for name, value in vars(tflite.BuiltinOptions).items():
        if value == utype and name in _SCHEMA:
            return name
    return "opaque"


def _builtin_names():
    import tflite
    return {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}


def _union_value(table_name):
    import tflite
    return getattr(tflite.BuiltinOptions, table_name)


def verify_tflite(data, label="tflite buffer"):
    """Check `data` (the bytes of a .tflite) completely; raise TFLiteFormatError naming the first problem."""
    data = bytes(data)
    n = len(data)
    if n == 0:
        raise TFLiteFormatError("empty file (0 bytes); a .tflite starts with a root offset and 'TFL3'", file=label,
                                offset=0)
    for magic, what in _MAGICS:
        if data.startswith(magic) and data[4:8] != FILE_IDENTIFIER:
            raise TFLiteFormatError(f"this is {what}, not a .tflite", file=label, offset=0)
    if n < 8:
        raise TFLiteFormatError(f"truncated: {n} bytes, a .tflite has at least 8", file=label, offset=n)
    if data[4:8] != FILE_IDENTIFIER:
        raise TFLiteFormatError(f"file identifier is {data[4:8]!r}, expected {FILE_IDENTIFIER!r}: not a .tflite",
                                file=label, offset=4)
    v = _Verifier(data, label)
    model = v.table(v.deref(0, "root table"), "Model", "Model")
    version = v.get(model, 0, "u32")
    if version != SCHEMA_VERSION:
        v.fail(f"schema version {version}, expected {SCHEMA_VERSION}", model.fields.get(0))
    _check_model(v, model)


def _check_model(v, model):
    names = _builtin_names()
    buffers = v.tables_at(model, 4, "Buffer")
    opcodes = v.tables_at(model, 1, "OperatorCode")
    subgraphs = v.tables_at(model, 2, "SubGraph")
    if not subgraphs:
        v.fail("the model has no subgraph", model.pos)
    for bi, b in enumerate(buffers):
        off, size = v.get(b, 1, "u64"), v.get(b, 2, "u64")
        if off > 1 and off + size > v.n:          # large models keep data after the flatbuffer (offset, size)
            v.fail(f"buffer {bi}: data at byte {off} + {size} bytes is past the end of the file ({v.n} bytes)",
                   b.fields.get(1))
    codes = []
    for ci, oc in enumerate(opcodes):
        code = max(v.get(oc, 0, "i8"), v.get(oc, 3, "i32"))
        codes.append(names.get(code, "CUSTOM"))
    for si, sg in enumerate(subgraphs):
        _check_subgraph(v, si, sg, buffers, codes)


def _check_subgraph(v, si, sg, buffers, codes):
    tensors = v.tables_at(sg, 0, "Tensor")
    nt = len(tensors)

    def tensor_t(ti):
        name = v.str_at(tensors[ti], 3)            # the name is optional: an unnamed tensor is its index
        return f"tensor {ti}" + (f" '{name}'" if name else "")

    def where_t(ti):
        return f"subgraph {si} {tensor_t(ti)}"

    available = set()            # tensors with a value before the next operator runs
    # an operator's intermediates (field 8; the int8 LSTM's, of shape [0]) only carry quantization
    intermediates = {ti for op in v.tables_at(sg, 3, "Operator") for ti in v.vec_at(op, 8, "i32")}
    for ti, t in enumerate(tensors):
        if _check_tensor(v, t, where_t(ti), buffers, ti in intermediates) or v.get(t, 5, "bool"):
            available.add(ti)        # a constant or a variable
    for k, what in ((1, "input"), (2, "output")):
        for j, ti in enumerate(v.vec_at(sg, k, "i32")):
            if not 0 <= ti < nt:
                v.fail(f"{what} {j} is tensor {ti}, but there are {nt} tensors", sg.fields[k],
                       f"subgraph {si}")
            if k == 1:
                available.add(ti)
    for oi, op in enumerate(v.tables_at(sg, 3, "Operator")):
        idx = v.get(op, 0, "u32")
        where = f"subgraph {si} operator {oi}"
        if idx >= len(codes):
            v.fail(f"opcode index {idx}, but there are {len(codes)} operator codes", op.fields.get(0), where)
        code = codes[idx]
        where += f" ({code})"
        ins, outs = v.vec_at(op, 1, "i32"), v.vec_at(op, 2, "i32")
        if not outs:
            v.fail("no outputs", op.pos, where)
        for what, lst, optional in (("input", ins, True), ("output", outs, False)):
            for j, ti in enumerate(lst):
                if not (0 <= ti < nt or (optional and ti == -1)):
                    v.fail(f"{what} {j} is tensor {ti}, but there are {nt} tensors", op.fields[1 if optional else 2],
                           where)
        need = _OP_MIN_INPUTS.get(code, 0)
        if len(ins) < need or any(ti == -1 for ti in ins[:need]):
            v.fail(f"{len(ins)} inputs {tuple(ins)}, {code} takes at least {need}", op.fields.get(1, op.pos), where)
        # operators run in file order: each input must exist by then (TFLite would read garbage)
        for j, ti in enumerate(ins):
            if ti != -1 and ti not in available:
                v.fail(f"input {j} is {where_t(ti)}, which no earlier operator computes and which is neither "
                       f"a model input nor a constant", op.fields[1], where)
        available.update(outs)
        want = _OP_OPTIONS.get(code)
        if want is not None:
            utype = v.get(op, 3, "u8")
            if utype not in (0, _union_value(want)):
                v.fail(f"builtin options of union type {utype}, but {code} takes {want}", op.fields.get(3), where)
            if utype and 4 not in op.fields:
                v.fail(f"{want} announced but absent", op.fields.get(3), where)
        axis = _FILTER_AXIS.get(code)
        if axis is not None and len(ins) > 1 and ins[1] != -1:
            dim, at = _per_channel_dim(v, tensors[ins[1]], where_t(ins[1]))
            if dim is not None and dim != axis:
                v.fail(f"its filter is quantized per channel along dimension {dim}; {code} takes the scales of "
                       f"its output channels, dimension {axis}", at, f"{where}, filter {tensor_t(ins[1])}")
    for j, ti in enumerate(v.vec_at(sg, 2, "i32")):
        if ti not in available:
            v.fail(f"output {j} is {where_t(ti)}, which no operator computes", sg.fields[2], f"subgraph {si}")


def _check_tensor(v, t, where, buffers, intermediate=False):
    """Check one tensor; True if it is a constant (its buffer holds data)."""
    shape = v.vec_at(t, 0, "i32")
    if any(d < 0 if intermediate else d <= 0 for d in shape):  # 0: empty, which no layer EMC converts computes
        v.fail(f"shape {tuple(shape)} has a {'negative' if min(shape) < 0 else 'zero'} dimension",
               t.fields.get(0), where)
    count = math.prod(shape)
    if count > MAX_ELEMENTS:
        v.fail(f"shape {tuple(shape)} has {count} elements", t.fields.get(0), where)
    ttype = v.get(t, 1, "i8")
    if ttype not in _TYPE_NAMES:
        v.fail(f"tensor type {ttype} is not a TFLite type", t.fields.get(1), where)
    bi = v.get(t, 2, "u32")
    if bi >= len(buffers):
        v.fail(f"buffer index {bi}, but there are {len(buffers)} buffers", t.fields.get(2), where)
    data = buffers[bi].fields.get(0)
    if data is not None and ttype in _ITEMSIZE:
        _, nbytes = v.vector(v.deref(data, "buffer data"), 1, "buffer data")
        need = count * _ITEMSIZE[ttype]
        if nbytes and nbytes != need:
            v.fail(f"buffer {bi} holds {nbytes} bytes, the shape {tuple(shape)} of {_TYPE_NAMES[ttype]} needs "
                   f"{need}", data, where)
        constant = nbytes > 0
    else:
        constant = data is not None
    if 4 in t.fields:
        _check_quant(v, v.table(v.deref(t.fields[4], "quantization"), "QuantizationParameters", where),
                     shape, where)
    return constant


# the axis of the output channels of each operator's filter (input 1): TFLite's kernels take
# per-channel scales along it whatever the file's quantized_dimension says, so another is refused
_FILTER_AXIS = {"CONV_2D": 0, "FULLY_CONNECTED": 0, "TRANSPOSE_CONV": 0, "DEPTHWISE_CONV_2D": 3}


def _per_channel_dim(v, t, where):
    """(quantized dimension, its byte offset) of a per-channel quantized tensor, else (None, None)."""
    if 4 not in t.fields:
        return None, None
    q = v.table(v.deref(t.fields[4], "quantization"), "QuantizationParameters", where)
    if len(v.vec_at(q, 2, "f32")) <= 1:
        return None, None
    return v.get(q, 6, "i32"), q.fields.get(6, q.pos)


def _check_quant(v, q, shape, where):
    scales, zps = v.vec_at(q, 2, "f32"), v.vec_at(q, 3, "i64")
    if not scales:
        return
    at = q.fields.get(2)
    if len(zps) != len(scales):         # as TFLite's InterpreterBuilder requires
        v.fail(f"{len(scales)} quantization scales but {len(zps)} zero points", at, where)
    bad = [s for s in scales if not (math.isfinite(s) and s > 0)]
    if bad:
        v.fail(f"quantization scale {bad[0]} (scales must be finite and > 0)", at, where)
    dim = v.get(q, 6, "i32")
    if len(scales) > 1:
        if not 0 <= dim < len(shape):
            v.fail(f"quantized dimension {dim} outside the shape {tuple(shape)}", q.fields.get(6, at), where)
        if shape[dim] != len(scales):
            v.fail(f"{len(scales)} per-channel scales for dimension {dim} of size {shape[dim]}", at, where)
