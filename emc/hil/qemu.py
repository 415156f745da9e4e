"""Start and stop the HIL firmware under QEMU and connect the protocol client to it.

    from emc.hil import firmware
    from emc.hil.qemu import Qemu
    elf = firmware.build("qemu-m4")
    with Qemu("qemu-m4", elf, preload_model="m.kmodel") as q:
        dev = q.client()                     # HilClient, already synchronised
        dev.load(open("m.kmodel", "rb").read(), preloaded=True)
        res, outs = dev.run(x.tobytes())

The serial line is a TCP server (``-serial tcp:127.0.0.1:0,server=on,wait=on``: QEMU picks a free
port and prints it on stderr; pyserial opens ``socket://``) or a pty (``serial="pty"``, the same
path a real board's /dev/ttyACM0 takes). Big models and inputs can be preloaded into the buffers
the firmware advertises (``-device loader``), because host->guest UART traffic runs at only
~10-15 KB/s under QEMU. ``icount=True`` (default) runs with ``-icount shift=0`` so the firmware's
counter reads guest instructions. ``plugin``: the instruction-count TCG plugin
(tools/qemu_insn) counting instructions between prof_begin() and prof_end().
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import threading
import time

from . import firmware
from .protocol import HilClient

MACHINES = {
    "qemu-m4": ["qemu-system-arm", "-M", "mps2-an386", "-semihosting-config", "enable=on,target=native"],
    "qemu-m7": ["qemu-system-arm", "-M", "mps2-an500", "-semihosting-config", "enable=on,target=native"],
    "qemu-rv64": ["qemu-system-riscv64", "-M", "virt", "-bios", "none", "-m", "128M"],
    # STM32F405 with the real-HAL F4 board layer (emc.boards env qemu_netduinoplus2): QEMU wires its
    # -serial options to USART1, USART2, ... in order; the firmware talks on USART2
    "qemu-netduinoplus2": ["qemu-system-arm", "-M", "netduinoplus2", "-serial", "null"],
}

_TCP_RE = re.compile(r"disconnected:tcp:([0-9.]+):(\d+)")
_PTY_RE = re.compile(r"char device redirected to (/dev/pts/\d+)")
_REGION_RE = re.compile(r"region (\d+): (\d+) insns")


class QemuError(RuntimeError):
    pass


def qemu_available(target: str) -> bool:
    return shutil.which(MACHINES[target][0]) is not None


class Qemu:
    def __init__(self, target: str, elf, *, icount: bool = True, serial: str = "tcp",
                 preload_model=None, preload_input=None, plugin=None, extra=(), start_timeout: float = 15.0,
                 serial_port: int | None = None):
        if target not in MACHINES:
            raise QemuError(f"unknown QEMU target {target!r}; known: {', '.join(MACHINES)}")
        self.target, self.elf = target, pathlib.Path(elf)
        self.icount, self.serial = icount, serial
        # a fixed port: QEMU listens there and runs the guest without waiting for a client (a farm board)
        self.serial_port = serial_port
        self.preload_model, self.preload_input = preload_model, preload_input
        self.plugin, self.extra, self.start_timeout = plugin, list(extra), start_timeout
        self.proc: subprocess.Popen | None = None
        self.url: str | None = None
        self.stderr_lines: list[str] = []
        self._tmp = tempfile.TemporaryDirectory(prefix="emc-qemu-")
        self.log_path = pathlib.Path(self._tmp.name) / "qemu.log"
        self._client: HilClient | None = None
        self.starts = 0

    # -- command line --
    def _blob(self, name, data) -> str:
        if isinstance(data, (bytes, bytearray, memoryview)):
            p = pathlib.Path(self._tmp.name) / name
            p.write_bytes(bytes(data))
            return str(p)
        return str(pathlib.Path(data).resolve())

    def command(self) -> list:
        cmd = list(MACHINES[self.target]) + ["-display", "none", "-monitor", "none", "-nodefaults"]
        if self.serial == "tcp":
            port, wait = (self.serial_port, "off") if self.serial_port else (0, "on")
            cmd += ["-serial", f"tcp:127.0.0.1:{port},server=on,wait={wait}"]
        elif self.serial == "pty":
            cmd += ["-serial", "pty"]
        else:
            raise QemuError(f"serial must be 'tcp' or 'pty', not {self.serial!r}")
        if self.icount:
            cmd += ["-icount", "shift=0"]
        syms = None
        for data, sym, name in ((self.preload_model, "__hil_model_start", "model.bin"),
                                (self.preload_input, "__hil_input_start", "input.bin")):
            if data is None:
                continue
            syms = syms or firmware.elf_symbols(self.elf)
            if sym not in syms:
                raise QemuError(f"{self.elf} has no symbol {sym}: cannot preload")
            cmd += ["-device", f"loader,file={self._blob(name, data)},addr=0x{syms[sym]:x},force-raw=on"]
        if self.plugin:
            syms = syms or firmware.elf_symbols(self.elf)
            b, e = syms["prof_begin"] & ~1, syms["prof_end"] & ~1
            cmd += ["-plugin", f"{self.plugin},begin=0x{b:x},end=0x{e:x},inline=on", "-d", "plugin",
                    "-D", str(self.log_path)]
        cmd += ["-kernel", str(self.elf)] + self.extra
        return cmd

    # -- lifecycle --
    def _pump(self, stream):
        for line in iter(stream.readline, ""):
            self.stderr_lines.append(line.rstrip("\n"))
        stream.close()

    def start(self) -> str:
        if self.alive:
            return self.url
        self.stderr_lines = []
        self._client = None
        cmd = self.command()
        # QEMU prints the tcp port on stderr and the pty path on stdout (older) or stderr: read both
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        for s in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=self._pump, args=(s,), daemon=True).start()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            text = "\n".join(self.stderr_lines)
            if self.serial == "tcp" and self.serial_port and self._listening():
                self.url = f"socket://127.0.0.1:{self.serial_port}"
                break
            m = _TCP_RE.search(text)
            if m:
                self.url = f"socket://{m.group(1)}:{m.group(2)}"
                break
            m = _PTY_RE.search(text)
            if m:
                self.url = m.group(1)
                break
            if self.proc.poll() is not None:
                raise QemuError(f"QEMU exited with {self.proc.returncode}: {' '.join(cmd)}\n" + text)
            time.sleep(0.01)
        else:
            self.stop()
            raise QemuError("QEMU did not announce its serial port:\n" + "\n".join(self.stderr_lines))
        self.starts += 1
        return self.url

    def _listening(self) -> bool:
        import socket
        try:
            socket.create_connection(("127.0.0.1", self.serial_port), timeout=0.2).close()
            return True
        except OSError:
            return False

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self):
        return None if self.proc is None else self.proc.poll()

    def client(self, sync_timeout: float = 10.0, **kw) -> HilClient:
        """The protocol client on this QEMU (restarting QEMU first if it died)."""
        if not self.alive:
            self.start()
        if self._client is None:
            self._client = HilClient.open(self.url, **kw)
            self._client.sync(timeout=sync_timeout)
        return self._client

    def restart(self) -> HilClient:
        self.stop()
        return self.client()

    def stop(self, timeout: float = 5.0):
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.returncode

    def wait(self, timeout: float = 10.0):
        """Wait for QEMU to exit by itself (firmware exit); returns its exit code."""
        if self._client is not None:
            self._client.close()
            self._client = None
        return self.proc.wait(timeout)

    def close(self):
        self.stop()
        self._tmp.cleanup()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    # -- instruction-count plugin --
    def plugin_regions(self, wait: float = 2.0) -> list:
        """Instruction counts of every prof_begin..prof_end region so far (QEMU's log is
        flushed line by line; waits up to `wait` s for at least one)."""
        deadline = time.monotonic() + wait
        while True:
            text = self.log_path.read_text() if self.log_path.exists() else ""
            regions = [int(n) for _, n in _REGION_RE.findall(text)]
            if regions or time.monotonic() > deadline:
                return regions
            time.sleep(0.05)


def find_plugin():
    """Path of the built instruction-count plugin, or None (build: tools/qemu_insn/build.sh)."""
    cand = [os.environ.get("EMC_QEMU_INSN_PLUGIN", ""),
            str(firmware.build_root().parent / "qemu_insn" / "libinsnregion.so"),
            str(firmware.ROOT / "build" / "qemu_insn" / "libinsnregion.so")]
    for c in cand:
        if c and pathlib.Path(c).is_file():
            return c
    return None
