"""Generic int8 profile: Keras LSTM layers (UNIDIRECTIONAL_SEQUENCE_LSTM, int8 activations and weights,
int16 cell state) and STRIDED_SLICE, made by the real TFLite converter, imported with emc and compared
bit for bit with TFLite Micro's reference kernels in the Python reference and the C runtime.

The converter fuses only a Keras 2 (tf_keras) LSTM layer into UNIDIRECTIONAL_SEQUENCE_LSTM; a Keras 3
LSTM becomes a WHILE loop, whose int8 calibration crashes the converter of TF 2.21 (docs/generic_profile.md)."""
import os

import numpy as np
import pytest

from emc.kmodel.arena import arena_bytes

from .tflite_making import int8_tflite
from .tflm_support import check_bit_exact

pytestmark = pytest.mark.slow


def keras_lstm_tflite(units, steps, features, return_sequences, batch=1, gain=1.0, seed=0, stacked=0,
                      float_io=False):
    """Input [batch, steps, features] -> LSTM(units) -> Dense(3), int8 (float inputs and outputs with float_io).
    gain scales the LSTM's input weights, driving gates into saturation and the cell state to its clip;
    stacked: that many LSTM(units, return_sequences=True) layers before it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    tf = pytest.importorskip("tensorflow")
    tf_keras = pytest.importorskip("tf_keras")
    tf_keras.utils.set_random_seed(seed)
    inp = tf_keras.Input((steps, features), batch_size=batch)
    x = inp
    for _ in range(stacked):
        x = tf_keras.layers.LSTM(units, return_sequences=True)(x)
    lstm = tf_keras.layers.LSTM(units, return_sequences=return_sequences)
    model = tf_keras.Model(inp, tf_keras.layers.Dense(3)(lstm(x)))
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
    if not float_io:
        c.inference_input_type = c.inference_output_type = tf.int8
    return c.convert()


# units 4..32, time steps 1..20, odd and even features, whole sequence or last step, batch 2, saturating gains
LSTM_CASES = [(4, 1, 3, True, 1, 1.0), (32, 20, 8, True, 1, 1.0), (16, 7, 5, False, 1, 1.0),
              (5, 12, 2, True, 2, 3.0), (12, 9, 6, False, 1, 3.0), (9, 20, 1, False, 1, 1.0),
              (24, 3, 16, True, 1, 2.0)]


@pytest.mark.parametrize("units,steps,features,seq,batch,gain", LSTM_CASES, ids=str)
def test_keras_lstm(units, steps, features, seq, batch, gain, native):
    data = keras_lstm_tflite(units, steps, features, seq, batch, gain, seed=units + steps)
    km, nm = check_bit_exact(data, native, ops=["UNIDIRECTIONAL_SEQUENCE_LSTM"] + ([] if seq else ["STRIDED_SLICE"]))
    assert arena_bytes(km) == nm.arena_required          # the cell state's scratch counted alike in Python and C
    names = [layer.NAME for layer in km.layers]
    assert names[1] == "GENERIC_LSTM" and ("GENERIC_STRIDED_SLICE" in names) == (not seq)
    lstm = km.layers[1]
    assert lstm.cell_clip == 32767 and lstm.cpu_scratch() == 2 * units    # Keras' cell_clip 10.0 at scale 2^-15


def test_stacked_lstms_float_io(native):
    """Two LSTMs stacked (the first one's whole output sequence is the second one's input) between the
    QUANTIZE / DEQUANTIZE of a float-I/O model."""
    data = keras_lstm_tflite(10, 6, 4, False, gain=1.5, seed=3, stacked=1, float_io=True)
    km, _ = check_bit_exact(data, native, ops=["UNIDIRECTIONAL_SEQUENCE_LSTM", "QUANTIZE", "DEQUANTIZE"])
    assert [layer.NAME for layer in km.layers].count("GENERIC_LSTM") == 2


UNSTACK_CASES = [((1, 5, 3), 1, 2), ((1, 4, 6, 2), 2, 1), ((1, 7, 4), 2, 0), ((1, 3, 5, 4), 3, 3)]


@pytest.mark.parametrize("shape,unstack_axis,stack_axis", UNSTACK_CASES, ids=str)
def test_unpack_pack(shape, unstack_axis, stack_axis, native):
    """UNPACK (GENERIC_SLICE per output) and PACK (GENERIC_CONCAT along a new axis), as the converter writes
    a Keras 3 LSTM with unroll=True; the pieces are scaled apart so each output is a tensor of its own."""
    import tensorflow as tf
    rng = np.random.default_rng(sum(shape))
    c = tf.constant(rng.normal(0, 1, shape[1:]).astype(np.float32))

    def fn(x):
        parts = tf.unstack(x * 0.7 + c, axis=unstack_axis)
        return tf.stack([tf.tanh(p * (k + 1.5)) for k, p in enumerate(reversed(parts))], axis=stack_axis)
    check_bit_exact(int8_tflite(fn, [shape]), native, ops=["UNPACK", "PACK"])


def _set_lstm_option(data, field, fmt, value):
    """The file with field `field` (struct format `fmt`) of the LSTM's UnidirectionalSequenceLSTMOptions set to
    `value`: the converter writes both fields used here (fused activation TANH, cell_clip 10.0)."""
    import struct

    import tflite
    m = tflite.Model.GetRootAsModel(data, 0)
    g = m.Subgraphs(0)
    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        if m.OperatorCodes(op.OpcodeIndex()).BuiltinCode() == tflite.BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM:
            o = tflite.UnidirectionalSequenceLSTMOptions()
            t = op.BuiltinOptions()
            o.Init(t.Bytes, t.Pos)
            off = o._tab.Offset(4 + 2 * field)
            assert off, f"option field {field} is absent (default value)"
            pos = o._tab.Pos + off
            return data[:pos] + struct.pack(fmt, value) + data[pos + struct.calcsize(fmt):]
    raise AssertionError("no UNIDIRECTIONAL_SEQUENCE_LSTM")


@pytest.mark.parametrize("clip", [0.3, 0.07])
def test_lstm_cell_clip(clip, native):
    """A tighter cell_clip than Keras' 10.0 (set in the file): TFLM clips the cell state to clip / scale
    every step, and so must EMC."""
    data = _set_lstm_option(keras_lstm_tflite(14, 9, 5, True, gain=2.0, seed=6), 1, "<f", clip)
    km, _ = check_bit_exact(data, native, ops=["UNIDIRECTIONAL_SEQUENCE_LSTM"])
    assert 0 < km.layers[1].cell_clip < 32767


def test_lstm_unsupported_variant_is_refused():
    """A cell gate activation TFLM does not run (RELU; the schema has no sigmoid, tanh is all a file can
    ask for): a one-line import error naming the operator."""
    import tflite

    from emc.backends.generic import import_tflite
    data = _set_lstm_option(keras_lstm_tflite(4, 3, 2, True), 0, "<b", tflite.ActivationFunctionType.RELU)
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


def _qemu_matches_tflm(target, models, kernels=None, n_inputs=4):
    """Each TFLite LSTM model converted and run by the HIL firmware (cross-built C runtime) under QEMU, over its
    serial link, on random int8 inputs: the output bytes TFLM gives."""
    tflm = pytest.importorskip("tflite_micro")
    from emc.backends.generic import import_tflite
    from emc.hil import firmware
    from emc.hil.qemu import Qemu, qemu_available
    if not firmware.toolchain_available(target) or not qemu_available(target):
        pytest.skip(f"{target}: cross compiler or QEMU not installed")
    q = Qemu(target, firmware.build(target, kernels=kernels))
    q.start()
    try:
        dev = q.client()
        for data in models:
            ip = tflm.runtime.Interpreter.from_bytes(data)
            shape = tuple(int(d) for d in ip.get_input_details(0)["shape"])
            dev.reset()
            dev.load(import_tflite(data).to_bytes())
            rng = np.random.default_rng(2)
            for _ in range(n_inputs):
                x = rng.integers(-128, 128, shape, dtype=np.int8)
                ip.reset()
                ip.set_input(x, 0)
                ip.invoke()
                inv, outs = dev.run(x.tobytes())
                assert inv.status == 0 and outs[0] == np.asarray(ip.get_output(0)).tobytes(), f"{target} {shape}"
    finally:
        q.close()


@pytest.mark.parametrize("target", ["qemu-m4", "qemu-m7", "qemu-rv64"])
def test_keras_lstm_on_qemu(target):
    """An LSTM (whole sequence then its last step) on the firmware (the Cortex-M ones with the DSP kernels)
    gives TFLM's bytes."""
    _qemu_matches_tflm(target, [keras_lstm_tflite(20, 11, 7, False, gain=2.0, seed=9)])


# (units, steps, features): lengths that leave every remainder of the DSP gate products (8 inputs per loop
# trip, then a group of 4, then 1-3 single inputs) for the input (features) and recurrent (units) vectors
DSP_ODD_LSTMS = [(13, 6, 7), (5, 9, 1), (22, 4, 11), (3, 5, 2), (9, 3, 12), (1, 4, 17)]


@pytest.mark.parametrize("target", ["qemu-m4", "qemu-m7"])
def test_lstm_odd_lengths_dsp_firmware(target):
    """The Cortex-M DSP build's SMLAD gate products (runtime_c/ports/cortex_m/kernels_dsp_lstm.c) on input
    features and units that are not multiples of 2, 4 or 8, saturating gains and a batch of 2: TFLM's bytes."""
    models = [keras_lstm_tflite(u, t, f, True, batch=1 + i % 2, gain=1.0 + i % 3, seed=40 + i)
              for i, (u, t, f) in enumerate(DSP_ODD_LSTMS)]
    _qemu_matches_tflm(target, models, kernels="dsp")
