"""Keras (Keras 3 / tf.keras) models, .h5 and .keras files -> IR."""
from __future__ import annotations

import numpy as np

from ..ir import Graph, UnsupportedLayersError
from . import chain_binary, dense_on_last_axis, fixed_input_shape

_ACT = {"linear": "linear", None: "linear", "relu": "relu", "relu6": "relu6", "sigmoid": "sigmoid",
        "tanh": "tanh", "softmax": "softmax", "leaky_relu": "leaky_relu", "swish": "swish", "silu": "swish",
        "hard_swish": "hard_swish", "hard_silu": "hard_swish", "hard_sigmoid": "hard_sigmoid", "elu": "elu",
        "selu": "selu", "softplus": "softplus", "gelu": "gelu", "mish": "mish"}


def _act_name(a):
    if a is None:
        return "linear"
    if not isinstance(a, str):
        a = getattr(a, "__name__", str(a))
    return _ACT.get(a)


def _load_file(path):
    """keras.models.load_model, tolerating Keras 2 files Keras 3 rejects (DepthwiseConv2D 'groups'),
    then tf_keras if installed."""
    import keras
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as first:  # noqa: BLE001
        class _DepthwiseConv2D(keras.layers.DepthwiseConv2D):
            def __init__(self, *args, groups=None, **kwargs):
                super().__init__(*args, **kwargs)

        _DepthwiseConv2D.__name__ = _DepthwiseConv2D.__qualname__ = "DepthwiseConv2D"
        try:
            return keras.models.load_model(path, compile=False,
                                           custom_objects={"DepthwiseConv2D": _DepthwiseConv2D})
        except Exception:  # noqa: BLE001
            pass
        try:
            import tf_keras
            return tf_keras.models.load_model(path, compile=False)
        except Exception:  # noqa: BLE001  (not installed, or it cannot read the file either: the first error)
            pass
        from ..errors import InputError, one_line
        raise InputError(f"Keras cannot load this file: {type(first).__name__}: {one_line(first)}",
                         file=path) from first


def _flat(ts):
    return list(ts) if isinstance(ts, (list, tuple)) else [ts]


def _model_nodes(model):
    """(layer, node) of every call that computes model.outputs, inputs before users.

    Found from the outputs' history, not from `layer._inbound_nodes[0]`: Keras 3 gives a layer one
    inbound node per graph it was called in (a Sequential's layers have two or three), and only the
    history of the model's own tensors says which one belongs to this model."""
    order, done, open_ = [], set(), set()
    stack = [(t, False) for t in reversed(_flat(model.outputs))]
    while stack:
        t, expanded = stack.pop()
        layer, node_index = t._keras_history[0], t._keras_history[1]
        node = layer._inbound_nodes[node_index]
        if id(node) in done:
            continue
        # tf_keras gives an InputLayer's node its own output as input: that node is a leaf too
        own = {id(x) for x in _flat(node.output_tensors)}
        ins = [x for x in _flat(node.input_tensors) if id(x) not in own]
        if expanded or not ins:
            done.add(id(node))
            open_.discard(id(node))
            order.append((layer, node))
            continue
        if id(node) in open_:        # reached again while its inputs are being walked: a loop
            raise ValueError(f"layer {layer.name!r} ({type(layer).__name__}) depends on its own output")
        open_.add(id(node))
        stack.append((t, True))
        stack.extend((x, False) for x in reversed(ins))
    return order


