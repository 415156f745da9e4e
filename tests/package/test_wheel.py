"""`pip wheel .` makes a wheel that works outside the checkout: installed into a fresh venv in a temp
folder, `emc convert` converts the bundled example, `emc info` reads it and `emc run --runtime both` runs it
on the numpy reference and on the C runtime, which the wheel carries as sources and builds on first use."""
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

# The original Maix-EMC README's output of this network on a real K210 for the plane image (tests/data/SOURCES.md);
# our kmodel is quantized from the same float weights, so it lands within quantization error of it.
K210_HARDWARE = np.array([1.181304, -5.381746, 1.580029, 0.045343, 0.511492, -0.656629, -3.597826, 0.561016,
                          -0.733270, -3.771462])


@pytest.mark.slow
def test_wheel_in_fresh_venv(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "-w", str(wheels), str(ROOT)], check=True, cwd=tmp_path)
    (wheel,) = wheels.glob("emc-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bin_ = venv / "bin"
    subprocess.run([str(bin_ / "pip"), "install", "-q", "--disable-pip-version-check", str(wheel)], check=True)

    work = tmp_path / "user"           # a user's folder: nothing of the checkout is reachable from here
    (work / "cal").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMC_", "PYTHON"))}
    env.update(HOME=str(tmp_path / "home"), XDG_CACHE_HOME=str(tmp_path / "cache"))

    def emc(*args):
        r = subprocess.run([str(bin_ / "emc"), *map(str, args)], cwd=work, env=env, capture_output=True,
                           text=True, timeout=600)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Traceback" not in r.stderr
        return r.stdout

    where = subprocess.run([str(bin_ / "python"), "-c", "import emc, emc.data as d; print(emc.__file__); "
                            "print(d.path(d.SEED_H5)); print(d.path(d.PLANE_BMP))"],
                           cwd=work, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert str(venv) in where[0] and str(ROOT) not in where[0]
    h5, plane = where[1], where[2]
    (work / "cal" / "plane.bmp").write_bytes(pathlib.Path(plane).read_bytes())

    emc("convert", h5, "cifar10.kmodel", "-d", "cal")
    assert "K210_CONV" in emc("info", "cifar10.kmodel")
    out = emc("run", "cifar10.kmodel", "cal/plane.bmp", "--runtime", "both", "--out", "y.npy")
    assert "C runtime vs PC reference: byte-identical" in out
    assert (tmp_path / "cache" / "emc").is_dir()          # the C runtime was built from the wheel's sources
    y = np.load(work / "y.npy")
    assert int(np.argmax(y)) == int(np.argmax(K210_HARDWARE))
    assert np.max(np.abs(y - K210_HARDWARE)) < 0.25
