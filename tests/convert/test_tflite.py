"""Float TFLite versions of the test models (tests/convert/data, made by make_fixtures.py) convert with
TensorFlow unimportable, and agree with the float model on 100 inputs outside the calibration set."""
import json
import os

import pytest

from convert_support import DATA, run_without_tf

KINDS = ["mbnet", "resnet", "inception"]


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_float_tflite_without_tensorflow(kind, cal_dir, tmp_path):
    src = os.path.join(DATA, f"{kind}_float.tflite")
    out = tmp_path / f"{kind}.kmodel"
    res = run_without_tf(f"""
        import json, time
        import numpy as np
        import emc, synth
        from emc.frontends import load
        from emc.ir import run_float
        from emc.reference import run
        t = time.time()
        rep = emc.save_kmodel({src!r}, {str(out)!r}, {cal_dir!r}, "img_0_1", "minmax", 8, 3, eval_limit=0)
        dt = time.time() - t
        g = load({src!r})
        ev, _ = synth.synth_images(100, seed=2)
        f = run_float(g, ev.astype(np.float32) / 255)[g.outputs[0]]
        k = np.stack([run({str(out)!r}, np.ascontiguousarray(e.transpose(2, 0, 1)))[0] for e in ev])
        from emc.kmodel import load as load_kmodel
        km = load_kmodel({str(out)!r})
        dwpool = [i for i, l in enumerate(km.layers) if l.NAME == "K210_CONV" and l.depthwise and l.pool_type]
        print(json.dumps({{"agree": float((f.argmax(1) == k.argmax(1)).mean()), "max_abs": float(np.abs(f - k).max()),
                          "time": dt, "kpu": sum(li.where == "KPU" for li in rep.layers), "dwpool": dwpool,
                          "sdk": all(l.SDK_RUNS for l in km.layers), "first": km.layers[0].NAME}}))
    """)
    r = json.loads(res.strip().splitlines()[-1])
    assert r["agree"] >= 0.95, r
    assert r["max_abs"] < 0.2, r
    assert r["kpu"] >= 5
    assert r["dwpool"] == [], "depthwise KPU layers must not pool"
    assert r["sdk"] and r["first"] == "K210_CONV"


def test_tflite_frontend_matches_litert(tmp_path):
    """The IR float executor reproduces the LiteRT interpreter on the fixtures (frontend check)."""
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    import numpy as np
    import synth
    from emc.frontends import load
    from emc.ir import run_float
    ev, _ = synth.synth_images(8, seed=9)
    x = ev.astype(np.float32) / 255
    for kind in KINDS:
        path = os.path.join(DATA, f"{kind}_float.tflite")
        it = litert.Interpreter(model_path=path)
        it.allocate_tensors()
        i, o = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]
        ref = []
        for e in x:
            it.set_tensor(i, e[None])
            it.invoke()
            ref.append(it.get_tensor(o)[0])
        g = load(path)
        np.testing.assert_allclose(run_float(g, x)[g.outputs[0]], np.stack(ref), atol=1e-5)


def test_int8_tflite_keeps_file_quantization(models_dir, cal_dir, tmp_path):
    """MLPerf Tiny ResNet-8 int8: the file's activation scales/zero points are used (u8 = int8 + 128)."""
    import emc
    from emc.frontends import load
    src = str(models_dir / "pretrainedResnet_quant.tflite")
    g = load(src)
    q = g.tensors[g.inputs[0]].quant
    assert (q.scale, q.zero_point) == (1.0, 0)
    rep = emc.save_kmodel(src, str(tmp_path / "r8.kmodel"), cal_dir, "img_0_255", "minmax", 8, 3)
    some = [t for t in g.tensors.values() if t.quant is not None and t.name in rep.quant][:5]
    for t in some:
        s, z = rep.quant[t.name]
        assert s == pytest.approx(t.quant.scale) and z == t.quant.zero_point
    m = rep.metrics[g.outputs[0]]
    assert m["top1"] >= 0.9 and m["cosine"] > 0.98


