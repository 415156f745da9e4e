"""The bench's model matrix: each case is a kmodel, the inputs to feed it, and what the PC side
expects (the bit-exact reference outputs, and the float / TFLite model's outputs to report the
quantization error against). Built models are cached under build/hil_cache."""
from __future__ import annotations

import dataclasses
import hashlib
import pathlib

import numpy as np

from .. import data
from ..kmodel import load
from ..reference import run as ref_run

ROOT = pathlib.Path(__file__).resolve().parents[2]
# Bench models: the third-party files in tests/data (SOURCES.md there); the bundled example in emc/data.
BENCH_DATA = ROOT / "tests" / "data"


def data_file(name) -> pathlib.Path:
    """A bench model or image: bundled with the package (emc/data) or a repository test file (tests/data)."""
    bundled = data.DIR / name
    return bundled if bundled.is_file() else BENCH_DATA / name
CONVERTOR_MODELS = ROOT / "tests" / "convert" / "data"

MLPERF = {"kws": "kws_ref_model.tflite", "vww": "vww_96_int8.tflite", "ic": "pretrainedResnet_quant.tflite",
          "ad": "ad01_int8.tflite"}
# the same model with its fully connected weights stored as int16 (emc convert --fc-weights int16)
MLPERF_FC16 = {"ad-fc16": "ad"}
THIRD_PARTY = {"iris-nncase": "nncase_v0.1_iris_v3.kmodel", "yolo20-nncase": "nncase_v0.1_yolo20_v3.kmodel",
               "facedetect-sdk": "standalone_demo_face_detect_v3.kmodel",
               "mbnetv1-maixemc": "maixemc_mbnetv1_v3.kmodel",
               "cifar10-maixemc-hw": "maixemc_cifar10_output_hwverified_v3.kmodel"}
# generic-profile fixtures of the repository's tests (tests/runtime/make_fixtures.py): layers and model
# shapes the MLPerf models lack (two-inputs: two inputs, two outputs, PRELU, RESIZE_BILINEAR, MAXIMUM, a folded PAD)
FIXTURES = {"two-inputs": ROOT / "tests" / "runtime" / "data" / "generic_two_inputs.tflite"}
CONVERTED = {"mbnet-k210": "mbnet_float.tflite", "resnet-k210": "resnet_float.tflite",
             "inception-k210": "inception_float.tflite"}

DEFAULT = ["cifar10-maixemc-hw", "iris-nncase", "kws", "ad", "ic", "vww", "mbnet-k210", "resnet-k210",
           "inception-k210", "facedetect-sdk", "yolo20-nncase"]
ALL = DEFAULT + ["cifar10-emc", "mbnetv1-maixemc", "two-inputs", "ad-fc16"]


@dataclasses.dataclass
class Case:
    name: str
    kind: str                          # k210 / generic / third-party
    kmodel: bytes
    inputs: list                       # device input tensors (as layer 0 takes them)
    expected: list                     # per input: PC reference outputs (emc.reference)
    floats: list | None = None         # per input: float / TFLite model outputs, same order and layout
    float_label: str = "float model"
    macs: int | None = None
    source: str = ""


def macs(model) -> int:
    return sum(layer.macs() for layer in model.layers)


def _rng(name, i):
    return np.random.default_rng(int(hashlib.sha1(f"{name}:{i}".encode()).hexdigest()[:8], 16))


