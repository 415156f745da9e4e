"""The K210 hardware-KPU port (runtime_c/ports/k210/emc_port_k210.c) against a recording stand-in
of the KPU register block and DMA (tests/runtime/k210_standin.c, a host executable built here).

The stand-in checks the register protocol itself (see the comment at the top of k210_standin.c)
and completes each pushed layer with the project's software KPU, using only what the port wrote
(patched addresses, eight_bit_mode register, AI RAM); this file checks, independently from the
recorded log, that every pushed word equals the file's word outside the patched fields and that the
patched addresses are model + offset - IOMEM, and that outputs and every layer's result equal the
Python reference (emc.reference) byte for byte. Both data movers are covered: the DMA callback
(whole 64-bit words, (dma_total_byte + 8) / 8 of them) and the CPU draining fifo_data_out.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import struct
import subprocess

import numpy as np
import pytest

from emc.hil.compare import kpu_ram_view
from emc.kmodel import kpu as kpu_model
from emc.kmodel import load
from emc.kmodel.arena import arena_bytes
from emc.reference import run

from .conftest import V3_FILES, model_input

ROOT = pathlib.Path(__file__).resolve().parents[2]
RT = ROOT / "runtime_c"
SRC = pathlib.Path(__file__).with_name("k210_standin.c")
BUILD = pathlib.Path(os.environ.get("EMC_STANDIN_BUILD", ROOT / "build" / "k210_standin"))
HEAVY = {"maixemc_mbnetv1_v3", "nncase_v0.1_yolo20_v3", "standalone_demo_face_detect_v3"}
PARAMS = [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n for n in V3_FILES]
IOMEM = 0x40000000
LO32 = 0xFFFFFFFF


def _sources():
    return (sorted(RT.glob("src/*.c")) + sorted(RT.glob("kernels/*/*.c"))
            + [RT / "ports/k210/emc_port_k210.c", SRC])


def build_standin(sanitize=False) -> pathlib.Path:
    """cc the stand-in + runtime + port into build/k210_standin (rebuilt when a source is newer);
    sanitize: AddressSanitizer + UndefinedBehaviorSanitizer build (k210_standin_asan)."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler")
    if os.name != "posix":
        pytest.skip("the stand-in uses mmap/mprotect")
    BUILD.mkdir(parents=True, exist_ok=True)
    exe = BUILD / ("k210_standin_asan" if sanitize else "k210_standin")
    deps = _sources() + sorted(RT.glob("**/*.h")) + sorted(RT.glob("**/*.def"))
    with open(BUILD / ".build.lock", "w") as lock:
        import fcntl
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not exe.exists() or exe.stat().st_mtime < max(p.stat().st_mtime for p in deps):
            tmp = BUILD / f"{exe.name}.{os.getpid()}"
            flags = ["-std=c99", "-O2", "-g", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off",
                     *(["-fsanitize=address,undefined", "-fno-sanitize-recover=all"] if sanitize else []),
                     f"-I{RT / 'include'}", f"-I{RT / 'src'}", f"-I{RT / 'ports' / 'k210'}",
                     f"-I{RT / 'kernels' / 'v3'}"]
            subprocess.run([cc, *flags, "-o", str(tmp), *map(str, _sources()), "-lm"], check=True)
            tmp.replace(exe)
    return exe


@pytest.fixture(scope="module")
def standin():
    return build_standin()


def run_standin(exe, model_path, x, tmp_path, *args):
    inp = tmp_path / "input.bin"
    np.ascontiguousarray(x).tofile(inp)
    prefix = tmp_path / "run"
    log, dump = tmp_path / "regs.log", tmp_path / "dump.bin"
    r = subprocess.run([str(exe), str(model_path), str(inp), str(prefix), "--log", str(log), "--dump", str(dump),
                        *args], capture_output=True, text=True, timeout=900)
    stats = dict(kv.split("=") for kv in r.stdout.split()) if r.returncode in (0, 1) else {}
    return r, stats, prefix, log, dump


def read_dump(path):
    data, out, off = path.read_bytes(), {}, 0
    while off < len(data):
        index, ltype, dtype, size = struct.unpack_from("<4I", data, off)
        off += 16
        out[index] = (ltype, dtype, data[off:off + size])
        off += size
    return out


