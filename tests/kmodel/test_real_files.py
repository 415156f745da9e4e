"""The real kmodel v3 files of other tools: load, describe, round-trip, run."""
import os
import subprocess
import sys

import numpy as np
import pytest

from emc.images import pixels_for_kpu
from emc.kmodel import KModelError, load
from emc.reference import run

V3_FILES = ["maixemc_cifar10_output_hwverified_v3.kmodel", "maixemc_cifar10_v3.kmodel",
            "maixemc_mbnetv1_v3.kmodel", "nncase_v0.1_iris_v3.kmodel", "nncase_v0.1_yolo20_v3.kmodel",
            "standalone_demo_face_detect_v3.kmodel"]

# Printed by the original Maix-EMC README for this model and image on a real K210 (tests/data/SOURCES.md)
K210_HARDWARE = np.array([1.181304, -5.381746, 1.580029, 0.045343, 0.511492, -0.656629, -3.597826,
                          0.561016, -0.733270, -3.771462], np.float32)


def test_all_v3_files_present(kmodels_dir):
    found = sorted(p.name for p in kmodels_dir.glob("*v3.kmodel"))
    assert found == sorted(V3_FILES)


@pytest.mark.parametrize("name", V3_FILES)
def test_round_trip_byte_identical(kmodels_dir, name):
    data = (kmodels_dir / name).read_bytes()
    assert load(data).to_bytes() == data


@pytest.mark.parametrize("name", V3_FILES)
def test_runs_to_finite_outputs(kmodels_dir, name):
    m = load(kmodels_dir / name)
    dtype, shape = m.input_spec()
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, shape, dtype=np.uint8) if dtype == "u8" else rng.normal(size=shape).astype(np.float32)
    outs = run(m, x)
    assert len(outs) == len(m.outputs)
    for o, (addr, size) in zip(outs, m.outputs):
        assert o.nbytes == size
        assert np.isfinite(o).all()


@pytest.mark.parametrize("name,version", [("nncase_v0.2_iris_v4.kmodel", "v4"), ("nncase_v0.2_slim320_v4.kmodel", "v4")])
def test_v4_refused_with_version(kmodels_dir, name, version):
    with pytest.raises(KModelError, match=f"kmodel {version}") as e:
        load(kmodels_dir / name)
    assert name in str(e.value)


def test_v5_refused():
    data = b"LDMK" + (5).to_bytes(4, "little") + bytes(64)
    with pytest.raises(KModelError, match="kmodel v5"):
        load(data)


def test_cifar_matches_k210_hardware(kmodels_dir):
    """The K210 output of the seed's example, reproduced by the software KPU.

    Two facts make it exact: the KPU shifts arg_x*sum(x) per input channel before summing
    channels, and the SDK runtime's float layers are built with fused multiply-add on K210."""
    m = load(kmodels_dir / "maixemc_cifar10_output_hwverified_v3.kmodel")
    x = pixels_for_kpu(kmodels_dir / "maixemc_plane_input.bmp", m.input_spec()[1])
    fused = run(m, x, fused_fp=True)[0]
    plain = run(m, x)[0]
    assert np.abs(fused - K210_HARDWARE).max() < 0.01
    assert np.abs(plain - K210_HARDWARE).max() < 0.01
    # the hardware line was printed with %f: the fused reference prints the same digits
    assert [f"{v:f}" for v in fused] == [f"{v:f}" for v in K210_HARDWARE]


@pytest.mark.parametrize("sample,cls", [((5.1, 3.5, 1.4, 0.2), 0), ((4.9, 3.0, 1.4, 0.2), 0),
                                        ((7.0, 3.2, 4.7, 1.4), 1), ((5.5, 2.3, 4.0, 1.3), 1),
                                        ((6.3, 3.3, 6.0, 2.5), 2), ((7.7, 3.8, 6.7, 2.2), 2)])
def test_nncase_iris_classifies_textbook_samples(kmodels_dir, sample, cls):
    out = run(kmodels_dir / "nncase_v0.1_iris_v3.kmodel", np.array(sample, np.float32))[0]
    assert int(np.argmax(out)) == cls          # setosa, versicolor, virginica


def test_dump_has_every_layer(kmodels_dir):
    m = load(kmodels_dir / "maixemc_cifar10_output_hwverified_v3.kmodel")
    dump = {}
    run(m, np.zeros((3, 32, 32), np.uint8), dump=dump)
    assert len(dump) == len(m.layers)
    assert dump["000_K210_CONV"].shape == (32, 32, 32)
    assert dump["005_QUANTIZED_TENSORFLOW_FLATTEN"].shape == (8, 8, 64)


def test_cli_info_and_run(kmodels_dir, tmp_path):
    model = kmodels_dir / "maixemc_cifar10_output_hwverified_v3.kmodel"
    info = subprocess.run([sys.executable, "-m", "emc.cli", "info", str(model)], capture_output=True, text=True)
    assert info.returncode == 0, info.stderr
    assert "K210_CONV" in info.stdout and "main_mem_usage" in info.stdout and "u8 (3, 32, 32)" in info.stdout
    out = tmp_path / "y.npy"
    r = subprocess.run([sys.executable, "-m", "emc.cli", "run", str(model), str(kmodels_dir / "maixemc_plane_input.bmp"),
                        "--fused-fp", "--out", str(out), "--dump", str(tmp_path / "d")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert np.abs(np.load(out) - K210_HARDWARE).max() < 1e-5
    assert len(os.listdir(tmp_path / "d")) == 9
    bad = subprocess.run([sys.executable, "-m", "emc.cli", "info", str(kmodels_dir / "nncase_v0.2_iris_v4.kmodel")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "kmodel v4" in bad.stderr and "Traceback" not in bad.stderr


def test_cli_run_npy_input(kmodels_dir, tmp_path):
    x = tmp_path / "x.npy"
    np.save(x, np.array([5.1, 3.5, 1.4, 0.2], np.float32))
    r = subprocess.run([sys.executable, "-m", "emc.cli", "run", str(kmodels_dir / "nncase_v0.1_iris_v3.kmodel"), str(x)],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "argmax 0" in r.stdout
