"""K210 detection-style heads (SSD / RetinaFace / YOLO): conv -> Reshape((-1, K)) -> Concatenate(axis=1)
[-> Softmax], checked against the float Keras model's predict, and the C runtime against the Python reference
byte for byte. The (N, K) output comes out of the kmodel flat, in row-major order."""
import numpy as np
import pytest

K = 4          # values per anchor (e.g. box deltas or class scores)
ANCHORS = 2    # anchors per position: each head's conv has ANCHORS * K channels


def _heads_model(final=None):
    import keras
    from keras import layers as L
    keras.utils.set_random_seed(5)
    i = keras.Input((32, 32, 3))
    x = L.Conv2D(8, 3, strides=2, padding="same", activation="relu")(i)                 # 16x16
    a = L.Reshape((-1, K), name="head_a")(L.Conv2D(ANCHORS * K, 1, name="conv_a")(x))  # (512, K)
    y = L.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)                # 8x8
    b = L.Reshape((-1, K), name="head_b")(L.Conv2D(ANCHORS * K, 3, padding="same", name="conv_b")(y))  # (128, K)
    o = L.Concatenate(axis=1, name="anchors")([a, b])
    if final is not None:
        o = final(o)
    return keras.Model(i, o)


ROWS = (16 * 16 + 8 * 8) * ANCHORS


def _convert(m, cal_dir, path, **kw):
    import emc
    kw.setdefault("eval_limit", 0)
    return emc.save_kmodel(m, str(path), cal_dir, "img_0_1", "minmax", 8, 3, **kw)


@pytest.mark.slow
@pytest.mark.parametrize("final", ["logits", "softmax_rows", "sigmoid"])
@pytest.mark.parametrize("patched", [False, True], ids=["stock", "patched"])
def test_heads_match_keras_and_c_runtime(final, patched, cal_dir, eval_images, tmp_path, capsys):
    import keras
    from emc.cli import main
    from emc.kmodel import load
    from emc.reference import run
    softmax = final == "softmax_rows"
    m = _heads_model({"logits": None, "softmax_rows": keras.layers.Softmax(),
                      "sigmoid": keras.layers.Activation("sigmoid")}[final])
    path = str(tmp_path / "heads.kmodel")
    rep = _convert(m, cal_dir, path, allow_patched=patched, eval_limit=5)
    assert f"flat in row-major order: reshape({ROWS}, {K}) (emc run --shape {ROWS},{K})" in rep.text()
    metrics = next(iter(rep.metrics.values()))
    assert metrics["per_row"] and metrics["top1"] > 0.9     # top-1 of each anchor's row, not of the flat output
    names = [layer.NAME for layer in load(path).layers]
    assert names.count("SOFTMAX") == (ROWS if softmax else 0)
    assert names.count("LOGISTIC") == (final == "sigmoid")      # one layer over all ROWS * K floats
    assert names.count("QUANTIZED_TENSORFLOW_FLATTEN" if patched else "TENSORFLOW_FLATTEN") == 2

    ev = eval_images[0][:20]
    f = m.predict(ev.astype(np.float32) / 255, verbose=0)
    assert f.shape == (len(ev), ROWS, K)
    k = np.stack([run(path, np.ascontiguousarray(e.transpose(2, 0, 1)))[0].reshape(ROWS, K) for e in ev])
    cos = np.sum(f * k, axis=(1, 2)) / (np.linalg.norm(f, axis=(1, 2)) * np.linalg.norm(k, axis=(1, 2)))
    err = np.abs(f - k).max() / (f.max() - f.min())
    top1 = np.mean(f.argmax(-1) == k.argmax(-1))
    with capsys.disabled():
        print(f"\ncosine min {cos.min():.5f}, max |err| / range {err:.4f}, per-row top-1 {100 * top1:.1f}%")
    assert cos.min() > 0.999 and err < 0.05
    if softmax:      # each row is a distribution of its own, the same winner as the float model's
        assert np.allclose(k.sum(-1), 1, atol=1e-5)
        assert top1 > 0.95
    if final == "sigmoid":
        assert k.min() >= 0 and k.max() <= 1

    x = tmp_path / "x.npy"
    np.save(x, np.ascontiguousarray(ev[0].transpose(2, 0, 1)))
    capsys.readouterr()
    assert main(["run", path, str(x), "--runtime", "both", "--out", str(tmp_path / "y.npy")]) == 0
    assert "byte-identical" in capsys.readouterr().out
    assert np.array_equal(np.load(tmp_path / "y.npy"), k[0].reshape(-1))      # flat: kmodel v3 has no shapes
    assert main(["run", path, str(x), "--shape", f"{ROWS},{K}", "--out", str(tmp_path / "z.npy")]) == 0
    assert f"float32 ({ROWS}, {K})" in capsys.readouterr().out
    assert np.array_equal(np.load(tmp_path / "z.npy"), k[0])
    assert main(["run", path, str(x), "--shape", f"{ROWS},{K + 1}"]) == 2     # usage error: sizes disagree
    assert f"output 0 has {ROWS * K} values" in capsys.readouterr().err


