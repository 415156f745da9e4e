"""The `tfl` dialect's shared vocabulary: a graph read from a .tflite (emc/frontends/tflite_reader.py)
has one op of type "tfl.<BUILTIN_NAME>" per operator, its builtin options decoded into snake_case
attrs with the schema's enum values, and tensors with the file's dtype names. The passes that read
such a graph (the K210 legalization, the generic backend) take these names from here, so that only
the reader knows the flatbuffer schema."""
from __future__ import annotations

import re

PREFIX = "tfl."
# schema.fbs enums, as the decoded attrs carry them
PADDING_SAME, PADDING_VALID = 0, 1
ACT_NONE, ACT_RELU, ACT_RELU_N1_TO_1, ACT_RELU6, ACT_TANH, ACT_SIGN_BIT = range(6)
# bytes per element of the dtypes an activation tensor may have
ITEMSIZE = {"i8": 1, "u8": 1, "i16": 2, "f32": 4, "i32": 4, "i64": 8}


def builtin(op):
    """The builtin operator name of a tfl op ("CONV_2D" for "tfl.CONV_2D")."""
    return op.type[len(PREFIX):]


def attr_name(field):
    """The attr name of an options table field: StrideH -> stride_h, DilationHFactor -> dilation_h_factor."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", field).lower()


def shape_only_ops(ops, graph_outputs):
    """Indices of the tfl ops whose outputs only feed RESHAPE's shape operand (or other such ops):
    the SHAPE -> STRIDED_SLICE -> PACK chains converters emit for Flatten / computed reshapes. The
    file records every tensor's static shape, so a target drops the chain (no layer). ops: a tfl
    graph's ops, in order."""
    uses = {}
    for k, op in enumerate(ops):
        for j, t in enumerate(op.inputs):
            uses.setdefault(t, []).append((k, builtin(op) == "RESHAPE" and j == 1))
    skip = set()
    for k in range(len(ops) - 1, -1, -1):
        outs = ops[k].outputs
        if outs and not any(t in graph_outputs for t in outs) and all(
                uses.get(t) and all(shape_use or user in skip for user, shape_use in uses[t]) for t in outs):
            skip.add(k)
    return skip
