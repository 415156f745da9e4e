"""Hostile files: mutate every header, table and fixed body field of real files and run them
through the C runtime under ASan+UBSan (load must refuse or run cleanly, never crash), check the
exact-arena contract, and run libFuzzer for a bounded time."""
import os
import pathlib
import shutil
import struct
import subprocess

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MUTATIONS = (0, 1, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000)


@pytest.fixture(scope="session")
def fuzz_bin(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("gcc not available")
    out = tmp_path_factory.mktemp("fuzzbin")
    subprocess.run(["bash", str(ROOT / "fuzz" / "build.sh"), str(out)], check=True, capture_output=True)
    return out


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


def mutants(data, seed=0):
    rng = np.random.default_rng(seed)
    for off in field_offsets(data):
        v = struct.unpack_from("<I", data, off)[0]
        for m in MUTATIONS + (v + 1, v - 1 & 0xFFFFFFFF, int(rng.integers(0, 1 << 32))):
            b = bytearray(data)
            struct.pack_into("<I", b, off, m & 0xFFFFFFFF)
            yield bytes(b)
    for cut in (0, 7, 27, len(data) // 2, len(data) - 8):
        yield data[:cut]


def run_mutants(fuzz_bin, files, tmp_path):
    paths = []
    for k, data in enumerate(files):
        p = tmp_path / f"m{k}.bin"
        p.write_bytes(data)
        paths.append(str(p))
    r = subprocess.run([str(fuzz_bin / "replay"), *paths], capture_output=True, text=True, timeout=3000,
                       env=dict(os.environ, ASAN_OPTIONS="detect_leaks=0"))
    assert r.returncode == 0 and f"ok {len(paths)}" in r.stdout, r.stderr[-3000:]
    return len(paths)


def generic_ad01():
    from emc.backends.generic import import_tflite
    return import_tflite((ROOT.parent / "shared" / "models" / "ad01_int8.tflite").read_bytes()).to_bytes()


@pytest.mark.slow
def test_mutations_small_files(fuzz_bin, kmodels_dir, tmp_path):
    files = [(kmodels_dir / "nncase_v0.1_iris_v3.kmodel").read_bytes(), generic_ad01()]
    n = sum(run_mutants(fuzz_bin, list(mutants(d)), tmp_path / str(i)) for i, d in enumerate(files) if
            (tmp_path / str(i)).mkdir() is None)
    assert n > 500


@pytest.mark.slow
def test_mutations_kpu_files(fuzz_bin, kmodels_dir, tmp_path):
    data = (kmodels_dir / "maixemc_cifar10_output_hwverified_v3.kmodel").read_bytes()
    assert run_mutants(fuzz_bin, list(mutants(data)), tmp_path) > 500


@pytest.mark.slow
def test_real_files_and_exact_arena_under_asan(fuzz_bin, kmodels_dir, tmp_path):
    """The replay target loads every real file with need-1 bytes (must be EMC_E_ARENA) and with
    exactly `need` malloc'd bytes (ASan would catch any byte past it), then runs it."""
    files = [p.read_bytes() for p in sorted(kmodels_dir.glob("*.kmodel")) if "cifar" in p.name or "iris" in p.name]
    files.append(generic_ad01())
    run_mutants(fuzz_bin, files, tmp_path)


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
