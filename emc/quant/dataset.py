"""Calibration datasets: an image folder + a dataset function, a .npy file, an array or a callable."""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..preprocess import IMAGE_EXTS, PIXEL_QUANT, ImageError, dataset_function, load_image


class DatasetError(ValueError):
    """The calibration dataset is missing, empty, unreadable or does not fit the model input."""


@dataclass
class CalibrationData:
    x: np.ndarray                   # float network inputs (N, *shape)
    pixels: np.ndarray | None       # uint8 (N, H, W, C) when the data came from images
    names: list
    pixel_quant: tuple | None       # (scale, zero_point) when the input is a known pixel mapping


def load_dataset(source, input_shape, dataset_func="img_0_1", resize=False, limit=None) -> CalibrationData:
    """The calibration set, checked: the model's input shape, finite values, and not one constant."""
    data = _load(source, input_shape, dataset_func, resize, limit)
    what = os.fspath(source) if isinstance(source, (str, os.PathLike)) else type(source).__name__
    _check_values(data, what)
    return data


def _check_values(data, what):
    """NaN/Inf are refused by sample; a set that is one constant, or N copies of one input, is refused:
    every range would be calibrated on a single point and the report evaluated on it."""
    x = data.x
    bad = ~np.isfinite(x)
    if bad.any():
        i = np.unravel_index(int(np.argmax(bad)), x.shape)
        raise DatasetError(f"calibration data from {what}: sample {data.names[i[0]]} holds {x[i]} at "
                           f"{tuple(int(v) for v in i[1:])} ({int(bad.sum())} NaN/Inf values in all)")
    if x.size and float(x.min()) == float(x.max()):
        raise DatasetError(f"calibration data from {what} is constant: all {len(x)} inputs hold only the value "
                           f"{float(x.min()):g}; calibrate on real inputs")
    if len(x) > 1 and (x == x[:1]).all():
        raise DatasetError(f"calibration data from {what}: all {len(x)} inputs are the same; calibrate on "
                           f"different real inputs")


def _load(source, input_shape, dataset_func, resize, limit) -> CalibrationData:
    shape = tuple(input_shape)
    if callable(source) and not isinstance(source, (str, os.PathLike)):
        data = source()
        return _from_array(np.asarray(list(data) if not hasattr(data, "shape") else data), shape, "callable")
    if isinstance(source, np.ndarray):
        return _from_array(source, shape, "array")
    if source is None:
        raise DatasetError("no calibration dataset given (dataset_dir is None)")
    path = os.fspath(source)
    if os.path.isfile(path) and path.lower().endswith(".npy"):
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise DatasetError(f"{path}: not a readable .npy array: {e}") from None
        return _from_array(arr, shape, path)
    fn = dataset_function(dataset_func)
    if not os.path.isdir(path):
        raise DatasetError(f"calibration dataset {path!r} is neither a folder of images nor a .npy file")
    files = sorted(f for f in os.listdir(path) if not f.startswith("."))
    images = [f for f in files if f.lower().endswith(IMAGE_EXTS)]
    if not images:
        what = f"no image files ({', '.join(IMAGE_EXTS)})" + (f" among {len(files)} files" if files else "")
        raise DatasetError(f"calibration folder {path!r} is empty: {what}")
    if limit:
        images = images[:limit]
    if len(shape) != 3 or shape[2] not in (1, 3):
        raise DatasetError(f"image calibration needs an (H, W, 1|3) model input, the model takes {shape}; "
                           f"use a .npy dataset")
    px, xs = [], []
    for f in images:
        p = os.path.join(path, f)
        try:
            a = load_image(p, shape, resize)
        except ImageError as e:
            raise DatasetError(str(e)) from None
        px.append(a)
        xs.append(np.asarray(fn(a), np.float32))
    pq = PIXEL_QUANT.get(dataset_func) if isinstance(dataset_func, str) else None
    return CalibrationData(np.stack(xs), np.stack(px), images, pq)


def _from_array(a, shape, what):
    a = np.asarray(a, np.float32)
    if a.shape == shape:
        a = a[None]
    if a.ndim == 0 or a.shape[1:] != shape:
        raise DatasetError(f"calibration data from {what} has shape {a.shape}, expected (N, {', '.join(map(str, shape))})")
    if len(a) == 0:
        raise DatasetError(f"calibration data from {what} is empty")
    return CalibrationData(a, None, [f"{what}[{i}]" for i in range(len(a))], None)
