"""Generic int8 profile, per operator: random float graphs quantized to int8 by the real TFLite
converter (representative dataset, per-channel weights, per-tensor activations) over many shapes,
paddings and broadcasts, imported with emc, and compared bit for bit with TFLite Micro's reference
kernels (tflite_micro.runtime.Interpreter) in the C runtime and in the Python reference."""
import numpy as np
import pytest

from .tflite_making import int8_tflite
from .tflm_support import check_bit_exact

pytestmark = pytest.mark.slow


def _w(rng, *shape):
    import tensorflow as tf
    return tf.constant(rng.normal(0, 1, shape).astype(np.float32))


MEAN_CASES = [((1, 5, 7, 3), [1, 2], True), ((1, 8, 8, 16), [1, 2], False), ((1, 1, 9, 5), [1, 2], True),
              ((1, 13, 3, 1), [2], True), ((1, 6, 4, 7), [3], False), ((1, 32, 32, 3), [1, 2], True),
              ((1, 11, 1, 33), [1], True)]


@pytest.mark.parametrize("shape,axes,keep", MEAN_CASES, ids=str)
def test_mean(shape, axes, keep, native):
    import tensorflow as tf
    rng = np.random.default_rng(len(shape) + sum(shape))
    w = _w(rng, 1, 1, shape[-1], shape[-1])
    # a conv before the mean gives its input a scale of its own (not the model input's)
    data = int8_tflite(lambda x: tf.reduce_mean(tf.nn.conv2d(x, w, 1, "SAME"), axis=axes, keepdims=keep), [shape])
    check_bit_exact(data, native, ops=["MEAN"])


PAD_CASES = [((1, 5, 7, 3), [[0, 0], [1, 2], [0, 1], [0, 0]]), ((1, 4, 4, 8), [[0, 0], [3, 3], [3, 3], [0, 0]]),
             ((1, 6, 5, 2), [[0, 0], [0, 0], [0, 0], [1, 2]]), ((1, 9, 3, 5), [[0, 0], [2, 0], [0, 2], [0, 0]])]


@pytest.mark.parametrize("shape,pads", PAD_CASES, ids=str)
def test_pad(shape, pads, native):
    import tensorflow as tf
    rng = np.random.default_rng(sum(shape))
    w = _w(rng, 1, 1, shape[-1], shape[-1])
    data = int8_tflite(lambda x: tf.pad(tf.nn.conv2d(x, w, 1, "SAME"), pads), [shape])
    check_bit_exact(data, native, ops=["PAD"])


# (input shape, other operand shape or None for a tensor of the input's shape from a conv, constant?)
BINARY_CASES = [((1, 5, 7, 3), None, False), ((1, 5, 7, 3), (3,), True), ((1, 4, 6, 8), (1, 1, 1, 8), False),
                ((1, 4, 6, 5), (1, 4, 1, 5), False), ((1, 3, 5, 7), (1, 1, 5, 1), False), ((1, 6, 6, 4), (4,), False),
                ((1, 2, 9, 1), (1, 2, 9, 6), False), ((1, 8), (8,), True), ((1, 3, 3, 16), (1, 3, 3, 16), True)]


def _binary(op, a_shape, b_shape, const, native):
    import tensorflow as tf
    rng = np.random.default_rng(sum(a_shape) + len(b_shape or ()))
    if b_shape is None:
        w = _w(rng, 1, 1, a_shape[-1], a_shape[-1])
        return int8_tflite(lambda x: op(x, tf.nn.conv2d(x, w, 1, "SAME")), [a_shape])
    if const:
        c = _w(rng, *b_shape)
        return int8_tflite(lambda x: op(x * 0.5 + 0.1, c), [a_shape])
    # the second operand a model input of its own would need two inputs: derive it from x instead
    if len(a_shape) == 4:
        red = [i for i in (1, 2) if len(b_shape) == 4 and b_shape[i] == 1 and a_shape[i] != 1]
        w = _w(rng, 1, 1, a_shape[-1], b_shape[-1])
        return int8_tflite(lambda x: op(x, tf.nn.conv2d(tf.reduce_mean(x, axis=red, keepdims=True) if red else x,
                                                        w, 1, "SAME")
                                        if len(b_shape) == 4 else
                                        tf.reshape(tf.reduce_mean(x, axis=[1, 2]), (b_shape[-1],)) * 0.7), [a_shape])
    raise ValueError(b_shape)


