"""Float models on --target generic: the frontend's IR is quantized to TFLite int8 by the real
TFLite converter on the calibration data (per-channel weights, per-tensor activations), imported
onto the generic layers; the kmodel's outputs equal TFLite Micro's on that int8 model (Python
reference and C runtime, bit for bit) and agree with the float model (top-1 reported)."""
import numpy as np
import pytest

import emc
from emc.kmodel import load
from emc.reference import run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def native():
    from emc import native
    native.lib()
    return native


def _check(rep, path, xs, native, min_top1):
    tflm = pytest.importorskip("tflite_micro")
    km = load(path)
    assert [layer.NAME for layer in km.layers][1] == "GENERIC_QUANTIZE"     # float input, int8 inside
    nm = native.NativeModel(open(path, "rb").read())
    ip = tflm.runtime.Interpreter.from_bytes(rep.tflite)
    for x in xs[:10]:
        ip.reset()              # variable tensors (an LSTM's state) back to zero: each inference starts anew
        ip.set_input(x[None], 0)
        ip.invoke()
        want = np.asarray(ip.get_output(0)).reshape(-1)
        assert run(km, x)[0].tobytes() == want.tobytes()
        assert nm.run(x)[0].tobytes() == want.tobytes()
    (m,) = rep.metrics.values()
    assert m["n"] == len(xs) and m["top1"] >= min_top1, rep.text()
    return m


def test_float_tflite_mobilenet_style(tmp_path, native):
    pytest.importorskip("tensorflow")
    xs = np.random.default_rng(0).uniform(0, 1, (48, 32, 32, 3)).astype(np.float32)
    path = tmp_path / "m.kmodel"
    rep = emc.save_kmodel("tests/convert/data/mbnet_float.tflite", str(path), xs, target="generic", report=True)
    m = _check(rep, path, xs, native, 0.9)
    assert "top-1 agreement" in (tmp_path / "m.kmodel.report.txt").read_text()
    print(f"mbnet_float.tflite generic: top-1 {m['top1']:.3f}, cosine {m['cosine']:.5f}")


def test_live_keras_model(tmp_path, native):
    """A live Keras model (Conv/BN/ReLU6, depthwise stride 2, residual Add, GAP, Dense, softmax)."""
    keras = pytest.importorskip("keras")
    L = keras.layers
    inp = keras.Input((24, 24, 3))
    x = L.Conv2D(8, 3, padding="same", use_bias=False)(inp)
    x = L.ReLU(6.0)(L.BatchNormalization()(x))
    y = L.DepthwiseConv2D(3, padding="same")(x)
    x = L.Add()([x, L.Conv2D(8, 1)(y)])
    x = L.DepthwiseConv2D(3, strides=2, padding="same", activation="relu")(x)
    x = L.MaxPooling2D(2)(L.Conv2D(12, 1)(x))
    x = L.GlobalAveragePooling2D()(x)
    out = L.Dense(5, activation="softmax")(x)
    model = keras.Model(inp, out)
    rng = np.random.default_rng(1)
    for w in model.weights:               # non-trivial BN statistics
        if "moving_variance" in w.path:
            w.assign(rng.uniform(0.5, 2, w.shape).astype(np.float32))
        elif "moving_mean" in w.path or "beta" in w.path:
            w.assign(rng.normal(0, 0.3, w.shape).astype(np.float32))
    xs = rng.uniform(-1, 1, (48, 24, 24, 3)).astype(np.float32)
    path = tmp_path / "k.kmodel"
    rep = emc.save_kmodel(model, str(path), xs, target="generic", report=False)
    m = _check(rep, path, xs, native, 0.8)
    print(f"keras model generic: top-1 {m['top1']:.3f}, cosine {m['cosine']:.5f}")


