"""What each op type is per channel, for passes that rescale channels (cross-layer equalization):
which weights and bias belong to an output channel, which weights read an input channel, and which ops
pass channels through unchanged and commute with a positive per-channel scale (x -> s*x).

A pass asks these functions instead of switching on op types itself."""
from __future__ import annotations

import numpy as np

# activations f with f(s*x) = s*f(x) for s > 0
POSITIVE_HOMOGENEOUS = ("linear", "relu", "leaky_relu")
# activations that are positive homogeneous below a clip: f(s*x) = s*f(x) as long as s*x stays below it
CLIPPED = {"relu6": 6.0}
# ops that map channel c of their input to channel c of their output and commute with positive scales
CHANNEL_PRESERVING = ("max_pool2d", "avg_pool2d", "global_avg_pool", "global_max_pool", "resize_nearest")


def _weights(op):
    return np.asarray(op.attrs["weights"], np.float64)


def out_channel_absmax(op):
    """max |w| over the weights of each output channel, or None if the op has no per-channel weights."""
    w = _weights(op)
    if op.type == "conv2d":
        return np.abs(w).max(axis=(0, 1, 2))
    if op.type == "depthwise_conv2d":
        kh, kw, c, m = w.shape
        return np.abs(w.reshape(kh, kw, c * m)).max(axis=(0, 1))
    return None


def in_channel_absmax(op):
    """max |w| over the weights that read each input channel, or None (dense: only from a vector)."""
    if not has_channel_weights(op):
        return None
    # conv (kh, kw, in, out) and depthwise (kh, kw, in, multiplier) both keep the input channel on axis 2
    return np.abs(_weights(op)).max(axis=(0, 1, 3))


def scale_out_channels(op, s):
    """Output channel i (weights and bias) multiplied by s[i]."""
    s = np.asarray(s, np.float64)
    w = _weights(op)
    if op.type == "depthwise_conv2d":
        kh, kw, c, m = w.shape
        w = (w.reshape(kh, kw, c * m) * s).reshape(kh, kw, c, m)
    else:
        w = w * s
    op.attrs["weights"] = w.astype(np.float32)
    if op.attrs.get("bias") is not None:
        op.attrs["bias"] = (np.asarray(op.attrs["bias"], np.float64) * s).astype(np.float32)


def scale_in_channels(op, s):
    """The weights reading input channel i multiplied by s[i]."""
    w = _weights(op)
    op.attrs["weights"] = (w * np.asarray(s, np.float64)[None, None, :, None]).astype(np.float32)


def has_channel_weights(op):
    return op.type in ("conv2d", "depthwise_conv2d")
