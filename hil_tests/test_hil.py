"""Every bench model on every device under test: bit-exact with the PC reference, measured."""
import pytest

from emc.hil import cases, harness

_CASES = {}


def case_for(name, n):
    if (name, n) not in _CASES:
        _CASES[(name, n)] = cases.build(name, n)
    return _CASES[(name, n)]


def test_model_on_device(bench_model, dut_name, session, record, error_result, request):
    n = request.config.getoption("--inputs")
    try:
        case = case_for(bench_model, n)
    except ImportError as e:        # e.g. the TensorLayer example without TensorFlow installed
        pytest.skip(f"{bench_model}: {e}")
    try:
        r = harness.check_case(session, case)
    except (harness.DeviceLost, RuntimeError, OSError) as e:    # a lost device / place: say which and why
        record(error_result(bench_model, dut_name, f"{type(e).__name__}: {e}", session.dut))
        raise
    r.place, r.exporter = getattr(session.dut, "place", ""), getattr(session.dut, "exporter", "")
    record(r)
    assert r.inputs == len(case.inputs), f"{bench_model} on {dut_name}: only {r.inputs} inputs ran"
    assert r.bit_exact == r.inputs, (f"{bench_model} on {dut_name}: {r.inputs - r.bit_exact} of {r.inputs} outputs "
                                     f"differ from the PC reference; first divergence: {r.first_divergence}")
