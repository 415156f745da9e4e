"""`python -m emc.hil.bench` (what `nox -s bench` prints): the slowest-layer-type section picks the
type with the most instructions and lists its layers; on QEMU the per-layer trace adds up to the
inference's instruction count and its MACs to the model's."""
import pytest

from emc.hil import bench, firmware, qemu


def _row(layers, target="qemu-m4", kernels="dsp"):
    return dict(model="m", target=target, kernels=kernels, layers=layers)


def test_slowest_layer_type_is_the_one_with_most_instructions():
    layers = [dict(index=0, type="GENERIC_INPUT", instructions=100, macs=0),
              dict(index=1, type="GENERIC_CONV2D", instructions=3000, macs=6000),
              dict(index=2, type="GENERIC_FULLY_CONNECTED", instructions=4000, macs=2000),
              dict(index=3, type="GENERIC_CONV2D", instructions=2900, macs=3000)]
    text = bench.format_slowest_layers([_row(layers), _row(layers, target="qemu-m7")])
    assert "GENERIC_CONV2D takes 5,900 of 10,000 instructions (59.0%)" in text
    assert "| 1 | 3,000 | 6,000 | 2.000 | 30.0% |" in text and "| 3 | 2,900 | 3,000 | 1.034 | 29.0% |" in text
    assert "| 2 |" not in text and "qemu-m7" not in text      # other types, other targets: not listed


@pytest.mark.slow
def test_bench_layer_profile_adds_up_on_qemu():
    if not (firmware.toolchain_available("qemu-m4") and qemu.qemu_available("qemu-m4")):
        pytest.skip("qemu-m4: cross toolchain or QEMU missing")
    rows = bench.mlperf_bench(targets=("qemu-m4",), kernels=("dsp",), n=1, models=("ad",))
    (r,) = rows
    assert r["bit_exact"] and r["instructions"] > 0
    per_layer = sum(x["instructions"] for x in r["layers"])
    # the trace's times include the per-layer hook; the plugin counts the whole invoke
    assert 0.97 * r["instructions"] <= per_layer <= 1.03 * r["instructions"], (per_layer, r["instructions"])
    assert sum(x["macs"] for x in r["layers"]) == r["macs"]
    assert "GENERIC_FULLY_CONNECTED takes" in bench.format_slowest_layers(rows)
