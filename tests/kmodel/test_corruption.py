"""Malformed files: every header field out of range, tables and bodies cut short, counts and
sizes too large, register words mangled. The reader must raise KModelError (naming layer, field
and offset) or produce a model that runs within its declared memory: never IndexError, a numpy
error, a hang or a huge allocation."""
import struct

import numpy as np
import pytest

from emc.kmodel import KModelError, load
from emc.reference import run

# the CIFAR file has ~10x the fields of iris: its full walk is in the slow run, iris keeps the fast one honest
SMALL = ["nncase_v0.1_iris_v3.kmodel",
         pytest.param("maixemc_cifar10_output_hwverified_v3.kmodel", marks=pytest.mark.slow)]
EXTREMES = [0, 1, 2, 3, 0x7F, 0xFF, 0xFFFF, 0x8000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]


def try_model(data, run_it=True):
    """Load (and run) a mutated file; only KModelError / ValueError for bad input are allowed."""
    try:
        m = load(data)
    except KModelError as e:
        assert str(e)          # the message names where
        return "rejected"
    if not run_it:
        return "loaded"
    dtype, shape = m.input_spec()
    x = np.full(shape, 7, np.uint8 if dtype == "u8" else np.float32)
    try:
        with np.errstate(all="ignore"):
            run(m, x)
    except KModelError:
        return "rejected at run"
    return "ran"


@pytest.fixture(scope="module", params=SMALL)
def original(request, kmodels_dir):
    return (kmodels_dir / request.param).read_bytes()


def put32(data, off, v):
    b = bytearray(data)
    struct.pack_into("<I", b, off, v & 0xFFFFFFFF)
    return bytes(b)


def test_header_fields(original):
    for off, field in zip(range(0, 28, 4), ["version", "flags", "arch", "layers_length", "max_start_address",
                                             "main_mem_usage", "output_count"]):
        for v in EXTREMES + [len(original), len(original) // 8]:
            res = try_model(put32(original, off, v))
            if field in ("version", "arch") and v not in (3, 0):
                assert res == "rejected", (field, v)


def test_named_errors_for_header(original):
    with pytest.raises(KModelError, match="version") as e:
        load(put32(original, 0, 2))
    assert e.value.offset == 0 and e.value.field == "version"
    with pytest.raises(KModelError, match="arch"):
        load(put32(original, 8, 1))
    with pytest.raises(KModelError) as e:
        load(put32(original, 12, 0x7FFFFFFF))      # layers_length far too large
    assert e.value.field == "layers_length"
    with pytest.raises(KModelError) as e:
        load(put32(original, 20, 0xFFFFFFFF))      # main_mem_usage: refused before any allocation
    assert e.value.field == "main_mem_usage"


def test_truncation_everywhere(original):
    n = len(original)
    cuts = sorted(set(list(range(0, 120)) + list(range(0, n, max(1, n // 300))) + [n - 8, n - 1]))
    for cut in cuts:
        res = try_model(original[:cut], run_it=False)
        if cut < n - 7:
            assert res == "rejected", cut


def test_layer_table_entries(original):
    nout = struct.unpack_from("<I", original, 24)[0]
    nl = struct.unpack_from("<I", original, 12)[0]
    table = 28 + 8 * nout
    for i in range(nl):
        for v in [0, 3, 19, 26, 999, 10239, 10244, 0xFFFFFFFF]:
            assert try_model(put32(original, table + 8 * i, v), run_it=False) == "rejected" or v in (3, 19)
        for v in [0, 1, 7, 0x7FFFFFFF, 0xFFFFFFFF]:
            try_model(put32(original, table + 8 * i + 4, v))


def test_output_table(original):
    for v in [0xFFFFFFFF, 0x7FFFFFFF, 1 << 20]:
        assert try_model(put32(original, 28, v), run_it=False) == "rejected"      # address
        assert try_model(put32(original, 32, v), run_it=False) == "rejected"      # size


def test_every_body_field(original):
    """Each u32 of every body's fixed part (and each register word) set to extreme values."""
    m = load(original)
    offsets = []
    for layer in m.layers:
        start = layer.file_offset
        offsets += [start + 4 * i for i in range(len(layer.FIELDS))]
        if layer.NAME == "K210_CONV":
            offsets += [layer.layer_offset + 4 * i for i in range(24)]
    rng = np.random.default_rng(0)
    for off in offsets:
        for v in [0, 1, 0xFFFFFFFF, 0x7FFFFFFF, int(rng.integers(0, 1 << 32))]:
            try_model(put32(original, off, v))


def test_random_byte_flips(original):
    rng = np.random.default_rng(42)
    head = min(len(original), 2048)       # tables, argument blocks and register words live here
    for _ in range(300):
        b = bytearray(original)
        for _ in range(int(rng.integers(1, 4))):
            b[int(rng.integers(0, head))] = int(rng.integers(0, 256))
        try_model(bytes(b))


def test_error_names_layer_field_offset(kmodels_dir):
    data = (kmodels_dir / "maixemc_cifar10_output_hwverified_v3.kmodel").read_bytes()
    m = load(data)
    conv = m.layers[3]
    # o_ch_num in register word 2 -> 1024 channels: the weights no longer fit the body
    bad = put32(data, conv.layer_offset + 2 * 8 + 4, 1023)
    with pytest.raises(KModelError) as e:
        load(bad)
    assert e.value.layer == 3 and e.value.field is not None and e.value.offset is not None
    assert "layer 3" in str(e.value) and "byte offset" in str(e.value)