def load_keras(model, name=None) -> Graph:
    label = None
    if not hasattr(model, "layers"):
        label = str(model)
        model = _load_file(model)
    g = Graph(name or model.name)
    tname = {}                 # keras tensor name -> IR tensor name
    bad = []

    for kt in model.inputs:
        lname = kt._keras_history[0].name
        tname[kt.name] = lname
        g.add_input(lname, fixed_input_shape(kt.shape[1:], kt.name, label or f"Keras model '{model.name}'"))

    for layer, node in _model_nodes(model):
        cls = type(layer).__name__
        if cls == "InputLayer":
            continue
        ins = [tname[t.name] for t in _flat(node.input_tensors)]
        outs = _flat(node.output_tensors)
        out = layer.name if layer.name not in g.tensors else g.unique_name(layer.name)
        for t in outs:
            tname[t.name] = out
        try:
            if _is_keras_operation(layer):
                reason = _keras_operation(g, layer, cls, node, tname, out)
            else:
                reason = _convert(g, layer, cls, ins, out, [tuple(t.shape[1:]) for t in _flat(node.input_tensors)])
        except Exception as e:  # noqa: BLE001
            reason = f"{type(e).__name__}: {e}"
        if reason:
            bad.append((layer.name, cls, reason))
            # a stand-in with the layer's output shape, so that the layers after it are checked for
            # themselves: the error lists the layers that are unsupported, not every one downstream
            if out not in g.tensors:
                g.add_tensor(out, tuple(outs[0].shape[1:]))
    if bad:
        raise UnsupportedLayersError(bad, f"Keras model '{model.name}'" + (f" ({label})" if label else ""))
    g.outputs = [tname[t.name] for t in _flat(model.outputs)]
    g.meta["source"] = "keras"
    g.validate()
    return g


def _w(v):
    return np.asarray(v.numpy() if hasattr(v, "numpy") else v, np.float32)


