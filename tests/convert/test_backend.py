"""K210 backend details on small IR graphs (no TensorFlow): multiple outputs, final softmax option,
patched layer types opt-in, 1x1 maps through ADD/REMOVE_PADDING, memory planning."""
import numpy as np
import pytest

import emc
from emc.ir import Graph, UnsupportedLayersError, run_float
from emc.kmodel import load as load_kmodel
from emc.reference import run


def _rng():
    return np.random.default_rng(7)


def _graph():
    r = _rng()
    g = Graph("multi")
    g.add_input("x", (16, 16, 3))
    g.add_op("conv2d", "c1", "x", weights=r.normal(size=(3, 3, 3, 8)).astype(np.float32) * 0.3,
             bias=r.normal(size=8).astype(np.float32) * 0.1, strides=(1, 1), padding="same", act="relu")
    g.add_op("max_pool2d", "p1", "c1", ksize=(2, 2), strides=(2, 2), padding="valid")
    g.add_op("conv2d", "c2", "p1", weights=r.normal(size=(1, 1, 8, 8)).astype(np.float32) * 0.3,
             bias=None, strides=(1, 1), padding="valid", act="leaky_relu", alpha=0.1)
    g.add_op("global_avg_pool", "gap", "c2", keepdims=True)
    g.add_op("conv2d", "fc_as_conv", "gap", weights=r.normal(size=(1, 1, 8, 5)).astype(np.float32),
             bias=r.normal(size=5).astype(np.float32), strides=(1, 1), padding="valid", act="sigmoid")
    g.add_op("reshape", "vec", "fc_as_conv", shape=(5,))
    g.add_op("dense", "logits", "vec", weights=r.normal(size=(5, 3)).astype(np.float32), bias=None,
             act="softmax")
    g.outputs = ["c2", "logits"]
    return g.validate()


def _data(n=12):
    return _rng().random((n, 16, 16, 3)).astype(np.float32)


def test_multiple_outputs_and_padding_path(tmp_path):
    g = _graph()
    rep = emc.save_kmodel(g, str(tmp_path / "m.kmodel"), _data(), eval_limit=12)
    m = load_kmodel(tmp_path / "m.kmodel")
    names = [layer.NAME for layer in m.layers]
    assert len(m.outputs) == 2
    assert "K210_ADD_PADDING" in names and "K210_REMOVE_PADDING" in names and names[-1] == "SOFTMAX"
    assert names.count("K210_CONV") == 3 and m.layers[0].pool_type == 1      # max pool fused
    assert rep.metrics["c2"]["cosine"] > 0.999 and rep.metrics["logits"]["max_abs"] < 0.05
    # the map output comes out CHW, the float model's is HWC
    x = _data(1)
    s, z = rep.input_quant
    q = np.clip(np.round(x[0] / s + z), 0, 255).astype(np.uint8).transpose(2, 0, 1).copy()
    out = run(tmp_path / "m.kmodel", q)
    ref = run_float(g, x)
    assert out[0].shape == (8 * 8 * 8,)
    np.testing.assert_allclose(out[0].reshape(8, 8, 8), ref["c2"][0].transpose(2, 0, 1), atol=0.1)
    # outputs are not overwritten by later layers (they stay live to the end)
    addrs = sorted(m.outputs)
    assert addrs[0][0] + addrs[0][1] <= addrs[1][0]


def test_final_softmax_option(tmp_path):
    g = _graph()
    emc.save_kmodel(g, str(tmp_path / "a.kmodel"), _data(), softmax=False, eval_limit=0)
    assert load_kmodel(tmp_path / "a.kmodel").layers[-1].NAME != "SOFTMAX"
    emc.save_kmodel(g, str(tmp_path / "b.kmodel"), _data(), softmax=True, eval_limit=2)
    assert [layer.NAME for layer in load_kmodel(tmp_path / "b.kmodel").layers].count("SOFTMAX") == 1


