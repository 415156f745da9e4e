"""Reading images into the tensors a model takes. Used by `emc run` and by calibration, so an
image given to the PC reference is preprocessed exactly as the calibration images were."""
from __future__ import annotations

import os

import numpy as np


class ImageError(ValueError):
    """An image file cannot be read or does not fit the model input."""


def read_rgb(path, size=None, channels=3, resize=True):
    """Read `path` as uint8 HWC (channels 3 = RGB, 1 = grayscale). With size=(h, w): resized to it, or with
    resize=False an ImageError if the image has another size. 16-bit images are scaled to 8 bits
    (65535 -> 255), not clipped."""
    try:
        from PIL import Image
    except ImportError as e:  # pragma: no cover - pillow is a core dependency
        raise ImageError("reading images needs Pillow (pip install pillow)") from e
    try:
        with Image.open(path) as im:
            im = _eight_bit(im, path)
            im = im.convert("L" if channels == 1 else "RGB")
            if size is not None and (im.height, im.width) != tuple(size):
                if not resize:
                    raise ImageError(f"{os.fspath(path)}: image is {im.width}x{im.height} (WxH), the model input "
                                     f"is {size[1]}x{size[0]}; resize it or pass --resize")
                im = im.resize((size[1], size[0]), Image.BILINEAR)
            a = np.asarray(im, np.uint8)
    except (OSError, ValueError, SyntaxError) as e:
        if isinstance(e, ImageError):
            raise
        raise ImageError(f"{os.fspath(path)}: cannot read image: {e}") from None
    return a[..., None] if a.ndim == 2 else a


def _eight_bit(im, path):
    """A 16-bit (or 32-bit integer) grayscale image as 8-bit 'L', scaled by 255/65535: Pillow's own
    convert('L') clips every value above 255 to white."""
    if im.mode not in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        return im
    from PIL import Image
    a = np.asarray(im).astype(np.int64)
    if a.size and (a.min() < 0 or a.max() > 65535):
        raise ImageError(f"{os.fspath(path)}: {im.mode} image with values {a.min()}..{a.max()}, outside 16 bits")
    return Image.fromarray(np.round(a * (255.0 / 65535.0)).astype(np.uint8), "L")


DATASET_FUNCS = {
    # name: uint8 pixels -> float network input (the seed's names)
    "img_0_1": lambda px: px.astype(np.float32) / 255.0,
    "img_-1_1": lambda px: px.astype(np.float32) / 127.5 - 1.0,
    "img_0_255": lambda px: px.astype(np.float32),
}


def pixels_for_kpu(path, chw, resize=False):
    """An image as the uint8 planar CHW tensor a K210 model's first layer takes (raw pixels:
    the dataset function's scaling is folded into the first layer's parameters). An image of another
    size is an ImageError unless resize=True."""
    c, h, w = chw
    return np.ascontiguousarray(read_rgb(path, (h, w), c, resize=resize).transpose(2, 0, 1))
