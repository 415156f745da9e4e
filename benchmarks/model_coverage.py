"""Model coverage: which public/real networks convert, run bit-exactly and keep their accuracy.

    python benchmarks/model_coverage.py [--quick] [--md FILE] [--json FILE] [--budget S] [names...]

A fixed list of models (keras.applications with weights=None, classic small networks built here, the
repository's .tflite files) x three targets: `generic` (TFLite-Micro-exact int8 profile), `k210` (stock
kpu.c layers only) and `k210+p` (`allow_patched=True`: Maix-EMC's patched layers and EMC CPU convolutions).
Each cell is one of

* ok: the kmodel was written; then `exact` says whether the Python reference equals, byte for byte on every
  held-out input, TFLite Micro on the int8 .tflite the kmodel reproduces (generic only) and the C runtime
  (runtime_c through emc.native, both targets); `top-1` is the agreement of the kmodel's outputs (Python
  reference) with the float model's (Keras predict / LiteRT on a float .tflite) on held-out synthetic inputs
  that are neither training nor calibration data. For int8 .tflite files there is no float model: top-1 is
  against TFLite Micro on the file itself. How top-1 is taken depends on the output: a class vector (argmax),
  a segmentation map (argmax per pixel), a detection head (the grid cell with the highest objectness);
  an autoencoder has none (cosine only).
* refused: EMC declined the model by name (UnsupportedLayersError: the first layer `name (type): reason`,
  or another documented EMC error).
* BUG: on --target generic, EMC accepted every layer, quantized the model to int8 TFLite itself and then
  refused that file (an operator its own emission produced that its generic importer does not take).
* CRASH: anything else (an exception that is not a deliberate refusal, a C runtime or TFLM process that died,
  a mismatch in output count): a bug, reported with the exception type and message.
* TIMEOUT: the conversion, or the checks after it, ran past the budget (--budget seconds each).

Keras models get weights from a short training on a synthetic task of their input kind (textures, keyword-
spotting-like feature maps, sensor sequences, mel spectra, boxes, masks) followed by BatchNorm statistics
re-estimated on training inputs, except NASNetMobile whose training alone takes ~2 min here: it keeps random
weights with BatchNorm statistics from data. The float model's accuracy on
the synthetic task's held-out labels is printed next to each model (`task acc`), so a degenerate network
(one class for everything) is visible. A model this script fails to build is a SKIP row (not EMC's fault).

No downloads, nothing outside the repository: keras.applications are built with weights=None.
The C runtime and TFLite Micro run in child processes, so a segfault or abort there is a CRASH cell, not the
end of the run. --quick leaves out the keras.applications networks and evaluates on 20 inputs.
Exit status 1 when any cell is BUG, CRASH, TIMEOUT or SKIP.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import asdict, dataclass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
TARGETS = ("generic", "k210", "k210+p")
N_EVAL = 50
N_CAL = 64
BUDGET = 300.0                   # seconds per conversion
CLASSES = 4


# ====================================================================== synthetic tasks (numpy only)
def textures(n, seed, size=32, channels=3):
    """n uint8 images (n, size, size, channels) of 4 texture classes (stripes in 3 directions, a blob)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    imgs, labels = np.empty((n, size, size, channels), np.uint8), rng.integers(0, CLASSES, n)
    for i, c in enumerate(labels):
        f, ph = rng.uniform(2, 6), rng.uniform(0, 2 * np.pi)
        if c == 0:
            v = np.sin(2 * np.pi * f * yy + ph)
        elif c == 1:
            v = np.sin(2 * np.pi * f * xx + ph)
        elif c == 2:
            v = np.sin(2 * np.pi * f * (xx + yy) / 1.4 + ph)
        else:
            cx, cy, r = rng.uniform(0.25, 0.75, 2).tolist() + [rng.uniform(0.1, 0.3)]
            v = 2 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r)) - 1
        col, base = rng.uniform(0.3, 1.0, channels), rng.uniform(0.0, 0.3, channels)
        img = base + col * (v[..., None] + 1) / 2 * 0.7 + rng.normal(0, 0.05, (size, size, channels))
        imgs[i] = np.clip(img * 255, 0, 255).astype(np.uint8)
    return imgs, labels


