"""Fault injection with real processes: the host build of the firmware on a pty, reached through
emc.hil.faultlink (a separate process that corrupts, drops, stalls, garbles and resets), and
QEMU killed mid-run. The harness must report each fault, recover, and lose no result."""
import os
import signal
import threading

import pytest
from link_support import LinkedHostDut

from emc.hil import cases, firmware, harness

pytestmark = pytest.mark.xdist_group("hil-faults")


@pytest.fixture(scope="module")
def small_cases():
    return [cases.build("iris-nncase", 3), cases.build("kws", 2), cases.build("cifar10-maixemc-hw", 2)]


def run_all(dut, small_cases):
    sess = harness.Session(dut, retries=4, log=lambda m: dut.fault_log.append("HARNESS " + m)
                           if hasattr(dut, "fault_log") else None)
    return [harness.check_case(sess, c) for c in small_cases]


@pytest.mark.slow
@pytest.mark.parametrize("plan,expect", [
    ("corrupt:6,corrupt:30,garbage:12", ["corrupt", "garbage"]),
    ("drop:8,stall:20:4", ["drop", "stall"]),
    ("reset:15", ["reset"]),
    ("cut:10", ["cut"]),
])
def test_link_faults_are_survived(plan, expect, small_cases):
    try:
        firmware.build("host")
    except firmware.FirmwareError as e:
        pytest.skip(str(e))
    dut = LinkedHostDut(plan, timeout=1.5)
    try:
        results = run_all(dut, small_cases)
    finally:
        dut.close()
        dut._kill()
    for r, c in zip(results, small_cases):
        assert r.inputs == len(c.inputs) and r.bit_exact == r.inputs, (r, dut.fault_log)
    faults = [ln for ln in dut.fault_log if ln.startswith("FAULT")]
    for kind in expect:
        assert any(kind in ln for ln in faults), (kind, dut.fault_log)
    link = {}
    for r in results:                               # every fault is counted in some case's report
        for k, v in r.link.items():
            link[k] = link.get(k, 0) + v
    if "corrupt" in expect:
        assert link.get("bad_crc_frames", 0) >= 2 and link.get("retries", 0) >= 2, link
    if "drop" in expect or "stall" in expect:
        assert link.get("timeouts", 0) >= 1, link
    if "reset" in expect:
        assert link.get("resets_seen", 0) == 1, link


@pytest.mark.slow
def test_qemu_killed_mid_run_is_restarted(small_cases):
    from emc.hil import qemu
    if not (firmware.toolchain_available("qemu-m4") and qemu.qemu_available("qemu-m4")):
        pytest.skip("arm toolchain / QEMU missing")
    logs = []
    dut = harness.QemuDut("qemu-m4", log=logs.append, timeout=3.0)
    sess = harness.Session(dut, retries=3, log=logs.append)
    cifar = small_cases[2]                                    # ~1 s per inference under QEMU
    try:
        first = harness.check_case(sess, cifar)
        os.kill(dut.qemu.proc.pid, signal.SIGKILL)            # a crash between two runs
        second = harness.check_case(sess, cifar)
        pid = dut.qemu.proc.pid
        killer = threading.Timer(0.5, lambda: os.kill(pid, signal.SIGKILL))
        killer.start()                                         # and one in the middle of a run
        third = harness.check_case(sess, cifar)
        killer.join()
    finally:
        dut.close()
    for r in (first, second, third):
        assert r.inputs == len(cifar.inputs) and r.bit_exact == r.inputs
        assert r.count_per_inference == first.count_per_inference     # deterministic under -icount
    # the crash between runs is seen either at the next connect (QEMU already reaped: "restarting it") or by
    # the next command failing (a recovery): which one depends on timing; the crash mid-run is a recovery
    restarts = sum("recovering" in ln or "restarting it" in ln for ln in logs)
    assert dut.recoveries >= 1 and restarts >= 2, logs
    assert any("recovered from" in n for n in second.notes + third.notes)