@pytest.mark.parametrize("a_shape,b_shape,const", BINARY_CASES, ids=str)
def test_mul(a_shape, b_shape, const, native):
    import tensorflow as tf
    check_bit_exact(_binary(tf.multiply, a_shape, b_shape, const, native), native, ops=["MUL"])


@pytest.mark.parametrize("a_shape,b_shape,const", BINARY_CASES, ids=str)
def test_add_broadcast(a_shape, b_shape, const, native):
    import tensorflow as tf
    check_bit_exact(_binary(tf.add, a_shape, b_shape, const, native), native, ops=["ADD"])


@pytest.mark.parametrize("shape", [(1, 5, 7, 3), (1, 16), (1, 9, 9, 1)], ids=str)
def test_uint8_edges(shape, native):
    """uint8 model input and output: QUANTIZE uint8 -> int8 first, int8 -> uint8 last."""
    import tensorflow as tf
    rng = np.random.default_rng(sum(shape))
    w = _w(rng, 1, 1, shape[-1], 4) if len(shape) == 4 else _w(rng, shape[-1], 4)
    fn = (lambda x: tf.nn.relu(tf.nn.conv2d(x, w, 1, "SAME"))) if len(shape) == 4 else (lambda x: tf.matmul(x, w))
    data = int8_tflite(fn, [shape], io="uint8")
    km, _ = check_bit_exact(data, native, ops=["QUANTIZE"])
    assert km.input_spec()[0] == "u8"


LOOKUP_CASES = [("logistic", (1, 5, 7, 3)), ("logistic", (1, 40)), ("tanh", (1, 5, 7, 3)), ("tanh", (1, 9, 9, 1)),
                ("leaky_relu", (1, 5, 7, 3)), ("leaky_relu", (1, 33)), ("hard_swish", (1, 6, 5, 4)),
                ("hard_swish", (1, 24))]


@pytest.mark.parametrize("fn,shape", LOOKUP_CASES, ids=str)
@pytest.mark.parametrize("gain", [0.3, 4.0])
def test_lookup_activations(fn, shape, gain, native):
    """LOGISTIC, TANH, LEAKY_RELU, HARD_SWISH after a scaling layer, inputs narrow and wide."""
    import tensorflow as tf
    rng = np.random.default_rng(sum(shape))
    act = {"logistic": tf.sigmoid, "tanh": tf.tanh, "leaky_relu": lambda v: tf.nn.leaky_relu(v, 0.17),
           "hard_swish": lambda v: v * tf.nn.relu6(v + 3.0) / 6.0}[fn]
    w = _w(rng, 1, 1, shape[-1], shape[-1]) * gain if len(shape) == 4 else _w(rng, shape[-1], shape[-1]) * gain
    pre = (lambda x: tf.nn.conv2d(x, w, 1, "SAME")) if len(shape) == 4 else (lambda x: tf.matmul(x, w))
    data = int8_tflite(lambda x: act(pre(x)), [shape])
    check_bit_exact(data, native, ops=[fn.upper()])


@pytest.mark.parametrize("fn", ["relu", "relu6"])
@pytest.mark.parametrize("where", ["shared conv", "after mean"])
def test_standalone_relu(fn, where, native):
    """RELU / RELU6 the converter cannot fuse (their producer's output has another reader, or the producer
    has no fused activation): standalone operators, a table of TFLM's int8 arithmetic."""
    import tensorflow as tf
    rng = np.random.default_rng(len(fn) + len(where))
    act = {"relu": tf.nn.relu, "relu6": tf.nn.relu6}[fn]
    w = _w(rng, 1, 1, 4, 6) * 3.0
    if where == "shared conv":
        data = int8_tflite(lambda x: (lambda v: tf.concat([act(v), v], -1))(tf.nn.conv2d(x, w, 1, "SAME")),
                           [(1, 5, 6, 4)])
    else:
        data = int8_tflite(lambda x: act(tf.reduce_mean(tf.nn.conv2d(x, w, 1, "SAME"), axis=[1, 2])), [(1, 5, 6, 4)])
    check_bit_exact(data, native, ops=[fn.upper()])