def squares(n, seed, size=32, classes=3):
    """Noise images with one coloured square each: (images uint8, masks (n,size,size) 0/1, boxes
    (n, 4) centre x, y, width, height in [0,1], colour class)."""
    rng = np.random.default_rng(seed)
    imgs = np.clip(rng.normal(60, 25, (n, size, size, 3)), 0, 255).astype(np.uint8)
    masks, boxes, cls = np.zeros((n, size, size), np.int64), np.zeros((n, 4), np.float32), rng.integers(0, classes, n)
    for i in range(n):
        w, h = rng.integers(size // 6, size // 2.5, 2)
        x0, y0 = rng.integers(0, size - w), rng.integers(0, size - h)
        colour = np.full(3, 40.0)
        colour[cls[i] % 3] = 230.0
        imgs[i, y0:y0 + h, x0:x0 + w] = np.clip(colour + rng.normal(0, 10, (h, w, 3)), 0, 255).astype(np.uint8)
        masks[i, y0:y0 + h, x0:x0 + w] = 1
        boxes[i] = ((x0 + w / 2) / size, (y0 + h / 2) / size, w / size, h / size)
    return imgs, masks, boxes, cls


def kws_features(n, seed):
    """(n, 49, 10, 1) keyword-spotting-like feature maps (49 frames x 10 coefficients): each class is a
    burst at its own place in time and coefficient band, on noise."""
    rng = np.random.default_rng(seed)
    t, k = np.mgrid[0:49, 0:10].astype(np.float32)
    labels = rng.integers(0, CLASSES, n)
    x = rng.normal(0, 0.6, (n, 49, 10)).astype(np.float32)
    for i, c in enumerate(labels):
        tc, kc = 8 + 11 * c + rng.normal(0, 2), [1.5, 7.5, 4.5, 2.5][c] + rng.normal(0, 0.7)
        x[i] += rng.uniform(2, 4) * np.exp(-((t - tc) / 5) ** 2 - ((k - kc) / 1.5) ** 2)
    return x[..., None], labels


def sensor(n, seed, steps=128, axes=3):
    """(n, steps, axes) accelerometer-like windows: class c is a sine of frequency (c + 1) * 2 cycles per
    window on a random mix of the axes, plus noise and a gravity offset."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps, dtype=np.float32) / steps
    labels = rng.integers(0, CLASSES, n)
    x = rng.normal(0, 0.3, (n, steps, axes)).astype(np.float32)
    for i, c in enumerate(labels):
        x[i] += np.sin(2 * np.pi * (c + 1) * 2 * t + rng.uniform(0, 2 * np.pi))[:, None] * rng.uniform(0.5, 1.5, axes)
        x[i, :, 2] += 1.0
    return x, labels


def mel_frames(n, seed, dim=640):
    """(n, 640) log-mel-like vectors (5 frames x 128 bins, as MLPerf Tiny AD): smooth spectra made of a
    few bumps, plus noise."""
    rng = np.random.default_rng(seed)
    f = np.arange(128, dtype=np.float32)
    x = np.empty((n, dim), np.float32)
    for i in range(n):
        spec = sum(rng.uniform(0.5, 2) * np.exp(-((f - rng.uniform(0, 128)) / rng.uniform(4, 20)) ** 2)
                   for _ in range(3)) - 1.0
        x[i] = np.concatenate([spec + rng.normal(0, 0.15, 128) for _ in range(dim // 128)])
    return x


# ====================================================================== models
@dataclass
class Prepared:
    name: str
    source: str                  # "Keras", "keras.applications", "float .tflite", "int8 .tflite"
    weights: str                 # how the weights came to be
    network: object              # a Keras model or a .tflite path
    cal: np.ndarray              # float calibration inputs (real values)
    ev: np.ndarray               # float held-out inputs (real values)
    golden: np.ndarray           # float reference outputs on ev (N, *output shape)
    metric: str = "top1"         # top1 | pixel | box | none
    pixel_scale: float | None = None   # K210 input: real = pixel_scale * u8 (image models)
    ev_q: np.ndarray | None = None     # int8 .tflite: the file's quantized inputs (ev = s * (ev_q - z))
    task_acc: float | None = None      # the float model on the synthetic task's held-out labels
    labels: np.ndarray | None = None
    seconds: float = 0.0               # build + train


def _keras():
    import logging

    import keras
    warnings.filterwarnings("ignore")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)     # predict's retracing notes
    return keras


def _fit(model, x, y, loss, epochs, batch=32, lr=2e-3):
    """A short training; then BatchNorm statistics re-estimated on up to 128 training inputs for the final
    weights (a few epochs leave the moving averages behind them and inference collapses onto one class)."""
    keras = _keras()
    bns = [layer for layer in model.layers if type(layer).__name__ == "BatchNormalization"]
    for layer in bns:
        layer.momentum = 0.9
    model.compile(optimizer=keras.optimizers.Adam(lr), loss=loss)
    model.fit(x, y, epochs=epochs, batch_size=batch, verbose=0, shuffle=True)
    _bn_from_data(model, x[:128])
    return model


def _bn_from_data(model, x):
    """Moving mean/variance of every BatchNormalization := the statistics of x (one training-mode pass)."""
    bns = [layer for layer in model.layers if type(layer).__name__ == "BatchNormalization"]
    if bns:
        for layer in bns:
            layer.momentum = 0.0
        model(x, training=True)


CE = "sparse_categorical_crossentropy"


def _images01(size, channels=3):
    return lambda n, seed: (lambda im, lab: (im.astype(np.float32) / 255, lab))(*textures(n, seed, size, channels))


def _images255(size):
    return lambda n, seed: (lambda im, lab: (im.astype(np.float32), lab))(*textures(n, seed, size))


def m_mobilenet_v1():
    keras = _keras()
    m = keras.applications.MobileNet(input_shape=(96, 96, 3), alpha=0.25, weights=None, classes=CLASSES)
    return dict(model=m, task=_images01(96), epochs=3, n_train=256, pixel_scale=1 / 255,
                source="keras.applications")


def m_mobilenet_v2():
    keras = _keras()
    m = keras.applications.MobileNetV2(input_shape=(96, 96, 3), alpha=0.35, weights=None, classes=CLASSES)
    return dict(model=m, task=_images01(96), epochs=3, n_train=256, pixel_scale=1 / 255,
                source="keras.applications")


def m_mobilenet_v3_small():
    keras = _keras()
    m = keras.applications.MobileNetV3Small(input_shape=(96, 96, 3), alpha=0.75, weights=None, classes=CLASSES,
                                            classifier_activation=None)      # logits; pixels 0..255 in
    return dict(model=m, task=_images255(96), epochs=3, n_train=256, pixel_scale=1.0,
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), source="keras.applications")


def m_efficientnet_b0():
    keras = _keras()
    m = keras.applications.EfficientNetB0(input_shape=(64, 64, 3), weights=None, classes=CLASSES)
    return dict(model=m, task=_images255(64), epochs=3, n_train=256, pixel_scale=1.0,
                source="keras.applications")


def m_nasnet_mobile():
    keras = _keras()
    m = keras.applications.NASNetMobile(input_shape=(96, 96, 3), weights=None, classes=CLASSES)
    task = _images01(96)
    _bn_from_data(m, task(32, 4)[0])         # no training (~2 min for one epoch here): BN statistics from data
    return dict(model=m, task=task, epochs=0, n_train=0, pixel_scale=1 / 255, n_cal=32,
                weights="random (BN statistics from 32 inputs)", source="keras.applications")


def m_lenet5():
    keras = _keras()
    L = keras.layers
    i = keras.Input((32, 32, 1))
    x = L.MaxPooling2D(2)(L.Conv2D(6, 5, activation="relu")(i))
    x = L.MaxPooling2D(2)(L.Conv2D(16, 5, activation="relu")(x))
    x = L.Dense(120, activation="relu")(L.Flatten()(x))
    x = L.Dense(84, activation="relu")(x)
    m = keras.Model(i, L.Dense(CLASSES, activation="softmax")(x), name="lenet5")
    return dict(model=m, task=_images01(32, 1), epochs=5, n_train=512, pixel_scale=1 / 255)


def m_ds_cnn_kws():
    keras = _keras()
    L = keras.layers

    def bn_relu(x):
        return L.ReLU()(L.BatchNormalization()(x))
    i = keras.Input((49, 10, 1))
    x = bn_relu(L.Conv2D(32, (10, 4), strides=2, padding="same", use_bias=False)(i))
    for _ in range(3):
        x = bn_relu(L.DepthwiseConv2D(3, padding="same", use_bias=False)(x))
        x = bn_relu(L.Conv2D(32, 1, use_bias=False)(x))
    x = L.Flatten()(L.AveragePooling2D(pool_size=(25, 5))(x))
    m = keras.Model(i, L.Dense(CLASSES, activation="softmax")(x), name="ds_cnn_kws")
    return dict(model=m, task=kws_features, epochs=6, n_train=512)


def m_dense_autoencoder():
    keras = _keras()
    L = keras.layers
    i = keras.Input((640,))
    x = i
    for units in (128, 128, 8, 128, 128):
        x = L.ReLU()(L.BatchNormalization()(L.Dense(units)(x)))
    m = keras.Model(i, L.Dense(640)(x), name="dense_autoencoder")
    task = lambda n, seed: (lambda v: (v, v))(mel_frames(n, seed))
    return dict(model=m, task=task, epochs=6, n_train=512, loss="mse", metric="none")


def m_conv1d_sensor():
    keras = _keras()
    L = keras.layers
    i = keras.Input((128, 3))
    x = L.Conv1D(16, 5, activation="relu")(i)
    x = L.MaxPooling1D(2)(x)
    x = L.Conv1D(32, 5, strides=2, activation="relu")(x)
    x = L.GlobalAveragePooling1D()(x)
    m = keras.Model(i, L.Dense(CLASSES, activation="softmax")(x), name="conv1d_sensor")
    return dict(model=m, task=sensor, epochs=5, n_train=512)


def _short_sensor(n, seed):
    x, y = sensor(n, seed, steps=32)
    return x, y


def _recurrent(layer):
    """A 16-unit recurrent layer (keras.layers.<layer>) over 32 sensor steps, then a softmax classifier."""
    keras = _keras()
    i = keras.Input((32, 3))
    out = keras.layers.Dense(CLASSES, activation="softmax")(getattr(keras.layers, layer)(16)(i))
    return dict(model=keras.Model(i, out, name=layer.lower()), task=_short_sensor, epochs=15, n_train=512)


def m_gru():
    return _recurrent("GRU")


def m_lstm():
    return _recurrent("LSTM")


YOLO_GRID, YOLO_A, YOLO_C = 8, 2, 3


def _yolo_task(n, seed):
    """64x64 squares -> (8, 8, A*(5+C)) targets: objectness, x/y in the cell, w, h, class one-hot for every
    anchor of the cell holding the square's centre."""
    im, _, boxes, cls = squares(n, seed, size=64, classes=YOLO_C)
    y = np.zeros((n, YOLO_GRID, YOLO_GRID, YOLO_A, 5 + YOLO_C), np.float32)
    for i, (cx, cy, w, h) in enumerate(boxes):
        gx, gy = min(int(cx * YOLO_GRID), YOLO_GRID - 1), min(int(cy * YOLO_GRID), YOLO_GRID - 1)
        y[i, gy, gx, :, :5] = (1, cx * YOLO_GRID - gx, cy * YOLO_GRID - gy, w, h)
        y[i, gy, gx, :, 5 + cls[i]] = 1
    return im.astype(np.float32) / 255, y.reshape(n, YOLO_GRID, YOLO_GRID, -1)


def m_yolo_head():
    keras = _keras()
    L = keras.layers
    i = keras.Input((64, 64, 3))
    x = i
    for f in (16, 32, 32):
        x = L.ReLU()(L.BatchNormalization()(L.Conv2D(f, 3, strides=2, padding="same", use_bias=False)(x)))
    x = L.ReLU()(L.BatchNormalization()(L.Conv2D(64, 3, padding="same", use_bias=False)(x)))
    m = keras.Model(i, L.Conv2D(YOLO_A * (5 + YOLO_C), 1, name="head")(x), name="yolo_head")
    return dict(model=m, task=_yolo_task, epochs=8, n_train=512, loss="mse", metric="box", pixel_scale=1 / 255)


def _seg_task(n, seed):
    im, masks, _, _ = squares(n, seed, size=32)
    return im.astype(np.float32) / 255, masks


def m_unet():
    keras = _keras()
    L = keras.layers
    i = keras.Input((32, 32, 3))
    e1 = L.Conv2D(8, 3, padding="same", activation="relu")(i)
    e2 = L.Conv2D(16, 3, padding="same", activation="relu")(L.MaxPooling2D(2)(e1))
    b = L.Conv2D(32, 3, padding="same", activation="relu")(L.MaxPooling2D(2)(e2))
    d2 = L.Conv2D(16, 3, padding="same", activation="relu")(L.Concatenate()([L.UpSampling2D(2)(b), e2]))
    d1 = L.Conv2D(8, 3, padding="same", activation="relu")(L.Concatenate()([L.UpSampling2D(2)(d2), e1]))
    m = keras.Model(i, L.Conv2D(2, 1, activation="softmax")(d1), name="unet")
    return dict(model=m, task=_seg_task, epochs=6, n_train=512, metric="pixel", pixel_scale=1 / 255)


def m_se_cnn():
    keras = _keras()
    L = keras.layers

    def se(x, c):
        s = L.Dense(c // 4, activation="relu")(L.GlobalAveragePooling2D()(x))
        s = L.Reshape((1, 1, c))(L.Dense(c, activation="sigmoid")(s))
        return L.Multiply()([x, s])
    i = keras.Input((32, 32, 3))
    x = L.MaxPooling2D(2)(se(L.Conv2D(16, 3, padding="same", activation="relu")(i), 16))
    x = se(L.Conv2D(32, 3, padding="same", activation="relu")(x), 32)
    m = keras.Model(i, L.Dense(CLASSES, activation="softmax")(L.GlobalAveragePooling2D()(x)), name="se_cnn")
    return dict(model=m, task=_images01(32), epochs=8, n_train=512, pixel_scale=1 / 255)


KERAS = {
    "mobilenet_v1_0.25": m_mobilenet_v1,
    "mobilenet_v2_0.35": m_mobilenet_v2,
    "mobilenet_v3s_0.75": m_mobilenet_v3_small,
    "efficientnet_b0": m_efficientnet_b0,
    "nasnet_mobile": m_nasnet_mobile,
    "lenet5": m_lenet5,
    "ds_cnn_kws": m_ds_cnn_kws,
    "dense_autoencoder": m_dense_autoencoder,
    "conv1d_sensor": m_conv1d_sensor,
    "gru": m_gru,
    "lstm": m_lstm,
    "yolo_head": m_yolo_head,
    "unet_upsample_concat": m_unet,
    "se_cnn": m_se_cnn,
}
HEAVY = {"mobilenet_v1_0.25", "mobilenet_v2_0.35", "mobilenet_v3s_0.75", "efficientnet_b0", "nasnet_mobile"}

INT8_TFLITE = {                  # MLPerf Tiny reference models (tests/data/SOURCES.md)
    "mlperf_kws_dscnn.tflite": "tests/data/kws_ref_model.tflite",
    "mlperf_ad01.tflite": "tests/data/ad01_int8.tflite",
    "mlperf_resnet8.tflite": "tests/data/pretrainedResnet_quant.tflite",
    "mlperf_vww_96.tflite": "tests/data/vww_96_int8.tflite",
}
FLOAT_TFLITE = {                 # the convertor tests' float fixtures (tests/convert/make_fixtures.py)
    "mbnet_float.tflite": "tests/convert/data/mbnet_float.tflite",
    "resnet_float.tflite": "tests/convert/data/resnet_float.tflite",
    "inception_float.tflite": "tests/convert/data/inception_float.tflite",
}
MODELS = list(KERAS) + list(INT8_TFLITE) + list(FLOAT_TFLITE)


def prepare(name, n_eval=N_EVAL):
    """Build (and train) one model; its calibration and held-out inputs and its float outputs on them."""
    t = time.time()
    if name in KERAS:
        keras = _keras()
        keras.utils.set_random_seed(0)
        spec = KERAS[name]()
        model, task = spec["model"], spec["task"]
        x, y = task(spec["n_train"], 1) if spec["epochs"] else (None, None)
        if spec["epochs"]:
            _fit(model, x, y, spec.get("loss", CE), spec["epochs"])
        cal, _ = task(spec.get("n_cal", N_CAL), 2)
        ev, labels = task(n_eval, 3)
        golden = np.asarray(model.predict(ev, verbose=0, batch_size=50), np.float32)
        p = Prepared(name, spec.get("source", "Keras"),
                     spec.get("weights") or f"trained {spec['epochs']} ep, {spec['n_train']} synthetic",
                     model, cal, ev, golden, spec.get("metric", "top1"), spec.get("pixel_scale"))
        p.labels = labels
        p.task_acc = task_accuracy(p.metric, golden, labels)
    elif name in FLOAT_TFLITE:
        from ai_edge_litert.interpreter import Interpreter
        path = str(ROOT / FLOAT_TFLITE[name])
        task = _images01(32)
        cal, _ = task(N_CAL, 2)
        ev, labels = task(n_eval, 3)
        it = Interpreter(model_path=path)
        it.allocate_tensors()
        i, o = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]
        outs = []
        for e in ev:
            it.set_tensor(i, e[None])
            it.invoke()
            outs.append(it.get_tensor(o)[0].copy())
        p = Prepared(name, "float .tflite", "trained (repo fixture)", path, cal, ev, np.stack(outs),
                     pixel_scale=1 / 255)
        p.labels = labels
        p.task_acc = task_accuracy("top1", p.golden, labels)
    elif name in INT8_TFLITE:
        p = _prepare_int8(name, str(ROOT / INT8_TFLITE[name]), n_eval)
    else:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    p.seconds = time.time() - t
    return p


def _prepare_int8(name, path, n_eval):
    """int8 file: inputs drawn in the file's own quantized domain (textures for images, the synthetic
    features otherwise); the golden is TFLite Micro on the file (dequantized)."""
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=path)
    ind, outd = it.get_input_details()[0], it.get_output_details()[0]
    (s, z), (so, zo) = ind["quantization"], outd["quantization"]
    shape = tuple(int(v) for v in ind["shape"][1:])

    def draw(n, seed):
        if shape == (49, 10, 1):
            real = kws_features(n, seed)[0] * 8 - 20          # roughly the MFCC range the file's scale covers
        elif shape == (640,):
            real = mel_frames(n, seed) * 10 - 20
        else:                                                  # images: pixels, as the file's scale says
            px = textures(n, seed, shape[0], shape[2])[0].astype(np.float32)
            real = px * (1.0 if s > 0.5 else 1 / 255)
        return np.clip(np.round(real / s + z), -128, 127).astype(np.int8)

    ev_q, cal_q = draw(n_eval, 3), draw(N_CAL, 2)
    deq = lambda q: (s * (q.astype(np.float32) - z)).astype(np.float32)
    with tempfile.TemporaryDirectory() as d:
        outs = _tflm_outputs(open(path, "rb").read(), ev_q, pathlib.Path(d))
    golden = so * (outs.astype(np.float32) - zo)
    metric = "none" if shape == (640,) else "top1"
    return Prepared(name, "int8 .tflite", "trained (MLPerf Tiny file)", path, deq(cal_q), deq(ev_q), golden,
                    metric, ev_q=ev_q)


