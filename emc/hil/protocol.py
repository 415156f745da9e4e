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


class FrameParser:
    """Incremental frame decoder: feed() bytes, then frames() yields (cmd, seq, payload).

    Bytes before a sync pattern and frames with a bad CRC are skipped (counted in ``dropped``)."""

    def __init__(self, max_payload: int = 0xFFFF):
        self.buf = bytearray()
        self.max_payload = max_payload
        self.dropped = 0
        self.bad_crc = 0

    def feed(self, data: bytes) -> None:
        self.buf += data

    def frames(self):
        while True:
            i = self.buf.find(SYNC)
            if i < 0:
                keep = 1 if self.buf[-1:] == SYNC[:1] else 0
                self.dropped += len(self.buf) - keep
                del self.buf[: len(self.buf) - keep]
                return
            if i:
                self.dropped += i
                del self.buf[:i]
            if len(self.buf) < HEADER_SIZE:
                return
            cmd, seq, n = struct.unpack_from("<BBH", self.buf, 2)
            if n > self.max_payload:
                del self.buf[:1]
                self.dropped += 1
                continue
            if len(self.buf) < OVERHEAD + n:
                return
            body = bytes(self.buf[2:HEADER_SIZE + n])
            (crc,) = struct.unpack_from("<I", self.buf, HEADER_SIZE + n)
            if crc32(body) != crc:
                self.bad_crc += 1
                del self.buf[:1]
                continue
            del self.buf[: OVERHEAD + n]
            yield cmd, seq, body[4:]


# ---- results ----------------------------------------------------------------------------------
class HilError(Exception):
    """The device answered with an error frame (or the host gave up waiting: HilTimeout)."""

    def __init__(self, code: int, message: str, cmd: int = 0, detail: int = 0):
        self.code, self.message, self.cmd, self.detail = code, message, cmd, detail
        name = ERROR_NAMES.get(code, str(code))
        super().__init__(f"device error {name} on command 0x{cmd:02x}: {message} (detail {detail})")

    @property
    def name(self):
        return ERROR_NAMES.get(self.code, str(self.code))


