"""The seed example: maixemc_cifar10_tl2.h5 in the TensorLayer 2 CIFAR-10 net,
save_kmodel(net, path, dataset, 'img_0_1', 'minmax', 8, 3), checked on the plane image."""
import numpy as np
import pytest

import emc
from emc.images import read_rgb
from emc.frontends import load
from emc.ir import run_float
from emc.kmodel import load as load_kmodel
from emc.reference import run

# Maix-EMC README: the K210 running its own conversion of this network on the plane image
HW_OUTPUT = np.array([1.181304, -5.381746, 1.580029, 0.045343, 0.511492, -0.656629, -3.597826, 0.561016,
                      -0.733270, -3.771462])


@pytest.fixture(scope="module")
def plane(kmodels_dir):
    return read_rgb(kmodels_dir / "maixemc_plane_input.bmp")        # uint8 HWC, 32x32x3


def _check(model_path, graph, plane):
    x = plane[None].astype(np.float32) / 255.0                     # img_0_1
    f = run_float(graph, x)[graph.outputs[0]][0]
    k = run(model_path, np.ascontiguousarray(plane.transpose(2, 0, 1)))[0]   # planar RGB, raw pixels
    assert k.shape == (10,) and k.dtype == np.float32
    assert np.abs(k - f).max() < 0.1, (k, f)
    assert k.argmax() == f.argmax()
    return f, k


@pytest.mark.slow
def test_seed_h5_without_tensorflow(models_dir, cal_dir, plane, tmp_path):
    """The weight file alone (architecture from its model_config, weights via h5py)."""
    h5 = models_dir / "maixemc_cifar10_tl2.h5"
    out = tmp_path / "cifar10.kmodel"
    rep = emc.save_kmodel(str(h5), str(out), cal_dir, "img_0_1", "minmax", 8, 3)
    f, k = _check(out, load(str(h5)), plane)
    # the float model itself is the one the hardware line was produced from (within quantization noise)
    assert np.abs(f - HW_OUTPUT).max() < 0.25
    m = load_kmodel(out)
    assert m.layers[0].NAME == "K210_CONV" and m.eight_bit
    assert all(layer.SDK_RUNS for layer in m.layers)
    assert [layer.NAME for layer in m.layers] == [
        "K210_CONV", "QUANTIZED_MAX_POOL2D", "K210_UPLOAD", "K210_CONV", "QUANTIZED_MAX_POOL2D", "DEQUANTIZE",
        "FULLY_CONNECTED", "FULLY_CONNECTED"]
    assert rep.metrics["output"]["top1"] == 1.0
    assert (tmp_path / "cifar10.kmodel.report.txt").read_text().startswith("EMC conversion report")


@pytest.mark.slow
@pytest.mark.parametrize("quant", ["kld", "percentile"])
def test_seed_other_quant_funcs(models_dir, cal_dir, plane, tmp_path, quant):
    h5 = str(models_dir / "maixemc_cifar10_tl2.h5")
    emc.save_kmodel(h5, str(tmp_path / "m.kmodel"), cal_dir, "img_0_1", quant, 8, 3)
    x = plane[None].astype(np.float32) / 255.0
    f = run_float(load(h5), x)["output"][0]
    k = run(tmp_path / "m.kmodel", np.ascontiguousarray(plane.transpose(2, 0, 1)))[0]
    assert k.argmax() == f.argmax() and np.abs(k - f).max() < 0.3


@pytest.mark.slow
def test_seed_16bit(models_dir, cal_dir, plane, tmp_path):
    h5 = str(models_dir / "maixemc_cifar10_tl2.h5")
    emc.save_kmodel(h5, str(tmp_path / "m16.kmodel"), cal_dir, "img_0_1", "minmax", 16, 3)
    m = load_kmodel(tmp_path / "m16.kmodel")
    assert not m.eight_bit
    _check(tmp_path / "m16.kmodel", load(h5), plane)


@pytest.mark.slow
def test_seed_tensorlayer_network(models_dir, cal_dir, plane, tmp_path):
    """The seed's own call: a live TensorLayer 2 model object."""
    import tensorflow as tf
    from emc.examples.cifar10_tl2 import build_cifar10_tl2, load_h5_weights
    net = build_cifar10_tl2(name=f"cnn_{tmp_path.name}")
    load_h5_weights(net, models_dir / "maixemc_cifar10_tl2.h5")
    net.eval()
    x = plane[None].astype(np.float32) / 255.0
    tl_out = net(tf.constant(x)).numpy()[0]
    g = load(net)
    np.testing.assert_allclose(run_float(g, x)["output"][0], tl_out, atol=1e-4)
    out = tmp_path / "cifar10_tl.kmodel"
    emc.save_kmodel(net, str(out), cal_dir, "img_0_1", "minmax", 8, 3)
    f, k = _check(out, g, plane)
    np.testing.assert_allclose(f, tl_out, atol=1e-4)


@pytest.mark.slow
def test_seed_img_minus1_1(models_dir, cal_dir, tmp_path):
    """img_-1_1: the half-integer input zero point (127.5) goes into arg_w with shr_w = 1."""
    h5 = str(models_dir / "maixemc_cifar10_tl2.h5")
    rep = emc.save_kmodel(h5, str(tmp_path / "m.kmodel"), cal_dir, "img_-1_1", "minmax", 8, 3)
    assert rep.input_quant == (1 / 127.5, 127.5)
    m = load_kmodel(tmp_path / "m.kmodel")
    assert m.layers[0].reg("shr_w") == 1 and m.layers[0].reg("arg_w") == -255
    met = rep.metrics["output"]
    assert met["top1"] == 1.0 and met["cosine"] > 0.999


def test_report_per_layer_errors(models_dir, cal_dir, tmp_path):
    rep = emc.save_kmodel(str(models_dir / "maixemc_cifar10_tl2.h5"), str(tmp_path / "m.kmodel"), cal_dir,
                          eval_limit=3)
    assert len(rep.layer_errors) >= 6
    assert all(c > 0.999 for _, _, c, _ in rep.layer_errors)
    assert "per-layer error" in rep.text()
