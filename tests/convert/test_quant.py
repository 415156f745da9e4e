"""Calibration datasets (and their errors), range methods, K210 weight/parameter quantization."""
import os

import numpy as np
import pytest

import emc
from emc.kmodel import kpu
from emc.quant import DatasetError, calibrate, load_dataset, quantize_weights_shared_zp
from emc.backends.k210 import conv_params
from emc.ir import execute as E
from emc.ir.opdef import opdef

import synth

SEED_H5 = "maixemc_cifar10_tl2.h5"


def test_image_folder_and_funcs(cal_dir):
    d = load_dataset(cal_dir, (32, 32, 3), "img_0_1")
    assert d.x.shape == (40, 32, 32, 3) and d.pixels.dtype == np.uint8
    assert 0 <= d.x.min() and d.x.max() <= 1 and d.pixel_quant == (1 / 255, 0.0)
    d2 = load_dataset(cal_dir, (32, 32, 3), "img_-1_1")
    np.testing.assert_allclose(d2.x, d.pixels / 127.5 - 1, atol=1e-6)


def test_npy_and_callable(tmp_path):
    a = np.random.default_rng(0).random((5, 8, 8, 2)).astype(np.float32)
    np.save(tmp_path / "d.npy", a)
    assert load_dataset(str(tmp_path / "d.npy"), (8, 8, 2)).x.shape == (5, 8, 8, 2)
    assert load_dataset(lambda: a, (8, 8, 2)).x.shape == (5, 8, 8, 2)
    with pytest.raises(DatasetError, match=r"shape \(5, 8, 8, 2\), expected \(N, 4, 4, 2\)"):
        load_dataset(str(tmp_path / "d.npy"), (4, 4, 2))


def test_empty_folder(tmp_path, models_dir):
    (tmp_path / "notes.txt").write_text("no images here")
    with pytest.raises(DatasetError, match="is empty: no image files"):
        load_dataset(str(tmp_path), (32, 32, 3))
    with pytest.raises(DatasetError, match="is empty"):
        emc.save_kmodel(str(models_dir / SEED_H5), str(tmp_path / "m.kmodel"), str(tmp_path))
    assert not (tmp_path / "m.kmodel").exists()


def test_unreadable_image(tmp_path, cal_dir, models_dir):
    import shutil
    for f in sorted(os.listdir(cal_dir))[:3]:
        shutil.copy(os.path.join(cal_dir, f), tmp_path / f)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    with pytest.raises(DatasetError, match=r"broken\.png: cannot read image"):
        emc.save_kmodel(str(models_dir / SEED_H5), str(tmp_path / "m.kmodel"), str(tmp_path))


def test_wrong_image_size(tmp_path, models_dir):
    synth.write_pngs(str(tmp_path), synth.synth_images(2, seed=5, size=24)[0])
    with pytest.raises(DatasetError, match=r"img_0000\.png: image is 24x24 \(WxH\), the model input is 32x32"):
        emc.save_kmodel(str(models_dir / SEED_H5), str(tmp_path / "m.kmodel"), str(tmp_path))
    d = load_dataset(str(tmp_path), (32, 32, 3), resize=True)
    assert d.x.shape == (2, 32, 32, 3)


def test_missing_dataset(tmp_path):
    with pytest.raises(DatasetError, match="neither a folder"):
        load_dataset(str(tmp_path / "nope"), (32, 32, 3))
    with pytest.raises(ValueError, match="unknown dataset_func"):
        load_dataset(str(tmp_path), (32, 32, 3), "img_weird")


def test_shared_zero_point_weights():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(8, 3, 3, 3)) * np.arange(1, 9)[:, None, None, None]
    q, z, s = quantize_weights_shared_zp(w)
    assert q.dtype == np.uint8 and 0 < z < 255
    err = np.abs((q.astype(float) - z) * s[:, None, None, None] - w)
    assert (err <= s[:, None, None, None] / 2 + 1e-9).all()
    # per-channel scales follow the channel magnitudes
    assert s[-1] > 5 * s[0]
    q, z, s = quantize_weights_shared_zp(np.abs(w))
    assert z == 0 and q.max() == 255
    q16, z16, s16 = quantize_weights_shared_zp(w, 16)
    assert q16.dtype == np.uint16 and s16[0] < s[0] / 100


def test_calibration_methods():
    from emc.ir import Graph
    g = Graph()
    g.add_input("x", (100,))
    g.add_op("dense", "d", "x", weights=np.eye(100, dtype=np.float32), bias=None, act="linear")
    g.outputs = ["d"]
    g.validate()
    x = np.random.default_rng(0).normal(size=(50, 100)).astype(np.float32)
    x = np.concatenate([x] * 4)
    x[0, 0] = 40.0                                   # one outlier
    mm = calibrate(g, x, "minmax")["d"]
    pc = calibrate(g, x, "percentile")["d"]
    kl = calibrate(g, x, "kld")["d"]
    assert mm[1] == pytest.approx(40.0)
    assert pc[1] < 10 and kl[1] < 20 and kl[0] < 0
    with pytest.raises(ValueError, match="unknown quant_func"):
        calibrate(g, x, "magic")


@pytest.mark.parametrize("act", ["linear", "relu", "relu6", "leaky_relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("depthwise", [False, True])
def test_kpu_conv_params_match_float(act, depthwise):
    """One KPU layer from conv_params on the software KPU vs the float conv: a few output LSBs."""
    rng = np.random.default_rng(3)
    ic = 4
    oc = ic if depthwise else 6
    x = rng.integers(0, 256, (ic, 8, 8)).astype(np.uint8)
    w = rng.normal(size=(oc, 1 if depthwise else ic, 3, 3)) * rng.uniform(0.1, 3, (oc, 1, 1, 1))
    w *= 2.0 / (np.sqrt((w[0] ** 2).sum()) * 0.02 * 74)      # pre-activations of a few units, like after BN
    b = rng.normal(size=oc)
    sx, zx = 0.02, 100
    xr = ((x.astype(np.float64) - zx) * sx).transpose(1, 2, 0)[None]
    conv = {"weights": w[:, 0].transpose(1, 2, 0)[..., None] if depthwise else w.transpose(2, 3, 1, 0), "bias": b,
            "strides": (1, 1), "pads": (1, 1, 1, 1)}
    y = opdef("depthwise_conv2d" if depthwise else "conv2d").run_float(conv, [xr])[0]
    ya = E.apply_act(y, act, 0.1)
    lo, hi = min(ya.min(), 0), max(ya.max(), 0)
    so = (hi - lo) / 255
    zo = int(round(-lo / so))
    p = conv_params(w, b, (sx, zx), (so, zo), act, 0.1, (y.min(), y.max()))
    mul, add, sh = kpu.decode_bn(p["bn"])
    assert np.abs(mul).max() < 2 ** 23
    c = kpu.conv(x, p["weights"], 3, depthwise, p["pad_value"], p["arg_x"], p["shr_x"], p["arg_w"], p["shr_w"],
                 p["arg_add"])
    o = kpu.activate(kpu.batchnorm(c, mul, add, sh), *kpu.decode_act(p["act"]))
    err = np.abs((o.astype(float) - zo) * so - ya.transpose(2, 0, 1)).max() / so
    assert err < (4 if act in ("sigmoid", "tanh") else 2), err
