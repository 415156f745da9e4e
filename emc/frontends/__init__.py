"""Frontends: framework model -> emc.ir.Graph.

Each frontend raises one UnsupportedLayersError naming every layer it cannot express for itself
(name, type, reason; the first one listed is the root cause), not the layers that only follow one.
Damaged files, dynamic input shapes and NaN/Inf weights are InputErrors naming the file (docs/errors.md).
"""
from __future__ import annotations

import os

import numpy as np

from ..errors import InputError
from ..ir import Graph, UnsupportedLayersError


def dense_on_last_axis(g, source_type, x, out, shape, w, b, act):
    """A dense layer on the last axis of a longer input `shape` (each time step of a sequence, each pixel
    of a map; Keras' Dense, TFLite's FULLY_CONNECTED with keep_num_dims), weights w (in, out): a 1x1
    convolution, on the sequence seen as a one-row map. None, or why it cannot be expressed."""
    if len(shape) > 3:
        return f"Dense on a {len(shape)}-D input"
    kernel = w.reshape(1, 1, *w.shape)
    if len(shape) == 3:
        g.add_op("conv2d", out, x, source_type=source_type, weights=kernel, bias=b, act=act, strides=(1, 1),
                 padding="valid")
        return None
    row = g.add_op("reshape", out + "/row", x, source_type=source_type, shape=(1,) + tuple(shape))
    conv = g.add_op("conv2d", out + "/conv", row, source_type=source_type, weights=kernel, bias=b, act=act,
                    strides=(1, 1), padding="valid")
    g.add_op("reshape", out, conv, source_type=source_type, shape=(shape[0], w.shape[1]))
    return None


def chain_binary(g, op_type, out, ins, source_type, **last_attrs):
    """A binary IR op over 2+ inputs as a chain of two-input ops ((a * b) * c ...); the last one writes `out`
    and carries `last_attrs` (the layer's activation), the others are linear."""
    cur = ins[0]
    for j, other in enumerate(ins[1:]):
        last = j == len(ins) - 2
        dst = out if last else g.unique_name(f"{out}_part{j}")
        g.add_op(op_type, dst, [cur, other], source_type=source_type, **(last_attrs if last else {"act": "linear"}))
        cur = dst
    return out


HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
ZIP_MAGIC = b"PK\x03\x04"
_KNOWN_MAGICS = [(HDF5_MAGIC, 0, "an HDF5 file (.h5)"), (ZIP_MAGIC, 0, "a zip archive (.keras)"),
                 (b"TFL3", 4, "a TFLite flatbuffer (.tflite)"), (b"\x03\x00\x00\x00", 0, "a kmodel v3"),
                 (b"KMDL", 0, "a kmodel v4/v5")]


def _expect_container(path, magic, what):
    """The file must start with the container's signature; otherwise say what it is instead."""
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(magic):
        return
    if not head:
        raise InputError(f"empty file (0 bytes), expected {what}", file=path)
    for m, at, name in _KNOWN_MAGICS:
        if head[at:at + len(m)] == m:
            raise InputError(f"this is {name}, not {what}: rename it", file=path, offset=0)
    raise InputError(f"not {what}: the first bytes are {head[:8].hex(' ')}, not {magic.hex(' ')}", file=path, offset=0)


def _check_zip(path):
    import zipfile
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise InputError(f"damaged .keras archive (truncated or corrupt zip): {e}", file=path) from e
    if bad is not None:
        raise InputError(f"damaged .keras archive: member {bad!r} fails its CRC check", file=path)


def _h5(path, fn, **kwargs):
    """h5py and the TensorLayer reader on a damaged HDF5 file: one InputError naming the file."""
    try:
        return fn(path, **kwargs)
    except (OSError, KeyError, AttributeError, TypeError, IndexError) as e:
        from ..errors import one_line
        what = f"missing {e}" if isinstance(e, KeyError) else one_line(e)
        raise InputError(f"damaged or incomplete HDF5 model file: {what}", file=path) from e


def fixed_input_shape(shape, input_name, label):
    """The model input's shape as ints, or an InputError naming the input and how to fix a dynamic one
    (a kmodel's buffers are sized at conversion: every dimension must be known)."""
    shape = tuple(shape)
    if any(d is None or int(d) < 0 for d in shape):
        from ..errors import InputError
        names = iter(("H", "W"))
        example = ", ".join(next(names, "N") if d is None or int(d) < 0 else str(int(d)) for d in shape)
        raise InputError(f"input '{input_name}' has a dynamic shape {shape}; a kmodel needs a fixed one: rebuild "
                         f"the model with a fixed input, e.g. keras.Input(shape=({example})) at the size the "
                         f"device will see, and save it again", file=label)
    return tuple(int(d) for d in shape)


def load(network, **kwargs) -> Graph:
    """Dispatch on what `network` is: a Graph, a path (.tflite / .h5 / .keras), a TFLite buffer,
    a Keras model, or a TensorLayer 2 model. Every weight is checked to be finite."""
    if isinstance(network, Graph):
        return network
    g = _load(network, **kwargs)
    label = os.fspath(network) if isinstance(network, (str, os.PathLike)) else None
    check_finite_weights(g, label)
    return g


def check_finite_weights(g, label=None):
    """NaN or Inf in a layer's weights (a diverged training run) is refused by layer and attribute:
    quantization would turn it into a model whose every output is garbage."""
    for op in g.ops:
        for key, v in op.attrs.items():
            if isinstance(v, np.ndarray) and v.dtype.kind == "f" and not np.isfinite(v).all():
                bad = ~np.isfinite(v)
                i = tuple(int(k) for k in np.unravel_index(int(np.argmax(bad)), v.shape))
                raise InputError(f"{key} of layer '{op.name}' ({op.source_type or op.type}) holds "
                                 f"{int(bad.sum())} NaN/Inf values (first {v[i]} at {i})",
                                 file=label or f"model '{g.name}'")


def _load(network, **kwargs) -> Graph:
    if isinstance(network, (bytes, bytearray, memoryview)):
        from .tflite import load_tflite
        return load_tflite(bytes(network), **kwargs)
    if isinstance(network, (str, os.PathLike)):
        path = os.fspath(network)
        if not os.path.exists(path):
            raise FileNotFoundError(f"model file not found: {path}")
        low = path.lower()
        if low.endswith(".tflite"):
            from .tflite import load_tflite
            return load_tflite(path, **kwargs)
        if low.endswith((".h5", ".hdf5")):
            _expect_container(path, HDF5_MAGIC, "an HDF5 file (.h5)")
            from .tensorlayer import is_tl_h5, load_tl_h5
            if _h5(path, is_tl_h5):
                return _h5(path, load_tl_h5, **kwargs)
            from .keras import load_keras
            return load_keras(path, **kwargs)
        if low.endswith(".keras"):
            _expect_container(path, ZIP_MAGIC, "a zip archive (.keras)")
            _check_zip(path)
            from .keras import load_keras
            return load_keras(path, **kwargs)
        raise InputError("unknown model format (expected .tflite, .h5, .keras)", file=path)
    mod = type(network).__module__ or ""
    if mod.startswith("tensorlayer"):
        from .tensorlayer import load_tl_model
        return load_tl_model(network, **kwargs)
    if mod.startswith(("keras", "tf_keras", "tensorflow")):
        from .keras import load_keras
        return load_keras(network, **kwargs)
    raise TypeError(f"don't know how to convert a {type(network).__module__}.{type(network).__name__}")


__all__ = ["load", "UnsupportedLayersError"]