def textures(n, h, w, seed=0):
    """Smooth random colour textures (uint8 HWC): calibration/test images that look like images."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = []
    for _ in range(n):
        img = np.zeros((h, w, 3), np.float32)
        for _ in range(3):
            f = rng.uniform(0.02, 0.3, 2)
            ph = rng.uniform(0, 6.3)
            img += np.sin(f[0] * yy + f[1] * xx + ph)[..., None] * rng.uniform(0.2, 1.0, 3)
        img = (img - img.min()) / (np.ptp(img) + 1e-6)
        out.append(np.clip(img * 255 + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8))
    return np.stack(out)


def _random_input(r, dtype, shape):
    if dtype == "u8":
        return (r.integers(0, 256, shape, dtype=np.uint8) if len(shape) != 3 or shape[0] > 3
                else np.ascontiguousarray(textures(1, shape[1], shape[2], int(r.integers(1 << 30)))[0]
                                          .transpose(2, 0, 1)[:shape[0]]))
    if dtype == "i8":
        return r.integers(-128, 128, shape, dtype=np.int8)
    return r.normal(0, 1, shape).astype(np.float32)


def _device_inputs(name, m, n, images=()):
    """n samples: the given images first, then random ones; a sample of a model with several
    inputs is a list of one array per input."""
    specs = m.input_specs()
    xs = [np.asarray(im) for im in images][:n]
    for i in range(len(xs), n):
        r = _rng(name, i)
        sample = [_random_input(r, dtype, shape) for dtype, shape in specs]
        xs.append(sample[0] if len(sample) == 1 else sample)
    return xs


def input_bytes(x):
    """What the device takes for one sample: the input's bytes, or every input's one after the
    other in input order (a list: a model with several inputs; the firmware splits them)."""
    return b"".join(np.ascontiguousarray(a).tobytes() for a in (x if isinstance(x, (list, tuple)) else [x]))


def _finish(name, kind, data, xs, floats=None, label="float model", source=""):
    m = load(data)
    expected = [ref_run(m, x) for x in xs]
    return Case(name, kind, data, xs, expected, floats, label, macs(m), source)


def third_party(name, n):
    path = data_file(THIRD_PARTY[name])
    m = load(path)
    images = []
    if name == "cifar10-maixemc-hw":
        from ..images import pixels_for_kpu
        images = [pixels_for_kpu(data.path(data.PLANE_BMP), m.input_spec()[1])]
    if name == "iris-nncase":
        images = [np.array(v, np.float32) for v in ((5.1, 3.5, 1.4, 0.2), (7.0, 3.2, 4.7, 1.4), (6.3, 3.3, 6.0, 2.5))]
    return _finish(name, "third-party", path.read_bytes(), _device_inputs(name, m, n, images), source=str(path))


def mlperf(name, n):
    """An MLPerf Tiny int8 model (or a generic fixture) on the generic profile; the 'float' side is
    TFLite Micro itself. A MLPERF_FC16 name: its base model (same inputs) with int16 fully connected
    weights."""
    from ..backends.generic import import_tflite
    base = MLPERF_FC16.get(name, name)
    path = FIXTURES[name] if name in FIXTURES else data_file(MLPERF[base])
    data = path.read_bytes()
    km = import_tflite(data, fc_weights="int16" if name in MLPERF_FC16 else "int8").to_bytes()
    m = load(km)
    xs = _device_inputs(base, m, n)
    floats = None
    try:
        import tflite_micro
        interp = tflite_micro.runtime.Interpreter.from_bytes(data)
        floats = []
        for x in xs:
            for k, xk in enumerate(x if isinstance(x, list) else [x]):
                interp.set_input(xk, k)
            interp.invoke()
            floats.append([np.asarray(interp.get_output(k)).reshape(-1) for k in range(len(m.outputs))])
    except ImportError:
        pass
    return _finish(name, "generic", km, xs, floats, "TFLite Micro", str(path))


def converted(name, n, cache):
    """One of the convertor's test models (float .tflite) converted for the K210 by emc itself."""
    from ..convert import save_kmodel
    src = CONVERTOR_MODELS / CONVERTED[name]
    data = src.read_bytes()
    key = hashlib.sha1(data + _emc_fingerprint()).hexdigest()[:12]
    out = cache / f"{name}-{key}.kmodel"
    cal = textures(64, 32, 32, seed=7)
    if not out.exists():
        cache.mkdir(parents=True, exist_ok=True)
        save_kmodel(data, str(out), cal.astype(np.float32) / 255.0, "img_0_1", "minmax", 8, 3,
                    report=False, eval_limit=0, input_quant=(1 / 255.0, 0))
    km = out.read_bytes()
    imgs = textures(n, 32, 32, seed=99)
    xs = [np.ascontiguousarray(im.transpose(2, 0, 1)) for im in imgs]
    floats = None
    try:
        from ai_edge_litert.interpreter import Interpreter
        it = Interpreter(model_content=data)
        it.allocate_tensors()
        i0, o0 = it.get_input_details()[0], it.get_output_details()[0]
        floats = []
        for im in imgs:
            it.set_tensor(i0["index"], (im.astype(np.float32) / 255.0)[None])
            it.invoke()
            y = it.get_tensor(o0["index"])[0]
            floats.append([np.asarray(y).transpose(2, 0, 1).reshape(-1) if y.ndim == 3 else y.reshape(-1)])
    except ImportError:
        pass
    return _finish(name, "k210", km, xs, floats, "float TFLite", str(src))


