"""Checks shared by the host-build and QEMU firmware tests (one protocol, every firmware)."""
import struct
import time

import numpy as np
import pytest

from emc.hil import protocol as P


def check_hello(dev, target):
    h = dev.hello()
    assert (h.proto_major, h.proto_minor) == (P.PROTO_MAJOR, P.PROTO_MINOR)
    assert h.target == target
    assert h.fw_version == "0.1.0"
    assert h.max_payload >= 256
    assert h.arena_size > 0 and h.model_max > 0 and h.input_max > 0
    assert "fw" in h.strings and "build" in h.strings
    return h


def check_error_frames(dev):
    """Every bad request gets an error frame with the right code, and the device keeps working."""
    h = dev.hello()
    # bad CRC: the device answers with BAD_CRC for the same seq
    f = bytearray(P.encode_frame(P.PING, 0x42, b"hello"))
    f[-1] ^= 0x55
    dev.port.write(bytes(f))
    with pytest.raises(P.HilError) as e:
        dev.wait_reply(P.PING, 0x42, 5)
    assert e.value.code == P.E_BAD_CRC
    # unknown command
    with pytest.raises(P.HilError) as e:
        dev.request(0x55, b"")
    assert e.value.code == P.E_UNKNOWN_CMD
    # oversized load (model bigger than the model buffer)
    with pytest.raises(P.HilError) as e:
        dev.load_begin(h.model_max + 1)
    assert e.value.code == P.E_TOO_LARGE and e.value.detail == h.model_max
    # frame payload longer than the device accepts
    big = P.encode_frame(P.PING, 0x43, bytes(h.max_payload + 1))
    dev.port.write(big[:P.HEADER_SIZE])
    with pytest.raises(P.HilError) as e:
        dev.wait_reply(P.PING, 0x43, 5)
    assert e.value.code == P.E_TOO_LARGE
    # wrong payload length for a command
    with pytest.raises(P.HilError) as e:
        dev.request(P.INVOKE, b"\0\0")
    assert e.value.code == P.E_BAD_LENGTH
    # chunk outside the announced model size
    dev.load_begin(100)
    with pytest.raises(P.HilError) as e:
        dev.request(P.LOAD_CHUNK, struct.pack("<I", 96) + bytes(8))
    assert e.value.code == P.E_RANGE
    # commit with a CRC that does not match the buffer
    with pytest.raises(P.HilError) as e:
        dev.load_commit(16, 0x12345678)
    assert e.value.code == P.E_CHECKSUM
    # not a kmodel: the runtime's refusal comes back as an error frame with its status
    dev.load_begin(64)
    dev.request(P.LOAD_CHUNK, struct.pack("<I", 0) + bytes(64))
    with pytest.raises(P.HilError) as e:
        dev.load_commit(64, P.crc32(bytes(64)))
    assert e.value.code == P.E_RUNTIME and e.value.message
    # invoke without a model, layer without a capture
    with pytest.raises(P.HilError) as e:
        dev.invoke(4)
    assert e.value.code == P.E_NO_MODEL
    with pytest.raises(P.HilError) as e:
        dev.get_layer()
    assert e.value.code == P.E_STATE
    # partial frame: header promises 8 bytes, only 2 come -> TIMEOUT error, not a hang
    dev.port.write(b"\xa5\x5a" + bytes([P.PING, 0x44, 8, 0]) + b"ab")
    t0 = time.monotonic()
    with pytest.raises(P.HilError) as e:
        dev.wait_reply(P.PING, 0x44, 10)
    assert e.value.code == P.E_TIMEOUT
    assert time.monotonic() - t0 < 8
    # still alive and in sync
    assert dev.ping(b"alive") == b"alive"
    dev.reset()
    assert not dev.hello().model_loaded


def check_model(dev, model_path, x, expected, *, preloaded=False, layers=None, capture=None):
    """Load, run, compare every output byte for byte; optionally the trace CRCs and one layer."""
    model = model_path.read_bytes()
    res = dev.load(model, preloaded=preloaded)
    assert res.input_size == x.nbytes
    assert [s for s, _ in res.outputs] == [len(e) for e in expected]
    # an input of the wrong size is refused by the runtime, as an error frame
    with pytest.raises(P.HilError) as e:
        dev.invoke(x.nbytes + 1)
    assert e.value.code == P.E_RUNTIME
    with pytest.raises(P.HilError) as e:
        dev.get_output(0)
    assert e.value.code == P.E_NO_MODEL
    inv, outs = dev.run(x.tobytes(), trace_crc=layers is not None, capture_layer=capture)
    assert inv.status == 0 and inv.layers == res.layers
    for i, (got, want) in enumerate(zip(outs, expected)):
        assert got == want, f"output {i} differs: {np.frombuffer(got, np.uint8)[:16]} vs {np.frombuffer(want, np.uint8)[:16]}"
    if layers is not None:
        trace = dev.get_trace()
        assert len(trace) == res.layers == len(layers)
        for t, want in zip(trace, layers):
            assert t.size == len(want) and t.crc == P.crc32(want), f"layer {t.index} (type {t.type}) differs"
    if capture is not None:
        cap = dev.get_layer()
        assert cap.index == capture
        assert cap.data == layers[capture]
    return res, inv


def check_resync_after_noise(dev, target):
    """Line noise (including fake sync bytes and absurd lengths) never wedges the device: the
    host's PING-until-answered handshake gets it back within the partial-frame timeouts."""
    import random

    rnd = random.Random(1234)
    noise = bytearray(rnd.randrange(256) for _ in range(3000))
    for i in range(0, 3000, 300):
        noise[i:i + 2] = b"\xa5\x5a"
    dev.port.write(bytes(noise))
    assert dev.sync(timeout=15) < 15
    assert dev.hello().target == target