@pytest.mark.parametrize("gain", [1e-7, 3e-6])
def test_hard_swish_on_tiny_scales(gain, native):
    """Input scales below ~3.6e-7 (dead-ish layers, untrained models: seen in a MobileNetV3) make TFLM's
    HardSwish divide an int16 by 2^16 or more, where gemmlowp's int16 mask wraps: TFLM's numbers, not the
    textbook rounding, are the golden."""
    import tensorflow as tf
    # the input's int8 values pass through the constant MUL nearly one to one: 12 random inputs of 2048
    # values reach every entry of the HARD_SWISH table
    data = int8_tflite(lambda x: (lambda v: v * tf.nn.relu6(v + 3.0) / 6.0)(x * gain), [(1, 2048)])
    check_bit_exact(data, native, ops=["MUL", "HARD_SWISH"])


# (input shape, output size, align_corners, half_pixel_centers)
RESIZE_CASES = [((1, 4, 5, 3), (8, 10), False, False), ((1, 3, 3, 2), (7, 5), False, False),
                ((1, 5, 7, 4), (3, 4), False, False), ((1, 4, 6, 3), (9, 13), True, False),
                ((1, 4, 4, 5), (10, 6), False, True), ((1, 6, 3, 1), (4, 8), False, True)]


@pytest.mark.parametrize("shape,size,align,half", RESIZE_CASES, ids=str)
def test_resize_nearest(shape, size, align, half, native):
    import tensorflow as tf
    rng = np.random.default_rng(sum(shape))
    w = _w(rng, 1, 1, shape[-1], shape[-1])
    data = int8_tflite(lambda x: tf.compat.v1.image.resize_nearest_neighbor(
        tf.nn.conv2d(x, w, 1, "SAME"), size, align_corners=align, half_pixel_centers=half), [shape])
    check_bit_exact(data, native, ops=["RESIZE_NEAREST_NEIGHBOR"])


@pytest.mark.parametrize("shape", [(1, 4, 5, 3), (1, 7, 2, 6)], ids=str)
def test_computed_reshape_folds(shape, native):
    """RESHAPE whose shape is computed (SHAPE -> STRIDED_SLICE -> PACK, a dynamic batch): folded at
    import. TFLM refuses such files (RESHAPE fails to prepare), so the golden outputs come from LiteRT
    with its reference kernels (BUILTIN_REF)."""
    import tensorflow as tf
    rng = np.random.default_rng(sum(shape))
    w, d = _w(rng, 1, 1, shape[-1], 4), _w(rng, shape[1] * shape[2] * 4, 5)
    data = int8_tflite(lambda x: tf.matmul(tf.reshape(tf.nn.relu(tf.nn.conv2d(x, w, 1, "SAME")),
                                                      [tf.shape(x)[0], -1]), d), [shape], dynamic_batch=True)
    km, _ = check_bit_exact(data, native, ops=["SHAPE", "STRIDED_SLICE", "PACK", "RESHAPE"], golden="litert")
    assert [layer.NAME for layer in km.layers] == ["GENERIC_INPUT", "GENERIC_CONV2D", "GENERIC_FULLY_CONNECTED",
                                                   "GENERIC_OUTPUT"]


TRANSPOSE_CASES = [((1, 4, 5, 3), (0, 2, 1, 3)), ((1, 3, 6, 5), (0, 3, 1, 2)), ((1, 2, 7, 4), (3, 2, 1, 0)),
                   ((1, 6, 10), (0, 2, 1)), ((1, 5, 3, 2), (0, 1, 3, 2))]


