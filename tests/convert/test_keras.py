"""Keras models (trained for a few steps on synthetic textures): MobileNet-style, small ResNet,
Inception-style; >= 95% top-1 agreement with the float Keras model on 100 non-calibration inputs.
Plus the same models as float .tflite converted with TensorFlow unimportable, and the error listings."""
import json
import time

import numpy as np
import pytest

import synth
from convert_support import agreement, run_without_tf

pytestmark = pytest.mark.slow

FIGURES = {}


@pytest.fixture(scope="module")
def models():
    return {k: synth.trained(k) for k in synth.BUILDERS}


@pytest.mark.parametrize("kind", list(synth.BUILDERS))
def test_keras_model_agreement(kind, models, cal_dir, eval_images, tmp_path):
    import emc
    from emc.kmodel import load as load_kmodel
    from emc.reference import run
    m = models[kind]
    ev, _ = eval_images
    t = time.time()
    emc.save_kmodel(m, str(tmp_path / f"{kind}.kmodel"), cal_dir, "img_0_1", "minmax", 8, 3)
    dt = time.time() - t
    f = m.predict(ev.astype(np.float32) / 255, verbose=0)
    k = np.stack([run(tmp_path / f"{kind}.kmodel", np.ascontiguousarray(e.transpose(2, 0, 1)))[0] for e in ev])
    agree, max_abs = agreement(f, k)
    FIGURES[kind] = (agree, max_abs, dt)
    print(f"{kind}: top-1 agreement {agree:.2f}, max abs {max_abs:.4f}, convert {dt:.2f}s")
    assert agree >= 0.95 and max_abs < 0.2
    km = load_kmodel(tmp_path / f"{kind}.kmodel")
    assert km.layers[0].NAME == "K210_CONV"
    assert all(layer.TYPE not in (6, 21) for layer in km.layers)
    names = [layer.NAME for layer in km.layers]
    if kind == "resnet":
        assert "QUANTIZED_ADD" in names
    if kind == "inception":        # the concat is written in place in KPU RAM: its consumer reads 28 channels
        assert any(layer.NAME == "K210_CONV" and layer.ic == 28 for layer in km.layers)
    if kind == "mbnet":
        assert sum(1 for layer in km.layers if layer.NAME == "K210_CONV" and layer.depthwise) >= 3
        assert "SOFTMAX" in names


@pytest.mark.parametrize("ext", [".keras", ".h5"])
def test_keras_files(ext, models, cal_dir, tmp_path):
    import emc
    m = models["resnet"]
    path = tmp_path / f"resnet{ext}"
    m.save(path)
    rep = emc.save_kmodel(str(path), str(tmp_path / "r.kmodel"), cal_dir, "img_0_1", "minmax", 8, 3)
    (name, met), = rep.metrics.items()
    assert met["top1"] >= 0.95


@pytest.mark.parametrize("kind", list(synth.BUILDERS))
def test_same_models_as_tflite_without_tensorflow(kind, models, cal_dir, eval_images, tmp_path):
    m = models[kind]
    src = synth.to_tflite(m, str(tmp_path / f"{kind}.tflite"))
    ev, _ = eval_images
    np.save(tmp_path / "ev.npy", ev)
    np.save(tmp_path / "keras_out.npy", m.predict(ev.astype(np.float32) / 255, verbose=0))
    out = str(tmp_path / f"{kind}_tfl.kmodel")
    res = run_without_tf(f"""
        import json
        import numpy as np
        import emc
        from emc.reference import run
        emc.save_kmodel({src!r}, {out!r}, {cal_dir!r}, "img_0_1", "minmax", 8, 3, eval_limit=0)
        ev = np.load({str(tmp_path / "ev.npy")!r})
        f = np.load({str(tmp_path / "keras_out.npy")!r})
        k = np.stack([run({out!r}, np.ascontiguousarray(e.transpose(2, 0, 1)))[0] for e in ev])
        print(json.dumps({{"agree": float((f.argmax(1) == k.argmax(1)).mean()), "max_abs": float(np.abs(f - k).max())}}))
    """)
    r = json.loads(res.strip().splitlines()[-1])
    assert r["agree"] >= 0.95, r


