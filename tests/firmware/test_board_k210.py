"""The real-board K210 layer (firmware_k210/src/board_k210.c: hardware-KPU port, DMAC mover) compiles
with riscv64-unknown-elf-gcc against declarations of the SDK functions it calls
(k210_sdk_decls/, SDK signatures), without the SDK; the whole sipeed-maix-bit env against the real SDK is
built by tests/firmware/test_boards.py when EMC_VENDOR names the vendor kit."""
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CC = ["riscv64-unknown-elf-gcc", "-march=rv64imafdc", "-mabi=lp64d", "-mcmodel=medany", "--specs=picolibc.specs"]


@pytest.mark.parametrize("variant", [[], ["-DHIL_K210_SW_KPU"]], ids=["hw_kpu", "sw_kpu"])
def test_board_k210_compiles(variant, tmp_path):
    if shutil.which(CC[0]) is None:
        pytest.skip(f"{CC[0]} not installed")
    r = subprocess.run(CC + ["-std=gnu99", "-O2", "-Wall", "-Wextra", "-Werror", *variant,
                             "-I" + str(pathlib.Path(__file__).with_name("k210_sdk_decls")),
                             "-I" + str(ROOT / "firmware_common/include"), "-I" + str(ROOT / "runtime_c/include"),
                             "-I" + str(ROOT / "runtime_c/ports/k210"), "-c", str(ROOT / "firmware_k210/src/board_k210.c"),
                             "-o", str(tmp_path / "board_k210.o")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    syms = subprocess.run(["riscv64-unknown-elf-nm", str(tmp_path / "board_k210.o")], capture_output=True,
                          text=True).stdout
    if not variant:   # the hardware port and the DMAC are really used
        for s in ("emc_k210_conv_hw", "emc_k210_init", "emc_k210_publish", "dmac_set_single_mode", "dmac_wait_done"):
            assert s in syms, s
