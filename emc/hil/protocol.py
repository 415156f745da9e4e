"""Host side of the EMC HIL serial protocol (docs/hil_protocol.md).

Framing, CRC-32 and a client that talks to any firmware of the project (QEMU or a real board) over a
pyserial port or any object with ``read(n)``/``write(b)`` and a ``timeout`` attribute.

    from emc.hil.protocol import HilClient
    with HilClient.open("socket://127.0.0.1:4321") as dev:
        info = dev.hello()
        dev.load(open("m.kmodel", "rb").read())
        outs = dev.run(input_bytes)          # list of bytes, one per output
"""

from __future__ import annotations

import dataclasses
import os
import struct
import time
import zlib

from ..errors import EXIT_MISMATCH, DeviceError, InputError

# ---- wire constants (same numbers as firmware_common/include/hil_protocol.h) -------------------
PROTO_MAJOR = 1
PROTO_MINOR = 0

SYNC = b"\xa5\x5a"
RX_TIMEOUT_MS = 1000     # the device drops a partial frame after this much silence...
FRAME_TIMEOUT_MS = 2500  # ...or when it is not complete this long after its sync
HEADER_SIZE = 6
CRC_SIZE = 4
OVERHEAD = HEADER_SIZE + CRC_SIZE

PING = 0x01
HELLO = 0x02
RESET = 0x03
LOAD_BEGIN = 0x10
LOAD_CHUNK = 0x11
LOAD_COMMIT = 0x12
SET_INPUT = 0x20
INVOKE = 0x30
GET_OUTPUT = 0x31
GET_LAYER = 0x32
GET_TRACE = 0x33
REPLY = 0x80
ERROR = 0x7F

INV_CAPTURE = 0x01
INV_TRACE_CRC = 0x02

E_BAD_CRC = 1
E_UNKNOWN_CMD = 2
E_BAD_LENGTH = 3
E_TOO_LARGE = 4
E_TIMEOUT = 5
E_NO_MODEL = 6
E_RUNTIME = 7
E_CHECKSUM = 8
E_RANGE = 9
E_STATE = 10

ERROR_NAMES = {
    E_BAD_CRC: "BAD_CRC", E_UNKNOWN_CMD: "UNKNOWN_CMD", E_BAD_LENGTH: "BAD_LENGTH",
    E_TOO_LARGE: "TOO_LARGE", E_TIMEOUT: "TIMEOUT", E_NO_MODEL: "NO_MODEL", E_RUNTIME: "RUNTIME",
    E_CHECKSUM: "CHECKSUM", E_RANGE: "RANGE", E_STATE: "STATE",
}

BF_DSP = 0x0001
BF_FPU = 0x0002
BF_EMULATED = 0x0004
BF_SW_KPU = 0x0008
BF_HW_KPU = 0x0010
BF_STUB = 0x0020
BF_DEBUG = 0x0040
BUILD_FLAG_NAMES = {BF_DSP: "dsp", BF_FPU: "fpu", BF_EMULATED: "emulated", BF_SW_KPU: "sw_kpu",
                    BF_HW_KPU: "hw_kpu", BF_STUB: "stub_runtime", BF_DEBUG: "debug"}

CNT_NONE, CNT_CYCLES, CNT_INSNS, CNT_VNS, CNT_NS = 0, 1, 2, 3, 4
COUNTER_NAMES = {CNT_NONE: "none", CNT_CYCLES: "cycles", CNT_INSNS: "instructions",
                 CNT_VNS: "virtual_ns", CNT_NS: "host_ns"}

DTYPES = {0: "u8", 1: "f32", 2: "i8", 3: "i32"}

_HELLO_FIXED = struct.Struct("<HH17I")
_INVOKE_REPLY = struct.Struct("<IIQIIiIIII")
_TRACE_REC = struct.Struct("<IIIIIQ")


def crc32(data: bytes, crc: int = 0) -> int:
    return zlib.crc32(data, crc) & 0xFFFFFFFF


def encode_frame(cmd: int, seq: int, payload: bytes = b"") -> bytes:
    if len(payload) > 0xFFFF:
        raise ValueError("payload longer than 65535 bytes")
    body = struct.pack("<BBH", cmd & 0xFF, seq & 0xFF, len(payload)) + bytes(payload)
    return SYNC + body + struct.pack("<I", crc32(body))


