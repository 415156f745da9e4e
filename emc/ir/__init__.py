"""Framework-neutral graph IR used by every frontend and backend.

Feature maps are stored without the batch axis, channels last: (H, W, C); vectors are (N,).
Weights live in op attributes as numpy arrays (float32), so a Graph is self-contained.
"""
from .graph import Graph, Op, Tensor, QuantParams, IRError, UnsupportedLayersError, ACTIVATIONS
from .execute import run_float
from . import passes

__all__ = ["Graph", "Op", "Tensor", "QuantParams", "IRError", "UnsupportedLayersError", "ACTIVATIONS",
           "run_float", "passes"]
