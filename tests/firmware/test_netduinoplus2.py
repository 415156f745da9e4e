"""The real-HAL F4 HIL firmware (STM32Cube F4 HAL + CMSIS from EMC_VENDOR, env qemu_netduinoplus2 of
firmware_stm32/platformio.ini, STM32F405) on QEMU's netduinoplus2 machine, driven through the HIL
protocol over USART2: HAL_Init, the clock code, HAL_UART_Init and the receive interrupt run for
real. QEMU 7.2 models the USARTs, NVIC and SysTick of this SoC but not RCC, PWR, the flash interface,
GPIO or DWT (docs/boards.md): the clock setup times out and the core stays at the reset HSI 16 MHz,
which is what the firmware then reports."""
import os
import shutil

import numpy as np
import pytest

from emc import boards
from emc.hil.qemu import Qemu
from emc.kmodel import load
from emc.reference import run

pytestmark = pytest.mark.slow
IRIS_X = np.array([6.3, 3.3, 6.0, 2.5], np.float32)


@pytest.fixture(scope="module")
def elf():
    vendor = os.environ.get("EMC_VENDOR")
    if not vendor:
        pytest.skip("set EMC_VENDOR=DIR (STM32Cube F4 HAL + CMSIS with stm32f405xx.h; docs/boards.md)")
    for tool in ("arm-none-eabi-gcc", "qemu-system-arm"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed")
    env = boards.real_board_envs()["qemu_netduinoplus2"]
    return boards.build_env(env, boards.pathlib.Path(vendor).resolve())["elf"]


def test_real_hal_firmware_on_netduinoplus2(elf, data_files):
    with Qemu("qemu-netduinoplus2", elf, icount=False, start_timeout=30) as q:
        dev = q.client()
        hello = dev.hello()
        assert hello.strings["target"] == "qemu_netduinoplus2"
        # SystemCoreClockUpdate after the HAL's clock code: RCC reads 0 under QEMU = HSI selected
        assert hello.core_clock_hz == 16_000_000
        path = data_files / "nncase_v0.1_iris_v3.kmodel"
        res = dev.load(path.read_bytes())
        assert res.input_size == IRIS_X.nbytes
        inv, outs = dev.run(IRIS_X.tobytes())
        assert inv.status == 0
        want = run(load(path), IRIS_X)
        assert outs == [np.ascontiguousarray(w).tobytes() for w in want]
