"""Fast checks of GENERIC_LSTM's int16 nonlinearities and GENERIC_STRIDED_SLICE's axis arithmetic
against independent float / Python-slice computations (the bit-exact TFLM comparisons are the slow
tests in test_generic_lstm.py), and of the C kernel's copy of the sigmoid table."""
import pathlib
import re

import numpy as np
import pytest

from emc.kmodel.layers.generic_lstm import (SIGMOID_TABLE, checked_log2, sigmoid16, tanh16,
                                            tanh_input_scaling)
from emc.kmodel.layers.generic_strided_slice import axis_range

C_LSTM = pathlib.Path(__file__).resolve().parents[2] / "runtime_c" / "kernels" / "generic" / "g_lstm.c"
X = np.arange(-32768, 32768, dtype=np.int64)


def test_c_sigmoid_table_is_the_python_one():
    body = re.search(r"sigmoid_q16\[256\] = \{([^}]*)\}", C_LSTM.read_text()).group(1)
    assert [int(v) for v in body.replace("\n", " ").split(",") if v.strip()] == SIGMOID_TABLE.tolist()


def test_table_is_sigmoid_of_k_over_24():
    k = np.arange(256)
    assert np.abs(SIGMOID_TABLE / 65536 - 1 / (1 + np.exp(-k / 24))).max() < 2e-5


def test_sigmoid16_is_sigmoid_in_q0_15_of_q3_12():
    got = sigmoid16(X)
    assert got.min() >= 0 and got.max() <= 32767 and sigmoid16(0) == 16384
    assert np.abs(got / 32768 - 1 / (1 + np.exp(-X / 4096))).max() < 1e-4


@pytest.mark.parametrize("power", [-12, -15, -13, -11])
def test_tanh16_is_tanh_in_q0_15_of_an_input_at_2_to_power(power):
    mult, shift = tanh_input_scaling(power)
    got = tanh16(X, mult, shift)
    assert tanh16(0, mult, shift) == 0 and got.min() >= -32767 and got.max() <= 32767
    assert np.abs(got / 32768 - np.tanh(X * 2.0 ** power)).max() < 2e-4


def test_tanh_input_scaling_and_log2():
    assert tanh_input_scaling(-12) == (3, 0) and tanh_input_scaling(-15) == (3, 3)
    assert tanh_input_scaling(-11) == (6, 0)
    assert [checked_log2(2.0 ** p) for p in (-15, -12, -1, 0, 3)] == [-15, -12, -1, 0, 3]


def test_strided_slice_axis_range_is_python_slicing():
    rng = np.random.default_rng(0)
    for _ in range(3000):
        dim = int(rng.integers(1, 12))
        b, e = (int(v) for v in rng.integers(-15, 15, 2))
        stride = int(rng.choice([-3, -2, -1, 1, 2, 3]))
        bm, em = (int(v) for v in rng.integers(0, 2, 2))
        start, count = axis_range(dim, b, e, stride, bm, em, 0)
        want = list(range(dim))[slice(None if bm else b, None if em else e, stride)]
        assert [start + stride * i for i in range(count)] == want, (dim, b, e, stride, bm, em)
        if -dim <= b < dim and stride > 0:  # shrink_axis: the one index begin names (TFLM: none when stride < 0)
            assert axis_range(dim, b, e, stride, 0, em, 1) == (b % dim, 1)