def _convert(g, layer, cls, ins, out, in_shapes):
    c = layer.get_config()
    x = ins[0] if ins else None
    act = _act_name(c.get("activation"))
    if act == "hard_sigmoid" and type(layer).__module__.startswith("tf_keras"):
        act = "hard_sigmoid_k2"          # Keras 2's hard sigmoid is 0.2 x + 0.5, Keras 3's relu6(x + 3) / 6
    if "activation" in c and act is None:
        return f"activation {c['activation']!r} not supported"
    if cls in ("Conv2D", "DepthwiseConv2D", "SeparableConv2D"):
        if c.get("data_format", "channels_last") != "channels_last":
            return "only channels_last"
        if c.get("groups", 1) != 1:
            return "grouped convolution"
        pad = c["padding"].lower()
        if pad not in ("same", "valid"):
            return f"padding {pad}"
        ws = layer.get_weights()
        use_bias = c.get("use_bias", True)
        common = dict(strides=tuple(c["strides"]), padding=pad, dilation=tuple(c.get("dilation_rate", (1, 1))))
        if cls == "Conv2D":
            g.add_op("conv2d", out, x, source_type=cls, weights=_w(ws[0]),
                     bias=_w(ws[1]) if use_bias else None, act=act, **common)
        elif cls == "DepthwiseConv2D":
            g.add_op("depthwise_conv2d", out, x, source_type=cls, weights=_w(ws[0]),
                     bias=_w(ws[1]) if use_bias else None, act=act, **common)
        else:
            mid = g.add_op("depthwise_conv2d", out + "/depthwise", x, source_type=cls, weights=_w(ws[0]),
                           bias=None, act="linear", **common)
            g.add_op("conv2d", out, mid, source_type=cls, weights=_w(ws[1]),
                     bias=_w(ws[2]) if use_bias else None, act=act, strides=(1, 1), padding="valid")
        return None
    if cls in _ONE_D:
        return _one_d(g, layer, cls, c, x, out, in_shapes[0], act)
    if cls == "Dense":
        ws = layer.get_weights()
        w, b = _w(ws[0]), _w(ws[1]) if c.get("use_bias", True) else None
        if len(in_shapes[0]) == 1:
            g.add_op("dense", out, x, source_type=cls, weights=w, bias=b, act=act)
            return None
        return dense_on_last_axis(g, cls, x, out, in_shapes[0], w, b, act)
    if cls == "LSTM":
        return _lstm(g, layer, c, x, out)
    if cls == "BatchNormalization":
        ws = layer.get_weights()
        i = 0
        gamma = _w(ws[i]) if c.get("scale", True) else None
        i += 1 if c.get("scale", True) else 0
        beta = _w(ws[i]) if c.get("center", True) else None
        i += 1 if c.get("center", True) else 0
        mean, var = _w(ws[i]), _w(ws[i + 1])
        if gamma is None:
            gamma = np.ones_like(mean)
        if beta is None:
            beta = np.zeros_like(mean)
        axis = c.get("axis", -1)
        axis = axis[0] if isinstance(axis, (list, tuple)) else axis
        if axis not in (-1, 3) and not (axis == 1 and len(layer.input.shape) == 2):
            return f"BatchNormalization on axis {axis}"
        scale = gamma / np.sqrt(var + c["epsilon"])
        g.add_op("batch_norm", out, x, source_type=cls, scale=scale.astype(np.float32),
                 offset=(beta - mean * scale).astype(np.float32), act="linear")
        return None
    if cls in ("Rescaling", "Normalization"):
        shape = tuple(int(d) for d in layer.output.shape[1:])
        ch = shape[-1]
        if cls == "Rescaling":
            sc = np.broadcast_to(np.asarray(c["scale"], np.float32).reshape(-1), (ch,))
            off = np.broadcast_to(np.asarray(c["offset"], np.float32).reshape(-1), (ch,))
        else:
            mean = np.asarray(layer.mean, np.float32).reshape(-1)
            var = np.asarray(layer.variance, np.float32).reshape(-1)
            if c.get("invert"):
                return "inverted Normalization"
            sc = np.broadcast_to(1.0 / np.sqrt(np.maximum(var, 1e-7)), (ch,))
            off = np.broadcast_to(-mean, (ch,)) * sc
        g.add_op("batch_norm", out, x, source_type=cls, scale=np.array(sc, np.float32),
                 offset=np.array(off, np.float32), act="linear")
        return None
    if cls == "Activation":
        if act is None:
            return f"activation {c['activation']!r}"
        if act == "leaky_relu":
            g.add_op("activation", out, x, source_type=cls, act=act, alpha=0.2)
        else:
            g.add_op("activation", out, x, source_type=cls, act=act)
        return None
    if cls == "ReLU":
        mv, ns, th = c.get("max_value"), c.get("negative_slope", 0.0) or 0.0, c.get("threshold", 0.0) or 0.0
        if th:
            return "ReLU threshold"
        if ns and mv is None:
            g.add_op("activation", out, x, source_type=cls, act="leaky_relu", alpha=float(ns))
        elif not ns and mv is None:
            g.add_op("activation", out, x, source_type=cls, act="relu")
        elif not ns and float(mv) == 6.0:
            g.add_op("activation", out, x, source_type=cls, act="relu6")
        else:
            return f"ReLU(max_value={mv}, negative_slope={ns})"
        return None
    if cls == "PReLU":                  # alpha has the input's shape with the shared axes of size 1
        g.add_op("prelu", out, x, source_type=cls, alpha=_w(layer.get_weights()[0]))
        return None
    if cls == "LeakyReLU":
        alpha = c.get("negative_slope", c.get("alpha", 0.3))
        g.add_op("activation", out, x, source_type=cls, act="leaky_relu", alpha=float(alpha))
        return None
    if cls == "Softmax":
        g.add_op("softmax", out, x, source_type=cls)
        return None
    if cls in ("Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "ActivityRegularization"):
        g.add_op("reshape", out, x, source_type=cls, shape=tuple(int(d) for d in layer.output.shape[1:]))
        return None
    if cls == "Flatten":
        g.add_op("flatten", out, x, source_type=cls)
        return None
    if cls == "Reshape":
        g.add_op("reshape", out, x, source_type=cls, shape=tuple(c["target_shape"]))
        return None
    if cls in ("MaxPooling2D", "AveragePooling2D"):
        strides = c.get("strides") or c["pool_size"]
        g.add_op("max_pool2d" if cls.startswith("Max") else "avg_pool2d", out, x, source_type=cls,
                 ksize=tuple(c["pool_size"]), strides=tuple(strides), padding=c["padding"].lower())
        return None
    if cls in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        g.add_op("global_avg_pool" if "Average" in cls else "global_max_pool", out, x, source_type=cls,
                 keepdims=bool(c.get("keepdims", False)))
        return None
    if cls == "UpSampling2D":
        if c.get("interpolation", "nearest") != "nearest":
            return f"interpolation {c.get('interpolation')!r} (only nearest)"
        g.add_op("resize_nearest", out, x, source_type=cls, factor=tuple(int(v) for v in c["size"]))
        return None
    if cls == "ZeroPadding2D":
        (t, b), (left, r) = c["padding"]
        g.add_op("pad", out, x, source_type=cls, pads=(int(t), int(b), int(left), int(r)), value=0.0)
        return None
    if cls == "Cropping2D":
        (t, b), (left, r) = c["cropping"]
        g.add_op("crop", out, x, source_type=cls, crops=(int(t), int(b), int(left), int(r)))
        return None
    if cls == "Add":
        g.add_op("add", out, ins, source_type=cls, act="linear")
        return None
    if cls == "Average":                # a sum scaled by 1 / n (the scale folds where it can)
        c_ = in_shapes[0][-1]
        mid = g.add_op("add", out + "/sum", ins, source_type=cls, act="linear")
        g.add_op("batch_norm", out, mid, source_type=cls, scale=np.full(c_, 1.0 / len(ins), np.float32),
                 offset=np.zeros(c_, np.float32), act="linear")
        return None
    if cls == "Subtract":               # a + (-1) * b: the negation is an affine op on b
        c_ = in_shapes[1][-1]
        neg = g.add_op("batch_norm", out + "/neg", ins[1], source_type=cls, scale=np.full(c_, -1.0, np.float32),
                       offset=np.zeros(c_, np.float32), act="linear")
        g.add_op("add", out, [ins[0], neg], source_type=cls, act="linear")
        return None
    if cls == "Multiply":
        chain_binary(g, "mul", out, ins, cls, act="linear")
        return None
    if cls == "Concatenate":
        axis = int(c.get("axis", -1))
        g.add_op("concat", out, ins, source_type=cls, axis=axis - 1 if axis > 0 else axis)
        return None
    return "layer type not supported"


def _lstm(g, layer, c, x, out):
    """Keras 3 / tf_keras LSTM -> IR lstm (weights in Keras' own layout and gate order)."""
    for key, why in (("return_state", "return_state"), ("go_backwards", "go_backwards"),
                     ("stateful", "a stateful LSTM (state kept between calls)"), ("time_major", "time_major")):
        if c.get(key):
            return why
    from ..ir.opdef import opdef
    ws = [_w(w) for w in layer.get_weights()]
    units = int(c["units"])
    attrs = {"units": units, "return_sequences": bool(c.get("return_sequences", False)),
             "activation": _act_name(c.get("activation")),
             "recurrent_activation": _act_name(c.get("recurrent_activation")), "kernel": ws[0],
             "recurrent_kernel": ws[1], "bias": ws[2] if c.get("use_bias", True) else np.zeros(4 * units, np.float32)}
    why = opdef("lstm").unsupported(attrs)
    if why:
        return why
    g.add_op("lstm", out, x, source_type="LSTM", **attrs)
    return None



def _is_keras_operation(layer):
    """A Keras 3 operation called on symbolic tensors (`x + 3.0`, `x * (1 / 6)` in keras.applications'
    MobileNetV3): a node of the model like a layer, but not a Layer. Some share a layer's class name (Add,
    Multiply), so they are told apart by module, never by name."""
    return type(layer).__module__.startswith("keras.src.ops.")


# Keras operations with a constant operand: y = x * scale + offset per channel (an affine batch_norm op)
_AFFINE_OPS = {"Add": lambda c, swapped: (1.0, c), "Subtract": lambda c, swapped: (-1.0, c) if swapped else (1.0, -c),
               "Multiply": lambda c, swapped: (c, 0.0),
               "Divide": lambda c, swapped: None if swapped else (1.0 / c, 0.0)}
_AFFINE_OPS["TrueDivide"] = _AFFINE_OPS["Divide"]


def _keras_operation(g, op, cls, node, tname, out):
    """An operation node -> IR: a binary arithmetic op of a tensor and a per-channel (or scalar) constant
    becomes a batch_norm (which the IR folds into the conv before it), a product of two tensors a mul, a
    sum of two same-shape tensors an add. Anything else is listed as unsupported."""
    args = list(node.arguments.args) if hasattr(node, "arguments") else []
    if cls not in _AFFINE_OPS or len(args) != 2 or node.arguments.kwargs:
        return f"Keras operation {cls} not supported"
    tensors = [hasattr(a, "_keras_history") for a in args]
    if all(tensors):
        a, b = (tname[x.name] for x in args)
        if cls == "Multiply":
            g.add_op("mul", out, [a, b], source_type=f"ops.{cls}", act="linear")
            return None
        if cls == "Add" and tuple(args[0].shape) == tuple(args[1].shape):
            g.add_op("add", out, [a, b], source_type=f"ops.{cls}", act="linear")
            return None
        return f"Keras operation {cls} of two tensors {tuple(args[0].shape)}, {tuple(args[1].shape)}"
    if not any(tensors):
        return f"Keras operation {cls} without a tensor operand"
    swapped = not tensors[0]
    x, c = (args[1], args[0]) if swapped else (args[0], args[1])
    ch = int(x.shape[-1])
    c = np.asarray(c, np.float64)
    if c.size not in (1, ch) or (c.size == ch and c.shape[-1] != ch):
        return f"Keras operation {cls} with a constant of shape {c.shape} (scalar or per-channel only)"
    c = np.broadcast_to(c.reshape(-1), (ch,))
    if cls in ("Divide", "TrueDivide") and not swapped and np.any(c == 0):
        return f"Keras operation {cls} by zero"
    affine = _AFFINE_OPS[cls](c, swapped)
    if affine is None:
        return f"Keras operation {cls} of a constant by a tensor"
    scale, offset = (np.broadcast_to(np.asarray(v, np.float64), (ch,)).astype(np.float32) for v in affine)
    g.add_op("batch_norm", out, tname[x.name], source_type=f"ops.{cls}", scale=scale.copy(),
             offset=offset.copy(), act="linear")
    return None


_ONE_D = ("Conv1D", "DepthwiseConv1D", "SeparableConv1D", "MaxPooling1D", "AveragePooling1D",
          "GlobalAveragePooling1D", "GlobalMaxPooling1D")


def _one(v):
    """A 1-D layer's size, stored by Keras as an int or a 1-tuple."""
    return int(v[0] if isinstance(v, (list, tuple)) else v)


def _one_d(g, layer, cls, c, x, out, shape, act):
    """A 1-D layer on a sequence (T, C) as its 2-D form on the sequence seen as a one-row map (1, T, C),
    between two reshapes (the bytes stay where they are): what TFLite itself does with a Conv1D."""
    if len(shape) != 2:
        return f"{cls} on a {len(shape)}-D input"
    if c.get("data_format", "channels_last") != "channels_last":
        return "only channels_last"
    out_shape = tuple(int(d) for d in layer.compute_output_shape((None,) + tuple(shape))[1:])
    row = g.add_op("reshape", out + "/row", x, source_type=cls, shape=(1,) + tuple(shape))
    name = out + "/2d"
    if cls.startswith("Global"):
        g.add_op("global_avg_pool" if "Average" in cls else "global_max_pool", name, row, source_type=cls,
                 keepdims=False)
    elif cls.endswith("Pooling1D"):
        k = _one(c["pool_size"])
        st = _one(c.get("strides") or k)
        g.add_op("max_pool2d" if cls.startswith("Max") else "avg_pool2d", name, row, source_type=cls,
                 ksize=(1, k), strides=(1, st), padding=c["padding"].lower())
    else:
        if c.get("groups", 1) != 1:
            return "grouped convolution"
        pad = c["padding"].lower()
        k, st, dil = _one(c["kernel_size"]), _one(c["strides"]), _one(c.get("dilation_rate", 1))
        if pad == "causal":          # Keras pads (k - 1) * dilation steps in front
            row = g.add_op("pad", out + "/causal", row, source_type=cls, pads=(0, 0, (k - 1) * dil, 0), value=0.0)
            pad = "valid"
        if pad not in ("same", "valid"):
            return f"padding {pad}"
        ws = [_w(w) for w in layer.get_weights()]
        bias = ws[-1] if c.get("use_bias", True) else None
        common = dict(strides=(1, st), padding=pad, dilation=(1, dil))
        if cls == "Conv1D":
            g.add_op("conv2d", name, row, source_type=cls, weights=ws[0][None], bias=bias, act=act, **common)
        elif cls == "DepthwiseConv1D":
            g.add_op("depthwise_conv2d", name, row, source_type=cls, weights=ws[0][None], bias=bias, act=act,
                     **common)
        else:
            mid = g.add_op("depthwise_conv2d", out + "/depthwise", row, source_type=cls, weights=ws[0][None],
                           bias=None, act="linear", **common)
            g.add_op("conv2d", name, mid, source_type=cls, weights=ws[1][None], bias=bias, act=act,
                     strides=(1, 1), padding="valid")
    g.add_op("reshape", out, name, source_type=cls, shape=out_shape)
    return None
