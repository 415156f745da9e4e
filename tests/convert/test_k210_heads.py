"""K210 small fixes, each checked against the float Keras model: softmax (and reshape) on a 1x1xN map,
float16-weight .tflite files (DEQUANTIZE of constants) and the Keras MobileNet 0.25 classifier head
(GAP(keepdims) -> Dropout -> Conv 1x1 -> Reshape -> Softmax)."""
import os

import numpy as np
import pytest

import synth
from convert_support import agreement

pytestmark = pytest.mark.slow


def _kmodel_outputs(path, images):
    from emc.reference import run
    return np.stack([run(path, np.ascontiguousarray(e.transpose(2, 0, 1)))[0].reshape(-1) for e in images])


def _check_vs_keras(m, source, cal_dir, eval_images, tmp_path, min_agree=0.95, max_abs=0.05):
    import emc
    ev, _ = eval_images
    out = str(tmp_path / "m.kmodel")
    emc.save_kmodel(source, out, cal_dir, "img_0_1", "minmax", 8, 3, eval_limit=0)
    f = m.predict(ev.astype(np.float32) / 255, verbose=0).reshape(len(ev), -1)
    agree, err = agreement(f, _kmodel_outputs(out, ev))
    print(f"agreement {agree:.2f} max abs {err:.4f}")
    assert agree >= min_agree and err < max_abs
    return out


def _gap_head(keep_reshape):
    import keras
    from keras import layers as L
    keras.utils.set_random_seed(3)
    i = keras.Input((32, 32, 3))
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(i)
    x = L.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = L.Conv2D(16, 1, activation="relu")(x)
    x = L.GlobalAveragePooling2D(keepdims=True)(x)
    x = L.Dropout(0.1)(x)
    x = L.Conv2D(synth.CLASSES, 1)(x)
    if keep_reshape:
        x = L.Reshape((synth.CLASSES,))(x)
    x = L.Softmax()(x)
    m = keras.Model(i, x)
    xs, ys = synth.synth_images(200, seed=7)
    m.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    m.fit(xs.astype(np.float32) / 255, ys.reshape(-1, *([1, 1] if not keep_reshape else [])), epochs=3,
          verbose=0)
    return m


@pytest.mark.parametrize("keep_reshape", [False, True], ids=["softmax_on_1x1xN", "reshape_then_softmax"])
def test_softmax_on_1x1_map(keep_reshape, cal_dir, eval_images, tmp_path):
    from emc.kmodel import load
    m = _gap_head(keep_reshape)
    out = _check_vs_keras(m, m, cal_dir, eval_images, tmp_path)
    assert "SOFTMAX" in [layer.NAME for layer in load(out).layers]


def test_float16_tflite_dequantize_of_weights_folds(cal_dir, eval_images, tmp_path):
    """TFLite's float16 weight quantization stores weights as fp16 and DEQUANTIZEs them at run time:
    the frontend folds those DEQUANTIZE ops into the constants."""
    import tensorflow as tf
    import tflite
    m = _gap_head(True)
    conv = tf.lite.TFLiteConverter.from_keras_model(m)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.target_spec.supported_types = [tf.float16]
    path = tmp_path / "f16.tflite"
    path.write_bytes(conv.convert())
    mod = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
    codes = {mod.OperatorCodes(i).BuiltinCode() for i in range(mod.OperatorCodesLength())}
    assert tflite.BuiltinOperator.DEQUANTIZE in codes      # the file really has them
    _check_vs_keras(m, str(path), cal_dir, eval_images, tmp_path)


def test_keras_mobilenet_025_head_converts(tmp_path):
    """keras.applications.MobileNet(alpha=0.25) converts as is; its head (GAP keepdims, Dropout, 1x1 conv,
    Reshape, Softmax) included. Random weights: compared on the logits' ranking of 20 smooth images."""
    import keras
    import emc
    os.environ.setdefault("KERAS_HOME", str(tmp_path))
    keras.utils.set_random_seed(0)
    m = keras.applications.MobileNet(alpha=0.25, input_shape=(128, 128, 3), weights=None, classes=5)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:128, 0:128] / 128.0
    imgs = np.stack([np.clip(0.5 + 0.4 * np.sin(2 * np.pi * (rng.uniform(1, 4) * xx + rng.uniform(1, 4) * yy)
                                                  + rng.uniform(0, 6, 3)[:, None, None]).transpose(1, 2, 0), 0, 1)
                     for _ in range(20)])
    emc.save_kmodel(m, str(tmp_path / "mn.kmodel"), imgs.astype(np.float32), "img_0_1", "minmax", 8, 3,
                          eval_limit=0)
    f = m.predict(imgs.astype(np.float32), verbose=0)
    k = _kmodel_outputs(str(tmp_path / "mn.kmodel"), np.round(imgs * 255).astype(np.uint8))
    assert k.shape == f.shape
    assert np.abs(k - f).max() < 0.05
