"""emc_run (the C host runner) reads only regular files, sized by fstat and bounded: a directory, a
pipe, a device or a missing file is one named line and exit 2, never a huge allocation, a read of
(size_t)-1 bytes or a wait on a FIFO. Run against the normal build (fast) and under ASan+UBSan."""
import os
import subprocess

import numpy as np
import pytest

from emc.reference import run as reference_run

IRIS = "nncase_v0.1_iris_v3.kmodel"


@pytest.fixture(scope="module")
def emc_run_plain(native):
    exe = native.BUILD / "emc_run"
    if not exe.exists():
        pytest.skip("emc_run is built by the CMake build only (cmake not installed)")
    return exe


def check_bad_files(exe, model, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    good_in = tmp_path / "in.bin"
    good_in.write_bytes(np.zeros(4, np.float32).tobytes())
    cases = [
        ([str(tmp_path)], "not a regular file (a directory)"),
        ([str(fifo)], "not a regular file (a pipe)"),
        (["/dev/null"], "not a regular file (a device or socket)"),
        ([str(tmp_path / "missing.kmodel")], "cannot open: No such file or directory"),
        ([str(model), str(tmp_path), str(tmp_path / "o")], "not a regular file (a directory)"),
        ([str(model), str(fifo), str(tmp_path / "o")], "not a regular file (a pipe)"),
    ]
    for args, msg in cases:
        r = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=20,
                           env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and len(lines) == 1 and msg in lines[0], (args, r.returncode, r.stderr)
        assert lines[0].startswith("emc_run: error: ")
    # a wrong-size input is the runtime's refusal, naming the input file and its size
    short = tmp_path / "short.bin"
    short.write_bytes(b"\0" * 3)
    r = subprocess.run([str(exe), str(model), str(short), str(tmp_path / "o")], capture_output=True, text=True,
                       timeout=20, env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
    assert r.returncode > 2 and str(short) in r.stderr and "input 3 bytes" in r.stderr, r.stderr


def check_good_run(exe, model, tmp_path):
    x = np.array([[5.1, 3.5, 1.4, 0.2]], np.float32).reshape(-1)
    inp = tmp_path / "iris.bin"
    inp.write_bytes(x.tobytes())
    r = subprocess.run([str(exe), str(model), str(inp), str(tmp_path / "out")], capture_output=True, text=True,
                       timeout=60, env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
    assert r.returncode == 0, r.stderr
    want = reference_run(str(model), x.reshape(reference_input_shape(model)))
    got = np.frombuffer((tmp_path / "out0.bin").read_bytes(), want[0].dtype)
    assert np.array_equal(got, np.asarray(want[0]).reshape(-1))


def reference_input_shape(model):
    from emc.kmodel import load
    return load(model).input_spec()[1]


def test_emc_run_refuses_non_regular_files(emc_run_plain, kmodels_dir, tmp_path):
    check_bad_files(emc_run_plain, kmodels_dir / IRIS, tmp_path)
    check_good_run(emc_run_plain, kmodels_dir / IRIS, tmp_path)


@pytest.mark.slow
def test_emc_run_under_asan(fuzz_bin, kmodels_dir, tmp_path):
    check_bad_files(fuzz_bin / "emc_run", kmodels_dir / IRIS, tmp_path)
    check_good_run(fuzz_bin / "emc_run", kmodels_dir / IRIS, tmp_path)
