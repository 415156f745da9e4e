"""Writes the fuzz seed corpus: small real v3 files, the synthetic v3 files that cover every layer
type (tests/runtime/synth_v3.py) and generic-profile models imported from small .tflite files.
Big files (mbnetv1, yolo20, face detect) stay out: one invoke of them costs seconds under ASan.

    python fuzz/make_seeds.py OUT_DIR
"""
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
DATA = (ROOT / "emc" / "data", ROOT / "tests" / "data")


def main(out):
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "tests" / "runtime"))
    from synth_v3 import all_models

    from emc.backends.generic import import_tflite
    for name, km in all_models().items():
        (out / f"synth_{name}.kmodel").write_bytes(km.to_bytes())
    for name in ("nncase_v0.1_iris_v3", "maixemc_cifar10_output_hwverified_v3"):
        for d in DATA:
            p = d / f"{name}.kmodel"
            if p.exists():
                (out / p.name).write_bytes(p.read_bytes())
    tfl = [ROOT / "tests" / "data" / "ad01_int8.tflite"] + sorted((ROOT / "tests" / "runtime" / "data").glob("*.tflite"))
    for p in tfl:
        if p.exists():
            (out / f"generic_{p.stem}.kmodel").write_bytes(import_tflite(p.read_bytes()).to_bytes())
    return out


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "fuzz/corpus")
