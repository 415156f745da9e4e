"""A labgrid board farm of QEMU boards on this machine, and the bench run through it.

    python -m emc.hil.farm run --json farm.json [--targets qemu-m4,qemu-m7,qemu-rv64] [--per-target 1]
                               [--exporters 2] [--models default] [-- extra pytest arguments]
    python -m emc.hil.farm up  [same farm options]        # start it and wait (Ctrl-C stops it)

What runs (docs/farm.md): one labgrid coordinator; N exporters, each exporting some of the boards;
a QEMU per board whose serial line is a TCP server (exported as NetworkSerialPort "uart") and whose
gdbstub is the board's debug probe ("probe"); a place per board, tagged with its target. Everything
listens on 127.0.0.1 only. `run` then runs hil_tests under pytest-xdist with one worker per place
(emc.hil.labgrid_place) and writes the rows {model, target, place, exporter, bit_exact} plus the
usual report (build/hil_report: report.md/html, junit.xml), then stops everything it started.

Exit codes: 0 every case bit-exact; 1 some case failed or errored (the rows say which and why);
2 the farm could not be started (the message says which part)."""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from . import firmware
from .labgrid_place import Coordinator
from .qemu import Qemu, QemuError

LOOPBACK = "127.0.0.1"
ROOT = pathlib.Path(__file__).resolve().parents[2]
QEMU_TARGETS = ("qemu-m4", "qemu-m7", "qemu-rv64")


class FarmError(RuntimeError):
    pass


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _tool(name: str) -> str:
    """labgrid's programs next to this interpreter (a venv need not be on PATH)."""
    here = pathlib.Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if not found:
        raise FarmError(f"{name} not found: install labgrid (pip install -e .[farm])")
    return found