def test_patched_types_only_on_request(tmp_path):
    r = _rng()
    g = Graph("gapnet")
    g.add_input("x", (8, 8, 3))
    g.add_op("conv2d", "c", "x", weights=r.normal(size=(3, 3, 3, 4)).astype(np.float32), bias=None,
             strides=(1, 1), padding="same", act="relu")
    g.add_op("global_avg_pool", "gap", "c")
    g.add_op("dense", "d", "gap", weights=r.normal(size=(4, 2)).astype(np.float32), bias=None)
    g.outputs = ["d"]
    g.validate()
    x = r.random((6, 8, 8, 3)).astype(np.float32)
    emc.save_kmodel(g, str(tmp_path / "a.kmodel"), x, eval_limit=0)
    assert all(layer.SDK_RUNS for layer in load_kmodel(tmp_path / "a.kmodel").layers)
    rep = emc.save_kmodel(g, str(tmp_path / "b.kmodel"), x, allow_patched=True, eval_limit=6)
    assert 6 in [layer.TYPE for layer in load_kmodel(tmp_path / "b.kmodel").layers]
    assert rep.metrics["d"]["cosine"] > 0.99


def test_input_not_consumed_by_a_conv_gets_a_copy_layer(tmp_path):
    r = _rng()
    g = Graph("poolfirst")
    g.add_input("x", (8, 8, 3))
    g.add_op("max_pool2d", "p", "x", ksize=(2, 2), strides=(2, 2), padding="valid")
    g.add_op("conv2d", "c", "p", weights=r.normal(size=(3, 3, 3, 4)).astype(np.float32), bias=None,
             strides=(1, 1), padding="same")
    g.outputs = ["c"]
    g.validate()
    x = r.random((4, 8, 8, 3)).astype(np.float32)
    rep = emc.save_kmodel(g, str(tmp_path / "p.kmodel"), x, eval_limit=4)
    m = load_kmodel(tmp_path / "p.kmodel")
    assert m.layers[0].NAME == "K210_CONV" and m.layers[0].depthwise and m.layers[1].NAME == "QUANTIZED_MAX_POOL2D"
    assert rep.metrics["c"]["cosine"] > 0.999


@pytest.mark.parametrize("case", ["same_odd", "valid_odd", "valid_even", "dw_same_odd", "dw_valid_even",
                                  "1x1_odd", "asym", "valid_s1", "asym_s1", "dw_valid_s1"])
def test_stride2_alignments(case, tmp_path):
    """Every TF stride-2 alignment on odd/even maps: full-resolution KPU conv + shift/pick."""
    r = _rng()
    size, pad, dw, k = {"same_odd": (9, "same", False, 3), "valid_odd": (9, "valid", False, 3),
                        "valid_even": (10, "valid", False, 3), "dw_same_odd": (9, "same", True, 3),
                        "dw_valid_even": (10, "valid", True, 3), "1x1_odd": (7, "same", False, 1),
                        "asym": (8, (1, 0, 0, 1), False, 3), "valid_s1": (10, "valid", False, 3),
                        "asym_s1": (9, (0, 1, 1, 0), False, 3), "dw_valid_s1": (8, "valid", True, 3)}[case]
    g = Graph(case)
    g.add_input("x", (size, size, 4))
    w = r.normal(size=(k, k, 4, 1 if dw else 6)).astype(np.float32) * 0.4
    st = (1, 1) if case.endswith("_s1") else (2, 2)
    g.add_op("depthwise_conv2d" if dw else "conv2d", "s2", "x", weights=w, bias=None, strides=st,
             padding=pad, act="relu")
    g.add_op("conv2d", "after", "s2", weights=r.normal(size=(3, 3, 4 if dw else 6, 5)).astype(np.float32) * 0.3,
             bias=None, strides=(1, 1), padding="same")
    g.outputs = ["s2", "after"]
    g.validate()
    x = r.random((6, size, size, 4)).astype(np.float32)
    rep = emc.save_kmodel(g, str(tmp_path / "s.kmodel"), x, eval_limit=6)
    for name in ("s2", "after"):
        assert rep.metrics[name]["cosine"] > 0.999, (name, rep.metrics)
    m = load_kmodel(tmp_path / "s.kmodel")
    assert not any(layer.NAME == "K210_CONV" and layer.depthwise and layer.pool_type for layer in m.layers)


