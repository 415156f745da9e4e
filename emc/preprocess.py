"""Dataset functions and image loading shared by calibration (`emc convert`) and `emc run`.

A dataset function maps uint8 pixels (HWC) to the float network input. For the K210 the same
mapping is folded into the first layer: the device takes raw pixels, planar CHW.
"""
from __future__ import annotations


from .images import DATASET_FUNCS, ImageError, pixels_for_kpu, read_rgb

# dataset_func name -> (scale, zero_point): real = scale * (pixel - zero_point)
PIXEL_QUANT = {
    "img_0_1": (1.0 / 255.0, 0.0),
    "img_-1_1": (1.0 / 127.5, 127.5),
    "img_0_255": (1.0, 0.0),
}

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".ppm", ".pgm", ".webp")


def dataset_function(name):
    if callable(name):
        return name
    try:
        return DATASET_FUNCS[name]
    except KeyError:
        raise ValueError(f"unknown dataset_func {name!r}; known: {sorted(DATASET_FUNCS)} "
                         f"or a callable(uint8 HWC pixels) -> float array") from None


def load_image(path, shape, resize=False):
    """uint8 HWC pixels of `path` for an input of shape (H, W, C). Without resize, a different
    image size is an error (calibration images must look like what the device will see)."""
    h, w, c = shape
    px = read_rgb(path, (h, w) if resize else None, c)
    if px.shape[:2] != (h, w):
        raise ImageError(f"{path}: image is {px.shape[1]}x{px.shape[0]} (WxH), the model input is {w}x{h}; "
                         f"resize the images or pass resize=True (CLI: --resize)")
    return px


__all__ = ["DATASET_FUNCS", "PIXEL_QUANT", "IMAGE_EXTS", "ImageError", "dataset_function", "load_image",
           "pixels_for_kpu", "read_rgb"]