def parse_log(path):
    """-> (model line dict, one dict per pushed layer: 'pre' register traffic before its first word,
    'words', 'dma' (main offset, words), 'post' traffic after the push up to the closing
    interrupt_clear)."""
    lines = path.read_text().splitlines()
    head = lines[0].split()
    info = {"model": int(head[1], 16), "kpu": int(head[3], 16), "iomem": int(head[5], 16)}
    layers, cur, prev = [], {"pre": [], "words": [], "dma": None, "post": []}, None
    for ln in lines[1:]:
        t = ln.split()
        ev = ("rd", int(t[1], 16)) if t[0] == "rd" else (int(t[1], 16), int(t[2], 16)) if t[0] == "wr" else None
        if prev is not None and ev is not None and ev[0] != 0:
            prev["post"].append(ev)            # the finished layer's wait and interrupt_clear
            if ev == (0x20, 7):
                prev = None
            continue
        if t[0] == "wr":
            (cur["words"] if ev[0] == 0 else cur["pre"]).append(ev[1] if ev[0] == 0 else ev)
        elif t[0] == "rd":
            cur["pre"].append(ev)
        elif t[0] == "dma":
            cur["dma"] = (int(t[1]), int(t[2]))
        elif t[0] == "layer":
            cur["ordinal"], cur["index"] = int(t[1]), int(t[2])
            layers.append(cur)
            prev, cur = cur, {"pre": [], "words": [], "dma": None, "post": []}
    return info, layers


_REF = {}


def reference(name, path):
    if name not in _REF:
        m = load(path.read_bytes())
        x = model_input(path)
        dump = {}
        outs = run(m, x, dump=dump)
        _REF[name] = (m, x, outs, [np.asarray(v).reshape(-1) for _, v in sorted(dump.items())])
    return _REF[name]


