"""Bit-exact numpy reference executor of kmodel v3 files (software KPU included)."""
from .executor import Executor, layer_output, prepare_input, run
from .memory import MAIN_SLACK, Memory

__all__ = ["Executor", "MAIN_SLACK", "Memory", "layer_output", "prepare_input", "run"]
