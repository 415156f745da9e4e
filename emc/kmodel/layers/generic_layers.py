"""Registry of the EMC generic int8 profile layer types (0x4000+), one module per type: its body
layout, checks, reference arithmetic, the TFLite operators it imports and its memory/MAC facts.
A new layer type is one module here plus its line below (docs/adding_an_op.md)."""
from .generic_add import GenericAdd, GenericBroadcastAdd
from .generic_average_pool2d import GenericAveragePool2d
from .generic_concat import GenericConcat
from .generic_conv2d import GenericConv2d
from .generic_depthwise_conv2d import GenericDepthwiseConv2d
from .generic_dequantize import GenericDequantize
from .generic_fully_connected import GenericFullyConnected
from .generic_input import GenericInput
from .generic_lookup import GenericLookup
from .generic_lstm import GenericLstm
from .generic_max_min import GenericMaxMin
from .generic_max_pool2d import GenericMaxPool2d
from .generic_mean import GenericMean
from .generic_mul import GenericMul
from .generic_output import GenericOutput
from .generic_pad import GenericPad
from .generic_prelu import GenericPrelu
from .generic_quantize import GenericQuantize, GenericRequantize
from .generic_reshape import GenericReshape
from .generic_resize_bilinear import GenericResizeBilinear
from .generic_resize_nearest import GenericResizeNearest
from .generic_slice import GenericSlice
from .generic_softmax import GenericSoftmax
from .generic_strided_slice import GenericStridedSlice
from .generic_tile import GenericTile
from .generic_transpose import GenericTranspose

GENERIC_LAYERS = [GenericInput, GenericConv2d, GenericDepthwiseConv2d, GenericFullyConnected,
                  GenericAveragePool2d, GenericMaxPool2d, GenericAdd, GenericConcat, GenericReshape, GenericSoftmax,
                  GenericQuantize, GenericDequantize, GenericOutput, GenericMean, GenericPad, GenericMul,
                  GenericBroadcastAdd, GenericRequantize, GenericLookup, GenericResizeNearest,
                  GenericTranspose, GenericSlice, GenericResizeBilinear,
                  GenericPrelu, GenericMaxMin, GenericTile, GenericLstm, GenericStridedSlice]

# TFLite builtin operator name -> the layer class that imports it (`from_tflite(ctx, op)`)
TFLITE_OPS = {name: cls for cls in GENERIC_LAYERS for name in getattr(cls, "TFLITE_OPS", ())}
