"""Fast (numpy-only) K210 checks of identity-like ops: a reshape to the same shape that is a graph output,
and a softmax on a 1x1xN map, against the float graph."""
import numpy as np

import emc
from emc.ir import Graph, run_float


def _conv_graph(name):
    r = np.random.default_rng(0)
    g = Graph(name)
    g.add_input("x", (8, 8, 3))
    g.add_op("conv2d", "c", "x", weights=r.normal(0, 0.5, (3, 3, 3, 6)).astype(np.float32), bias=None,
             strides=(1, 1), padding="same", act="relu")
    return g, r.random((12, 8, 8, 3)).astype(np.float32)


def test_identity_reshape_as_graph_output(tmp_path):
    g, x = _conv_graph("idres")
    g.add_op("reshape", "same", "c", shape=(8, 8, 6))
    g.outputs = ["same"]
    g.validate()
    rep = emc.save_kmodel(g, str(tmp_path / "r.kmodel"), x, eval_limit=12)
    assert rep.metrics["same"]["cosine"] > 0.999, rep.text()


def test_softmax_on_1x1_map(tmp_path):
    g, x = _conv_graph("smap")
    g.add_op("global_avg_pool", "gap", "c", keepdims=True)
    r = np.random.default_rng(1)
    g.add_op("conv2d", "logits", "gap", weights=r.normal(0, 1, (1, 1, 6, 5)).astype(np.float32),
             bias=r.normal(0, 0.2, 5).astype(np.float32), strides=(1, 1), padding="valid")
    g.add_op("softmax", "prob", "logits")
    g.outputs = ["prob"]
    g.validate()
    path = tmp_path / "s.kmodel"
    emc.save_kmodel(g, str(path), x, eval_limit=0)
    f = run_float(g, x)["prob"].reshape(len(x), -1)
    from emc.reference import run
    k = np.stack([run(path, np.ascontiguousarray(np.round(e * 255).astype(np.uint8).transpose(2, 0, 1)))[0]
                  for e in x])
    assert np.allclose(k.sum(1), 1, atol=1e-5)
    assert np.abs(k - f).max() < 0.02 and (k.argmax(1) == f.argmax(1)).mean() >= 0.9