def _lstm_model(K, return_sequences, steps=10, features=6, units=12):
    """Input (T, F) -> LSTM(U) [-> Flatten when the whole sequence comes out] -> Dense(5, softmax)."""
    K.utils.set_random_seed(0)
    inp = K.Input((steps, features))
    x = K.layers.LSTM(units, return_sequences=return_sequences, name="lstm")(inp)
    if return_sequences:
        x = K.layers.Flatten()(x)
    return K.Model(inp, K.layers.Dense(5, activation="softmax")(x))


@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("keras_module", ["keras", "tf_keras"])
def test_float_keras_lstm(keras_module, return_sequences, tmp_path, native):
    """A float Keras 3 / tf_keras LSTM model: the IR lstm is emitted as a tf_keras LSTM in a tf_keras Model
    (the converter's UNIDIRECTIONAL_SEQUENCE_LSTM), imported as GENERIC_LSTM, TFLM-exact; the kmodel
    agrees with the Keras model's own predictions (measured: top-1 0.94-1.0, cosine > 0.99998 on 64
    random sequences)."""
    K = pytest.importorskip(keras_module)
    model = _lstm_model(K, return_sequences)
    xs = np.random.default_rng(0).normal(0, 1, (64, 10, 6)).astype(np.float32)
    path = tmp_path / "lstm.kmodel"
    rep = emc.save_kmodel(model, str(path), xs, target="generic", report=False)
    m = _check(rep, path, xs, native, 0.9)
    names = [layer.NAME for layer in load(path).layers]
    assert "GENERIC_LSTM" in names and ("GENERIC_STRIDED_SLICE" in names) == (not return_sequences)
    want = model.predict(xs, verbose=0)
    got = np.stack([run(load(path), x)[0].reshape(-1) for x in xs])
    cosine = np.mean(np.sum(want * got, 1) / np.linalg.norm(want, axis=1) / np.linalg.norm(got, axis=1))
    top1 = np.mean(want.argmax(1) == got.argmax(1))
    assert cosine > 0.9999 and top1 >= 0.9 and m["cosine"] > 0.9999, (cosine, top1, m)
    print(f"{keras_module} LSTM return_sequences={return_sequences} generic: top-1 {top1:.3f} "
          f"cosine {cosine:.6f} vs the Keras model")


def test_float_keras_lstm_sequence_model(tmp_path, native):
    """Keras 3: Dense on every time step (a 1x1 convolution on the sequence as one row), an LSTM over the
    whole sequence, and a Dense on each step of its output: the (T, 3) output TFLM-exact and equal to the
    Keras model's (measured cosine 0.9998)."""
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(2)
    inp = keras.Input((8, 4))
    x = keras.layers.Dense(6, activation="relu")(inp)
    x = keras.layers.LSTM(7, return_sequences=True)(x)
    model = keras.Model(inp, keras.layers.Dense(3)(x))
    xs = np.random.default_rng(1).normal(0, 1, (48, 8, 4)).astype(np.float32)
    path = tmp_path / "seq.kmodel"
    rep = emc.save_kmodel(model, str(path), xs, target="generic", report=False)
    _check(rep, path, xs, native, 0.0)
    km = load(path)
    assert [layer.NAME for layer in km.layers].count("GENERIC_CONV2D") == 2
    want = model.predict(xs, verbose=0).reshape(len(xs), -1).astype(np.float64)
    got = np.stack([run(km, x)[0].reshape(-1) for x in xs]).astype(np.float64)
    cosine = np.mean(np.sum(want * got, 1) / np.linalg.norm(want, axis=1) / np.linalg.norm(got, axis=1))
    assert cosine > 0.999, cosine
    print(f"keras Dense-LSTM-Dense sequence model generic: cosine {cosine:.6f} vs the Keras model")