def test_unsupported_keras_layers_listed_once(cal_dir, tmp_path):
    import keras
    from keras import layers as L
    from emc.frontends import load
    from emc.ir import UnsupportedLayersError
    i = keras.Input((16, 16, 3))
    x = L.Conv2D(4, 3, padding="same", name="ok_conv")(i)
    x = L.Conv2DTranspose(4, 3, name="deconv")(x)
    x = L.UpSampling2D(interpolation="bilinear", name="upsample")(x)
    x = L.LayerNormalization(name="layernorm")(x)
    x = L.Conv2D(4, 3, activation="softsign", name="gelu_conv")(x)
    m = keras.Model(i, L.GlobalAveragePooling2D(name="gap")(x), name="badnet")
    with pytest.raises(UnsupportedLayersError) as ei:
        load(m)
    items = [(n, t) for n, t, _ in ei.value.items]
    assert ("deconv", "Conv2DTranspose") in items and ("upsample", "UpSampling2D") in items
    assert ("layernorm", "LayerNormalization") in items and ("gelu_conv", "Conv2D") in items
    assert "ok_conv" not in str(ei.value)


def test_unsupported_for_k210_listed_once(cal_dir, tmp_path):
    import keras
    from keras import layers as L
    import emc
    from emc.ir import UnsupportedLayersError
    i = keras.Input((32, 32, 3))
    x = L.Conv2D(8, 3, padding="same", name="fine")(i)
    x = L.Conv2D(8, 5, padding="same", name="five_by_five")(x)
    x = L.Conv2D(8, 3, padding="same", dilation_rate=2, name="dilated")(x)
    x = L.Conv2D(8, 3, padding="valid", name="valid3x3")(x)
    m = keras.Model(i, L.GlobalAveragePooling2D()(x), name="k210bad")
    with pytest.raises(UnsupportedLayersError) as ei:
        emc.save_kmodel(m, str(tmp_path / "x.kmodel"), cal_dir)
    msg = str(ei.value)
    for name in ("five_by_five (Conv2D): 5x5 kernel", "dilated (Conv2D): dilated"):
        assert name in msg
    # valid3x3 runs on the KPU (a 'same' conv + crop): it follows the unsupported layers but is not one
    assert "fine (" not in msg and "valid3x3" not in msg


def test_keras2_h5_with_depthwise_groups(tmp_path):
    """Keras 2 .h5 files carry DepthwiseConv2D 'groups', which Keras 3 rejects: the loader copes."""
    import json
    import h5py
    import keras
    from keras import layers as L
    from emc.frontends import load
    i = keras.Input((8, 8, 3))
    m = keras.Model(i, L.DepthwiseConv2D(3, padding="same", name="dw")(i))
    p = str(tmp_path / "k2.h5")
    m.save(p)
    with h5py.File(p, "r+") as f:
        cfg = json.loads(f.attrs["model_config"])
        for layer in cfg["config"]["layers"]:
            if layer["class_name"] == "DepthwiseConv2D":
                layer["config"]["groups"] = 1
        f.attrs["model_config"] = json.dumps(cfg)
    g = load(p)
    assert [op.type for op in g.ops] == ["depthwise_conv2d"]


def test_rescaling_and_normalization(tmp_path):
    import keras
    from keras import layers as L
    import emc
    from emc.frontends import load
    from emc.ir import run_float
    i = keras.Input((16, 16, 3))
    x = L.Rescaling(1 / 127.5, offset=-1)(i)
    nrm = L.Normalization()
    nrm.adapt(np.random.default_rng(0).random((10, 16, 16, 3)) * 3 + 1)
    x = L.Conv2D(4, 3, padding="same")(nrm(x))
    m = keras.Model(i, x)
    g = load(m)
    xx = np.random.default_rng(1).random((3, 16, 16, 3)).astype(np.float32) * 255
    np.testing.assert_allclose(run_float(g, xx)[g.outputs[0]], m.predict(xx, verbose=0), atol=1e-4)
    cal = synth.write_pngs(str(tmp_path / "cal"), synth.synth_images(10, seed=3, size=16)[0])
    rep = emc.save_kmodel(m, str(tmp_path / "n.kmodel"), cal, "img_0_255")
    (met,) = rep.metrics.values()
    assert met["cosine"] > 0.999


