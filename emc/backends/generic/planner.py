"""Main-buffer planner: offsets for tensors with [first, last] lifetimes (layer positions),
reusing the bytes of dead tensors. Greedy by size (largest first, lowest valid offset), 8-aligned.

Overlap: a layer's output may share bytes with an input that dies at that layer when the output
starts at least `lag` bytes *below* the input (overlaps[(out, in)] = lag). The C kernels write
their output in raster order while the input bytes still to be read only move forward, so
"output start <= input start - lag" is safe; lag is computed per layer from its geometry and the
kernel's loop order (overlap.py). The Python reference reads whole inputs first, so it agrees.
"""
from __future__ import annotations

ALIGN = 8


def _up(v):
    return (v + ALIGN - 1) // ALIGN * ALIGN


def plan(tensors, overlaps=None):
    """tensors: {name: (size, first, last)}; overlaps: {(out, in): lag}.
    Returns ({name: offset}, total bytes): the best of greedy placements over two orders (largest
    first / earliest first) and over which overlappable inputs get `lag` bytes of room below them
    (none, all, those at least as large as their output and that set less one, then seeded
    random subsets: deterministic)."""
    import random
    overlaps = overlaps or {}
    orders = [lambda kv: (-kv[1][0], kv[1][1], str(kv[0])), lambda kv: (kv[1][1], -kv[1][0], str(kv[0]))]
    inputs = sorted({inp for _, inp in overlaps}, key=str)
    rng = random.Random(0)
    # inputs at least as large as their output are the ones worth sitting above it
    big = {inp for (out, inp) in overlaps if tensors[inp][0] >= tensors[out][0]}
    subsets = [set(), set(inputs), big]
    if len(tensors) <= LARGE:
        subsets += [big - {i} for i in sorted(big, key=str)]
    # a large graph (NASNet: ~700 tensors) gets fewer trials: each greedy pass grows as n^2
    subsets += [{i for i in inputs if rng.random() < 0.5} for _ in range(TRIALS if len(tensors) <= LARGE else 4)]
    best = None
    for order in orders:
        for room in subsets:
            res = _greedy(tensors, overlaps, order, room)
            if best is None or res[1] < best[1]:
                best = res
    return best


TRIALS = 40
LARGE = 256          # tensors; above it the planner searches less (see plan) and offers fewer candidates


def _greedy(tensors, overlaps, order, room):
    placed = {}                       # name -> offset
    # room an input wants below it: its output's lag plus the room that output wants in turn
    # (a chain of layers each overlapping the previous drifts down by the sum of the lags)
    lag_below = {}
    for (out, inp), lag in sorted(overlaps.items(), key=lambda kv: -tensors[kv[0][0]][1]):
        lag_below[inp] = max(lag_below.get(inp, 0), lag + lag_below.get(out, 0))

    def conflict(name, off, other, ooff):
        size, first, last = tensors[name]
        osize, ofirst, olast = tensors[other]
        if last < ofirst or olast < first:
            return False              # lifetimes disjoint
        if off + size <= ooff or ooff + osize <= off:
            return False              # bytes disjoint
        if (name, other) in overlaps:           # name is the output, other its dying input
            return not off <= ooff - overlaps[(name, other)]
        if (other, name) in overlaps:           # name is the input, other the output
            return not ooff <= off - overlaps[(other, name)]
        return True

    large = len(tensors) > LARGE
    for name, (size, first, last) in sorted(tensors.items(), key=order):
        # only tensors alive at the same time can conflict: the checks look at those alone (same result)
        live = [(o, oo) for o, oo in placed.items() if not (last < tensors[o][1] or tensors[o][2] < first)]
        cands = {0}
        # a large graph takes candidate offsets from the live tensors only: the lowest valid offset is 0 or
        # the end (or lag position) of one of them, so plain first-fit is unchanged; only the order of the
        # room-seeking candidates below can differ
        for other, ooff in (live if large else placed.items()):
            cands.add(_up(ooff + tensors[other][0]))
            if (other, name) in overlaps:
                cands.add(_up(ooff + overlaps[(other, name)]))
            if (name, other) in overlaps:
                lag = overlaps[(name, other)]
                if ooff - lag >= 0:
                    cands.add((ooff - lag) // ALIGN * ALIGN)
        if name in room and name in lag_below:
            # try first to sit `lag` above a free spot, so that the output fits just below
            cands = sorted({_up(c + lag_below[name]) for c in cands}) + sorted(cands)
        else:
            cands = sorted(cands)
        for off in cands:
            if not any(conflict(name, off, o, oo) for o, oo in live):
                placed[name] = off
                break
    total = max((off + tensors[n][0] for n, off in placed.items()), default=0)
    return placed, _up(total)
