"""Real-board builds cannot be made here (PlatformIO registry unreachable), but their memory budgets
can: link the common firmware with each Nucleo env's linker script and buffer sizes."""
import shutil

import pytest

from emc.hil import firmware

pytestmark = pytest.mark.slow


def test_envs_declared():
    envs = firmware.platformio_envs("firmware_stm32")
    assert {"nucleo_l4r5zi", "nucleo_f446re", "nucleo_h743zi"} <= set(envs)
    for name, e in envs.items():
        if not name.startswith("nucleo"):
            continue
        assert e["ldscript"] and any(d.startswith("-DHIL_MODEL_MAX=") for d in e["defines"])
    k210 = firmware.platformio_envs("firmware_k210")
    assert {"sipeed-maix-bit", "qemu_rv64"} <= set(k210)
    assert {"qemu_m4", "qemu_m7"} <= set(envs)


@pytest.mark.parametrize("env,flash,ram", [
    ("nucleo_l4r5zi", 2048 * 1024, 640 * 1024),
    ("nucleo_f446re", 512 * 1024, 128 * 1024),
    ("nucleo_h743zi", 2048 * 1024, 128 * 1024 + 512 * 1024),
    ("sipeed-maix-bit", 16 * 1024 * 1024, 6 * 1024 * 1024),  # K210: code runs from the same 6 MiB SRAM
])
def test_fits(env, flash, ram):
    cc = "riscv64-unknown-elf-gcc" if env.startswith("sipeed") else "arm-none-eabi-gcc"
    if shutil.which(cc) is None:
        pytest.skip(f"{cc} not installed")
    s = firmware.fit_check(env)
    print(env, s)
    assert s["flash"] < flash
    assert s["ram"] + s["buffers"] + (s["flash"] if env.startswith("sipeed") else 0) <= ram
    assert s["buffers"] > 0
