"""K210 KPU backend: calibrated IR graph -> kmodel v3."""
from .compiler import K210Compiler, LayerInfo, Options, qparams
from .kpu_params import conv_params, identity_params

__all__ = ["K210Compiler", "LayerInfo", "Options", "qparams", "conv_params", "identity_params"]