def task_accuracy(metric, out, labels):
    out = np.asarray(out)
    if metric == "top1":
        return float(np.mean(out.reshape(len(out), -1).argmax(1) == labels))
    if metric == "pixel":
        return float(np.mean(out.argmax(-1) == labels))
    if metric == "box":                       # labels: the training targets; the cell holding the square
        return float(np.mean(_best_cell(out) == _best_cell(labels)))
    return None


def _best_cell(a):
    """The grid cell with the highest objectness (over its anchors) of each detection head output."""
    return a.reshape(len(a), YOLO_GRID * YOLO_GRID, YOLO_A, 5 + YOLO_C)[..., 0].max(2).argmax(1)


def agreement(metric, want, got):
    """Top-1 agreement of got (kmodel) with want (float), both (N, *output shape) in NHWC order."""
    n = len(want)
    if metric == "top1":
        return float(np.mean(want.reshape(n, -1).argmax(1) == got.reshape(n, -1).argmax(1)))
    if metric == "pixel":
        return float(np.mean(want.argmax(-1) == got.argmax(-1)))
    if metric == "box":
        return float(np.mean(_best_cell(want) == _best_cell(got)))
    return None


def cosine(want, got):
    a, b = want.reshape(len(want), -1).astype(np.float64), got.reshape(len(got), -1).astype(np.float64)
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    return float(np.mean(np.where((na < 1e-12) & (nb < 1e-12), 1.0, np.sum(a * b, 1) / (na * nb + 1e-12))))


