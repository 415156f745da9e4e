"""The conversion report's agreement figures (emc.convert.compare), checked on hand-made outputs."""
import numpy as np

from emc.ir import Graph
from emc.convert import compare


def _graph():
    g = Graph("cmp")
    g.add_input("x", (3,))
    g.add_op("activation", "y", "x", act="relu")
    g.outputs = ["y"]
    return g.validate()


def test_cosine_does_not_depend_on_the_outputs_scale():
    """Logits of 1e-8 (an untrained network) once read as cosine 0.1 because of an absolute epsilon."""
    f = np.array([[2.0, 1.0, -4.0], [1.0, 0.0, -3.0]])
    k = np.array([[1.9, 1.1, -4.0], [1.0, 0.1, -3.2]])
    want = np.mean([a @ b / np.linalg.norm(a) / np.linalg.norm(b) for a, b in zip(f, k)])     # 0.99...
    for scale in (1.0, 1e-8, 1e-30):
        m = compare(_graph(), {"y": f * scale}, [[row * scale] for row in k], device_layout=False)["y"]
        assert abs(m["cosine"] - want) < 1e-12 and m["top1"] == 1.0


def test_cosine_of_zero_outputs():
    z = np.zeros((1, 3))
    assert compare(_graph(), {"y": z}, [[z[0]]], device_layout=False)["y"]["cosine"] == 1.0
    assert compare(_graph(), {"y": z}, [[np.array([0.0, 1e-9, 0.0])]], device_layout=False)["y"]["cosine"] == 0.0
