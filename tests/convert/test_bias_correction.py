"""K210 bias correction (emc.backends.k210.bias_correction): the corrected bias is b - eps E[x] with eps
the error of the weights the kmodel holds, checked against hand-quantized weights (goldens in numpy
float); the correction reaches the kmodel (its mean output moves to the float one) and the graph keeps
its float biases. numpy + the reference executor only (fast)."""
import numpy as np
import pytest

import emc
from emc.backends.k210 import K210Compiler, Options
from emc.backends.k210.bias_correction import corrected_biases, corrections
from emc.ir import Graph, passes, run_float
from emc.quant import calibrate
from emc.reference import run

# One output channel with weights in [-0.5, 1]: the K210's 8-bit quantizer (one zero point, a scale per
# output channel) represents both ends exactly with zero point 85 and scale 1/170 (255 - 85 = 170 steps
# up to 1, 85 steps down to -0.5; any other zero point needs a larger scale). 0.11 -> 18.7 steps -> 19,
# 0.3 -> 51 (exact), 0.2 -> 34 (exact), -0.07 -> -11.9 -> -12.
SCALE = 1.0 / 170


def _hand_quantized(w):
    return np.round(np.asarray(w, np.float64) / SCALE) * SCALE


def _one_layer(kind, w, bias, shape):
    g = Graph(kind)
    g.add_input("x", shape)
    g.add_op(kind, "c", "x", weights=np.asarray(w, np.float32), bias=np.float32([bias]), strides=(1, 1),
             padding="same", act="linear")
    g.outputs = ["c"]
    return passes.optimize(g)


def _compiler(g, x):
    return K210Compiler(g, calibrate(g, x))


def test_1x1_conv_bias_is_b_minus_weight_error_times_input_mean():
    w = np.float32([1.0, -0.5, 0.11]).reshape(1, 1, 3, 1)
    g = _one_layer("conv2d", w, 0.2, (4, 4, 3))
    x = np.random.default_rng(0).random((10, 4, 4, 3)).astype(np.float32) * np.float32([1, 2, 3])
    eps = _hand_quantized(w[0, 0, :, 0]) - w[0, 0, :, 0].astype(np.float64)     # only 0.11 is off the grid
    assert abs(eps[2] - (19 / 170 - 0.11)) < 1e-7 and np.all(np.abs(eps[:2]) < 1e-7)
    golden = 0.2 - eps @ x.astype(np.float64).mean(axis=(0, 1, 2))
    comp = _compiler(g, x)
    with corrected_biases(comp, x, "on") as n:
        got = float(g.op("c").attrs["bias"][0])
    assert n == 1
    assert got == pytest.approx(golden, abs=1e-6)
    assert got != pytest.approx(0.2, abs=1e-4)             # the correction is not negligible here
    assert float(g.op("c").attrs["bias"][0]) == np.float32(0.2)      # the float bias is back


def test_3x3_depthwise_same_padding_counts_only_taps_inside_the_map():
    # on a 4x4 map with 'same' padding, tap (dy, dx) reads the map at (4-|dy|)(4-|dx|) of the 16 outputs
    k = np.float32([[1.0, 0.11, -0.5], [0.3, -0.07, 0.2], [0.11, 0.0, 0.3]])
    g = _one_layer("depthwise_conv2d", k.reshape(3, 3, 1, 1), 0.0, (4, 4, 1))
    x = np.ones((3, 4, 4, 1), np.float32) * 2.5
    eps = _hand_quantized(k) - k.astype(np.float64)
    cover = np.outer([3, 4, 3], [3, 4, 3]) / 16.0
    golden = -float((eps * cover).sum() * 2.5)
    shift = corrections(_compiler(g, x), x)["c"]
    assert shift.shape == (1,)
    assert -float(shift[0]) == pytest.approx(golden, abs=1e-7)
    assert abs(golden) > 1e-3 and abs(golden + float((eps * 2.5).sum())) > 1e-4   # borders matter here


