"""Regenerate tests/convert/data/*.tflite (float TFLite versions of the trained test models), so the
TFLite tests run without TensorFlow. Needs the [tf] extra: python tests/convert/make_fixtures.py"""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import synth  # noqa: E402

if __name__ == "__main__":
    out = os.path.join(os.path.dirname(__file__), "data")
    os.makedirs(out, exist_ok=True)
    for kind in synth.BUILDERS:
        m = synth.trained(kind)
        synth.to_tflite(m, os.path.join(out, f"{kind}_float.tflite"))
        print(kind, os.path.getsize(os.path.join(out, f"{kind}_float.tflite")))
