"""Frontend errors: one UnsupportedLayersError naming every unsupported layer and its type."""
import h5py
import numpy as np
import pytest

from emc.frontends import load
from emc.ir import UnsupportedLayersError


def _tl_h5(path, arch):
    plain = [{k: v for k, v in a.items() if k != "weights"} for a in arch]
    cfg = {"name": "bad", "version_info": {"tensorlayer_version": "2.2.5"}, "model_architecture": plain,
           "inputs": "in_node_0", "outputs": arch[-1]["args"]["name"] + "_node_0"}
    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = repr(cfg).replace("'float32'", "tf.float32")
        f.attrs["layer_names"] = np.array([a["args"]["name"].encode() for a in arch])
        for a in arch:
            g = f.create_group(a["args"]["name"])
            names = []
            for k, v in a.get("weights", {}).items():
                n = f"{a['args']['name']}/{k}:0"
                g.create_dataset(n, data=v)
                names.append(n.encode())
            g.attrs["weight_names"] = np.array(names)
    return path


def _layer(cls, name, prev, weights=None, **args):
    d = {"class": cls, "args": dict(name=name, **args), "prev_layer": [prev + "_node_0"] if prev else None}
    if weights:
        d["weights"] = weights
    return d


def test_tl_h5_lists_all_unsupported(tmp_path):
    rng = np.random.default_rng(0)
    arch = [
        _layer("_InputLayer", "in", None, shape=[None, 8, 8, 3], dtype="float32"),
        _layer("Conv2d", "c1", "in", {"filters": rng.normal(size=(3, 3, 3, 4)).astype(np.float32),
                                      "biases": np.zeros(4, np.float32)},
               n_filter=4, filter_size=(3, 3), strides=(1, 1), padding="SAME", act="relu"),
        _layer("UpSampling2d", "up", "c1", scale=(2, 2), method="bilinear"),
        _layer("Conv2d", "c2", "c1", {"filters": rng.normal(size=(3, 3, 4, 4)).astype(np.float32)},
               n_filter=4, filter_size=(3, 3), strides=(1, 1), padding="SAME", act="crelu"),
        _layer("Elementwise", "mul", "c1", combine_fn="subtract"),
        _layer("Flatten", "fl", "c1"),
    ]
    arch[4]["prev_layer"] = [["c1_node_0", "c1_node_0"]]
    p = _tl_h5(str(tmp_path / "bad.h5"), arch)
    with pytest.raises(UnsupportedLayersError) as ei:
        load(p)
    e = ei.value
    assert [(n, t) for n, t, _ in e.items] == [("up", "UpSampling2d"), ("c2", "Conv2d"), ("mul", "Elementwise")]
    msg = str(e)
    assert "3 unsupported layer(s)" in msg and "activation 'crelu'" in msg and "combine_fn 'subtract'" in msg


def test_tl_h5_good_model_loads(tmp_path):
    rng = np.random.default_rng(0)
    arch = [
        _layer("_InputLayer", "in", None, shape=[None, 8, 8, 3], dtype="float32"),
        _layer("Conv2d", "c1", "in", {"filters": rng.normal(size=(3, 3, 3, 4)).astype(np.float32)},
               n_filter=4, filter_size=(3, 3), strides=(2, 2), padding="SAME", act="relu6"),
        _layer("BatchNorm", "bn", "c1", {"beta": np.zeros((1, 1, 1, 4), np.float32),
                                         "gamma": np.ones((1, 1, 1, 4), np.float32),
                                         "moving_mean": np.zeros((1, 1, 1, 4), np.float32),
                                         "moving_var": np.ones((1, 1, 1, 4), np.float32)}, act="leaky_relu"),
        _layer("GlobalMeanPool2d", "gap", "bn"),
        _layer("Dense", "d", "gap", {"weights": np.ones((4, 2), np.float32), "biases": np.zeros(2, np.float32)},
               n_units=2, act="softmax"),
    ]
    g = load(_tl_h5(str(tmp_path / "ok.h5"), arch))
    assert [op.type for op in g.ops] == ["conv2d", "batch_norm", "global_avg_pool", "dense"]
    assert g.shape("c1") == (4, 4, 4) and g.op("bn").attrs["act"] == "leaky_relu"


def test_unknown_model_inputs(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(str(tmp_path / "missing.tflite"))
    (tmp_path / "m.onnx").write_bytes(b"x")
    with pytest.raises(ValueError, match="unknown model format"):
        load(str(tmp_path / "m.onnx"))
    with pytest.raises(TypeError):
        load(object())
