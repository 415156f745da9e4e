"""The bench's client side of a labgrid board farm: a place is acquired from the coordinator, its
resources are looked up there, and the HIL protocol runs on the place's serial port.

A place carries the tags ``target`` (qemu-m4, nucleo_l4r5zi, ...) and its resources:
  uart   NetworkSerialPort  the board's serial line (QEMU's TCP serial, or ser2net for a USB board)
  probe  NetworkSerialPort  optional, QEMU only: QEMU's gdbstub, used like a debug probe to write a
                            model / input into the firmware's buffers (the UART under QEMU moves
                            ~12 KB/s, the probe MB/s); a real board's models go over its UART.
Reaching a resource goes through labgrid's proxy manager, so ``LG_PROXY=host`` tunnels it over SSH.

Each pytest-xdist worker identifies itself to the coordinator as ``emc-hil-<run>-<worker>-<pid>``
(``LG_USERNAME``, hil_tests/conftest.py), so a place left acquired by a dead worker can be told
apart and released."""
from __future__ import annotations

import argparse
import asyncio
import socket

from . import firmware
from .harness import SerialDut, transient
from .protocol import HilClient

USER_PREFIX = "emc-hil-"
RPC_TIMEOUT = 15.0


class PlaceLost(RuntimeError):
    """The place's board or exporter is gone; not retried (the other places go on)."""


class Coordinator:
    """A labgrid ClientSession in this process (acquire, release, places, resources)."""

    def __init__(self, address: str):
        from labgrid.remote.client import start_session
        from labgrid.util.proxy import proxymanager
        self.address = address
        try:
            self.session = start_session(address)
        except Exception as e:          # grpc raises several kinds; one line says what failed
            raise ConnectionError(f"labgrid coordinator {address}: {e}") from e
        self._proxy = proxymanager

    def _run(self, coro_fn, **args):
        defaults = dict(place=None, kick=False, allow_unmatched=False, patterns=[], tags=[])
        self.session.args = argparse.Namespace(**{**defaults, **args})
        return self.session.loop.run_until_complete(asyncio.wait_for(coro_fn(), RPC_TIMEOUT))

    def sync(self):
        self.session.loop.run_until_complete(asyncio.wait_for(self.session.sync_with_coordinator(), RPC_TIMEOUT))

    def places(self) -> dict:
        self.sync()
        return dict(self.session.places)

    def create_place(self, name: str, patterns: list, tags: dict):
        self._run(self.session.add_place, place=name)
        self._run(self.session.add_match, place=name, patterns=patterns)
        self._run(self.session.set_tags, place=name, tags=[f"{k}={v}" for k, v in tags.items()])

    def acquire(self, name: str):
        self._run(self.session.acquire, place=name)

    def release(self, name: str, kick: bool = False):
        self._run(self.session.release, place=name, kick=kick)

    def release_held_by(self, user_prefix: str) -> list:
        """Release (kick) every place whose holder's user name starts with user_prefix."""
        freed = []
        for name, place in self.places().items():
            if place.acquired and place.acquired.split("/", 1)[-1].startswith(user_prefix):
                self.release(name, kick=True)
                freed.append(f"{name} (held by {place.acquired})")
        return freed

    def resources(self, name: str) -> dict:
        """{resource name: (exporter, labgrid Resource)} of an acquired place; PlaceLost when an
        exporter went away (labgrid calls the place's resources orphaned then)."""
        from labgrid.factory import target_factory
        from labgrid.remote.client import ServerError
        from labgrid.target import Target
        self.sync()
        place = self.session.get_place(name)
        try:
            entries = self.session.get_target_resources(place)
        except ServerError as e:
            raise PlaceLost(f"place {name}: {e}") from e
        out = {}
        target = Target(name)
        for (rname, cls), entry in entries.items():
            if "params" not in (entry.data or {}) or not entry.avail:    # what an exporter's exit leaves
                raise PlaceLost(f"place {name}: resource {'/'.join(self._path_of(place, rname))} "
                                "is no longer exported (its exporter went away)")
            res = target_factory.make_resource(target, cls, rname, entry.args)
            res.extra = entry.extra
            out[rname] = (self._path_of(place, rname)[0], res, entry.avail)
        return out

    @staticmethod
    def _path_of(place, rname) -> tuple:
        """(exporter, group, class, name) of one of the place's resources."""
        for path in place.acquired_resources:
            match = place.getmatch(path)
            if (match.rename if match and match.rename else path[3]) == rname:
                return tuple(path)
        return ("?", "?", "?", rname)

    def address_of(self, res) -> tuple:
        """(host, port) to connect to, through an SSH forward when LG_PROXY asks for one."""
        return self._proxy.get_host_and_port(res)

    def close(self):
        try:
            loop = self.session.loop
            loop.run_until_complete(asyncio.wait_for(self.session.stop(), 5))
            loop.run_until_complete(asyncio.wait_for(self.session.close(), 5))
        except Exception:               # the coordinator may already be gone
            pass


