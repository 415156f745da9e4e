"""Reading images into the tensors a model takes. Used by `emc run` and by calibration, so an
image given to the PC reference is preprocessed exactly as the calibration images were."""
from __future__ import annotations

import os

import numpy as np


class ImageError(ValueError):
    """An image file cannot be read or does not fit the model input."""


def read_rgb(path, size=None, channels=3):
    """Read `path` as uint8 HWC (channels 3 = RGB, 1 = grayscale), resized to size=(h, w) if given."""
    try:
        from PIL import Image
    except ImportError as e:  # pragma: no cover - pillow is a core dependency
        raise ImageError("reading images needs Pillow (pip install pillow)") from e
    try:
        with Image.open(path) as im:
            im = im.convert("L" if channels == 1 else "RGB")
            if size is not None and (im.height, im.width) != tuple(size):
                im = im.resize((size[1], size[0]), Image.BILINEAR)
            a = np.asarray(im, np.uint8)
    except (OSError, ValueError, SyntaxError) as e:
        raise ImageError(f"{os.fspath(path)}: cannot read image: {e}") from None
    return a[..., None] if a.ndim == 2 else a


DATASET_FUNCS = {
    # name: uint8 pixels -> float network input (the seed's names)
    "img_0_1": lambda px: px.astype(np.float32) / 255.0,
    "img_-1_1": lambda px: px.astype(np.float32) / 127.5 - 1.0,
    "img_0_255": lambda px: px.astype(np.float32),
}


def pixels_for_kpu(path, chw):
    """An image as the uint8 planar CHW tensor a K210 model's first layer takes (raw pixels:
    the dataset function's scaling is folded into the first layer's parameters)."""
    c, h, w = chw
    return np.ascontiguousarray(read_rgb(path, (h, w), c).transpose(2, 0, 1))
