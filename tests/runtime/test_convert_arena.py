"""The arena the convertor reports is exactly what the C runtime needs: it runs with that many
bytes and refuses one byte less with an error code."""
import pathlib

import numpy as np
import pytest

DATA = pathlib.Path(__file__).resolve().parents[1] / "convert" / "data"


@pytest.mark.parametrize("name", ["mbnet_float.tflite", "inception_float.tflite"])
def test_reported_arena_is_exact(name, tmp_path, native):
    from emc import save_kmodel
    from emc.reference import run
    rng = np.random.default_rng(0)
    cal = rng.uniform(0, 1, (8, 32, 32, 3)).astype(np.float32)
    out = tmp_path / "m.kmodel"
    rep = save_kmodel(str(DATA / name), str(out), cal, "img_0_1", "minmax", 8, 3, report=False, eval_limit=0)
    data = out.read_bytes()
    assert rep.arena == native.arena_required(data)
    x = rng.integers(0, 256, (3, 32, 32), dtype=np.uint8)
    got = native.NativeModel(data, arena_size=rep.arena).run(x)
    assert np.array_equal(got[0], run(data, x)[0])
    with pytest.raises(native.NativeError):
        native.NativeModel(data, arena_size=rep.arena - 1)