@pytest.mark.parametrize("shape,perm", TRANSPOSE_CASES, ids=str)
def test_transpose(shape, perm, native):
    import tensorflow as tf
    rng = np.random.default_rng(sum(shape))
    c = _w(rng, *shape[1:])
    data = int8_tflite(lambda x: tf.transpose(x * 0.7 + c, perm), [shape])
    check_bit_exact(data, native, ops=["TRANSPOSE"])


SPLIT_CASES = [((1, 4, 5, 6), 3, 3), ((1, 6, 5, 2), 1, 2), ((1, 4, 9, 3), 2, [2, 4, 3]), ((1, 12), 1, [5, 7])]


@pytest.mark.parametrize("shape,axis,parts", SPLIT_CASES, ids=str)
def test_split(shape, axis, parts, native):
    """SPLIT / SPLIT_V; the parts are added back in another order (outputs used separately)."""
    import tensorflow as tf
    rng = np.random.default_rng(sum(shape))
    c = _w(rng, *shape[1:])

    def fn(x):
        ps = tf.split(x * 0.7 + c, parts, axis=axis)
        return tf.concat([p * (k + 1.5) for k, p in enumerate(reversed(ps))], axis=axis)
    data = int8_tflite(fn, [shape])
    check_bit_exact(data, native, ops=["SPLIT" if isinstance(parts, int) else "SPLIT_V"])


def test_two_outputs(native):
    """Several model outputs: each GENERIC_OUTPUT in the file's output order, all compared."""
    import tensorflow as tf
    rng = np.random.default_rng(5)
    w = _w(rng, 3, 3, 3, 6)
    data = int8_tflite(lambda x: (tf.nn.relu(tf.nn.conv2d(x, w, 1, "SAME")), tf.reduce_mean(x, axis=[1, 2])),
                       [(1, 6, 7, 3)])
    km, _ = check_bit_exact(data, native)
    assert [layer.NAME for layer in km.layers].count("GENERIC_OUTPUT") == 2 and len(km.outputs) == 2


# (input shape, output size, align_corners, half_pixel_centers)
BILINEAR_CASES = RESIZE_CASES + [((1, 7, 5, 3), (3, 2), False, True), ((1, 5, 9, 2), (11, 4), True, False),
                                 ((1, 3, 4, 3), (6, 8), False, False), ((1, 1, 6, 5), (1, 13), False, True),
                                 ((1, 9, 9, 1), (9, 9), False, True)]


@pytest.mark.parametrize("shape,size,align,half", BILINEAR_CASES, ids=str)
def test_resize_bilinear(shape, size, align, half, native):
    import tensorflow as tf
    rng = np.random.default_rng(sum(shape) + 1)
    w = _w(rng, 1, 1, shape[-1], shape[-1])
    data = int8_tflite(lambda x: tf.compat.v1.image.resize_bilinear(
        tf.nn.conv2d(x, w, 1, "SAME"), size, align_corners=align, half_pixel_centers=half), [shape])
    check_bit_exact(data, native, ops=["RESIZE_BILINEAR"])


# (input shape, alpha shape): alpha per channel shared over H and W (Keras shared_axes=[1, 2]), or per element;
# the converter fuses only an alpha of the input's rank without the batch
PRELU_CASES = [((1, 5, 7, 3), (1, 1, 3)), ((1, 4, 4, 8), (1, 1, 8)), ((1, 6, 5, 4), (6, 5, 4)), ((1, 9, 3, 1), (1, 1, 1)),
               ((1, 17), (17,))]


