"""The repository's third-party data files are the upstream bytes their SOURCES.md names (SHA256SUMS), every
file there is listed, and nothing in the product or the tests reaches outside the checkout for data."""
import hashlib
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA_DIRS = [ROOT / "emc" / "data", ROOT / "tests" / "data"]


@pytest.mark.parametrize("folder", DATA_DIRS, ids=lambda p: str(p.relative_to(ROOT)))
def test_checksums_and_sources(folder):
    sums = dict(line.split()[::-1] for line in (folder / "SHA256SUMS").read_text().splitlines())
    files = {p.name for p in folder.iterdir() if p.is_file() and p.suffix not in (".py", ".md") and p.name != "SHA256SUMS"}
    assert files == set(sums), "SHA256SUMS must list exactly the data files"
    sources = (folder / "SOURCES.md").read_text()
    for name, digest in sums.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
        assert f"| {name} |" in sources, f"{name} has no origin/licence row in SOURCES.md"


# The makers' reference kit sits beside their checkout; the product must never reach for it. The patterns are
# assembled here so that this file, which only searches for them, does not name them itself.
OUTSIDE_PATHS = [".." + "/shared", "EMC_" + "SHARED"]


def test_nothing_reads_outside_the_checkout():
    pats = [arg for pat in OUTSIDE_PATHS for arg in ("-e", pat)]
    r = subprocess.run(["git", "grep", "-n", "-I", "-F", *pats, "--", "."], cwd=ROOT, capture_output=True, text=True)
    if r.returncode not in (0, 1):
        pytest.skip("not a git checkout")
    assert r.stdout == ""