def check_words(m, info, layers, runs, mover):
    convs = [lay for lay in m.layers if lay.TYPE == 10240]
    assert len(layers) == runs * len(convs)
    assert info["kpu"] == IOMEM, "model must sit at the chip's SRAM base (or be emulated there)"
    for k, ev in enumerate(layers):
        lay = convs[k % len(convs)]
        assert ev["index"] == lay.index
        w = ev["words"]
        assert len(w) == 12
        main = bool(lay.flags & 1)
        base = info["kpu"]
        want = list(lay.regs)
        want[0] = (want[0] & ~1) | (0 if main else 1)                 # int_en
        want[11] = (want[11] & ~1) | (1 if main else 0)               # send_data_out
        want[4] = (want[4] & LO32) | ((base + lay.bn_offset) << 32)       # bwsx_base_addr
        want[5] = (want[5] & LO32) | ((base + lay.weights_offset) << 32)  # para_start_addr
        want[7] = (want[7] & LO32) | ((base + lay.act_offset) << 32)      # active_addr
        assert w == want, f"layer {lay.index}: pushed {[hex(v) for v in w]} want {[hex(v) for v in want]}"
        # the KPU RAM maps of the layer inside 2 MiB
        for rng in lay.reads() + lay.writes():
            if rng.mem == "kpu":
                assert 0 <= rng.start and rng.end <= 2 << 20
        # set-up before the push: clear, threshold, eight-bit mode, mask (kpu_run_kmodel + kpu_conv)
        pre = dict(p for p in ev["pre"] if p[0] != "rd")
        assert pre[0x20] == 7 and pre[0x28] == 10 | 1 << 4 and pre[0x40] == (m.flags & 1)
        assert pre[0x18] == (7 if main else 6)
        if main and mover == "dma":
            n = lay.oc * lay.out_h * lay.out_w
            assert ev["dma"] == (lay.main_mem_out_address, (n - 1 + 8) // 8)
        else:
            assert ev["dma"] is None
        if not main:     # completion by polling interrupt_raw, then clear
            assert ("rd", 0x10) in ev["post"]
        assert (0x20, 7) in ev["post"]


def dense_conv_dump(lay, raw):
    """The hook's view of a conv without main output is the KPU RAM bytes of its map: gather."""
    g, rl, cs = lay._out_layout()
    kpu = np.zeros(2 << 20, np.uint8)
    base = lay.reg("image_dst_addr") * kpu_model.ROW
    kpu[base:base + len(raw)] = np.frombuffer(raw, np.uint8)
    return kpu_model.kpu_read(kpu, lay.reg("image_dst_addr"), lay.oc, lay.out_h, lay.out_w, g, rl, cs).reshape(-1)


@pytest.mark.parametrize("mover", ["dma", "cpu"])
@pytest.mark.parametrize("name", PARAMS)
def test_port_matches_reference(name, mover, kmodels_dir, standin, tmp_path):
    path = kmodels_dir / f"{name}.kmodel"
    m, x, ref_outs, ref_dump = reference(name, path)
    r, stats, prefix, log, dump = run_standin(standin, path, x, tmp_path, "--mover", mover, "--runs", "2")
    assert r.returncode == 0, r.stdout + r.stderr
    assert stats["failures"] == "0"
    # arena: no KPU window, no software-KPU scratch (the Python twin agrees)
    assert int(stats["arena"]) == arena_bytes(m, hardware_kpu=True)
    convs = [lay for lay in m.layers if lay.TYPE == 10240]
    assert int(stats["port_layers"]) == 2 * len(convs) == int(stats["pushes"]) // 12
    # outputs byte for byte
    for i, want in enumerate(ref_outs):
        got = (prefix.parent / f"{prefix.name}.out{i}.bin").read_bytes()
        assert got == np.asarray(want).tobytes(), f"output {i}"
    # every layer
    dumps = read_dump(dump)
    assert sorted(dumps) == list(range(len(m.layers)))
    for lay, want in zip(m.layers, ref_dump):
        ltype, dtype, raw = dumps[lay.index]
        assert ltype == lay.TYPE
        got = dense_conv_dump(lay, raw) if lay.TYPE == 10240 and not lay.flags & 1 else raw
        got = np.frombuffer(bytes(got), np.uint8)
        assert got.tobytes() == want.view(np.uint8).tobytes(), f"layer {lay.index} {lay.NAME}"
        # what the HIL comparison (emc.hil.compare) does with a hw_kpu device: raw bytes for every
        # layer except the KPU-RAM views, which it skips
        if kpu_ram_view(ltype, len(raw), want.nbytes, True):
            assert lay.TYPE == 10240 and not lay.flags & 1
        else:
            assert raw == want.view(np.uint8).tobytes(), f"layer {lay.index}: HIL view"
    # the recorded register traffic, checked independently of the stand-in
    info, layers = parse_log(log)
    check_words(m, info, layers, 2, mover)


@pytest.mark.parametrize("name", PARAMS)
def test_port_garbage_ai_ram_and_dma_tail(name, kmodels_dir, standin, tmp_path):
    """AI RAM full of 0xA5 at start (the chip's AI RAM is not cleared) and the DMA's up-to-7 extra
    bytes filled with 0x5A: the outputs still equal the reference."""
    path = kmodels_dir / f"{name}.kmodel"
    m, x, ref_outs, _ = reference(name, path)
    r, stats, prefix, _, _ = run_standin(standin, path, x, tmp_path, "--ai-fill", "0xA5", "--pad-fill", "0x5A")
    assert r.returncode == 0, r.stdout + r.stderr
    for i, want in enumerate(ref_outs):
        assert (prefix.parent / f"{prefix.name}.out{i}.bin").read_bytes() == np.asarray(want).tobytes()


@pytest.mark.parametrize("fault,expect", [
    ("para", "para_start_addr"),
    ("act", "active_addr"),
    ("word", "differs from the file"),
    ("int_en", "int_en"),
    ("eight", "eight_bit_mode"),
    ("mask", "interrupt_mask"),
    ("threshold", "fifo_threshold"),
    ("dma_len", "DMA length"),
    ("dma_dst", "DMA destination"),
    ("kpu_row", "past the 2 MiB"),
])
def test_standin_detects_port_faults(fault, expect, kmodels_dir, standin, tmp_path):
    """The stand-in is not a rubber stamp: each fault injected between the port and the stand-in
    (a wrong address, a changed bit, a missing register write, a wrong DMA) is reported."""
    path = kmodels_dir / "maixemc_cifar10_v3.kmodel"
    r, _, _, _, _ = run_standin(standin, path, model_input(path), tmp_path, "--fault", fault)
    assert r.returncode != 0
    assert "CHECK FAIL" in r.stderr and expect in r.stderr, r.stderr


def test_port_without_conv_layers(kmodels_dir, standin, tmp_path):
    """nncase iris (FULLY_CONNECTED only): the port is never called, outputs as the reference."""
    path = kmodels_dir / "nncase_v0.1_iris_v3.kmodel"
    m, x, ref_outs, _ = reference("nncase_v0.1_iris_v3", path)
    r, stats, prefix, _, _ = run_standin(standin, path, x, tmp_path)
    assert r.returncode == 0, r.stderr
    assert stats["pushes"] == "0" and stats["reg_writes"] == "0"
    assert (prefix.parent / f"{prefix.name}.out0.bin").read_bytes() == np.asarray(ref_outs[0]).tobytes()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["maixemc_cifar10_v3", "nncase_v0.1_yolo20_v3"])
def test_port_under_sanitizers(name, kmodels_dir, tmp_path):
    """ASan + UBSan build of stand-in, port and runtime: no memory error, no UB, no leak, outputs as
    the reference with both movers. (ASan's shadow memory occupies 0x80000000, so the model is mapped
    elsewhere and iomem emulates the chip's addresses: that path is covered here.)"""
    exe = build_standin(sanitize=True)
    path = kmodels_dir / f"{name}.kmodel"
    m, x, ref_outs, _ = reference(name, path)
    for mover in ("dma", "cpu"):
        r, stats, prefix, _, _ = run_standin(exe, path, x, tmp_path, "--mover", mover, "--ai-fill", "0xA5")
        assert r.returncode == 0, r.stdout + r.stderr[-3000:]
        for i, want in enumerate(ref_outs):
            assert (prefix.parent / f"{prefix.name}.out{i}.bin").read_bytes() == np.asarray(want).tobytes()