@pytest.mark.parametrize("shape,alpha_shape", PRELU_CASES, ids=str)
def test_prelu(shape, alpha_shape, native):
    """relu(x) + (-alpha) * relu(-x) (Keras PReLU's graph), which the converter fuses into PRELU."""
    import tensorflow as tf
    rng = np.random.default_rng(sum(shape) + len(alpha_shape))
    alpha = tf.constant(rng.uniform(-0.5, 1.5, alpha_shape).astype(np.float32))
    w = _w(rng, 1, 1, shape[-1], shape[-1]) if len(shape) == 4 else _w(rng, shape[-1], shape[-1])
    pre = (lambda x: tf.nn.conv2d(x, w, 1, "SAME")) if len(shape) == 4 else (lambda x: tf.matmul(x, w))
    data = int8_tflite(lambda x: (lambda v: tf.nn.relu(v) + (-alpha) * tf.nn.relu(-v))(pre(x)), [shape])
    check_bit_exact(data, native, ops=["PRELU"])


# (op, input shape, other operand: None = x * 0.2 (the leaky-ReLU form), else a constant's shape)
MAX_MIN_CASES = [("maximum", (1, 5, 7, 3), None), ("maximum", (1, 4, 6, 8), (8,)), ("minimum", (1, 6, 5, 4), None),
                 ("minimum", (1, 3, 5, 7), (1, 5, 1)), ("maximum", (1, 20), (20,)), ("minimum", (1, 9, 9, 2), (2,))]


@pytest.mark.parametrize("op,shape,other", MAX_MIN_CASES, ids=str)
def test_maximum_minimum(op, shape, other, native):
    import tensorflow as tf
    rng = np.random.default_rng(sum(shape) + len(op))
    fn = getattr(tf, op)
    w = _w(rng, 1, 1, shape[-1], shape[-1]) if len(shape) == 4 else _w(rng, shape[-1], shape[-1])
    pre = (lambda x: tf.nn.conv2d(x, w, 1, "SAME")) if len(shape) == 4 else (lambda x: tf.matmul(x, w))
    c = None if other is None else _w(rng, *other)
    data = int8_tflite(lambda x: (lambda v: fn(v, v * 0.2) if c is None else fn(v, c))(pre(x)), [shape])
    check_bit_exact(data, native, ops=[op.upper()])


# (input shape, multiples)
TILE_CASES = [((1, 3, 4, 3), (1, 2, 3, 1)), ((1, 2, 5, 1), (1, 1, 1, 7)), ((1, 4, 3, 2), (2, 1, 2, 3)),
              ((1, 6), (3, 2)), ((1, 1, 1, 5), (1, 4, 3, 1)), ((1, 3, 7), (1, 2, 1))]


@pytest.mark.parametrize("shape,mult", TILE_CASES, ids=str)
def test_tile(shape, mult, native):
    """Neither TFLM nor LiteRT's BUILTIN_REF resolver has an int8 TILE: the golden is LiteRT's
    TILE kernel (a copy), on a file with no other operator (LiteRT's optimized arithmetic kernels
    round differently from TFLM's)."""
    import tensorflow as tf
    data = int8_tflite(lambda x: tf.tile(x, mult), [shape])
    check_bit_exact(data, native, ops=["TILE"], golden="litert_builtin")


@pytest.mark.parametrize("merge", ["concat", "add"])
def test_two_inputs_keras(merge, native, tmp_path, monkeypatch):
    """A two-input Keras functional model (two conv branches merged by Concatenate or Add, then a
    Dense head and a second output): one GENERIC_INPUT per model input, in the file's input order,
    and the same bytes as TFLM for both inputs set."""
    monkeypatch.setenv("HOME", str(tmp_path))
    keras = pytest.importorskip("tensorflow").keras
    a, b = keras.Input((6, 5, 3)), keras.Input((6, 5, 2))
    fa = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(a)
    fb = keras.layers.Conv2D(4, 1, activation="relu")(b)
    m = keras.layers.Concatenate()([fa, fb]) if merge == "concat" else keras.layers.Add()([fa, fb])
    head = keras.layers.Dense(3)(keras.layers.Flatten()(m))
    model = keras.Model([a, b], [head, keras.layers.GlobalAveragePooling2D()(fb)])
    # through a tf.function, so the representative inputs follow its signature's order
    data = int8_tflite(lambda x, y: model([x, y]), [(1, 6, 5, 3), (1, 6, 5, 2)])
    km, nm = check_bit_exact(data, native, ops=["CONCATENATION" if merge == "concat" else "ADD"])
    assert [layer.NAME for layer in km.layers[:3]] == ["GENERIC_INPUT", "GENERIC_INPUT", km.layers[2].NAME]
    assert km.layers[2].NAME != "GENERIC_INPUT" and nm.input_count == 2
    assert sorted(shape for _, shape in km.input_specs()) == [(1, 6, 5, 2), (1, 6, 5, 3)]


