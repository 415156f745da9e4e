import pathlib
import shutil
import subprocess

import numpy as np
import pytest

from emc import data
from emc.kmodel import load

V3_FILES = ["maixemc_cifar10_output_hwverified_v3", "maixemc_cifar10_v3", "maixemc_mbnetv1_v3",
            "nncase_v0.1_iris_v3", "nncase_v0.1_yolo20_v3", "standalone_demo_face_detect_v3"]


def model_input(path, seed=0):
    """The plane bitmap for the CIFAR models, a seeded random tensor of the right shape otherwise."""
    path = pathlib.Path(path)
    m = load(path)
    dt, shape = m.input_spec()
    if "cifar10" in path.name:
        from emc.images import read_rgb
        rgb = read_rgb(data.path(data.PLANE_BMP))
        return np.ascontiguousarray(rgb.transpose(2, 0, 1))
    rng = np.random.default_rng(seed)
    if dt == "u8":
        return rng.integers(0, 256, shape, dtype=np.uint8)
    return rng.standard_normal(shape).astype(np.float32)


@pytest.fixture(scope="session")
def native():
    from emc import native
    native.lib()          # builds on first use
    return native


@pytest.fixture(scope="session")
def fuzz_bin(tmp_path_factory):
    """fuzz/build.sh's ASan+UBSan binaries (replay, mutate, emc_run; fuzz_load_invoke with clang)."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc not available")
    out = tmp_path_factory.mktemp("fuzzbin")
    root = pathlib.Path(__file__).resolve().parents[2]
    subprocess.run(["bash", str(root / "fuzz" / "build.sh"), str(out)], check=True, capture_output=True)
    return out