# ====================================================================== child processes (C runtime, TFLM)
def _worker(kind, d):
    """In a child process: run the kmodel on the C runtime, or the .tflite on TFLite Micro, over d/inputs.npy;
    every output of every input -> d/out_<kind>.npz (keys '<input>_<output>')."""
    d = pathlib.Path(d)
    xs = np.load(d / "inputs.npy")
    res = {}
    if kind == "c":
        from emc import native
        nm = native.NativeModel((d / "model.kmodel").read_bytes())
        for i, x in enumerate(xs):
            for k, o in enumerate(nm.run(np.ascontiguousarray(x))):
                res[f"{i}_{k}"] = np.asarray(o).reshape(-1)
    else:
        from tflite_micro.python.tflite_micro import runtime
        ip = runtime.Interpreter.from_bytes((d / "model.tflite").read_bytes(), arena_size=16 << 20)
        for i, x in enumerate(xs):
            ip.reset()
            ip.set_input(x[None], 0)
            ip.invoke()
            res[f"{i}_0"] = np.asarray(ip.get_output(0)).reshape(-1)
    np.savez(d / f"out_{kind}.npz", **res)


class ChildError(RuntimeError):
    pass


def _child(kind, d, n, timeout=BUDGET):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    p = subprocess.run([sys.executable, str(pathlib.Path(__file__).resolve()), "--_worker", kind, str(d)],
                       capture_output=True, text=True, timeout=timeout, env=env)
    what = {"c": "C runtime", "tflm": "TFLite Micro"}[kind]
    if p.returncode != 0:
        died = f"killed by signal {-p.returncode}" if p.returncode < 0 else f"exit {p.returncode}"
        tail = (p.stderr.strip().splitlines() or [""])[-1][:200]
        raise ChildError(f"{what} process {died}: {tail}")
    z = np.load(d / f"out_{kind}.npz")
    outs = [[z[k] for k in sorted((k for k in z.files if k.startswith(f"{i}_")),
                                  key=lambda k: int(k.split("_")[1]))] for i in range(n)]
    return outs


