"""Shared helpers of the firmware tests (imported by tests and conftest alike)."""

import pathlib

import numpy as np

IRIS = "nncase_v0.1_iris_v3.kmodel"
CIFAR = "maixemc_cifar10_output_hwverified_v3.kmodel"
PLANE = "maixemc_plane_input.bmp"
IRIS_X = np.array([5.1, 3.5, 1.4, 0.2], np.float32)


def cifar_input(kmodels_dir):
    from emc.images import pixels_for_kpu

    return pixels_for_kpu(kmodels_dir / PLANE, (3, 32, 32))


def expected_outputs(model_path, x):
    """What the PC computes: the host C runtime (emc.native) when it can be built, else the Python
    reference executor. Returns (list of bytes, name of the source)."""
    try:
        from emc.native import NativeModel

        outs = NativeModel(pathlib.Path(model_path).read_bytes()).run(x)
        return [np.ascontiguousarray(o).tobytes() for o in outs], "native"
    except Exception:  # noqa: BLE001 - fall back to the reference when the C build is unavailable
        from emc import reference

        return [np.ascontiguousarray(o).tobytes() for o in reference.run(model_path, x)], "reference"


def expected_layers(model_path, x):
    """Per-layer outputs of the PC side as bytes (same order as the firmware's layer hook)."""
    try:
        from emc.native import NativeModel

        _, dumps = NativeModel(pathlib.Path(model_path).read_bytes()).run(x, dump=True)
        return [np.ascontiguousarray(dumps[i][1]).tobytes() for i in sorted(dumps)]
    except Exception:  # noqa: BLE001
        from emc import reference

        d = {}
        reference.run(model_path, x, dump=d)
        return [np.ascontiguousarray(d[k]).tobytes() for k in sorted(d)]


