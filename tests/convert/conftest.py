import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402
from convert_support import DATA, agreement, run_without_tf  # noqa: E402,F401


@pytest.fixture(scope="session")
def cal_dir(tmp_path_factory):
    """40 synthetic calibration PNGs (32x32 RGB)."""
    d = tmp_path_factory.mktemp("calib")
    return synth.write_pngs(str(d), synth.synth_images(40, seed=1)[0])


@pytest.fixture(scope="session")
def eval_images():
    """100 inputs that are not in the calibration set, uint8 HWC, with labels."""
    return synth.synth_images(100, seed=2)
