"""Graph simplifications shared by all backends: BN folding, activation fusion, pad folding, ..."""
from __future__ import annotations

import numpy as np

from .graph import IRError
from .opdef import opdef


def _rename_uses(g, old, new):
    for op in g.ops:
        op.inputs = [new if t == old else t for t in op.inputs]
    g.outputs = [new if t == old else t for t in g.outputs]


def _remove_op(g, op):
    """Remove a single-input op, rewiring its consumers to its input."""
    g.ops.remove(op)
    src, dst = op.inputs[0], op.outputs[0]
    if dst in g.outputs and (src in g.inputs or src in g.outputs):
        raise IRError(f"cannot remove {op.name}: its output is a graph output")
    _rename_uses(g, dst, src)
    g.tensors.pop(dst, None)


def _single_use(g, t):
    return len(g.consumers(t)) == 1 and t not in g.outputs


def split_softmax(g):
    for op in list(g.ops):
        if op.attrs.get("act") == "softmax":
            op.attrs["act"] = "linear"
            out = op.outputs[0]
            mid = g.unique_name(out + "_logits")
            g.add_tensor(mid, g.tensors[out].shape)
            op.outputs = [mid]
            g.ops.insert(g.ops.index(op) + 1, type(op)("softmax", op.name + "_softmax", [mid], [out], {}, "Softmax"))
            if opdef(op.type).is_identity(op.attrs, g.shape(op.inputs[0]), g.shape(mid)):
                _remove_op(g, op)         # a softmax activation: nothing is left of it
    return g


def remove_identities(g):
    for op in list(g.ops):
        d = opdef(op.type)
        if d.is_identity(op.attrs, g.shape(op.inputs[0]), g.shape(op.outputs[0])) and \
                (not d.IDENTITY_KEPT_AT_OUTPUT or op.outputs[0] not in g.outputs):
            _remove_op(g, op)
    return g


def fold_batchnorm(g):
    for op in list(g.ops):
        affine = opdef(op.type).affine(op.attrs)
        if affine is None:
            continue
        prod = g.producer(op.inputs[0])
        if prod is None or not opdef(prod.type).ABSORBS_BATCH_NORM \
                or prod.attrs.get("act", "linear") != "linear" or not _single_use(g, op.inputs[0]):
            continue
        scale = np.asarray(affine[0], np.float64)
        offset = np.asarray(affine[1], np.float64)
        w = opdef(prod.type).scale_out_weights(np.asarray(prod.attrs["weights"], np.float64), scale)
        b = prod.attrs.get("bias")
        b = np.zeros(len(scale)) if b is None else np.asarray(b, np.float64)
        prod.attrs["weights"] = w.astype(np.float32)
        prod.attrs["bias"] = (b * scale + offset).astype(np.float32)
        _absorb(g, op, prod, op.attrs.get("act", "linear"))
    return g


def _absorb(g, op, prod, act):
    """`op` (a batch norm or an activation) becomes part of its producer `prod`: the producer takes
    its activation, its consumers read the producer's output, and its own output tensor goes."""
    prod.attrs["act"] = act
    if "alpha" in op.attrs:
        prod.attrs["alpha"] = op.attrs["alpha"]
    prod.attrs.setdefault("fused", []).append(op.name)
    g.ops.remove(op)
    _rename_uses(g, op.outputs[0], prod.outputs[0])
    g.tensors.pop(op.outputs[0], None)


def fuse_activations(g):
    for op in list(g.ops):
        if not opdef(op.type).FUSES_AS_ACTIVATION:
            continue
        prod = g.producer(op.inputs[0])
        if prod is None or not opdef(prod.type).ABSORBS_ACTIVATION \
                or prod.attrs.get("act", "linear") != "linear" or not _single_use(g, op.inputs[0]):
            continue
        _absorb(g, op, prod, op.attrs["act"])
    return g


def fold_pads(g):
    """Zero Pad followed by conv/depthwise conv -> explicit conv padding."""
    for op in list(g.ops):
        pads = opdef(op.type).zero_pads(op.attrs)
        if pads is None or not _single_use(g, op.outputs[0]):
            continue
        (cons,) = g.consumers(op.outputs[0])
        if not opdef(cons.type).ABSORBS_PAD:
            continue
        pt, pb, pl, pr = pads
        ct, cb, cl, cr = cons.attrs["pads"]
        cons.attrs["padding"] = (pt + ct, pb + cb, pl + cl, pr + cr)
        cons.attrs.setdefault("fused", []).append(op.name)
        _remove_op(g, op)
    return g


def standalone_to_depthwise(g):
    """Batch norms / activations on maps that could not be fused become 1x1 depthwise convs."""
    for op in list(g.ops):
        shape = g.shape(op.inputs[0])
        d = opdef(op.type)
        if not d.STANDALONE_AS_DEPTHWISE or len(shape) != 3:
            continue
        c = shape[2]
        affine = d.affine(op.attrs)
        if affine is not None:
            w = np.asarray(affine[0], np.float32).reshape(1, 1, c, 1)
            b = np.asarray(affine[1], np.float32)
        else:
            w = np.ones((1, 1, c, 1), np.float32)
            b = np.zeros(c, np.float32)
        op.source_type = op.source_type or op.type
        act = op.attrs.get("act", "linear")
        alpha = op.attrs.get("alpha", 0.2)
        op.type = "depthwise_conv2d"
        op.attrs = {"weights": w, "bias": b, "strides": (1, 1), "padding": "valid", "act": act,
                    "alpha": alpha, "pads": (0, 0, 0, 0)}
    return g


def optimize(g, to_depthwise=True):
    """The standard pipeline. Returns a new graph; the original is left untouched."""
    g = g.copy()
    g.validate()
    split_softmax(g)
    remove_identities(g)
    fold_batchnorm(g)
    fuse_activations(g)
    g.infer_shapes()
    fold_pads(g)
    if to_depthwise:
        standalone_to_depthwise(g)
    g.prune()
    g.validate()
    return g
