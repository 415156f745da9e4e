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
    # int16 FC weights: the int16 input chunk and the row sums (more than one chunk: 640 inputs)
    yield "ad01_int8 fc16", import_tflite((models_dir / "ad01_int8.tflite").read_bytes(), fc_weights="int16").to_bytes()


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


def test_ports_hardware_kpu_ram_and_fallback(kmodels_dir, native):
    """Port variants on the CIFAR model: KPU RAM supplied by the port (software KPU on it), a
    K210_CONV hook that declines (software fallback), and one that declines with no scratch
    (error); arenas follow emc.kmodel.arena."""
    import ctypes as C

    import numpy as np

    from .conftest import model_input
    path = kmodels_dir / "maixemc_cifar10_output_hwverified_v3.kmodel"
    data, x = path.read_bytes(), model_input(path)
    want = native.NativeModel(data).run(x)[0]
    ram = C.create_string_buffer(2 * 1024 * 1024)
    calls = []

    def decline(ctx, layer):
        calls.append(1)
        return 17                                   # EMC_E_UNSUPPORTED

    hook = native.K210_CONV_HOOK(decline)
    only_ram = native.Port(None, C.addressof(ram), native.K210_CONV_HOOK(), native.CYCLES_HOOK())
    m = native.NativeModel(data, port=only_ram)
    assert m.arena_required == arena_bytes(load(data)) - 2 * 1024 * 1024
    assert np.array_equal(m.run(x)[0], want)
    only_hook = native.Port(None, None, hook, native.CYCLES_HOOK())
    assert np.array_equal(native.NativeModel(data, port=only_hook).run(x)[0], want)
    assert len(calls) == 2
    both = native.Port(None, C.addressof(ram), hook, native.CYCLES_HOOK())
    m = native.NativeModel(data, port=both)
    assert m.arena_required == arena_bytes(load(data), hardware_kpu=True)
    with pytest.raises(native.NativeError) as e:
        m.run(x)
    assert e.value.status == "unsupported"