def test_cpu_fallback_conv_uses_the_int8_weights_of_the_cpu_layer():
    """A 5x5 conv runs on the CPU (--allow-patched) with symmetric int8 weights, scale max|w| / 127: with
    max 1.27 the scale is 0.01 and 0.123 becomes 0.12 (eps -0.003); with 'valid' padding tap (dy, dx)
    reads the 4x4 window of x at (dy, dx), so the shift is sum over taps of eps * mean of that window."""
    k = np.zeros((5, 5, 1, 1), np.float32)
    k[0, 0], k[2, 3], k[4, 4] = 1.27, 0.123, -0.5
    g = Graph("k5")
    g.add_input("x", (8, 8, 1))
    g.add_op("conv2d", "c", "x", weights=k, bias=np.float32([0.0]), strides=(1, 1), padding="valid",
             act="linear")
    g.outputs = ["c"]
    g = passes.optimize(g)
    x = np.random.default_rng(1).random((6, 8, 8, 1)).astype(np.float32) + 1.0
    eps = np.round(k.astype(np.float64) / 0.01) * 0.01 - k.astype(np.float64)
    xd = x.astype(np.float64)
    golden = sum(eps[dy, dx, 0, 0] * xd[:, dy:dy + 4, dx:dx + 4].mean() for dy in range(5) for dx in range(5))
    assert abs(golden) > 1e-3
    comp = K210Compiler(g, calibrate(g, x), options=Options(allow_patched=True))
    assert float(corrections(comp, x)["c"][0]) == pytest.approx(golden, abs=1e-6)
    assert corrections(K210Compiler(g, calibrate(g, x)), x) == {}       # refused without the flag: no correction


def _depthwise_net(seed=0):
    rng = np.random.default_rng(seed)
    g = Graph("dwnet")
    g.add_input("x", (12, 12, 3))
    g.add_op("conv2d", "c0", "x", weights=rng.normal(0, 0.5, (3, 3, 3, 8)).astype(np.float32),
             bias=rng.normal(0, 0.1, 8).astype(np.float32), strides=(1, 1), padding="same", act="relu")
    g.add_op("depthwise_conv2d", "dw", "c0", weights=rng.normal(0.15, 0.3, (3, 3, 8, 1)).astype(np.float32),
             bias=np.zeros(8, np.float32), strides=(1, 1), padding="same", act="linear")
    g.outputs = ["dw"]
    return passes.optimize(g), rng.random((24, 12, 12, 3)).astype(np.float32)


def test_kmodel_mean_output_moves_to_the_float_mean(tmp_path):
    """The per-channel mean error of the depthwise output (kmodel on the reference executor vs float, on
    the calibration data) shrinks with bias_correct='on'; 'auto' corrects this depthwise graph too."""
    g, x = _depthwise_net()
    f = run_float(g, x)["dw"].astype(np.float64).transpose(0, 3, 1, 2)       # N, C, H, W as the kmodel
    err = {}
    for mode in ("off", "on", "auto"):
        path = tmp_path / f"{mode}.kmodel"
        rep = emc.save_kmodel(g, str(path), x, eval_limit=0, report=False, equalize="off", bias_correct=mode)
        assert rep.bias_corrected == (0 if mode == "off" else 2)
        s, z = rep.quant["x"]
        k = np.stack([run(str(path), np.clip(np.round(xi / s + z), 0, 255).astype(np.uint8).transpose(2, 0, 1)
                          .copy())[0].reshape(f.shape[1:]) for xi in x])
        err[mode] = np.abs((k - f).mean(axis=(0, 2, 3)))
    print("mean |E[kmodel] - E[float]| per channel: off", err["off"].mean(), "on", err["on"].mean())
    assert err["on"].mean() < 0.5 * err["off"].mean()
    np.testing.assert_array_equal(err["auto"], err["on"])


def test_unknown_mode_is_refused(tmp_path):
    g, x = _depthwise_net()
    with pytest.raises(ValueError, match="bias_correct must be one of"):
        emc.save_kmodel(g, str(tmp_path / "m.kmodel"), x, eval_limit=0, report=False, bias_correct="yes")