# Text a firmware prints outside frames: at every boot (hil_main) and when it faults (board_fault).
BOOT_BANNER = b"HIL BOOT"
FAULT_TEXT = b"HIL FAULT"
LINE_MARKERS = {BOOT_BANNER: "reset", FAULT_TEXT: "fault"}


class FrameParser:
    """Incremental frame decoder: feed() bytes, then frames() yields (cmd, seq, payload).

    Bytes before a sync pattern and frames with a bad CRC are skipped (counted in ``dropped`` and
    ``bad_crc``). The skipped bytes are also searched for the firmware's boot banner and fault text:
    ``markers`` lists ("reset" | "fault", text seen) in arrival order, ``noise`` keeps the last skipped
    bytes (for messages about a device that sends something that is not the protocol)."""

    NOISE_KEEP = 256

    def __init__(self, max_payload: int = 0xFFFF):
        self.buf = bytearray()
        self.max_payload = max_payload
        self.dropped = 0
        self.bad_crc = 0
        self.noise = bytearray()
        self.markers: list = []
        self.sink = None          # optional callable receiving every skipped byte string (faultlink)

    def feed(self, data: bytes) -> None:
        self.buf += data

    def _skip(self, n: int) -> None:
        if n <= 0:
            return
        if self.sink is not None:
            self.sink(bytes(self.buf[:n]))
        self.dropped += n
        old = len(self.noise)
        self.noise += self.buf[:n]
        for text, kind in LINE_MARKERS.items():     # a marker may straddle two skips
            i = self.noise.find(text, max(0, old - len(text) + 1))
            if i >= 0:
                line = bytes(self.noise[i:]).split(b"\n")[0].strip()
                self.markers.append((kind, line.decode("ascii", "replace")))
        del self.noise[:-self.NOISE_KEEP]
        del self.buf[:n]

    def frames(self):
        while True:
            i = self.buf.find(SYNC)
            if i < 0:
                keep = 1 if self.buf[-1:] == SYNC[:1] else 0
                self._skip(len(self.buf) - keep)
                return
            if i:
                self._skip(i)
            if len(self.buf) < HEADER_SIZE:
                return
            cmd, seq, n = struct.unpack_from("<BBH", self.buf, 2)
            if n > self.max_payload:
                self._skip(1)
                continue
            if len(self.buf) < OVERHEAD + n:
                return
            body = bytes(self.buf[2:HEADER_SIZE + n])
            (crc,) = struct.unpack_from("<I", self.buf, HEADER_SIZE + n)
            if crc32(body) != crc:
                self.bad_crc += 1
                self._skip(1)
                continue
            del self.buf[: OVERHEAD + n]
            self.noise.clear()                      # text before a good frame is not news any more
            yield cmd, seq, body[4:]


# ---- results ----------------------------------------------------------------------------------
class HilError(DeviceError):
    """The device answered with an error frame, or the link failed (exit code 3, docs/errors.md).
    Subclasses say how: HilTimeout (no reply), DeviceReset (it rebooted or faulted during a command),
    ReplyError (a reply contradicts itself or what the device said before), PortError (no port)."""

    def __init__(self, code: int, message: str, cmd: int = 0, detail: int = 0):
        self.code, self.message, self.cmd, self.detail = code, message, cmd, detail
        self.file = self.where = self.offset = self.limit = None
        name = ERROR_NAMES.get(code, str(code))
        Exception.__init__(self, f"device error {name} on command {cmd_name(cmd)}: {message} (detail {detail})")

    @property
    def name(self):
        return ERROR_NAMES.get(self.code, str(self.code))

    def _link_error(self, message: str, cmd: int = 0):
        self.code, self.message, self.cmd, self.detail = 0, message, cmd, 0
        self.file = self.where = self.offset = self.limit = None
        Exception.__init__(self, message)


class HilTimeout(HilError):
    """No reply within the timeout (the device is silent, stuck, or the line lost the frame)."""

    def __init__(self, message: str, cmd: int = 0):
        self._link_error(message, cmd)


class DeviceReset(HilError):
    """The device printed its boot banner (it reset) or its fault text while a command was
    outstanding: the model it held is gone. ``kind`` is "reset" or "fault"."""

    def __init__(self, message: str, cmd: int = 0, kind: str = "reset"):
        self._link_error(message, cmd)
        self.kind = kind


