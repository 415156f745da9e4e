"""TensorLayer 2 static models -> IR.

Two ways in, one translator:
* a live `tensorlayer.models.Model` (its `config` architecture plus the layers' variables), and
* a TensorLayer .h5 weight file alone: its `model_config` attribute holds the architecture, the
  weights are read with h5py directly (TensorLayer's own loaders fail with h5py >= 3). No
  TensorFlow is needed for this path.
"""
from __future__ import annotations

import ast

import numpy as np

from ..ir import Graph, UnsupportedLayersError
from . import chain_binary, fixed_input_shape

_ACT_NAMES = {None: "linear", "identity": "linear", "linear": "linear", "relu": "relu", "relu6": "relu6",
              "leaky_relu": "leaky_relu", "lrelu": "leaky_relu", "sigmoid": "sigmoid", "tanh": "tanh",
              "softmax": "softmax", "softmax_v2": "softmax", "swish": "swish", "silu": "swish", "elu": "elu",
              "selu": "selu", "softplus": "softplus", "gelu": "gelu"}


def is_tl_h5(path):
    import h5py
    with h5py.File(path, "r") as f:
        cfg = f.attrs.get("model_config")
        if cfg is None:
            return False
        if isinstance(cfg, bytes):
            cfg = cfg.decode()
        return "tensorlayer_version" in cfg or "'model_architecture'" in cfg


def _parse_config(text):
    if isinstance(text, bytes):
        text = text.decode()
    text = text.replace("tf.float32", "'float32'").replace("tf.int32", "'int32'")
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError) as e:
        raise ValueError(f"cannot parse the TensorLayer model_config: {e}") from None


def _probe_act(fn):
    """Identify an activation callable by evaluating it (TensorLayer stores lambdas opaquely)."""
    if fn is None:
        return "linear", None
    xs = np.array([-4.0, -1.0, 0.0, 0.5, 1.0, 3.0, 8.0], np.float32)
    try:
        y = np.asarray(fn(xs.reshape(1, -1)), np.float64).reshape(-1)
    except Exception:  # noqa: BLE001
        return None, None
    if np.allclose(y, xs, atol=1e-6):
        return "linear", None
    if np.allclose(y, np.maximum(xs, 0), atol=1e-6):
        return "relu", None
    if np.allclose(y, np.clip(xs, 0, 6), atol=1e-6):
        return "relu6", None
    a = y[1] / xs[1]
    if 0 < a < 1 and np.allclose(y, np.where(xs >= 0, xs, a * xs), atol=1e-6):
        return "leaky_relu", float(a)
    if np.allclose(y, 1 / (1 + np.exp(-xs)), atol=1e-5):
        return "sigmoid", None
    if np.allclose(y, np.tanh(xs), atol=1e-5):
        return "tanh", None
    e = np.exp(xs - xs.max())
    if np.allclose(y, e / e.sum(), atol=1e-5):
        return "softmax", None
    from ..ir.execute import SMOOTH
    for name, f in SMOOTH.items():
        if np.allclose(y, np.asarray(f(xs.astype(np.float64)), np.float64), atol=1e-4):
            return name, None
    return None, None


def load_tl_h5(path, name=None) -> Graph:
    import h5py
    weights = {}
    with h5py.File(path, "r") as f:
        if "model_config" not in f.attrs:
            raise ValueError(f"{path}: no 'model_config' attribute: not a TensorLayer 2 model file")
        cfg = _parse_config(f.attrs["model_config"])
        for lname in f.attrs.get("layer_names", []):
            lname = lname.decode() if isinstance(lname, bytes) else str(lname)
            grp = f[lname]
            d = {}
            for wn in grp.attrs.get("weight_names", []):
                wn = wn.decode() if isinstance(wn, bytes) else str(wn)
                d[wn.split("/")[-1].split(":")[0]] = np.asarray(grp[wn], np.float32)
            weights[lname] = d
    return _from_config(cfg, weights, {}, name)


def load_tl_model(model, name=None) -> Graph:
    weights, acts = {}, {}
    for layer in model.all_layers:
        weights[layer.name] = {w.name.split("/")[-1].split(":")[0]: np.asarray(w.numpy(), np.float32)
                               for w in layer.all_weights}
        if hasattr(layer, "act"):
            acts[layer.name] = _probe_act(layer.act)
    return _from_config(model.config, weights, acts, name)


def _node_layer(n):
    return n.rsplit("_node_", 1)[0]


def _from_config(cfg, weights, acts, name):
    g = Graph(name or cfg.get("name", "tl_model"))
    bad = []
    known, failed = set(), set()    # layers converted, layers refused
    for item in cfg["model_architecture"]:
        cls = item["class"]
        args = item["args"]
        lname = args["name"]
        prev = item.get("prev_layer") or []
        if prev and isinstance(prev[0], list):
            prev = prev[0]
        ins = [_node_layer(p) for p in prev]
        if cls in ("_InputLayer", "Input"):
            g.add_input(lname, fixed_input_shape(args["shape"][1:], lname, f"TensorLayer model '{g.name}'"))
            known.add(lname)
            continue
        if any(i not in known for i in ins):
            missing = [i for i in ins if i not in known and i not in failed]
            if missing:
                bad.append((lname, cls, f"input '{missing[0]}' is no earlier layer of the model"))
            failed.add(lname)        # after an unsupported layer: its cause is listed, not this consequence
            continue
        act, alpha = acts.get(lname, (None, None)) if lname in acts else _cfg_act(args.get("act"))
        if "act" in args and act is None:
            bad.append((lname, cls, f"activation {args.get('act')!r} not supported"))
            failed.add(lname)
            continue
        try:
            reason = _convert(g, cls, args, lname, ins, weights.get(lname, {}), act or "linear", alpha)
        except Exception as e:  # noqa: BLE001
            reason = f"{type(e).__name__}: {e}"
        if reason:
            bad.append((lname, cls, reason))
            failed.add(lname)
        else:
            known.add(lname)
    if bad:
        raise UnsupportedLayersError(bad, f"TensorLayer model '{g.name}'")
    outs = cfg["outputs"]
    outs = outs if isinstance(outs, list) else [outs]
    g.outputs = [_node_layer(o) for o in outs]
    g.meta["source"] = "tensorlayer"
    g.validate()
    return g


