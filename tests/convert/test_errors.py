"""The error policy (docs/errors.md) on real files: every misuse of `emc` gives its exit code and one line
naming the file and the place, no traceback, and leaves every input byte-identical."""
import hashlib
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from emc.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def emc(argv, capsys):
    """(exit code, stdout, the error line) of `emc argv`; the policy's shape is asserted here for every case:
    no traceback, at most one error line."""
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    errors = [line for line in err.splitlines() if line.startswith("emc: error") or line.startswith("emc: internal")]
    assert len(errors) <= 1, err
    if rc not in (0, 130):
        assert errors, err
    return rc, out, errors[0] if errors else ""


def digest(*paths):
    return {str(p): hashlib.sha256(open(p, "rb").read()).hexdigest() for p in paths}


@pytest.fixture()
def cifar(models_dir, tmp_path):
    """The seed's TensorLayer 2 .h5 (loads with h5py alone, no TensorFlow) copied where the test may write."""
    p = tmp_path / "cifar.h5"
    p.write_bytes((models_dir / "maixemc_cifar10_tl2.h5").read_bytes())
    return p


@pytest.fixture()
def calib(tmp_path):
    x = np.random.default_rng(0).random((4, 32, 32, 3)).astype(np.float32)
    p = tmp_path / "cal.npy"
    np.save(p, x)
    return p


# ---- outputs: never over an input, atomic --------------------------------------------------------------

def test_output_over_an_input_is_refused(cifar, calib, cal_dir, models_dir, tmp_path, capsys):
    tfl = tmp_path / "r.tflite"
    tfl.write_bytes((models_dir / "pretrainedResnet_quant.tflite").read_bytes())
    os.link(tfl, tmp_path / "hard.kmodel")
    os.symlink(cifar, tmp_path / "sym.kmodel")
    before = digest(cifar, calib, tfl)
    img = sorted(os.listdir(cal_dir))[0]
    cases = [
        (["convert", cifar, "-o", cifar, "-d", calib], "is the input"),
        (["convert", cifar, "-o", calib, "-d", calib], "is the input"),
        (["convert", cifar, "-o", os.path.join(cal_dir, img), "-d", cal_dir], f"(in {cal_dir})"),
        (["convert", cifar, "-o", tmp_path / "sym.kmodel", "-d", calib], "is the input"),
        (["convert", tfl, "-o", tmp_path / "hard.kmodel", "--target", "generic"], "is the input"),
        (["convert", tfl, tfl, "--target", "generic"], "is the input"),
    ]
    for argv, what in cases:
        rc, _, line = emc(argv, capsys)
        assert rc == 2 and what in line and "refusing to overwrite" in line, (argv, line)
    assert digest(cifar, calib, tfl) == before
    assert len(os.listdir(cal_dir)) == 40 and digest(os.path.join(cal_dir, img))
    # the report next to the kmodel is an output too
    rep = tmp_path / "k.kmodel.report.txt"
    os.symlink(calib, rep)
    rc, _, line = emc(["convert", cifar, "-o", tmp_path / "k.kmodel", "-d", calib], capsys)
    assert rc == 2 and "report" in line and digest(calib) == {str(calib): before[str(calib)]}


def test_failed_conversion_keeps_the_old_output(cifar, tmp_path, capsys):
    out = tmp_path / "old.kmodel"
    out.write_bytes(b"the previous kmodel")
    const = tmp_path / "const.npy"
    np.save(const, np.full((3, 32, 32, 3), 0.5, np.float32))
    rc, _, line = emc(["convert", cifar, "-o", out, "-d", const], capsys)
    assert rc == 2 and "constant" in line and str(const) in line
    assert out.read_bytes() == b"the previous kmodel"
    assert sorted(os.listdir(tmp_path)) == ["cifar.h5", "const.npy", "old.kmodel"]


def test_atomic_path_on_interrupt_and_success(tmp_path):
    from emc.outputs import atomic_open
    p = tmp_path / "out.bin"
    p.write_bytes(b"old")
    os.chmod(p, 0o640)
    with pytest.raises(KeyboardInterrupt):
        with atomic_open(p) as f:
            f.write(b"half of the new")
            raise KeyboardInterrupt
    assert p.read_bytes() == b"old" and os.listdir(tmp_path) == ["out.bin"]
    with atomic_open(p) as f:
        f.write(b"new")
    assert p.read_bytes() == b"new" and os.listdir(tmp_path) == ["out.bin"]
    assert os.stat(p).st_mode & 0o777 == 0o640          # the replaced file keeps its permissions


# ---- usage ---------------------------------------------------------------------------------------------