class ReplyError(HilError):
    """A reply that is malformed or contradicts what the device said before (LOAD_COMMIT's output
    sizes, HELLO's limits): not retried, the device or the link is not trustworthy."""

    def __init__(self, message: str, cmd: int = 0):
        self._link_error(message, cmd)


class OutputCountError(ReplyError):
    """The device returned a different number of outputs than the model it loaded has: a FAIL of
    the run (exit 1), never a pass over an empty list."""

    exit_code = EXIT_MISMATCH


class PortError(HilError):
    """The serial port (or pyserial URL) cannot be opened or configured."""

    def __init__(self, message: str):
        self._link_error(message)


CMD_NAMES = {PING: "PING", HELLO: "HELLO", RESET: "RESET", LOAD_BEGIN: "LOAD_BEGIN", LOAD_CHUNK: "LOAD_CHUNK",
             LOAD_COMMIT: "LOAD_COMMIT", SET_INPUT: "SET_INPUT", INVOKE: "INVOKE", GET_OUTPUT: "GET_OUTPUT",
             GET_LAYER: "GET_LAYER", GET_TRACE: "GET_TRACE"}


def cmd_name(cmd: int) -> str:
    return CMD_NAMES.get(cmd, f"0x{cmd:02x}")


def invoke_timeout(macs: int | None, *, base: float = 10.0, min_macs_per_second: float = 1e6) -> float:
    """Seconds to wait for an INVOKE reply: `base` plus the model's MACs at the slowest rate any
    bench device reaches (the K210 software KPU under a loaded QEMU with -icount, ~20 guest
    instructions per MAC, stays above 2.5 M MAC/s; 1 M MAC/s leaves room). A silent device on a
    small model is thus given up on in seconds, not minutes."""
    return base + (macs or 0) / min_macs_per_second


@dataclasses.dataclass
class Hello:
    proto_major: int
    proto_minor: int
    fw_version: str
    runtime_version: str
    core_clock_hz: int
    counter_kind: int
    build_flags: int
    max_payload: int
    model_addr: int
    model_max: int
    input_addr: int
    input_max: int
    arena_addr: int
    arena_size: int
    capture_max: int
    trace_max: int
    model_loaded: bool
    model_size: int
    model_crc: int
    strings: dict

    @property
    def target(self) -> str:
        return self.strings.get("target", "?")

    @property
    def counter(self) -> str:
        return COUNTER_NAMES.get(self.counter_kind, str(self.counter_kind))

    @property
    def flags(self) -> list:
        return [n for b, n in BUILD_FLAG_NAMES.items() if self.build_flags & b]

    @property
    def stub(self) -> bool:
        return bool(self.build_flags & BF_STUB)


@dataclasses.dataclass
class LoadResult:
    arena_required: int
    layers: int
    input_size: int
    input_dtype: str
    outputs: list  # [(size, dtype)]
    seconds: float = 0.0
    transferred: int = 0


@dataclasses.dataclass
class InvokeResult:
    status: int
    counter_kind: int
    count: int
    outputs: int
    layers: int
    capture_layer: int
    capture_type: int
    capture_dtype: str
    capture_size: int
    capture_stored: int

    @property
    def counter(self) -> str:
        return COUNTER_NAMES.get(self.counter_kind, str(self.counter_kind))


@dataclasses.dataclass
class LayerCapture:
    index: int
    type: int
    dtype: str
    size: int
    data: bytes


@dataclasses.dataclass
class TraceRecord:
    index: int
    type: int
    size: int
    dtype: str
    crc: int
    rt_cycles: int
    t: int


def _version(v: int) -> str:
    return f"{(v >> 16) & 0xFF}.{(v >> 8) & 0xFF}.{v & 0xFF}"


def parse_hello(payload: bytes) -> Hello:
    if len(payload) < _HELLO_FIXED.size:
        raise HilError(E_BAD_LENGTH, f"HELLO reply too short ({len(payload)} bytes)", HELLO)
    f = _HELLO_FIXED.unpack_from(payload)
    strings = {}
    for item in payload[_HELLO_FIXED.size:].split(b"\0"):
        if item:
            k, _, v = item.decode("utf-8", "replace").partition("=")
            strings[k] = v
    return Hello(f[0], f[1], _version(f[2]), _version(f[3]), f[4], f[5], f[6], f[7], f[8], f[9], f[10],
                 f[11], f[12], f[13], f[14], f[15], bool(f[16]), f[17], f[18], strings)


