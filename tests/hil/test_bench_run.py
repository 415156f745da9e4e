"""The bench end to end, as `nox -s hil` runs it: a small model matrix on QEMU M4, M7 and RV64,
through real serial traffic, with the report and JUnit XML written."""
import json
import subprocess
import sys

import pytest

from emc.hil import firmware, qemu

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hil-bench")]
TARGETS = ["qemu-m4", "qemu-m7", "qemu-rv64"]


def test_hil_bench_on_three_qemu_targets(tmp_path):
    for t in TARGETS:
        if not (firmware.toolchain_available(t) and qemu.qemu_available(t)):
            pytest.skip(f"{t}: cross toolchain or QEMU missing")
    report = tmp_path / "report"
    r = subprocess.run([sys.executable, "-m", "pytest", "hil_tests", "-q", "-p", "no:cacheprovider",
                        "--dut", ",".join(TARGETS), "--models", "iris-nncase,kws,mbnet-k210", "--inputs", "2",
                        f"--report={report}", f"--junitxml={report / 'junit.xml'}"],
                       capture_output=True, text=True, cwd=firmware.ROOT, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "9 passed" in r.stdout
    results = json.loads((report / "results.json").read_text())["results"]
    assert {(x["model"], x["target"]) for x in results} == {(m, t) for m in ("iris-nncase", "kws", "mbnet-k210")
                                                            for t in TARGETS}
    for x in results:
        assert x["status"] == "pass" and x["bit_exact"] == x["inputs"] == 2
        assert x["count_per_inference"] > 0 and x["arena_bytes"] > 0
    html = (report / "report.html").read_text()
    assert "data:image/png;base64," in html          # the plots are embedded
    assert (report / "junit.xml").exists() and (report / "report.md").exists()
