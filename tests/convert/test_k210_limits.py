"""A model the KPU cannot take because a register field overflows is refused with a message naming the
layer, its geometry, the field, the value and the limit (was `channel_byte_num=262143 does not fit 16
bits`)."""
import re

import numpy as np
import pytest

import emc
from emc.errors import EXIT_INPUT, InputError, exit_code_for
from emc.ir import Graph
from emc.kmodel import kpu


def test_register_field_error_names_field_value_and_range():
    words = [0] * 12
    with pytest.raises(kpu.RegisterFieldError) as e:
        kpu.set_field(words, "channel_byte_num", 512 * 512 - 1)
    assert e.value.field == "channel_byte_num" and e.value.value == 262143 and e.value.limit == (0, 65535)
    with pytest.raises(kpu.RegisterFieldError, match=r"arg_x=-8388609 .*24-bit signed range \[-8388608, 8388607\]"):
        kpu.set_field(words, "arg_x", -(1 << 23) - 1)
    kpu.set_field(words, "channel_byte_num", 65535)          # the limit itself fits
    assert kpu.get_field(words, "channel_byte_num") == 65535


def test_512x512_input_names_layer_field_and_limit(tmp_path):
    r = np.random.default_rng(7)
    g = Graph("big")
    g.add_input("x", (512, 512, 3))
    g.add_op("conv2d", "first_conv", "x", weights=r.normal(size=(3, 3, 3, 4)).astype(np.float32) * 0.3,
             bias=None, strides=(1, 1), padding="same", act="relu")
    g.add_op("global_avg_pool", "gap", "first_conv")
    g.outputs = ["gap"]
    g.validate()
    out = tmp_path / "big.kmodel"
    with pytest.raises(InputError) as e:
        emc.save_kmodel(g, str(out), r.random((2, 512, 512, 3)).astype(np.float32), eval_limit=0)
    msg = str(e.value)
    for part in ("layer '", "512x512x3", "channel_byte_num=262143", "16-bit", "65535", "65536 bytes"):
        assert part in msg, (part, msg)
    assert exit_code_for(e.value) == EXIT_INPUT and "\n" not in msg
    assert not out.exists()


def _wide_head(oc=1300, ic=8):
    r = np.random.default_rng(3)
    g = Graph("wide")
    g.add_input("x", (6, 6, 3))
    g.add_op("conv2d", "c0", "x", weights=r.normal(0, 0.5, (3, 3, 3, ic)).astype(np.float32),
             bias=None, strides=(1, 1), padding="same", act="relu")
    g.add_op("conv2d", "wide", "c0", weights=r.normal(0, 0.3, (1, 1, ic, oc)).astype(np.float32),
             bias=r.normal(0, 0.1, oc).astype(np.float32), strides=(1, 1), padding="valid", act="relu6")
    g.add_op("global_avg_pool", "gap", "wide")
    g.add_op("dense", "fc", "gap", weights=r.normal(0, 0.05, (oc, 5)).astype(np.float32), bias=None, act="linear")
    g.outputs = ["fc"]
    return g.validate(), r.random((24, 6, 6, 3)).astype(np.float32)


def test_conv_with_more_than_1024_output_channels_is_split(tmp_path):
    """MobileNetV2's last 1x1 conv (320 -> 1280) exceeds the KPU's 1024 channels: it becomes KPU convs of at
    most 1024 output channels writing one KPU RAM map (in-place concat), and agrees with the float graph."""
    from emc.ir import run_float
    from emc.kmodel import load
    from emc.reference import run
    g, xs = _wide_head()
    path = tmp_path / "wide.kmodel"
    rep = emc.save_kmodel(g, str(path), xs, report=False, eval_limit=0)
    km = load(path)
    convs = [layer for layer in km.layers if layer.NAME == "K210_CONV"]
    out_channels = [int(re.search(r"-> (\d+)x", repr(c)).group(1)) for c in convs]
    assert out_channels == [8, 1024, 276], convs
    want = run_float(g, xs[:8])["fc"]
    iq = rep.quant["x"]
    got = np.stack([run(km, np.clip(np.round(x / iq[0] + iq[1]), 0, 255).astype(np.uint8).transpose(2, 0, 1).copy())[0]
                    for x in xs[:8]])
    cos = np.sum(want * got, 1) / np.linalg.norm(want, axis=1) / np.linalg.norm(got, axis=1)
    assert cos.min() > 0.99, cos


def test_conv_with_more_than_1024_input_channels_is_refused_by_name(tmp_path):
    g, xs = _wide_head(oc=8, ic=1100)
    with pytest.raises(emc.ir.UnsupportedLayersError, match=r"wide \(conv2d\): more than 1024 channels"):
        emc.save_kmodel(g, str(tmp_path / "w.kmodel"), xs, report=False, eval_limit=0)
