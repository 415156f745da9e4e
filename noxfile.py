"""Sessions: tests (the CI command), demo (the main job), hil, firmware, bench, lint.

Each session installs its Python packages itself. System packages (cross toolchains, QEMU, clang)
are installed with apt when running as root, otherwise the exact apt command is printed."""
from __future__ import annotations

import os
import shutil
import subprocess

import nox

nox.options.sessions = ["tests"]
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "venv"

PY = "3.11"
APT_PACKAGES = ["gcc-arm-none-eabi", "libnewlib-arm-none-eabi", "gcc-riscv64-unknown-elf",
                "picolibc-riscv64-unknown-elf", "qemu-system-arm", "qemu-system-misc", "clang",
                "libclang-rt-14-dev", "cmake", "make"]
NEEDED_TOOLS = ["arm-none-eabi-gcc", "riscv64-unknown-elf-gcc", "qemu-system-arm", "qemu-system-riscv64",
                "clang", "cmake"]
ENV = {"PLATFORMIO_SETTING_ENABLE_TELEMETRY": "No", "TF_CPP_MIN_LOG_LEVEL": "2"}


def ensure_system_packages(session):
    missing = [t for t in NEEDED_TOOLS if shutil.which(t) is None]
    if not missing:
        return
    cmd = ["apt-get", "install", "-y", "--no-install-recommends"] + APT_PACKAGES
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        session.log(f"installing system packages for {', '.join(missing)}")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(cmd + ["-qq"], check=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    else:
        session.error(f"missing {', '.join(missing)}; install them with: sudo {' '.join(cmd)}")


def install(session, extras):
    session.install("-e", f".[{extras}]")


@nox.session(python=PY)
def tests(session):
    """Every test, heavy ones included (TensorFlow, cross builds, QEMU), on 2 workers."""
    ensure_system_packages(session)
    install(session, "test,tf")
    args = session.posargs or ["-n", "2", "--dist", "loadgroup", "-q"]
    session.run("python", "-m", "pytest", *args, env=ENV)


@nox.session(python=PY)
def quick(session):
    """The fast tests only (no TensorFlow, QEMU or cross builds): well under a minute."""
    install(session, "test")
    session.run("python", "-m", "pytest", "-m", "not slow", "-q", *session.posargs, env=ENV)


@nox.session(python=PY)
def lint(session):
    session.install("ruff==0.8.4")
    session.run("ruff", "check", "emc", "tests", "noxfile.py", "--select", "E,F,W", "--ignore", "E501,E701,E704,E731")