def test_unet_style_upsampling(cal_dir, tmp_path):
    import keras
    from keras import layers as L
    import emc
    from emc.reference import run
    keras.utils.set_random_seed(3)
    i = keras.Input((32, 32, 3))
    a = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(i)
    b = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(a)
    u = L.UpSampling2D()(b)
    o = L.Conv2D(2, 1)(L.Concatenate()([a, u]))
    m = keras.Model(i, o)
    rep = emc.save_kmodel(m, str(tmp_path / "u.kmodel"), cal_dir)
    (met,) = rep.metrics.values()
    assert met["cosine"] > 0.999
    ev = synth.synth_images(3, seed=8)[0]
    k = run(tmp_path / "u.kmodel", np.ascontiguousarray(ev[0].transpose(2, 0, 1)))[0].reshape(2, 16, 16)
    f = m.predict(ev[:1].astype(np.float32) / 255, verbose=0)[0].transpose(2, 0, 1)
    assert np.abs(k - f).max() < 0.05 * (np.abs(f).max() + 1e-6) + 0.02


def test_conv_pool_flatten_dense(tmp_path):
    """The classic Keras head: Conv -> MaxPool -> Flatten -> Dense. The flatten output names the bytes the pool
    left in KPU RAM; the CPU dense must still find the conv that sends them to main memory (was KeyError)."""
    import keras

    import emc
    from emc.reference import run
    rng = np.random.default_rng(3)
    m = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
                          keras.layers.MaxPooling2D(), keras.layers.Flatten(), keras.layers.Dense(4)])
    cal = rng.random((16, 16, 16, 3)).astype(np.float32)
    np.save(tmp_path / "cal.npy", cal)
    m.save(tmp_path / "m.keras")
    emc.save_kmodel(str(tmp_path / "m.keras"), str(tmp_path / "m.kmodel"), str(tmp_path / "cal.npy"))
    x = rng.random((8, 16, 16, 3)).astype(np.float32)
    k = np.stack([run(tmp_path / "m.kmodel", np.ascontiguousarray(
        np.round(e * 255).astype(np.uint8).transpose(2, 0, 1)))[0] for e in x])
    # independent golden: Keras in float on inputs snapped to the 8-bit grid the kmodel takes
    f = m.predict(np.round(x * 255) / 255, verbose=0)
    assert np.max(np.abs(f - k)) < 0.05 * np.max(np.abs(f))


def test_tf_keras_models_load(tmp_path):
    """tf_keras (Keras 2) models, in memory and as an .h5 file only tf_keras reads: tf_keras gives the
    InputLayer's node its own output as input, which once sent the layer walk round forever (17 GB, no
    end). The graph now computes what tf_keras predicts, an LSTM .h5 included (IR lstm), and an LSTM the
    int8 operator cannot compute (relu activation) is refused by name."""
    import os
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    tf_keras = pytest.importorskip("tf_keras")
    from emc.frontends import load
    from emc.ir import UnsupportedLayersError, run_float
    L = tf_keras.layers
    tf_keras.utils.set_random_seed(4)
    m = tf_keras.Sequential([L.Input((8, 8, 3)), L.Conv2D(4, 3, padding="same", activation="relu"),
                             L.Flatten(), L.Dense(5)])
    x = np.random.default_rng(2).random((3, 8, 8, 3)).astype(np.float32)
    g = load(m)
    np.testing.assert_allclose(run_float(g, x)[g.outputs[0]], m.predict(x, verbose=0), atol=1e-5)
    lstm = tf_keras.Sequential([L.Input((10, 8)), L.LSTM(16), L.Dense(4)])
    p = str(tmp_path / "lstm.h5")
    lstm.save(p)
    g = load(p)
    x = np.random.default_rng(3).normal(size=(3, 10, 8)).astype(np.float32)
    np.testing.assert_allclose(run_float(g, x)[g.outputs[0]], lstm.predict(x, verbose=0), atol=1e-5)
    relu = tf_keras.Sequential([L.Input((10, 8)), L.LSTM(16, activation="relu", name="relu_lstm"), L.Dense(4)])
    with pytest.raises(UnsupportedLayersError, match=r"relu_lstm \(LSTM\): activation relu / recurrent"):
        load(relu)


