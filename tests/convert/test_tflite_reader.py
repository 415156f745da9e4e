"""The one TFLite reader (emc/frontends/tflite_reader.py): every target reads .tflite files through it,
and the tfl-dialect graph it makes carries the file exactly. Goldens: LiteRT's interpreter (tensor
details and tensor values of the same file) and the `tflite` package's own accessors."""
import ast
import pathlib

import numpy as np
import pytest

from emc.frontends.tflite_reader import read_tflite

EMC = pathlib.Path(__file__).resolve().parents[2] / "emc"
NP_OF = {"i8": np.int8, "u8": np.uint8, "i16": np.int16, "i32": np.int32, "i64": np.int64, "f32": np.float32}


def _imported_modules(path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def test_only_the_frontends_import_the_flatbuffer_package():
    """One flatbuffer reader: no module outside emc/frontends imports the `tflite` package."""
    users = sorted(str(p.relative_to(EMC)) for p in EMC.rglob("*.py")
                   if any(m == "tflite" or m.startswith("tflite.") for m in _imported_modules(p)))
    assert users, "the reader itself imports tflite: the scan must see it"
    assert all(u.startswith("frontends/") for u in users), users


@pytest.mark.parametrize("name", ["vww_96_int8.tflite", "ad01_int8.tflite"])
def test_tensors_carry_the_files_quantization_and_constants(data_files, name):
    """Every tensor: shape, dtype, scales (float32), zero points, quantized dimension and constant bytes
    as LiteRT's interpreter reports them for the same file (vww: per-channel conv filters)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    path = data_files / name
    g = read_tflite(str(path))
    it = Interpreter(model_path=str(path),
                     experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it.allocate_tensors()
    tensors = list(g.tensors.values())           # the file's order
    details = sorted(it.get_tensor_details(), key=lambda d: d["index"])
    # LiteRT appends its kernels' scratch tensors (an im2col buffer) after the file's
    assert [d["index"] for d in details[:len(tensors)]] == list(range(len(tensors)))
    assert all(not d["name"] for d in details[len(tensors):])
    per_channel = constants = 0
    for t, d in zip(tensors, details):
        assert t.shape == tuple(d["shape"]), t.name
        assert NP_OF[t.dtype] == d["dtype"], t.name
        want = d["quantization_parameters"]
        if t.quant is None:
            assert want["scales"].size == 0, t.name
        else:
            assert t.quant.scale.dtype == np.float32 and t.quant.scale.tobytes() == want["scales"].tobytes(), t.name
            assert t.quant.zero_point.tolist() == want["zero_points"].tolist(), t.name
            assert t.quant.axis == want["quantized_dimension"], t.name
            per_channel += t.quant.scale.size > 1
        if t.data is not None:
            value = it.get_tensor(d["index"])
            assert t.data.dtype == value.dtype and t.data.shape == value.shape, t.name
            assert t.data.tobytes() == value.tobytes(), t.name
            constants += 1
    assert constants > 3
    if name.startswith("vww"):
        assert per_channel > 10


def test_one_op_per_operator_with_decoded_options(data_files):
    """Ops in the file's order with its wiring (LiteRT's op details); a conv's options as the `tflite`
    package reads them."""
    import tflite
    from ai_edge_litert.interpreter import Interpreter
    path = data_files / "vww_96_int8.tflite"
    g = read_tflite(str(path))
    it = Interpreter(model_path=str(path))
    names = list(g.tensors)

    def name(i):
        return names[i] if i >= 0 else None
    ops = it._get_ops_details()
    assert len(g.ops) == len(ops)
    for op, want in zip(g.ops, ops):
        assert op.type == "tfl." + want["op_name"] and op.source_type == want["op_name"]
        assert op.inputs == [name(int(i)) for i in want["inputs"]]
        assert op.outputs == [name(int(i)) for i in want["outputs"]]
    sg = tflite.Model.GetRootAsModel(path.read_bytes(), 0).Subgraphs(0)
    convs = [k for k, op in enumerate(g.ops) if op.type in ("tfl.CONV_2D", "tfl.DEPTHWISE_CONV_2D")]
    strides = set()
    for k in convs:
        table = sg.Operators(k).BuiltinOptions()
        o = (tflite.Conv2DOptions() if g.ops[k].type == "tfl.CONV_2D" else tflite.DepthwiseConv2DOptions())
        o.Init(table.Bytes, table.Pos)
        a = g.ops[k].attrs
        assert (a["stride_h"], a["stride_w"], a["padding"], a["fused_activation_function"],
                a["dilation_h_factor"], a["dilation_w_factor"]) == (
            o.StrideH(), o.StrideW(), o.Padding(), o.FusedActivationFunction(), o.DilationHFactor(),
            o.DilationWFactor())
        assert a["options_table"] == type(o).__name__
        strides.add(a["stride_h"])
    assert strides == {1, 2}
