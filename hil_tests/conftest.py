"""`nox -s hil` / `pytest hil_tests`: run the bench matrix on devices under test and write the
report. Options:
  --dut qemu-m4,qemu-m7,qemu-rv64     QEMU targets (started here, one per xdist worker)
  --port /dev/ttyACM0 --board NAME    a real board (add --flash to upload the firmware first)
  --hw-map boards.json                several boards: [{"board": ..., "port": ..., "reset_cmd": ...}]
  --models default|all|name,name      the model matrix (emc.hil.cases)
  --inputs N                          inputs per model (default 3)
  --report DIR                        where report.md/html, PNGs and results.json go
"""
from __future__ import annotations

import json
import pathlib
import subprocess

import pytest

from emc.hil import cases, harness, report

ROOT = pathlib.Path(__file__).resolve().parents[1]
_RESULTS: list = []
_DUTS: dict = {}


def pytest_addoption(parser):
    g = parser.getgroup("emc-hil")
    g.addoption("--dut", default="qemu-m4", help="comma list of qemu-m4, qemu-m7, qemu-rv64")
    g.addoption("--port", default=None, help="serial port (or pyserial URL) of a real board")
    g.addoption("--board", default=None, help="PlatformIO env of the board on --port (e.g. nucleo_l4r5zi)")
    g.addoption("--hw-map", default=None, help="JSON list of {board, port, reset_cmd} for several boards")
    g.addoption("--flash", action="store_true", help="upload the firmware to the board(s) first")
    g.addoption("--models", default="default", help="default, all, or a comma list of bench models")
    g.addoption("--inputs", type=int, default=3, help="inputs per model")
    g.addoption("--report", default=str(ROOT / "build" / "hil_report"), help="report directory")


def _boards(config):
    if config.getoption("--hw-map"):
        return json.loads(pathlib.Path(config.getoption("--hw-map")).read_text())
    if config.getoption("--port"):
        return [{"board": config.getoption("--board") or "board", "port": config.getoption("--port")}]
    return []


def _targets(config):
    boards = _boards(config)
    if boards:
        return [b["board"] for b in boards]
    return [t.strip() for t in config.getoption("--dut").split(",") if t.strip()]


def _models(config):
    m = config.getoption("--models")
    return cases.DEFAULT if m == "default" else cases.ALL if m == "all" else [x.strip() for x in m.split(",")]


def pytest_generate_tests(metafunc):
    if "bench_model" in metafunc.fixturenames:
        metafunc.parametrize("bench_model", _models(metafunc.config))
    if "dut_name" in metafunc.fixturenames:
        metafunc.parametrize("dut_name", _targets(metafunc.config))


def _flash(board, config):
    env = board["board"]
    cmd = ["pio", "run", "-d", str(ROOT / ("firmware_k210" if "maix" in env else "firmware_stm32")),
           "-e", env, "-t", "upload", "--upload-port", board["port"]]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"flashing {env} failed ({' '.join(cmd)}):\n{r.stdout[-2000:]}{r.stderr[-2000:]}")


@pytest.fixture
def session(dut_name, request):
    """One device per target per worker, kept for the whole run (restarted on faults)."""
    if dut_name not in _DUTS:
        boards = {b["board"]: b for b in _boards(request.config)}
        log = print
        if dut_name in boards:
            b = boards[dut_name]
            if request.config.getoption("--flash"):
                _flash(b, request.config)
            dut = harness.SerialDut(b["port"], name=dut_name, reset_cmd=b.get("reset_cmd"), log=log)
        else:
            from emc.hil import firmware, qemu
            if dut_name not in qemu.MACHINES:
                pytest.fail(f"unknown --dut {dut_name!r}; known: {', '.join(qemu.MACHINES)} or a board via --port")
            if not firmware.toolchain_available(dut_name) or not qemu.qemu_available(dut_name):
                pytest.skip(f"{dut_name}: cross toolchain or QEMU missing (nox -s hil installs them as root)")
            dut = harness.QemuDut(dut_name, log=log)
        _DUTS[dut_name] = harness.Session(dut, log=log)
    return _DUTS[dut_name]


@pytest.fixture
def record():
    def add(result):
        _RESULTS.append(result)
    return add


def pytest_sessionfinish(session, exitstatus):
    for s in _DUTS.values():
        s.dut.close()
    outdir = pathlib.Path(session.config.getoption("--report"))
    outdir.mkdir(parents=True, exist_ok=True)
    worker = getattr(session.config, "workerinput", {}).get("workerid")
    if worker:                                   # xdist worker: leave a part for the controller
        if _RESULTS:
            (outdir / f"part-{worker}.json").write_text(json.dumps([_as_dict(r) for r in _RESULTS]))
        return
    results = list(_RESULTS)
    for part in sorted(outdir.glob("part-*.json")):
        results += [report.Result(**d) for d in json.loads(part.read_text())]
        part.unlink()
    if results:
        results.sort(key=lambda r: (r.model, r.target))
        md, html = report.write(results, outdir, meta={"targets": ",".join(_targets(session.config)),
                                                       "inputs per model": session.config.getoption("--inputs")})
        tr = session.config.pluginmanager.get_plugin("terminalreporter")
        if tr:
            tr.write_line(f"HIL report: {md} and {html}")


def _as_dict(r):
    import dataclasses
    d = dataclasses.asdict(r)
    d["errors_vs_float"] = [float(v) for v in d["errors_vs_float"][:5000]]
    return d
