"""Conversion time of a 96x96 MobileNetV1-0.25 (the VWW architecture) for the K210.

Baseline measured in the same run: TensorFlow Lite's own int8 post-training quantization of the
same Keras model with the same calibration images. Prints both and their ratio (goal: emc < 10 s).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def mobilenet_v1_025(size=96, classes=2):
    import keras
    from keras import layers as L

    def dw_block(x, filters, stride):
        if stride == 2:
            x = L.ZeroPadding2D(((0, 1), (0, 1)))(x)
        x = L.DepthwiseConv2D(3, strides=stride, padding="same" if stride == 1 else "valid", use_bias=False)(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU(6.0)(x)
        x = L.Conv2D(filters, 1, use_bias=False)(x)
        x = L.BatchNormalization()(x)
        return L.ReLU(6.0)(x)

    inp = keras.Input((size, size, 3))
    x = L.ZeroPadding2D(((0, 1), (0, 1)))(inp)
    x = L.Conv2D(8, 3, strides=2, padding="valid", use_bias=False)(x)
    x = L.BatchNormalization()(x)
    x = L.ReLU(6.0)(x)
    for f, s in [(16, 1), (32, 2), (32, 1), (64, 2), (64, 1), (128, 2)] + [(128, 1)] * 5 + [(256, 2), (256, 1)]:
        x = dw_block(x, f, s)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(classes)(x)
    x = L.Softmax()(x)
    m = keras.Model(inp, x, name="mobilenet_v1_025_96")
    rng = np.random.default_rng(0)      # non-trivial BN statistics, as a trained model has
    for layer in m.layers:
        if isinstance(layer, L.BatchNormalization):
            c = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, c), rng.normal(0, 0.1, c), rng.normal(0, 0.1, c),
                               rng.uniform(0.5, 2.0, c)])
    return m


def main():
    import emc
    m = mobilenet_v1_025()
    macs = 7_489_664
    rng = np.random.default_rng(1)
    cal = rng.uniform(0, 1, (32, 96, 96, 3)).astype(np.float32)
    with tempfile.TemporaryDirectory() as d:
        h5 = os.path.join(d, "m.h5")
        m.save(h5)
        t = time.perf_counter()
        rep = emc.save_kmodel(h5, os.path.join(d, "m.kmodel"), cal, "img_0_1", "minmax", 8, 3, report=False,
                              eval_limit=8)
        t_emc = time.perf_counter() - t

        import tensorflow as tf
        t = time.perf_counter()
        conv = tf.lite.TFLiteConverter.from_keras_model(m)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([c[None]] for c in cal)
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int8
        conv.convert()
        t_tfl = time.perf_counter() - t
    print(f"MobileNetV1-0.25 96x96 ({macs / 1e6:.2f} M MACs), 32 calibration images:")
    print(f"  emc save_kmodel (K210, minmax, 8-bit) : {t_emc:6.2f} s  (goal < 10 s: {'met' if t_emc < 10 else 'NOT met'})")
    print(f"  TFLite int8 PTQ of the same model     : {t_tfl:6.2f} s  (baseline, same run)")
    print(f"  ratio emc / TFLite                    : {t_emc / t_tfl:6.2f}")
    for name, mtr in rep.metrics.items():
        print(f"  kmodel vs float ({name}): max abs {mtr['max_abs']:.4f}, cosine {mtr['cosine']:.5f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