@pytest.mark.parametrize("return_sequences", [False, True])
def test_float_tflite_lstm(return_sequences, tmp_path, native):
    """A float .tflite with UNIDIRECTIONAL_SEQUENCE_LSTM (tf_keras LSTM -> Dense, converted without
    quantization): legalized into the IR lstm (the last-step STRIDED_SLICE folded in; the per-step
    FULLY_CONNECTED a 1x1 conv), whose float reference equals LiteRT on the file; on generic the kmodel is
    TFLM-exact on the int8 model (measured cosine vs the float graph 0.9998 / 0.9998)."""
    tf = pytest.importorskip("tensorflow")
    tf_keras = pytest.importorskip("tf_keras")
    from ai_edge_litert.interpreter import Interpreter

    from emc.frontends import load as load_ir
    from emc.ir import run_float
    tf_keras.utils.set_random_seed(0)
    inp = tf_keras.Input((10, 6), batch_size=1)
    x = tf_keras.layers.LSTM(8, return_sequences=return_sequences)(inp)
    data = tf.lite.TFLiteConverter.from_keras_model(tf_keras.Model(inp, tf_keras.layers.Dense(3)(x))).convert()
    xs = np.random.default_rng(0).normal(0, 1, (40, 10, 6)).astype(np.float32)
    g = load_ir(data)
    assert [op.type for op in g.ops][0] == "lstm"
    it = Interpreter(model_content=data)
    it.allocate_tensors()
    want = []
    for x in xs[:8]:
        it.reset_all_variables()
        it.set_tensor(it.get_input_details()[0]["index"], x[None])
        it.invoke()
        want.append(it.get_tensor(it.get_output_details()[0]["index"])[0])
    np.testing.assert_allclose(run_float(g, xs[:8])[g.outputs[0]], np.stack(want), atol=1e-5)
    path = tmp_path / "lstm_tflite.kmodel"
    rep = emc.save_kmodel(data, str(path), xs, target="generic", report=False)
    m = _check(rep, path, xs, native, 0.9)
    assert "GENERIC_LSTM" in [layer.NAME for layer in load(path).layers] and m["cosine"] > 0.999, m
    print(f"float .tflite LSTM return_sequences={return_sequences} generic: cosine {m['cosine']:.5f}")


@pytest.mark.parametrize("form", ["layer", "operations", "float tflite"])
def test_keras_squeeze_excite(form, tmp_path, native):
    """A squeeze-and-excite block (global pool, two 1x1 convs, hard sigmoid, a Multiply of the (H, W, C)
    map by the (1, 1, C) gate) after a hard-swish conv: TFLite MUL with broadcasting. The hard sigmoid as
    an Activation layer, or as keras.applications' MobileNetV3 writes it (Keras operations on tensors)."""
    keras = pytest.importorskip("keras")
    L = keras.layers
    keras.utils.set_random_seed(3)
    i = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 3, padding="same", activation="hard_swish")(i)
    s = L.Conv2D(8, 1)(L.Conv2D(4, 1, activation="relu")(L.GlobalAveragePooling2D(keepdims=True)(x)))
    s = L.Activation("hard_sigmoid")(s) if form == "layer" else L.ReLU(6.0)(s + 3.0) * (1.0 / 6.0)
    x = L.Multiply()([x, s])
    out = L.Dense(5, activation="softmax")(L.GlobalAveragePooling2D()(x))
    model = keras.Model(i, out)
    xs = np.random.default_rng(4).uniform(0, 1, (48, 16, 16, 3)).astype(np.float32)
    path = tmp_path / "se.kmodel"
    src = model
    if form == "float tflite":          # the same net as a float .tflite file: its MUL of two tensors
        import tensorflow as tf
        src = tmp_path / "se_float.tflite"
        src.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
        src = str(src)
    rep = emc.save_kmodel(src, str(path), xs, target="generic", report=False)
    assert "GENERIC_MUL" in [layer.NAME for layer in load(path).layers]
    m = _check(rep, path, xs, native, 0.9)
    print(f"squeeze-excite ({form}) generic: top-1 {m['top1']:.3f}, cosine {m['cosine']:.5f}")