def _wait_port(host, port, proc, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise FarmError(f"{what} exited with code {proc.returncode} before listening on {host}:{port}")
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise FarmError(f"{what} not listening on {host}:{port} after {timeout:.0f} s")


class Board:
    """One QEMU board: serial line and gdbstub on loopback TCP ports."""

    def __init__(self, target: str, place: str, exporter: str):
        self.target, self.place, self.exporter, self.host = target, place, exporter, LOOPBACK
        self.elf = firmware.build(target)
        self.qemu = None

    def start(self, attempts: int = 3):
        """QEMU on two free loopback ports (picked here: another process may take one first, so retry)."""
        for attempt in range(attempts):
            self.probe_port, self.uart_port = free_port(), free_port()
            self.qemu = Qemu(self.target, self.elf, extra=["-gdb", f"tcp:{LOOPBACK}:{self.probe_port}"],
                             serial_port=self.uart_port)
            try:
                self.qemu.start()
                return
            except QemuError:
                self.qemu.close()
                if attempt == attempts - 1:
                    raise

    def stop(self):
        if self.qemu is not None:
            self.qemu.close()

    def resources(self) -> dict:
        serial = dict(host=self.host, protocol="raw", speed=115200)
        return {"uart": {"cls": "NetworkSerialPort", "port": self.uart_port, **serial},
                "probe": {"cls": "NetworkSerialPort", "port": self.probe_port, **serial}}


class Farm:
    """Coordinator, exporters, QEMU boards and places; `with Farm(...) as f:` stops all of it."""

    def __init__(self, targets=QEMU_TARGETS, per_target: int = 1, exporters: int = 2, workdir=None, log=print):
        # loopback only: the coordinator and exporters have no authentication (docs/farm.md: hosts over SSH)
        self.host, self.log = LOOPBACK, log
        self.n_exporters = max(1, exporters)
        self._tmp = None if workdir else tempfile.TemporaryDirectory(prefix="emc-farm-")
        self.workdir = pathlib.Path(workdir or self._tmp.name)
        self.boards: list[Board] = []
        i = 0
        for n in range(1, per_target + 1):
            for t in targets:
                if t not in QEMU_TARGETS:
                    raise FarmError(f"unknown QEMU target {t!r}; known: {', '.join(QEMU_TARGETS)}")
                self.boards.append(Board(t, f"{t}-{n}", f"exporter{i % self.n_exporters + 1}"))
                i += 1
        self.coordinator_proc = None
        self.exporters: dict[str, subprocess.Popen] = {}
        self.address = None
        self.coord: Coordinator | None = None

    # -- lifecycle --
    def start(self):
        try:
            self._start()
        except Exception:
            self.stop()
            raise
        return self

    def _start(self):
        port = free_port(self.host)
        self.address = f"{self.host}:{port}"
        # the coordinator keeps places.yaml/resources.yaml in its working directory
        self.coordinator_proc = subprocess.Popen(
            [_tool("labgrid-coordinator"), "-l", self.address], cwd=self.workdir,
            stdout=open(self.workdir / "coordinator.log", "w"), stderr=subprocess.STDOUT)
        _wait_port(self.host, port, self.coordinator_proc, "labgrid-coordinator")
        for b in self.boards:
            b.start()
        for name in sorted({b.exporter for b in self.boards}):
            cfg = {b.place: b.resources() for b in self.boards if b.exporter == name}
            path = self.workdir / f"{name}.yaml"
            path.write_text(json.dumps(cfg, indent=1))       # JSON is YAML
            self.exporters[name] = subprocess.Popen(
                [_tool("labgrid-exporter"), "-c", self.address, "-n", name, "--hostname", self.host, str(path)],
                cwd=self.workdir, stdout=open(self.workdir / f"{name}.log", "w"), stderr=subprocess.STDOUT)
        self.coord = Coordinator(self.address)
        self._wait_exported()
        for b in self.boards:
            self.coord.create_place(b.place, [f"{b.exporter}/{b.place}/*"], {"target": b.target, "icount": "1"})
        self.log(f"farm: coordinator {self.address}, {len(self.exporters)} exporters, "
                 f"{len(self.boards)} places: " + ", ".join(f"{b.place}@{b.exporter}" for b in self.boards))

    def _wait_exported(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while True:
            self.coord.sync()
            res = self.coord.session.resources
            missing = [b.place for b in self.boards if b.place not in res.get(b.exporter, {})]
            if not missing:
                return
            dead = [n for n, p in self.exporters.items() if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                logs = "; ".join(f"{n}: {(self.workdir / f'{n}.log').read_text()[-400:]}" for n in dead)
                raise FarmError(f"exporters did not export {', '.join(missing)} "
                                f"({'exited: ' + logs if dead else f'after {timeout:.0f} s'})")
            time.sleep(0.2)

    def stop(self):
        if self.coord is not None:
            self.coord.close()
            self.coord = None
        for p in list(self.exporters.values()) + ([self.coordinator_proc] if self.coordinator_proc else []):
            _terminate(p)
        for b in self.boards:
            b.stop()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- what it started --
    def pids(self) -> dict:
        out = {"coordinator": self.coordinator_proc.pid}
        out.update({name: p.pid for name, p in self.exporters.items()})
        out.update({f"qemu {b.place}": b.qemu.proc.pid for b in self.boards if b.qemu and b.qemu.proc})
        return out

    def board(self, place: str) -> Board:
        return next(b for b in self.boards if b.place == place)

    def env(self) -> dict:
        return {"LG_COORDINATOR": self.address}


def _terminate(p: subprocess.Popen, timeout=5.0):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def pytest_command(farm: Farm, json_path, report_dir, models="default", extra=()) -> list:
    """The bench under pytest-xdist, one worker per place, each test pinned to a place's group."""
    report_dir = pathlib.Path(report_dir)
    return [sys.executable, "-m", "pytest", str(ROOT / "hil_tests"), "-p", "no:cacheprovider", "-q",
            "-n", str(len(farm.boards)),
            "--farm-coordinator", farm.address, "--lg-places", "all", "--models", models,
            f"--farm-json={json_path}", f"--junitxml={report_dir / 'junit.xml'}", f"--report={report_dir}",
            *extra]


def _main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m emc.hil.farm", description=__doc__.split("\n\n")[0])
    ap.add_argument("command", choices=["run", "up"])
    ap.add_argument("--targets", default=",".join(QEMU_TARGETS))
    ap.add_argument("--per-target", type=int, default=1, help="places (QEMU boards) per target")
    ap.add_argument("--exporters", type=int, default=2)
    ap.add_argument("--models", default="default")
    ap.add_argument("--json", default=str(ROOT / "build" / "hil_report" / "farm.json"))
    ap.add_argument("--report", default=str(ROOT / "build" / "hil_report"))
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    a = ap.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    a.pytest_args = extra
    targets = [t.strip() for t in a.targets.split(",") if t.strip()]
    try:
        farm = Farm(targets, a.per_target, a.exporters).start()
    except (FarmError, firmware.FirmwareError, QemuError, ConnectionError, OSError) as e:
        print(f"emc.hil.farm: {e}", file=sys.stderr)
        return 2
    try:
        if a.command == "up":
            print(f"export LG_COORDINATOR={farm.address}   # Ctrl-C stops the farm", flush=True)
            while True:
                time.sleep(3600)
        t0 = time.monotonic()
        pathlib.Path(a.report).mkdir(parents=True, exist_ok=True)
        rc = subprocess.call(pytest_command(farm, a.json, a.report, a.models, a.pytest_args),
                             env={**os.environ, **farm.env()})
        print(f"farm run: {time.monotonic() - t0:.1f} s wall, pytest exit code {rc}; rows in {a.json}")
        return 0 if rc == 0 else 1
    except KeyboardInterrupt:
        return 130
    finally:
        farm.stop()


if __name__ == "__main__":
    sys.exit(_main())
