"""A model the KPU cannot take because a register field overflows is refused with a message naming the
layer, its geometry, the field, the value and the limit (was `channel_byte_num=262143 does not fit 16
bits`)."""
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