class GdbProbe:
    """QEMU's gdbstub as a debug probe: halt, write memory, resume (GDB remote protocol, hex 'M'
    packets; QEMU's packet limit is 4096 bytes)."""
    CHUNK = 2000

    def __init__(self, host: str, port: int, timeout: float = 10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # one small packet per round trip
        self.buf = bytearray()
        self.request(b"?")

    def request(self, data: bytes) -> bytes:
        self.sock.sendall(b"$%s#%02x" % (data, sum(data) & 0xFF))
        while True:
            i = self.buf.find(b"$")
            j = self.buf.find(b"#", i) if i >= 0 else -1
            if j >= 0 and len(self.buf) >= j + 3:
                reply = bytes(self.buf[i + 1:j])
                del self.buf[:j + 3]
                self.sock.sendall(b"+")
                if reply[:1] in (b"T", b"S") and data != b"?":
                    continue            # QEMU announces the halt on attach as well: not our reply
                return reply
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("gdbstub closed the connection")
            self.buf.extend(chunk)

    def write(self, addr: int, data: bytes):
        for off in range(0, len(data), self.CHUNK):
            part = data[off:off + self.CHUNK]
            reply = self.request(b"M%x,%x:%s" % (addr + off, len(part), part.hex().encode()))
            if reply != b"OK":
                raise OSError(f"gdbstub refused writing {len(part)} bytes at 0x{addr + off:x}: {reply!r}")

    def close(self):
        try:
            self.request(b"D")          # detach: the guest runs on
        finally:
            self.sock.close()


class PlaceDut(SerialDut):
    """A board behind a labgrid place. QEMU places with a probe get models and big inputs written
    straight into the firmware's buffers; other boards take everything over the serial line."""

    PRELOAD_INPUT_ABOVE = 8192

    def __init__(self, coordinator: Coordinator, place: str, **kw):
        tags = coordinator.places()[place].tags
        super().__init__("", name=tags.get("target", place), **kw)     # the port: once acquired
        self.coord, self.place, self.target = coordinator, place, self.name
        self.icount = tags.get("icount") == "1"     # QEMU -icount shift=0: virtual ns are instructions
        self.exporter, self.probe_res, self.staged, self.symbols = "?", None, {}, {}
        self.lost: str | None = None
        coordinator.acquire(place)
        self.acquired = True
        try:
            self._resolve()
        except Exception:
            self.release()
            raise

    def _resolve(self):
        """The place's serial line (and probe) as this host reaches them."""
        res = self.coord.resources(self.place)
        if "uart" not in res:
            raise PlaceLost(f"place {self.place} has no resource named 'uart' (have: {', '.join(res) or 'none'})")
        self.exporter, uart, _ = res["uart"]
        host, port = self.coord.address_of(uart)
        scheme = "rfc2217" if getattr(uart, "protocol", "raw") == "rfc2217" else "socket"
        self.port, self.baudrate = f"{scheme}://{host}:{port}", getattr(uart, "speed", None) or 115200
        self.probe_res = res["probe"][1] if "probe" in res else None
        if self.probe_res is not None and self.target in firmware.TARGETS:
            elf = firmware.build(self.target)           # the same sources the place's QEMU runs
            self.symbols = firmware.elf_symbols(elf)
            self.sizes = firmware.elf_sizes(elf)

    def check(self):
        """Raise PlaceLost if the place's exporter or board is gone."""
        if self.lost:
            raise PlaceLost(self.lost)
        try:
            self.coord.resources(self.place)
        except PlaceLost as e:
            self.lost = str(e)
            raise

    def _lose(self, why, exc):
        self.lost = f"place {self.place} ({self.exporter}): {why}: {exc}"
        raise PlaceLost(self.lost) from exc

    def connect(self) -> HilClient:
        if self.lost:
            raise PlaceLost(self.lost)
        try:
            return super().connect()
        except Exception as e:          # noqa: BLE001 - classified below
            self.close()
            if transient(e):            # the line does not open or the board does not answer on it
                self._lose(f"board not reachable at {self.port}", e)
            raise

    def stage(self, model, inp):
        if not self.symbols:
            return False, False
        want_inp = inp if inp is not None and len(inp) > self.PRELOAD_INPUT_ABOVE else None
        if inp is not None and want_inp is None:
            self.staged.pop("__hil_input_start", None)     # this input goes over the line, into that buffer
        todo = [(sym, data) for sym, data in (("__hil_model_start", model), ("__hil_input_start", want_inp))
                if data is not None and self.staged.get(sym) != data]
        if todo:
            host, port = self.coord.address_of(self.probe_res)
            try:
                probe = GdbProbe(host, port)
            except OSError as e:
                self._lose(f"probe not reachable at {host}:{port}", e)
            try:
                for sym, data in todo:
                    probe.write(self.symbols[sym], data)
                    self.staged[sym] = data
            finally:
                probe.close()
            if any(sym == "__hil_model_start" for sym, _ in todo):
                self.generation += 1    # the firmware must commit the new model bytes
        return True, want_inp is not None

    def restart(self):
        self.staged.clear()
        return super().restart()

    def release(self):
        self.close()
        if self.acquired:
            self.acquired = False
            try:
                self.coord.release(self.place)
            except Exception:           # the coordinator may be gone; the farm's stop frees it
                pass


__all__ = ["Coordinator", "GdbProbe", "PlaceDut", "PlaceLost"]
