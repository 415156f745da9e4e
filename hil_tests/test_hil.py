"""Every bench model on every device under test: bit-exact with the PC reference, measured."""
import pytest

from emc.hil import cases, harness

_CASES = {}


def case_for(name, n):
    if (name, n) not in _CASES:
        _CASES[(name, n)] = cases.build(name, n)
    return _CASES[(name, n)]


def test_model_on_device(bench_model, dut_name, session, record, request):
    n = request.config.getoption("--inputs")
    try:
        case = case_for(bench_model, n)
    except ImportError as e:        # e.g. the TensorLayer example without TensorFlow installed
        pytest.skip(f"{bench_model}: {e}")
    r = harness.check_case(session, case)       # records a lost device / place as an error, with the reason
    r.place, r.exporter = getattr(session.dut, "place", ""), getattr(session.dut, "exporter", "")
    record(r)
    assert r.inputs == len(case.inputs), f"{bench_model} on {dut_name}: only {r.inputs} inputs ran: {r.error}"
    assert r.bit_exact == r.inputs, (f"{bench_model} on {dut_name}: {r.inputs - r.bit_exact} of {r.inputs} outputs "
                                     f"differ from the PC reference; first divergence: {r.first_divergence}")
