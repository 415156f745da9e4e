"""The one TFLite flatbuffer reader: a .tflite -> an IR Graph in the `tfl` dialect.

Every target starts from this graph: the K210 path legalizes it into the float IR op types
(emc/frontends/tflite.py), the generic int8 profile builds its layers from it as it is
(emc/backends/generic). No other module parses flatbuffers (tflite_verify.py checks the bytes
first: every offset, length and index the reader follows is inside the file).

The `tfl` dialect (a quantized dialect, like MLIR's TFL one) is the file, one to one:
- one IR op per operator, in the file's order; type "tfl.<BUILTIN_NAME>" (tfl.CONV_2D, ...),
  source_type the builtin name, name the unique name of its first output tensor; inputs and
  outputs name IR tensors, an absent optional input (index -1 in the file) is None;
- attrs: the operator's builtin options decoded field by field under snake_case names (Conv2DOptions
  .StrideH() -> attrs["stride_h"]; enums stay the schema's integers; vector fields are not read), plus
  attrs["options_table"], the options table's name ("Conv2DOptions"), None when the file has none;
- one IR tensor per file tensor, in the file's order (graph.tensors keeps it: the planners'
  tie-breaks follow it); named by the file (made unique; "t<index>" when the file has no name), with
  the file's exact shape (batch included), dtype ("i8", "u8", "i16", "i32", "i64", "f16", "f32", ...),
  quantization (QuantParams with float32 scale and int64 zero point arrays, axis = the
  quantized_dimension, dtype the tensor's; None when the file gives no scale nor zero point) and, for
  a constant, `data`: the buffer as a typed numpy array of the tensor's shape.
The graph's name is the subgraph's, meta["source"] is "tflite" and meta["label"] names the file.
Shapes come from the file: a tfl graph is never given to the float IR's shape inference/validation.
"""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op, QuantParams, UnsupportedLayersError
from ..ir.tfl import PREFIX, attr_name
from .tflite_verify import TFLiteFormatError, verify_tflite

# TensorType -> the IR dtype name and its numpy type (little-endian, as the file stores it)
DTYPES = {0: "f32", 1: "f16", 2: "i32", 3: "u8", 4: "i64", 5: "string", 6: "bool", 7: "i16", 8: "c64", 9: "i8",
          10: "f64", 11: "c128", 12: "u64", 13: "resource", 14: "variant", 15: "u32", 16: "u16", 17: "i4",
          18: "bf16"}
NUMPY = {"f32": "<f4", "f16": "<f2", "i32": "<i4", "u8": "u1", "i64": "<i8", "bool": "?", "i16": "<i2",
         "c64": "<c8", "i8": "i1", "f64": "<f8", "c128": "<c16", "u64": "<u8", "u32": "<u4", "u16": "<u2"}


def _decode_options(op, where, label):
    """(options table name, {snake_case field: value}) of an operator's builtin options: its scalar
    fields. Vector fields (ReshapeOptions.new_shape, ...) are left out: no target reads them, and
    the verifier checks the contents of only the tables the targets read."""
    import struct

    import tflite
    table = op.BuiltinOptions()
    if table is None:
        return None, {}
    kind = op.BuiltinOptionsType()
    name = next((k for k, v in vars(tflite.BuiltinOptions).items() if v == kind and not k.startswith("_")), None)
    cls = getattr(tflite, name, None) if name else None
    if cls is None:
        return name, {}
    o = cls()
    o.Init(table.Bytes, table.Pos)
    attrs = {}
    for field in vars(cls):
        if (field.startswith(("_", "GetRootAs", "Init")) or field.endswith(("IsNone", "AsNumpy", "Length"))
                or field.endswith("BufferHasIdentifier") or hasattr(cls, field + "Length")
                or not callable(getattr(cls, field))):
            continue
        try:
            value = getattr(o, field)()
        except struct.error as e:          # a field of a table the verifier does not lay out, past the end
            raise TFLiteFormatError(f"{name}.{field} of {where} lies outside the file ({e})", file=label) from e
        if isinstance(value, (int, float)):
            attrs[attr_name(field)] = value
    return name, attrs


def read_tflite(source, label=None) -> Graph:
    """A .tflite (path or bytes) -> its tfl-dialect Graph. label names the file in errors (default: the
    path, or "tflite buffer"); the graph keeps it in meta["label"]."""
    import tflite
    if isinstance(source, (bytes, bytearray)):
        data, label = bytes(source), label or "tflite buffer"
    else:
        with open(source, "rb") as f:
            data = f.read()
        label = label or str(source)
    verify_tflite(data, label)          # every offset, length and index checked before tflite reads any
    model = tflite.Model.GetRootAsModel(data, 0)
    if model.SubgraphsLength() != 1:
        raise UnsupportedLayersError([(label, "Model", f"{model.SubgraphsLength()} subgraphs")], label)
    sg = model.Subgraphs(0)
    codes = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    g = Graph(sg.Name().decode(errors="replace") if sg.Name() else "tflite_model")
    g.meta["source"] = "tflite"
    g.meta["label"] = label
    names = []
    for i in range(sg.TensorsLength()):
        t = sg.Tensors(i)
        dtype = DTYPES.get(t.Type(), str(t.Type()))
        s = t.ShapeAsNumpy()
        shape = tuple(int(v) for v in s) if not isinstance(s, int) else ()
        q = t.Quantization()
        quant = None
        if q is not None and (q.ScaleLength() or q.ZeroPointLength()):
            quant = QuantParams(np.asarray(q.ScaleAsNumpy() if q.ScaleLength() else [], np.float32),
                                np.asarray(q.ZeroPointAsNumpy() if q.ZeroPointLength() else [], np.int64),
                                dtype, q.QuantizedDimension())
        tname = g.unique_name((t.Name() or b"").decode(errors="replace") or f"t{i}")
        tensor = g.add_tensor(tname, shape, dtype, quant)
        buf = model.Buffers(t.Buffer())
        if buf is not None and buf.DataLength() > 0:
            raw = buf.DataAsNumpy().tobytes()
            a = np.frombuffer(raw, NUMPY.get(dtype, "u1"))
            tensor.data = a.reshape(shape) if dtype in NUMPY and a.size == int(np.prod(shape)) else a
        names.append(tname)

    def tensor_name(i):
        return names[i] if i >= 0 else None

    g.inputs = [names[sg.Inputs(k)] for k in range(sg.InputsLength())]
    g.outputs = [names[sg.Outputs(k)] for k in range(sg.OutputsLength())]
    for k in range(sg.OperatorsLength()):
        op = sg.Operators(k)
        oc = model.OperatorCodes(op.OpcodeIndex())
        code = max(oc.BuiltinCode(), oc.DeprecatedBuiltinCode())
        builtin = codes.get(code, str(code))
        table, attrs = _decode_options(op, f"operator {k} ({builtin})", label)
        ins = [tensor_name(int(i)) for i in op.InputsAsNumpy()] if op.InputsLength() else []
        outs = [tensor_name(int(i)) for i in op.OutputsAsNumpy()] if op.OutputsLength() else []
        # named by its first output, as the float IR names its ops (tensor names are unique, so op names are)
        g.ops.append(Op(PREFIX + builtin, outs[0] if outs and outs[0] else f"{builtin}#{k}", ins, outs,
                        dict(attrs, options_table=table), builtin))
    return g


def is_quantized(g) -> bool:
    """True when a tfl graph computes in int8/uint8 (any int8/uint8 tensor)."""
    return any(t.dtype in ("i8", "u8") for t in g.tensors.values())
