"""Converter-made int8 .tflite files edited at the flatbuffer level (TensorFlow's generated object
API) into shapes converters rarely write, through the command line for both targets:

* every tensor (and the subgraph) unnamed: converts for --target generic (bit-exact with TFLM) and
  --target k210;
* a depthwise filter quantized per channel along dimension 3 (its output channels, as TFLite
  writes it) converts for both targets;
* a CONV_2D filter whose per-channel scales claim dimension 3 (TFLite's kernels use dimension 0
  whatever the field says), and a per-channel bias with quantized dimension 3 (outside its rank 1):
  refused by both targets with one line naming the file, operator/tensor and byte offset, exit 2
  (docs/errors.md)."""
import numpy as np
import pytest

from emc.cli import main

from .test_generic_ops import _w
from .tflite_making import int8_tflite

pytestmark = pytest.mark.slow


def _edit(data, fn):
    import flatbuffers
    from tensorflow.lite.python import schema_py_generated as S
    mt = S.ModelT.InitFromObj(S.Model.GetRootAsModel(data, 0))
    fn(mt)
    b = flatbuffers.Builder(1024)
    b.Finish(mt.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _unname(mt):
    for sg in mt.subgraphs:
        sg.name = b""
        for t in sg.tensors:
            t.name = b""


def _tensor_index(data, pred):
    import tflite
    g = tflite.Model.GetRootAsModel(data, 0).Subgraphs(0)
    return [i for i in range(g.TensorsLength()) if pred(g.Tensors(i))]


def _set_qdim(indices, dim):
    def fn(mt):
        for i in indices:
            mt.subgraphs[0].tensors[i].quantization.quantizedDimension = dim
    return fn


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A conv -> depthwise -> conv(8->8) -> mean -> dense int8 model, and the edited files."""
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(0)
    w1, dw, w2, d = _w(rng, 3, 3, 3, 8), _w(rng, 3, 3, 8, 1), _w(rng, 1, 1, 8, 8), _w(rng, 8, 4)
    data = int8_tflite(lambda x: tf.matmul(tf.reduce_mean(tf.nn.conv2d(tf.nn.relu(tf.nn.depthwise_conv2d(
        tf.nn.relu(tf.nn.conv2d(x, w1, 1, "SAME")), dw, [1, 1, 1, 1], "SAME")), w2, 1, "SAME"), axis=[1, 2]), d),
        [(1, 16, 16, 3)])
    # the 8x8 1x1 filter: 8 per-channel scales fit dimension 3 as well as 0
    square = _tensor_index(data, lambda t: list(t.ShapeAsNumpy()) == [8, 1, 1, 8])
    bias = _tensor_index(data, lambda t: t.Type() == 2 and t.ShapeAsNumpy().size == 1 and
                         t.Quantization() is not None and t.Quantization().ScaleLength() == 8)
    assert len(square) == 1 and bias
    out = tmp_path_factory.mktemp("edits")
    files = {"base": data, "unnamed": _edit(data, _unname), "conv_qdim3": _edit(data, _set_qdim(square, 3)),
             "bias_qdim3": _edit(data, _set_qdim(bias[:1], 3)),
             "unnamed_conv_qdim3": _edit(_edit(data, _unname), _set_qdim(square, 3))}
    for k, v in files.items():
        (out / f"{k}.tflite").write_bytes(v)
    np.save(out / "cal.npy", rng.normal(0, 1, (16, 16, 16, 3)).astype(np.float32))
    return out


def _convert(models, name, target, capsys):
    capsys.readouterr()
    extra = ["-d", str(models / "cal.npy")] if target == "k210" else []
    km = models / f"{name}.{target}.kmodel"
    rc = main(["convert", str(models / f"{name}.tflite"), str(km), "--target", target] + extra)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return rc, km, [line for line in err.splitlines() if line.startswith("emc: ")]


@pytest.mark.parametrize("target", ["generic", "k210"])
def test_unnamed_tensors_convert(models, target, capsys, native):
    rc, km, errors = _convert(models, "unnamed", target, capsys)
    assert rc == 0 and not errors and km.stat().st_size > 0
    if target == "generic":            # the same bytes as TFLM runs the unnamed file
        tflm = pytest.importorskip("tflite_micro")
        from emc.reference import run
        ip = tflm.runtime.Interpreter.from_bytes((models / "unnamed.tflite").read_bytes())
        nm = native.NativeModel(km.read_bytes())
        rng = np.random.default_rng(1)
        for _ in range(6):
            x = rng.integers(-128, 128, (1, 16, 16, 3), np.int8)
            ip.set_input(x, 0)
            ip.invoke()
            want = np.asarray(ip.get_output(0)).reshape(-1).tobytes()
            assert run(str(km), x)[0].tobytes() == want and nm.run(x)[0].tobytes() == want


@pytest.mark.parametrize("target", ["generic", "k210"])
def test_depthwise_filter_along_dimension_3_converts(models, target, capsys):
    rc, _, errors = _convert(models, "base", target, capsys)
    assert rc == 0 and not errors


@pytest.mark.parametrize("target", ["generic", "k210"])
@pytest.mark.parametrize("name,says", [
    ("conv_qdim3", "(CONV_2D), filter tensor {i} '"),
    ("unnamed_conv_qdim3", "(CONV_2D), filter tensor {i}, byte offset"),
    ("bias_qdim3", "quantized dimension 3 outside the shape (8,)")])
def test_per_channel_on_the_wrong_dimension_is_refused(models, target, name, says, capsys):
    import tflite
    rc, km, errors = _convert(models, name, target, capsys)
    data = (models / f"{name}.tflite").read_bytes()
    g = tflite.Model.GetRootAsModel(data, 0).Subgraphs(0)
    square = [i for i in range(g.TensorsLength()) if list(g.Tensors(i).ShapeAsNumpy()) == [8, 1, 1, 8]][0]
    assert rc == 2 and len(errors) == 1 and not km.exists()
    line = errors[0]
    assert line.startswith(f"emc: error: {models / name}.tflite, subgraph 0 ") and "byte offset" in line, line
    assert says.format(i=square) in line, line
    if "conv" in name:
        assert "quantized per channel along dimension 3; CONV_2D takes the scales of its output channels, " \
               "dimension 0" in line
