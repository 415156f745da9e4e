"""`emc convert` (the lead wires add_convert_parser into emc.cli)."""
import argparse

import numpy as np
import pytest

from emc.cli_convert import add_convert_parser


def _main(argv):
    p = argparse.ArgumentParser(prog="emc")
    add_convert_parser(p.add_subparsers(dest="cmd", required=True))
    a = p.parse_args(argv)
    return a.fn(a)


def test_convert_cli(models_dir, cal_dir, tmp_path, capsys):
    out = tmp_path / "c.kmodel"
    assert _main(["convert", str(models_dir / "maixemc_cifar10_tl2.h5"), str(out), "-d", cal_dir,
                  "--quant", "minmax", "--eval", "5"]) == 0
    text = capsys.readouterr().out
    assert "K210_CONV" in text and "top-1 agreement" in text and out.exists()
    assert (tmp_path / "c.kmodel.report.txt").exists()


def test_convert_cli_via_emc_main(models_dir, tmp_path, capsys):
    try:
        from emc.cli import main
    except ImportError:
        return
    (tmp_path / "empty").mkdir()
    rc = main(["convert", str(models_dir / "maixemc_cifar10_tl2.h5"), str(tmp_path / "x.kmodel"),
               "-d", str(tmp_path / "empty")])
    assert rc == 2
    assert "is empty" in capsys.readouterr().err


def test_npy_dataset_cli(models_dir, tmp_path):
    x = np.random.default_rng(0).random((6, 32, 32, 3)).astype(np.float32)
    np.save(tmp_path / "cal.npy", x)
    assert _main(["convert", str(models_dir / "maixemc_cifar10_tl2.h5"), str(tmp_path / "n.kmodel"),
                  "-d", str(tmp_path / "cal.npy"), "-q"]) == 0


def test_generic_target_and_missing_dataset(models_dir, tmp_path, capsys):
    import pytest
    from emc.quant import DatasetError
    assert _main(["convert", str(models_dir / "pretrainedResnet_quant.tflite"), str(tmp_path / "g.kmodel"),
                  "--target", "generic", "-q"]) == 0
    from emc.kmodel import load
    assert load(tmp_path / "g.kmodel").layers[0].NAME.startswith("GENERIC")
    with pytest.raises(DatasetError, match="no calibration dataset"):
        _main(["convert", str(models_dir / "maixemc_cifar10_tl2.h5"), str(tmp_path / "x.kmodel")])


def test_generic_fc_weights_int16(models_dir, tmp_path, capsys):
    """--fc-weights int16 (MLPerf ad: 10 FC layers): every FULLY_CONNECTED layer carries flag bit 0
    and int16 weights equal to the int8 file's, the kmodel grows by one byte per weight, the arena by
    the int16 input chunk and row sums (0.75x TFLM's 2,580 B is the budget), the reference output is
    the int8 layout's; the option is refused for the K210 target."""
    import pytest
    from emc.errors import UsageError
    from emc.kmodel import load
    from emc.kmodel.arena import arena_bytes
    from emc.reference import run
    src = str(models_dir / "ad01_int8.tflite")
    a, b = tmp_path / "i8.kmodel", tmp_path / "i16.kmodel"
    assert _main(["convert", src, str(a), "--target", "generic", "-q"]) == 0
    assert _main(["convert", src, str(b), "--target", "generic", "--fc-weights", "int16", "-q"]) == 0
    m8, m16 = load(a), load(b)
    fc8 = [x for x in m8.layers if x.NAME == "GENERIC_FULLY_CONNECTED"]
    fc16 = [x for x in m16.layers if x.NAME == "GENERIC_FULLY_CONNECTED"]
    assert len(fc16) == 10 and all(x.flags == 3 and x.weights.dtype == np.int16 for x in fc16)  # + FC_RQ_FAST
    assert all(x.flags == 0 and x.weights.dtype == np.int8 for x in fc8)
    assert all(np.array_equal(p.weights, q.weights) for p, q in zip(fc8, fc16))
    weights = sum(x.weights.size for x in fc8)
    assert b.stat().st_size - a.stat().st_size == weights
    # the 640-input layer: a 256-input int16 chunk (512 B) + 128 row sums (512 B)
    assert max(x.cpu_scratch() for x in fc16) == 1024
    assert arena_bytes(m16) == arena_bytes(m8) + 1024 <= 0.75 * 2580
    x = np.random.default_rng(1).integers(-128, 128, m8.input_spec()[1], dtype=np.int8)
    assert run(m16, x)[0].tobytes() == run(m8, x)[0].tobytes()
    with pytest.raises(UsageError, match="--fc-weights applies to --target generic only"):
        _main(["convert", src, str(tmp_path / "k.kmodel"), "--fc-weights", "int16"])


@pytest.mark.parametrize("option, modes, report_line", [("--equalize", ("off", "auto"), "cross-layer equalization:"),
                                                       ("--bias-correct", ("off", "on"), "bias correction:")])
def test_accuracy_pass_options_cli(option, modes, report_line, tmp_path, capsys):
    """--equalize off|auto and --bias-correct off|on on a float .tflite with depthwise convs: the report
    says what the pass changed and the kmodels differ; both options are refused for --target generic."""
    import os

    from emc.errors import UsageError
    src = os.path.join(os.path.dirname(__file__), "data", "mbnet_float.tflite")
    x = np.random.default_rng(0).random((8, 32, 32, 3)).astype(np.float32)
    np.save(tmp_path / "cal.npy", x)
    for mode in modes:
        assert _main(["convert", src, str(tmp_path / f"{mode}.kmodel"), "-d", str(tmp_path / "cal.npy"),
                      "--eval", "0", option, mode]) == 0
        text = capsys.readouterr().out
        assert (report_line in text) == (mode != "off")
    assert (tmp_path / "off.kmodel").read_bytes() != (tmp_path / f"{modes[1]}.kmodel").read_bytes()
    with pytest.raises(UsageError, match=option):
        _main(["convert", src, str(tmp_path / "g.kmodel"), "--target", "generic", option, "off"])
