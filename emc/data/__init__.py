"""Files shipped with the package: the bundled example model, its input image and a tiny nncase kmodel
(origins, licences and checksums in SOURCES.md / SHA256SUMS beside this file)."""
from __future__ import annotations

import pathlib

DIR = pathlib.Path(__file__).resolve().parent

SEED_H5 = "maixemc_cifar10_tl2.h5"          # the original Maix-EMC TensorLayer 2 CIFAR-10 example
PLANE_BMP = "maixemc_plane_input.bmp"       # its 32x32 input image, run on a real K210 by the original README
IRIS_KMODEL = "nncase_v0.1_iris_v3.kmodel"  # 436-byte kmodel v3 made by nncase v0.1


def path(name: str) -> pathlib.Path:
    """The path of a bundled file; a name that is not bundled is an error, never a guess."""
    p = DIR / name
    if name.startswith((".", "/")) or not p.is_file() or p.suffix == ".py":
        raise FileNotFoundError(f"{name}: not a file bundled with emc (see {DIR / 'SOURCES.md'})")
    return p
