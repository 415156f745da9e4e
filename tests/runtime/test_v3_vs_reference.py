"""The C runtime computes what the Python reference computes, byte for byte, on every real v3 file."""
import numpy as np
import pytest

from emc.kmodel import load
from emc.reference import run

from .conftest import V3_FILES, model_input

# The C runtime's exp is emc_expf, whose bit-identical numpy twin is generic_math.expf_f32. Until the
# reference's SOFTMAX/LOGISTIC call expf_f32 instead of np.exp (numpy's float32 exp differs from any
# C expf in the last ulp on ~11% of inputs), those layers and the float layers after them are
# compared to EXPF_ULP ulp; every other layer byte for byte.
EXPF_LAYERS = {"SOFTMAX", "LOGISTIC"}
try:
    from emc.kmodel.layers import float_ops as _float_ops
    EXPF_ULP = 0 if hasattr(_float_ops, "expf_f32") else 4
except ImportError:  # pragma: no cover
    EXPF_ULP = 4


def ulp_diff(a, b):
    ai = a.view(np.int32).astype(np.int64)
    bi = b.view(np.int32).astype(np.int64)
    ai = np.where(ai < 0, -(ai & 0x7FFFFFFF), ai)
    bi = np.where(bi < 0, -(bi & 0x7FFFFFFF), bi)
    return int(np.abs(ai - bi).max()) if a.size else 0


@pytest.mark.parametrize("name", V3_FILES)
def test_v3_file_matches_reference(name, kmodels_dir, native):
    path = kmodels_dir / f"{name}.kmodel"
    m = load(path)
    x = model_input(path)
    ref_dump = {}
    ref = run(m, x, dump=ref_dump)
    outs, dumps = native.NativeModel(path.read_bytes()).run(x, dump=True)
    assert sorted(dumps) == list(range(len(m.layers)))
    float_tail = False
    for (key, want), i in zip(sorted(ref_dump.items()), sorted(dumps)):
        ltype, got = dumps[i]
        assert ltype == m.layers[i].TYPE
        want = np.asarray(want).reshape(-1)
        if m.layers[i].NAME in EXPF_LAYERS or (float_tail and want.dtype == np.float32):
            float_tail = True
            assert want.dtype == got.dtype and ulp_diff(want, got) <= EXPF_ULP, key
        else:
            assert want.view(np.uint8).tobytes() == got.view(np.uint8).tobytes(), key
    for want, got in zip(ref, outs):
        if float_tail:
            assert ulp_diff(want, got) <= EXPF_ULP
        else:
            assert want.dtype == got.dtype and want.tobytes() == got.tobytes()


def test_cifar_hardware_anchor(kmodels_dir, native):
    """The hardware-verified Maix-EMC CIFAR-10 model on the plane image: the K210's printed output."""
    path = kmodels_dir / "maixemc_cifar10_output_hwverified_v3.kmodel"
    out = native.NativeModel(path.read_bytes()).run(model_input(path))[0]
    hw = [1.181304, -5.381746, 1.580029, 0.045343, 0.511492, -0.656629, -3.597826, 0.561016, -0.733270, -3.771462]
    assert np.abs(out - np.float32(hw)).max() < 5e-6
