"""The IR op registry (emc/ir/opdef.py, emc/ops/*): complete for what the frontends emit, shape inference
consistent with the float reference, the float reference equal to TensorFlow's, and no module under emc/ir,
emc/quant or emc/backends switching on an op type string (they ask the op's definition)."""
import ast
import os
import pathlib

import numpy as np
import pytest

from emc.ir import Graph, IRError, run_float
from emc.ir.opdef import opdef, op_types

ROOT = pathlib.Path(__file__).resolve().parents[2]
RNG = np.random.default_rng(7)


def _w(*shape):
    return RNG.normal(size=shape).astype(np.float32)


# one example per op type: (input shapes without batch, attributes); padding / strides chosen so that the
# derived attributes (pads, axis) matter
EXAMPLES = {
    "conv2d": ([(7, 6, 3)], dict(weights=_w(3, 3, 3, 5), bias=_w(5), strides=(2, 1), padding="same", act="relu")),
    "depthwise_conv2d": ([(6, 7, 4)], dict(weights=_w(3, 3, 4, 2), bias=_w(8), strides=(1, 2), padding="valid",
                                           dilation=(1, 1), act="linear")),
    "dense": ([(2, 3, 4)], dict(weights=_w(24, 5), bias=_w(5), act="sigmoid")),
    "batch_norm": ([(5, 5, 3)], dict(scale=_w(3), offset=_w(3), act="relu6")),
    "activation": ([(5, 4, 3)], dict(act="tanh")),
    "max_pool2d": ([(7, 7, 2)], dict(ksize=(3, 3), strides=(2, 2), padding="same")),
    "avg_pool2d": ([(7, 6, 2)], dict(ksize=(2, 3), strides=(2, 2), padding="same")),
    "global_avg_pool": ([(4, 5, 3)], dict(keepdims=True)),
    "global_max_pool": ([(4, 5, 3)], dict()),
    "pad": ([(4, 5, 3)], dict(pads=(1, 0, 2, 1), value=0.5)),
    "flatten": ([(3, 4, 2)], dict()),
    "reshape": ([(3, 4, 2)], dict(shape=(6, -1))),
    "softmax": ([(7,)], dict()),
    "add": ([(4, 4, 3)] * 3, dict(act="relu")),
    "concat": ([(4, 4, 3), (4, 4, 5)], dict(axis=-1)),
    "mul": ([(4, 5, 3), (1, 1, 3)], dict(act="relu6")),       # a squeeze-and-excite gate, broadcast over H, W
    "crop": ([(7, 6, 3)], dict(crops=(1, 2, 0, 3))),
    "prelu": ([(4, 5, 3)], dict(alpha=np.array([[[0.1, 0.5, -0.2]]], np.float32))),    # shared over H, W
    "resize_nearest": ([(3, 4, 2)], dict(factor=(2, 3))),
    "lstm": ([(5, 3)], dict(units=4, return_sequences=True, kernel=_w(3, 16), recurrent_kernel=_w(4, 16),
                            bias=_w(16))),
}


def _graph(op_type):
    shapes, attrs = EXAMPLES[op_type]
    g = Graph(op_type)
    ins = [g.add_input(f"x{i}", s) for i, s in enumerate(shapes)]
    g.add_op(op_type, "y", ins, **{k: v for k, v in attrs.items()})
    g.outputs = ["y"]
    return g.validate()


def _inputs(g, n=2):
    return {t: RNG.normal(size=(n,) + g.shape(t)).astype(np.float32) for t in g.inputs}


def _emitted_types(path):
    """Op type strings a module creates: first arguments of add_op(...) / Op(...) / type(op)(...) and values
    assigned to `<x>.type`; names resolve through their assignments in the module."""
    tree = ast.parse(path.read_text())
    assigned = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    assigned.setdefault(t.id, []).append(node.value)

    def literals(e, depth=0):
        if isinstance(e, ast.Constant) and isinstance(e.value, str):
            return {e.value}
        if isinstance(e, ast.IfExp):
            return literals(e.body, depth) | literals(e.orelse, depth)
        if isinstance(e, ast.Name) and depth < 3:
            return set().union(*[literals(v, depth + 1) for v in assigned.get(e.id, [])])
        return set()
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            f = node.func
            if (isinstance(f, ast.Attribute) and f.attr == "add_op") or (isinstance(f, ast.Name) and f.id == "Op") \
                    or (isinstance(f, ast.Call) and isinstance(f.func, ast.Name) and f.func.id == "type"):
                found |= literals(node.args[0])
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Attribute) and t.attr == "type"
                                                for t in node.targets):
            found |= literals(node.value)
    return found


