"""Real-board builds (emc.boards, `nox -s boards`): the PlatformIO envs of firmware_stm32, firmware_k210 and
examples/ read from their platformio.ini (fast checks below), and, when EMC_VENDOR names a vendor kit
(STM32Cube HAL/CMSIS for L4/F4/H7 + the Kendryte standalone SDK, layout in docs/boards.md), built with
the cross compilers here against it (slow)."""
import json
import os
import pathlib
import shutil
import subprocess

import pytest

from emc import boards

STM32 = {"nucleo_l4r5zi", "nucleo_f446re", "nucleo_h743zi", "qemu_netduinoplus2",
         "example_nucleo_l4r5zi", "example_nucleo_f446re", "example_nucleo_h743zi"}
K210 = {"sipeed-maix-bit", "example_sipeed_maix_bit"}


def test_real_board_envs_from_platformio_ini():
    envs = boards.real_board_envs()
    assert set(envs) == STM32 | K210
    for name in STM32:
        e = envs[name]
        assert "toolchain-gccarmnoneeabi@~1.12" in e.get("platform_packages")   # GCC 12: ACLE SIMD32
        assert "-mfloat-abi=hard" in e.flags("custom_float_abi_flags")
        assert "emc_board_flags.py" in e.get("extra_scripts")                   # float ABI reaches the link
        assert "-Os" in e.flags("build_unflags") and "-O2" in e.flags("build_flags")
        assert "-DEMC_USE_DSP=1" in e.flags("build_flags")
        assert e.get("board_build.product_line").startswith("STM32")
    for name in K210:
        e = envs[name]
        assert "-Os" in e.flags("build_unflags") and "-O2" in e.flags("build_flags")
        assert "emc_picolibc_compat.h" in e.flags("build_flags")
    # ${env.build_flags} interpolation keeps the common flags and adds the board's
    f446 = envs["nucleo_f446re"].flags("build_flags")
    assert '-DHIL_TARGET="nucleo_f446re"' in f446 and "-ffp-contract=off" in f446
    assert all(envs[n].get("lib_deps") for n in envs if n.startswith("example"))


def test_src_filter(tmp_path):
    for p in ("a/x.c", "a/sub/y.c", "a/z.h", "b/w.c", "b/v.S"):
        (tmp_path / p).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / p).write_text("")
    got = boards._src_filter(tmp_path, "-<*> +<a/> +<b/v.S> -<a/sub/y.c>")
    assert [p.relative_to(tmp_path).as_posix() for p in got] == ["a/x.c", "b/v.S"]


def test_linker_limits():
    envs = boards.real_board_envs()
    e = envs["nucleo_h743zi"]
    regions = boards._memory_regions(e.project / e.get("board_build.ldscript"), [])
    assert regions == {"FLASH": 2048 * 1024, "RAM": 128 * 1024, "BUFS": 512 * 1024}


def test_fits_counts_k210_code_in_ram():
    envs = boards.real_board_envs()
    row = dict(env="sipeed-maix-bit", flash_bytes=2 << 20, ram_bytes=5 << 20, flash_limit=16 << 20,
               ram_limit=6 << 20)
    assert "RAM" in boards.fits(row, envs["sipeed-maix-bit"])
    row.update(env="nucleo_f446re", flash_bytes=600 << 10, ram_bytes=1, flash_limit=512 << 10)
    assert "flash" in boards.fits(row, envs["nucleo_f446re"])


def test_without_vendor_skips_with_reason(capsys):
    assert boards.main([]) == 0
    assert "skipped: no --vendor" in capsys.readouterr().out


# ---- with the vendor kit -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    vendor = os.environ.get("EMC_VENDOR")
    if not vendor:
        pytest.skip("set EMC_VENDOR=DIR (STM32Cube L4/F4/H7 HAL + CMSIS, Kendryte standalone SDK; "
                    "docs/boards.md) to build the real-board envs")
    for cc in ("arm-none-eabi-gcc", "riscv64-unknown-elf-gcc"):
        if shutil.which(cc) is None:
            pytest.skip(f"{cc} not installed")
    out = tmp_path_factory.mktemp("boards") / "boards.json"
    rc = boards.main(["--vendor", vendor, "--json", str(out)])
    rows = {r["env"]: r for r in json.loads(out.read_text())}
    assert rc == 0, rows
    return rows


def _syms(tool, elf):
    return {line.split()[-1]: line.split()[-2] for line in
            subprocess.run([tool, str(elf)], capture_output=True, text=True).stdout.splitlines() if len(line.split()) == 3}


@pytest.mark.slow
def test_every_env_builds_and_fits(built):
    assert set(built) == STM32 | K210
    for r in built.values():
        assert set(r) >= {"env", "elf", "flash_bytes", "ram_bytes", "flash_limit", "ram_limit"}
        assert 0 < r["flash_bytes"] <= r["flash_limit"] and 0 < r["ram_bytes"] <= r["ram_limit"] and r["fits"]
        assert pathlib.Path(r["elf"]).is_file()


@pytest.mark.slow
@pytest.mark.parametrize("env", sorted(STM32))
def test_stm32_elf_is_hard_float_with_the_hal(built, env):
    elf = built[env]["elf"]
    attrs = subprocess.run(["arm-none-eabi-readelf", "-A", elf], capture_output=True, text=True).stdout
    assert "Tag_ABI_VFP_args: VFP registers" in attrs
    syms = _syms("arm-none-eabi-nm", elf)
    for s in ("HAL_RCC_OscConfig", "HAL_RCC_ClockConfig", "HAL_UART_Init", "HAL_GPIO_Init", "SystemInit",
              "emc_model_invoke"):
        assert s in syms, s
    if env.startswith("example"):
        assert syms["emc_model_data"] == "R"        # the model stays in flash


@pytest.mark.slow
@pytest.mark.parametrize("env", sorted(K210))
def test_k210_elf_has_the_sdk(built, env):
    elf = built[env]["elf"]
    head = subprocess.run(["riscv64-unknown-elf-readelf", "-h", elf], capture_output=True, text=True).stdout
    assert "single-float ABI" in head                 # -mabi=lp64f as platform-kendryte210 builds
    syms = _syms("riscv64-unknown-elf-nm", elf)
    for s in ("_init_bsp", "sysctl_pll_set_freq", "uarths_init", "dmac_set_single_mode", "emc_k210_conv_hw"):
        assert s in syms, s
    if env.startswith("example"):
        assert syms["emc_model_data"] == "R"