def seed_cifar10(n, cache):
    """The seed's example: TensorLayer 2 CIFAR-10 weights converted with the seed's API."""
    import emc

    from ..examples.cifar10_tl2 import build_cifar10_tl2, load_h5_weights
    h5 = data.path(data.SEED_H5)
    key = hashlib.sha1(h5.read_bytes() + _emc_fingerprint()).hexdigest()[:12]
    out = cache / f"cifar10-emc-{key}.kmodel"
    net = build_cifar10_tl2(name=f"cifar_hil_{key}")
    load_h5_weights(net, h5)
    net.eval()
    cal_dir = cache / "cifar_cal"
    if not cal_dir.exists():
        from PIL import Image
        cal_dir.mkdir(parents=True)
        for i, im in enumerate(textures(32, 32, 32, seed=3)):
            Image.fromarray(im).save(cal_dir / f"t{i:03d}.png")
        Image.open(data.path(data.PLANE_BMP)).convert("RGB").save(cal_dir / "plane.png")
    if not out.exists():
        emc.save_kmodel(net, str(out), str(cal_dir), "img_0_1", "minmax", 8, 3)
    from ..images import pixels_for_kpu
    px = [pixels_for_kpu(data.path(data.PLANE_BMP), (3, 32, 32))]
    px += [np.ascontiguousarray(t.transpose(2, 0, 1)) for t in textures(max(0, n - 1), 32, 32, seed=11)]
    floats = []
    for p in px[:n]:
        y = net(p.transpose(1, 2, 0)[None].astype(np.float32) / 255.0)
        floats.append([np.asarray(y).reshape(-1)])
    return _finish("cifar10-emc", "k210", out.read_bytes(), px[:n], floats, "TensorLayer float model", str(h5))


def _emc_fingerprint() -> bytes:
    """Changes whenever the convertor or the kmodel writer changes, so cached models are rebuilt."""
    h = hashlib.sha1()
    for sub in ("convert.py", "backends/k210", "quant", "ir", "frontends", "kmodel"):
        p = ROOT / "emc" / sub
        for f in sorted([p] if p.is_file() else p.rglob("*.py")):
            h.update(f.read_bytes())
    return h.digest()


def build(name: str, n: int = 3, cache=None) -> Case:
    cache = pathlib.Path(cache or ROOT / "build" / "hil_cache")
    if name in THIRD_PARTY:
        return third_party(name, n)
    if name in MLPERF or name in FIXTURES or name in MLPERF_FC16:
        return mlperf(name, n)
    if name in CONVERTED:
        return converted(name, n, cache)
    if name == "cifar10-emc":
        return seed_cifar10(n, cache)
    raise KeyError(f"unknown bench model {name!r}; known: {', '.join(ALL)}")