def test_registry_has_every_op_type_the_frontends_and_passes_create():
    sources = sorted((ROOT / "emc" / "frontends").glob("*.py")) + [ROOT / "emc" / "ir" / "passes.py"]
    emitted = set().union(*[_emitted_types(p) for p in sources])
    assert {"conv2d", "dense", "softmax", "depthwise_conv2d", "concat"} <= emitted     # the scan finds them
    assert not emitted - set(op_types()), f"op types without an OpDef: {sorted(emitted - set(op_types()))}"
    assert set(EXAMPLES) == set(op_types()), "every registered op type needs an example here"


@pytest.mark.parametrize("op_type", sorted(EXAMPLES))
def test_infer_shape_agrees_with_float_reference(op_type):
    g = _graph(op_type)
    y = run_float(g, _inputs(g))["y"]
    assert y.shape[1:] == g.shape("y")
    assert opdef(op_type).ARITY[0] <= len(g.inputs)


def test_hand_worked_shapes_and_macs():
    g = _graph("conv2d")          # 7x6 'same' stride (2, 1), 3x3: TF pads 1 row each side
    assert g.shape("y") == (4, 6, 5) and g.op("y").attrs["pads"] == (1, 1, 1, 1)
    d = opdef("conv2d")
    assert d.macs(g.op("y").attrs, [(7, 6, 3)], (4, 6, 5)) == 4 * 6 * 5 * 3 * 3 * 3
    g = _graph("depthwise_conv2d")
    assert g.shape("y") == (4, 3, 8)
    assert opdef("depthwise_conv2d").macs(g.op("y").attrs, [(6, 7, 4)], (4, 3, 8)) == 4 * 3 * 8 * 9
    assert opdef("dense").macs(EXAMPLES["dense"][1], [(2, 3, 4)], (5,)) == 24 * 5
    assert _graph("reshape").shape("y") == (6, 4)
    assert _graph("concat").op("y").attrs["axis"] == 2
    with pytest.raises(IRError, match="op y: add of different shapes"):
        g = Graph("bad")
        g.add_input("a", (2, 2, 1))
        g.add_input("b", (2, 2, 2))
        g.add_op("add", "y", ["a", "b"])
        g.outputs = ["y"]
        g.validate()


def test_float_reference_on_hand_worked_values():
    """Numbers worked out by hand, not from the code under test."""
    g = _graph("avg_pool2d")      # 'same' on 7x6, 2x3 / 2: one padding row below, one column right
    assert g.op("y").attrs["pads"] == (0, 1, 0, 1)
    x = np.arange(7 * 6 * 2, dtype=np.float32).reshape(1, 7, 6, 2)
    y = run_float(g, x)["y"]
    # the last window: rows 6..7, columns 4..6; row 7 and column 6 are padding, excluded from the mean (TF)
    assert y[0, 3, 2, 1] == pytest.approx((x[0, 6, 4, 1] + x[0, 6, 5, 1]) / 2)
    g = _graph("pad")
    y = run_float(g, np.ones((1, 4, 5, 3), np.float32))["y"]
    assert y.shape == (1, 5, 8, 3) and y[0, 0, 0, 0] == 0.5 and y[0, 1, 2, 0] == 1.0


@pytest.mark.slow
@pytest.mark.parametrize("op_type", sorted(EXAMPLES))
def test_to_tf_matches_float_reference(op_type):
    """The int8 quantizer's TF emission computes what the float reference does (TF is the independent side)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    g = _graph(op_type)
    xs = _inputs(g)
    want = run_float(g, xs)["y"]
    op = g.op("y")
    try:
        got = opdef(op_type).to_tf(tf, [tf.constant(xs[t]) for t in op.inputs], op.attrs).numpy()
    except tf.errors.InvalidArgumentError as e:
        # TF's own CPU kernels lack some forms TFLite has (a depthwise conv with strides (1, 2): "only supports
        # equal length strides"); the quantizer only traces them, so the float TFLite model is what to run
        print(f"{op_type}: TF eager refused ({str(e).splitlines()[0][:80]}...); run as float TFLite in LiteRT")
        got = _run_as_float_tflite(tf, g, xs)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def _run_as_float_tflite(tf, g, xs):
    """g's one op traced by its to_tf, converted by the real TFLite converter (float) and run in LiteRT."""
    from ai_edge_litert.interpreter import Interpreter
    op = g.op("y")
    n = next(iter(xs.values())).shape[0]
    sig = [tf.TensorSpec((n,) + g.shape(t), tf.float32) for t in op.inputs]
    fn = tf.function(lambda *a: opdef(op.type).to_tf(tf, list(a), op.attrs), input_signature=sig)
    model = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], fn).convert()
    it = Interpreter(model_content=model)
    it.allocate_tensors()
    for d, t in zip(sorted(it.get_input_details(), key=lambda d: d["index"]), op.inputs):
        it.set_tensor(d["index"], xs[t])
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])