def test_unsupported_convs_listed(tmp_path):
    r = _rng()
    g = Graph("bad")
    g.add_input("x", (9, 9, 3))
    g.add_op("conv2d", "v3", "x", weights=r.normal(size=(3, 3, 3, 4)).astype(np.float32), bias=None,
             strides=(1, 1), padding=(2, 2, 2, 2))
    g.add_op("conv2d", "k5", "v3", weights=r.normal(size=(5, 5, 4, 4)).astype(np.float32), bias=None,
             strides=(1, 1), padding="same")
    g.add_op("conv2d", "s3", "k5", weights=r.normal(size=(3, 3, 4, 4)).astype(np.float32), bias=None,
             strides=(3, 3), padding="same")
    g.outputs = ["s3"]
    g.validate()
    with pytest.raises(UnsupportedLayersError) as ei:
        emc.save_kmodel(g, str(tmp_path / "o.kmodel"), r.random((2, 9, 9, 3)).astype(np.float32))
    assert [n for n, _, _ in ei.value.items] == ["v3", "k5", "s3"]
    assert "5x5 kernel" in str(ei.value) and "stride (3, 3)" in str(ei.value) and "padding (2, 2, 2, 2)" in str(ei.value)


def test_main_memory_is_reused(tmp_path):
    """A chain of CPU layers ping-pongs between buffers instead of stacking them."""
    r = _rng()
    g = Graph("mlp")
    g.add_input("x", (64,))
    prev = "x"
    for i in range(6):
        prev = g.add_op("dense", f"d{i}", prev, weights=r.normal(size=(64, 64)).astype(np.float32) * 0.2,
                        bias=None, act="relu")
    g.outputs = [prev]
    g.validate()
    rep = emc.save_kmodel(g, str(tmp_path / "mlp.kmodel"), r.random((4, 64)).astype(np.float32))
    assert rep.main_mem <= 3 * 64 * 4
    assert list(rep.metrics.values())[0]["max_abs"] < 1e-4


def test_dense_on_kpu(cal_dir, tmp_path):
    import os
    from convert_support import DATA
    rep = emc.save_kmodel(os.path.join(DATA, "mbnet_float.tflite"), str(tmp_path / "d.kmodel"), cal_dir,
                          dense_on_kpu=True)
    names = [layer.NAME for layer in load_kmodel(tmp_path / "d.kmodel").layers]
    assert "FULLY_CONNECTED" not in names
    assert names[-6:] == ["QUANTIZE", "K210_ADD_PADDING", "K210_CONV", "K210_REMOVE_PADDING", "DEQUANTIZE",
                          "SOFTMAX"]
    (met,) = rep.metrics.values()
    assert met["top1"] >= 0.95 and met["max_abs"] < 0.05


def test_kpu_maps_are_at_least_4x4(tmp_path):
    """6x6 -> 3x3 stride 2 and a 2x2 max pool on a 4x4 map: those steps go to the CPU."""
    r = _rng()
    g = Graph("small")
    g.add_input("x", (6, 6, 3))
    g.add_op("conv2d", "s2", "x", weights=r.normal(size=(3, 3, 3, 8)).astype(np.float32) * 0.4, bias=None,
             strides=(2, 2), padding="same", act="relu")
    g.add_op("global_avg_pool", "gap", "s2")
    g.add_op("dense", "d", "gap", weights=r.normal(size=(8, 3)).astype(np.float32), bias=None)
    g.outputs = ["d"]
    g.validate()
    rep = emc.save_kmodel(g, str(tmp_path / "s.kmodel"), r.random((6, 6, 6, 3)).astype(np.float32), eval_limit=6)
    m = load_kmodel(tmp_path / "s.kmodel")
    for layer in m.layers:
        if layer.NAME == "K210_CONV":
            assert min(layer.out_w, layer.out_h, layer.in_w, layer.in_h) >= 4
    assert "QUANTIZED_MAX_POOL2D" in [layer.NAME for layer in m.layers]
    assert rep.metrics["d"]["cosine"] > 0.999
    g2 = Graph("pool4")
    g2.add_input("x", (4, 4, 3))
    g2.add_op("conv2d", "c", "x", weights=r.normal(size=(3, 3, 3, 4)).astype(np.float32), bias=None,
              strides=(1, 1), padding="same")
    g2.add_op("max_pool2d", "p", "c", ksize=(2, 2), strides=(2, 2), padding="valid")
    g2.outputs = ["p"]
    g2.validate()
    emc.save_kmodel(g2, str(tmp_path / "p.kmodel"), r.random((4, 4, 4, 3)).astype(np.float32))
    names = [layer.NAME for layer in load_kmodel(tmp_path / "p.kmodel").layers]
    assert names[:2] == ["K210_CONV", "QUANTIZED_MAX_POOL2D"]


