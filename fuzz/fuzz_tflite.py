"""Fuzz the .tflite reader through both targets (emc.frontends.tflite.load_tflite and the generic
builder, emc.backends.generic.import_tflite) with mutants of real models: every mutant must load or
fail with a named error, never another exception.

    python fuzz/fuzz_tflite.py [--mutants N] [--seed S] [--crashes DIR] MODEL.tflite ...

Mutations (seeded, reproducible): bit flips, random bytes, interesting 32-bit values written over
offsets/lengths/indices (0, 1, 0x7fffffff, 0xffffffff, the file length...), truncation, an inserted or
deleted chunk, a chunk copied elsewhere. Prints the number of mutants, how many loaded, the named errors
by class, and every unexpected exception (saved under --crashes with its traceback); exit 1 if any.
"""
from __future__ import annotations

import argparse
import collections
import os
import random
import struct
import sys
import time
import traceback

_INTERESTING = [0, 1, 2, 4, 8, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
                0xFFFFFFFE, 0xFFFFFFF0]


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One mutant of `data`: 1 to 4 stacked mutations."""
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        n = len(b)
        kind = rng.randrange(8)
        if n < 8:
            kind = 5
        if kind == 0:                                           # flip a bit
            i = rng.randrange(n)
            b[i] ^= 1 << rng.randrange(8)
        elif kind == 1:                                         # a random byte
            b[rng.randrange(n)] = rng.randrange(256)
        elif kind in (2, 3):                                    # an interesting u32/u16 over a header-ish word
            i = rng.randrange(0, n - 4) & ~3 if kind == 2 or n < 1024 else rng.randrange(0, min(n - 4, 1024)) & ~3
            v = rng.choice(_INTERESTING + [n, n - i, n + 4, rng.randrange(1 << 32)])
            if rng.random() < 0.3:
                struct.pack_into("<H", b, i, v & 0xFFFF)
            else:
                struct.pack_into("<I", b, i, v & 0xFFFFFFFF)
        elif kind == 4:                                         # truncate
            del b[rng.randrange(n):]
        elif kind == 5:                                         # insert a chunk of random bytes
            i = rng.randrange(n + 1)
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        elif kind == 6:                                         # delete a chunk
            i = rng.randrange(n)
            del b[i:i + rng.randint(1, 64)]
        else:                                                   # copy a chunk elsewhere
            i, j = rng.randrange(n), rng.randrange(n)
            k = rng.randint(1, 64)
            chunk = b[i:i + k]
            b[j:j + len(chunk)] = chunk
        if not b:
            break
    return bytes(b)


def named_errors():
    """The exception classes that count as a named, user-facing error."""
    from emc.backends.generic import BuildError
    from emc.errors import EmcError
    from emc.ir import IRError, UnsupportedLayersError
    from emc.kmodel import KModelError
    return (EmcError, UnsupportedLayersError, IRError, KModelError, BuildError)


# an UnsupportedLayersError whose reason is one of these is a reader crash the frontend caught
_CRASH_NAMES = ("error:", "IndexError", "KeyError", "AttributeError", "TypeError", "struct", "ZeroDivision",
                "OverflowError", "RecursionError", "MemoryError")


def check(data: bytes, named=None):
    """Run both targets' loads on `data`. Returns a list of (reader, outcome) where outcome is 'ok', the named
    error's class name, or an 'UNEXPECTED ...' string with the traceback."""
    from emc.backends.generic import import_tflite
    from emc.frontends.tflite import load_tflite
    from emc.ir import UnsupportedLayersError
    named = named or named_errors()
    res = []
    for reader, fn in (("frontend", load_tflite), ("generic", import_tflite)):
        try:
            fn(data)
            res.append((reader, "ok"))
        except named as e:
            if isinstance(e, UnsupportedLayersError):
                hidden = [r for _, _, r in e.items if r and r.startswith(_CRASH_NAMES)]
                if hidden:
                    res.append((reader, f"UNEXPECTED caught crash: {hidden[0]}"))
                    continue
            res.append((reader, type(e).__name__))
        except Exception as e:  # noqa: BLE001 -- what the fuzzer is looking for
            res.append((reader, f"UNEXPECTED {type(e).__name__}: {e}\n{traceback.format_exc()}"))
    return res


def run(seeds, mutants, seed=0, crashes=None, log=None):
    """Fuzz: `mutants` mutants spread over the seed files. Returns (counts, unexpected list)."""
    rng = random.Random(seed)
    named = named_errors()
    blobs = [(os.path.basename(p), open(p, "rb").read()) for p in seeds]
    counts = collections.Counter()
    unexpected = []
    t0 = time.time()
    for k in range(mutants):
        if log and k and k % 250 == 0:
            log(f"  ... {k} mutants, {len(unexpected)} unexpected, {time.time() - t0:.0f} s")
        name, data = blobs[k % len(blobs)]
        m = mutate(data, rng)
        for reader, outcome in check(m, named):
            if outcome.startswith("UNEXPECTED"):
                unexpected.append((name, k, reader, outcome))
                counts[f"{reader}: UNEXPECTED"] += 1
                if crashes:
                    os.makedirs(crashes, exist_ok=True)
                    with open(os.path.join(crashes, f"{name}.{k}.tflite"), "wb") as f:
                        f.write(m)
                    with open(os.path.join(crashes, f"{name}.{k}.txt"), "w") as f:
                        f.write(f"{reader}: {outcome}\n")
            else:
                counts[f"{reader}: {outcome}"] += 1
    return counts, unexpected


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--mutants", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--crashes", default=None)
    a = ap.parse_args(argv)
    t = time.time()
    counts, unexpected = run(a.models, a.mutants, a.seed, a.crashes, log=lambda m: print(m, flush=True))
    dt = time.time() - t
    for k, v in sorted(counts.items()):
        print(f"  {k:40s} {v}")
    for name, k, reader, outcome in unexpected[:20]:
        print(f"mutant {k} of {name} ({reader}): {outcome}")
    print(f"{a.mutants} mutants of {len(a.models)} models, seed {a.seed}: {len(unexpected)} unexpected exceptions, "
          f"{dt:.1f} s")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    sys.exit(main())