@pytest.mark.slow
def test_flatten_of_the_heads_output_is_free(cal_dir, tmp_path):
    """(N, K) -> (N*K,) moves no bytes: the kmodel is the heads' kmodel, output for output."""
    import keras
    from emc.kmodel import load
    from emc.reference import run
    _convert(_heads_model(), cal_dir, tmp_path / "a.kmodel")
    _convert(_heads_model(keras.layers.Flatten()), cal_dir, tmp_path / "b.kmodel")
    a, b = load(str(tmp_path / "a.kmodel")), load(str(tmp_path / "b.kmodel"))
    assert [layer.NAME for layer in a.layers] == [layer.NAME for layer in b.layers]
    x = np.random.default_rng(0).integers(0, 256, (3, 32, 32), np.uint8)
    assert np.array_equal(run(a, x)[0], run(b, x)[0])


def _too_many_rows():
    """One head at the input's full 32x32 resolution: 2048 rows, more than a softmax per row may take."""
    import keras
    from keras import layers as L
    i = keras.Input((32, 32, 3))
    o = L.Reshape((-1, K))(L.Conv2D(ANCHORS * K, 1)(i))
    return keras.Model(i, L.Softmax(name="scores")(o))


@pytest.mark.parametrize("case, layer, why", [
    ("tanh", "scores", "no K210 lowering for activation with activation tanh"),
    ("concat_k", "along_k", "concat along K of (rows, K) tensors"),
    ("rows", "scores", "softmax over 2048 rows of (2048, 4): one SOFTMAX layer per row, at most 1024")])
def test_unsupported_consumer_of_rows_is_refused_by_name(case, layer, why, cal_dir, tmp_path):
    import keras
    from emc.ir import UnsupportedLayersError
    m = {"tanh": lambda: _heads_model(keras.layers.Activation("tanh", name="scores")),
         "concat_k": lambda: _heads_model(lambda o: keras.layers.Concatenate(axis=2, name="along_k")([o, o])),
         "rows": _too_many_rows}[case]()
    with pytest.raises(UnsupportedLayersError) as e:
        _convert(m, cal_dir, tmp_path / "bad.kmodel")
    assert f"{layer} (" in str(e.value) and why in str(e.value), str(e.value)


def test_an_op_that_takes_no_rows_is_refused_by_name(tmp_path):
    """The compiler's own check: an op whose definition does not take 2-D tensors on the K210 (here an add of two
    (N, K) heads) is refused naming the op, the tensor and which op types do take rows."""
    from emc.convert import save_kmodel
    from emc.ir import Graph, UnsupportedLayersError
    rng = np.random.default_rng(0)
    g = Graph("rows_add")
    g.add_input("x", (8, 8, 3))
    for h in ("a", "b"):
        g.add_op("conv2d", f"conv_{h}", "x", weights=rng.normal(size=(1, 1, 3, 8)).astype(np.float32),
                 bias=np.zeros(8, np.float32), strides=(1, 1), padding="same", act="linear")
        g.add_op("reshape", f"head_{h}", f"conv_{h}", shape=(128, 4))
    g.add_op("add", "sum", ["head_a", "head_b"], act="linear")
    g.outputs = ["sum"]
    with pytest.raises(UnsupportedLayersError) as e:
        save_kmodel(g, tmp_path / "m.kmodel", rng.uniform(0, 1, (4, 8, 8, 3)).astype(np.float32), eval_limit=0,
                    report=False)
    (name, _, why), = e.value.items
    assert name == "sum" and "add of the 2-D tensor 'head_a' (128, 4)" in why and "activation" in why, why
