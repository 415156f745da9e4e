"""`emc convert` (the lead wires add_convert_parser into emc.cli)."""
import argparse

import numpy as np

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


def test_equalize_option_cli(tmp_path, capsys):
    """--equalize off|auto on a float .tflite with depthwise convs: the report says how many pairs were
    rescaled; --equalize is refused for --target generic."""
    import os
    import pytest
    from emc.errors import UsageError
    src = os.path.join(os.path.dirname(__file__), "data", "mbnet_float.tflite")
    x = np.random.default_rng(0).random((8, 32, 32, 3)).astype(np.float32)
    np.save(tmp_path / "cal.npy", x)
    for mode in ("off", "auto"):
        assert _main(["convert", src, str(tmp_path / f"{mode}.kmodel"), "-d", str(tmp_path / "cal.npy"),
                      "--eval", "0", "--equalize", mode]) == 0
        text = capsys.readouterr().out
        assert ("cross-layer equalization:" in text) == (mode == "auto")
    with pytest.raises(UsageError, match="--equalize"):
        _main(["convert", src, str(tmp_path / "g.kmodel"), "--target", "generic", "--equalize", "off"])