def _tflm_outputs(tflite_bytes, xs, d):
    d.mkdir(parents=True, exist_ok=True)
    (d / "model.tflite").write_bytes(tflite_bytes)
    np.save(d / "inputs.npy", xs)
    return np.stack([o[0] for o in _child("tflm", d, len(xs))])


# ====================================================================== one cell
@dataclass
class Cell:
    model: str
    target: str
    status: str = ""             # ok | refused | BUG | CRASH | TIMEOUT | SKIP (model not built)
    exact_tflm: bool | None = None
    exact_c: bool | None = None
    top1: float | None = None
    cos: float | None = None
    n: int = 0
    reason: str = ""             # refusal / crash message, or a note
    stage: str = ""              # where a crash happened
    convert_s: float = 0.0
    total_s: float = 0.0
    kmodel: str = ""             # path of the kmodel (when written)
    tflite: str = ""             # generic: path of the int8 .tflite the kmodel reproduces
    layers: int = 0

    @property
    def exact(self):
        checks = [v for v in (self.exact_tflm, self.exact_c) if v is not None]
        return bool(checks) and all(checks)


class CellTimeout(BaseException):
    """Raised by SIGALRM; a BaseException so that no `except Exception` on the way swallows it."""


class _Budget:
    """SIGALRM after `seconds`: raises CellTimeout wherever the code is. Library code on the way may turn that
    exception into another one (TensorFlow re-raises what it catches), so `fired` is what says a timeout."""

    def __init__(self, seconds):
        self.seconds, self.fired = seconds, False

    def _alarm(self, signum, frame):
        self.fired = True
        raise CellTimeout()

    def __enter__(self):
        self.old = signal.signal(signal.SIGALRM, self._alarm)
        signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.old)
        return False


