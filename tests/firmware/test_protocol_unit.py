"""Framing and constants of the HIL protocol (no device needed)."""
import pathlib
import re
import struct
import zlib

from emc.hil import protocol as P

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_frame_layout_and_crc():
    f = P.encode_frame(P.PING, 7, b"abc")
    assert f[:2] == b"\xa5\x5a"
    assert f[2:6] == bytes([P.PING, 7, 3, 0])
    assert f[6:9] == b"abc"
    assert struct.unpack("<I", f[9:])[0] == zlib.crc32(f[2:9])
    assert len(f) == P.OVERHEAD + 3


def test_crc32_matches_zlib_check_value():
    assert P.crc32(b"123456789") == 0xCBF43926


def test_parser_skips_garbage_and_bad_crc():
    good = P.encode_frame(P.HELLO | P.REPLY, 1, b"x" * 10)
    bad = bytearray(P.encode_frame(P.PING | P.REPLY, 2, b"yy"))
    bad[-1] ^= 0xFF
    p = P.FrameParser()
    stream = b"\x00\xa5junk" + bytes(bad) + good
    for i in range(0, len(stream), 3):  # arbitrary fragmentation
        p.feed(stream[i:i + 3])
    got = []
    for i in range(3):
        got += list(p.frames())
    got += list(p.frames())
    assert got == [(P.HELLO | P.REPLY, 1, b"x" * 10)]
    assert p.bad_crc == 1


def test_parser_waits_for_partial_frame():
    f = P.encode_frame(P.PING, 3, b"0123456789")
    p = P.FrameParser()
    p.feed(f[:8])
    assert list(p.frames()) == []
    p.feed(f[8:])
    assert list(p.frames()) == [(P.PING, 3, b"0123456789")]


def test_constants_match_c_header():
    text = (ROOT / "firmware_common" / "include" / "hil_protocol.h").read_text()
    defines = {m.group(1): int(m.group(2), 0) for m in
               re.finditer(r"#define HIL_(\w+)\s+(0x[0-9A-Fa-f]+|\d+)u?\b", text)}
    assert len(defines) > 40
    for name, value in defines.items():
        if name in ("SYNC0", "SYNC1"):
            continue
        assert getattr(P, name) == value, name
    assert P.SYNC == bytes([defines["SYNC0"], defines["SYNC1"]])


def test_hello_parse_roundtrip():
    fixed = struct.pack("<HH17I", 1, 0, 0x000100, 0x000203, 25_000_000, P.CNT_VNS, P.BF_FPU | P.BF_EMULATED,
                        4096, 0x21000000, 1 << 23, 0x21800000, 1 << 22, 0x20010000, 4_000_000, 1 << 22, 256,
                        1, 436, 0x1234)
    h = P.parse_hello(fixed + b"target=qemu-m4\0fw=0.1.0\0")
    assert h.target == "qemu-m4" and h.runtime_version == "0.2.3" and h.counter == "virtual_ns"
    assert h.flags == ["fpu", "emulated"] and h.model_loaded and h.model_size == 436
