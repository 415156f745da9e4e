import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


class DataFiles:
    """`files / name` -> a real model file, found the way the bench finds it (emc.hil.cases.data_file: the
    package's emc/data, else tests/data; origins and checksums in each folder's SOURCES.md / SHA256SUMS);
    `files.glob(pattern)` over both folders."""

    def __truediv__(self, name):
        from emc.hil.cases import data_file
        path = data_file(name)
        if not path.is_file():
            raise FileNotFoundError(f"{name}: in neither emc/data nor tests/data")
        return path

    def glob(self, pattern):
        from emc import data
        from emc.hil.cases import BENCH_DATA
        return sorted((p for d in (data.DIR, BENCH_DATA) for p in d.glob(pattern)), key=lambda p: p.name)


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
