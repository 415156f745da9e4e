"""emc.kmodel.arena.arena_bytes (what the convertor reports) equals the C runtime's
emc_arena_required on every sample, synthetic and generic model."""
import pytest

from emc.backends.generic import import_tflite
from emc.kmodel import load
from emc.kmodel.arena import arena_bytes

from .conftest import V3_FILES
from .synth_v3 import all_models


def models(kmodels_dir, models_dir):
    for n in V3_FILES:
        yield n, (kmodels_dir / f"{n}.kmodel").read_bytes()
    for n, km in all_models().items():
        yield n, km.to_bytes()
    for n in ("ad01_int8", "kws_ref_model"):
        yield n, import_tflite((models_dir / f"{n}.tflite").read_bytes()).to_bytes()


def test_python_arena_formula_matches_c(kmodels_dir, models_dir, native):
    for name, data in models(kmodels_dir, models_dir):
        assert arena_bytes(load(data)) == native.arena_required(data), name


def test_arena_exact_and_one_byte_less(kmodels_dir, native):
    data = (kmodels_dir / "nncase_v0.1_iris_v3.kmodel").read_bytes()
    need = native.arena_required(data)
    native.NativeModel(data, arena_size=need)
    with pytest.raises(native.NativeError) as e:
        native.NativeModel(data, arena_size=need - 1)
    assert e.value.status == "arena"