# (consumer, input shape, paddings of H and W, kernel, stride, padding): a PAD before the consumer;
# "relu" first makes the input zero point -128, so a zero pad is also max pool's -128
PAD_FOLD_CASES = [("conv", (1, 6, 7, 3), ((1, 2), (1, 1)), 3, 1, "VALID"),
                  ("conv", (1, 7, 5, 4), ((2, 0), (1, 3)), 3, 2, "VALID"),
                  ("conv", (1, 5, 5, 2), ((1, 2), (2, 1)), 3, 1, "SAME"),
                  ("depthwise", (1, 8, 6, 4), ((1, 1), (2, 2)), 3, 1, "VALID"),
                  ("depthwise", (1, 5, 9, 3), ((3, 0), (0, 1)), 2, 2, "SAME"),
                  ("max_pool", (1, 6, 6, 3), ((1, 1), (1, 1)), 3, 2, "VALID"),
                  ("max_pool", (1, 7, 4, 2), ((0, 2), (3, 1)), 2, 1, "SAME")]


@pytest.mark.parametrize("kind,shape,pads,k,stride,padding", PAD_FOLD_CASES, ids=str)
def test_pad_folds_into_next_window(kind, shape, pads, k, stride, padding, native):
    """PAD (the conv input's zero point / -128 for max pool) folded into the next layer's padding:
    one layer fewer than without the fold, the same bytes as TFLM."""
    import tensorflow as tf
    rng = np.random.default_rng(sum(shape) + k)
    c = shape[-1]
    w = _w(rng, 1, 1, c, c)
    wk = _w(rng, k, k, c, 5) if kind == "conv" else _w(rng, k, k, c, 1)
    win = {"conv": lambda v: tf.nn.conv2d(v, wk, stride, padding),
           "depthwise": lambda v: tf.nn.depthwise_conv2d(v, wk, [1, stride, stride, 1], padding),
           "max_pool": lambda v: tf.nn.max_pool2d(v, k, stride, padding)}[kind]
    pre = (lambda x: tf.nn.relu(tf.nn.conv2d(x, w, 1, "SAME"))) if kind == "max_pool" else \
        (lambda x: tf.nn.conv2d(x, w, 1, "SAME"))
    data = int8_tflite(lambda x: win(tf.pad(pre(x), [[0, 0], list(pads[0]), list(pads[1]), [0, 0]])), [shape])
    km, _ = check_bit_exact(data, native, ops=["PAD"])
    names = [layer.NAME for layer in km.layers]
    assert "GENERIC_PAD" not in names and len(names) == 4, names      # input, conv, window op, output


def test_pad_not_folded_into_average_pool(native):
    """TFLM's average pool divides by the in-image tap count: a PAD before it stays a layer."""
    import tensorflow as tf
    rng = np.random.default_rng(1)
    w = _w(rng, 1, 1, 3, 3)
    # the relu keeps the converter from folding the linear conv -> pad -> average into one conv (seen once)
    data = int8_tflite(lambda x: tf.nn.avg_pool2d(tf.pad(tf.nn.relu(tf.nn.conv2d(x, w, 1, "SAME")),
                                                         [[0, 0], [1, 1], [1, 1], [0, 0]]), 3, 1, "VALID"),
                       [(1, 5, 6, 3)])
    km, _ = check_bit_exact(data, native, ops=["PAD", "AVERAGE_POOL_2D"])
    assert "GENERIC_PAD" in [layer.NAME for layer in km.layers]