def test_dense_on_the_last_axis():
    """Keras applies Dense to the last axis of a sequence (T, F) or a map (H, W, C): the graph computes
    what Keras predicts; a 4-D input is refused by layer name."""
    import keras
    from emc.frontends import load
    from emc.ir import UnsupportedLayersError, run_float
    L = keras.layers
    keras.utils.set_random_seed(5)
    rng = np.random.default_rng(5)
    for shape in ((6, 4), (5, 3, 4)):
        m = keras.Sequential([L.Input(shape), L.Dense(3, activation="tanh"), L.Flatten(), L.Dense(2)])
        x = rng.normal(size=(3,) + shape).astype(np.float32)
        g = load(m)
        np.testing.assert_allclose(run_float(g, x)[g.outputs[0]], m.predict(x, verbose=0), atol=1e-5)
    m = keras.Sequential([L.Input((2, 3, 4, 5)), L.Dense(3, name="dense4d")])
    with pytest.raises(UnsupportedLayersError, match=r"dense4d \(Dense\): Dense on a 4-D input"):
        load(m)


def test_hard_sigmoid_is_each_keras_own():
    """Keras 3's hard_sigmoid is relu6(x + 3) / 6, Keras 2's (tf_keras) 0.2 x + 0.5: the same name, two
    functions. The graph computes what each Keras predicts (once both were read as Keras 3's)."""
    import os
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    import keras
    tf_keras = pytest.importorskip("tf_keras")
    from emc.frontends import load
    from emc.ir import run_float
    x = np.random.default_rng(5).normal(0, 3, (4, 6)).astype(np.float32)
    for K in (keras, tf_keras):
        K.utils.set_random_seed(1)
        m = K.Sequential([K.layers.Input((6,)), K.layers.Dense(8, activation="hard_sigmoid"),
                          K.layers.Activation("hard_sigmoid")])
        g = load(m)
        np.testing.assert_allclose(run_float(g, x)[g.outputs[0]], m.predict(x, verbose=0), atol=1e-5,
                                   err_msg=K.__name__)


def test_keras_operations_on_tensors():
    """Keras 3 operations called on symbolic tensors (keras.applications' MobileNetV3 writes its hard sigmoid
    as `ReLU(6)(x + 3.0) * (1.0 / 6.0)`) are nodes that are not layers, some with a layer's class name (Add,
    Multiply): a constant operand becomes a per-channel affine op, a product of two tensors a mul; the graph
    computes what Keras predicts. An operation without an IR form is listed by name."""
    import keras
    from keras import layers as L
    from emc.frontends import load
    from emc.ir import UnsupportedLayersError, run_float
    keras.utils.set_random_seed(2)
    i = keras.Input((6, 5, 4))
    x = L.Conv2D(4, 3, padding="same")(i)
    s = L.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)
    y = (x - np.arange(4, dtype=np.float32)) / 2.0
    z = 1.5 - y
    o = L.Multiply()([keras.ops.multiply(s, z), L.GlobalAveragePooling2D(keepdims=True)(x)])
    m = keras.Model(i, o)
    g = load(m)
    assert sorted({op.type for op in g.ops}) == ["activation", "batch_norm", "conv2d", "global_avg_pool", "mul"]
    xx = np.random.default_rng(3).normal(0, 2, (3, 6, 5, 4)).astype(np.float32)
    np.testing.assert_allclose(run_float(g, xx)[g.outputs[0]], m.predict(xx, verbose=0), atol=1e-4)
    bad = keras.Model(i, keras.ops.sqrt(keras.ops.abs(L.Conv2D(2, 1)(i))))
    with pytest.raises(UnsupportedLayersError, match=r"\(Absolute\): Keras operation Absolute not supported"):
        load(bad)


