"""Liveness-based placement of buffers in the main buffer (bytes) and KPU RAM (64-byte rows)."""
from __future__ import annotations

from dataclasses import dataclass, field

KPU_ROWS = 32768


class K210MemoryError(ValueError):
    """The model's live feature maps do not fit the 2 MiB KPU RAM at some point."""


@dataclass(eq=False)
class Buf:
    mem: str                 # 'main' or 'kpu'
    size: int                # bytes (main) or rows (kpu)
    name: str = ""
    dtype: str = "u8"
    first: int = 10 ** 9     # first instruction index that writes it (-1 = before layer 0)
    last: int = -1           # last instruction index that touches it
    keep: bool = False       # graph output: live until the end
    addr: int | None = None
    users: list = field(default_factory=list)
    parent: "Buf | None" = None    # a view: placed at parent.addr + offset
    offset: int = 0
    hwc: tuple | None = None       # an int8 HWC map (H, W, C) written by a CPU conv (cpu_conv.py)

    def touch(self, i):
        self.first = min(self.first, i)
        self.last = max(self.last, i)
        if self.parent is not None:
            self.parent.touch(i)


def _overlap(a, b):
    return not (a.last < b.first or b.last < a.first)


def place(bufs, mem, end, limit=None, top_down=False, align=8):
    """First-fit placement; returns the extent used (bytes for main; lowest row for KPU)."""
    placed = []
    views = [b for b in bufs if b.parent is not None]
    bufs = [b for b in bufs if b.parent is None]
    for b in sorted(bufs, key=lambda b: (b.first, -b.size)):
        if b.keep:
            b.last = end
        size = b.size if mem == "kpu" else (b.size + align - 1) // align * align
        busy = sorted((p.addr, p.addr + psz) for p, psz in placed if _overlap(p, b))
        if top_down:
            cand = (limit or KPU_ROWS) - size
            for lo, hi in sorted(busy, key=lambda t: -t[1]):
                if cand < hi and cand + size > lo:
                    cand = lo - size
            if cand < 0:
                live = sorted(((p.name, psz) for p, psz in placed if _overlap(p, b)), key=lambda t: -t[1])
                raise K210MemoryError(
                    f"KPU RAM (2 MiB = {KPU_ROWS} rows of 64 bytes) exhausted placing {b.name} ({size} rows); live "
                    f"at that point: " + ", ".join(f"{n} ({s} rows)" for n, s in live[:6])
                    + ". Large maps with TF 'same' stride-2 convs need a full-resolution copy: "
                      "ZeroPadding2D(1) + 'valid' stride 2 avoids it.")
            b.addr = cand
        else:
            cand = 0
            for lo, hi in busy:
                if cand + size <= lo:
                    break
                cand = max(cand, hi)
            b.addr = cand
        placed.append((b, size))
    for v in views:
        v.addr = v.parent.addr + v.offset
    if mem == "kpu":
        return min((b.addr for b, _ in placed), default=KPU_ROWS)
    return max((b.addr + s for b, s in placed), default=0)