# ---- client -----------------------------------------------------------------------------------
def _unpack(st: struct.Struct, payload: bytes, cmd: int, offset: int = 0):
    if len(payload) < offset + st.size:
        raise ReplyError(f"{cmd_name(cmd)} reply of {len(payload)} bytes is shorter than its "
                         f"{offset + st.size}-byte header", cmd)
    return st.unpack_from(payload, offset)


_U32 = struct.Struct("<I")
_COMMIT_HEAD = struct.Struct("<5I")
_OUTPUT_HEAD = struct.Struct("<III")
_LAYER_HEAD = struct.Struct("<iIIIII")
_TRACE_HEAD = struct.Struct("<III")
MIN_CHUNK = 64


class HilClient:
    """One device. Every request waits for the reply with the same sequence number; error frames
    raise HilError; a lost or corrupted frame is retried (all requests are idempotent).

    Replies are checked against what the device said before: HELLO's limits, and LOAD_COMMIT's
    input size, output count and output sizes (``self.model``); a reply that contradicts them raises
    ReplyError at once instead of being followed. Link trouble is counted in ``self.stats``."""

    def __init__(self, port, timeout: float = 5.0, retries: int = 2, log=None, line_rate: float | None = None,
                 invoke_timeout: float | None = None):
        """timeout: seconds per request; invoke_timeout: seconds for INVOKE (default: the timeout of
        invoke(), or emc.hil.protocol.invoke_timeout(macs) given by the caller); line_rate: bytes per
        second of the line if known (a UART: baud / 10), to size chunks and waits on slow lines."""
        self.port = port
        self.timeout = timeout
        self.retries = retries
        self.log = log
        self.line_rate = line_rate
        self.invoke_timeout = invoke_timeout
        self.parser = FrameParser()
        self.seq = int.from_bytes(os.urandom(1), "little")
        self.info: Hello | None = None
        self.model: LoadResult | None = None     # what LOAD_COMMIT said about the loaded model
        self.chunk_limit: int | None = None      # lowered when the device times out partial frames
        self.stats = {"bad_crc_frames": 0, "noise_bytes": 0, "stale_replies": 0, "retries": 0, "timeouts": 0,
                      "device_bad_crc": 0, "device_timeouts": 0, "chunk_reductions": 0, "resets_seen": 0}
        self._markers_seen = 0
        try:
            self.port.timeout = 0.02
        except Exception:  # pragma: no cover - objects without a settable timeout
            pass

    @classmethod
    def open(cls, url: str, baudrate: int = 115200, **kw) -> "HilClient":
        """Open a serial port or pyserial URL. A port that does not exist or cannot be configured
        (e.g. /dev/null, a plain file) is a PortError naming it."""
        import serial  # pyserial

        try:
            port = serial.serial_for_url(url, baudrate=baudrate, timeout=0.02)
        except (serial.SerialException, OSError, ValueError) as e:
            raise PortError(f"cannot open serial port {url}: {str(e).strip() or type(e).__name__}") from None
        if "line_rate" not in kw and "://" not in url:
            kw["line_rate"] = baudrate / 10.0          # 8N1: ten bits per byte
        return cls(port, **kw)

    def close(self):
        try:
            self.port.close()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- low level --
    def _next_seq(self) -> int:
        self.seq = (self.seq + 1) & 0xFF
        return self.seq

    def wire_seconds(self, nbytes: int) -> float:
        """Time the line needs for nbytes (0 when its rate is unknown)."""
        return nbytes / self.line_rate if self.line_rate else 0.0

    def send(self, cmd: int, payload: bytes = b"", seq: int | None = None) -> int:
        seq = self._next_seq() if seq is None else seq
        self.port.write(encode_frame(cmd, seq, payload))
        return seq

    def _read_some(self) -> None:
        data = self.port.read(4096)
        if data:
            self.parser.feed(data)

    def link_summary(self) -> str:
        """One line for reports: the link trouble seen so far, '' when there was none."""
        self._sync_stats()
        parts = [f"{v} {k.replace('_', ' ')}" for k, v in self.stats.items() if v]
        return ", ".join(parts)

    def _sync_stats(self):
        self.stats["bad_crc_frames"] = self.parser.bad_crc
        self.stats["noise_bytes"] = self.parser.dropped

    def _check_markers(self, cmd: int) -> None:
        """Boot banner or fault text on the line while `cmd` was outstanding: the device reset."""
        new = self.parser.markers[self._markers_seen:]
        self._markers_seen = len(self.parser.markers)
        if not new:
            return
        kind, text = new[-1]
        self.stats["resets_seen"] += 1
        self.model = None
        self.info = None
        what = "faulted" if kind == "fault" else "reset"
        raise DeviceReset(f"the device {what} during {cmd_name(cmd)} ('{text}' on the line): the model it "
                          f"held is gone", cmd, kind)

    def wait_reply(self, cmd: int, seq: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        noise0 = self.parser.dropped
        while True:
            for rcmd, rseq, payload in self.parser.frames():
                self._check_markers(cmd)        # a banner before this frame: the device reset meanwhile
                if rseq != seq:
                    self.stats["stale_replies"] += 1
                    continue  # stale reply or error about an earlier frame
                if rcmd == ERROR:
                    if len(payload) >= 8:
                        code, ecmd, _, detail = struct.unpack_from("<HBBi", payload)
                        msg = payload[8:].decode("utf-8", "replace")
                    else:
                        code, ecmd, detail, msg = 0, cmd, 0, payload.hex()
                    if code == E_BAD_CRC:
                        self.stats["device_bad_crc"] += 1
                    elif code == E_TIMEOUT:
                        self.stats["device_timeouts"] += 1
                    raise HilError(code, msg, ecmd, detail)
                if rcmd == (cmd | REPLY):
                    return payload
                self.stats["stale_replies"] += 1    # a late reply to an older command with a wrapped seq
            self._check_markers(cmd)
            if time.monotonic() > deadline:
                self.stats["timeouts"] += 1
                noise = self.parser.dropped - noise0
                heard = f"; {noise} bytes that were not frames came meanwhile" if noise else "; the line was silent"
                raise HilTimeout(f"no reply to {cmd_name(cmd)} within {timeout:.1f} s{heard}", cmd)
            self._read_some()

    def request(self, cmd: int, payload: bytes = b"", timeout: float | None = None,
                retry_timeouts: bool = True, retry_partial: bool = True) -> bytes:
        """Send and wait, retrying lost or garbled frames. retry_timeouts=False: a timeout is final
        (INVOKE: a device that is still computing or is stuck gains nothing from a second request).
        retry_partial=False: the device's TIMEOUT error (our frame arrived too slowly) is final (the
        caller sends a smaller frame instead)."""
        timeout = (self.timeout if timeout is None else timeout) + self.wire_seconds(2 * len(payload) + 64)
        for attempt in range(self.retries + 1):
            seq = self.send(cmd, payload)
            try:
                return self.wait_reply(cmd, seq, timeout)
            except HilError as e:
                transient = (isinstance(e, HilTimeout) and retry_timeouts) or (
                    type(e) is HilError and (e.code == E_BAD_CRC or (e.code == E_TIMEOUT and retry_partial)))
                if not transient or attempt == self.retries:
                    raise
                self.stats["retries"] += 1
                if self.log:
                    self.log(f"retrying {cmd_name(cmd)} after: {e}")

    def sync(self, timeout: float = 10.0, interval: float = 0.25) -> float:
        """Resend a PING until it is answered (early bytes can be lost both ways). Returns seconds.

        After three unanswered PINGs the host stays quiet for longer than the device's
        partial-frame timeout, so that a half-received frame (line noise that looked like a long
        header) is dropped instead of being fed by further PINGs. On a slow line each PING gets
        at least three times its round trip. A boot banner seen here is expected (not a reset)."""
        t0 = time.monotonic()
        nonce = os.urandom(8)
        interval = max(interval, 3 * self.wire_seconds(2 * (OVERHEAD + len(nonce))))
        tries = 0
        dropped0 = self.parser.dropped
        while True:
            tries += 1
            if tries % 4 == 0:
                time.sleep(RX_TIMEOUT_MS / 1000 + 0.3)
                self.parser.feed(self.port.read(65536))   # what the device said meanwhile (TIMEOUT errors)
                list(self.parser.frames())
                self.parser.buf.clear()
            seq = self.send(PING, nonce)
            try:
                if self.wait_reply(PING, seq, interval) == nonce:
                    return time.monotonic() - t0
            except DeviceReset:
                self.stats["resets_seen"] -= 1   # a boot banner while synchronising: the device just started
            except HilTimeout:
                pass
            except HilError:
                pass  # e.g. BAD_CRC about a frame whose start was lost
            if time.monotonic() - t0 > timeout:
                noise = self.parser.dropped - dropped0
                if noise:
                    sample = bytes(self.parser.noise[-48:])
                    raise HilTimeout(f"no answer to PING within {timeout:.1f} s, but {noise} bytes that are not "
                                     f"protocol frames (last: {sample!r}): wrong baud rate, or not an EMC HIL "
                                     f"firmware on this port", PING)
                raise HilTimeout(f"no answer to PING within {timeout:.1f} s and not a byte received: is the "
                                 f"firmware running, and is this its port?", PING)

    # -- commands --
    def ping(self, data: bytes = b"") -> bytes:
        return self.request(PING, data)

    def hello(self) -> Hello:
        info = parse_hello(self.request(HELLO))
        if not MIN_CHUNK + 16 <= info.max_payload <= 0xFFFF:
            raise ReplyError(f"HELLO says max_payload {info.max_payload} bytes (must be {MIN_CHUNK + 16}..65535)",
                             HELLO)
        self.info = info
        self.parser.max_payload = info.max_payload
        if not info.model_loaded:
            self.model = None
        return self.info

    def _info(self) -> Hello:
        return self.info or self.hello()

    def reset(self, hard: bool = False) -> None:
        self.request(RESET, bytes([1 if hard else 0]))
        self.model = None
        if hard:
            self.info = None
            self.sync()          # the boot banner comes before the first answer: expected here

    def _chunk(self) -> int:
        """Payload bytes per chunk: the device's limit, lowered on a slow line so that one frame
        takes well under the device's partial-frame timeout, and after the device timed one out."""
        n = self._info().max_payload - 16
        if self.line_rate:
            n = min(n, max(MIN_CHUNK, int(self.line_rate * FRAME_TIMEOUT_MS / 1000 / 3)))
        if self.chunk_limit:
            n = min(n, self.chunk_limit)
        return n

    def _chunk_request(self, cmd: int, make_payload) -> bytes:
        """A chunked request (LOAD_CHUNK, SET_INPUT, GET_*): when the device drops our frame as
        timed out (a line slower than the chunk assumed), retry with half the chunk."""
        while True:
            try:
                return self.request(cmd, make_payload(self._chunk()), retry_partial=self._chunk() <= MIN_CHUNK)
            except HilError as e:
                slow = (type(e) is HilError and e.code == E_TIMEOUT) or isinstance(e, HilTimeout)
                if not slow or self._chunk() <= MIN_CHUNK:
                    raise
                self.chunk_limit = max(MIN_CHUNK, self._chunk() // 2)
                self.stats["chunk_reductions"] += 1
                if self.log:
                    self.log(f"{cmd_name(cmd)}: frames time out on this line; chunks of {self.chunk_limit} bytes")

    def load_begin(self, size: int) -> None:
        self.model = None
        self.request(LOAD_BEGIN, struct.pack("<I", size))

    def load_commit(self, size: int, crc: int, timeout: float = 60.0) -> LoadResult:
        self.model = None
        p = self.request(LOAD_COMMIT, struct.pack("<II", size, crc), timeout=timeout)
        need, layers, in_size, in_dt, n = _unpack(_COMMIT_HEAD, p, LOAD_COMMIT)
        if len(p) != 20 + 8 * n:
            raise ReplyError(f"LOAD_COMMIT reply of {len(p)} bytes for {n} outputs (expected {20 + 8 * n})",
                             LOAD_COMMIT)
        outs = [(s, DTYPES.get(d, str(d))) for s, d in struct.iter_unpack("<II", p[20:20 + 8 * n])]
        info = self.info
        if info is not None:
            for what, v, lim in (("input size", in_size, info.input_max), ("arena", need, info.arena_size)):
                if v > lim:
                    raise ReplyError(f"LOAD_COMMIT says {what} {v} bytes, more than the {lim} HELLO gave",
                                     LOAD_COMMIT)
        if n == 0 or any(s == 0 for s, _ in outs):
            raise ReplyError(f"LOAD_COMMIT describes {n} outputs with sizes {[s for s, _ in outs]}", LOAD_COMMIT)
        self.model = LoadResult(need, layers, in_size, DTYPES.get(in_dt, str(in_dt)), outs)
        return self.model

    def load(self, model: bytes, *, preloaded: bool = False, reuse: bool = True, progress=None) -> LoadResult:
        """Send a model in chunks and load it. ``preloaded``: the bytes are already in the device's
        model buffer (QEMU ``-device loader``); only the CRC check and load happen. ``reuse``: skip
        the transfer when HELLO says the same model (size and CRC) is already there."""
        t0 = time.monotonic()
        model = bytes(model)
        crc = crc32(model)
        info = self._info()
        if len(model) > info.model_max:
            raise HilError(E_TOO_LARGE, f"model of {len(model)} bytes > device model buffer "
                           f"{info.model_max}", LOAD_BEGIN, info.model_max)
        sent = 0
        if not preloaded:
            info = self.hello() if reuse else info
            if not (reuse and info.model_loaded and info.model_size == len(model) and info.model_crc == crc):
                self.load_begin(len(model))
                off = 0
                while off < len(model):
                    def payload(step, off=off):
                        return struct.pack("<I", off) + model[off:off + step]
                    p = self._chunk_request(LOAD_CHUNK, payload)
                    (got,) = _unpack(_U32, p, LOAD_CHUNK)
                    if got != off:
                        raise ReplyError(f"LOAD_CHUNK reply names offset {got}, the chunk was at {off}", LOAD_CHUNK)
                    off = min(len(model), off + self._chunk())    # the size that went through
                    sent = off
                    if progress:
                        progress(off, len(model))
        res = self.load_commit(len(model), crc)
        res.seconds = time.monotonic() - t0
        res.transferred = sent
        return res

    def check_input_size(self, nbytes: int) -> None:
        """The input must be exactly what LOAD_COMMIT said the model takes (checked on the host,
        before anything is sent)."""
        if self.model is not None and nbytes != self.model.input_size:
            raise InputError(f"input of {nbytes} bytes, but the model loaded on the device takes "
                             f"{self.model.input_size} bytes ({self.model.input_dtype})", where="input")

    def set_input(self, data: bytes, *, preloaded: bool = False) -> int:
        data = bytes(data)
        info = self._info()
        if len(data) > info.input_max:
            raise HilError(E_TOO_LARGE, f"input of {len(data)} bytes > device staging buffer "
                           f"{info.input_max}", SET_INPUT, info.input_max)
        if not preloaded:
            off = 0
            while off < len(data):
                self._chunk_request(SET_INPUT, lambda n, off=off: struct.pack("<I", off) + data[off:off + n])
                off += self._chunk()                               # the size that went through
        return len(data)

    def invoke(self, input_size: int, *, capture_layer: int | None = None, trace_crc: bool = False,
               timeout: float | None = None) -> InvokeResult:
        """INVOKE, waiting `timeout` s (default: self.invoke_timeout, else 300 s). A timeout is not
        retried. The reply's output count must be LOAD_COMMIT's (OutputCountError otherwise)."""
        flags = (INV_CAPTURE if capture_layer is not None else 0) | (INV_TRACE_CRC if trace_crc else 0)
        layer = -1 if capture_layer is None else capture_layer
        if timeout is None:
            timeout = self.invoke_timeout if self.invoke_timeout is not None else 300.0
        p = self.request(INVOKE, struct.pack("<IIi", input_size, flags, layer), timeout=timeout,
                         retry_timeouts=False)
        f = _unpack(_INVOKE_REPLY, p, INVOKE)
        res = InvokeResult(f[0], f[1], f[2], f[3], f[4], f[5], f[6], DTYPES.get(f[7], str(f[7])), f[8], f[9])
        if self.model is not None:
            if res.outputs != len(self.model.outputs):
                raise OutputCountError(f"INVOKE reply says {res.outputs} outputs, the model the device loaded has "
                                       f"{len(self.model.outputs)} (LOAD_COMMIT): FAIL", INVOKE)
            if res.layers != self.model.layers:
                raise ReplyError(f"INVOKE reply says {res.layers} layers, LOAD_COMMIT said {self.model.layers}",
                                 INVOKE)
        if capture_layer is not None and self.info is not None and res.capture_stored > self.info.capture_max:
            raise ReplyError(f"INVOKE reply says {res.capture_stored} captured bytes, more than the "
                             f"{self.info.capture_max} HELLO gave", INVOKE)
        return res

    def _fetch(self, cmd: int, head: bytes, hdr: struct.Struct, total_of, limit: int, what: str):
        """Chunks of a device buffer. `total_of(fields)` is the size the reply claims; it must not
        exceed `limit` (known from LOAD_COMMIT/HELLO) nor change between chunks."""
        out, off, total, fields = bytearray(), 0, None, None
        while total is None or off < total:
            p = self._chunk_request(cmd, lambda n: head + struct.pack("<II", off, n))
            fields = _unpack(hdr, p, cmd)
            claimed, got_off = total_of(fields), fields[-1]
            if claimed > limit:
                raise ReplyError(f"{cmd_name(cmd)} reply claims {what} has {claimed} bytes, more than the "
                                 f"{limit} the device announced", cmd)
            if total is not None and claimed != total:
                raise ReplyError(f"{cmd_name(cmd)} reply changed {what}'s size from {total} to {claimed}", cmd)
            total = claimed
            data = p[hdr.size:]
            if got_off != off:
                raise ReplyError(f"{cmd_name(cmd)} reply is at offset {got_off}, asked {off}", cmd)
            if len(data) > total - off:
                raise ReplyError(f"{cmd_name(cmd)} reply carries {len(data)} bytes at offset {off} of a "
                                 f"{total}-byte {what}", cmd)
            if not data and off < total:
                raise ReplyError(f"{cmd_name(cmd)} reply is an empty chunk at offset {off} of {total}", cmd)
            out += data
            off += len(data)
        return fields, bytes(out)

    def get_output(self, index: int = 0) -> bytes:
        if self.model is not None:
            if index >= len(self.model.outputs):
                raise ReplyError(f"output {index} asked, the model has {len(self.model.outputs)}", GET_OUTPUT)
            limit = self.model.outputs[index][0]
        else:
            limit = self._info().arena_size
        fields, data = self._fetch(GET_OUTPUT, struct.pack("<I", index), _OUTPUT_HEAD, lambda f: f[0], limit,
                                   f"output {index}")
        if self.model is not None and len(data) != limit:
            raise ReplyError(f"output {index} has {len(data)} bytes, LOAD_COMMIT said {limit}", GET_OUTPUT)
        return data

    def outputs(self, count: int) -> list:
        return [self.get_output(i) for i in range(count)]

    def get_layer(self) -> LayerCapture:
        fields, data = self._fetch(GET_LAYER, b"", _LAYER_HEAD, lambda f: f[4], self._info().capture_max,
                                   "the captured layer")
        index, ltype, dtype, size, stored, _ = fields
        if stored < size:
            raise HilError(E_TOO_LARGE, f"layer {index} output ({size} bytes) larger than the capture "
                           f"buffer ({stored} bytes kept)", GET_LAYER, size)
        return LayerCapture(index, ltype, DTYPES.get(dtype, str(dtype)), size, data)

    def get_trace(self) -> list:
        recs, first = [], 0
        while True:
            p = self.request(GET_TRACE, struct.pack("<II", first, 0xFFFF))
            n_layers, got_first, count = _unpack(_TRACE_HEAD, p, GET_TRACE)
            if got_first != first or len(p) < 12 + count * _TRACE_REC.size:
                raise ReplyError(f"GET_TRACE reply of {len(p)} bytes for {count} records from {got_first} "
                                 f"(asked from {first})", GET_TRACE)
            if self.model is not None and n_layers != self.model.layers:
                raise ReplyError(f"GET_TRACE reply says {n_layers} layers, LOAD_COMMIT said {self.model.layers}",
                                 GET_TRACE)
            for i in range(count):
                r = _TRACE_REC.unpack_from(p, 12 + i * _TRACE_REC.size)
                recs.append(TraceRecord(got_first + i, r[0], r[1], DTYPES.get(r[2], str(r[2])), r[3], r[4], r[5]))
            first = got_first + count
            if count == 0 or first >= min(n_layers, self._info().trace_max):
                return recs

    def run(self, data: bytes, *, preloaded_input: bool = False, **kw):
        """set_input + invoke + every output. Returns (InvokeResult, [bytes per output])."""
        self.check_input_size(len(data))
        n = self.set_input(data, preloaded=preloaded_input)
        res = self.invoke(n, **kw)
        return res, self.outputs(res.outputs)
