"""Hostile files: mutate every header, table and fixed body field of real files and run them
through the C runtime under ASan+UBSan (load must refuse or run cleanly, never crash), check the
exact-arena contract, and run libFuzzer for a bounded time."""
import os
import pathlib
import struct
import subprocess

import numpy as np
import pytest

from .conftest import V3_FILES

ROOT = pathlib.Path(__file__).resolve().parents[2]
MUTATIONS = (0, 1, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000)


def field_offsets(data):
    """Every u32 of the header and tables, and the fixed fields (first 24 words) of each body
    plus the 12 K210 register words."""
    n_layers, n_out = struct.unpack_from("<I", data, 12)[0], struct.unpack_from("<I", data, 24)[0]
    offs = list(range(0, 28 + 8 * n_out + 8 * n_layers, 4))
    pos = 28 + 8 * n_out + 8 * n_layers
    for i in range(n_layers):
        t, size = struct.unpack_from("<2I", data, 28 + 8 * n_out + 8 * i)
        offs += [pos + 4 * k for k in range(min(24, size // 4)) if pos + 4 * k + 4 <= len(data)]
        if t == 10240:
            lo = struct.unpack_from("<I", data, pos + 8)[0]
            offs += [lo + 4 * k for k in range(24) if lo + 4 * k + 4 <= len(data)]
        pos += size
    return offs


def mutation_spec(data, seed=0):
    """Lines for fuzz/mutate_main.c: every field offset gets 0, 1, -1, INT_MAX, INT_MIN, v+1, v-1
    and a random value; plus truncations."""
    rng = np.random.default_rng(seed)
    lines = []
    for off in field_offsets(data):
        v = struct.unpack_from("<I", data, off)[0]
        for m in MUTATIONS + (v + 1, v - 1, int(rng.integers(0, 1 << 32))):
            lines.append(f"M {off} {m & 0xFFFFFFFF}")
    for cut in (0, 7, 27, 28, len(data) // 2, len(data) - 8, len(data) - 1):
        lines.append(f"T {max(cut, 0)} 0")
    return lines


def run_mutations(fuzz_bin, data, tmp_path, invoke):
    model = tmp_path / "model.kmodel"
    model.write_bytes(data)
    spec = tmp_path / "spec.txt"
    lines = mutation_spec(data)
    spec.write_text("\n".join(lines) + "\n")
    args = [str(fuzz_bin / "mutate")] + ([] if invoke else ["--load-only"]) + [str(model), str(spec)]
    r = subprocess.run(args, capture_output=True, text=True, timeout=3000,
                       env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
    assert r.returncode == 0 and f"ok {len(lines)}" in r.stdout, r.stderr[-3000:]
    return len(lines)


def run_files(fuzz_bin, files, tmp_path):
    paths = []
    for k, data in enumerate(files):
        p = tmp_path / f"f{k}.bin"
        p.write_bytes(data)
        paths.append(str(p))
    r = subprocess.run([str(fuzz_bin / "replay"), *paths], capture_output=True, text=True, timeout=3000,
                       env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
    assert r.returncode == 0 and f"ok {len(paths)}" in r.stdout, r.stderr[-3000:]


def generic_model(name):
    """A third-party .tflite of tests/data, or a generic fixture of tests/runtime/data (generic_<name>);
    a name ending in _fc16 imported with int16 fully connected weights."""
    from emc.backends.generic import import_tflite
    fc_weights = "int16" if name.endswith("_fc16") else "int8"
    name = name.removesuffix("_fc16")
    path = ROOT / "tests" / "data" / f"{name}.tflite"
    if not path.exists():
        path = ROOT / "tests" / "runtime" / "data" / f"generic_{name}.tflite"
    return import_tflite(path.read_bytes(), fc_weights=fc_weights).to_bytes()


# every mutant is also run when the model is cheap to invoke under ASan; big ones are load-only
SMALL = {"nncase_v0.1_iris_v3", "maixemc_cifar10_output_hwverified_v3", "maixemc_cifar10_v3"}


@pytest.mark.slow
@pytest.mark.parametrize("name", V3_FILES + ["generic_ad01_int8", "generic_ad01_int8_fc16", "generic_kws_ref_model",
                                           "generic_two_inputs", "generic_lstm_int8_io"])
def test_mutations_of_every_field(name, fuzz_bin, kmodels_dir, tmp_path):
    if name.startswith("generic_"):
        data, invoke = generic_model(name[len("generic_"):]), name in ("generic_ad01_int8", "generic_ad01_int8_fc16",
                                                                             "generic_two_inputs",
                                                                             "generic_lstm_int8_io")
    else:
        data, invoke = (kmodels_dir / f"{name}.kmodel").read_bytes(), name in SMALL
    assert run_mutations(fuzz_bin, data, tmp_path, invoke) > 100


@pytest.mark.slow
def test_real_files_and_exact_arena_under_asan(fuzz_bin, kmodels_dir, tmp_path):
    """The replay target loads every real file with need-1 bytes (must be EMC_E_ARENA) and with
    exactly `need` malloc'd bytes (ASan would catch any byte past it), then runs it."""
    files = [p.read_bytes() for p in sorted(kmodels_dir.glob("*.kmodel")) if "cifar" in p.name or "iris" in p.name]
    files += [generic_model("ad01_int8"), generic_model("lstm_int8_io")]
    run_files(fuzz_bin, files, tmp_path)


@pytest.mark.slow
def test_libfuzzer_60s(fuzz_bin, kmodels_dir, tmp_path):
    fz = fuzz_bin / "fuzz_load_invoke"
    if not fz.exists():
        pytest.skip("clang with libFuzzer not available")
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_seeds", ROOT / "fuzz" / "make_seeds.py")
    seeds = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(seeds)
    corpus = seeds.main(tmp_path / "corpus")
    r = subprocess.run([str(fz), str(corpus), "-max_total_time=60", "-max_len=400000", "-rss_limit_mb=4096",
                        "-timeout=30"], capture_output=True, text=True, timeout=600,
                       env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Done" in r.stderr
    runs = int(r.stderr.rsplit("Done ", 1)[1].split()[0])
    assert runs > 1000, r.stderr[-2000:]


def _put32(data, off, v):
    b = bytearray(data)
    struct.pack_into("<I", b, off, v & 0xFFFFFFFF)
    return bytes(b)


@pytest.mark.slow
def test_new_loader_checks_under_asan(fuzz_bin, kmodels_dir, tmp_path):
    """The byte-order fix, trailing bytes, and the checks the differential test added (first layer
    must take the input, activation shift <= 63, flatten dimensions that could wrap the size
    product) under ASan+UBSan: refused or run cleanly, never a sanitizer report."""
    from emc.kmodel import load
    from emc.kmodel.container import swap_words
    iris = (kmodels_dir / "nncase_v0.1_iris_v3.kmodel").read_bytes()
    cifar = (kmodels_dir / "maixemc_cifar10_output_hwverified_v3.kmodel").read_bytes()
    m = load(cifar)
    flat = next(layer for layer in m.layers if layer.NAME == "QUANTIZED_TENSORFLOW_FLATTEN")
    conv = m.layers[0]
    files = [swap_words(iris), swap_words(iris)[:-1], swap_words(cifar), iris + bytes(8), cifar + bytes(8),
             _put32(iris, 28 + 8 * len(load(iris).outputs), 1),                 # first layer ADD
             _put32(cifar, conv.act_offset, 64),                                # activation shift 64
             _put32(cifar, flat.file_offset + 20, 0)]                           # flatten channels 0
    wrap = bytearray(cifar)
    for k in range(3):                                  # 2^22 cubed wraps a 64-bit product to 0
        struct.pack_into("<I", wrap, flat.file_offset + 12 + 4 * k, 1 << 22)
    files.append(bytes(wrap))
    run_files(fuzz_bin, files, tmp_path)
