"""The generic target's quantization rule: an IR graph (from any frontend) -> a TFLite-compatible
int8 model (per-channel weights, per-tensor activations, float input/output through
QUANTIZE/DEQUANTIZE), made by the real TFLite converter calibrated on the user's dataset. The
generic backend then imports it without requantizing, so the C runtime and the Python reference
reproduce TFLite Micro's numbers on it bit for bit.

Each IR op type is rewritten as the TensorFlow ops with the same float semantics as
`emc.ir.execute.run_op` (the float reference the report compares against). Needs TensorFlow.
"""
from __future__ import annotations

import os

import numpy as np

from ..ir.graph import conv_out_pads

CALIBRATION_SAMPLES = 200


def _padding(tf, x, attrs, k, dil=(1, 1)):
    """TF 'SAME'/'VALID' when the IR's explicit pads are what TF would use, else a PAD first."""
    pads = tuple(attrs["pads"])
    h, w = int(x.shape[1]), int(x.shape[2])
    s = attrs["strides"]
    if not any(pads):
        return x, "VALID"
    same = conv_out_pads(h, k[0], s[0], "same", dil[0])[1] + conv_out_pads(w, k[1], s[1], "same", dil[1])[1]
    if pads == same:
        return x, "SAME"
    pt, pb, pl, pr = pads
    return tf.pad(x, [[0, 0], [pt, pb], [pl, pr], [0, 0]]), "VALID"


def _act(tf, y, attrs):
    act = attrs.get("act", "linear")
    fns = {"linear": lambda v: v, "relu": tf.nn.relu, "relu6": tf.nn.relu6, "sigmoid": tf.sigmoid, "tanh": tf.tanh,
           "softmax": tf.nn.softmax, "hard_swish": lambda v: v * tf.nn.relu6(v + 3.0) / 6.0,
           "leaky_relu": lambda v: tf.nn.leaky_relu(v, attrs.get("alpha", 0.2)), "swish": tf.nn.silu,
           "elu": tf.nn.elu}
    if act not in fns:
        raise ValueError(f"activation {act} has no TFLite int8 form here")
    return fns[act](y)


def _conv(tf, x, a):
    w = tf.constant(np.asarray(a["weights"], np.float32))
    dil = tuple(a.get("dilation", (1, 1)))
    x, pad = _padding(tf, x, a, w.shape[:2], dil)
    return tf.nn.conv2d(x, w, a["strides"], pad, dilations=dil)


def _depthwise(tf, x, a):
    w = tf.constant(np.asarray(a["weights"], np.float32))
    dil = tuple(a.get("dilation", (1, 1)))
    x, pad = _padding(tf, x, a, w.shape[:2], dil)
    return tf.nn.depthwise_conv2d(x, w, (1,) + tuple(a["strides"]) + (1,), pad, dilations=dil)


def _pool(kind):
    def emit(tf, xs, a):
        x = xs[0]
        x2, pad = _padding(tf, x, a, a["ksize"])
        if kind == "max" and x2 is not x:
            raise ValueError("max pool with padding other than TF 'same'")
        fn = tf.nn.max_pool2d if kind == "max" else tf.nn.avg_pool2d
        return fn(x2, a["ksize"], a["strides"], pad)
    return emit


def _bias_act(tf, y, a):
    if a.get("bias") is not None:
        y = y + tf.constant(np.asarray(a["bias"], np.float32))
    return _act(tf, y, a)


# IR op type -> TF emission (xs: input tensors, a: attrs); the float semantics of run_op
EMIT = {
    "conv2d": lambda tf, xs, a: _bias_act(tf, _conv(tf, xs[0], a), a),
    "depthwise_conv2d": lambda tf, xs, a: _bias_act(tf, _depthwise(tf, xs[0], a), a),
    "dense": lambda tf, xs, a: _bias_act(
        tf, tf.matmul(tf.reshape(xs[0], (-1, int(np.prod(xs[0].shape[1:])))),
                      tf.constant(np.asarray(a["weights"], np.float32))), a),
    "batch_norm": lambda tf, xs, a: _act(tf, xs[0] * tf.constant(np.asarray(a["scale"], np.float32))
                                         + tf.constant(np.asarray(a["offset"], np.float32)), a),
    "activation": lambda tf, xs, a: _act(tf, xs[0], a),
    "add": lambda tf, xs, a: _act(tf, tf.add_n(xs) if len(xs) > 2 else xs[0] + xs[1], a),
    "max_pool2d": _pool("max"),
    "avg_pool2d": _pool("avg"),
    "global_avg_pool": lambda tf, xs, a: tf.reduce_mean(xs[0], axis=[1, 2], keepdims=bool(a.get("keepdims"))),
    "global_max_pool": lambda tf, xs, a: tf.reduce_max(xs[0], axis=[1, 2], keepdims=bool(a.get("keepdims"))),
    "pad": lambda tf, xs, a: tf.pad(xs[0], [[0, 0], list(a["pads"][:2]), list(a["pads"][2:]), [0, 0]],
                                    constant_values=a.get("value", 0.0)),
    "flatten": lambda tf, xs, a: tf.reshape(xs[0], (-1, int(np.prod(xs[0].shape[1:])))),
    "reshape": lambda tf, xs, a: tf.reshape(xs[0], (-1,) + tuple(a["shape"])),
    "concat": lambda tf, xs, a: tf.concat(xs, axis=a["axis"] + 1 if a["axis"] >= 0 else a["axis"]),
    "softmax": lambda tf, xs, a: tf.nn.softmax(xs[0]),
    "resize_nearest": lambda tf, xs, a: tf.repeat(tf.repeat(xs[0], a["factor"][0], axis=1), a["factor"][1], axis=2),
}


def graph_to_int8_tflite(g, calibration) -> bytes:
    """g: an optimized IR graph with one input; calibration: float array (N, *input shape)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    missing = sorted({op.type for op in g.ops if op.type not in EMIT})
    if missing:
        raise ValueError(f"IR ops without an int8 TFLite form: {', '.join(missing)}")
    if len(g.inputs) != 1:
        raise ValueError(f"one model input expected, the graph has {len(g.inputs)}")

    def forward(x):
        vals = {g.inputs[0]: x}
        for op in g.ops:
            vals[op.outputs[0]] = EMIT[op.type](tf, [vals[t] for t in op.inputs], op.attrs)
        outs = [vals[t] for t in g.outputs]
        return outs[0] if len(outs) == 1 else outs

    spec = tf.TensorSpec((1,) + tuple(g.shape(g.inputs[0])), tf.float32)
    fn = tf.function(forward, input_signature=[spec])
    xs = np.asarray(calibration, np.float32)[:CALIBRATION_SAMPLES]

    def representative():
        for x in xs:
            yield [x[None]]
    conv = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], fn)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return conv.convert()
