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
        return _from_array(np.load(path), shape, path)
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
