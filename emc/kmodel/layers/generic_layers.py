"""Registry of the EMC generic int8 profile layer types (0x4000+), one module per type."""
from .generic_add import GenericAdd
from .generic_average_pool2d import GenericAveragePool2d
from .generic_concat import GenericConcat
from .generic_conv2d import GenericConv2d
from .generic_depthwise_conv2d import GenericDepthwiseConv2d
from .generic_dequantize import GenericDequantize
from .generic_fully_connected import GenericFullyConnected
from .generic_input import GenericInput
from .generic_max_pool2d import GenericMaxPool2d
from .generic_output import GenericOutput
from .generic_quantize import GenericQuantize
from .generic_reshape import GenericReshape
from .generic_softmax import GenericSoftmax

GENERIC_LAYERS = [GenericInput, GenericConv2d, GenericDepthwiseConv2d, GenericFullyConnected,
                  GenericAveragePool2d, GenericMaxPool2d, GenericAdd, GenericConcat, GenericReshape, GenericSoftmax,
                  GenericQuantize, GenericDequantize, GenericOutput]
