"""Sessions: tests (the CI command), demo (the main job), hil, farm, firmware, boards, bench, quick, lint.

Each session installs its Python packages itself. System packages (cross toolchains, QEMU, clang)
are installed with apt when running as root, otherwise the exact apt command is printed."""
from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "venv"

ROOT = pathlib.Path(__file__).parent
PY = "3.11"
APT_PACKAGES = ["gcc-arm-none-eabi", "libnewlib-arm-none-eabi", "gcc-riscv64-unknown-elf",
                "picolibc-riscv64-unknown-elf", "qemu-system-arm", "qemu-system-misc", "clang",
                "libclang-rt-14-dev", "cmake", "make", "gcc"]
NEEDED_TOOLS = ["arm-none-eabi-gcc", "riscv64-unknown-elf-gcc", "qemu-system-arm", "qemu-system-riscv64",
                "clang", "cmake", "make"]
ENV = {"PLATFORMIO_SETTING_ENABLE_TELEMETRY": "No", "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}
PLUGIN = ROOT / "build" / "qemu_insn" / "libinsnregion.so"


def _root():
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


def ensure_system_packages(session, plugin=True):
    """Cross toolchains, QEMU, clang (apt, as root), and the instruction-count QEMU plugin."""
    missing = [t for t in NEEDED_TOOLS if shutil.which(t) is None]
    if missing:
        cmd = ["apt-get", "install", "-y", "--no-install-recommends"] + APT_PACKAGES
        if not _root():
            session.error(f"missing {', '.join(missing)}; install them with: sudo {' '.join(cmd)}")
        session.log(f"installing system packages for {', '.join(missing)}")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(cmd + ["-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    if plugin and not PLUGIN.exists():
        if _root():
            r = subprocess.run(["bash", str(ROOT / "tools" / "qemu_insn" / "build.sh")], capture_output=True, text=True)
            session.log("instruction-count plugin: " + (r.stdout.strip() or r.stderr.strip()[-300:]))
        else:
            session.log("instruction-count plugin not built (needs root for apt-get source): "
                        "sudo bash tools/qemu_insn/build.sh")


SERIAL_PROVIDER = "pyserial-labgrid==3.5.0.2"    # labgrid's fork of pyserial: the same `serial` module
# Keras 2 beside Keras 3: only its LSTM layer converts to UNIDIRECTIONAL_SEQUENCE_LSTM (docs/generic_profile.md).
# Without its dependencies: it declares the full `tensorflow` wheel, a second copy of tensorflow-cpu.
TF_KERAS = "tf-keras==2.21.0"


def install(session, extras):
    session.install("-e", f".[{extras}]")
    if "tf" in extras.split(","):
        session.install("--no-deps", TF_KERAS)
    # platformio requires pyserial and labgrid its fork pyserial-labgrid: both install the package
    # `serial`. Keep one provider, the fork (a superset that platformio imports unchanged); pip then
    # lists platformio's pyserial requirement as unmet, which changes nothing at run time.
    freeze = session.run_install("python", "-m", "pip", "list", "--format=freeze", silent=True, log=False) or ""
    names = {line.split("==")[0].lower() for line in freeze.split()}
    if {"pyserial", "pyserial-labgrid"} <= names:
        session.run_install("python", "-m", "pip", "uninstall", "-y", "-q", "pyserial")
        session.install("--force-reinstall", "--no-deps", SERIAL_PROVIDER)


@nox.session(python=PY)
def tests(session):
    """Every test, heavy ones included (TensorFlow, cross builds, QEMU, fuzzing), on 2 workers."""
    ensure_system_packages(session)
    install(session, "test,tf")
    args = session.posargs or ["-n", "2", "--dist", "loadgroup", "-q", "-p", "no:cacheprovider"]
    session.run("python", "-m", "pytest", *args, env=ENV)


@nox.session(python=PY)
def quick(session):
    """The fast tests only (no TensorFlow, QEMU or cross builds)."""
    install(session, "test")
    session.run("python", "-m", "pytest", "-m", "not slow", "-q", "-n", "2", *session.posargs, env=ENV)


@nox.session(python=PY)
def demo(session):
    """The main job: convert the seed CIFAR-10 example, run it on QEMU (Cortex-M4), print agreement."""
    ensure_system_packages(session, plugin=False)
    install(session, "tf,hil")
    session.run("python", "-m", "emc.demo", *session.posargs, env=ENV)


@nox.session(python=PY)
def hil(session):
    """The bench matrix on QEMU M4, M7 and RV64 (or boards: -- --port /dev/ttyACM0 --board nucleo_l4r5zi).
    Writes build/hil_report/report.{md,html}, PNG plots and junit.xml."""
    ensure_system_packages(session, plugin=False)
    install(session, "test,hil")
    report = ROOT / "build" / "hil_report"
    args = session.posargs or ["--dut", "qemu-m4,qemu-m7,qemu-rv64"]
    session.run("python", "-m", "pytest", "hil_tests", "-n", "2", "-q", "-p", "no:cacheprovider",
                f"--junitxml={report / 'junit.xml'}", f"--report={report}", *args, env=ENV)


@nox.session(python=PY)
def farm(session):
    """The bench matrix through a labgrid farm on this machine: a coordinator and 2 exporters on
    127.0.0.1 exporting QEMU M4, M7 and RV64 boards as places, pytest-xdist with a worker per place.
    -- --json FILE [--per-target N] [--exporters N] [--models ...] (python -m emc.hil.farm --help).
    Writes FILE (rows: model, target, place, exporter, bit_exact) and build/hil_report/."""
    ensure_system_packages(session, plugin=False)
    install(session, "test,hil,farm")
    args = session.posargs or ["--json", str(ROOT / "build" / "hil_report" / "farm.json")]
    session.run("python", "-m", "emc.hil.farm", "run", *args, env=ENV)


@nox.session(python=PY)
def firmware(session):
    """Build every firmware that can be built here (QEMU M4/M7/RV64, host) and test them."""
    ensure_system_packages(session)
    install(session, "test")
    session.run("python", "-m", "emc.hil", "sizes", env=ENV)
    session.run("python", "-m", "pytest", "tests/firmware", "-n", "2", "--dist", "loadgroup", "-q", env=ENV)


@nox.session(python=PY)
def boards(session):
    """Real-board firmwares and examples (Nucleo L4R5ZI/F446RE/H743ZI, Sipeed Maix Bit) built from their
    platformio.ini envs with the cross compilers here, against vendor code given with
    `-- --vendor DIR [--json FILE]` (STM32Cube HAL/CMSIS, Kendryte standalone SDK: docs/boards.md).
    Fails when an image does not fit its chip; without --vendor it skips and says why."""
    if "--vendor" not in session.posargs:
        session.skip("no --vendor DIR: the STM32Cube HAL/CMSIS and the Kendryte standalone SDK are not part "
                     "of this project (docs/boards.md); run: nox -s boards -- --vendor DIR --json FILE")
    ensure_system_packages(session, plugin=False)
    session.install("-e", ".")
    session.run("python", "-m", "emc.boards", *session.posargs, env=ENV)


@nox.session(python=PY)
def bench(session):
    """MLPerf Tiny instructions per inference (portable vs DSP kernels, M4/M7/RV64), MAC/insn, arena,
    flash; conversion time of a 96x96 MobileNetV1-0.25. Ratios against baselines of the same run."""
    ensure_system_packages(session)
    install(session, "test,tf")
    session.run("python", "benchmarks/convert_time.py", env=ENV)
    if (ROOT / "emc" / "hil" / "bench.py").exists():
        session.run("python", "-m", "emc.hil.bench", *session.posargs, env=ENV)
    session.run("python", "benchmarks/k210_models.py", env=ENV)
    session.run("python", "benchmarks/model_coverage.py", env=ENV)


@nox.session(python=PY)
def lint(session):
    session.install("ruff==0.8.4")
    session.run("ruff", "check", "emc", "tests", "hil_tests", "benchmarks", "tools", "noxfile.py",
                "--select", "E,F,W", "--ignore", "E501,E701,E731")
