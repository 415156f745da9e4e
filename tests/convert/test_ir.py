"""IR: building, shape inference, validation, topological order, passes, float execution."""
import numpy as np
import pytest

from emc.ir import Graph, IRError, passes, run_float
from emc.ir.graph import conv_out_pads


def _conv_graph():
    rng = np.random.default_rng(0)
    g = Graph("t")
    g.add_input("x", (8, 8, 3))
    g.add_op("conv2d", "c", "x", weights=rng.normal(size=(3, 3, 3, 4)).astype(np.float32), bias=None,
             strides=(1, 1), padding="same")
    g.add_op("batch_norm", "bn", "c", scale=np.array([1, 2, 3, 4], np.float32),
             offset=np.array([0, 1, 0, -1], np.float32), act="linear")
    g.add_op("activation", "r", "bn", act="relu6")
    g.add_op("max_pool2d", "p", "r", ksize=(2, 2), strides=(2, 2), padding="valid")
    g.add_op("flatten", "f", "p")
    g.add_op("dense", "d", "f", weights=rng.normal(size=(64, 5)).astype(np.float32),
             bias=np.zeros(5, np.float32), act="softmax")
    g.outputs = ["d"]
    return g


def test_shapes_and_order():
    g = _conv_graph()
    g.ops.reverse()
    g.validate()
    assert [o.name for o in g.ops] == ["c", "bn", "r", "p", "f", "d"]
    assert g.shape("p") == (4, 4, 4) and g.shape("f") == (64,) and g.shape("d") == (5,)


def test_tf_same_padding():
    assert conv_out_pads(8, 3, 2, "same") == (4, (0, 1))
    assert conv_out_pads(7, 3, 2, "same") == (4, (1, 1))
    assert conv_out_pads(8, 1, 2, "same") == (4, (0, 0))
    assert conv_out_pads(9, 3, 2, (1, 1)) == (5, (1, 1))


def test_validation_errors():
    g = _conv_graph()
    g.ops[0].inputs = ["nope"]
    with pytest.raises(IRError, match="never produced"):
        g.validate()
    g = _conv_graph()
    g.op("d").attrs["weights"] = np.zeros((10, 5), np.float32)
    with pytest.raises(IRError, match="weights expect"):
        g.validate()
    g = _conv_graph()
    g.op("r").attrs["act"] = "crelu"
    with pytest.raises(IRError, match="unknown activation"):
        g.validate()


def test_cycle_detected():
    g = Graph()
    g.add_input("x", (4,))
    g.add_op("add", "a", ["x", "b"])
    g.add_op("add", "b", ["x", "a"])
    g.outputs = ["b"]
    with pytest.raises(IRError, match="cycle"):
        g.toposort()


def test_optimize_preserves_function():
    g = _conv_graph().validate()
    x = np.random.default_rng(1).random((3, 8, 8, 3)).astype(np.float32)
    ref = run_float(g, x)["d"]
    o = passes.optimize(g)
    types = [op.type for op in o.ops]
    assert types == ["conv2d", "max_pool2d", "flatten", "dense", "softmax"]
    assert o.op("c").attrs["act"] == "relu6"
    np.testing.assert_allclose(run_float(o, x)["d"], ref, atol=1e-5)


def test_pad_folding_and_standalone_bn():
    rng = np.random.default_rng(2)
    g = Graph()
    g.add_input("x", (6, 6, 2))
    g.add_op("pad", "p", "x", pads=(1, 1, 1, 1))
    g.add_op("depthwise_conv2d", "dw", "p", weights=rng.normal(size=(3, 3, 2, 1)).astype(np.float32),
             bias=None, strides=(2, 2), padding="valid")
    g.add_op("max_pool2d", "mp", "dw", ksize=(1, 1), strides=(1, 1), padding="valid")
    g.add_op("batch_norm", "bn", "mp", scale=np.array([2, 3], np.float32), offset=np.array([1, 1], np.float32),
             act="relu")
    g.outputs = ["bn"]
    g.validate()
    x = rng.random((2, 6, 6, 2)).astype(np.float32)
    ref = run_float(g, x)["bn"]
    o = passes.optimize(g)
    assert [op.type for op in o.ops] == ["depthwise_conv2d", "max_pool2d", "depthwise_conv2d"]
    assert o.ops[0].attrs["pads"] == (1, 1, 1, 1)
    np.testing.assert_allclose(run_float(o, x)["bn"], ref, atol=1e-5)
