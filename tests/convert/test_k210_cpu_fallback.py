"""--allow-patched: convolutions the KPU cannot take (5x5/7x7 kernels, stride 3, padding 2, dilation,
inputs narrower than 4) become EMC generic int8 CPU layers of the same kmodel; without the flag the
refusal names it. Checked against the float graph (numpy, fast) and bit for bit against runtime_c (slow)."""
import numpy as np
import pytest

import emc
from emc.ir import Graph, UnsupportedLayersError, run_float
from emc.kmodel import load as load_kmodel
from emc.reference import run


def _bad_convs_graph(seed=0):
    r = np.random.default_rng(seed)
    g = Graph("cpu_convs")
    g.add_input("x", (12, 12, 3))

    def w(*s):
        return r.normal(0, 1 / np.sqrt(np.prod(s[:-1])), s).astype(np.float32)
    g.add_op("conv2d", "k5", "x", weights=w(5, 5, 3, 6), bias=r.normal(0, 0.1, 6).astype(np.float32),
             strides=(1, 1), padding="same", act="relu")
    g.add_op("conv2d", "pad2", "k5", weights=w(3, 3, 6, 6), bias=None, strides=(1, 1), padding=(2, 2, 2, 2))
    g.add_op("conv2d", "k7s3", "pad2", weights=w(7, 7, 6, 8), bias=None, strides=(3, 3), padding="same",
             act="relu6")
    g.add_op("depthwise_conv2d", "dil", "k7s3", weights=w(3, 3, 8, 1), bias=None, strides=(1, 1), padding="same",
             dilation=(2, 2))
    g.add_op("conv2d", "kpu", "dil", weights=w(1, 1, 8, 4), bias=None, strides=(1, 1), padding="valid")
    g.outputs = ["kpu"]
    g.validate()
    return g, r.random((16, 12, 12, 3)).astype(np.float32)


def _device(x):
    return np.ascontiguousarray(np.round(x * 255).astype(np.uint8).transpose(2, 0, 1))


def test_refused_without_the_flag_with_the_hint(tmp_path):
    g, x = _bad_convs_graph()
    with pytest.raises(UnsupportedLayersError) as ei:
        emc.save_kmodel(g, str(tmp_path / "o.kmodel"), x)
    assert [n for n, _, _ in ei.value.items] == ["k5", "pad2", "k7s3", "dil"]
    assert all("--allow-patched" in why for _, _, why in ei.value.items)


def test_refused_conv_before_a_kpu_pool_is_named(tmp_path):
    """A 5x5 conv whose 2x2 max pool the KPU could fuse: the refusal names the conv (it once crashed with a
    KeyError looking for the refused conv's output when lowering the pool on its own)."""
    r = np.random.default_rng(1)
    g = Graph("conv5_pool")
    g.add_input("x", (28, 28, 1))
    g.add_op("conv2d", "c5", "x", weights=r.normal(0, 0.2, (5, 5, 1, 6)).astype(np.float32),
             bias=np.zeros(6, np.float32), strides=(1, 1), padding="same", act="relu")
    g.add_op("max_pool2d", "p", "c5", ksize=(2, 2), strides=(2, 2), padding="valid")
    g.add_op("conv2d", "c1", "p", weights=r.normal(0, 0.3, (1, 1, 6, 4)).astype(np.float32), bias=None,
             strides=(1, 1), padding="valid")
    g.outputs = ["c1"]
    g.validate()
    with pytest.raises(UnsupportedLayersError) as ei:
        emc.save_kmodel(g, str(tmp_path / "o.kmodel"), r.random((4, 28, 28, 1)).astype(np.float32))
    assert [n for n, _, _ in ei.value.items] == ["c5"]
    assert "5x5 kernel" in ei.value.items[0][2] and "--allow-patched" in ei.value.items[0][2]
    assert not (tmp_path / "o.kmodel").exists()


def test_cpu_convs_with_the_flag_match_float(tmp_path):
    g, x = _bad_convs_graph()
    path = tmp_path / "p.kmodel"
    rep = emc.save_kmodel(g, str(path), x, allow_patched=True, eval_limit=4)
    text = rep.text()
    # the per-layer errors include the CPU chain's u8 output (a generic layer's bytes read as u8)
    assert any(t == "dil" for _, t, _, _ in rep.layer_errors)
    assert min(c for _, _, c, _ in rep.layer_errors) > 0.99, text
    for name, why in (("k5", "5x5 kernel"), ("pad2", "3x3 padding (2, 2, 2, 2)"), ("k7s3", "7x7 kernel"),
                      ("dil", "dilated convolution")):
        assert f"{name}: {why}" in text, text
    km = load_kmodel(path)
    names = [layer.NAME for layer in km.layers]
    assert names.count("GENERIC_CONV2D") == 3 and names.count("GENERIC_DEPTHWISE_CONV2D") == 1
    # consecutive CPU convs hand int8 HWC on: one transpose + flip into the chain and one out of it
    assert names.count("GENERIC_TRANSPOSE") == 2 and names.count("GENERIC_LOOKUP") == 2
    assert any(layer.NAME == "K210_CONV" and layer.ic == 8 for layer in km.layers)   # the 1x1 stays on the KPU
    f = run_float(g, x)["kpu"]                                  # (N, 4, 4, 4) float, HWC
    so = rep.quant["kpu"][0]
    for i in range(len(x)):
        k = run(km, _device(x[i]))[0].reshape(f.shape[3], f.shape[1], f.shape[2]).transpose(1, 2, 0)
        assert np.abs(k - f[i]).max() < 12 * so, i              # a few output LSBs after four 8-bit layers
        cos = np.sum(k * f[i]) / np.linalg.norm(k) / np.linalg.norm(f[i])
        assert cos > 0.995