def _cfg_act(a):
    if a is None:
        return "linear", None
    if isinstance(a, tuple):        # ('is_Func', pickled lambda): only a live model can be probed
        return None, None
    return _ACT_NAMES.get(a), (0.2 if _ACT_NAMES.get(a) == "leaky_relu" else None)


def _pair(v):
    return (int(v), int(v)) if isinstance(v, int) else tuple(int(x) for x in v)


def _convert(g, cls, a, name, ins, w, act, alpha):
    x = ins[0] if ins else None
    extra = {"alpha": alpha} if alpha is not None else {}
    if a.get("data_format", "channels_last") != "channels_last":
        return "only channels_last"
    if cls in ("Conv2d", "DepthwiseConv2d"):
        pad = str(a.get("padding", "SAME")).lower()
        W = w.get("filters", w.get("W"))
        b = w.get("biases", w.get("b"))
        if W is None:
            return "weights not found"
        op = "conv2d" if cls == "Conv2d" else "depthwise_conv2d"
        g.add_op(op, name, x, source_type=cls, weights=W, bias=None if b is None else b.reshape(-1),
                 strides=_pair(a.get("strides", (1, 1))), padding=pad,
                 dilation=_pair(a.get("dilation_rate", (1, 1))), act=act, **extra)
        return None
    if cls in ("BatchNorm", "BatchNorm2d"):
        c = None
        for k in ("moving_mean", "moving_var", "beta", "gamma"):
            if k in w:
                c = w[k].size
        if c is None:
            return "moving statistics not found"
        mean = w["moving_mean"].reshape(-1)
        var = w["moving_var"].reshape(-1)
        gamma = w.get("gamma", np.ones(c, np.float32)).reshape(-1)
        beta = w.get("beta", np.zeros(c, np.float32)).reshape(-1)
        scale = gamma / np.sqrt(var + float(a.get("epsilon", 1e-5)))
        g.add_op("batch_norm", name, x, source_type=cls, scale=scale.astype(np.float32),
                 offset=(beta - mean * scale).astype(np.float32), act=act, **extra)
        return None
    if cls == "Dense":
        W = w.get("weights", w.get("W"))
        b = w.get("biases", w.get("b"))
        g.add_op("dense", name, x, source_type=cls, weights=W, bias=b, act=act, **extra)
        return None
    if cls == "Flatten":
        g.add_op("flatten", name, x, source_type=cls)
        return None
    if cls == "Reshape":
        g.add_op("reshape", name, x, source_type=cls, shape=tuple(int(d) for d in a["shape"][1:]))
        return None
    if cls == "Dropout":
        g.add_op("reshape", name, x, source_type=cls, shape=(-1,) if False else g.shape(x))
        return None
    if cls in ("MaxPool2d", "MeanPool2d"):
        fs = _pair(a.get("filter_size", (3, 3)))
        st = a.get("strides") or fs
        g.add_op("max_pool2d" if cls == "MaxPool2d" else "avg_pool2d", name, x, source_type=cls,
                 ksize=fs, strides=_pair(st), padding=str(a.get("padding", "SAME")).lower())
        return None
    if cls in ("GlobalMeanPool2d", "GlobalMaxPool2d"):
        g.add_op("global_avg_pool" if "Mean" in cls else "global_max_pool", name, x, source_type=cls)
        return None
    if cls == "UpSampling2d":
        sc = a.get("scale", (2, 2))
        sc = (sc, sc) if isinstance(sc, (int, float)) else tuple(sc)
        if str(a.get("method", "nearest")).lower() not in ("nearest", "1") or any(int(v) != v for v in sc):
            return f"method {a.get('method')!r} / scale {sc} (only nearest, integer factors)"
        g.add_op("resize_nearest", name, x, source_type=cls, factor=(int(sc[0]), int(sc[1])))
        return None
    if cls == "ZeroPad2d":
        p = a["padding"]
        if isinstance(p, int):
            pads = (p, p, p, p)
        elif isinstance(p[0], int):
            pads = (p[0], p[0], p[1], p[1])
        else:
            pads = (p[0][0], p[0][1], p[1][0], p[1][1])
        g.add_op("pad", name, x, source_type=cls, pads=tuple(int(v) for v in pads), value=0.0)
        return None
    if cls == "Elementwise":
        fn = a.get("combine_fn")
        if fn in ("multiply", "math.multiply", "mul"):      # a product chains two inputs at a time
            chain_binary(g, "mul", name, ins, cls, act=act, **extra)
            return None
        if fn not in ("add", "add_v2", "math.add"):
            return f"combine_fn {fn!r} (only add and multiply)"
        g.add_op("add", name, ins, source_type=cls, act=act, **extra)
        return None
    if cls == "Concat":
        axis = int(a.get("concat_dim", -1))
        g.add_op("concat", name, ins, source_type=cls, axis=axis - 1 if axis > 0 else axis)
        return None
    return "layer type not supported"
