"""Generic int8 profile: Keras LSTM layers (UNIDIRECTIONAL_SEQUENCE_LSTM, int8 activations and weights,
int16 cell state) and STRIDED_SLICE, made by the real TFLite converter, imported with emc and compared
bit for bit with TFLite Micro's reference kernels in the Python reference and the C runtime.

The converter fuses only a Keras 2 (tf_keras) LSTM layer into UNIDIRECTIONAL_SEQUENCE_LSTM; a Keras 3
LSTM becomes a WHILE loop, whose int8 calibration crashes the converter of TF 2.21 (docs/generic_profile.md)."""
import os

import numpy as np
import pytest

from .test_generic_ops import int8_tflite
from .tflm_support import check_bit_exact

pytestmark = pytest.mark.slow


def keras_lstm_tflite(units, steps, features, return_sequences, batch=1, gain=1.0, seed=0):
    """Input [batch, steps, features] -> LSTM(units) -> Dense(3), full int8 (inputs and outputs int8).
    gain scales the LSTM's input weights, driving gates into saturation and the cell state to its clip."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    tf = pytest.importorskip("tensorflow")
    tf_keras = pytest.importorskip("tf_keras")
    tf_keras.utils.set_random_seed(seed)
    inp = tf_keras.Input((steps, features), batch_size=batch)
    lstm = tf_keras.layers.LSTM(units, return_sequences=return_sequences)
    model = tf_keras.Model(inp, tf_keras.layers.Dense(3)(lstm(inp)))
    kernel, recurrent, bias = lstm.get_weights()
    rng = np.random.default_rng(seed)
    lstm.set_weights([kernel * gain, recurrent, bias + rng.normal(0, 0.3, bias.shape).astype(np.float32)])

    def rep():
        for _ in range(24):
            yield [rng.normal(0, 1, (batch, steps, features)).astype(np.float32)]
    c = tf.lite.TFLiteConverter.from_keras_model(model)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.representative_dataset = rep
    c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    c.inference_input_type = c.inference_output_type = tf.int8
    return c.convert()


# units 4..32, time steps 1..20, odd and even features, whole sequence or last step, batch 2, saturating gains
LSTM_CASES = [(4, 1, 3, True, 1, 1.0), (32, 20, 8, True, 1, 1.0), (16, 7, 5, False, 1, 1.0),
              (5, 12, 2, True, 2, 3.0), (12, 9, 6, False, 1, 3.0), (9, 20, 1, False, 1, 1.0),
              (24, 3, 16, True, 1, 2.0)]


@pytest.mark.parametrize("units,steps,features,seq,batch,gain", LSTM_CASES, ids=str)
def test_keras_lstm(units, steps, features, seq, batch, gain, native):
    data = keras_lstm_tflite(units, steps, features, seq, batch, gain, seed=units + steps)
    km, _ = check_bit_exact(data, native, ops=["UNIDIRECTIONAL_SEQUENCE_LSTM"] + ([] if seq else ["STRIDED_SLICE"]))
    names = [layer.NAME for layer in km.layers]
    assert names[1] == "GENERIC_LSTM" and ("GENERIC_STRIDED_SLICE" in names) == (not seq)
    lstm = km.layers[1]
    assert lstm.cell_clip == 32767 and lstm.cpu_scratch() == 2 * units    # Keras' cell_clip 10.0 at scale 2^-15


def _set_cell_activation(data, act):
    """The file with the LSTM's fused (cell gate) activation byte set to `act`."""
    import tflite
    m = tflite.Model.GetRootAsModel(data, 0)
    g = m.Subgraphs(0)
    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        if m.OperatorCodes(op.OpcodeIndex()).BuiltinCode() == tflite.BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM:
            o = tflite.UnidirectionalSequenceLSTMOptions()
            t = op.BuiltinOptions()
            o.Init(t.Bytes, t.Pos)
            pos = o._tab.Pos + o._tab.Offset(4)          # field 0: fused_activation_function (int8)
            assert data[pos] == tflite.ActivationFunctionType.TANH
            return data[:pos] + bytes([act]) + data[pos + 1:]
    raise AssertionError("no UNIDIRECTIONAL_SEQUENCE_LSTM")


def test_lstm_unsupported_variant_is_refused():
    """A cell gate activation TFLM does not run (RELU; the schema has no sigmoid, tanh is all a file can
    ask for): a one-line import error naming the operator."""
    import tflite

    from emc.backends.generic import import_tflite
    data = _set_cell_activation(keras_lstm_tflite(4, 3, 2, True), tflite.ActivationFunctionType.RELU)
    with pytest.raises(ValueError, match=r"UNIDIRECTIONAL_SEQUENCE_LSTM #0: cell gate activation 1"):
        import_tflite(data)


# (input shape, begin, end, strides, begin_mask, end_mask, shrink_axis_mask)
STRIDED_SLICE_CASES = [((1, 7, 5, 6), [0, 1, 0, 2], [1, 6, 5, 5], [1, 2, 1, 1], 0, 0, 0),
                       ((1, 9, 4, 3), [0, -1, 3, 0], [1, -8, -5, 3], [1, -2, -1, 1], 1, 8, 0),
                       ((1, 8, 6), [0, 7, 1], [1, 8, 6], [1, 1, 2], 0, 0, 2),
                       ((1, 5, 9, 8), [0, 0, -3, 1], [0, 0, 0, 8], [1, 1, 1, 3], 3, 7, 0),
                       ((1, 10, 3), [0, -2, 2], [1, 0, 0], [1, 1, -1], 1, 4, 2)]


@pytest.mark.parametrize("shape,begin,end,strides,bm,em,sm", STRIDED_SLICE_CASES, ids=str)
def test_strided_slice(shape, begin, end, strides, bm, em, sm, native):
    import tensorflow as tf
    rng = np.random.default_rng(sum(shape))
    c = tf.constant(rng.normal(0, 1, shape[1:]).astype(np.float32))
    data = int8_tflite(lambda x: tf.strided_slice(x * 0.7 + c, begin, end, strides, begin_mask=bm, end_mask=em,
                                                  shrink_axis_mask=sm), [shape])
    check_bit_exact(data, native, ops=["STRIDED_SLICE"])