@pytest.mark.parametrize("app", ["MobileNetV3Small", "EfficientNetB0"])
def test_keras_applications_with_squeeze_excite(app, tmp_path, native):
    """keras.applications MobileNetV3Small (hard swish, SE blocks written with Keras operations) and
    EfficientNetB0 (swish, SE, Rescaling + Normalization) on --target generic, bit-exact with TFLM. Random
    weights (no downloads): exactness is asserted, cosine loosely, top-1 is printed (random logits are close)."""
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(5)
    if app == "MobileNetV3Small":
        model = keras.applications.MobileNetV3Small(input_shape=(96, 96, 3), alpha=0.75, weights=None, classes=10,
                                                    classifier_activation=None)
    else:
        model = keras.applications.EfficientNetB0(input_shape=(64, 64, 3), weights=None, classes=10,
                                                  classifier_activation=None)
    xs = np.random.default_rng(6).uniform(0, 255, (24,) + model.input_shape[1:]).astype(np.float32)
    # untrained, the batch norms do not normalize (mean 0, variance 1) and the logits shrink to ~1e-10
    # through the network: take each one's statistics from the data (one training-mode pass, momentum 0)
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            layer.momentum = 0.0
    model(xs, training=True)
    from emc.frontends import load as load_model
    from emc.ir import run_float
    g = load_model(model)           # the IR is the Keras model (float, independent of the quantizer)
    want = model.predict(xs[:4], verbose=0)
    assert np.abs(run_float(g, xs[:4])[g.outputs[0]] - want).max() <= 1e-4 * np.abs(want).max()
    path = tmp_path / "app.kmodel"
    rep = emc.save_kmodel(model, str(path), xs, target="generic", report=False)
    m = _check(rep, path, xs, native, 0.0)
    assert m["cosine"] > 0.8, rep.text()      # measured 0.98 / 0.88: the TFLite converter's int8 on random weights
    print(f"{app} generic: bit-exact with TFLM, top-1 {m['top1']:.3f}, cosine {m['cosine']:.5f}")


def test_keras_conv1d_sensor_model(tmp_path, native):
    """A Conv1D sensor classifier (same / causal-dilated / strided separable / depthwise 1-D convs, 1-D max
    and average pools, global 1-D pool), trained on a synthetic 4-class task: each 1-D layer is its 2-D form
    on a one-row map; the graph computes what Keras predicts, the kmodel what TFLM computes."""
    keras = pytest.importorskip("keras")
    from emc.frontends import load as load_model
    from emc.ir import run_float
    L = keras.layers
    keras.utils.set_random_seed(7)
    rng = np.random.default_rng(7)
    n, steps = 600, 40
    y = rng.integers(0, 4, n)
    t = np.arange(steps)[:, None]
    x = np.sin(2 * np.pi * (y[:, None, None] + 1) * t / steps + rng.uniform(0, 6, (n, 1, 6)))
    x = (x + rng.normal(0, 0.3, x.shape)).astype(np.float32)
    i = keras.Input((steps, 6))
    h = L.Conv1D(8, 5, padding="same", activation="relu")(i)
    h = L.MaxPooling1D(2)(h)
    h = L.Conv1D(12, 3, padding="causal", dilation_rate=2, activation="relu")(h)
    h = L.SeparableConv1D(16, 3, strides=2, activation="relu")(h)
    h = L.DepthwiseConv1D(3, padding="same")(h)
    h = L.AveragePooling1D(2, padding="same")(h)
    out = L.Dense(4, activation="softmax")(L.GlobalAveragePooling1D()(h))
    model = keras.Model(i, out)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(x[:400], y[:400], epochs=15, verbose=0)
    g = load_model(model)
    np.testing.assert_allclose(run_float(g, x[400:408])[g.outputs[0]], model.predict(x[400:408], verbose=0),
                               atol=1e-5)
    path = tmp_path / "c1d.kmodel"
    rep = emc.save_kmodel(model, str(path), x[400:500], target="generic", report=False)
    m = _check(rep, path, x[400:500], native, 0.9)
    print(f"Conv1D sensor model generic: top-1 {m['top1']:.3f}, cosine {m['cosine']:.5f}")


