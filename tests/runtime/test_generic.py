"""Generic int8 profile: outputs bit-identical to TFLM (tflite_micro.runtime.Interpreter, its
reference kernels) in the C runtime and in the Python reference, for the four MLPerf Tiny models
and small fixtures covering MAX_POOL_2D, CONCATENATION, QUANTIZE/DEQUANTIZE (float I/O),
depth multipliers and two model inputs; arena sizes against TFLM's."""
import pathlib

import numpy as np
import pytest

from emc.backends.generic import import_tflite

from .tflm_support import check_bit_exact

DATA = pathlib.Path(__file__).resolve().parent / "data"
# TFLM arena bytes for the MLPerf Tiny models (issue 4).
TFLM_ARENA = {"ad01_int8": 2580, "kws_ref_model": 22820, "pretrainedResnet_quant": 54996, "vww_96_int8": 100708}
FIXTURES = ["generic_mix_float_io", "generic_mix_int8_io", "generic_lstm_int8_io", "generic_two_inputs"]


def check_vs_tflm(data, n, native):
    return check_bit_exact(data, native, n, seed=20)[1]


HEAVY = {"pretrainedResnet_quant", "vww_96_int8"}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n for n in sorted(TFLM_ARENA)])
def test_mlperf_tiny_bit_exact_vs_tflm(name, models_dir, native):
    nm = check_vs_tflm((models_dir / f"{name}.tflite").read_bytes(), 20, native)
    assert nm.arena_required <= 0.75 * TFLM_ARENA[name]


def test_output_tensor_reports_shape_and_quantization(models_dir, native):
    import ctypes as C

    import tflite
    data = (models_dir / "kws_ref_model.tflite").read_bytes()
    nm = native.NativeModel(import_tflite(data).to_bytes())
    t = native.Tensor()
    nm.L.emc_model_output(nm._m, 0, C.byref(t))
    g = tflite.Model.GetRootAsModel(data, 0).Subgraphs(0)
    to = g.Tensors(g.Outputs(0))
    q = to.Quantization()
    assert tuple(t.shape[:t.rank]) == tuple(to.ShapeAsNumpy())
    assert t.dtype == 2 and t.scale == np.float32(q.Scale(0)) and t.zero_point == q.ZeroPoint(0)


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_layers_bit_exact_vs_tflm(name, native):
    check_vs_tflm((DATA / f"{name}.tflite").read_bytes(), 20, native)

