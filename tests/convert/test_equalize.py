"""Cross-layer equalization (emc.quant.equalize): the float function is unchanged, the channel ranges
between the pair become equal, ReLU6 pairs are only enlarged within the calibrated maximum, and pairs
without a depthwise side or with file-fixed quantization are left alone. numpy only (fast)."""
import numpy as np

from emc.ir import Graph, QuantParams, passes, run_float
from emc.quant.equalize import equalize


def _graph(act="relu", dw_act="relu", seed=0):
    rng = np.random.default_rng(seed)
    g = Graph("eq")
    g.add_input("x", (8, 8, 3))
    # output channels with very different ranges, as in trained MobileNets
    w0 = rng.normal(0, 1, (3, 3, 3, 6)).astype(np.float32) * np.array([0.01, 1, 5, 0.1, 2, 0.3], np.float32)
    g.add_op("conv2d", "c0", "x", weights=w0, bias=rng.normal(0, 0.1, 6).astype(np.float32), strides=(1, 1),
             padding="same", act=act)
    g.add_op("depthwise_conv2d", "dw", "c0", weights=rng.normal(0, 1, (3, 3, 6, 1)).astype(np.float32),
             bias=rng.normal(0, 0.1, 6).astype(np.float32), strides=(2, 2), padding="same", act=dw_act)
    g.add_op("max_pool2d", "mp", "dw", ksize=(2, 2), strides=(2, 2), padding="valid")
    g.add_op("conv2d", "c1", "mp", weights=rng.normal(0, 1, (1, 1, 6, 4)).astype(np.float32),
             bias=np.zeros(4, np.float32), strides=(1, 1), padding="valid", act="linear")
    g.outputs = ["c1"]
    return passes.optimize(g), rng.random((16, 8, 8, 3)).astype(np.float32)


def _channel_max(g, x, t):
    return np.abs(run_float(g, x, keep=True)[t]).reshape(-1, g.shape(t)[-1]).max(0)


def test_relu_pairs_keep_function_and_equalize_activations():
    g, x = _graph()
    before = run_float(g, x)["c1"]
    spread = _channel_max(g, x, "c0")
    assert equalize(g, x) == 2                      # c0 -> dw and dw -> (pool) -> c1
    np.testing.assert_allclose(run_float(g, x)["c1"], before, rtol=1e-4, atol=1e-4 * np.abs(before).max())
    after = _channel_max(g, x, "c0")
    live = spread > 0
    ratio = lambda v: v[live].max() / v[live].min()    # noqa: E731
    print(f"c0 channel range ratio {ratio(spread):.1f} -> {ratio(after):.1f}")
    assert ratio(after) < ratio(spread) / 3


def test_weights_mode_equalizes_weight_ranges():
    g, x = _graph()
    before = run_float(g, x)["c1"]
    equalize(g, mode="weights")
    np.testing.assert_allclose(run_float(g, x)["c1"], before, rtol=1e-4, atol=1e-4 * np.abs(before).max())
    w0 = np.abs(g.op("c0").attrs["weights"]).max(axis=(0, 1, 2))
    wd = np.abs(g.op("dw").attrs["weights"]).max(axis=(0, 1, 3))
    np.testing.assert_allclose(w0 / w0.max(), wd / wd.max(), rtol=0.05)


def test_relu6_pairs_only_enlarged_within_the_calibrated_maximum():
    g, x = _graph(act="relu6", dw_act="relu6")
    before = run_float(g, x)["c1"]
    m0 = _channel_max(g, x, "c0")
    equalize(g, x)
    np.testing.assert_allclose(run_float(g, x)["c1"], before, rtol=1e-4, atol=1e-4 * np.abs(before).max())
    m1 = _channel_max(g, x, "c0")
    assert np.all(m1 >= m0 * (1 - 1e-5)) and m1.max() <= m0.max() * (1 + 1e-5)
    assert (m1 > m0 * 1.5).any()


def test_left_alone_without_depthwise_or_with_file_quantization():
    g, x = _graph()
    g.op("dw").type = "conv2d"                      # the middle layer a plain 3x3 conv instead
    g.op("dw").attrs["weights"] = np.ones((3, 3, 6, 6), np.float32)
    g.op("dw").attrs["bias"] = np.zeros(6, np.float32)
    w = {op.name: op.attrs["weights"].copy() for op in g.ops if "weights" in op.attrs}
    assert equalize(g, x) == 0                      # 'auto': only pairs with a depthwise side
    assert all(np.array_equal(g.op(n).attrs["weights"], v) for n, v in w.items())
    g2, x2 = _graph()
    g2.tensors["c0"].quant = QuantParams(0.1, 0)
    g2.tensors["dw"].quant = QuantParams(0.1, 0)
    assert equalize(g2, x2) == 0


def test_seed_cifar10_kmodel_unchanged_by_default(models_dir, cal_dir, tmp_path):
    """No depthwise conv in the seed network: 'auto' equalizes nothing and the kmodel is byte-identical
    to the one without equalization (whose output the real K210 reproduced)."""
    import emc
    seed = str(models_dir / "maixemc_cifar10_tl2.h5")
    a = emc.save_kmodel(seed, str(tmp_path / "auto.kmodel"), cal_dir, eval_limit=0, report=False)
    emc.save_kmodel(seed, str(tmp_path / "off.kmodel"), cal_dir, eval_limit=0, report=False, equalize="off")
    assert a.equalized == 0
    assert (tmp_path / "auto.kmodel").read_bytes() == (tmp_path / "off.kmodel").read_bytes()
