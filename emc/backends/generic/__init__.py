"""EMC generic int8 MCU profile: import an int8 .tflite onto the generic layers (0x4000+) of a
kmodel v3 container, without requantizing, with a liveness-based main-memory planner."""
from .planner import plan
from .tflite_import import import_tflite, is_quantized_tflite

__all__ = ["import_tflite", "is_quantized_tflite", "plan"]
