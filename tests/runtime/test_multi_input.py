"""A model with two inputs end to end: a two-branch Keras functional model quantized by the real
TFLite converter, `emc convert --target generic`, `emc run` with one .npy per input (the reference
and the C runtime compared byte for byte, and both against TFLM), and the HIL bench on QEMU
(`python -m emc.hil run --input a.npy b.npy`: both inputs over the real serial link, the firmware
splitting its staging buffer), emc_run (one file, the inputs one after the other) and export-c."""
import json
import subprocess
import sys

import numpy as np
import pytest

from emc.cli import main
from emc.hil import firmware, qemu

from .tflite_making import int8_tflite

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_input_tflite(tmp_path_factory):
    keras = pytest.importorskip("tensorflow").keras
    a, b = keras.Input((5, 4, 3)), keras.Input((5, 4, 2))
    fa = keras.layers.Conv2D(4, 3, padding="same")(a)
    fb = keras.layers.Conv2D(4, 1, activation="relu")(b)
    out = keras.layers.Dense(3)(keras.layers.Flatten()(keras.layers.Add()([fa, fb])))
    model = keras.Model([a, b], out)
    data = int8_tflite(lambda x, y: model([x, y]), [(1, 5, 4, 3), (1, 5, 4, 2)])
    path = tmp_path_factory.mktemp("two_inputs") / "two.tflite"
    path.write_bytes(data)
    return path


def test_two_inputs_cli_and_hil(two_input_tflite, tmp_path, capsys, native):
    tflm = pytest.importorskip("tflite_micro")
    km = tmp_path / "two.kmodel"
    assert main(["convert", str(two_input_tflite), str(km), "--target", "generic"]) == 0
    rng = np.random.default_rng(7)
    xa, xb = rng.integers(-128, 128, (1, 5, 4, 3), np.int8), rng.integers(-128, 128, (1, 5, 4, 2), np.int8)
    np.save(tmp_path / "a.npy", xa)
    np.save(tmp_path / "b.npy", xb)
    ip = tflm.runtime.Interpreter.from_bytes(two_input_tflite.read_bytes())
    ip.set_input(xa, 0)
    ip.set_input(xb, 1)
    ip.invoke()
    want = np.asarray(ip.get_output(0)).reshape(-1)
    capsys.readouterr()

    rc = main(["run", str(km), str(tmp_path / "a.npy"), str(tmp_path / "b.npy"), "--runtime", "both",
               "--out", str(tmp_path / "y.npy")])
    out = capsys.readouterr().out
    assert rc == 0 and "byte-identical" in out, out
    assert np.array_equal(np.load(tmp_path / "y.npy").reshape(-1), want.astype(np.float32))
    # one file for a two-input model: a usage error naming the count (exit 2)
    assert main(["run", str(km), str(tmp_path / "a.npy")]) == 2
    assert "the model has 2 inputs" in capsys.readouterr().err

    # emc_run (the C host runner): one input file holding both inputs one after the other
    exe = native.BUILD / "emc_run"
    if exe.exists():
        (tmp_path / "ab.bin").write_bytes(xa.tobytes() + xb.tobytes())
        r = subprocess.run([str(exe), str(km), str(tmp_path / "ab.bin"), str(tmp_path / "out")],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert (tmp_path / "out0.bin").read_bytes() == want.tobytes()
        (tmp_path / "a.bin").write_bytes(xa.tobytes())          # input 0 alone: the wrong size, refused
        r = subprocess.run([str(exe), str(km), str(tmp_path / "a.bin"), str(tmp_path / "out")],
                           capture_output=True, text=True)
        assert r.returncode != 0 and r.stderr.startswith("emc_run: error: ") and "60 bytes" in r.stderr

    # export-c: input 0's macros as before, and each input's with the count
    assert main(["export-c", str(km), "-o", str(tmp_path / "two.c")]) == 0
    header = (tmp_path / "two.h").read_text()
    assert "#define EMC_MODEL_INPUT_COUNT 2u" in header and "#define EMC_MODEL_INPUT1_BYTES 40u" in header
    assert "#define EMC_MODEL_INPUT0_BYTES 60u" in header and "#define EMC_MODEL_INPUT_BYTES 60u" in header

    if not (firmware.toolchain_available("qemu-m4") and qemu.qemu_available("qemu-m4")):
        pytest.skip("qemu-m4: cross toolchain or QEMU missing")
    r = subprocess.run([sys.executable, "-m", "emc.hil", "run", str(km), "--input", str(tmp_path / "a.npy"),
                        str(tmp_path / "b.npy"), "--target", "qemu-m4", "--no-preload"],
                       capture_output=True, text=True, cwd=firmware.ROOT, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    report = json.loads(r.stdout)
    assert report["outputs_identical"] == [True] and report["compared_with"] == "native C runtime"


def test_two_input_bench_case_on_qemu(tmp_path):
    """The bench case "two-inputs" (tests/runtime/data/generic_two_inputs.tflite) through the HIL bench
    on the three QEMU targets: each sample's two inputs staged one after the other, both outputs
    bit-exact with the PC and compared with TFLM's."""
    for t in ("qemu-m4", "qemu-m7", "qemu-rv64"):
        if not (firmware.toolchain_available(t) and qemu.qemu_available(t)):
            pytest.skip(f"{t}: cross toolchain or QEMU missing")
    report = tmp_path / "report"
    r = subprocess.run([sys.executable, "-m", "pytest", "hil_tests", "-q", "-p", "no:cacheprovider",
                        "--dut", "qemu-m4,qemu-m7,qemu-rv64", "--models", "two-inputs", "--inputs", "2",
                        f"--report={report}"], capture_output=True, text=True, cwd=firmware.ROOT, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    results = json.loads((report / "results.json").read_text())["results"]
    assert len(results) == 3
    for x in results:
        assert x["model"] == "two-inputs" and x["status"] == "pass" and x["bit_exact"] == x["inputs"] == 2, x
        assert x["max_abs_vs_float"] == 0, x          # the "float" side is TFLM itself
