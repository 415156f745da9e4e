"""The Python loader (emc.kmodel) and the C loader (runtime_c, through emc.native) give the same
verdict on every file: mutants of the real kmodels (every header, table and fixed body field and
each K210 register word set to extreme, neighbouring and random values; truncations; random byte
flips; trailing padding; the byte-swapped form of a file and of its mutants). Accepted by both:
the same arena size too. A disagreement names the file, the mutation and both verdicts."""
import struct

import numpy as np
import pytest

from emc.kmodel import KModelError, load
from emc.kmodel.arena import arena_bytes
from emc.kmodel.container import swap_words

EXTREMES = (0, 1, 2, 0x7F, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
SMALL = ["nncase_v0.1_iris_v3.kmodel", "maixemc_cifar10_output_hwverified_v3.kmodel"]
BIG = ["nncase_v0.1_yolo20_v3.kmodel", "standalone_demo_face_detect_v3.kmodel", "maixemc_mbnetv1_v3.kmodel"]


@pytest.fixture(scope="module")
def native():
    from emc import native
    native.lib()          # builds the host C runtime on first use
    return native


def field_offsets(data):
    """Every u32 of the header and tables, the first 24 words of each body, the 24 register words
    of each K210_CONV (found through the parsed model, so only for files that parse)."""
    m = load(data)
    n_out, n_layers = len(m.outputs), len(m.layers)
    offs = list(range(0, 28 + 8 * n_out + 8 * n_layers, 4))
    for layer in m.layers:
        offs += [layer.file_offset + 4 * k for k in range(24) if layer.file_offset + 4 * k + 4 <= len(data)]
        if layer.NAME == "K210_CONV":
            offs += [layer.layer_offset + 4 * k for k in range(24)]
    return sorted(set(offs))


def _put(data, off, value):
    b = bytearray(data)
    struct.pack_into("<I", b, off, value)
    return bytes(b)


def _flip(data, positions, values):
    b = bytearray(data)
    for p, v in zip(positions, values):
        b[p] = v
    return bytes(b)


def mutants(data, seed=0, limit=None):
    """(description, bytes) pairs, made one at a time (a big model's ~10^4 mutants would not fit
    in memory together); `limit`: a seeded sample."""
    rng = np.random.default_rng(seed)
    recipes = []                     # (description, function making the bytes)
    for off in field_offsets(data):
        v = struct.unpack_from("<I", data, off)[0]
        for new in EXTREMES + ((v + 1) & 0xFFFFFFFF, (v - 1) & 0xFFFFFFFF, int(rng.integers(0, 1 << 32))):
            recipes.append((f"u32 at {off}: {v} -> {new}", lambda off=off, new=new: _put(data, off, new)))
    n = len(data)
    for cut in sorted({0, 3, 4, 7, 8, 27, 28, 29, n // 2, n - 9, n - 8, n - 7, n - 4, n - 1}):
        recipes.append((f"truncated to {cut}", lambda cut=cut: data[:cut]))
    for pad in (1, 4, 8, 64):
        recipes.append((f"{pad} zero bytes appended", lambda pad=pad: data + bytes(pad)))
    tail = rng.integers(0, 256, 16, dtype=np.uint8).tobytes()
    recipes.append(("random bytes appended", lambda: data + tail))
    head = min(n, 2048)
    for k in range(200):
        count = int(rng.integers(1, 4))
        pos, vals = rng.integers(0, head, count).tolist(), rng.integers(0, 256, count).tolist()
        recipes.append((f"byte flips #{k}", lambda pos=pos, vals=vals: _flip(data, pos, vals)))
    whole = data + bytes(-n % 4)
    recipes.append(("byte-swapped", lambda: swap_words(whole)))
    recipes.append(("byte-swapped, one byte short", lambda: swap_words(whole)[:-1]))
    for desc, make in list(recipes[:: max(1, len(recipes) // 60)]):
        recipes.append((f"byte-swapped, {desc}", lambda make=make: _swapped_if_whole(make())))
    if limit is not None and len(recipes) > limit:
        keep = rng.choice(len(recipes), limit, replace=False)
        recipes = [recipes[i] for i in sorted(keep)]
    for desc, make in recipes:
        yield desc, make()


def _swapped_if_whole(m):
    return swap_words(m) if len(m) % 4 == 0 and m[:4] != b"\0\0\0\3" else m


def py_verdict(native, data):
    """What the C loader must say, from the Python loader: refused, loaded with the same arena, or
    refused as layer_type when the file is valid but uses a layer type the C runtime does not run
    (GLOBAL_MAX_POOL2D, QUANTIZED_FULLY_CONNECTED, ...: the reference executes some of them)."""
    try:
        m = load(data)
    except KModelError:
        return "refused", None
    if not all(native.layer_type_supported(layer.TYPE) for layer in m.layers):
        return "refused", "layer_type"
    return "loaded", arena_bytes(m)


def c_verdict(native, data):
    try:
        return "loaded", native.arena_required(data)
    except native.NativeError as e:
        return "refused", e.status


def disagreements(native, name, data, limit=None):
    bad, n = [], 0
    for desc, m in mutants(data, limit=limit):
        n += 1
        pv, parena = py_verdict(native, m)
        cv, carena = c_verdict(native, m)
        if pv != cv or (parena is not None and parena != carena):
            bad.append(f"{name}, {desc}: Python {pv} ({parena}), C {cv} ({carena})")
    return bad, n


@pytest.mark.parametrize("name", SMALL)
def test_python_and_c_loaders_agree(name, kmodels_dir, native):
    data = (kmodels_dir / name).read_bytes()
    bad, n = disagreements(native, name, data, limit=600)
    assert n >= 300
    assert not bad, f"{len(bad)} of {n} mutants get different verdicts:\n" + "\n".join(bad[:20])


@pytest.mark.slow
@pytest.mark.parametrize("name", SMALL + BIG)
def test_python_and_c_loaders_agree_on_every_mutant(name, kmodels_dir, native):
    """Every mutant of the small files; a seeded sample of 2500 of the big ones' (~10^4 each)."""
    data = (kmodels_dir / name).read_bytes()
    bad, n = disagreements(native, name, data, limit=None if name in SMALL else 2500)
    assert not bad, f"{len(bad)} of {n} mutants get different verdicts:\n" + "\n".join(bad[:20])


@pytest.mark.parametrize("name", SMALL + BIG)
def test_byte_swapped_file_loads_in_both(name, kmodels_dir, native):
    """A K210 flash image's byte order: both loaders swap it back; same layers, same arena, and
    saving writes the original little-endian file."""
    data = (kmodels_dir / name).read_bytes()
    swapped = swap_words(data + bytes(-len(data) % 4))
    m = load(swapped)
    assert m.byte_swapped and "byte-swapped" in m.notes[0]
    assert m.to_bytes() == data + bytes(-len(data) % 4)
    assert native.arena_required(swapped) == native.arena_required(data) == arena_bytes(m)
    with pytest.raises(KModelError, match="byte-swapped kmodel v3.*not a whole number of words") as e:
        load(swapped[:-1])
    assert e.value.offset == 0 and "50331648" not in str(e.value)
    with pytest.raises(native.NativeError) as e:
        native.arena_required(swapped[:-1])
    assert e.value.status == "byte_swapped"


@pytest.mark.parametrize("name", SMALL + BIG)
def test_trailing_padding_round_trips(name, kmodels_dir):
    data = (kmodels_dir / name).read_bytes()
    for tail in (bytes(4), bytes(8), bytes(12), b"\1\2\3"):
        assert load(data + tail).to_bytes() == data + tail, (name, tail)


def test_byte_swapped_runs_like_the_original(kmodels_dir, native):
    """The swapped iris file gives the same outputs as the original, in Python and in C."""
    from emc.reference import run
    data = (kmodels_dir / SMALL[0]).read_bytes()
    swapped = swap_words(data)
    x = np.array([5.9, 3.0, 5.1, 1.8], np.float32)
    want = run(load(data), x)
    for got in (run(load(swapped), x), native.NativeModel(swapped).run(x)):
        assert all(np.array_equal(a, b) for a, b in zip(got, want))
