"""kmodel v3: read, validate, write (format: docs/kmodel_v3.md)."""
from .container import KModel, load, parse
from .errors import KModelError
from .layers import LAYER_CLASSES, LAYER_NAMES

__all__ = ["KModel", "KModelError", "LAYER_CLASSES", "LAYER_NAMES", "load", "parse"]
