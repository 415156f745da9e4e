"""The portable C kernels (runtime_c/kernels/generic: what Cortex-M0+/M3, RISC-V and the host run)
give outputs byte-identical to the Python reference on synthetic layers chosen to hit their edges:
the host build here (fast), the Cortex-M4 firmware built without the DSP kernels and the RV64 firmware
on QEMU (slow)."""
import shutil

import numpy as np
import pytest

from .synth_generic import synth_cases


@pytest.fixture(scope="module")
def cases_():
    return synth_cases(extra=True)


def _expected(case):
    return [[np.ascontiguousarray(e).tobytes() for e in exp] for exp in case.expected]


def test_synthetic_layers_host_byte_identical(cases_, native):
    for c in cases_:
        nm = native.NativeModel(c.kmodel)
        got = [[np.ascontiguousarray(o).tobytes() for o in nm.run(x)] for x in c.inputs]
        assert got == _expected(c), f"{c.name}: portable C kernels differ from the PC reference"


@pytest.mark.slow
@pytest.mark.parametrize("target", ["qemu-m4", "qemu-rv64"])
def test_synthetic_layers_firmware_byte_identical(target, cases_):
    from .test_dsp_kernels import _run_all
    tools = {"qemu-m4": ("arm-none-eabi-gcc", "qemu-system-arm"),
             "qemu-rv64": ("riscv64-unknown-elf-gcc", "qemu-system-riscv64")}[target]
    if not all(shutil.which(t) for t in tools + ("make",)):
        pytest.skip(f"needs {', '.join(tools)} and make")
    for c, (outs, _arena) in zip(cases_, _run_all(target, "portable", cases_)):
        assert outs == _expected(c), f"{c.name}: {target} portable firmware differs from the PC reference"
