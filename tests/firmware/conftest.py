"""Fixtures for the HIL firmware tests: built firmwares, running devices."""
import shutil
import subprocess

import pytest

from emc.hil import firmware
from emc.hil.protocol import HilClient
from fw_support import CIFAR, IRIS, IRIS_X, PLANE, cifar_input, expected_layers, expected_outputs  # noqa: F401


@pytest.fixture(scope="session")
def host_firmware():
    if shutil.which("cc") is None or shutil.which("make") is None:
        pytest.skip("no host C compiler / make")
    return firmware.build("host")


@pytest.fixture()
def host_device(host_firmware):
    """The firmware's protocol code as a Linux process on a pty, talked to through pyserial."""
    p = subprocess.Popen([str(host_firmware)], stdout=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline().split()
        assert line[:2] == ["HIL", "pty"], line
        dev = HilClient.open(line[2], timeout=5.0)
        dev.sync(timeout=5)
        yield dev
        dev.close()
    finally:
        p.kill()
        p.wait()