def test_cropping2d_on_both_targets(tmp_path):
    """Cropping2D (NASNet's cells, U-Net skips): IR op crop. K210: a byte gather of the kept rows (stock SDK
    QUANTIZED_CONCAT), close to Keras in float and bit-exact between the Python reference and the C runtime;
    generic: TFLite STRIDED_SLICE, bit-exact with TFLM."""
    import keras
    from keras import layers as L
    import emc
    from emc import native
    from emc.kmodel import load as load_kmodel
    from emc.reference import run
    keras.utils.set_random_seed(6)
    i = keras.Input((16, 16, 3))
    x = L.Conv2D(8, 3, padding="same", activation="relu")(i)
    x = L.Cropping2D(((1, 3), (2, 0)))(x)
    x = L.Conv2D(8, 3, padding="same", activation="relu")(x)
    o = L.Dense(4)(L.GlobalAveragePooling2D()(x))
    m = keras.Model(i, o)
    xs = np.random.default_rng(6).random((40, 16, 16, 3)).astype(np.float32)
    path = tmp_path / "crop.kmodel"
    emc.save_kmodel(m, str(path), xs, report=False)
    km = load_kmodel(path)
    assert "QUANTIZED_CONCAT" in [layer.NAME for layer in km.layers]
    nm = native.NativeModel(path.read_bytes())
    f = m.predict(np.round(xs[:8] * 255) / 255, verbose=0)
    for e, want in zip(xs[:8], f):
        u8 = np.round(e * 255).astype(np.uint8).transpose(2, 0, 1).copy()
        got = run(km, u8)[0]
        assert got.tobytes() == nm.run(u8)[0].tobytes()
        assert np.abs(got - want).max() < 0.05 * np.abs(f).max() + 0.02
    tflm = pytest.importorskip("tflite_micro")
    gpath = tmp_path / "crop_generic.kmodel"
    rep = emc.save_kmodel(m, str(gpath), xs, target="generic", report=False)
    ip = tflm.runtime.Interpreter.from_bytes(rep.tflite)
    gk = load_kmodel(gpath)
    assert "GENERIC_STRIDED_SLICE" in [layer.NAME for layer in gk.layers]
    for e in xs[:6]:
        ip.set_input(e[None], 0)
        ip.invoke()
        assert run(gk, e)[0].tobytes() == np.asarray(ip.get_output(0)).reshape(-1).tobytes()


def test_average_and_subtract_layers(tmp_path):
    """Keras Average (a sum scaled by 1/n) and Subtract (a + (-1) * b): the graph computes what Keras
    predicts, and the model converts for both targets close to it."""
    import keras
    from keras import layers as L
    import emc
    from emc.frontends import load
    from emc.ir import run_float
    keras.utils.set_random_seed(8)
    i = keras.Input((12, 12, 3))
    a = L.Conv2D(6, 3, padding="same", activation="relu")(i)
    b = L.Conv2D(6, 1, activation="relu")(a)
    c = L.Conv2D(6, 3, padding="same")(a)
    x = L.Subtract()([L.Average()([a, b, c]), c])
    o = L.Dense(4)(L.GlobalAveragePooling2D()(L.ReLU()(x)))
    m = keras.Model(i, o)
    xs = np.random.default_rng(8).random((40, 12, 12, 3)).astype(np.float32)
    g = load(m)
    np.testing.assert_allclose(run_float(g, xs[:4])[g.outputs[0]], m.predict(xs[:4], verbose=0), atol=1e-5)
    for target in ("generic", "k210"):
        rep = emc.save_kmodel(m, str(tmp_path / f"{target}.kmodel"), xs, target=target, report=False)
        (met,) = rep.metrics.values()
        assert met["cosine"] > 0.99, (target, rep.text())