def test_batch_2_window_layers_are_refused(tmp_path, capsys):
    """CONV_2D over a batch of 2: the windowed layers have no batch loop, so the import names the
    operator and the shape (exit 2 from the command line) instead of computing image 0 only."""
    import tensorflow as tf

    from emc.cli import main
    rng = np.random.default_rng(2)
    w = _w(rng, 3, 3, 3, 4)
    path = tmp_path / "batch2.tflite"
    path.write_bytes(int8_tflite(lambda x: tf.nn.conv2d(x, w, 1, "SAME"), [(2, 5, 6, 3)]))
    capsys.readouterr()
    assert main(["convert", str(path), str(tmp_path / "b.kmodel"), "--target", "generic"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and "CONV_2D #0" in err[0] and "(2, 5, 6, 3)" in err[0], err
    assert "batch 1" in err[0] and not (tmp_path / "b.kmodel").exists()


# The average pool's lane sums (4 channels per word, chunks of 64 channels, windows of <= 257 taps)
# and its per-channel remainder: channel counts around 4 and 64, SAME windows clipped at the border,
# a 17x16 = 272-tap window (per-channel path), the kws-style global 25x5 window.
AVG_POOL_CASES = [((1, 7, 6, 5), (3, 3), (2, 2), "SAME"), ((1, 25, 5, 64), (25, 5), (1, 1), "VALID"),
                  ((1, 6, 6, 70), (2, 3), (2, 1), "SAME"), ((1, 5, 4, 3), (2, 2), (1, 1), "VALID"),
                  ((1, 17, 16, 8), (17, 16), (1, 1), "VALID"), ((1, 9, 9, 132), (4, 4), (3, 3), "SAME")]


@pytest.mark.parametrize("shape,window,strides,padding", AVG_POOL_CASES, ids=str)
def test_average_pool(shape, window, strides, padding, native):
    import tensorflow as tf
    rng = np.random.default_rng(sum(shape))
    w = _w(rng, 1, 1, shape[-1], shape[-1])
    data = int8_tflite(lambda x: tf.nn.avg_pool2d(tf.nn.conv2d(x, w, 1, "SAME"), window, strides, padding), [shape])
    check_bit_exact(data, native, ops=["AVERAGE_POOL_2D"])


def test_softmax_on_logits_without_range_is_refused(tmp_path):
    """Logits calibrated to almost no range (an untrained or dead head): TFLM's softmax Prepare needs
    beta * input scale * 2^26 > 1 and otherwise aborts the whole process. The import refuses such a file
    with the reason instead of running a model TFLM cannot."""
    import subprocess
    import sys
    import tensorflow as tf
    from emc.backends.generic import BuildError, import_tflite
    data = int8_tflite(lambda x: tf.nn.softmax(x * 1e-9), [(1, 10)])
    path = tmp_path / "flat_logits.tflite"
    path.write_bytes(data)
    tflm = subprocess.run([sys.executable, "-c", "import sys, tflite_micro as t; "
                           "t.runtime.Interpreter.from_file(sys.argv[1]); print('loaded')", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert tflm.returncode != 0 and "loaded" not in tflm.stdout
    with pytest.raises(BuildError, match=r"SOFTMAX #\d+: input .* must exceed 1 \(TFLM refuses it\)"):
        import_tflite(data)


@pytest.mark.parametrize("stride,padding", [(1, "SAME"), (2, "VALID")])
def test_conv1d_file(stride, padding, native):
    """A 1-D convolution as the TFLite converter writes it: RESHAPE -> CONV_2D -> RESHAPE (the wrappers
    are the same bytes under another shape: no layer)."""
    import tensorflow as tf
    rng = np.random.default_rng(stride)
    w = _w(rng, 5, 6, 8)
    data = int8_tflite(lambda x: tf.nn.relu(tf.nn.conv1d(x, w, stride, padding)), [(1, 30, 6)])
    km, _ = check_bit_exact(data, native, ops=["RESHAPE", "CONV_2D"])
    names = [layer.NAME for layer in km.layers]
    assert names.count("GENERIC_CONV2D") == 1 and "GENERIC_RESHAPE" not in names, names
