"""Where do a model's guest instructions go? Runs one kmodel on a QEMU firmware with the
per-instruction profile plugin (insnprofile.c), counting only between prof_begin and prof_end (the
invokes), and prints instructions per function; --lines: per source line (addr2line); --annotate
FUNC: FUNC's disassembly with a count per instruction.

    python tools/qemu_insn/profile.py MODEL.kmodel [--target qemu-m4] [--kernels dsp] [-n 3]
                                      [--lines 30] [--annotate mm2_pairs]

The plugin is built by tools/qemu_insn/build.sh (with the instruction-count one)."""
from __future__ import annotations

import argparse
import bisect
import collections
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from emc.hil import firmware  # noqa: E402
from emc.hil.qemu import Qemu  # noqa: E402
from emc.kmodel import load  # noqa: E402
from emc.reference.memory import DTYPES  # noqa: E402


def functions(elf):
    """Sorted (address, name) of the ELF's function symbols (Thumb bit cleared)."""
    out = subprocess.run(["arm-none-eabi-nm", "-n", "--defined-only", str(elf)], capture_output=True, text=True,
                         check=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tTwW":
            syms.append((int(parts[0], 16) & ~1, parts[2]))
    return sorted(syms)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("--target", default="qemu-m4")
    ap.add_argument("--kernels", default="dsp")
    ap.add_argument("-n", type=int, default=3, help="invokes")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--lines", type=int, default=0, help="also the N busiest source lines")
    ap.add_argument("--annotate", metavar="FUNC", help="disassembly of FUNC with per-instruction counts")
    a = ap.parse_args(argv)
    plugin = ROOT / "build" / "qemu_insn" / "libinsnprofile.so"
    model = pathlib.Path(a.model).read_bytes()
    dtype, shape = load(model).input_spec()
    rng = np.random.default_rng(0)
    info = np.iinfo(DTYPES[dtype]) if np.issubdtype(DTYPES[dtype], np.integer) else None
    x = (rng.integers(info.min, info.max + 1, shape) if info else rng.random(shape)).astype(DTYPES[dtype])
    elf = firmware.build(a.target, kernels=a.kernels)
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "prof.txt"
        syms = firmware.elf_symbols(elf)
        region = f"begin=0x{syms['prof_begin'] & ~1:x},end=0x{syms['prof_end'] & ~1:x}"
        q = Qemu(a.target, elf, extra=["-plugin", f"{plugin},{region},out={out}", "-d", "plugin"])
        q.start()
        try:
            dev = q.client()
            dev.load(model)
            for _ in range(a.n):
                dev.run(x.tobytes())
        finally:
            q.stop()
            counts = [(int(p, 16), int(c)) for p, c in (ln.split() for ln in out.read_text().splitlines())]
        q.close()
    syms = functions(elf)
    addrs = [s[0] for s in syms]
    per = collections.Counter()
    for pc, c in counts:
        i = bisect.bisect_right(addrs, pc) - 1
        per[syms[i][1] if i >= 0 else "?"] += c
    total = sum(per.values())
    print(f"{total / a.n:,.0f} instructions per invoke (mean of {a.n})")
    for name, c in per.most_common(a.top):
        print(f"  {c / a.n:>14,.0f}  {100 * c / total:5.1f}%  {name}")
    # instructions outside the layer kernels (runtime dispatch, per-layer hook, HIL firmware):
    # every PC whose source file is not under runtime_c/kernels or runtime_c/ports
    pcs = [pc for pc, _ in counts]
    where = subprocess.run(["arm-none-eabi-addr2line", "-e", str(elf)], input="\n".join(hex(p) for p in pcs),
                           capture_output=True, text=True, check=True).stdout.splitlines()
    kern = ("runtime_c/kernels/", "runtime_c/ports/")
    outside = sum(c for (_, c), w in zip(counts, where) if not any(k in w for k in kern))
    n_layers = len(load(model).layers)
    print(f"outside the kernels: {outside / a.n:,.0f} instructions per invoke, {outside / a.n / n_layers:,.0f} per "
          f"layer ({n_layers} layers)")
    if a.lines:
        busiest = sorted(counts, key=lambda pc_c: -pc_c[1])
        lines = collections.Counter()
        res = subprocess.run(["arm-none-eabi-addr2line", "-e", str(elf)], input="\n".join(hex(p) for p, _ in busiest),
                             capture_output=True, text=True, check=True).stdout.splitlines()
        for (pc, c), where in zip(busiest, res):
            lines[where.split(" ")[0]] += c
        print("busiest source lines:")
        for where, c in lines.most_common(a.lines):
            print(f"  {c / a.n:>14,.0f}  {where}")
    if a.annotate:
        by_pc = dict(counts)
        # static functions share names (every kernel's `run`): annotate the busiest one of that name
        starts = [i for i, (_, name) in enumerate(syms) if name == a.annotate]
        if not starts:
            raise SystemExit(f"{a.annotate}: no such function in {elf}")
        busy = {i: sum(c for pc, c in counts if syms[i][0] <= pc < (syms[i + 1][0] if i + 1 < len(syms) else 1 << 62))
                for i in starts}
        i = max(starts, key=busy.get)
        rng = [f"--start-address=0x{syms[i][0]:x}"] + ([f"--stop-address=0x{syms[i + 1][0]:x}"] if i + 1 < len(syms) else [])
        dis = subprocess.run(["arm-none-eabi-objdump", "-d", "--no-show-raw-insn", *rng, str(elf)],
                             capture_output=True, text=True, check=True).stdout
        for line in dis.splitlines():
            head = line.strip().split(":", 1)[0]
            try:
                pc = int(head, 16)
            except ValueError:
                continue
            print(f"{by_pc.get(pc, 0) / a.n:>12,.0f} {line}")


if __name__ == "__main__":
    sys.exit(main())
