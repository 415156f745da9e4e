"""What each op is per channel, for passes that rescale channels (cross-layer equalization): which weights
and bias belong to an output channel, which weights read an input channel, and which ops pass channels
through unchanged and commute with a positive per-channel scale (x -> s*x).

A pass asks these functions; they ask the op's definition (emc.ir.opdef)."""
from __future__ import annotations

import numpy as np

from .opdef import opdef

# activations f with f(s*x) = s*f(x) for s > 0
POSITIVE_HOMOGENEOUS = ("linear", "relu", "leaky_relu")
# activations that are positive homogeneous below a clip: f(s*x) = s*f(x) as long as s*x stays below it
CLIPPED = {"relu6": 6.0}


def _weights(op):
    return np.asarray(op.attrs["weights"], np.float64)


def out_channel_absmax(op):
    """max |w| over the weights of each output channel, or None if the op has no per-channel weights."""
    return opdef(op.type).out_channel_absmax(op.attrs)


def in_channel_absmax(op):
    """max |w| over the weights that read each input channel, or None (dense: only from a vector)."""
    if not has_channel_weights(op):
        return None
    # conv (kh, kw, in, out) and depthwise (kh, kw, in, multiplier) both keep the input channel on axis 2
    return np.abs(_weights(op)).max(axis=(0, 1, 3))


def scale_out_channels(op, s):
    """Output channel i (weights and bias) multiplied by s[i]."""
    s = np.asarray(s, np.float64)
    op.attrs["weights"] = opdef(op.type).scale_out_weights(_weights(op), s).astype(np.float32)
    if op.attrs.get("bias") is not None:
        op.attrs["bias"] = (np.asarray(op.attrs["bias"], np.float64) * s).astype(np.float32)


def scale_in_channels(op, s):
    """The weights reading input channel i multiplied by s[i]."""
    w = _weights(op)
    op.attrs["weights"] = (w * np.asarray(s, np.float64)[None, None, :, None]).astype(np.float32)


def has_channel_weights(op):
    """A convolution: weights (kh, kw, in channels, out channels or multiplier)."""
    return opdef(op.type).CONV


def is_depthwise(op):
    return opdef(op.type).DEPTHWISE


def accepts_input_scale(op):
    """Its input channels may be rescaled through scale_in_channels."""
    return opdef(op.type).accepts_input_scale(op.attrs)


def is_channel_preserving(op):
    """Maps channel c of its input to channel c of its output and commutes with positive scales."""
    return opdef(op.type).CHANNEL_PRESERVING
