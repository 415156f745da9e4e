"""The C runtime computes what the Python reference computes, byte for byte, after every layer:
on every real v3 file and on synthetic files covering every layer type and many K210_CONV
configurations.

Float layers included: the C runtime's exp is emc_expf and the reference's SOFTMAX/LOGISTIC use its
bit-identical numpy twin generic_math.expf_f32.
"""
import numpy as np
import pytest

from emc.kmodel import load
from emc.reference import run

from .conftest import V3_FILES, model_input
from .synth_v3 import all_models

SYNTH = all_models()


def compare(data, x, native):
    m = load(data)
    ref_dump = {}
    ref = run(m, x, dump=ref_dump)
    outs, dumps = native.NativeModel(data).run(x, dump=True)
    assert sorted(dumps) == list(range(len(m.layers)))
    for (key, want), i in zip(sorted(ref_dump.items()), sorted(dumps)):
        ltype, got = dumps[i]
        assert ltype == m.layers[i].TYPE
        want = np.asarray(want).reshape(-1)
        assert want.dtype == got.dtype, key
        assert want.view(np.uint8).tobytes() == got.view(np.uint8).tobytes(), key
    assert len(ref) == len(outs)
    for want, got in zip(ref, outs):
        assert want.dtype == got.dtype and want.tobytes() == got.tobytes()
    return m


HEAVY = {"maixemc_mbnetv1_v3", "nncase_v0.1_yolo20_v3", "standalone_demo_face_detect_v3"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n for n in V3_FILES])
def test_real_file_matches_reference(name, kmodels_dir, native):
    path = kmodels_dir / f"{name}.kmodel"
    compare(path.read_bytes(), model_input(path), native)


@pytest.mark.parametrize("name", sorted(SYNTH))
@pytest.mark.parametrize("seed", [0, 1])
def test_synthetic_file_matches_reference(name, seed, native):
    data = SYNTH[name].to_bytes()
    dt, shape = load(data).input_spec()
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, shape, dtype=np.uint8) if dt == "u8" else rng.normal(0, 1, shape).astype(np.float32)
    compare(data, x, native)


def test_synthetic_files_cover_every_layer_type(native):
    from emc.kmodel.layers import LAYER_CLASSES
    covered = {layer.TYPE for km in SYNTH.values() for layer in km.layers}
    runnable = {t for t, c in LAYER_CLASSES.items() if c.SDK_RUNS and t < 0x4000} | {6, 21}
    assert runnable <= covered, sorted(runnable - covered)


def test_cifar_hardware_anchor(kmodels_dir, native):
    """The hardware-verified Maix-EMC CIFAR-10 model on the plane image: the K210's printed output."""
    path = kmodels_dir / "maixemc_cifar10_output_hwverified_v3.kmodel"
    out = native.NativeModel(path.read_bytes()).run(model_input(path))[0]
    hw = [1.181304, -5.381746, 1.580029, 0.045343, 0.511492, -0.656629, -3.597826, 0.561016, -0.733270, -3.771462]
    assert np.abs(out - np.float32(hw)).max() < 5e-6
