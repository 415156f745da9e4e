"""Main-buffer planner: offsets for tensors with [first, last] lifetimes (op indices), reusing
bytes of tensors that are dead. Greedy by size (largest first, lowest free offset), 8-aligned."""
from __future__ import annotations

ALIGN = 8


def plan(tensors):
    """tensors: {name: (size, first, last)} -> ({name: offset}, total bytes)."""
    placed = []          # (offset, end, first, last)
    offsets = {}
    for name, (size, first, last) in sorted(tensors.items(), key=lambda kv: (-kv[1][0], kv[1][1], str(kv[0]))):
        busy = sorted((o, e) for o, e, f, l in placed if not (l < first or last < f))
        off = 0
        for o, e in busy:
            if off + size <= o:
                break
            off = max(off, (e + ALIGN - 1) // ALIGN * ALIGN)
        offsets[name] = off
        placed.append((off, off + size, first, last))
    total = max((e for _, e, _, _ in placed), default=0)
    return offsets, (total + ALIGN - 1) // ALIGN * ALIGN
