"""The runtime builds warning-free (-std=c99 -Wall -Wextra -Werror) with gcc and clang on the host
and with the Cortex-M4F and RV64GC cross compilers (each skipped when not installed)."""
import pathlib
import shutil
import subprocess

import pytest

RT = pathlib.Path(__file__).resolve().parents[2] / "runtime_c"
SOURCES = sorted(RT.glob("src/*.c")) + sorted(RT.glob("kernels/*/*.c"))
COMPILERS = {
    "gcc": ["gcc"],
    "clang": ["clang"],
    "cortex-m4": ["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"],
    "rv64gc": ["riscv64-unknown-elf-gcc", "-march=rv64imafdc", "-mabi=lp64d", "-mcmodel=medany",
               "--specs=picolibc.specs"],
}
K210_PORT = [RT / "ports/k210/emc_port_k210.c"]   # plain C99, no SDK: builds everywhere
PORTS = {"cortex-m4": [RT / "ports/cortex_m/emc_port_cortex_m.c"],
         "gcc": [RT / "ports/host/emc_port_host.c"] + K210_PORT, "clang": K210_PORT, "rv64gc": K210_PORT}


@pytest.mark.slow
@pytest.mark.parametrize("target", sorted(COMPILERS))
def test_warning_free_build(target, tmp_path):
    cc = COMPILERS[target]
    if shutil.which(cc[0]) is None:
        pytest.skip(f"{cc[0]} not installed")
    for src in SOURCES + PORTS.get(target, []):
        r = subprocess.run(cc + ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-ffp-contract=off", "-O2",
                                 f"-I{RT / 'include'}", f"-I{RT / 'src'}", "-c", str(src),
                                 "-o", str(tmp_path / (src.stem + ".o"))], capture_output=True, text=True)
        assert r.returncode == 0, f"{target} {src.name}:\n{r.stderr}"