def _short(text, n=110):
    from emc.errors import one_line
    s = one_line(text) if isinstance(text, BaseException) else " ".join(str(text).split())
    return s if len(s) <= n else s[:n - 3] + "..."


OWN_MODEL = "the int8 model quantized from"      # how emc.convert names the .tflite it made (generic target)


def classify(exc):
    """(status, reason) for an exception out of save_kmodel: a refusal is EMC declining by design
    (UnsupportedLayersError, an EmcError, a ValueError raised by a `raise` statement in emc/); BUG when
    the generic importer refuses the int8 .tflite that EMC's own quantizer emitted (every layer of the
    model was accepted, the gap is inside EMC); else CRASH."""
    from emc.errors import EXIT_INTERNAL, exit_code_for
    from emc.ir import UnsupportedLayersError
    if isinstance(exc, UnsupportedLayersError):
        n, t, why = exc.items[0]
        more = f" (+{len(exc.items) - 1} more)" if len(exc.items) > 1 else ""
        return "refused", _short(f"{n} ({t}): {why or 'unsupported'}{more}", 200)
    if OWN_MODEL in str(exc):
        return "BUG", _short("EMC refused the int8 model it made itself: " + str(exc).split(": ", 1)[-1], 180)
    tb = traceback.extract_tb(exc.__traceback__)
    last = tb[-1] if tb else None
    in_emc = last is not None and f"{os.sep}emc{os.sep}" in last.filename
    deliberate = in_emc and (last.line or "").lstrip().startswith("raise")
    if exit_code_for(exc) != EXIT_INTERNAL and (type(exc).__module__.startswith("emc") or deliberate):
        return "refused", _short(f"{type(exc).__name__}: {_short(exc, 200)}", 200)
    where = f" at {pathlib.Path(last.filename).name}:{last.lineno}" if last else ""
    return "CRASH", _short(f"{type(exc).__name__}: {_short(exc, 200)}{where}", 180)


def device_input(p, target, rep, x, q=None):
    """What the kmodel takes for the float input x (q: the int8 .tflite's own quantized input)."""
    if target == "generic":
        return q if q is not None else x
    if rep.input_quant is None:
        return x.astype(np.float32)
    s, z = rep.input_quant
    return np.ascontiguousarray(np.clip(np.round(x / s + z), 0, 255).astype(np.uint8).transpose(2, 0, 1))


def to_nhwc(target, flat, shape):
    """A kmodel output (flat) in the float model's layout: the K210 keeps (H, W, C) maps as planar CHW."""
    if target != "generic" and len(shape) == 3:
        h, w, c = shape
        return flat.reshape(c, h, w).transpose(1, 2, 0)
    return flat.reshape(shape)


