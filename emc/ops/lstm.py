"""lstm: a unidirectional LSTM over a (time steps, features) input, Keras' layout and gate order i, f, c, o:
kernel (F, 4U), recurrent_kernel (U, 4U), bias (4U), `units` U, `return_sequences` (output (T, U)) or only
the last step's output (U,). Zero initial state; activation tanh and recurrent activation sigmoid, the only
pair TFLite's UNIDIRECTIONAL_SEQUENCE_LSTM computes in int8. No K210 lowering."""
from __future__ import annotations

import numpy as np

from ..ir.graph import IRError
from ..ir.opdef import OpDef, register

# the (activation, recurrent_activation) the int8 operator has
SUPPORTED_ACTIVATIONS = ("tanh", "sigmoid")


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


@register
class LSTM(OpDef):
    TYPE = "lstm"
    # the TFLite converter fuses a tf_keras LSTM layer into UNIDIRECTIONAL_SEQUENCE_LSTM only when it
    # converts a tf_keras Model; traced in a tf.function the layer stays a WHILE loop, on whose int8
    # calibration the converter of TF 2.21 crashes (measured: segfault)
    TF_KERAS_LAYER = True

    def unsupported(self, attrs):
        """Why this op's attributes are outside what it computes, or None."""
        pair = (attrs.get("activation", "tanh"), attrs.get("recurrent_activation", "sigmoid"))
        if pair != SUPPORTED_ACTIVATIONS:
            return (f"activation {pair[0]} / recurrent activation {pair[1]} (only tanh / sigmoid have an int8 "
                    f"LSTM operator)")
        return None

    def infer_shape(self, attrs, in_shapes):
        why = self.unsupported(attrs)
        if why:
            raise IRError(why)
        s = in_shapes[0]
        if len(s) != 2:
            raise IRError(f"input of shape {s}: (time steps, features) expected")
        u = int(attrs["units"])
        want = {"kernel": (s[1], 4 * u), "recurrent_kernel": (u, 4 * u), "bias": (4 * u,)}
        for k, shape in want.items():
            if tuple(np.shape(attrs[k])) != shape:
                raise IRError(f"{k} of shape {np.shape(attrs[k])}, {shape} expected for {u} units on {s}")
        return (s[0], u) if attrs["return_sequences"] else (u,)

    def run_float(self, attrs, xs):
        x = np.asarray(xs[0], np.float32)
        u = int(attrs["units"])
        wk, wr, b = (np.asarray(attrs[k], np.float32) for k in ("kernel", "recurrent_kernel", "bias"))
        h = np.zeros((x.shape[0], u), np.float32)
        c = np.zeros_like(h)
        hs = []
        for t in range(x.shape[1]):
            i, f, g, o = np.split(x[:, t] @ wk + h @ wr + b, 4, axis=1)
            c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
            h = _sigmoid(o) * np.tanh(c)
            hs.append(h)
        return np.stack(hs, axis=1) if attrs["return_sequences"] else h

    def macs(self, attrs, in_shapes, out_shape):
        t, f = in_shapes[0]
        u = int(attrs["units"])
        return t * (f + u) * 4 * u

    def to_tf(self, tf, xs, attrs):
        import tf_keras
        x = xs[0]
        layer = tf_keras.layers.LSTM(int(attrs["units"]), return_sequences=bool(attrs["return_sequences"]))
        layer.build(tuple(x.shape))
        layer.set_weights([np.asarray(attrs[k], np.float32) for k in ("kernel", "recurrent_kernel", "bias")])
        return layer(x)
