"""The main job, end to end: convert the seed's TensorLayer 2 CIFAR-10 example with the seed's
API, run it on a (QEMU) board over the HIL serial protocol, and print how the device agrees with
the PC reference and with the float model, and what it costs.

    python -m emc.demo [--target qemu-m4|qemu-m7|qemu-rv64] [--port /dev/ttyACM0] [--inputs 4]
"""
from __future__ import annotations

import argparse
import os
import sys
import time



def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m emc.demo", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", default="qemu-m4")
    ap.add_argument("--port", help="a real board's serial port instead of QEMU")
    ap.add_argument("--inputs", type=int, default=4)
    ap.add_argument("--report", default=os.path.join("build", "demo_report"))
    a = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")      # deterministic float reference
    from .hil import cases, harness, report

    t0 = time.time()
    print("1/3 converting the seed example (TensorLayer 2 CIFAR-10, maixemc_cifar10_tl2.h5) with "
          "emc.save_kmodel(net, path, dataset, 'img_0_1', 'minmax', 8, 3) ...", flush=True)
    case = cases.seed_cifar10(a.inputs, cases.ROOT / "build" / "hil_cache")
    print(f"    kmodel: {len(case.kmodel):,} bytes, {case.macs:,} MACs, {len(case.inputs)} inputs "
          f"(the plane image + textures) [{time.time() - t0:.1f} s]")
    print(f"2/3 running it on {a.port or a.target} over the HIL serial protocol ...", flush=True)
    dut = (harness.SerialDut(a.port, name=a.port) if a.port else harness.QemuDut(a.target))
    try:
        sess = harness.Session(dut)
        info = harness.describe(dut.connect())
        r = harness.check_case(sess, case)
    finally:
        dut.close()
    print(f"    device: {info['target']} firmware {info['firmware']} runtime {info['runtime']} "
          f"({info['flags'] or 'portable'}), arena {info['arena']:,} bytes")
    if r.error:                                  # the device could not finish: say why, no figures
        print(f"    FAILED after {r.inputs} of {len(case.inputs)} inputs: {r.error}")
        report.write([r], a.report, title="EMC demo: seed CIFAR-10 example", meta={"target": a.port or a.target})
        return 1 if r.status == "fail" else 3
    print("3/3 agreement")
    print(f"    device vs PC reference : {r.bit_exact}/{r.inputs} outputs byte-identical"
          + ("" if r.bit_exact == r.inputs else f"; first divergence: {r.first_divergence}"))
    if r.max_abs_vs_float is not None:
        print(f"    device vs float model  : max |diff| {r.max_abs_vs_float:.4f}, cosine {r.cosine_vs_float:.5f}, "
              f"top-1 agreement {r.top1_agree:.0%}")
    print(f"    latency                : {r.count_per_inference:,} {r.counter} per inference "
          f"({r.macs_per_insn:.3f} MAC per instruction)" if r.macs_per_insn else
          f"    latency                : {r.count_per_inference:,} {r.counter} per inference")
    print(f"    memory                 : arena {r.arena_bytes:,} B, model {r.model_bytes:,} B, "
          f"firmware flash {r.flash_bytes or 0:,} B, RAM {r.ram_bytes or 0:,} B")
    md, html = report.write([r], a.report, title="EMC demo: seed CIFAR-10 example",
                            meta={"target": a.port or a.target})
    print(f"    report                 : {md}")
    print(f"done in {time.time() - t0:.1f} s")
    return 0 if r.status == "pass" else 1


if __name__ == "__main__":
    sys.exit(main())
