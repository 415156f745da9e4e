"""`nox -s hil` / `pytest hil_tests`: run the bench matrix on devices under test and write the
report. Options:
  --dut qemu-m4,qemu-m7,qemu-rv64     QEMU targets (started here, one per xdist worker)
  --port /dev/ttyACM0 --board NAME    a real board (add --flash to upload the firmware first)
  --hw-map boards.json                several boards: [{"board": ..., "port": ..., "reset_cmd": ...}]
  --models default|all|name,name      the model matrix (emc.hil.cases)
  --inputs N                          inputs per model (default 3)
  --report DIR                        where report.md/html, PNGs and results.json go
  --lg-places all|name,name           run on the places of a labgrid farm (docs/farm.md); every test is
                                      pinned to a place of its target; -n PLACES: a worker per place
  --farm-coordinator HOST:PORT        the labgrid coordinator (default: $LG_COORDINATOR)
  --farm-json FILE                    with --lg-places: rows {model, target, place, exporter, bit_exact}
"""
from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import subprocess

import pytest

from emc.hil import cases, harness, report

ROOT = pathlib.Path(__file__).resolve().parents[1]
_RESULTS: list = []
_DUTS: dict = {}
_FARM: dict = {}            # farm mode: coordinator session, plan, failure reasons, lost places


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
    g.addoption("--lg-places", default=None, help="'all' or a comma list of labgrid places to run on")
    g.addoption("--farm-json", default=None, help="with --lg-places: write the per-case rows here")
    g.addoption("--farm-coordinator", default=None, help="labgrid coordinator HOST:PORT (default: $LG_COORDINATOR)")


def _worker(config):
    return getattr(config, "workerinput", {}).get("workerid")


def _farm_mode(config):
    return bool(config.getoption("--lg-places"))


def _coordinator(config):
    if "coord" not in _FARM:
        from emc.hil.labgrid_place import Coordinator
        address = config.getoption("--farm-coordinator") or os.environ.get("LG_COORDINATOR", "127.0.0.1:20408")
        try:
            _FARM["coord"] = Coordinator(address)
        except ConnectionError as e:
            raise pytest.UsageError(str(e))
    return _FARM["coord"]


def _farm_plan(config):
    """[(model, target, place)]: every model on every target found among the places, each pinned
    to one place of its target (round robin), in the same order in every process."""
    if "plan" not in _FARM:
        want = config.getoption("--lg-places")
        places = {n: p.tags.get("target") for n, p in sorted(_coordinator(config).places().items())
                  if p.tags.get("target") and (want == "all" or n in want.split(","))}
        if not places:
            raise pytest.UsageError(f"no labgrid place with a 'target' tag matches --lg-places {want}")
        by_target: dict = {}
        for name, target in places.items():
            by_target.setdefault(target, []).append(name)
        _FARM["plan"] = [(m, t, names[i % len(names)]) for t, names in sorted(by_target.items())
                         for i, m in enumerate(_models(config))]
    return _FARM["plan"]


def _run_prefix():
    """Holder names of this run's processes: emc-hil-<run>-<worker>-<pid> (the run is the
    controller's pid, inherited by the xdist workers)."""
    from emc.hil.labgrid_place import USER_PREFIX
    return f"{USER_PREFIX}{os.environ['EMC_FARM_RUN']}-"


def pytest_configure(config):
    if _farm_mode(config):
        if config.getoption("--flash"):
            raise pytest.UsageError("--flash with --lg-places: flash the boards from their exporter hosts "
                                    "(docs/farm.md, 'Firmware on the boards')")
        os.environ.setdefault("EMC_FARM_RUN", str(os.getpid()))
        # who holds a place, as the coordinator sees it: a dead worker's places can be told apart
        os.environ["LG_USERNAME"] = f"{_run_prefix()}{_worker(config) or 'main'}-{os.getpid()}"


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
    if _farm_mode(metafunc.config) and "bench_model" in metafunc.fixturenames:
        metafunc.parametrize("bench_model,dut_name", [
            pytest.param(m, t, id=f"{m}-{t}", marks=pytest.mark.xdist_group(place))
            for m, t, place in _farm_plan(metafunc.config)])
        return
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


def _error_result(model, target, reason, dut=None, place=""):
    return report.Result(model, target, status="error", error=reason, notes=[reason],
                         place=getattr(dut, "place", place), exporter=getattr(dut, "exporter", ""))


def _place_session(request, bench_model, dut_name):
    """The place this test is pinned to, acquired by this worker on first use and checked before
    every test: a lost exporter or board makes the test an error that says why."""
    from emc.hil.labgrid_place import PlaceDut, PlaceLost
    place = request.node.get_closest_marker("xdist_group").args[0]
    dut = _DUTS.get(place)
    lost = _FARM.setdefault("lost", {})
    try:
        if place in lost:           # could not be acquired or set up before: same reason
            raise PlaceLost(lost[place])
        if dut is None:
            dut = PlaceDut(_coordinator(request.config), place, log=print)
            _DUTS[place] = harness.Session(dut, log=print)
        else:
            dut.dut.check()
    except Exception as e:      # noqa: BLE001 - every reason is reported as this case's error
        reason = str(e) if isinstance(e, PlaceLost) else f"place {place}: {type(e).__name__}: {e}"
        lost.setdefault(place, reason)
        _record(_error_result(bench_model, dut_name, reason, getattr(dut, "dut", None), place), request.config)
        raise PlaceLost(reason) from e
    return _DUTS[place]


