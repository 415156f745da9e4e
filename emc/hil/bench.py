"""MLPerf Tiny speed bench of the C runtime's generic int8 kernels on QEMU Cortex-M: portable
reference kernels vs the Cortex-M DSP-extension kernels (runtime_c/ports/cortex_m), against
TensorFlow Lite Micro + CMSIS-NN.

    from emc.hil.bench import mlperf_bench
    rows = mlperf_bench(targets=("qemu-m4", "qemu-m7"), kernels=("portable", "dsp"), n=1)

    python -m emc.hil.bench [--targets qemu-m4 qemu-m7 qemu-rv64] [--kernels portable dsp] [-n 1]
                            [--json out.json]

After the table, per model and kernels on the first target: the layer type that takes the most
instructions and each of its layers (instructions, MACs, MAC/insn, share of the inference), from
the firmware's per-layer trace (its counter under -icount shift=0 reads guest instructions; the
trace's times include the runtime's dispatch and the HIL layer hook).

Instructions per inference come from the instruction-count TCG plugin (tools/qemu_insn/build.sh)
between prof_begin()/prof_end() around emc_model_invoke, or, without the plugin, from the
firmware's own counter (SysTick under -icount shift=0: 1 guest instruction per ns). Every output
is also compared byte for byte with the PC reference (emc.reference)."""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from . import cases, firmware, harness
from ..kmodel import load
from .qemu import find_plugin, qemu_available

MODELS = ("kws", "vww", "ic", "ad", "ad-fc16")       # ad-fc16: ad with int16 FC weights (opt-in layout)
# TensorFlow Lite Micro + CMSIS-NN on QEMU mps2-an386 (Cortex-M4), arm-none-eabi-gcc 12.2 -O2:
# guest instructions per inference (the reference figures).
TFLM_CMSIS_NN_M4 = {"kws": 7.70e6, "vww": 24.1e6, "ic": 29.9e6, "ad": 0.58e6, "ad-fc16": 0.58e6}


def _quiet(*_a, **_k):
    pass


def mlperf_bench(targets=("qemu-m4",), kernels=("portable", "dsp"), n=1, models=MODELS, log=_quiet,
                 plugin="auto") -> list:
    """One row per (model, target, kernels): instructions per inference, MACs, MAC/insn, arena
    bytes, firmware flash/RAM, bit-exactness and the ratio to TFLM + CMSIS-NN."""
    if plugin == "auto":
        plugin = find_plugin()
    built = {m: cases.build(m, n) for m in models}
    rows = []
    for target in targets:
        if not qemu_available(target) or not firmware.toolchain_available(target):
            log(f"{target}: QEMU or the cross toolchain is missing: skipped")
            continue
        for k in dict.fromkeys(firmware.kernels_kind(target, k) for k in kernels):  # RV64: portable only
            dut = harness.QemuDut(target, plugin=plugin, kernels=k, log=log)
            try:
                sess = harness.Session(dut, log=log)
                for m in models:
                    case = built[m]
                    r = harness.check_case(sess, case, diverge=False)
                    if r.error:                       # recorded, not lost: the row says why
                        log(f"{target} {dut.kernels} {m}: {r.error}")
                    regions = dut.qemu.plugin_regions(wait=2.0) if plugin else []
                    if len(regions) >= r.inputs > 0:
                        insns, source = int(np.median(regions[-r.inputs:])), "plugin"
                    else:
                        insns, source = r.count_per_inference, r.counter or "counter"
                    tflm = TFLM_CMSIS_NN_M4.get(m)
                    layers = layer_profile(sess, case)
                    rows.append(dict(
                        model=m, target=target, kernels=dut.kernels, instructions=insns, count_source=source,
                        firmware_counter=r.count_per_inference, macs=case.macs,
                        mac_per_insn=(case.macs / insns) if insns else None, arena_bytes=r.arena_bytes,
                        flash_bytes=dut.sizes.get("flash"), ram_bytes=dut.sizes.get("ram"),
                        model_bytes=len(case.kmodel),
                        bit_exact=r.bit_exact == r.inputs == len(case.inputs) and r.inputs > 0,
                        inputs=r.inputs, tflm_cmsis_nn=tflm, error=r.error,
                        vs_tflm=(insns / tflm) if (insns and tflm) else None, layers=layers))
                    log(f"{target} {dut.kernels} {m}: {insns} insns ({source}), bit-exact {r.bit_exact}/{r.inputs}")
            finally:
                dut.close()
    return rows


