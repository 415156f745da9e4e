import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED = pathlib.Path(os.environ.get("EMC_SHARED", ROOT.parent / "shared"))
KMODELS = SHARED / "kmodels"
MODELS = SHARED / "models"


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
def shared_dir():
    if not SHARED.is_dir():
        pytest.skip(f"reference material not found at {SHARED} (set EMC_SHARED)")
    return SHARED


@pytest.fixture(scope="session")
def kmodels_dir(shared_dir):
    return shared_dir / "kmodels"


@pytest.fixture(scope="session")
def models_dir(shared_dir):
    return shared_dir / "models"