@pytest.mark.slow
def test_to_tf_refuses_pool_padding_tf_cannot_express():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    attrs = dict(ksize=(2, 2), strides=(2, 2), padding=(1, 0, 1, 0))
    g = Graph("p")
    g.add_input("x", (4, 4, 1))
    g.add_op("avg_pool2d", "y", "x", **attrs)
    g.outputs = ["y"]
    g.validate()
    with pytest.raises(ValueError, match="avg pool with padding other than TF 'same'"):
        opdef("avg_pool2d").to_tf(tf, [tf.zeros((1, 4, 4, 1))], g.op("y").attrs)


# ------------------------------------------------------------------ no switching on op types
SCANNED = ("emc/ir", "emc/quant", "emc/backends")


def _switches(path, types):
    """(line, text) of comparisons of an op's type (x.type, or a name bound to one) with op type strings,
    and of dict literals keyed by op types (dispatch tables)."""
    tree = ast.parse(path.read_text())
    type_names = {t.id for n in ast.walk(tree) if isinstance(n, ast.Assign) and isinstance(n.value, ast.Attribute)
                  and n.value.attr == "type" for t in n.targets if isinstance(t, ast.Name)}

    def is_type(e):
        return (isinstance(e, ast.Attribute) and e.attr == "type") or (isinstance(e, ast.Name) and e.id in type_names)

    def names_type(e):
        if isinstance(e, ast.Constant):
            return e.value in types
        if isinstance(e, (ast.Tuple, ast.List, ast.Set)):
            return any(names_type(v) for v in e.elts)
        return False
    hits = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Compare):
            sides = [n.left] + n.comparators
            if any(is_type(s) for s in sides) and any(names_type(s) for s in sides):
                hits.append(n.lineno)
            elif any(names_type(s) for s in sides) and any(isinstance(s, ast.Name) and s.id in type_names for s in sides):
                hits.append(n.lineno)
        if isinstance(n, ast.Dict) and sum(isinstance(k, ast.Constant) and k.value in types for k in n.keys) >= 2:
            hits.append(n.lineno)
    lines = path.read_text().splitlines()
    return [(i, lines[i - 1].strip()) for i in sorted(set(hits))]


def test_no_op_type_switches_outside_the_op_modules():
    types = set(op_types())
    found = []
    for d in SCANNED:
        for p in sorted((ROOT / d).rglob("*.py")):
            found += [f"{p.relative_to(ROOT).as_posix()}:{i}: {t}" for i, t in _switches(p, types)]
    assert not found, "switch on op types (ask emc.ir.opdef instead):\n" + "\n".join(found)


def test_the_switch_scan_finds_switches(tmp_path):
    p = tmp_path / "m.py"
    p.write_text('def f(op, prod):\n    t = op.type\n    if t == "pad":\n        pass\n'
                 '    if prod.type in ("conv2d", "dense"):\n        pass\n    if op.attrs.get("act") == "relu":\n'
                 '        pass\n    EMIT = {"add": 1, "concat": 2}\n')
    assert [i for i, _ in _switches(p, set(op_types()))] == [3, 5, 9]


