"""Convolutions the KPU cannot take (5x5/7x7 kernels, dilation, strides > 2, padding > 1, > 320 wide ...)
as CPU layers of the same kmodel, with --allow-patched: EMC's generic int8 layers (TFLite-exact, run by
the Python reference and runtime_c alike, not by the stock SDK kpu.c).

The K210 path keeps u8 CHW maps in the main buffer; the generic conv takes int8 HWC. So a CPU conv is
  GENERIC_TRANSPOSE (CHW -> HWC) -> GENERIC_LOOKUP (u8 -> i8) -> GENERIC_(DEPTHWISE_)CONV2D ->
  GENERIC_LOOKUP (i8 -> u8) -> GENERIC_TRANSPOSE (HWC -> CHW).
u8 <-> i8 with the same zero point shifted by 128 is the byte flip b ^ 0x80 (both directions): one table.
Weights: symmetric int8 per output channel (TFLite's scheme), bias int32 at scale sx * sw."""
from __future__ import annotations

import numpy as np

from ...ir.opdef import opdef
from ...kmodel.layers.generic_layers import (GenericConv2d, GenericDepthwiseConv2d, GenericLookup,
                                             GenericTranspose)
from ...kmodel.layers.generic_math import quantize_multiplier

# GENERIC_LOOKUP's table is indexed by input byte ^ 0x80 and holds the output as int8: for the byte
# flip, output byte = input byte ^ 0x80 = the index itself
BYTE_FLIP = np.arange(256, dtype=np.uint8).view(np.int8)
CPU_CONV_ACTS = ("linear", "relu", "relu6")


def flip_layer(count):
    return GenericLookup(flags=0, main_mem_in_address=0, main_mem_out_address=0, count=count, table=BYTE_FLIP)


def transpose_layer(dims, perm):
    return GenericTranspose(flags=0, main_mem_in_address=0, main_mem_out_address=0,
                            **{f"in_dim{i}": d for i, d in enumerate(dims)}, **{f"perm{i}": p for i, p in enumerate(perm)})


def quantize_weights(op):
    """Symmetric int8 weights per output channel: (wq (1,KH,KW,OC) depthwise / (OC,KH,KW,IC), scales (OC,))."""
    wts = np.asarray(op.attrs["weights"], np.float64)
    kh, kw = wts.shape[:2]
    dw = opdef(op.type).DEPTHWISE
    ohwi = wts.reshape(kh, kw, -1)[None] if dw else wts.transpose(3, 0, 1, 2)
    per_out = np.abs(ohwi).max(axis=(0, 1, 2)) if dw else np.abs(ohwi).max(axis=(1, 2, 3))
    sw = np.where(per_out > 0, per_out / 127.0, 1.0)
    wq = np.clip(np.round(ohwi / (sw if dw else sw[:, None, None, None])), -127, 127).astype(np.int8)
    return wq, sw


def weights_as_run(op):
    """The real value of the int8 weights conv_layer writes, in the IR layout of op's weights."""
    wq, sw = quantize_weights(op)
    if opdef(op.type).DEPTHWISE:
        return (wq[0] * sw).reshape(op.attrs["weights"].shape)
    return (wq * sw[:, None, None, None]).transpose(1, 2, 3, 0)


def conv_layer(op, in_shape, out_shape, q_in, q_out):
    """The int8 generic conv for IR op (conv2d / depthwise_conv2d) with u8 tensor quantizations
    q_in/q_out = (scale, zero point). Returns the layer, or raises ValueError with the reason."""
    act = op.attrs.get("act", "linear")
    if act not in CPU_CONV_ACTS:
        raise ValueError(f"activation {act} on a CPU convolution (linear, relu, relu6)")
    h, w, c = in_shape
    oh, ow, oc = out_shape
    kh, kw = op.attrs["weights"].shape[:2]
    dw = opdef(op.type).DEPTHWISE
    wq, sw = quantize_weights(op)
    (sx, zx), (so, zo) = q_in, q_out
    b = op.attrs.get("bias")
    bias = np.zeros(oc) if b is None else np.asarray(b, np.float64)
    bq = np.clip(np.round(bias / (sx * sw)), -(1 << 31), (1 << 31) - 1).astype(np.int32)
    mult, shift = zip(*(quantize_multiplier(float(sx * s / so)) for s in sw))
    zo8 = int(zo) - 128
    lo = max(-128, zo8) if act in ("relu", "relu6") else -128
    hi = min(127, zo8 + int(round(6.0 / so))) if act == "relu6" else 127
    pt, _, pl, _ = op.attrs["pads"]
    dh, dwl = op.attrs.get("dilation", (1, 1))
    cls = GenericDepthwiseConv2d if dw else GenericConv2d
    return cls(flags=0, main_mem_in_address=0, main_mem_out_address=0, in_h=h, in_w=w, in_c=c, out_h=oh,
               out_w=ow, out_c=oc, k_h=kh, k_w=kw, stride_h=op.attrs["strides"][0], stride_w=op.attrs["strides"][1],
               dil_h=dh, dil_w=dwl, pad_top=pt, pad_left=pl, input_offset=-(int(round(zx)) - 128),
               output_offset=zo8, act_min=lo, act_max=hi, depth_multiplier=oc // c if dw else 1,
               bias=bq, multiplier=np.array(mult, np.int32), shift=np.array(shift, np.int32),
               weights=wq.reshape(-1))