def run_cell(p, target, workdir, budget=BUDGET):
    """Convert p for target and check the kmodel: Cell (never raises, except KeyboardInterrupt)."""
    import emc
    from emc.kmodel import load
    from emc.reference import run
    cell = Cell(p.name, target, n=len(p.ev))
    workdir = pathlib.Path(workdir) / f"{p.name}__{target.replace('+', '_')}"
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "model.kmodel"
    t0 = time.time()
    kw = dict(report=False, eval_limit=0)
    if target != "generic":
        kw.update(target="k210", allow_patched=target == "k210+p")
        if p.pixel_scale is not None:
            kw["input_quant"] = (p.pixel_scale, 0)
    else:
        kw["target"] = "generic"
    err = os.dup(2)
    timer = _Budget(budget)
    try:
        with timer, warnings.catch_warnings(), open(workdir / "convert.stderr", "w") as log:
            warnings.simplefilter("ignore")
            os.dup2(log.fileno(), 2)             # the TFLite converter's own prints
            rep = emc.save_kmodel(p.network, str(path), p.cal, **kw)
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # noqa: BLE001 -- every failure is a cell of the table
        if timer.fired:
            cell.status, cell.reason = "TIMEOUT", f"conversion still running after {budget:g} s"
        else:
            cell.status, cell.reason = classify(e)
            cell.stage = "convert"
    finally:
        os.dup2(err, 2)
        os.close(err)
    cell.convert_s = time.time() - t0
    if cell.status:
        cell.total_s = time.time() - t0
        return cell
    cell.kmodel = str(path)
    stage = "reference"
    timer = _Budget(budget).__enter__()          # left in the finally below (the body is long to indent)
    try:
        km = load(path)
        cell.layers = len(km.layers)
        qs = p.ev_q if p.ev_q is not None else [None] * len(p.ev)
        xs = np.stack([device_input(p, target, rep, x, q) for x, q in zip(p.ev, qs)])
        ref = [run(km, x) for x in xs]
        stage = "C runtime"
        np.save(workdir / "inputs.npy", xs)
        c = _child("c", workdir, len(xs))
        cell.exact_c = _same(ref, c)
        if target == "generic":
            stage = "TFLite Micro"
            golden_tfl = rep.tflite if rep.tflite is not None else pathlib.Path(p.network).read_bytes()
            (workdir / "model.tflite").write_bytes(golden_tfl)
            cell.tflite = str(workdir / "model.tflite")
            tf = _child("tflm", workdir, len(xs))
            cell.exact_tflm = _same([r[:1] for r in ref], tf)
        stage = "metrics"
        if any(len(r) != 1 for r in ref):
            raise ChildError(f"{len(ref[0])} outputs from a one-output model")
        out_shape = p.golden.shape[1:]
        got = np.stack([to_nhwc(target, np.asarray(r[0]).reshape(-1), out_shape) for r in ref]).astype(np.float32)
        if np.asarray(ref[0][0]).dtype == np.int8:            # int8 file on generic: dequantize as TFLM's
            got = _dequantize_like(p, got)
        cell.top1 = agreement(p.metric, p.golden, got)
        cell.cos = cosine(p.golden, got)
        cell.status = "ok"
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # noqa: BLE001
        if timer.fired or isinstance(e, subprocess.TimeoutExpired):
            cell.status, cell.reason, cell.stage = "TIMEOUT", f"{stage} still running after {budget:g} s", stage
        else:
            cell.status, cell.stage = "CRASH", stage
            cell.reason = _short(f"{stage}: {type(e).__name__}: {_short(e, 200)}", 180)
    finally:
        timer.__exit__()
    cell.total_s = time.time() - t0
    return cell


def _dequantize_like(p, got):
    from ai_edge_litert.interpreter import Interpreter
    so, zo = Interpreter(model_path=str(p.network)).get_output_details()[0]["quantization"]
    return (so * (got - zo)).astype(np.float32)


def _same(ref, other):
    """Every output of every input byte-identical (dtype included)."""
    if len(ref) != len(other):
        return False
    for r, o in zip(ref, other):
        if len(r) != len(o):
            return False
        for a, b in zip(r, o):
            a, b = np.asarray(a).reshape(-1), np.asarray(b).reshape(-1)
            if a.dtype != b.dtype or a.tobytes() != b.tobytes():
                return False
    return True


# ====================================================================== table
PATCHED_HINT = "; --allow-patched runs it as EMC CPU layers (not in stock kpu.c)"


def cell_text(c, wide=False):
    if c.status == "ok":
        ex = "exact" if c.exact else "NOT EXACT(" + ",".join(
            k for k, v in (("TFLM", c.exact_tflm), ("C", c.exact_c)) if v is False) + ")"
        acc = (f"top-1 {100 * c.top1:.0f}%, " if c.top1 is not None else "") + f"cos {c.cos:.4f}"
        return f"ok, {ex}, {acc}"
    if wide:
        return f"{c.status}: {c.reason}"
    why = c.reason.replace(PATCHED_HINT, "; --allow-patched: CPU layer")
    return f"{c.status}: {_short(why, 90)}"


