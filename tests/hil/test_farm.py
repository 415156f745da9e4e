"""The bench through a labgrid farm on this machine (real coordinator, exporters, QEMU boards,
pytest-xdist workers): the matrix on every place, nothing listening beyond loopback, and faults
(a QEMU killed, an exporter killed, a worker killed) reported per place while the rest finishes."""
import json
import os
import pathlib
import re
import signal
import subprocess
import time

import pytest

from emc.hil import firmware, qemu

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hil-farm")]

labgrid = pytest.importorskip("labgrid", reason="labgrid not installed (pip install -e .[farm])")
from emc.hil.farm import Farm, pytest_command  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _need(*targets):
    for t in targets:
        if not firmware.toolchain_available(t) or not qemu.qemu_available(t):
            pytest.skip(f"{t}: cross toolchain or QEMU missing")


def _run(farm, tmp_path, models, extra=(), inputs=2):
    out = tmp_path / "rows.json"
    cmd = pytest_command(farm, out, tmp_path / "report", models, ["--inputs", str(inputs), *extra])
    env = {**os.environ, **farm.env()}
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True), out


def _descendants(pids):
    """The given pids and every process below them (from /proc/*/stat)."""
    children = {}
    for d in pathlib.Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    todo, seen = list(pids), set()
    while todo:
        p = todo.pop()
        if p not in seen:
            seen.add(p)
            todo += children.get(p, [])
    return seen


def _listening(pids):
    """[(pid, address, port)] of TCP sockets in LISTEN state owned by pids (/proc/net/tcp{,6})."""
    inodes = {}
    for pid in pids:
        try:
            for fd in pathlib.Path(f"/proc/{pid}/fd").iterdir():
                m = re.fullmatch(r"socket:\[(\d+)\]", os.readlink(fd))
                if m:
                    inodes[m.group(1)] = pid
        except OSError:
            continue
    out = []
    for table, v6 in (("/proc/net/tcp", False), ("/proc/net/tcp6", True)):
        for line in pathlib.Path(table).read_text().splitlines()[1:]:
            f = line.split()
            if f[3] != "0A" or f[9] not in inodes:          # 0A: LISTEN
                continue
            hexaddr, hexport = f[1].split(":")
            raw = bytes.fromhex(hexaddr)
            if v6:      # four little-endian 32-bit words
                raw = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
                import ipaddress
                addr = ipaddress.IPv6Address(raw)
                addr = str(addr.ipv4_mapped or addr)
            else:
                addr = ".".join(str(b) for b in raw[::-1])
            out.append((inodes[f[9]], addr, int(hexport, 16)))
    return out


@pytest.fixture(scope="module")
def farm():
    _need("qemu-m4", "qemu-m7", "qemu-rv64")
    with Farm(["qemu-m4", "qemu-m7", "qemu-rv64"], exporters=2, log=lambda m: None) as f:
        yield f


def test_nothing_the_farm_starts_listens_beyond_loopback(farm):
    pids = _descendants(farm.pids().values())
    socks = _listening(pids)
    # not vacuous: the coordinator and each QEMU's serial line and gdbstub are among them
    ports = {p for _, _, p in socks}
    assert int(farm.address.rsplit(":", 1)[1]) in ports
    for b in farm.boards:
        assert {b.uart_port, b.probe_port} <= ports, f"{b.place}: {b.uart_port}/{b.probe_port} not seen in {socks}"
    wide = [s for s in socks if s[1] not in ("127.0.0.1", "::1")]
    assert not wide, f"listening beyond loopback: {wide}"


