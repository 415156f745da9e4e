"""int8 .tflite files made by the real TFLite converter from float tf.functions (TensorFlow needed),
for the generic-profile tests and tests/runtime/make_fixtures.py (which runs as a script, hence
no relative imports here)."""
import os

import numpy as np
import pytest


def int8_tflite(fn, in_shapes, io="int8", seed=0, dynamic_batch=False):
    """Quantize tf.function `fn` over float inputs of `in_shapes` with the TFLite converter
    (dynamic_batch: the signature's batch is None, as Keras models have)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    tf = pytest.importorskip("tensorflow")
    f = tf.function(fn, input_signature=[tf.TensorSpec((None,) + tuple(s[1:]) if dynamic_batch else s, tf.float32)
                                         for s in in_shapes])
    rng = np.random.default_rng(seed)

    def rep():
        for _ in range(24):
            yield [rng.normal(0, 1, s).astype(np.float32) for s in in_shapes]
    c = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f)
    c.optimizations = [tf.lite.Optimize.DEFAULT]
    c.representative_dataset = rep
    c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    c.inference_input_type = c.inference_output_type = {"int8": tf.int8, "uint8": tf.uint8}[io]
    return c.convert()