def layer_profile(sess, case) -> list:
    """Per layer of the device's last invoke: index, type name, instructions (firmware counter:
    end of this layer minus end of the previous one) and MACs. [] when the device has no trace."""
    try:
        recs = sess.do(f"{case.name} trace", lambda dev, pre: dev.get_trace(), case.kmodel)
    except Exception:                   # noqa: BLE001 - a firmware without the trace: no profile
        return []
    model = load(case.kmodel)
    out, prev = [], 0
    for r in recs:
        layer = model.layers[r.index] if r.index < len(model.layers) else None
        out.append(dict(index=r.index, type=layer.NAME if layer is not None else str(r.type),
                        instructions=int(r.t - prev), macs=layer.macs() if layer is not None else 0))
        prev = r.t
    return out


def format_slowest_layers(rows) -> str:
    """Per model and kernels (first target of the rows): the layer type with the most instructions
    and every layer of that type."""
    out = []
    first = rows[0]["target"] if rows else None
    for r in rows:
        if r["target"] != first or not r.get("layers"):
            continue
        per_type = {}
        for lay in r["layers"]:
            per_type[lay["type"]] = per_type.get(lay["type"], 0) + lay["instructions"]
        total = sum(per_type.values())
        worst = max(per_type, key=per_type.get)
        out.append(f"\n{r['model']} {r['target']} {r['kernels']}: {worst} takes {per_type[worst]:,} of {total:,} "
                   f"instructions ({100 * per_type[worst] / total:.1f}%)")
        out.append("| layer | insns | MACs | MAC/insn | share |")
        out.append("|---|---|---|---|---|")
        for lay in r["layers"]:
            if lay["type"] == worst:
                mpi = f"{lay['macs'] / lay['instructions']:.3f}" if lay["instructions"] and lay["macs"] else "-"
                out.append(f"| {lay['index']} | {lay['instructions']:,} | {lay['macs']:,} | {mpi} "
                           f"| {100 * lay['instructions'] / total:.1f}% |")
    return "\n".join(out)


def format_table(rows) -> str:
    """Markdown table; the speed-up column compares each row with the portable row of the same
    model and target. model B: the kmodel (what a board keeps in flash besides the firmware)."""
    base = {(r["model"], r["target"]): r["instructions"] for r in rows if r["kernels"] == "portable"}
    head = ("| model | target | kernels | insns/inference | MACs | MAC/insn | vs portable | vs TFLM+CMSIS-NN "
            "| arena B | flash B | model B | RAM B | bit-exact |")
    out = [head, "|" + "---|" * 13]
    for r in rows:
        b = base.get((r["model"], r["target"]))
        if not r["instructions"]:
            out.append(f"| {r['model']} | {r['target']} | {r['kernels']} | FAILED: {r.get('error')} |" + " |" * 9)
            continue
        sp = f"{b / r['instructions']:.2f}x" if b and r["instructions"] else "-"
        vt = f"{r['vs_tflm']:.2f} ({r['tflm_cmsis_nn'] / 1e6:.2f} M)" if r["vs_tflm"] else "-"
        mpi = f"{r['mac_per_insn']:.3f}" if r["mac_per_insn"] else "-"
        out.append(f"| {r['model']} | {r['target']} | {r['kernels']} | {r['instructions']:,} | {r['macs']:,} | {mpi} "
                   f"| {sp} | {vt} | {r['arena_bytes']:,} | {r['flash_bytes']:,} | {r.get('model_bytes', 0):,} "
                   f"| {r['ram_bytes']:,} "
                   f"| {'yes' if r['bit_exact'] else 'NO'} ({r['inputs']}) |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m emc.hil.bench", description=__doc__.splitlines()[0])
    ap.add_argument("--targets", nargs="+", default=["qemu-m4", "qemu-m7", "qemu-rv64"])
    ap.add_argument("--kernels", nargs="+", default=["portable", "dsp"], choices=firmware.KERNELS)
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    ap.add_argument("-n", type=int, default=1, help="inputs per model")
    ap.add_argument("--json", help="also write the rows to this file")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    log = (lambda *x: print(*x, file=sys.stderr)) if a.verbose else _quiet
    rows = mlperf_bench(tuple(a.targets), tuple(a.kernels), a.n, tuple(a.models), log=log)
    print(format_table(rows))
    print(format_slowest_layers(rows))
    if find_plugin() is None:
        print("\n(instruction counts from the firmware counter: build the plugin with tools/qemu_insn/build.sh)")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0 if rows and all(r["bit_exact"] for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
