"""Frontends: framework model -> emc.ir.Graph.

Each frontend collects every layer it cannot express and raises one UnsupportedLayersError
listing them all (name and type), instead of failing on the first.
"""
from __future__ import annotations

import os

from ..ir import Graph, UnsupportedLayersError


def load(network, **kwargs) -> Graph:
    """Dispatch on what `network` is: a Graph, a path (.tflite / .h5 / .keras), a TFLite buffer,
    a Keras model, or a TensorLayer 2 model."""
    if isinstance(network, Graph):
        return network
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
            from .tensorlayer import is_tl_h5, load_tl_h5
            if is_tl_h5(path):
                return load_tl_h5(path, **kwargs)
            from .keras import load_keras
            return load_keras(path, **kwargs)
        if low.endswith(".keras"):
            from .keras import load_keras
            return load_keras(path, **kwargs)
        raise ValueError(f"{path}: unknown model format (expected .tflite, .h5, .keras)")
    mod = type(network).__module__ or ""
    if mod.startswith("tensorlayer"):
        from .tensorlayer import load_tl_model
        return load_tl_model(network, **kwargs)
    if mod.startswith(("keras", "tf_keras", "tensorflow")):
        from .keras import load_keras
        return load_keras(network, **kwargs)
    raise TypeError(f"don't know how to convert a {type(network).__module__}.{type(network).__name__}")


__all__ = ["load", "UnsupportedLayersError"]