def test_unsupported_tflite_model_lists_every_layer(models_dir, tmp_path):
    """MLPerf Tiny KWS (DS-CNN) starts with a 10x4 conv: every layer the K210 cannot run is named in one error,
    the layers after it that the K210 could run are not."""
    import numpy as np
    import emc
    from emc.ir import UnsupportedLayersError
    x = np.random.default_rng(0).normal(size=(4, 49, 10, 1)).astype(np.float32) * 20
    with pytest.raises(UnsupportedLayersError) as ei:
        emc.save_kmodel(str(models_dir / "kws_ref_model.tflite"), str(tmp_path / "k.kmodel"), x)
    msg = str(ei.value)
    assert "unsupported layer(s)" in msg and "activation/Relu (CONV_2D): 10x4 kernel" in msg
    assert "SOFTMAX" not in msg and "input comes from an unsupported layer" not in msg
    assert not (tmp_path / "k.kmodel").exists()


@pytest.mark.slow
def test_vww_int8_small_maps(models_dir, cal_dir, tmp_path):
    """MLPerf Tiny VWW (MobileNet 0.25, 96x96, int8) reaches 3x3 maps: zero-point canvas + gather path."""
    import emc
    from emc.kmodel import load as load_kmodel
    rep = emc.save_kmodel(str(models_dir / "vww_96_int8.tflite"), str(tmp_path / "v.kmodel"), cal_dir,
                          "img_0_1", "minmax", 8, 3, resize=True, eval_limit=10)
    (met,) = rep.metrics.values()
    assert met["top1"] >= 0.9 and met["cosine"] > 0.99
    m = load_kmodel(tmp_path / "v.kmodel")
    convs = [layer for layer in m.layers if layer.NAME == "K210_CONV"]
    assert len(convs) >= 28 and all(min(c.in_w, c.in_h, c.out_w, c.out_h) >= 4 for c in convs)
    assert all(layer.SDK_RUNS for layer in m.layers)


def test_vector_input_model_starts_with_fully_connected(models_dir, tmp_path):
    """MLPerf Tiny anomaly detection (FC autoencoder, int8): layer 0 is FULLY_CONNECTED on f32 input."""
    import numpy as np
    import emc
    from emc.kmodel import load as load_kmodel
    x = np.random.default_rng(0).normal(size=(20, 640)).astype(np.float32) * 3
    rep = emc.save_kmodel(str(models_dir / "ad01_int8.tflite"), str(tmp_path / "ad.kmodel"), x)
    m = load_kmodel(tmp_path / "ad.kmodel")
    assert m.layers[0].NAME == "FULLY_CONNECTED" and m.input_spec() == ("f32", (640,))
    (met,) = rep.metrics.values()
    assert met["max_abs"] < 1e-3
    assert "float32 vector" in rep.text()


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_converted_models_run_identically_in_the_c_runtime(kind, cal_dir, tmp_path):
    """The C runtime (runtime_c via emc.native) gives the same bytes as the Python reference."""
    import numpy as np
    import emc
    import synth
    from emc.reference import run
    try:
        from emc.native import NativeModel
    except ImportError:
        pytest.skip("emc.native not available")
    out = tmp_path / f"{kind}.kmodel"
    emc.save_kmodel(os.path.join(DATA, f"{kind}_float.tflite"), str(out), cal_dir, eval_limit=0)
    try:
        nm = NativeModel(out.read_bytes())
    except Exception as e:  # noqa: BLE001 - no compiler/cmake here
        pytest.skip(f"C runtime not buildable: {e}")
    for e in synth.synth_images(4, seed=11)[0]:
        x = np.ascontiguousarray(e.transpose(2, 0, 1))
        for a, b in zip(nm.run(x), run(out, x)):
            np.testing.assert_array_equal(np.asarray(a).reshape(-1), np.asarray(b).reshape(-1))


def test_constant_sub_becomes_an_affine_layer(tmp_path):
    """conv_relu_sub.tflite: CONV_2D (mul/add/relu fused by the TFLite converter) then SUB of a constant."""
    import numpy as np
    import emc
    from emc.frontends import load
    path = os.path.join(DATA, "conv_relu_sub.tflite")
    g = load(path)
    assert [(op.type, op.source_type) for op in g.ops] == [("conv2d", "CONV_2D"), ("batch_norm", "SUB")]
    rep = emc.save_kmodel(path, str(tmp_path / "a.kmodel"),
                          np.random.default_rng(0).random((6, 8, 8, 3)).astype(np.float32))
    (met,) = rep.metrics.values()
    assert met["cosine"] > 0.999