def summary(cells, target):
    cs = [c for c in cells if c.target == target]
    ok = [c for c in cs if c.status == "ok"]
    tops = [c.top1 for c in ok if c.top1 is not None]
    med = f"{100 * float(np.median(tops)):.0f}%" if tops else "n/a"
    crashes = sum(c.status in ("BUG", "CRASH", "TIMEOUT") for c in cs)
    return (f"{target}: {len(ok)}/{len(cs)} convert, {sum(c.exact for c in ok)} exact, median top-1 {med} "
            f"(over {len(tops)} with a top-1), {sum(c.status == 'refused' for c in cs)} refused, {crashes} bug/crash/timeout"
            + (f", {sum(c.status == 'SKIP' for c in cs)} not built" if any(c.status == "SKIP" for c in cs) else ""))


def print_table(preps, cells, targets=TARGETS, out=sys.stdout):
    w = out.write
    w(f"\n{'model':24s} {'source':19s} {'weights':34s} {'task acc':>8s}  {'target':7s} {'result':7s} "
      f"{'TFLM':>5s} {'C':>5s} {'top-1':>6s} {'cosine':>7s} {'conv s':>6s} {'cell s':>6s}  reason / note\n")
    for c in cells:
        p = preps.get(c.model)
        acc = f"{100 * p.task_acc:.0f}%" if p is not None and p.task_acc is not None else "-"
        yn = lambda v: "-" if v is None else ("yes" if v else "NO")
        w(f"{c.model:24s} {p.source if p else '':19s} {p.weights if p else '':34s} {acc:>8s}  {c.target:7s} "
          f"{c.status:7s} {yn(c.exact_tflm):>5s} {yn(c.exact_c):>5s} "
          f"{'-' if c.top1 is None else f'{100 * c.top1:.0f}%':>6s} {'-' if c.cos is None else f'{c.cos:.4f}':>7s} "
          f"{c.convert_s:6.1f} {c.total_s:6.1f}  {c.reason}\n")
    w("\n")
    for t in targets:
        w(summary(cells, t) + "\n")


def markdown(preps, cells, targets=TARGETS):
    by = {(c.model, c.target): c for c in cells}
    names = list(dict.fromkeys(c.model for c in cells))
    lines = ["| model | source | weights | float task acc | " + " | ".join(targets) + " |",
             "|---|---|---|---|" + "---|" * len(targets)]
    for n in names:
        p = preps.get(n)
        acc = f"{100 * p.task_acc:.0f} %" if p is not None and p.task_acc is not None else "–"
        row = [n, p.source if p else "", p.weights if p else "", acc]
        for t in targets:
            c = by.get((n, t))
            row.append("" if c is None else cell_text(c).replace("|", "/") + f" ({c.total_s:.1f} s)")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n\n" + "\n".join(summary(cells, t) for t in targets) + "\n"


# ====================================================================== main
def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--_worker"]:
        _worker(argv[1], argv[2])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help=f"models (default: all): {', '.join(MODELS)}")
    ap.add_argument("--quick", action="store_true", help="leave out the keras.applications networks; 20 inputs")
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--budget", type=float, default=BUDGET, help="seconds per conversion (default %(default)s)")
    ap.add_argument("--md", help="also write the table as markdown to this file")
    ap.add_argument("--json", help="also write the cells as JSON to this file")
    ap.add_argument("--workdir", help="keep kmodels here (default: a temporary directory)")
    a = ap.parse_args(argv)
    names = a.names or [n for n in MODELS if not (a.quick and n in HEAVY)]
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        ap.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(MODELS)}")
    targets = [t for t in a.targets.split(",") if t]
    if set(targets) - set(TARGETS):
        ap.error(f"targets are {', '.join(TARGETS)}")
    n_eval = 20 if a.quick else N_EVAL
    t_all = time.time()
    from emc import native
    native.lib()                      # build the host C runtime once, before any child uses it
    tmp = tempfile.TemporaryDirectory(prefix="emc_cov_") if not a.workdir else None
    workdir = pathlib.Path(a.workdir or tmp.name)
    preps, cells = {}, []
    try:
        for name in names:
            try:
                p = prepare(name, n_eval)
            except KeyboardInterrupt:
                raise
            except BaseException as e:  # noqa: BLE001
                print(f"{name}: could not build the model: {type(e).__name__}: {_short(e, 300)}", flush=True)
                cells += [Cell(name, t, "SKIP", reason=f"model build failed (not EMC): {_short(e, 150)}",
                               stage="build") for t in targets]
                continue
            preps[name] = p
            acc = f", task acc {100 * p.task_acc:.0f}%" if p.task_acc is not None else ""
            print(f"{name}: {p.source}, {p.weights} ({p.seconds:.1f} s{acc})", flush=True)
            for t in targets:
                c = run_cell(p, t, workdir, a.budget)
                cells.append(c)
                print(f"  {t:7s} {cell_text(c, wide=True)}  [{c.total_s:.1f} s]", flush=True)
    finally:
        if tmp is not None:
            tmp.cleanup()
    print_table(preps, cells, targets)
    print(f"total {time.time() - t_all:.0f} s; command: python benchmarks/model_coverage.py {' '.join(argv)}".rstrip())
    if a.md:
        pathlib.Path(a.md).write_text(markdown(preps, cells, targets))
    if a.json:
        pathlib.Path(a.json).write_text(json.dumps([asdict(c) for c in cells], indent=1))
    return 1 if any(c.status in ("BUG", "CRASH", "TIMEOUT", "SKIP") for c in cells) else 0


if __name__ == "__main__":
    sys.exit(main())
