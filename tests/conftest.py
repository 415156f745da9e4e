import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Real model files live in the repository: the package's bundled ones in emc/data, the test/bench ones in
# tests/data (origins, licences and checksums in the SOURCES.md / SHA256SUMS of each folder).
DATA_DIRS = (ROOT / "emc" / "data", ROOT / "tests" / "data")


class DataFiles:
    """`files / name` -> the path of a real model file in either data folder; `files.glob(pattern)` over both."""

    def __truediv__(self, name):
        for d in DATA_DIRS:
            if (d / name).is_file():
                return d / name
        raise FileNotFoundError(f"{name}: not in {' or '.join(str(d) for d in DATA_DIRS)}")

    def glob(self, pattern):
        return sorted((p for d in DATA_DIRS for p in d.glob(pattern)), key=lambda p: p.name)


@pytest.fixture(autouse=True, scope="session")
def _private_home(tmp_path_factory):
    # Keras, matplotlib and friends write into $HOME; keep tests away from the user's.
    home = tmp_path_factory.mktemp("home")
    old = os.environ.get("HOME")
    os.environ["HOME"] = str(home)
    yield
    if old is not None:
        os.environ["HOME"] = old


@pytest.fixture(scope="session")
def data_files():
    return DataFiles()


# The kmodel and model fixtures predate the single data folder pair; both name the same files.
kmodels_dir = models_dir = data_files
