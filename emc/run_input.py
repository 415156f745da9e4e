"""The input tensor of a kmodel from a file (`emc run`; usable by any client): the one place that checks
a .npy or an image against exactly what layer 0 takes (docs/errors.md).

* a .npy must have the input's shape (a leading batch of 1 is dropped) and values its dtype can hold:
  uint8 200 for an int8 input, a fraction for a uint8 input, NaN or Inf are named errors, never wrapped,
  rounded or clipped. A map given in the other layout (HWC for a CHW input, CHW for NHWC) is transposed
  when the two layouts' shapes differ, and refused as ambiguous never (equal shapes read as given).
* an image must have the input's size unless resize=True (CLI --resize); 16-bit images are scaled
  to 8 bits (images.read_rgb). A vector input (a model whose first layer is FULLY_CONNECTED) takes no
  image: there is no pixel order or scaling to guess.
"""
from __future__ import annotations

import os
import sys

import numpy as np

from .errors import InputError

_NP = {"u8": np.uint8, "i8": np.int8, "f32": np.float32}


def load_run_inputs(paths, model, input_func=None, resize=False, note=None):
    """Every model input, one file each in input order (load_run_input); the input itself for a
    one-input model, else a list."""
    from .errors import UsageError
    n = len(model.input_layers())
    if len(paths) != n:
        raise UsageError(f"the model has {n} input{'s' * (n != 1)}: give {n} input file{'s' * (n != 1)} "
                         f"(got {len(paths)})")
    xs = [load_run_input(p, model, input_func, resize, note, index=i) for i, p in enumerate(paths)]
    return xs[0] if n == 1 else xs


def load_run_input(path, model, input_func=None, resize=False, note=None, index=0):
    """Model input `index` from `path` (.npy or image), as the layer that declares it takes it.
    input_func (the pixel mapping of float image inputs, default img_0_1) and resize apply to images
    only: given where they do not apply, they are a UsageError rather than silently ignored."""
    from .errors import UsageError
    path = os.fspath(path)
    dtype, shape = model.input_specs()[index]
    float_image = dtype == "f32" and len(shape) == 4 and shape[0] == 1 and shape[3] in (1, 3)
    if path.lower().endswith(".npy"):
        if resize or input_func is not None:
            raise UsageError(f"{'--resize' if resize else '--input-func'} applies to images, not to a .npy "
                             f"(which holds the input tensor as is)")
        return _from_npy(path, dtype, tuple(shape), note)
    if input_func is not None and not float_image:
        raise UsageError(f"--input-func does not apply: the model takes {dtype} {shape}"
                         + (" raw pixels (the pixel mapping is inside the kmodel)" if dtype == "u8" else ""))
    from .images import DATASET_FUNCS, ImageError, pixels_for_kpu, read_rgb
    try:
        if dtype == "u8" and len(shape) == 3:              # K210: raw pixels, planar CHW
            return pixels_for_kpu(path, shape, resize=resize)
        if float_image:                                    # generic float NHWC
            input_func = input_func or "img_0_1"
            if input_func not in DATASET_FUNCS:
                raise UsageError(f"unknown --input-func {input_func!r}; one of {', '.join(DATASET_FUNCS)}")
            px = read_rgb(path, shape[1:3], shape[3], resize=resize)
            return DATASET_FUNCS[input_func](px)[None].astype(np.float32)
    except ImageError as e:
        raise InputError(str(e)) from None
    if dtype == "f32" and len(shape) == 1:
        raise InputError(f"the model takes a vector of {shape[0]} float32 values (its first layer is fully "
                         f"connected), not an image: save the vector as a .npy", file=path)
    raise InputError(f"the model takes {dtype} {shape}, which EMC does not make from an image: pass a .npy",
                     file=path)


def _from_npy(path, dtype, shape, note):
    try:
        a = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise InputError(f"not a readable .npy array: {e}", file=path) from None
    if not isinstance(a, np.ndarray) or a.dtype.kind not in "biuf":
        raise InputError(f"holds {getattr(a, 'dtype', type(a))} data, not numbers", file=path)
    a = _fit_shape(a, shape, dtype, path, note)
    return _fit_dtype(a, dtype, path)


def _other_layout(shape, dtype):
    """The shape of the same map in the other common layout, and the transpose that converts it."""
    if dtype == "u8" and len(shape) == 3:                       # model CHW, data HWC
        c, h, w = shape
        return (h, w, c), (2, 0, 1), "HWC", "CHW"
    if len(shape) == 4 and shape[0] == 1:                       # model NHWC, data CHW
        _, h, w, c = shape
        return (c, h, w), None, "CHW", "NHWC"
    return None, None, None, None


def _fit_shape(a, shape, dtype, path, note):
    if a.shape == shape:
        return a
    if a.shape == (1, *shape):
        return a[0]
    if len(shape) == 4 and shape[0] == 1 and a.shape == shape[1:]:
        return a[None]
    other, perm, have, want = _other_layout(shape, dtype)
    if other is not None and a.shape in (other, (1, *other)) and other != tuple(shape[-3:]):
        a = a.reshape(other)
        a = a.transpose(perm) if perm else a.transpose(1, 2, 0)[None]
        (note or _stderr)(f"emc: note: {path}: {have} {other} transposed to the model's {want} {shape}")
        return np.ascontiguousarray(a)
    raise InputError(f"array shape {a.shape}, the model input is {dtype} {shape}"
                     + (f" (or {have} {other})" if other else ""), file=path)


def _first(mask):
    idx = np.unravel_index(int(np.argmax(mask)), mask.shape)
    return tuple(int(i) for i in idx)


def _fit_dtype(a, dtype, path):
    want = _NP[dtype]
    if a.dtype.kind == "f":
        bad = ~np.isfinite(a)
        if bad.any():
            i = _first(bad)
            raise InputError(f"element {i} is {a[i]} (NaN and Inf are not inputs)", file=path)
    if dtype == "f32":
        out = a.astype(np.float32)
        if not np.isfinite(out).all():
            i = _first(~np.isfinite(out))
            raise InputError(f"element {i} = {a[i]} overflows float32", file=path)
        return out
    info = np.iinfo(want)
    if a.dtype.kind == "f" and (a != np.round(a)).any():
        i = _first(a != np.round(a))
        raise InputError(f"element {i} is {a[i]}, not an integer: the model takes {np.dtype(want).name} "
                         f"(raw {'pixels 0..255' if dtype == 'u8' else 'int8 values'}), not scaled floats",
                         file=path)
    out_of_range = (a < info.min) | (a > info.max)
    if out_of_range.any():
        i = _first(out_of_range)
        raise InputError(f"element {i} is {a[i]} ({a.dtype.name}), outside the {np.dtype(want).name} input's "
                         f"range", file=path, limit=f"{info.min}..{info.max}")
    return a.astype(want)


def _stderr(msg):
    print(msg, file=sys.stderr)
