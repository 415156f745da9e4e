"""Regenerates tests/runtime/data/*.tflite (needs TensorFlow; the tests themselves do not):
small int8 models that use the generic-profile layers the MLPerf Tiny models do not
(MAX_POOL_2D, CONCATENATION, QUANTIZE/DEQUANTIZE with float I/O, depth multiplier), and a
two-input model (two branches joined by CONCATENATION and ADD; also the bench case "two-inputs").

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


def build_two_inputs():
    import keras
    from keras import layers as L
    a, b = keras.Input((12, 10, 3), batch_size=1), keras.Input((6, 5, 4), batch_size=1)
    fa = L.MaxPooling2D(2)(L.Conv2D(6, 3, padding="same", activation="relu")(a))
    fb = L.Conv2D(6, 1, activation="relu6")(b)
    x = L.Concatenate()([fa, fb])
    x = L.Add()([L.Conv2D(12, 1)(x), L.DepthwiseConv2D(3, padding="same")(x)])
    return keras.Model([a, b], [L.Dense(5)(L.Flatten()(x)), L.GlobalAveragePooling2D()(fb)])


def convert_two_inputs(model):
    """Through a tf.function of the two inputs, so the representative samples follow its order."""
    from tflite_making import int8_tflite          # this script's folder is on sys.path
    return int8_tflite(lambda x, y: model([x, y]), [(1,) + tuple(t.shape[1:]) for t in model.inputs])


def main():
    import keras
    keras.utils.set_random_seed(1)
    OUT.mkdir(exist_ok=True)
    m = build_mix()
    (OUT / "generic_mix_float_io.tflite").write_bytes(convert(m, True))
    (OUT / "generic_mix_int8_io.tflite").write_bytes(convert(m, False))
    (OUT / "generic_two_inputs.tflite").write_bytes(convert_two_inputs(build_two_inputs()))


if __name__ == "__main__":
    main()
