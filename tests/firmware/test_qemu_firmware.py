"""The HIL firmwares under QEMU (Cortex-M4F mps2-an386, Cortex-M7 mps2-an500, RV64 virt): built with
the cross toolchains, driven over real pyserial traffic; every output must be byte-identical to
what the PC computes (host C runtime, else the Python reference)."""
import time

import pytest

import fw_checks as C
from fw_support import CIFAR, IRIS, IRIS_X, cifar_input, expected_layers, expected_outputs
from emc.hil import firmware
from emc.hil.qemu import Qemu, find_plugin, qemu_available

pytestmark = pytest.mark.slow

TARGETS = ["qemu-m4", "qemu-m7", "qemu-rv64"]


def _need(target):
    if not firmware.toolchain_available(target):
        pytest.skip(f"{firmware.TARGETS[target].compiler} not installed")
    if not qemu_available(target):
        pytest.skip("QEMU for this target not installed")


@pytest.fixture(scope="module", params=TARGETS)
def target(request):
    _need(request.param)
    return request.param


@pytest.fixture(scope="module")
def elf(target):
    return firmware.build(target)


@pytest.fixture(scope="module")
def qemu(target, elf, kmodels_dir):
    q = Qemu(target, elf, preload_model=kmodels_dir / CIFAR)
    q.start()
    yield q
    q.close()


@pytest.fixture()
def dev(qemu):
    d = qemu.client()
    d.reset()
    return d


def _restore_preload(d):
    """Earlier tests wrote other bytes into the model buffer: a CPU reset (RESET mode 1) makes QEMU
    copy the -device loader image in again."""
    d.reset(hard=True)
    d.sync()
    return d


def test_build_and_size(target, elf):
    s = firmware.elf_sizes(elf)
    print(f"{target}: flash {s['flash']} B (text {s['text']}, rodata {s['rodata']}, data {s['data']}), "
          f"RAM {s['ram']} B (data {s['data']}, bss {s['bss']}, stack {s['stack']}), arena {s.get('arena')}")
    assert 0 < s["flash"] < 512 * 1024
    assert s["arena"] >= 2 * 1024 * 1024 + 600 * 1024  # KPU RAM window + biggest sample main buffer


def test_hello(dev, target):
    h = C.check_hello(dev, target)
    assert "emulated" in h.flags
    assert h.counter in ("virtual_ns", "instructions")
    assert h.model_addr != 0  # preload address advertised


def test_error_frames(dev):
    C.check_error_frames(dev)


def test_resync_after_noise(dev, target):
    C.check_resync_after_noise(dev, target)


def test_iris_chunked_load(dev, kmodels_dir):
    path = kmodels_dir / IRIS
    want, _ = expected_outputs(path, IRIS_X)
    res, inv = C.check_model(dev, path, IRIS_X, want, layers=expected_layers(path, IRIS_X))
    assert res.transferred == path.stat().st_size


def test_cifar_preloaded(dev, kmodels_dir):
    path = kmodels_dir / CIFAR
    x = cifar_input(kmodels_dir)
    want, _ = expected_outputs(path, x)
    _restore_preload(dev)
    res, inv = C.check_model(dev, path, x, want, preloaded=True, layers=expected_layers(path, x), capture=0)
    assert res.transferred == 0 and res.seconds < 5


def test_instruction_count_deterministic(dev, kmodels_dir):
    path = kmodels_dir / CIFAR
    x = cifar_input(kmodels_dir)
    _restore_preload(dev)
    dev.load(path.read_bytes(), preloaded=True)
    counts = [dev.run(x.tobytes())[0].count for _ in range(3)]
    print("invoke count", counts)
    assert counts[0] > 1_000_000
    assert len(set(counts)) == 1


def test_plugin_region_count(target, elf, kmodels_dir):
    plugin = find_plugin()
    if not plugin:
        pytest.skip("instruction-count plugin not built (tools/qemu_insn/build.sh)")
    path = kmodels_dir / CIFAR
    x = cifar_input(kmodels_dir)
    with Qemu(target, elf, preload_model=path, plugin=plugin) as q:
        d = q.client()
        d.load(path.read_bytes(), preloaded=True)
        a = d.run(x.tobytes())[0]
        b = d.run(x.tobytes())[0]
        q.stop()
        regions = q.plugin_regions()
    print("plugin regions", regions, "firmware counts", a.count, b.count)
    assert len(regions) == 2 and regions[0] == regions[1] > 1_000_000


def test_pty_serial(target, elf):
    """-serial pty: the same device path a real board gives (/dev/ttyACM0)."""
    with Qemu(target, elf, serial="pty") as q:
        assert q.url.startswith("/dev/pts/")
        assert q.client().hello().target == target


def test_restart_after_crash(qemu):
    d = qemu.client()
    assert d.ping(b"1") == b"1"
    qemu.proc.kill()
    qemu.proc.wait()
    d = qemu.client()  # restarts QEMU
    assert d.ping(b"2") == b"2"
    assert qemu.starts >= 2


@pytest.mark.parametrize("target", ["qemu-m4"], scope="module")     # one target is enough for the UART transfer
def test_cifar_over_uart_round_trip(target, elf, kmodels_dir):
    """The whole model through the serial line (no preload): slow under QEMU (~15 KB/s)."""
    path = kmodels_dir / CIFAR
    x = cifar_input(kmodels_dir)
    want, _ = expected_outputs(path, x)
    t0 = time.monotonic()
    with Qemu(target, elf) as q:
        d = q.client()
        res, _ = C.check_model(d, path, x, want)
    dt = time.monotonic() - t0
    print(f"cifar over UART: {res.transferred} B in {res.seconds:.1f} s ({res.transferred / res.seconds:.0f} B/s), "
          f"round trip {dt:.1f} s")
    assert res.transferred == path.stat().st_size