def test_keras_prelu(tmp_path, native):
    """Keras PReLU, alpha per channel (shared over H, W) and per element: max(x, 0) + alpha * min(x, 0) in
    TFLM int8 operators, bit-exact with TFLM; the K210 (one activation table per layer) names it."""
    keras = pytest.importorskip("keras")
    from emc.ir import UnsupportedLayersError
    L = keras.layers
    keras.utils.set_random_seed(9)
    i = keras.Input((10, 10, 3))
    x = L.PReLU(shared_axes=[1, 2], alpha_initializer=keras.initializers.RandomUniform(0.05, 0.4),
                name="prelu_c")(L.Conv2D(6, 3, padding="same")(i))
    x = L.PReLU(alpha_initializer=keras.initializers.RandomUniform(-0.2, 0.3))(L.Conv2D(6, 3, padding="same")(x))
    out = L.Dense(4, activation="softmax")(L.GlobalAveragePooling2D()(x))
    model = keras.Model(i, out)
    xs = np.random.default_rng(9).uniform(-1, 1, (48, 10, 10, 3)).astype(np.float32)
    path = tmp_path / "prelu.kmodel"
    rep = emc.save_kmodel(model, str(path), xs, target="generic", report=False)
    m = _check(rep, path, xs, native, 0.0)          # untrained: near-uniform softmax, top-1 only printed
    assert m["cosine"] > 0.99, rep.text()
    print(f"PReLU generic: top-1 {m['top1']:.3f}, cosine {m['cosine']:.5f}")
    import tensorflow as tf                         # the same net as a float .tflite (its PRELU operators)
    src = tmp_path / "prelu_float.tflite"
    src.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    path2 = tmp_path / "prelu_file.kmodel"
    rep2 = emc.save_kmodel(str(src), str(path2), xs, target="generic", report=False)
    m2 = _check(rep2, path2, xs, native, 0.0)
    assert m2["cosine"] > 0.99, rep2.text()
    with pytest.raises(UnsupportedLayersError, match=r"prelu_c \(PReLU\): no K210 lowering for prelu"):
        emc.save_kmodel(model, str(tmp_path / "k.kmodel"), xs, report=False)


def test_keras_upsampling_unet_style(tmp_path, native):
    """UpSampling2D (factors (2, 2) and (3, 2)) with skip concats on --target generic: TFLite
    RESIZE_NEAREST_NEIGHBOR, bit-exact with TFLM. (It was emitted as tf.repeat, which the converter made a
    rank-5 TILE that no int8 kernel takes: every UpSampling2D model failed on generic; found by
    benchmarks/model_coverage.py.)"""
    keras = pytest.importorskip("keras")
    L = keras.layers
    keras.utils.set_random_seed(10)
    i = keras.Input((12, 12, 3))
    a = L.Conv2D(6, 3, padding="same", activation="relu")(i)
    b = L.Conv2D(8, 3, padding="same", activation="relu")(L.MaxPooling2D(2)(a))
    x = L.Concatenate()([a, L.UpSampling2D(2)(b)])
    c = L.Conv2D(4, 3, strides=(3, 2), padding="same", activation="relu")(x)
    x = L.Concatenate()([x, L.UpSampling2D((3, 2))(c)])
    out = L.Dense(5, activation="softmax")(L.GlobalAveragePooling2D()(x))
    model = keras.Model(i, out)
    xs = np.random.default_rng(10).uniform(0, 1, (48, 12, 12, 3)).astype(np.float32)
    path = tmp_path / "up.kmodel"
    rep = emc.save_kmodel(model, str(path), xs, target="generic", report=False)
    assert "GENERIC_RESIZE_NEAREST" in [layer.NAME for layer in load(path).layers]
    m = _check(rep, path, xs, native, 0.0)
    assert m["cosine"] > 0.99, rep.text()
