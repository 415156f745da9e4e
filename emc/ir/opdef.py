"""The registry of IR op types: one OpDef per type, holding everything EMC knows of it.

The IR core (graph, execute, passes, channels), the quantizers and the backends ask `opdef(op.type)` for an
op's facts and behaviour instead of switching on its type. The definitions themselves live in the package
`emc.ops` (one module per op type), which depends on the IR; the IR does not depend on it: `emc.ops` fills
this registry when it is imported, and the first lookup imports it.
"""
from __future__ import annotations

import importlib

_REGISTRY: dict[str, "OpDef"] = {}


class OpDef:
    """One IR op type. Facts are class attributes; behaviour is methods. A capability an op type lacks is
    None (`to_tf`, `lower_k210`): callers report it as unsupported instead of failing."""

    TYPE = ""
    ARITY = (1, 1)                # (min inputs, max inputs); None = unbounded
    # the op carries an `act` attribute: emc.ir.run_float applies it to the result of the op's `run_float`
    # (and can record the pre-activation values)
    CARRIES_ACTIVATION = False
    # a following standalone activation op may become this op's `act`
    ABSORBS_ACTIVATION = False
    # it is a standalone activation op that folds into its producer when the producer absorbs activations
    FUSES_AS_ACTIVATION = False
    # a following batch norm folds into its weights (output channels on the weights' last axis)
    ABSORBS_BATCH_NORM = False
    # a preceding zero pad becomes its explicit padding
    ABSORBS_PAD = False
    # a convolution: weights (KH, KW, in channels, out channels or multiplier), explicit `pads`
    CONV = False
    DEPTHWISE = False             # a conv whose weights are (KH, KW, channels, multiplier)
    # maps channel c of its input to channel c of its output and commutes with positive per-channel scales
    CHANNEL_PRESERVING = False
    # spatial pooling kind ('max' / 'avg'), for backends that fuse a pool into a convolution
    POOL = None
    # when it cannot be fused, it becomes a 1x1 depthwise conv on maps (weights from `affine`, else identity)
    STANDALONE_AS_DEPTHWISE = False
    # a same-shape no-op (`is_identity`) that names a graph output is kept (the output stays that tensor)
    IDENTITY_KEPT_AT_OUTPUT = True
    # K210: its lowering reads a vector in main memory (f32), and permutes its weights when that vector is a
    # CHW flattening of a map (so a flatten before it moves no bytes)
    K210_VECTOR_IN = False
    # K210: its lowering takes a 2-D (rows, K) tensor, which lives in main memory in row-major order; every
    # other op refuses one (the compiler reports it by name)
    K210_ROWS_IN = False

    # its to_tf emits a tf_keras layer that the TFLite converter turns into one builtin operator only inside
    # a tf_keras Model: the int8 quantizer then builds a graph holding it as a tf_keras Model
    TF_KERAS_LAYER = False
    # emission for the generic int8 quantizer (emc.quant.tflite_int8): to_tf(tf, xs, attrs) -> TF tensor
    to_tf = None
    # K210 lowering: lower_k210(comp, op) emits kmodel layers through the K210Compiler API
    lower_k210 = None
    # K210 planning before any lowering, in graph order: plan_k210(comp, op, pool_out, taken) may reserve buffers
    plan_k210 = None

    # -- IR semantics --------------------------------------------------------------------------------
    def infer_shape(self, attrs, in_shapes):
        """Output shape (without batch) from the input shapes; may complete derived attributes (e.g. `pads`).
        Raises IRError (or any error on malformed attributes) when the op is inconsistent."""
        raise NotImplementedError(self.TYPE)

    def run_float(self, attrs, xs):
        """Float reference on batched inputs (N, ...), before the op's own activation (if it carries one)."""
        raise NotImplementedError(self.TYPE)

    def macs(self, attrs, in_shapes, out_shape):
        """Multiply-accumulates of one inference; 0 for ops that only move or compare bytes."""
        return 0

    # -- facts for passes ------------------------------------------------------------------------------
    def is_identity(self, attrs, in_shape, out_shape):
        """True when the op does nothing to its input (it can be removed)."""
        return False

    def affine(self, attrs):
        """(scale, offset) per channel when the op is y = x * scale + offset, else None."""
        return None

    def zero_pads(self, attrs):
        """(top, bottom, left, right) when the op is a zero padding a consumer may absorb, else None."""
        return None

    def scale_out_weights(self, w, s):
        """Weights `w` (float64) with output channel i multiplied by s[i]."""
        return w * s

    def out_channel_absmax(self, attrs):
        """max |w| over each output channel's weights, or None without per-channel weights."""
        return None

    def out_channel_slice(self, attrs, lo, hi):
        """Attributes of the same op computing only output channels lo..hi-1 (a backend with a channel
        limit splits a wide op into parts and a concat), or None when it cannot be split that way."""
        return None

    def accepts_input_scale(self, attrs):
        """Whether its input channels may be rescaled through its weights (cross-layer equalization)."""
        return self.CONV

    # -- K210 facts --------------------------------------------------------------------------------------
    def k210_byte_copy(self, options):
        """True when the K210 lowering copies bytes from input to output, so they share quantization."""
        return False



class ElementwiseOpDef(OpDef):
    """An op whose output has its input's shape (activations, batch norm, softmax)."""

    def infer_shape(self, attrs, in_shapes):
        return in_shapes[0]


def register(cls):
    """Class decorator: one instance of `cls` is the definition of op type cls.TYPE."""
    if cls.TYPE in _REGISTRY:
        raise ValueError(f"op type {cls.TYPE} defined twice")
    _REGISTRY[cls.TYPE] = cls()
    return cls


def _load():
    if not _REGISTRY:
        importlib.import_module("emc.ops")


def opdef(op_type):
    """The definition of an op type, or None for a type EMC does not know."""
    _load()
    return _REGISTRY.get(op_type)


def op_types():
    """Every registered op type."""
    _load()
    return sorted(_REGISTRY)