def test_narrow_input_stays_in_main_memory(tmp_path):
    r = np.random.default_rng(1)
    g = Graph("narrow")
    g.add_input("x", (16, 2, 3))
    g.add_op("conv2d", "c", "x", weights=r.normal(0, 0.3, (3, 3, 3, 4)).astype(np.float32), bias=None,
             strides=(1, 1), padding="same", act="relu")
    g.add_op("conv2d", "c2", "c", weights=r.normal(0, 0.3, (5, 1, 4, 4)).astype(np.float32), bias=None,
             strides=(1, 1), padding="same")
    g.outputs = ["c2"]
    g.validate()
    x = r.random((8, 16, 2, 3)).astype(np.float32)
    with pytest.raises(UnsupportedLayersError, match="needs at least 4x4; --allow-patched"):
        emc.save_kmodel(g, str(tmp_path / "o.kmodel"), x)
    rep = emc.save_kmodel(g, str(tmp_path / "n.kmodel"), x, allow_patched=True, eval_limit=8)
    assert load_kmodel(tmp_path / "n.kmodel").layers[0].NAME == "GENERIC_INPUT"
    assert rep.metrics["c2"]["cosine"] > 0.995, rep.text()


@pytest.mark.slow
def test_python_reference_and_runtime_c_bit_exact(tmp_path):
    from emc import native
    g, x = _bad_convs_graph(seed=3)
    path = tmp_path / "p.kmodel"
    emc.save_kmodel(g, str(path), x, allow_patched=True, eval_limit=0)
    data = path.read_bytes()
    nm = native.NativeModel(data)
    rng = np.random.default_rng(5)
    for i in range(6):
        xi = _device(x[i]) if i < 3 else rng.integers(0, 256, (3, 12, 12)).astype(np.uint8)
        assert run(data, xi)[0].tobytes() == nm.run(xi)[0].tobytes()


@pytest.mark.slow
def test_keras_model_with_5x5_7x7_and_narrow_input_vs_keras(tmp_path, monkeypatch):
    """A trained Keras classifier whose first layers the KPU cannot take (1-channel 28x3 input, 5x5 conv,
    7x7 depthwise) converts with --allow-patched and agrees with Keras float."""
    import keras
    from keras import layers as L
    monkeypatch.setenv("HOME", str(tmp_path))
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    n = 400
    y = rng.integers(0, 3, n)
    t = np.linspace(0, 1, 28)[:, None]
    x = np.stack([np.sin(2 * np.pi * (k + 1) * t + rng.uniform(0, 6)) * np.ones((1, 3)) for k in y])[..., None]
    x = ((x + 1) / 2 + rng.normal(0, 0.05, x.shape)).clip(0, 1).astype(np.float32)
    i = keras.Input((28, 3, 1))
    h = L.Conv2D(8, 5, padding="same", activation="relu")(i)
    h = L.DepthwiseConv2D(7, padding="same", activation="relu")(h)
    h = L.Conv2D(16, 1, activation="relu")(h)
    h = L.GlobalAveragePooling2D()(h)
    o = L.Dense(3, activation="softmax")(h)
    m = keras.Model(i, o)
    m.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    m.fit(x, y, epochs=8, verbose=0)
    path = tmp_path / "k.kmodel"
    with pytest.raises(UnsupportedLayersError, match="--allow-patched"):
        emc.save_kmodel(m, str(path), x[:60], eval_limit=0, report=False)
    emc.save_kmodel(m, str(path), x[:60], allow_patched=True, eval_limit=0, report=False)
    ev = x[200:300]
    f = m.predict(ev, verbose=0)
    k = np.stack([run(path, np.round(e * 255).astype(np.uint8).transpose(2, 0, 1).copy())[0] for e in ev])
    agree = np.mean(f.argmax(1) == k.argmax(1))
    print(f"top-1 agreement {agree:.2f}, max abs {np.abs(f - k).max():.4f}")
    assert agree >= 0.95 and np.abs(f - k).max() < 0.1


@pytest.mark.slow
def test_mlperf_kws_ds_cnn_converts_with_the_flag(tmp_path):
    """MLPerf Tiny KWS (DS-CNN int8) starts with a 10x4 conv the KPU cannot take: with --allow-patched it
    converts (that layer on the CPU, the depthwise-separable blocks on the KPU) and agrees with LiteRT
    running the int8 file on 30 noise inputs."""
    from ai_edge_litert.interpreter import Interpreter
    from emc.hil.cases import data_file
    src = str(data_file("kws_ref_model.tflite"))
    x = np.random.default_rng(0).normal(size=(30, 49, 10, 1)).astype(np.float32) * 20
    path = tmp_path / "kws.kmodel"
    rep = emc.save_kmodel(src, str(path), x, allow_patched=True, eval_limit=0, report=False)
    assert "10x4 kernel" in rep.text()
    it = Interpreter(model_path=src)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0], it.get_output_details()[0]
    s, z = inp["quantization"]
    km = load_kmodel(path)
    agree = []
    for xi in x:
        q = np.clip(np.round(xi / s + z), -128, 127).astype(np.int8)
        it.set_tensor(inp["index"], q[None])
        it.invoke()
        want = it.get_tensor(out["index"])[0]
        dev = (q.astype(np.int16) + 128).astype(np.uint8).transpose(2, 0, 1).copy()   # u8 = int8 + 128
        agree.append(run(km, dev)[0].argmax() == want.argmax())
    print(f"KWS --allow-patched vs LiteRT int8: top-1 agreement {np.mean(agree):.2f}")
    assert np.mean(agree) >= 0.85
