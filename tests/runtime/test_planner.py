"""The generic target's main-buffer planner (emc/backends/generic/planner.py) on a graph of NASNet's size:
every pair of tensors alive together gets disjoint bytes (or the overlap its layer allows). NASNetMobile's
~700 tensors once kept the planner busy for more than ten minutes (each greedy pass looked at every placed
tensor, over ~700 search passes)."""
import random

from emc.backends.generic.planner import ALIGN, plan


def _chain(n, seed=0):
    """A NASNet-like lifetime pattern: a main chain with skip tensors living over several layers."""
    rng = random.Random(seed)
    tensors, overlaps = {}, {}
    for i in range(n):
        last = i + 1 + (rng.randrange(2, 12) if rng.random() < 0.3 else 0)
        tensors[i] = (rng.choice([96, 384, 1152, 4608, 9216]), i, min(last, n))
        if i and rng.random() < 0.2 and tensors[i - 1][2] == i:
            overlaps[(i, i - 1)] = rng.choice([0, 8, 64])
    return tensors, overlaps


def test_large_graph_is_planned_without_conflicts():
    tensors, overlaps = _chain(700)
    offsets, total = plan(tensors, overlaps)
    assert set(offsets) == set(tensors) and total % ALIGN == 0
    items = sorted(tensors.items())
    for a, (sa, fa, la) in items:
        oa = offsets[a]
        assert oa % ALIGN == 0 and oa + sa <= total
        for b, (sb, fb, lb) in items:
            if b <= a or la < fb or lb < fa:
                continue
            ob = offsets[b]
            if oa + sa <= ob or ob + sb <= oa:
                continue
            lag = overlaps.get((b, a))
            assert lag is not None and ob <= oa - lag, (a, b, oa, ob)
    peak = max(sum(s for s, f, last in tensors.values() if f <= t <= last) for t in range(701))
    assert total >= peak
