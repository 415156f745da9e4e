"""Regenerates tests/runtime/data/*.tflite (needs TensorFlow; the tests themselves do not):
small int8 models that use the generic-profile layers the MLPerf Tiny models do not
(MAX_POOL_2D, CONCATENATION, QUANTIZE/DEQUANTIZE with float I/O, depth multiplier; an LSTM with
return_sequences=False: UNIDIRECTIONAL_SEQUENCE_LSTM + STRIDED_SLICE, which needs tf_keras, Keras 2),
and a two-input model with the newer layers (two_inputs_tflite; also the bench case "two-inputs").

    HOME=$(mktemp -d) python tests/runtime/make_fixtures.py
"""
import pathlib

import numpy as np

OUT = pathlib.Path(__file__).resolve().parent / "data"


def build_mix():
    import keras
    from keras import layers as L
    i = keras.Input((20, 20, 3), batch_size=1)
    x = L.Conv2D(8, 3, padding="same", activation="relu")(i)
    x = L.MaxPooling2D(2)(x)
    a = L.Conv2D(6, 1, activation="relu6")(x)
    b = L.Conv2D(6, 3, padding="same")(x)
    x = L.Concatenate()([a, b])
    y = L.DepthwiseConv2D(3, padding="same", depth_multiplier=2)(x)
    z = L.Conv2D(24, 1)(x)
    x = L.Add()([y, z])
    x = L.MaxPooling2D(3, strides=2, padding="same")(x)
    x = L.AveragePooling2D(2, padding="valid")(x)
    x = L.Flatten()(x)
    x = L.Dense(10)(x)
    x = L.Softmax()(x)
    return keras.Model(i, x)


def build_lstm():
    import tf_keras
    i = tf_keras.Input((8, 5), batch_size=1)
    x = tf_keras.layers.LSTM(12)(i)
    return tf_keras.Model(i, tf_keras.layers.Dense(4)(x))


def convert(model, float_io, seed=0):
    import tensorflow as tf
    rng = np.random.default_rng(seed)
    shape = (1,) + tuple(model.input_shape[1:])

    def rep():
        for _ in range(32):
            yield [rng.normal(0, 1, shape).astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if not float_io:
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    return conv.convert()


def two_inputs_tflite(seed=0):
    """Two inputs, two outputs, and the generic layers the MLPerf models lack: PRELU, RESIZE_BILINEAR
    (half-pixel centers), CONCATENATION of the branches, the MAXIMUM form of a leaky ReLU, a PAD that
    folds into the next conv, MAX_POOL_2D. (TILE is left out: TFLM, the golden, has no kernel for it.)"""
    import tensorflow as tf
    from tflite_making import int8_tflite          # this script's folder is on sys.path
    rng = np.random.default_rng(seed)

    def w(*shape):
        return tf.constant(rng.normal(0, 0.5, shape).astype(np.float32))
    wa, alpha, wb, wc, wd = w(3, 3, 3, 6), w(1, 1, 6), w(1, 1, 4, 6), w(3, 3, 12, 8), w(8 * 6 * 5, 5)

    def fn(a, b):
        fa = tf.nn.conv2d(a, wa, 1, "SAME")
        fa = tf.nn.relu(fa) + (-tf.abs(alpha)) * tf.nn.relu(-fa)                        # PRELU
        fa = tf.image.resize(fa, (12, 10), method="bilinear")                             # RESIZE_BILINEAR
        fb = tf.nn.relu6(tf.nn.conv2d(b, wb, 1, "SAME"))
        x = tf.concat([fa, fb], axis=3)
        x = tf.maximum(x, 0.2 * x)                                                        # MUL + MAXIMUM
        x = tf.nn.conv2d(tf.pad(x, [[0, 0], [1, 2], [2, 1], [0, 0]]), wc, 1, "VALID")     # folds
        x = tf.nn.max_pool2d(x, 2, 2, "VALID")
        return tf.matmul(tf.reshape(x, (1, -1)), wd), tf.reduce_mean(fb, axis=[1, 2])
    return int8_tflite(fn, [(1, 6, 5, 3), (1, 12, 10, 4)], seed=seed)


def main():
    import keras
    keras.utils.set_random_seed(1)
    OUT.mkdir(exist_ok=True)
    m = build_mix()
    (OUT / "generic_mix_float_io.tflite").write_bytes(convert(m, True))
    (OUT / "generic_mix_int8_io.tflite").write_bytes(convert(m, False))
    (OUT / "generic_two_inputs.tflite").write_bytes(two_inputs_tflite())
    import tf_keras
    tf_keras.utils.set_random_seed(1)
    (OUT / "generic_lstm_int8_io.tflite").write_bytes(convert(build_lstm(), False))


if __name__ == "__main__":
    main()