@pytest.mark.parametrize("k,stride,size", [(3, 1, 3), (1, 1, 2), (3, 2, 3), (3, 1, (2, 6)), (1, 2, 3)])
def test_small_maps_on_a_zero_point_canvas(k, stride, size, tmp_path):
    r = _rng()
    hh, ww = (size, size) if isinstance(size, int) else size
    g = Graph("small")
    g.add_input("x", (2 * hh, 2 * ww, 4))
    g.add_op("conv2d", "c0", "x", weights=r.normal(size=(3, 3, 4, 4)).astype(np.float32) * 0.4,
             bias=np.full(4, 0.3, np.float32), strides=(2, 2), padding="same", act="relu")     # -> hh x ww
    g.add_op("conv2d", "c", "c0", weights=r.normal(size=(k, k, 4, 5)).astype(np.float32) * 0.4,
             bias=np.full(5, 0.5, np.float32), strides=(stride, stride), padding="same", act="relu")
    g.add_op("conv2d", "c2", "c", weights=r.normal(size=(k, k, 5, 3)).astype(np.float32) * 0.4, bias=None,
             strides=(1, 1), padding="same")
    g.outputs = ["c2"]
    g.validate()
    rep = emc.save_kmodel(g, str(tmp_path / "s.kmodel"), r.random((8, 2 * hh, 2 * ww, 4)).astype(np.float32),
                          eval_limit=8)
    assert rep.metrics["c2"]["cosine"] > 0.999
    assert rep.metrics["c2"]["max_abs"] < 0.02 * 255 * rep.quant["c2"][0]       # within 2% of the range
    m = load_kmodel(tmp_path / "s.kmodel")
    assert all(min(x.in_w, x.in_h, x.out_w, x.out_h) >= 4 for x in m.layers if x.NAME == "K210_CONV")


def test_tiny_input_is_refused(tmp_path):
    g = Graph("tiny")
    g.add_input("x", (3, 3, 2))
    g.add_op("conv2d", "c", "x", weights=np.ones((3, 3, 2, 2), np.float32), bias=None, strides=(1, 1),
             padding="same")
    g.outputs = ["c"]
    g.validate()
    with pytest.raises(UnsupportedLayersError, match="needs at least 4x4"):
        emc.save_kmodel(g, str(tmp_path / "t.kmodel"), np.random.default_rng(0).random((2, 3, 3, 2)).astype(np.float32))


def test_standalone_zero_padding(tmp_path):
    """ZeroPadding2D before a max pool (not foldable into a conv): a CPU byte gather."""
    r = _rng()
    g = Graph("pad")
    g.add_input("x", (8, 8, 3))
    g.add_op("conv2d", "c", "x", weights=r.normal(size=(3, 3, 3, 4)).astype(np.float32) * 0.5, bias=None,
             strides=(1, 1), padding="same", act="linear")
    g.add_op("pad", "p", "c", pads=(1, 2, 0, 1))
    g.add_op("max_pool2d", "mp", "p", ksize=(3, 3), strides=(2, 2), padding="valid")
    g.outputs = ["mp"]
    g.validate()
    rep = emc.save_kmodel(g, str(tmp_path / "p.kmodel"), r.random((6, 8, 8, 3)).astype(np.float32), eval_limit=6)
    assert rep.metrics["mp"]["cosine"] > 0.999
    assert "QUANTIZED_CONCAT" in [layer.NAME for layer in load_kmodel(tmp_path / "p.kmodel").layers]


def test_upsampling_nearest(tmp_path):
    r = _rng()
    g = Graph("up")
    g.add_input("x", (16, 16, 3))
    g.add_op("conv2d", "a", "x", weights=r.normal(size=(3, 3, 3, 6)).astype(np.float32) * 0.5, bias=None,
             strides=(2, 2), padding="same", act="relu")
    g.add_op("conv2d", "b", "a", weights=r.normal(size=(3, 3, 6, 6)).astype(np.float32) * 0.3, bias=None,
             strides=(2, 2), padding="same", act="relu")
    g.add_op("resize_nearest", "u", "b", factor=(2, 2))
    g.add_op("concat", "cat", ["a", "u"], axis=-1)
    g.add_op("conv2d", "o", "cat", weights=r.normal(size=(1, 1, 12, 2)).astype(np.float32), bias=None,
             strides=(1, 1), padding="valid")
    g.outputs = ["o"]
    g.validate()
    assert g.shape("u") == (8, 8, 6)
    rep = emc.save_kmodel(g, str(tmp_path / "u.kmodel"), r.random((6, 16, 16, 3)).astype(np.float32), eval_limit=6)
    assert rep.metrics["o"]["cosine"] > 0.999
    assert "QUANTIZED_RESIZE_NEAREST_NEIGHBOR" in [layer.NAME for layer in load_kmodel(tmp_path / "u.kmodel").layers]


