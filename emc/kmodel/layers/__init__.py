"""Registry of kmodel v3 layer types: type id -> class. One module per layer family keeps the
body layout, validation and reference arithmetic of its types together."""
from .add import Add, QuantizedAdd
from .base import Layer, Opaque
from .concat import Concat, QuantizedConcat
from .flatten import QuantizedTensorflowFlatten, TensorflowFlatten
from .float_ops import L2Normalization, Logistic, Softmax
from .fully_connected import FullyConnected, QuantizedFullyConnected
from .k210 import K210AddPadding, K210Conv, K210RemovePadding, K210Upload
from .pool2d import AveragePool2d, MaxPool2d, QuantizedAveragePool2d, QuantizedMaxPool2d
from .pool_global import (GlobalAveragePool2d, GlobalMaxPool2d, QuantizedGlobalAveragePool2d,
                          QuantizedGlobalMaxPool2d)
from .quantize import ChannelwiseDequantize, Dequantize, Quantize, Requantize
from .resize import QuantizedResizeNearestNeighbor, ResizeNearestNeighbor

SDK_LAYERS = [Add, QuantizedAdd, GlobalMaxPool2d, QuantizedGlobalMaxPool2d, GlobalAveragePool2d,
              QuantizedGlobalAveragePool2d, MaxPool2d, QuantizedMaxPool2d, AveragePool2d,
              QuantizedAveragePool2d, Quantize, Dequantize, Requantize, L2Normalization, Softmax, Concat,
              QuantizedConcat, FullyConnected, QuantizedFullyConnected, TensorflowFlatten,
              QuantizedTensorflowFlatten, ResizeNearestNeighbor, QuantizedResizeNearestNeighbor,
              ChannelwiseDequantize, Logistic, K210Conv, K210AddPadding, K210RemovePadding, K210Upload]

LAYER_CLASSES: dict[int, type[Layer]] = {cls.TYPE: cls for cls in SDK_LAYERS}

try:   # the generic int8 Cortex-M profile (extension type range), when present
    from .generic_layers import GENERIC_LAYERS
    LAYER_CLASSES.update({cls.TYPE: cls for cls in GENERIC_LAYERS})
except ImportError:
    GENERIC_LAYERS = []

LAYER_NAMES = {t: cls.NAME for t, cls in LAYER_CLASSES.items()}
LAYER_NAMES[0] = "INVALID"

__all__ = ["LAYER_CLASSES", "LAYER_NAMES", "Layer", "Opaque", "SDK_LAYERS"] + [c.__name__ for c in SDK_LAYERS]
