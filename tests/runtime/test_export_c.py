"""`emc export-c`: the exported const array, compiled into a host program with the C runtime, runs in
place from read-only memory and gives exactly the outputs of the .kmodel file (Python reference
emc.reference, an independent implementation); the header's sizes and tensor specs are what the
runtime reports for the same model."""
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

from emc import export_c
from emc.cli import main as emc_main
from emc.kmodel import load
from emc.reference import run

from .conftest import model_input

HERE = pathlib.Path(__file__).parent
ROOT = HERE.parents[1]


def _header(path):
    out = {}
    for line in path.read_text().splitlines():
        parts = line.split(None, 2)
        if len(parts) >= 3 and parts[0] == "#define":
            out[parts[1]] = parts[2].split("/*")[0].strip()
    return out


def test_header_iris(kmodels_dir, tmp_path):
    """nncase's iris example: 4 float features in, 3 float class scores out (independent facts)."""
    src = kmodels_dir / "nncase_v0.1_iris_v3.kmodel"
    assert emc_main(["export-c", str(src), "-o", str(tmp_path / "iris.c"), "--name", "iris"]) == 0
    h = _header(tmp_path / "iris.h")
    assert h["IRIS_SIZE"] == f"{src.stat().st_size}u"
    assert (h["IRIS_INPUT_DTYPE"], h["IRIS_INPUT_SHAPE"], h["IRIS_INPUT_BYTES"]) == ("1", "{4}", "16u")
    assert (h["IRIS_OUTPUT_COUNT"], h["IRIS_OUTPUT0_SHAPE"], h["IRIS_OUTPUT0_BYTES"]) == ("1u", "{3}", "12u")
    c = (tmp_path / "iris.c").read_text()
    assert "const uint8_t iris_data[IRIS_SIZE] IRIS_ALIGNED" in c and "aligned(128)" in c
    data = bytes(int(t, 16) for t in c.split("= {", 1)[1].split("};")[0].replace(",", " ").split())
    assert data == src.read_bytes()


def test_refuses_bad_arguments(kmodels_dir, tmp_path, capsys):
    src = tmp_path / "m.c"                    # a model file named like the output: never overwritten
    src.write_bytes((kmodels_dir / "nncase_v0.1_iris_v3.kmodel").read_bytes())
    before = src.read_bytes()
    assert emc_main(["export-c", str(src), "-o", str(src)]) == 2
    assert src.read_bytes() == before
    assert emc_main(["export-c", str(src), "-o", str(tmp_path / "x.txt")]) == 2
    assert emc_main(["export-c", str(src), "-o", str(tmp_path / "x.c"), "--name", "1bad"]) == 2
    junk = tmp_path / "junk.kmodel"
    junk.write_bytes(b"\x03\x00\x00\x00" + b"\xff" * 8)
    assert emc_main(["export-c", str(junk), "-o", str(tmp_path / "j.c")]) == 2
    err = capsys.readouterr().err
    assert "would overwrite the input" in err and "junk.kmodel" in err and "Traceback" not in err


@pytest.mark.slow
@pytest.mark.parametrize("name", ["nncase_v0.1_iris_v3", "maixemc_cifar10_v3"])
def test_round_trip_matches_kmodel(name, kmodels_dir, native, tmp_path):
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no host C compiler")
    src = kmodels_dir / f"{name}.kmodel"
    export_c.export(src, tmp_path / "model_data.c")
    lib = native.build()
    exe = tmp_path / "runner"
    r = subprocess.run([cc, "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-I" + str(ROOT / "runtime_c/include"),
                        "-I" + str(tmp_path), str(HERE / "export_c_runner.c"), str(tmp_path / "model_data.c"),
                        "-L" + str(lib.parent), "-lemc_runtime_host", "-Wl,-rpath," + str(lib.parent), "-lm",
                        "-o", str(exe)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    nm = subprocess.run(["nm", str(exe)], capture_output=True, text=True).stdout
    assert any(line.split()[-2:] in (["R", "emc_model_data"], ["r", "emc_model_data"])
               for line in nm.splitlines()), "the model array is not in read-only data"
    x = model_input(src)
    (tmp_path / "in.bin").write_bytes(np.ascontiguousarray(x).tobytes())
    r = subprocess.run([str(exe), str(tmp_path / "in.bin"), str(tmp_path / "out")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    want = run(load(src), x)
    assert len(want) == 1
    got = (tmp_path / "out0.bin").read_bytes()
    assert got == np.ascontiguousarray(want[0]).tobytes()