def test_matrix_runs_through_places_on_two_exporters(farm, tmp_path):
    t0 = time.monotonic()
    proc, out = _run(farm, tmp_path, "iris-nncase,kws")
    log, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, log[-3000:]
    data = json.loads(out.read_text())
    rows = data["rows"]
    assert data["verdict"] == "pass"
    assert {(r["model"], r["target"]) for r in rows} == {(m, t) for m in ("iris-nncase", "kws")
                                                        for t in ("qemu-m4", "qemu-m7", "qemu-rv64")}
    assert all(r["bit_exact"] and r["status"] == "pass" for r in rows), rows
    assert len({r["place"] for r in rows}) == 3 and len({r["exporter"] for r in rows}) == 2
    for r in rows:      # each case ran on a place of its own target, on the exporter that exports it
        board = farm.board(r["place"])
        assert (board.target, board.exporter) == (r["target"], r["exporter"])
    junit = (tmp_path / "report" / "junit.xml").read_text()
    assert junit.count("<testcase ") == 6
    assert (tmp_path / "report" / "report.html").exists()
    # every place is free again once the run is over
    assert not any(p.acquired for p in farm.coord.places().values())
    print(f"farm matrix 2 models x 3 targets: {time.monotonic() - t0:.1f} s")


def _holder_pid(place):
    return int(place.acquired.rsplit("-", 1)[1]) if place.acquired else None


def test_faults_are_reported_per_place_and_the_rest_finishes(tmp_path):
    """m4-1: its worker is killed mid-case (the place must be released and its cases run again);
    rv64-1: its exporter is killed; rv64-2: its QEMU is killed; m4-2: untouched."""
    _need("qemu-m4", "qemu-rv64")
    with Farm(["qemu-m4", "qemu-rv64"], per_target=2, exporters=3, log=lambda m: None) as farm:
        assert [(b.place, b.exporter) for b in farm.boards] == [
            ("qemu-m4-1", "exporter1"), ("qemu-rv64-1", "exporter2"),
            ("qemu-m4-2", "exporter3"), ("qemu-rv64-2", "exporter1")]
        # per target, models go round robin over its places: vww (slow) is the first case of the -1 places
        proc, out = _run(farm, tmp_path, "vww,kws,iris-nncase,cifar10-maixemc-hw")
        done = set()
        deadline = time.monotonic() + 300
        while len(done) < 3 and time.monotonic() < deadline and proc.poll() is None:
            places = farm.coord.places()
            if "worker" not in done and places["qemu-m4-1"].acquired:
                os.kill(_holder_pid(places["qemu-m4-1"]), signal.SIGKILL)
                done.add("worker")
            if "exporter" not in done and places["qemu-rv64-1"].acquired:
                farm.exporters["exporter2"].kill()
                done.add("exporter")
            if "qemu" not in done and places["qemu-rv64-2"].acquired:
                farm.board("qemu-rv64-2").qemu.proc.kill()
                done.add("qemu")
            time.sleep(0.05)
        assert done == {"worker", "exporter", "qemu"}, f"faults injected: {done}"
        try:
            log, _ = proc.communicate(timeout=300)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("the farm run hung after the faults")
        assert proc.returncode != 0, "a run with lost places must fail"
        data = json.loads(out.read_text())
        assert data["verdict"] == "fail"
        rows = {(r["model"], r["place"]): r for r in data["rows"]}
        assert len(rows) == 8
        by_place = {}
        for r in data["rows"]:
            by_place.setdefault(r["place"], []).append(r)
        # the untouched place finished bit-exact
        assert all(r["status"] == "pass" and r["bit_exact"] for r in by_place["qemu-m4-2"]), by_place["qemu-m4-2"]
        # the killed worker's place was released and its cases ran to the end on another worker
        assert re.search(r"released place qemu-m4-1 .*worker gw\d+ died", log), log[-3000:]
        assert all(r["status"] == "pass" and r["bit_exact"] for r in by_place["qemu-m4-1"]), by_place["qemu-m4-1"]
        assert "crashed" in json.dumps(data["failures"]), data["failures"]
        # the lost places' cases are errors that say why
        lost_exporter = [r for r in by_place["qemu-rv64-1"] if r["status"] == "error"]
        assert lost_exporter and all("exporter" in r["reason"] for r in lost_exporter), json.dumps(data["rows"], indent=0)
        assert all(r["status"] == "error" and "qemu-rv64-2" in r["reason"] for r in by_place["qemu-rv64-2"]), \
            by_place["qemu-rv64-2"]
        # and no place is left held
        assert not any(p.acquired for p in farm.coord.places().values())
    print(log[-1500:])
