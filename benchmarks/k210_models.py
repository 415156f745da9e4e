"""K210 models on the RISC-V QEMU firmware (the K210 stand-in, software KPU): instructions per
inference, MAC per instruction and arena for the seed CIFAR-10, the nncase v0.1 iris and yolo20
kmodels and the convertor's K210 test models. Baseline measured in the same run: the same models
on the Cortex-M4 firmware (its software KPU), printed as the ratio RV64 / M4."""
from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

MODELS = ["cifar10-maixemc-hw", "iris-nncase", "yolo20-nncase", "mbnet-k210", "resnet-k210", "inception-k210"]


def measure(target, models, n=1):
    from emc.hil import cases, harness
    dut = harness.QemuDut(target, log=lambda m: None)
    sess = harness.Session(dut, log=lambda m: None)
    rows = {}
    try:
        for name in models:
            r = harness.check_case(sess, cases.build(name, n), diverge=False)
            rows[name] = r
    finally:
        dut.close()
    return rows


def main(argv=None):
    models = (argv or sys.argv[1:]) or MODELS
    rv = measure("qemu-rv64", models)
    m4 = measure("qemu-m4", models)
    print("K210 models, one inference each (instructions between the firmware's markers, -icount shift=0)")
    print(f"{'model':22s} {'MACs':>12s} {'RV64 insns':>15s} {'MAC/insn':>9s} {'M4 insns':>15s} {'RV64/M4':>8s} "
          f"{'arena B':>11s} {'bit-exact':>9s}")
    for name in models:
        a, b = rv[name], m4[name]
        if a.error or b.error:
            print(f"{name:22s} FAILED: {a.error or b.error}")
            continue
        print(f"{name:22s} {a.macs or 0:12,d} {a.count_per_inference:15,d} {a.macs_per_insn or 0:9.3f} "
              f"{b.count_per_inference:15,d} {a.count_per_inference / b.count_per_inference:8.2f} "
              f"{a.arena_bytes:11,d} {'yes' if a.bit_exact == a.inputs and b.bit_exact == b.inputs else 'NO':>9s}")
    return 0 if all(r.status == "pass" for r in list(rv.values()) + list(m4.values())) else 1


if __name__ == "__main__":
    sys.exit(main())