class HilTimeout(HilError):
    def __init__(self, message: str, cmd: int = 0):
        Exception.__init__(self, message)
        self.code, self.message, self.cmd, self.detail = 0, message, cmd, 0


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
class HilClient:
    """One device. Every request waits for the reply with the same sequence number; error frames
    raise HilError; a lost or corrupted frame is retried (all requests are idempotent)."""

    def __init__(self, port, timeout: float = 5.0, retries: int = 2, log=None):
        self.port = port
        self.timeout = timeout
        self.retries = retries
        self.log = log
        self.parser = FrameParser()
        self.seq = int.from_bytes(os.urandom(1), "little")
        self.info: Hello | None = None
        try:
            self.port.timeout = 0.02
        except Exception:  # pragma: no cover - objects without a settable timeout
            pass

    @classmethod
    def open(cls, url: str, baudrate: int = 115200, **kw) -> "HilClient":
        import serial  # pyserial

        port = serial.serial_for_url(url, baudrate=baudrate, timeout=0.02)
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

    def send(self, cmd: int, payload: bytes = b"", seq: int | None = None) -> int:
        seq = self._next_seq() if seq is None else seq
        self.port.write(encode_frame(cmd, seq, payload))
        return seq

    def _read_some(self) -> None:
        data = self.port.read(4096)
        if data:
            self.parser.feed(data)

    def wait_reply(self, cmd: int, seq: int, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            for rcmd, rseq, payload in self.parser.frames():
                if rseq != seq:
                    continue  # stale reply or error about an earlier frame
                if rcmd == ERROR:
                    if len(payload) >= 8:
                        code, ecmd, _, detail = struct.unpack_from("<HBBi", payload)
                        msg = payload[8:].decode("utf-8", "replace")
                    else:
                        code, ecmd, detail, msg = 0, cmd, 0, payload.hex()
                    raise HilError(code, msg, ecmd, detail)
                if rcmd == (cmd | REPLY):
                    return payload
            if time.monotonic() > deadline:
                raise HilTimeout(f"no reply to command 0x{cmd:02x} within {timeout:.1f} s", cmd)
            self._read_some()

    def request(self, cmd: int, payload: bytes = b"", timeout: float | None = None) -> bytes:
        timeout = self.timeout if timeout is None else timeout
        for attempt in range(self.retries + 1):
            seq = self.send(cmd, payload)
            try:
                return self.wait_reply(cmd, seq, timeout)
            except HilError as e:
                transient = isinstance(e, HilTimeout) or e.code in (E_BAD_CRC, E_TIMEOUT)
                if not transient or attempt == self.retries:
                    raise
                if self.log:
                    self.log(f"retrying command 0x{cmd:02x} after: {e}")

    def sync(self, timeout: float = 10.0, interval: float = 0.25) -> float:
        """Resend a PING until it is answered (early bytes can be lost both ways). Returns seconds.

        After three unanswered PINGs the host stays quiet for longer than the device's
        partial-frame timeout, so that a half-received frame (line noise that looked like a long
        header) is dropped instead of being fed by further PINGs."""
        t0 = time.monotonic()
        nonce = os.urandom(8)
        tries = 0
        while True:
            tries += 1
            if tries % 4 == 0:
                time.sleep(RX_TIMEOUT_MS / 1000 + 0.3)
                self.port.read(65536)  # whatever the device said meanwhile (TIMEOUT errors)
                self.parser.buf.clear()
            seq = self.send(PING, nonce)
            try:
                if self.wait_reply(PING, seq, interval) == nonce:
                    return time.monotonic() - t0
            except HilTimeout:
                pass
            except HilError:
                pass  # e.g. BAD_CRC about a frame whose start was lost
            if time.monotonic() - t0 > timeout:
                raise HilTimeout(f"device did not answer PING within {timeout:.1f} s", PING)

    # -- commands --
    def ping(self, data: bytes = b"") -> bytes:
        return self.request(PING, data)

    def hello(self) -> Hello:
        self.info = parse_hello(self.request(HELLO))
        self.parser.max_payload = max(self.info.max_payload, 64)
        return self.info

    def _info(self) -> Hello:
        return self.info or self.hello()

    def reset(self, hard: bool = False) -> None:
        self.request(RESET, bytes([1 if hard else 0]))
        if hard:
            self.info = None

    def _chunk(self) -> int:
        return self._info().max_payload - 16

    def load_begin(self, size: int) -> None:
        self.request(LOAD_BEGIN, struct.pack("<I", size))

    def load_commit(self, size: int, crc: int, timeout: float = 60.0) -> LoadResult:
        p = self.request(LOAD_COMMIT, struct.pack("<II", size, crc), timeout=timeout)
        need, layers, in_size, in_dt, n = struct.unpack_from("<5I", p)
        outs = [(s, DTYPES.get(d, str(d))) for s, d in struct.iter_unpack("<II", p[20:20 + 8 * n])]
        return LoadResult(need, layers, in_size, DTYPES.get(in_dt, str(in_dt)), outs)

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
                step = self._chunk()
                for off in range(0, len(model), step):
                    chunk = model[off:off + step]
                    self.request(LOAD_CHUNK, struct.pack("<I", off) + chunk)
                    sent += len(chunk)
                    if progress:
                        progress(off + len(chunk), len(model))
        res = self.load_commit(len(model), crc)
        res.seconds = time.monotonic() - t0
        res.transferred = sent
        return res

    def set_input(self, data: bytes, *, preloaded: bool = False) -> int:
        data = bytes(data)
        info = self._info()
        if len(data) > info.input_max:
            raise HilError(E_TOO_LARGE, f"input of {len(data)} bytes > device staging buffer "
                           f"{info.input_max}", SET_INPUT, info.input_max)
        if not preloaded:
            step = self._chunk()
            for off in range(0, len(data), step):
                self.request(SET_INPUT, struct.pack("<I", off) + data[off:off + step])
        return len(data)

    def invoke(self, input_size: int, *, capture_layer: int | None = None, trace_crc: bool = False,
               timeout: float = 300.0) -> InvokeResult:
        flags = (INV_CAPTURE if capture_layer is not None else 0) | (INV_TRACE_CRC if trace_crc else 0)
        layer = -1 if capture_layer is None else capture_layer
        p = self.request(INVOKE, struct.pack("<IIi", input_size, flags, layer), timeout=timeout)
        f = _INVOKE_REPLY.unpack_from(p)
        return InvokeResult(f[0], f[1], f[2], f[3], f[4], f[5], f[6], DTYPES.get(f[7], str(f[7])), f[8], f[9])

    def _chunked(self, cmd: int, head: bytes, hdr: struct.Struct):
        out, off, total, fields = bytearray(), 0, None, None
        while total is None or off < total:
            p = self.request(cmd, head + struct.pack("<II", off, self._chunk()))
            fields = hdr.unpack_from(p)
            total, got_off = fields[-2], fields[-1]
            data = p[hdr.size:]
            if got_off != off:
                raise HilError(E_RANGE, f"device answered offset {got_off}, asked {off}", cmd)
            if not data and off < total:
                raise HilError(E_RANGE, "device returned an empty chunk", cmd)
            out += data
            off += len(data)
        return fields, bytes(out)

    def get_output(self, index: int = 0) -> bytes:
        hdr = struct.Struct("<III")
        out, off, total = bytearray(), 0, None
        while total is None or off < total:
            p = self.request(GET_OUTPUT, struct.pack("<III", index, off, self._chunk()))
            total, _dtype, got = hdr.unpack_from(p)
            data = p[hdr.size:]
            if got != off or (not data and off < total):
                raise HilError(E_RANGE, f"bad output chunk at {off}", GET_OUTPUT)
            out += data
            off += len(data)
        return bytes(out)

    def outputs(self, count: int) -> list:
        return [self.get_output(i) for i in range(count)]

    def get_layer(self) -> LayerCapture:
        hdr = struct.Struct("<iIIIII")
        fields, data = self._chunked(GET_LAYER, b"", hdr)
        index, ltype, dtype, size, stored, _ = fields
        if stored < size:
            raise HilError(E_TOO_LARGE, f"layer {index} output ({size} bytes) larger than the capture "
                           f"buffer ({stored} bytes kept)", GET_LAYER, size)
        return LayerCapture(index, ltype, DTYPES.get(dtype, str(dtype)), size, data)

    def get_trace(self) -> list:
        recs, first = [], 0
        while True:
            p = self.request(GET_TRACE, struct.pack("<II", first, 0xFFFF))
            n_layers, got_first, count = struct.unpack_from("<III", p)
            for i in range(count):
                r = _TRACE_REC.unpack_from(p, 12 + i * _TRACE_REC.size)
                recs.append(TraceRecord(got_first + i, r[0], r[1], DTYPES.get(r[2], str(r[2])), r[3], r[4], r[5]))
            first = got_first + count
            if count == 0 or first >= min(n_layers, self._info().trace_max):
                return recs

    def run(self, data: bytes, *, preloaded_input: bool = False, **kw):
        """set_input + invoke + every output. Returns (InvokeResult, [bytes per output])."""
        n = self.set_input(data, preloaded=preloaded_input)
        res = self.invoke(n, **kw)
        return res, self.outputs(res.outputs)
