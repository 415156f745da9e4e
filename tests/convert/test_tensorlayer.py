"""Live TensorLayer 2 models with every supported layer type: frontend == TensorLayer, and conversion."""
import numpy as np
import pytest

pytestmark = pytest.mark.slow


def test_tl_all_layers(cal_dir, tmp_path):
    import tensorflow as tf
    import tensorlayer as tl
    from tensorlayer.layers import (BatchNorm, Concat, Conv2d, Dense, DepthwiseConv2d, Elementwise, Flatten,
                                    GlobalMaxPool2d, GlobalMeanPool2d, Input, MaxPool2d, MeanPool2d, Reshape,
                                    ZeroPad2d)
    import emc
    from emc.frontends import load
    from emc.ir import run_float
    sfx = tmp_path.name
    ni = Input([None, 32, 32, 3], name=f"in_{sfx}")
    a = Conv2d(8, (3, 3), (1, 1), padding="SAME", name=f"c1_{sfx}")(ni)
    a = BatchNorm(act=tf.nn.relu6, name=f"bn1_{sfx}")(a)
    a = MaxPool2d((2, 2), (2, 2), padding="SAME", name=f"mp_{sfx}")(a)                  # 16x16x8
    b = DepthwiseConv2d((3, 3), (1, 1), act=lambda x: tf.nn.leaky_relu(x, 0.1), name=f"dw_{sfx}")(a)
    c = Conv2d(8, (1, 1), (1, 1), act=tf.nn.relu, name=f"pw_{sfx}")(b)
    d = Elementwise(tf.add, act=tf.nn.relu, name=f"add_{sfx}")([a, c])
    e = ZeroPad2d(((1, 1), (1, 1)), name=f"zp_{sfx}")(d)
    e = Conv2d(12, (3, 3), (2, 2), padding="VALID", act=tf.nn.sigmoid, name=f"s2_{sfx}")(e)   # 8x8x12
    f = MeanPool2d((2, 2), (2, 2), padding="SAME", name=f"avg_{sfx}")(d)                       # 8x8x8
    cat = Concat(-1, name=f"cat_{sfx}")([e, f])                                                # 8x8x20
    g1 = GlobalMeanPool2d(name=f"gap_{sfx}")(cat)
    g2 = GlobalMaxPool2d(name=f"gmp_{sfx}")(cat)
    h = Concat(-1, name=f"cat2_{sfx}")([g1, g2])
    r = Reshape([-1, 40], name=f"rs_{sfx}")(h)
    o = Dense(6, act=tf.nn.tanh, name=f"fc1_{sfx}")(Flatten(name=f"fl_{sfx}")(cat))
    o2 = Dense(4, act=tf.nn.softmax, name=f"fc2_{sfx}")(r)
    net = tl.models.Model(ni, [o2, o], name=f"tlall_{sfx}")
    net.eval()
    for layer in net.all_layers:            # non-trivial BN statistics
        if type(layer).__name__ == "BatchNorm":
            layer.moving_mean.assign(np.random.default_rng(0).normal(size=layer.moving_mean.shape) * 0.1)
            layer.moving_var.assign(np.random.default_rng(1).uniform(0.5, 2, size=layer.moving_var.shape))
    x = np.random.default_rng(2).random((4, 32, 32, 3)).astype(np.float32)
    ref = [t.numpy() for t in net(tf.constant(x))]
    g = load(net)
    got = run_float(g, x)
    np.testing.assert_allclose(got[g.outputs[0]], ref[0], atol=1e-4)
    np.testing.assert_allclose(got[g.outputs[1]], ref[1], atol=1e-4)
    types = {op.source_type for op in g.ops}
    assert {"Conv2d", "BatchNorm", "DepthwiseConv2d", "Elementwise", "ZeroPad2d", "MeanPool2d", "MaxPool2d",
            "Concat", "GlobalMeanPool2d", "GlobalMaxPool2d", "Reshape", "Dense", "Flatten"} <= types
    # the tanh dense cannot run on the CPU FULLY_CONNECTED: the error names it
    from emc.ir import UnsupportedLayersError
    with pytest.raises(UnsupportedLayersError, match=f"fc1_{sfx} \\(Dense\\): activation tanh"):
        emc.save_kmodel(net, str(tmp_path / "x.kmodel"), cal_dir)
    # without it, the model converts
    net2 = tl.models.Model(ni, o2, name=f"tlall2_{sfx}")
    net2.eval()
    rep = emc.save_kmodel(net2, str(tmp_path / "t.kmodel"), cal_dir, "img_0_1", "minmax", 8, 3)
    (met,) = rep.metrics.values()
    assert met["cosine"] > 0.99 and met["max_abs"] < 0.1
    px = np.asarray(rep.layers[0].in_shape)
    assert tuple(px) == (3, 32, 32)


def test_tl_elementwise_multiply(tmp_path):
    """Elementwise(tf.multiply) (a gate, as in attention / squeeze-excite blocks written in TensorLayer): IR
    mul; the graph computes what TensorLayer does, and the model converts for --target generic."""
    import tensorflow as tf
    import tensorlayer as tl
    from tensorlayer.layers import Conv2d, Elementwise, GlobalMeanPool2d, Dense, Input
    import emc
    from emc.frontends import load
    from emc.ir import run_float
    sfx = tmp_path.name
    ni = Input([None, 12, 12, 3], name=f"in_{sfx}")
    a = Conv2d(6, (3, 3), (1, 1), padding="SAME", act=tf.nn.relu, name=f"c1_{sfx}")(ni)
    b = Conv2d(6, (1, 1), (1, 1), act=tf.nn.sigmoid, name=f"gate_{sfx}")(a)
    c = Conv2d(6, (3, 3), (1, 1), padding="SAME", name=f"c2_{sfx}")(a)
    m = Elementwise(tf.multiply, act=tf.nn.relu, name=f"mul_{sfx}")([a, b, c])
    o = Dense(3, name=f"fc_{sfx}")(GlobalMeanPool2d(name=f"gap_{sfx}")(m))
    net = tl.models.Model(ni, o, name=f"tlmul_{sfx}")
    net.eval()
    x = np.random.default_rng(0).random((4, 12, 12, 3)).astype(np.float32)
    g = load(net)
    assert [op.type for op in g.ops].count("mul") == 2
    np.testing.assert_allclose(run_float(g, x)[g.outputs[0]], net(tf.constant(x)).numpy(), atol=1e-5)
    rep = emc.save_kmodel(net, str(tmp_path / "m.kmodel"), x, target="generic", report=False)
    (met,) = rep.metrics.values()
    assert met["cosine"] > 0.999