def test_usage_errors(cifar, calib, models_dir, tmp_path, capsys):
    tfl = models_dir / "pretrainedResnet_quant.tflite"
    rc, _, line = emc(["convert", cifar, tmp_path / "a.kmodel", "-o", tmp_path / "b.kmodel", "-d", calib], capsys)
    assert rc == 2 and "two outputs" in line and "a.kmodel" in line and "b.kmodel" in line
    for extra, flag in ((["--bits", "16"], "--bits"), (["-d", calib], "--dataset"), (["--quant", "kld"], "--quant"),
                        (["--resize"], "--resize"), (["--dense-on-kpu"], "--dense-on-kpu")):
        rc, _, line = emc(["convert", tfl, "-o", tmp_path / "g.kmodel", "--target", "generic", *extra], capsys)
        assert rc == 2 and flag in line and "--target generic" in line, line
    rc, _, line = emc(["convert", cifar, "-d", calib], capsys)
    assert rc == 2 and "give the kmodel to write" in line
    assert not any(p.suffix == ".kmodel" for p in tmp_path.iterdir())


# ---- .tflite files ---------------------------------------------------------------------------------------

def test_malformed_tflite_named_with_offset(models_dir, tmp_path, capsys):
    good = (models_dir / "pretrainedResnet_quant.tflite").read_bytes()
    h5 = (models_dir / "maixemc_cifar10_tl2.h5").read_bytes()
    bad = {"empty": b"", "short": good[:6], "truncated": good[:len(good) // 2], "header_only": good[:64],
           "random": np.random.default_rng(3).bytes(4096), "hdf5": h5[:4096],
           "big_offset": good[:8] + b"\xff\xff\xff\x7f" + good[12:]}
    for name, data in bad.items():
        p = tmp_path / f"{name}.tflite"
        p.write_bytes(data)
        for target in (["-d", tmp_path / "none.npy"], ["--target", "generic"]):
            rc, _, line = emc(["convert", p, "-o", tmp_path / "o.kmodel", *target], capsys)
            assert rc == 2 and str(p) in line, line
            assert "byte offset" in line, line
            assert "struct" not in line and "unpack" not in line
        assert p.read_bytes() == data
    rc, _, line = emc(["convert", tmp_path / "hdf5.tflite", "-o", tmp_path / "o.kmodel", "--target", "generic"], capsys)
    assert "HDF5" in line
    assert not (tmp_path / "o.kmodel").exists()


def test_tflite_verifier_names_the_tensor(models_dir, tmp_path):
    """A weight buffer one byte short: the verifier names the tensor and where its buffer is in the file."""
    import tflite
    from emc.frontends.tflite_verify import TFLiteFormatError, verify_tflite
    data = bytearray((models_dir / "pretrainedResnet_quant.tflite").read_bytes())
    m = tflite.Model.GetRootAsModel(bytes(data), 0)
    sg = m.Subgraphs(0)
    t = next(sg.Tensors(i) for i in range(sg.TensorsLength()) if m.Buffers(sg.Tensors(i).Buffer()).DataLength())
    buf = m.Buffers(t.Buffer())
    vec = buf._tab.Vector(buf._tab.Offset(4))          # the length word of the data vector is 4 bytes before
    n = int.from_bytes(data[vec - 4:vec], "little")
    data[vec - 4:vec] = (n - 1).to_bytes(4, "little")
    with pytest.raises(TFLiteFormatError) as ei:
        verify_tflite(bytes(data), "x.tflite")
    msg = str(ei.value)
    assert t.Name().decode() in msg and f"holds {n - 1} bytes" in msg and "byte offset" in msg


def test_tflite_fuzz_quick():
    """A few hundred mutants of real models through both .tflite readers: named errors only."""
    sys.path.insert(0, os.path.join(ROOT, "fuzz"))
    try:
        import fuzz_tflite
    finally:
        sys.path.pop(0)
    # the two small models keep this fast; fuzz/fuzz_tflite.py runs the long campaign over every model
    seeds = [os.path.join(ROOT, "tests", "convert", "data", f) for f in ("conv_relu_sub.tflite", "mbnet_float.tflite")]
    counts, unexpected = fuzz_tflite.run(seeds, 200, seed=12)
    assert not unexpected, unexpected[:3]
    assert sum(counts.values()) == 400
    assert counts["frontend: TFLiteFormatError"] > 100         # the verifier, not luck, stops most mutants
    assert counts["frontend: ok"] > 10                         # and lets harmless mutants through


# ---- model files ---------------------------------------------------------------------------------------

def test_damaged_h5_named(cifar, calib, models_dir, tmp_path, capsys):
    import h5py
    data = cifar.read_bytes()
    files = {"trunc.h5": data[:5000], "random.h5": np.random.default_rng(1).bytes(3000), "empty.h5": b"",
             "tflite.h5": (models_dir / "pretrainedResnet_quant.tflite").read_bytes(), "trunc.keras": b"PK\x03\x04" + data[:100]}
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    missing = tmp_path / "missing_group.h5"
    missing.write_bytes(data)
    with h5py.File(missing, "a") as f:
        del f["conv1"]
    files["missing_group.h5"] = missing.read_bytes()
    expect = {"trunc.h5": "damaged", "random.h5": "not an HDF5 file", "empty.h5": "empty file",
              "tflite.h5": "TFLite flatbuffer", "trunc.keras": "damaged .keras", "missing_group.h5": "conv1"}
    for name, what in expect.items():
        rc, _, line = emc(["convert", tmp_path / name, "-o", tmp_path / "o.kmodel", "-d", calib], capsys)
        assert rc == 2 and str(tmp_path / name) in line and what in line, line
        assert (tmp_path / name).read_bytes() == files[name]


def test_nan_weights_and_calibration_named(cifar, calib, tmp_path, capsys):
    import h5py
    with h5py.File(cifar, "a") as f:
        name = [n for n in f["conv2"].attrs["weight_names"]][0]
        name = name.decode() if isinstance(name, bytes) else name
        w = f["conv2"][name][...]
        w.flat[5] = np.nan
        f["conv2"][name][...] = w
    rc, _, line = emc(["convert", cifar, "-o", tmp_path / "o.kmodel", "-d", calib], capsys)
    assert rc == 2 and str(cifar) in line and "conv2" in line and "NaN/Inf" in line, line
    x = np.random.default_rng(0).random((4, 32, 32, 3)).astype(np.float32)
    x[2, 5, 6, 1] = np.inf
    np.save(tmp_path / "inf.npy", x)
    np.save(tmp_path / "same.npy", np.stack([x[0]] * 3))
    h5 = tmp_path / "ok.h5"
    h5.write_bytes(cifar.read_bytes())
    with h5py.File(h5, "a") as f:                     # a clean copy: the weights' check is not what fails
        f["conv2"][name][...] = np.nan_to_num(w)
    rc, _, line = emc(["convert", h5, "-o", tmp_path / "o.kmodel", "-d", tmp_path / "inf.npy"], capsys)
    assert rc == 2 and "inf.npy[2]" in line and "(5, 6, 1)" in line and "inf" in line, line
    rc, _, line = emc(["convert", h5, "-o", tmp_path / "o.kmodel", "-d", tmp_path / "same.npy"], capsys)
    assert rc == 2 and "all 3 inputs are the same" in line
    assert not (tmp_path / "o.kmodel").exists()


# ---- emc run -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def k210_model(kmodels_dir):
    return kmodels_dir / "maixemc_cifar10_output_hwverified_v3.kmodel"     # uint8 CHW (3, 32, 32)


def _png(path, a, mode=None):
    from PIL import Image
    Image.fromarray(a, mode).save(path)
    return path


def test_run_inputs_checked(k210_model, tmp_path, capsys):
    from emc.kmodel import load
    assert load(k210_model).input_spec() == ("u8", (3, 32, 32))
    rng = np.random.default_rng(5)
    hwc = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    np.save(tmp_path / "chw.npy", hwc.transpose(2, 0, 1).copy())
    np.save(tmp_path / "hwc.npy", hwc)
    rc, ref, _ = emc(["run", k210_model, tmp_path / "chw.npy"], capsys)
    assert rc == 0
    rc, out, _ = emc(["run", k210_model, tmp_path / "hwc.npy"], capsys)     # unambiguous: transposed, said so
    assert rc == 0 and out == ref
    _png(tmp_path / "same.png", hwc)
    rc, out, _ = emc(["run", k210_model, tmp_path / "same.png"], capsys)
    assert rc == 0 and out == ref
    _png(tmp_path / "big.png", rng.integers(0, 256, (40, 48, 3), dtype=np.uint8))
    rc, _, line = emc(["run", k210_model, tmp_path / "big.png"], capsys)
    assert rc == 2 and "48x40" in line and "32x32" in line and "--resize" in line
    assert emc(["run", k210_model, tmp_path / "big.png", "--resize"], capsys)[0] == 0
    bad = {"float.npy": hwc.transpose(2, 0, 1) / 255.0, "wide.npy": hwc.transpose(2, 0, 1).astype(np.int16) * 2,
           "shape.npy": np.zeros((3, 32, 31), np.uint8), "nan.npy": np.full((3, 32, 32), np.nan, np.float32)}
    expect = {"float.npy": "not an integer", "wide.npy": "limit 0..255", "shape.npy": "(3, 32, 31)",
              "nan.npy": "nan"}
    for name, a in bad.items():
        np.save(tmp_path / name, a)
        before = digest(tmp_path / name)
        rc, _, line = emc(["run", k210_model, tmp_path / name], capsys)
        assert rc == 2 and str(tmp_path / name) in line and expect[name] in line, line
        assert digest(tmp_path / name) == before
    rc, _, line = emc(["run", k210_model, tmp_path / "chw.npy", "--out", tmp_path / "chw.npy"], capsys)
    assert rc == 2 and "refusing to overwrite" in line
    rc, _, _ = emc(["run", k210_model, tmp_path / "chw.npy", "--out", tmp_path / "y"], capsys)
    assert rc == 0 and (tmp_path / "y.npy").exists()


def test_sixteen_bit_png_is_scaled_not_clipped(k210_model, tmp_path, capsys):
    """A 16-bit grayscale PNG of v * 257 is the 8-bit image of v (Pillow's convert('L') would clip to 255)."""
    from emc.images import read_rgb
    v = np.random.default_rng(6).integers(0, 256, (32, 32)).astype(np.uint16)
    p16 = _png(tmp_path / "g16.png", v * 257)
    p8 = _png(tmp_path / "g8.png", v.astype(np.uint8))
    a = read_rgb(p16, channels=1)[..., 0]
    assert a.dtype == np.uint8 and np.array_equal(a, v)
    rc16, out16, _ = emc(["run", k210_model, p16], capsys)
    rc8, out8, _ = emc(["run", k210_model, p8], capsys)
    assert rc16 == rc8 == 0 and out16 == out8


def test_run_generic_int8_and_vector_models(models_dir, data_files, tmp_path, capsys):
    tfl = models_dir / "pretrainedResnet_quant.tflite"
    km = tmp_path / "g.kmodel"
    assert emc(["convert", tfl, "-o", km, "--target", "generic", "-q"], capsys)[0] == 0
    from emc.kmodel import load
    dtype, shape = load(km).input_spec()
    assert dtype == "i8"
    x = np.full(shape, 100, np.uint8)
    x.flat[7] = 200
    np.save(tmp_path / "u8.npy", x)
    rc, _, line = emc(["run", km, tmp_path / "u8.npy"], capsys)
    assert rc == 2 and "200" in line and "limit -128..127" in line
    np.save(tmp_path / "i8.npy", x.astype(np.int16).clip(-128, 127).astype(np.int8))
    assert emc(["run", km, tmp_path / "i8.npy"], capsys)[0] == 0
    iris = data_files / "nncase_v0.1_iris_v3.kmodel"
    assert load(iris).input_spec() == ("f32", (4,))
    img = _png(tmp_path / "photo.png", np.zeros((32, 32, 3), np.uint8))
    rc, _, line = emc(["run", iris, img], capsys)
    assert rc == 2 and "vector of 4 float32" in line and str(img) in line


# ---- the policy itself -----------------------------------------------------------------------------------

def test_debug_prints_the_traceback(tmp_path, capsys):
    p = tmp_path / "e.tflite"
    p.write_bytes(b"")
    assert main(["convert", str(p), "-o", str(tmp_path / "o.kmodel"), "--target", "generic", "--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "TFLiteFormatError" in err and err.strip().endswith("a root offset and 'TFL3'")


def test_exit_codes_of_run_cli(capsys):
    from emc.errors import DeviceError, MismatchError, run_cli

    def raising(exc):
        def f(argv):
            raise exc
        return f
    for exc, code in ((MismatchError("2 of 3 outputs differ"), 1), (DeviceError("no answer", file="/dev/ttyACM0"), 3),
                      (KeyboardInterrupt(), 130), (FileNotFoundError("x"), 2), (ZeroDivisionError("bug"), 4)):
        assert run_cli(raising(exc), "emc", []) == code
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert run_cli(raising(ZeroDivisionError("bug")), "emc", []) == 4
    assert "internal error" in capsys.readouterr().err


def test_ctrl_c_is_130_without_traceback(k210_model, tmp_path):
    """A real SIGINT while `emc run` waits on its input (a FIFO): exit 130, one line, no traceback, no output."""
    fifo = tmp_path / "in.npy"
    os.mkfifo(fifo)
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen([sys.executable, "-m", "emc.cli", "run", str(k210_model), str(fifo), "--out",
                             str(tmp_path / "y.npy")], stderr=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=ROOT)
    deadline = time.time() + 60
    while time.time() < deadline:                   # until it blocks opening the FIFO
        try:
            with open(f"/proc/{proc.pid}/wchan") as f:
                wchan = f.read()
            if "fifo" in wchan or "pipe" in wchan or "partner" in wchan:
                break
        except OSError:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    err = err.decode()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip() == "emc: interrupted"
    assert not (tmp_path / "y.npy").exists()