@pytest.fixture
def session(dut_name, bench_model, request):
    """One device per target per worker, kept for the whole run (restarted on faults)."""
    if _farm_mode(request.config):
        return _place_session(request, bench_model, dut_name)
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


def _record(result, config):
    _RESULTS.append(result)
    worker = _worker(config)
    if worker:          # a part for the controller, rewritten at every result: a worker may be killed
        outdir = pathlib.Path(config.getoption("--report"))
        outdir.mkdir(parents=True, exist_ok=True)
        (outdir / f"part-{worker}-{os.getpid()}.json").write_text(json.dumps([_as_dict(r) for r in _RESULTS]))


@pytest.fixture
def record(request):
    def add(result):
        _record(result, request.config)
    return add


def pytest_runtest_logreport(report):
    """Controller side: why each case failed, also for a case whose worker died under it."""
    if report.failed and "reasons" in _FARM:
        lines = str(report.longrepr).strip().splitlines()
        _FARM["reasons"][report.nodeid.split("@")[0]] = lines[-1] if lines else report.outcome


def pytest_sessionstart(session):
    if _farm_mode(session.config) and not _worker(session.config):
        _FARM["reasons"] = {}
        _coordinator(session.config)


if importlib.util.find_spec("xdist"):
    def pytest_xdist_make_scheduler(config, log):
        """Farm mode: xdist's scope scheduler with the place as the scope, so all tests of a place go
        to the worker that holds it (xdist 3.8's loadgroup renames item._nodeid, which pytest 9 no
        longer reads, so its groups are ignored)."""
        if not _farm_mode(config):
            return None
        from xdist.scheduler import LoadScopeScheduling
        place_of = {f"[{m}-{t}]": place for m, t, place in _farm_plan(config)}

        class PlaceScheduling(LoadScopeScheduling):
            def _split_scope(self, nodeid):
                return place_of.get(nodeid[nodeid.rfind("["):], nodeid)
        return PlaceScheduling(config, log)

    def pytest_testnodedown(node, error):
        """A worker died (xdist replaces it): free the places it held, for whoever runs them next."""
        if error and "coord" in _FARM:
            for freed in _FARM["coord"].release_held_by(f"{_run_prefix()}{node.gateway.id}-"):
                print(f"released place {freed}: worker {node.gateway.id} died")


def pytest_sessionfinish(session, exitstatus):
    for s in _DUTS.values():
        if hasattr(s.dut, "release"):
            s.dut.release()
        else:
            s.dut.close()
    outdir = pathlib.Path(session.config.getoption("--report"))
    outdir.mkdir(parents=True, exist_ok=True)
    if _worker(session.config):                  # xdist worker: its part is already written
        return
    results = list(_RESULTS)
    for part in sorted(outdir.glob("part-*.json")):
        results += [report.Result(**d) for d in json.loads(part.read_text())]
        part.unlink()
    if _farm_mode(session.config):
        results = _farm_finish(session, results, exitstatus)
    if results:
        results.sort(key=lambda r: (r.model, r.target))
        md, html = report.write(results, outdir, meta={"targets": ",".join(_targets(session.config)),
                                                       "inputs per model": session.config.getoption("--inputs")})
        tr = session.config.pluginmanager.get_plugin("terminalreporter")
        if tr:
            tr.write_line(f"HIL report: {md} and {html}")


def _farm_finish(session, results, exitstatus):
    """Free places left held by this run's workers; one row per planned case (a case with no result,
    e.g. its worker died, is an error with pytest's reason); write --farm-json."""
    config = session.config
    coord = _coordinator(config)
    for freed in coord.release_held_by(_run_prefix()):
        print(f"released place {freed} at the end of the run")
    # a case run twice (its worker died and xdist ran it again elsewhere): keep its best outcome
    rank = {"pass": 0, "fail": 1, "error": 2}
    best = {}
    for r in results:
        key = (r.model, r.target)
        if key not in best or rank.get(r.status, 3) < rank.get(best[key].status, 3):
            best[key] = r
    results = list(best.values())
    have = set(best)
    reasons = _FARM.get("reasons", {})
    for m, t, place in _farm_plan(config):
        if (m, t) not in have:
            why = next((v for k, v in reasons.items() if k.endswith(f"[{m}-{t}]")), "no result (not run)")
            results.append(_error_result(m, t, why, place=place))
    places = coord.places()
    for r in results:           # a case that never reached its board: the exporter from the place's match
        if not r.exporter and r.place in places and places[r.place].matches:
            r.exporter = places[r.place].matches[0].exporter
    rows = [{"model": r.model, "target": r.target, "place": r.place, "exporter": r.exporter,
             "bit_exact": r.inputs > 0 and r.bit_exact == r.inputs, "status": r.status, "inputs": r.inputs,
             "reason": None if r.status == "pass" else r.error or r.first_divergence or "not bit-exact"}
            for r in sorted(results, key=lambda r: (r.model, r.target))]
    verdict = "pass" if (rows and exitstatus == 0 and all(x["status"] == "pass" and x["bit_exact"] for x in rows)) \
        else "fail"
    path = config.getoption("--farm-json")
    if path:
        pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(path).write_text(json.dumps({"verdict": verdict, "coordinator": coord.address,
                                                  "pytest_exit": int(exitstatus), "failures": reasons,
                                                  "rows": rows}, indent=1))
    coord.close()
    return results


def _as_dict(r):
    import dataclasses
    d = dataclasses.asdict(r)
    d["errors_vs_float"] = [float(v) for v in d["errors_vs_float"][:5000]]
    return d
