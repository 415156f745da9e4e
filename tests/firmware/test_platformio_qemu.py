"""The QEMU firmwares built by PlatformIO offline (local dev-platform + tool-scons from PyPI) run the
same protocol. Skipped unless the `platformio` package is installed in the test's Python."""
import importlib.util
import os
import pathlib
import subprocess
import sys

import pytest

from emc.hil import firmware
from emc.hil.qemu import Qemu, qemu_available

pytestmark = pytest.mark.slow
ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("project,env,target", [("firmware_stm32", "qemu_m4", "qemu-m4"),
                                                ("firmware_k210", "qemu_rv64", "qemu-rv64")])
def test_pio_build_runs(project, env, target):
    if importlib.util.find_spec("platformio") is None:
        pytest.skip("platformio not installed")
    if not (firmware.toolchain_available(target) and qemu_available(target)):
        pytest.skip("cross toolchain / QEMU missing")
    e = dict(os.environ, PLATFORMIO_SETTING_ENABLE_TELEMETRY="No")
    subprocess.run(["bash", str(ROOT / "firmware_common/pio/setup_offline.sh"), sys.executable], check=True,
                   env=e, capture_output=True)
    r = subprocess.run([sys.executable, "-m", "platformio", "run", "-d", str(ROOT / project), "-e", env],
                       env=e, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    elf = ROOT / project / ".pio" / "build" / env / "program.elf"
    with Qemu(target, elf) as q:
        h = q.client().hello()
    assert h.target == target
