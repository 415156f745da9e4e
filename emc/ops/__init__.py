"""The IR op types, one module each (or one per tight family): IR semantics and shape inference, float
reference math, fusion and channel facts, TF emission for the int8 quantizer and the K210 lowering.
Importing this package registers them in emc.ir.opdef (the IR asks the registry, it never imports this)."""
from . import (activation, add, batch_norm, concat, conv2d, crop, dense, depthwise_conv2d, global_pool, lstm, mul,
               pad, pool, prelu, reshape, resize_nearest, softmax)

__all__ = ["activation", "add", "batch_norm", "concat", "conv2d", "crop", "dense", "depthwise_conv2d", "global_pool", "lstm",
           "mul", "pad", "pool", "prelu", "reshape", "resize_nearest", "softmax"]
