"""Synthetic data and tiny models for the convertor tests (numpy only; Keras parts import lazily)."""
from __future__ import annotations

import os

import numpy as np

CLASSES = 4


def synth_images(n, seed, size=32):
    """n uint8 RGB images (n, size, size, 3) of 4 texture classes + labels."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    imgs, labels = [], []
    for i in range(n):
        c = int(rng.integers(CLASSES))
        f = rng.uniform(2, 6)
        ph = rng.uniform(0, 2 * np.pi)
        if c == 0:
            v = np.sin(2 * np.pi * f * yy + ph)
        elif c == 1:
            v = np.sin(2 * np.pi * f * xx + ph)
        elif c == 2:
            v = np.sin(2 * np.pi * f * (xx + yy) / 1.4 + ph)
        else:
            cx, cy, r = rng.uniform(0.25, 0.75), rng.uniform(0.25, 0.75), rng.uniform(0.1, 0.3)
            v = 2 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)) - 1
        col = rng.uniform(0.3, 1.0, 3)
        base = rng.uniform(0.0, 0.3, 3)
        img = base + col * (v[..., None] + 1) / 2 * 0.7 + rng.normal(0, 0.05, (size, size, 3))
        imgs.append(np.clip(img * 255, 0, 255).astype(np.uint8))
        labels.append(c)
    return np.stack(imgs), np.asarray(labels)


def write_pngs(folder, imgs):
    from PIL import Image
    os.makedirs(folder, exist_ok=True)
    for i, a in enumerate(imgs):
        Image.fromarray(a).save(os.path.join(folder, f"img_{i:04d}.png"))
    return folder


# ------------------------------------------------------------------ Keras models
def mobilenet_like(name="mbnet"):
    import keras
    from keras import layers as L
    i = keras.Input((32, 32, 3))
    x = L.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(i)
    x = L.BatchNormalization(momentum=0.9)(x)
    x = L.ReLU(6.0)(x)
    x = L.DepthwiseConv2D(3, padding="same", use_bias=False)(x)
    x = L.BatchNormalization(momentum=0.9)(x)
    x = L.ReLU(6.0)(x)
    x = L.Conv2D(16, 1, use_bias=False)(x)
    x = L.BatchNormalization(momentum=0.9)(x)
    x = L.ReLU(6.0)(x)
    x = L.ZeroPadding2D(((0, 1), (0, 1)))(x)
    x = L.DepthwiseConv2D(3, strides=2, padding="valid", use_bias=False)(x)
    x = L.BatchNormalization(momentum=0.9)(x)
    x = L.ReLU(6.0)(x)
    x = L.Conv2D(32, 1, use_bias=False)(x)
    x = L.BatchNormalization(momentum=0.9)(x)
    x = L.ReLU(6.0)(x)
    x = L.DepthwiseConv2D(3, strides=2, padding="same")(x)
    x = L.ReLU(6.0)(x)
    x = L.Conv2D(32, 1)(x)
    x = L.ReLU(6.0)(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dropout(0.1)(x)
    x = L.Dense(CLASSES, activation="softmax")(x)
    return keras.Model(i, x, name=name)


def resnet_like(name="resnet"):
    import keras
    from keras import layers as L

    def block(x, f, stride):
        y = L.Conv2D(f, 3, strides=stride, padding="same")(x)
        y = L.BatchNormalization(momentum=0.9)(y)
        y = L.Activation("relu")(y)
        y = L.Conv2D(f, 3, padding="same")(y)
        y = L.BatchNormalization(momentum=0.9)(y)
        s = x if stride == 1 and x.shape[-1] == f else L.Conv2D(f, 1, strides=stride)(x)
        return L.Activation("relu")(L.Add()([y, s]))

    i = keras.Input((32, 32, 3))
    x = L.Conv2D(16, 3, padding="same")(i)
    x = L.BatchNormalization(momentum=0.9)(x)
    x = L.Activation("relu")(x)
    x = block(x, 16, 1)
    x = block(x, 24, 2)
    x = block(x, 32, 2)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(CLASSES, activation="softmax")(x)
    return keras.Model(i, x, name=name)


def inception_like(name="inception"):
    import keras
    from keras import layers as L
    i = keras.Input((32, 32, 3))
    x = L.Conv2D(16, 3, padding="same", activation="relu")(i)
    x = L.MaxPooling2D(2)(x)
    b1 = L.Conv2D(8, 1, activation="relu")(x)
    b2 = L.Conv2D(8, 1, activation="relu")(x)
    b2 = L.Conv2D(12, 3, padding="same", activation="relu")(b2)
    b3 = L.MaxPooling2D(3, strides=1, padding="same")(x)
    b3 = L.Conv2D(8, 1, activation="relu")(b3)
    x = L.Concatenate()([b1, b2, b3])
    x = L.Conv2D(24, 3, strides=2, padding="same", activation="relu")(x)
    x = L.AveragePooling2D(2)(x)
    x = L.Flatten()(x)
    x = L.Dense(16, activation="relu")(x)
    x = L.Dense(CLASSES, activation="softmax")(x)
    return keras.Model(i, x, name=name)


BUILDERS = {"mbnet": mobilenet_like, "resnet": resnet_like, "inception": inception_like}


def trained(kind, epochs=4, seed=0):
    import keras
    keras.utils.set_random_seed(seed)
    m = BUILDERS[kind]()
    x, y = synth_images(400, seed=100 + seed)
    m.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
    m.fit(x.astype(np.float32) / 255, y, epochs=epochs, batch_size=32, verbose=0)
    return m


def to_tflite(model, path):
    import tensorflow as tf
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    data = conv.convert()
    with open(path, "wb") as f:
        f.write(data)
    return path


# ------------------------------------------------------------------ depthwise-heavy classifiers
def depthwise_net(name="dwnet", act="relu", blocks=(16, 32, 32, 64, 64)):
    """Depthwise-separable stack (dw 3x3 + BN + act, pw 1x1 + BN + act), stride 2 every other block."""
    import keras
    from keras import layers as L

    def a(x):
        return L.ReLU(6.0)(x) if act == "relu6" else L.ReLU()(x)
    i = keras.Input((32, 32, 3))
    x = a(L.BatchNormalization(momentum=0.9)(L.Conv2D(8, 3, padding="same", use_bias=False)(i)))
    for k, f in enumerate(blocks):
        x = a(L.BatchNormalization(momentum=0.9)(L.DepthwiseConv2D(3, strides=2 if k % 2 == 0 else 1,
                                                                   padding="same", use_bias=False)(x)))
        x = a(L.BatchNormalization(momentum=0.9)(L.Conv2D(f, 1, use_bias=False)(x)))
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dense(CLASSES, activation="softmax")(x)
    return keras.Model(i, x, name=name)


def keras_mobilenet(name="kmobilenet"):
    """keras.applications.MobileNet v1 alpha 0.25 (ReLU6, BN) at 32x32, untrained weights."""
    import keras
    return keras.applications.MobileNet(alpha=0.25, input_shape=(32, 32, 3), weights=None, classes=CLASSES,
                                        name=name)


DEPTHWISE_BUILDERS = {"dwnet": depthwise_net, "dwnet_relu6": lambda: depthwise_net("dwnet_relu6", "relu6"),
                      "kmobilenet": keras_mobilenet}


def trained_depthwise(kind, epochs=10, seed=0):
    import keras
    keras.utils.set_random_seed(seed)
    m = DEPTHWISE_BUILDERS[kind]()
    for layer in m.layers:          # BN statistics that settle within a few epochs
        if type(layer).__name__ == "BatchNormalization":
            layer.momentum = 0.9
    x, y = synth_images(600, seed=200 + seed)
    m.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    m.fit(x.astype(np.float32) / 255, y, epochs=epochs, batch_size=32, verbose=0)
    return m
