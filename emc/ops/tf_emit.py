"""TensorFlow emission helpers the op modules share (emc.quant.tflite_int8 builds the model from their to_tf)."""
from __future__ import annotations

import numpy as np

from ..ir.graph import conv_out_pads


def padding(tf, x, attrs, k, dil=(1, 1)):
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


# the activations `act` emits (the TFLite converter makes int8 operators of them); others are refused by name
ACTIVATIONS = ("linear", "relu", "relu6", "sigmoid", "tanh", "softmax", "hard_swish", "hard_sigmoid", "hard_sigmoid_k2",
               "leaky_relu", "swish", "elu")


def act(tf, y, attrs):
    """The op's fused activation (attrs 'act', 'alpha') on y."""
    name = attrs.get("act", "linear")
    fns = {"linear": lambda v: v, "relu": tf.nn.relu, "relu6": tf.nn.relu6, "sigmoid": tf.sigmoid, "tanh": tf.tanh,
           "softmax": tf.nn.softmax, "hard_swish": lambda v: v * tf.nn.relu6(v + 3.0) / 6.0,
           "hard_sigmoid": lambda v: tf.nn.relu6(v + 3.0) * (1.0 / 6.0),
           "hard_sigmoid_k2": lambda v: tf.clip_by_value(0.2 * v + 0.5, 0.0, 1.0),
           "leaky_relu": lambda v: tf.nn.leaky_relu(v, attrs.get("alpha", 0.2)), "swish": tf.nn.silu,
           "elu": tf.nn.elu}
    if name not in fns:
        raise ValueError(f"activation {name} has no TFLite int8 form here")
    return fns[name](y)


def bias_act(tf, y, attrs):
    if attrs.get("bias") is not None:
        y = y + const(tf, attrs["bias"])
    return act(tf, y, attrs)


def const(tf, a):
    return tf.constant(np.asarray(a, np.float32))
