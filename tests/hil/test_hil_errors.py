"""Every misuse of the HIL client and bench is a named one-line error with its exit code
(docs/errors.md), bounded in time, and recorded: no port, /dev/null, a silent or garbage-spewing
device, a wrong-size input, a corrupt kmodel, a device that lies about its outputs, resets during
INVOKE or never answers it, and a slow line. The devices are the real host build of the firmware
behind emc.hil.faultlink, or a pty nobody (or only noise) answers on."""
import json
import os
import subprocess
import sys
import threading
import time
import tty

import numpy as np
import pytest
from link_support import LinkedHostDut, kill, spawn_linked_host

from emc.hil import cases, firmware, harness
from emc.hil import protocol as P

IRIS = "nncase_v0.1_iris_v3.kmodel"
IRIS_X = np.array([5.1, 3.5, 1.4, 0.2], np.float32)
pytestmark = pytest.mark.xdist_group("hil-errors")


def hil_cli(*args, timeout=120):
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "emc.hil", *map(str, args)], capture_output=True, text=True,
                       timeout=timeout)
    return r, time.monotonic() - t0


def assert_one_line(r, code, *parts):
    lines = r.stderr.strip().splitlines()
    assert r.returncode == code, (r.returncode, r.stderr)
    assert len(lines) == 1 and lines[0].startswith("python -m emc.hil: error: "), r.stderr
    assert "Traceback" not in r.stderr
    for p in parts:
        assert p in lines[0], (p, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def host_fw():
    try:
        return firmware.build("host")
    except firmware.FirmwareError as e:
        pytest.skip(str(e))


@pytest.fixture
def iris(kmodels_dir, tmp_path):
    model = kmodels_dir / IRIS
    x = tmp_path / "x.bin"
    x.write_bytes(IRIS_X.tobytes())
    return model, x


class PtyPeer:
    """The far end of a pty: silent, or spewing random bytes (a wrong baud rate, another program)."""

    def __init__(self, garbage=False):
        self.master, slave = os.openpty()
        tty.setraw(slave)
        self.path = os.ttyname(slave)
        self.slave = slave
        self.stop = False
        threading.Thread(target=self._drain, daemon=True).start()
        if garbage:
            threading.Thread(target=self._spew, daemon=True).start()

    def _drain(self):
        while not self.stop:
            try:
                os.read(self.master, 4096)
            except OSError:
                time.sleep(0.01)

    def _spew(self):
        rnd = np.random.default_rng(5)
        while not self.stop:
            os.write(self.master, rnd.integers(0, 256, 256, dtype=np.uint8).tobytes())
            time.sleep(0.01)

    def close(self):
        self.stop = True
        time.sleep(0.03)
        os.close(self.master)
        os.close(self.slave)


@pytest.mark.slow
def test_no_port_dev_null_bad_input_bad_model(iris, tmp_path):
    model, x = iris
    r, _ = hil_cli("run", model, "--input", x, "--port", tmp_path / "ttyNONE")
    assert_one_line(r, 3, "cannot open serial port", "ttyNONE", "No such file")
    r, _ = hil_cli("hello", "--port", "/dev/null")
    assert_one_line(r, 3, "cannot open serial port /dev/null")
    short = tmp_path / "short.bin"
    short.write_bytes(IRIS_X.tobytes()[:15])
    r, _ = hil_cli("run", model, "--input", short, "--port", "/dev/null")   # refused before any port
    assert_one_line(r, 2, str(short), "15 bytes", "exactly 16", "f32")
    bad = tmp_path / "bad.kmodel"
    bad.write_bytes(model.read_bytes()[:100])
    r, _ = hil_cli("run", bad, "--input", x, "--port", "/dev/null")
    assert_one_line(r, 2, str(bad), "byte offset")
    r, _ = hil_cli("run", model, "--input", tmp_path, "--port", "/dev/null")
    assert_one_line(r, 2, str(tmp_path), "cannot read")


@pytest.mark.slow
@pytest.mark.parametrize("garbage", [False, True])
def test_silent_or_garbage_device_fails_within_the_sync_timeout(garbage):
    peer = PtyPeer(garbage)
    try:
        r, dt = hil_cli("hello", "--port", peer.path, "--sync-timeout", "1.5")
    finally:
        peer.close()
    if garbage:
        assert_one_line(r, 3, "no answer to PING within 1.5 s", "not protocol frames", "wrong baud rate")
    else:
        assert_one_line(r, 3, "no answer to PING within 1.5 s", "not a byte received")
    assert dt < 15


def test_output_count_and_size_lies_are_caught(host_fw, kmodels_dir):
    """A reply that contradicts LOAD_COMMIT fails at once: 0 outputs is a FAIL (never all([]) ==
    PASS), an output claiming 0xFFFFFFF0 bytes is a ReplyError, not followed."""
    model = (kmodels_dir / IRIS).read_bytes()
    url, procs, log = spawn_linked_host("nooutputs:INVOKE,hugeoutput:GET_OUTPUT")
    try:
        with P.HilClient.open(url, timeout=3.0) as dev:
            dev.sync(timeout=5)
            res = dev.load(model)
            assert [s for s, _ in res.outputs] == [12]
            with pytest.raises(P.OutputCountError, match="INVOKE reply says 0 outputs.*has 1") as e:
                dev.run(IRIS_X.tobytes())
            assert e.value.exit_code == 1
            t0 = time.monotonic()
            dev.invoke(16)
            with pytest.raises(P.ReplyError, match="claims output 0 has 4294967280 bytes, more than the 12"):
                dev.get_output(0)
            assert time.monotonic() - t0 < 2
            with pytest.raises(P.InputError, match="input of 15 bytes.*takes 16"):
                dev.run(IRIS_X.tobytes()[:15])
            _, outs = dev.run(IRIS_X.tobytes())        # the device itself is fine
            assert len(outs) == 1 and len(outs[0]) == 12
    finally:
        kill(procs)
    assert sum(ln.startswith("FAULT") for ln in log) == 2, log


@pytest.mark.slow
def test_cli_zero_outputs_is_a_fail_with_a_report(host_fw, iris):
    model, x = iris
    url, procs, log = spawn_linked_host("nooutputs:INVOKE")
    try:
        r, _ = hil_cli("run", model, "--input", x, "--port", url)
    finally:
        kill(procs)
    assert_one_line(r, 1, "INVOKE reply says 0 outputs", "FAIL")
    rep = json.loads(r.stdout)
    assert "0 outputs" in rep["error"] and rep["target"] == "host"


def test_reset_during_invoke_is_named_at_once(host_fw, kmodels_dir):
    """The firmware's boot banner on the line during INVOKE: DeviceReset in well under the
    invoke timeout, naming the command and the banner."""
    model = (kmodels_dir / IRIS).read_bytes()
    url, procs, log = spawn_linked_host("reset:INVOKE")
    try:
        with P.HilClient.open(url, timeout=3.0, invoke_timeout=30.0) as dev:
            dev.sync(timeout=5)
            dev.load(model)
            t0 = time.monotonic()
            with pytest.raises(P.DeviceReset, match=r"reset during INVOKE \('HIL BOOT' on the line\)") as e:
                dev.run(IRIS_X.tobytes())
            assert time.monotonic() - t0 < 5 and e.value.exit_code == 3
            assert dev.model is None and dev.stats["resets_seen"] == 1
            dev.sync(timeout=5)
            assert not dev.hello().model_loaded              # it really did reset
    finally:
        kill(procs)


@pytest.mark.slow
def test_cli_silent_invoke_costs_one_invoke_timeout(host_fw, iris):
    model, x = iris
    url, procs, log = spawn_linked_host("drop:INVOKE*")
    try:
        r, dt = hil_cli("run", model, "--input", x, "--port", url, "--invoke-timeout", "2")
    finally:
        kill(procs)
    assert_one_line(r, 3, "no reply to INVOKE within 2.0 s")
    assert dt < 12, dt                       # one timeout, not retries x timeout
    assert json.loads(r.stdout)["invoke_timeout_seconds"] == 2.0
    assert sum("FAULT drop" in ln for ln in log) == 1


def test_invoke_timeout_follows_the_model():
    assert P.invoke_timeout(70) == pytest.approx(10.0, abs=0.01)          # iris: seconds, not 300
    assert P.invoke_timeout(542_334_720) == pytest.approx(552.3, abs=0.1)  # mbnetv1


@pytest.mark.slow
def test_harness_reloads_once_after_a_reset_then_fails_fast(host_fw):
    case = cases.build("iris-nncase", 2)
    dut = LinkedHostDut("reset:INVOKE", timeout=2.0)
    try:
        ok = harness.check_case(harness.Session(dut, log=dut.fault_log.append), case)
    finally:
        dut.close()
        dut._kill()
    assert ok.status == "pass" and ok.bit_exact == ok.inputs == 2, ok
    assert any("recovered from" in n and "DeviceReset" in n for n in ok.notes), ok.notes
    assert ok.link.get("resets_seen") == 1

    dut = LinkedHostDut("drop:INVOKE*", keep_plan=True, timeout=2.0)   # never answers INVOKE
    t0 = time.monotonic()
    try:
        bad = harness.check_case(harness.Session(dut, retries=3, log=dut.fault_log.append, invoke_timeout=2.0),
                                 case)
    finally:
        dut.close()
        dut._kill()
    assert time.monotonic() - t0 < 20
    assert bad.status == "error" and bad.inputs == 0
    assert "failed again after a reload" in bad.error and "no reply to INVOKE within 2.0 s" in bad.error
    assert any(bad.error in n for n in bad.notes) and bad.link.get("timeouts") == 2


@pytest.mark.slow
def test_harness_records_a_lying_device_as_fail(host_fw):
    case = cases.build("iris-nncase", 2)
    dut = LinkedHostDut("nooutputs:INVOKE*", keep_plan=True, timeout=2.0)
    try:
        r = harness.check_case(harness.Session(dut, log=dut.fault_log.append), case)
    finally:
        dut.close()
        dut._kill()
    assert r.status == "fail" and r.bit_exact == 0 and "0 outputs" in r.error


@pytest.mark.slow
def test_slow_line_still_syncs_loads_and_runs(host_fw):
    """1200 bytes/s (a 12000-baud UART) the client was not told about: a 4 KB chunk takes longer than
    the firmware's 2.5 s frame timeout, the firmware drops it, the client halves its chunks."""
    from emc.backends.generic import import_tflite
    from emc.reference import run
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    model = import_tflite(open(os.path.join(root, "runtime", "data", "generic_mix_int8_io.tflite"), "rb")
                          .read()).to_bytes()
    x = np.random.default_rng(3).integers(-128, 128, (1, 20, 20, 3), dtype=np.int8)
    want = [np.ascontiguousarray(o).tobytes() for o in run(model, x)]
    url, procs, log = spawn_linked_host(rate=1200)
    try:
        with P.HilClient.open(url, timeout=5.0) as dev:
            dev.sync(timeout=10)
            res = dev.load(model, reuse=False)
            _, outs = dev.run(x.tobytes())
            stats = dict(dev.stats)
    finally:
        kill(procs)
    assert res.transferred == len(model) and outs == want
    assert stats["chunk_reductions"] >= 1 and stats["device_timeouts"] >= 1, stats


@pytest.mark.slow
def test_cli_runs_a_byte_swapped_kmodel(host_fw, iris, tmp_path):
    """A kmodel in K210 flash-image byte order: loaded, sent to the device swapped back, outputs
    identical to the PC; the report carries the note."""
    from emc.kmodel.container import swap_words
    model, x = iris
    swapped = tmp_path / "swapped.kmodel"
    swapped.write_bytes(swap_words(model.read_bytes()))
    url, procs, log = spawn_linked_host()
    try:
        r, _ = hil_cli("run", swapped, "--input", x, "--port", url)
    finally:
        kill(procs)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["outputs_identical"] == [True] and "byte-swapped" in rep["notes"][0]


@pytest.mark.slow
@pytest.mark.parametrize("target", ["qemu-m4", "qemu-rv64"])
def test_qemu_firmware_prints_its_boot_banner_and_resets_are_seen(target):
    """The QEMU firmwares print HIL BOOT at start and after RESET 1; a client that sees it during
    a command raises DeviceReset (here: the reset is requested without telling the client)."""
    from emc.hil import qemu
    if not (firmware.toolchain_available(target) and qemu.qemu_available(target)):
        pytest.skip(f"{target}: cross toolchain or QEMU missing")
    with qemu.Qemu(target, firmware.build(target)) as q:
        dev = q.client(timeout=3.0)
        assert dev.parser.markers and dev.parser.markers[0][0] == "reset"      # the start-up banner
        dev.send(P.RESET, b"\x01")                  # behind the client's back: the CPU resets
        t0 = time.monotonic()
        with pytest.raises(P.DeviceReset, match="reset during HELLO"):
            dev.request(P.HELLO, timeout=20)
        assert time.monotonic() - t0 < 10
        dev.sync(timeout=10)
        assert dev.hello().target == target
