"""benchmarks/model_coverage.py: its cell function on a few of its own models (LeNet-5, the dense
autoencoder, the MLPerf Tiny KWS int8 file), each outcome checked independently: a cell called exact is
re-run here in this process against TFLite Micro and the C runtime, a top-1 figure is recomputed from the
kmodel's outputs, a refusal names a layer the model has and matches what save_kmodel raises."""
import importlib.util
import pathlib
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.slow

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mc():
    spec = importlib.util.spec_from_file_location("model_coverage", ROOT / "benchmarks" / "model_coverage.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["model_coverage"] = mod         # dataclasses resolve their module by name
    spec.loader.exec_module(mod)
    yield mod
    sys.modules.pop("model_coverage", None)


@pytest.fixture(scope="module")
def lenet(mc):
    pytest.importorskip("keras")
    return mc.prepare("lenet5", n_eval=12)


def _tflm_and_c(kmodel, tflite, xs):
    """Python reference, TFLite Micro and the C runtime on xs, in this process."""
    tflm = pytest.importorskip("tflite_micro")
    from emc import native
    from emc.kmodel import load
    from emc.reference import run
    data = pathlib.Path(kmodel).read_bytes()
    km, nm = load(data), native.NativeModel(data)
    ip = tflm.runtime.Interpreter.from_bytes(pathlib.Path(tflite).read_bytes(), arena_size=16 << 20)
    for x in xs:
        ip.reset()
        ip.set_input(x[None], 0)
        ip.invoke()
        want = np.asarray(ip.get_output(0)).reshape(-1)
        py = run(km, x)[0]
        assert py.dtype == want.dtype and py.tobytes() == want.tobytes()
        assert nm.run(x)[0].tobytes() == want.tobytes()
    return np.stack([run(km, x)[0].reshape(-1) for x in xs])


def test_exact_generic_cell_is_exact_vs_tflm(mc, lenet, tmp_path):
    c = mc.run_cell(lenet, "generic", tmp_path)
    assert c.status == "ok", c
    assert c.exact_tflm is True and c.exact_c is True and c.exact and c.n == 12
    got = _tflm_and_c(c.kmodel, c.tflite, lenet.ev)
    assert c.top1 == float(np.mean(got.argmax(1) == lenet.golden.argmax(1)))
    assert c.top1 >= 0.8 and c.cos > 0.99
    assert lenet.task_acc > 0.5                 # the float model learnt the synthetic task


def test_k210_refusal_names_the_layer_and_patched_runs_it(mc, lenet, tmp_path):
    import emc
    from emc.ir import UnsupportedLayersError
    c = mc.run_cell(lenet, "k210", tmp_path)
    assert c.status == "refused" and not c.kmodel, c
    name = c.reason.split(" (")[0]
    assert lenet.network.get_layer(name) is not None and "5x5 kernel" in c.reason
    with pytest.raises(UnsupportedLayersError) as ei:
        emc.save_kmodel(lenet.network, str(tmp_path / "x.kmodel"), lenet.cal, target="k210", report=False)
    assert ei.value.items[0][0] == name
    p = mc.run_cell(lenet, "k210+p", tmp_path)
    assert p.status == "ok" and p.exact_c is True and p.exact_tflm is None, p
    from emc import native
    from emc.kmodel import load
    from emc.reference import run
    data = pathlib.Path(p.kmodel).read_bytes()
    x = np.ascontiguousarray(np.round(lenet.ev[0] * 255).astype(np.uint8).transpose(2, 0, 1))   # u8 CHW
    assert run(load(data), x)[0].tobytes() == native.NativeModel(data).run(x)[0].tobytes()
    assert p.top1 >= 0.8


def test_autoencoder_has_no_top1_but_a_cosine(mc, tmp_path):
    pytest.importorskip("keras")
    p = mc.prepare("dense_autoencoder", n_eval=8)
    c = mc.run_cell(p, "generic", tmp_path)
    assert c.status == "ok" and c.exact and c.top1 is None and c.cos > 0.999, c
    got = _tflm_and_c(c.kmodel, c.tflite, p.ev)
    assert abs(mc.cosine(p.golden, got) - c.cos) < 1e-9


def test_int8_tflite_top1_is_against_tflm(mc, tmp_path):
    p = mc.prepare("mlperf_kws_dscnn.tflite", n_eval=10)
    c = mc.run_cell(p, "generic", tmp_path)
    assert c.status == "ok" and c.exact and c.top1 == 1.0, c
    assert pathlib.Path(c.tflite).read_bytes() == (ROOT / "tests/data/kws_ref_model.tflite").read_bytes()
    _tflm_and_c(c.kmodel, c.tflite, p.ev_q)


def test_classify_and_mismatch_detection(mc):
    from emc.errors import InputError
    from emc.ir import UnsupportedLayersError
    assert mc.classify(UnsupportedLayersError([("c1", "Conv2D", "5x5 kernel"), ("c2", "Conv2D", "")])) == \
        ("refused", "c1 (Conv2D): 5x5 kernel (+1 more)")
    status, why = mc.classify(InputError("TILE #3: rank 5", file=f"{mc.OWN_MODEL} tflite buffer"))
    assert status == "BUG" and "TILE #3" in why
    try:
        {}["x"]
    except KeyError as e:
        status, why = mc.classify(e)
    assert status == "CRASH" and why.startswith("KeyError")
    a = [[np.arange(4, dtype=np.int8)]]
    b = [[np.array([0, 1, 2, 4], np.int8)]]
    assert mc._same(a, a) and not mc._same(a, b) and not mc._same(a, [[a[0][0].astype(np.uint8)]])


def test_budget_makes_a_timeout_cell(mc, lenet, tmp_path):
    c = mc.run_cell(lenet, "generic", tmp_path, budget=0.05)
    assert c.status == "TIMEOUT" and not c.exact and c.convert_s < 5, c
    assert mc.run_cell(lenet, "generic", tmp_path).status == "ok"      # the next conversion is unharmed