def test_k210_lists_ops_without_a_lowering(tmp_path):
    """The K210 compiler dispatches to the op's lower_k210; an op type without one (batch_norm, lstm), or whose
    lowering refuses the case (tanh on a vector), is listed with the rest, by layer name and type."""
    from emc.convert import save_kmodel
    from emc.ir import UnsupportedLayersError
    g = Graph("nolow")
    g.add_input("x", (8, 8, 3))
    g.add_op("conv2d", "c", "x", weights=_w(3, 3, 3, 4), bias=_w(4), strides=(1, 1), padding="same", act="relu")
    g.add_op("flatten", "f", "c")
    g.add_op("dense", "d1", "f", weights=_w(256, 5), bias=_w(5), act="relu")
    g.add_op("activation", "t", "d1", source_type="Activation", act="tanh")
    g.add_op("dense", "d2", "f", weights=_w(256, 3), bias=_w(3), act="relu")
    g.add_op("batch_norm", "bn", "d2", source_type="BatchNormalization", scale=_w(3), offset=_w(3))
    g.add_op("reshape", "seq", "f", shape=(16, 16))
    g.add_op("lstm", "l", "seq", source_type="LSTM", units=2, return_sequences=False, kernel=_w(16, 8),
             recurrent_kernel=_w(2, 8), bias=_w(8))
    g.outputs = ["t", "bn", "l"]
    with pytest.raises(UnsupportedLayersError) as e:
        save_kmodel(g, tmp_path / "m.kmodel", RNG.uniform(0, 1, (8, 8, 8, 3)).astype(np.float32), eval_limit=0,
                    report=False)
    assert sorted(e.value.items) == [("bn", "BatchNormalization", "no K210 lowering for batch_norm"),
                                     ("l", "LSTM", "no K210 lowering for lstm"),
                                     ("t", "Activation", "no K210 lowering for activation with activation tanh")]


@pytest.mark.parametrize("return_sequences", [True, False])
def test_lstm_float_reference_equals_keras(return_sequences):
    """The lstm op's float reference and shape against Keras' own LSTM (the golden), weights drawn so the
    gates leave their linear range; Keras 3's layer in the layout the frontend passes on unchanged."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    keras = pytest.importorskip("keras")
    t, f, u = 7, 3, 5
    layer = keras.layers.LSTM(u, return_sequences=return_sequences)
    layer.build((None, t, f))
    kernel, recurrent, bias = _w(f, 4 * u), _w(u, 4 * u) * 0.5, _w(4 * u)
    layer.set_weights([kernel, recurrent, bias])
    x = RNG.normal(size=(4, t, f)).astype(np.float32)
    g = Graph("lstm")
    g.add_input("x", (t, f))
    g.add_op("lstm", "y", "x", units=u, return_sequences=return_sequences, kernel=kernel, recurrent_kernel=recurrent,
             bias=bias)
    g.outputs = ["y"]
    g.validate()
    assert g.shape("y") == ((t, u) if return_sequences else (u,))
    np.testing.assert_allclose(run_float(g, x)["y"], np.asarray(layer(x)), atol=2e-6)
    assert opdef("lstm").macs(g.op("y").attrs, [(t, f)], g.shape("y")) == t * 4 * u * (f + u)


def test_lstm_refuses_what_it_does_not_compute():
    attrs = {"units": 2, "return_sequences": False, "kernel": _w(3, 8), "recurrent_kernel": _w(2, 8),
             "bias": _w(8)}
    d = opdef("lstm")
    assert d.unsupported(attrs) is None
    assert "activation relu" in d.unsupported({**attrs, "activation": "relu"})
    assert "recurrent activation hard_sigmoid" in d.unsupported({**attrs, "recurrent_activation": "hard_sigmoid"})
    with pytest.raises(IRError, match=r"recurrent_kernel of shape \(2, 8\), \(3, 12\) expected"):
        d.infer_shape({**attrs, "units": 3, "kernel": _w(3, 12), "bias": _w(12)}, [(6, 3)])
    with pytest.raises(IRError, match="only tanh / sigmoid"):
        d.infer_shape({**attrs, "activation": "relu"}, [(6, 3)])


def test_k210_sequence_input_names_the_op_first(tmp_path):
    """A (T, F) sequence input is refused for the K210; the LSTM it feeds, which the K210 cannot lower at all, is
    listed before the input (root cause first), not the input alone."""
    from emc.convert import save_kmodel
    from emc.ir import UnsupportedLayersError
    g = Graph("seq")
    g.add_input("x", (10, 6))
    g.add_op("lstm", "l", "x", source_type="LSTM", units=4, return_sequences=False, kernel=_w(6, 16),
             recurrent_kernel=_w(4, 16), bias=_w(16))
    g.outputs = ["l"]
    with pytest.raises(UnsupportedLayersError) as e:
        save_kmodel(g, tmp_path / "s.kmodel", RNG.uniform(0, 1, (4, 10, 6)).astype(np.float32), eval_limit=0,
                    report=False)
    assert e.value.items == [("l", "LSTM", "no K210 lowering for lstm"),
                             ("x", "Input", "input shape (10, 6): the K210 takes a vector or an HxWxC map")]