@pytest.mark.parametrize("chans,in_place", [((8, 4, 12), True), ((6, 5), False), ((4, 4), True)])
def test_concat_in_kpu_ram_or_on_the_cpu(chans, in_place, tmp_path):
    """Parts filling whole channel groups (4 per row for maps <= 16 wide) are written in place."""
    r = _rng()
    g = Graph("cat")
    g.add_input("x", (12, 12, 3))
    parts = []
    for j, c in enumerate(chans):
        parts.append(g.add_op("conv2d", f"p{j}", "x", weights=r.normal(size=(3, 3, 3, c)).astype(np.float32) * 0.5,
                              bias=None, strides=(1, 1), padding="same", act="relu"))
    g.add_op("concat", "cat", parts, axis=-1)
    g.add_op("conv2d", "o", "cat", weights=r.normal(size=(1, 1, sum(chans), 3)).astype(np.float32) * 0.3,
             bias=None, strides=(1, 1), padding="valid")
    g.outputs = ["o", "cat"]
    g.validate()
    rep = emc.save_kmodel(g, str(tmp_path / "c.kmodel"), r.random((6, 12, 12, 3)).astype(np.float32), eval_limit=6)
    assert rep.metrics["o"]["cosine"] > 0.999 and rep.metrics["cat"]["cosine"] > 0.999
    m = load_kmodel(tmp_path / "c.kmodel")
    consumer = [x for x in m.layers if x.NAME == "K210_CONV" and x.ic == sum(chans)][0]
    uploads = [x for x in m.layers if x.NAME == "K210_UPLOAD"]
    assert (not uploads) == in_place
    if in_place:
        first = [x for x in m.layers if x.NAME == "K210_CONV"][0]
        assert consumer.reg("image_src_addr") == first.reg("image_dst_addr")


@pytest.mark.parametrize("act", ["swish", "hard_swish", "hard_sigmoid", "elu", "selu", "softplus", "gelu",
                                 "gelu_tanh", "mish"])
def test_smooth_activations_fitted_on_the_kpu(act, tmp_path):
    r = np.random.default_rng(0)
    g = Graph("a")
    g.add_input("x", (8, 8, 3))
    g.add_op("conv2d", "c", "x", weights=r.normal(size=(3, 3, 3, 6)).astype(np.float32) * 0.5,
             bias=r.normal(size=6).astype(np.float32), strides=(1, 1), padding="same", act=act)
    g.outputs = ["c"]
    g.validate()
    rep = emc.save_kmodel(g, str(tmp_path / "a.kmodel"), r.random((8, 8, 8, 3)).astype(np.float32) * 2 - 1,
                          eval_limit=8)
    assert rep.metrics["c"]["cosine"] > 0.999
    assert rep.metrics["c"]["max_abs"] < 4 * rep.quant["c"][0]          # a few output LSBs


def test_dead_layer_constant_tensor(tmp_path):
    g = Graph("dead")
    g.add_input("x", (8, 8, 3))
    g.add_op("conv2d", "c", "x", weights=np.full((3, 3, 3, 4), -1, np.float32), bias=np.full(4, -1, np.float32),
             strides=(1, 1), padding="same", act="relu")                         # always 0
    g.add_op("conv2d", "d", "c", weights=np.ones((1, 1, 4, 2), np.float32), bias=np.ones(2, np.float32),
             strides=(1, 1), padding="same")
    g.outputs = ["d"]
    g.validate()
    rep = emc.save_kmodel(g, str(tmp_path / "dead.kmodel"), np.random.default_rng(0).random((4, 8, 8, 3)).astype(np.float32))
    assert rep.metrics["d"]["max_abs"] < 1e-3
