"""The generic target's quantization rule: an IR graph (from any frontend) -> a TFLite-compatible
int8 model (per-channel weights, per-tensor activations, float input/output through
QUANTIZE/DEQUANTIZE), made by the real TFLite converter calibrated on the user's dataset. The
generic backend then imports it without requantizing, so the C runtime and the Python reference
reproduce TFLite Micro's numbers on it bit for bit.

Each IR op type is rewritten as the TensorFlow ops with the same float semantics as its float reference
(its OpDef's `to_tf` and `run_float`, emc.ops; the report compares against the latter). Needs TensorFlow.
"""
from __future__ import annotations

import os

import numpy as np

from ..ir import UnsupportedLayersError
from ..ir.opdef import opdef
from ..ops import tf_emit

CALIBRATION_SAMPLES = 200


def graph_to_int8_tflite(g, calibration) -> bytes:
    """g: an optimized IR graph with one input; calibration: float array (N, *input shape)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    bad = [(op.name, op.source_type or op.type, f"no int8 TFLite form for IR op {op.type}") for op in g.ops
           if opdef(op.type).to_tf is None]
    bad += [(op.name, op.source_type or op.type, f"activation {op.attrs['act']} has no int8 TFLite form")
            for op in g.ops if op.attrs.get("act", "linear") not in tf_emit.ACTIVATIONS]
    if bad:
        raise UnsupportedLayersError(bad, f"model '{g.name}' for the generic target")
    if len(g.inputs) != 1:
        raise ValueError(f"one model input expected, the graph has {len(g.inputs)}")

    def forward(x):
        vals = {g.inputs[0]: x}
        for op in g.ops:
            vals[op.outputs[0]] = opdef(op.type).to_tf(tf, [vals[t] for t in op.inputs], op.attrs)
        outs = [vals[t] for t in g.outputs]
        return outs[0] if len(outs) == 1 else outs

    in_shape = tuple(g.shape(g.inputs[0]))
    xs = np.asarray(calibration, np.float32)[:CALIBRATION_SAMPLES]

    def representative():
        for x in xs:
            yield [x[None]]
    if any(opdef(op.type).TF_KERAS_LAYER for op in g.ops):
        # the same TF ops, traced as a tf_keras functional Model (plain TF ops become its TFOpLambda layers)
        import tf_keras
        inp = tf_keras.Input(in_shape, batch_size=1)
        conv = tf.lite.TFLiteConverter.from_keras_model(tf_keras.Model(inp, forward(inp)))
    else:
        fn = tf.function(forward, input_signature=[tf.TensorSpec((1,) + in_shape, tf.float32)])
        conv = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], fn)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return conv.convert()
