"""The STM32 embedding example (examples/example_main.c + examples/stm32_nucleo/src/example_input.c) on
QEMU mps2-an386 (Cortex-M4F, DSP kernels): the iris model exported by `emc export-c` runs from
flash and prints the class the Python reference (emc.reference) computes for the same input."""
import pathlib
import shutil
import subprocess
import time

import numpy as np
import pytest

from emc.export_c import export
from emc.kmodel import load
from emc.reference import run

ROOT = pathlib.Path(__file__).resolve().parents[2]
IRIS = ROOT / "emc" / "data" / "nncase_v0.1_iris_v3.kmodel"
VIRGINICA = [6.3, 3.3, 6.0, 2.5]       # examples/stm32_nucleo/src/example_input.c

pytestmark = pytest.mark.slow


def _read_line(proc, timeout):
    end = time.monotonic() + timeout
    buf = b""
    import os
    import select
    fd = proc.stdout.fileno()
    while time.monotonic() < end and b"\n" not in buf:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            chunk = os.read(fd, 256)
            if not chunk:
                break
            buf += chunk
    return buf.decode(errors="replace").strip()


def test_stm32_example_on_qemu_m4():
    for tool in ("arm-none-eabi-gcc", "qemu-system-arm", "make"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed")
    gen = ROOT / "build" / "examples" / "qemu-m4"          # the Makefile builds sources under the repo only
    gen.mkdir(parents=True, exist_ok=True)
    export(IRIS, gen / "model_data.c")
    srcs = ["examples/example_main.c", "examples/stm32_nucleo/src/example_input.c",
            str((gen / "model_data.c").relative_to(ROOT))]
    r = subprocess.run(["make", "-s", "-j2", "-C", str(ROOT / "firmware_stm32"), "qemu-m4",
                        f"EXAMPLE_SRCS={' '.join(srcs)}", f"EXAMPLE_CPPFLAGS=-I{gen}",
                        f"BUILD_ROOT={ROOT / 'build' / 'examples'}"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    elf = ROOT / "build" / "examples" / "qemu-m4-example" / "fw.elf"
    syms = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True).stdout
    assert any(line.endswith(" R emc_model_data") for line in syms.splitlines())   # read-only, in flash
    proc = subprocess.Popen(["qemu-system-arm", "-M", "mps2-an386", "-display", "none", "-monitor", "none",
                             "-serial", "stdio", "-icount", "shift=0", "-kernel", str(elf)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        line = _read_line(proc, 20)
    finally:
        proc.kill()
        proc.wait()
    want = int(np.argmax(run(load(IRIS), np.array(VIRGINICA, np.float32))[0]))
    words = line.split()
    assert words[:2] == ["class", str(want)], line
    assert words[2] == "counter" and int(words[3]) > 0, line
