"""Regenerate tests/convert/data/*.tflite (float TFLite versions of the trained test models), so the
TFLite tests run without TensorFlow. Needs the [tf] extra: python tests/convert/make_fixtures.py"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import synth  # noqa: E402

def conv_relu_sub(path):
    """CONV_2D with mul/add/relu fused by the converter, then a SUB of a constant (an affine op)."""
    import numpy as np
    import tensorflow as tf

    class M(tf.Module):
        def __init__(self):
            self.w = tf.constant(np.random.default_rng(0).normal(size=(3, 3, 3, 4)).astype(np.float32))
            self.s = tf.constant(np.array([1., 2., .5, -1.], np.float32))
            self.b = tf.constant(np.array([.1, -.2, .3, 0.], np.float32))

        @tf.function(input_signature=[tf.TensorSpec([1, 8, 8, 3], tf.float32)])
        def __call__(self, x):
            y = tf.nn.conv2d(x, self.w, 1, "SAME")
            return tf.nn.relu(y * self.s + self.b) - 0.25

    m = M()
    conv = tf.lite.TFLiteConverter.from_concrete_functions([m.__call__.get_concrete_function()], m)
    with open(path, "wb") as f:
        f.write(conv.convert())


if __name__ == "__main__":
    out = os.path.join(os.path.dirname(__file__), "data")
    os.makedirs(out, exist_ok=True)
    for kind in synth.BUILDERS:
        m = synth.trained(kind)
        synth.to_tflite(m, os.path.join(out, f"{kind}_float.tflite"))
        print(kind, os.path.getsize(os.path.join(out, f"{kind}_float.tflite")))
    conv_relu_sub(os.path.join(out, "conv_relu_sub.tflite"))
