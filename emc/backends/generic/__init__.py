"""EMC generic int8 MCU profile: build the generic layers (0x4000+) of a kmodel v3 container from the
tfl-dialect IR graph of an int8 .tflite, without requantizing, with a liveness-based main-memory planner."""
from .build import BuildError, build_kmodel
from .planner import plan


def import_tflite(data: bytes, label="tflite buffer", fc_weights="int8"):
    """The KModel of an int8 .tflite (bytes): the one reader (emc.frontends.tflite_reader), then build_kmodel."""
    from ...frontends.tflite_reader import read_tflite
    return build_kmodel(read_tflite(bytes(data), label), fc_weights)


__all__ = ["BuildError", "build_kmodel", "import_tflite", "plan"]
