"""save_kmodel: trained network -> calibrated, quantized kmodel v3 for the K210, plus a report
comparing the kmodel (run on the bit-exact reference executor) with the float model."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

from .ir import passes
from .ir.execute import run_float


@dataclass
class ConversionReport:
    model: str
    path: str
    layers: list                     # LayerInfo
    main_mem: int
    kpu_rows: int
    file_size: int
    input_quant: tuple
    output_names: list
    metrics: dict = field(default_factory=dict)
    times: dict = field(default_factory=dict)
    quant: dict = field(default_factory=dict)
    arena: int = 0                   # bytes runtime_c needs (software KPU), see emc.kmodel.arena
    arena_hw: int = 0                # the same with the K210 hardware-KPU port
    layer_errors: list = field(default_factory=list)   # (layer index, tensor, cosine, max abs / range)
    input_desc: str = ""             # how the device input is described, when not a K210 one
    equalized: int = 0               # conv pairs rescaled by cross-layer equalization
    bias_corrected: int = 0          # conv layers whose bias absorbs their weight quantization's mean shift
    tflite: bytes | None = None      # generic target: the int8 .tflite the kmodel reproduces (TFLM-exact)
    output_shapes: dict = field(default_factory=dict)   # K210: output name -> shape of a non-vector output

    def output_layout(self):
        """How each non-vector output sits in the kmodel's flat output (kmodel v3 records no shapes)."""
        for name, shp in self.output_shapes.items():
            if len(shp) == 3:
                h, w, c = shp
                yield (f"output {name}: map {h}x{w}x{c}, flat in planar CHW order: reshape({c}, {h}, {w}) "
                       f"(emc run --shape {c},{h},{w})")
            else:
                yield (f"output {name}: {'x'.join(map(str, shp))}, flat in row-major order: "
                       f"reshape{tuple(shp)} (emc run --shape {','.join(map(str, shp))})")

    def text(self):
        lines = [f"EMC conversion report: {self.model} -> {self.path}",
                 f"{'#':>3} {'layer':28s} {'where':5s} {'from op':28s} {'in':>16s} {'out':>16s}  {'output memory':34s} notes"]
        for li in self.layers:
            lines.append(f"{li.index:3d} {li.type:28s} {li.where:5s} {li.op[:28]:28s} "
                         f"{'x'.join(map(str, _flat(li.in_shape)))[:16]:>16s} "
                         f"{'x'.join(map(str, li.out_shape)):>16s}  {li.mem:34s} {li.notes.strip()}")
        nk = sum(1 for li in self.layers if li.where == "KPU")
        lines.append(f"layers: {len(self.layers)} ({nk} KPU, {len(self.layers) - nk} CPU); "
                     f"main buffer {self.main_mem} bytes; KPU RAM {self.kpu_rows * 64} bytes "
                     f"({self.kpu_rows} rows); file {self.file_size} bytes")
        if self.arena and self.input_desc:
            lines.append(f"runtime_c arena: {self.arena} bytes (emc_arena_required; nothing else is allocated)")
        elif self.arena:
            lines.append(f"runtime_c arena: {self.arena} bytes with the software KPU, {self.arena_hw} bytes with the "
                         f"K210 hardware KPU (emc_arena_required; nothing else is allocated)")
        if self.input_desc:
            lines.append(f"input: {self.input_desc}")
        elif self.input_quant is None:
            lines.append("input: float32 vector (layer 0 is FULLY_CONNECTED)")
        else:
            s, z = self.input_quant
            lines.append(f"input: uint8 planar CHW, real = {s:.6g} * (q - {z:g})")
        fallbacks = [li for li in self.layers if li.fallback]
        if fallbacks:
            lines.append("CPU fallbacks (--allow-patched, EMC generic layers not in stock kpu.c): " + "; ".join(
                f"#{li.index} {li.op}: {li.fallback}" for li in fallbacks))
        if self.equalized:
            lines.append(f"cross-layer equalization: {self.equalized} conv pair(s) rescaled")
        if self.bias_corrected:
            lines.append(f"bias correction: {self.bias_corrected} conv layer(s)")
        lines.extend(self.output_layout())
        for name, m in self.metrics.items():
            lines.append(f"output {name}: max |kmodel - float| = {m['max_abs']:.4g}, cosine = {m['cosine']:.5f}"
                         + (f", top-1 agreement = {100 * m['top1']:.1f}%{' (per row)' * m.get('per_row', False)}"
                            if m.get("top1") is not None else "")
                         + f" over {m['n']} inputs")
        if self.layer_errors:
            worst = min(self.layer_errors, key=lambda e: e[2])
            lines.append("per-layer error on the first input (cosine, max|err|/range): " + ", ".join(
                f"#{i} {c:.4f}/{r:.3f}" for i, _, c, r in self.layer_errors)
                + f"; lowest cosine at layer {worst[0]} ({worst[1]})")
        lines.append("times: " + ", ".join(f"{k} {v:.2f}s" for k, v in self.times.items()))
        return "\n".join(lines)

    __str__ = text


EQUALIZE = ("auto", "all", "off")


def _flat(s):
    if s and isinstance(s[0], tuple):
        return [v for t in s for v in t]
    return list(s)


def save_kmodel(network, filepath, dataset_dir=None, dataset_func="img_0_1", quant_func="minmax", quant_bit=8,
                version=3, target="k210", *, resize=False, allow_patched=False, eval_limit=100,
                report=True, progress=None, input_quant=None, softmax=None, dense_on_kpu=False,
                verbose=False, equalize="auto", fc_weights="int8", bias_correct="auto"):
    """Convert `network` (TensorLayer 2 / Keras model or file, .tflite file/bytes, or an emc IR Graph)
    to a kmodel v3 at `filepath`, calibrating on `dataset_dir` (image folder, .npy, array or callable).

    softmax: None keeps the model's final softmax; False drops a final softmax (outputs are logits);
    True appends one to every vector output that lacks it.
    resize: resize calibration images to the model input (default: a different size is an error).
    allow_patched: allow layer types only Maix-EMC's patched kpu.c runs (6, 21).
    dense_on_kpu: run dense layers (<= 1024 in/out) on the KPU through K210_ADD_PADDING / REMOVE_PADDING.
    eval_limit: how many calibration inputs the report compares kmodel vs float on (0: none).
    equalize: cross-layer equalization (emc.quant.equalize) before calibration: 'auto' on pairs with a
    depthwise conv, 'all' on every conv pair, 'off'.
    bias_correct: bias correction (emc.backends.k210.bias_correction): each conv's bias absorbs the mean
    output shift its quantized weights cause on the calibration data; 'auto' for graphs with a depthwise
    conv, 'on', 'off'.
    fc_weights: generic target only: "int16" stores fully connected weights as int16 (twice the
    flash, fewer instructions per MAC on Cortex-M DSP); default "int8".

    Returns a ConversionReport (also written next to the model as <filepath>.report.txt when report=True).
    """
    from .backends.k210 import K210Compiler, Options
    from .backends.k210.bias_correction import MODES as BIAS_CORRECT
    from .backends.k210.bias_correction import corrected_biases
    from .frontends import load
    from .quant import calibrate, load_dataset
    from .quant.equalize import equalize as equalize_pairs
    from .reference import run as ref_run

    if version != 3:
        raise ValueError(f"kmodel version {version} is not supported (only 3)")
    _refuse_overwrite(filepath, report, [network, dataset_dir])
    if target in ("generic", "cortex-m", "mcu"):
        return _save_generic(network, filepath, report, dataset_dir, dataset_func, resize, eval_limit, softmax,
                             fc_weights)
    if fc_weights != "int8":
        raise ValueError(f"fc_weights={fc_weights!r} applies to target 'generic' only")
    if target != "k210":
        raise ValueError(f"unknown target {target!r} (k210 or generic)")
    if quant_bit not in (8, 16):
        raise ValueError(f"quant_bit must be 8 or 16, not {quant_bit}")
    times = {}
    t0 = time.time()
    graph = load(network)
    times["load"] = time.time() - t0
    t = time.time()
    g = passes.optimize(graph)
    if softmax is not None:
        _set_final_softmax(g, softmax)
    if len(g.inputs) != 1:
        raise ValueError(f"kmodel v3 takes one input, the model has {len(g.inputs)}")
    from .backends.k210.legalize import split_wide_convs
    split_wide_convs(g)          # > 1024 output channels: parts of <= 1024 and a concat, before calibration
    in_shape = g.shape(g.inputs[0])
    data = load_dataset(dataset_dir, in_shape, dataset_func, resize=resize)
    if equalize not in EQUALIZE:
        raise ValueError(f"equalize must be one of {EQUALIZE}, not {equalize!r}")
    if bias_correct not in BIAS_CORRECT:
        raise ValueError(f"bias_correct must be one of {BIAS_CORRECT}, not {bias_correct!r}")
    equalized = 0 if equalize == "off" else equalize_pairs(g, data.x, only_depthwise=equalize == "auto")
    ranges = calibrate(g, data.x, quant_func, progress=progress)
    times["calibrate"] = time.time() - t
    fixed = {n: (tt.quant.scale, tt.quant.zero_point) for n, tt in g.tensors.items()
             if tt.quant is not None and np.ndim(tt.quant.scale) == 0}
    if input_quant is None:
        if data.pixel_quant is not None:
            input_quant = data.pixel_quant
        elif g.inputs[0] in fixed:
            input_quant = fixed[g.inputs[0]]
    t = time.time()
    comp = K210Compiler(g, ranges, input_quant if len(in_shape) == 3 else None,
                        Options(quant_bit=quant_bit, allow_patched=allow_patched, dense_on_kpu=dense_on_kpu), fixed)
    with corrected_biases(comp, data.x, bias_correct) as bias_corrected:
        model = comp.compile()
    size = _save(model, filepath)
    times["compile"] = time.time() - t
    iq = comp.q(g.inputs[0])
    rep = ConversionReport(getattr(graph, "name", "model"), os.fspath(filepath), comp.info, comp.main_mem,
                           comp.kpu_rows, size, iq if len(in_shape) == 3 else None, comp.output_names,
                           times=times)
    rep.quant = {tn: comp.q(tn) for tn in g.tensors if tn in ranges}
    rep.output_shapes = {t: g.shape(t) for t in g.outputs if len(g.shape(t)) > 1}
    rep.equalized = equalized
    rep.bias_corrected = bias_corrected
    from .kmodel.arena import arena_bytes
    rep.arena, rep.arena_hw = arena_bytes(model), arena_bytes(model, hardware_kpu=True)
    if eval_limit:
        t = time.time()
        n = min(eval_limit, len(data.x))
        xs = data.x[:n]
        ref = run_float(g, xs)
        dev_in = device_inputs(data, iq, in_shape, n)
        dump = {}
        got = [ref_run(model, dev_in[i], dump=dump if i == 0 else None) for i in range(n)]
        rep.metrics = compare(g, ref, got)
        rep.layer_errors = layer_errors(g, comp, run_float(g, xs[:1], keep=True), dump)
        times["evaluate"] = time.time() - t
    times["total"] = time.time() - t0
    if report:
        _write_report(rep, filepath)
    if verbose:
        print(rep.text())
    return rep


def _save_generic(network, filepath, report, dataset_dir, dataset_func, resize, eval_limit, softmax, fc_weights):
    """target='generic': an int8 .tflite is read into the tfl-dialect IR (emc.frontends.tflite_reader)
    and built as is onto the generic MCU layers (emc.backends.generic); any other model (Keras,
    TensorLayer 2, float .tflite, IR graph) goes through the float IR and is quantized to TFLite int8
    by the TFLite converter calibrated on the dataset (emc.quant.tflite_int8), then read and built the
    same way; the report then compares the kmodel (bit-exact reference) with the float graph on the
    calibration inputs."""
    from .backends.generic import BuildError, build_kmodel
    from .errors import InputError
    from .frontends.tflite_reader import is_quantized, read_tflite
    from .reference import run as ref_run
    times = {}
    t0 = time.time()
    label = os.fspath(network) if isinstance(network, (str, os.PathLike)) else "tflite buffer"
    data = None
    if isinstance(network, (bytes, bytearray)):
        data = bytes(network)
    elif isinstance(network, (str, os.PathLike)) and os.fspath(network).lower().endswith(".tflite"):
        with open(network, "rb") as f:
            data = f.read()
    tfl = read_tflite(data, label) if data is not None else None
    g = xs = None
    if tfl is None or not is_quantized(tfl):
        from .frontends import load
        from .quant import load_dataset
        from .quant.tflite_int8 import graph_to_int8_tflite
        if dataset_dir is None:
            raise ValueError("target 'generic' needs a calibration dataset for a float model")
        g = passes.optimize(load(network if data is None else data))
        if softmax is not None:
            _set_final_softmax(g, softmax)
        times["load"] = time.time() - t0
        t = time.time()
        xs = load_dataset(dataset_dir, g.shape(g.inputs[0]), dataset_func, resize=resize).x
        data = graph_to_int8_tflite(g, xs)
        times["calibrate"] = time.time() - t
        label = "the int8 model quantized from " + label
        tfl = read_tflite(data, label)
    t = time.time()
    try:
        model = build_kmodel(tfl, fc_weights)
    except BuildError as e:                  # the graph names operators and tensors, not the file: name it
        raise InputError(str(e), file=label) from e
    size = _save(model, filepath)
    times["compile"] = time.time() - t
    from .backends.k210 import LayerInfo
    infos = [LayerInfo(i, layer.NAME, "", "CPU", (), ()) for i, layer in enumerate(model.layers)]
    rep = ConversionReport(getattr(g, "name", "tflite"), os.fspath(filepath), infos, model.main_mem_usage, 0, size,
                           None, list(g.outputs) if g is not None else [])
    from .kmodel.arena import arena_bytes
    rep.arena = rep.arena_hw = arena_bytes(model)
    rep.tflite = data
    rep.input_desc = (", ".join(f"{dt} NHWC {'x'.join(map(str, shape))}" for dt, shape in model.input_specs())
                      + " (generic int8 profile, TFLite Micro numerics)")
    if g is not None and eval_limit:
        t = time.time()
        n = min(eval_limit, len(xs))
        ref = run_float(g, xs[:n])
        got = [ref_run(model, x) for x in xs[:n]]
        rep.metrics = compare(g, {k: np.asarray(v) for k, v in ref.items()}, got, device_layout=False)
        times["evaluate"] = time.time() - t
    times["total"] = time.time() - t0
    rep.times = times
    if report:
        _write_report(rep, filepath)
    return rep


def _refuse_overwrite(filepath, report, inputs):
    from .outputs import refuse_overwrite
    refuse_overwrite(filepath, inputs, "output kmodel")
    if report:
        refuse_overwrite(os.fspath(filepath) + ".report.txt", inputs, "report")


def _save(model, filepath):
    """The kmodel written atomically: a failed or interrupted save leaves the old file or none."""
    from .outputs import atomic_path
    with atomic_path(filepath) as tmp:
        return model.save(tmp)


def _write_report(rep, filepath):
    from .outputs import atomic_open
    with atomic_open(os.fspath(filepath) + ".report.txt", "w") as f:
        f.write(rep.text() + "\n")


def _set_final_softmax(g, want):
    from .ir import Op
    outs = []
    for t in g.outputs:
        prod = g.producer(t)
        if not want and prod is not None and prod.type == "softmax":
            g.ops.remove(prod)
            outs.append(prod.inputs[0])
        elif want and len(g.shape(t)) == 1 and (prod is None or prod.type != "softmax"):
            name = g.unique_name(t + "_softmax")
            g.add_tensor(name, g.shape(t))
            g.ops.append(Op("softmax", name, [t], [name], {}, "Softmax"))
            outs.append(name)
        else:
            outs.append(t)
    g.outputs = outs
    g.prune()
    g.validate()


def device_inputs(data, iq, in_shape, n):
    """What the device takes for the first n calibration samples."""
    if len(in_shape) != 3:
        return [x.astype(np.float32) for x in data.x[:n]]
    if data.pixels is not None and data.pixel_quant is not None:
        return [np.ascontiguousarray(p.transpose(2, 0, 1)) for p in data.pixels[:n]]
    s, z = iq
    return [np.clip(np.round(x / s + z), 0, 255).astype(np.uint8).transpose(2, 0, 1).copy() for x in data.x[:n]]


def layer_errors(g, comp, floats, dump):
    """Each layer whose output is a model tensor (found by its buffer names) vs the float tensor."""
    res = []
    for li, (key, arr) in zip(comp.info, sorted(dump.items())):
        names = [b.name.rsplit(":", 1) for b in li.writes]
        for base, kind in names:
            if base not in g.tensors or kind not in ("kpu", "u8", "f32", "kpu(view)") or base not in floats:
                continue
            f = to_device_layout(floats[base][0])
            perm = comp.chw_flat.get(base)
            if perm is not None:                     # a flattened map kept in CHW order in memory
                f = f.reshape(perm).transpose(2, 0, 1)
            f = f.reshape(-1).astype(np.float64)
            a = np.asarray(arr).reshape(-1)
            if kind != "f32" and a.dtype == np.int8:
                a = a.view(np.uint8)                 # a generic layer (byte move) wrote a u8 tensor
            if a.size != f.size:
                continue
            if kind == "f32":
                k = a.astype(np.float64)
            else:
                s, z = comp.q(base)
                k = (a.astype(np.float64) - z) * s
            nf, nk = np.linalg.norm(f), np.linalg.norm(k)
            cos = 1.0 if nf < 1e-12 and nk < 1e-12 else float(f @ k / (nf * nk + 1e-12))
            rng = float(f.max() - f.min()) or 1.0
            res.append((li.index, base, cos, float(np.abs(f - k).max() / rng)))
            break
    return res


def to_device_layout(a):
    """Float model output (HWC map or vector) in the kmodel's order (CHW)."""
    a = np.asarray(a)
    return a.transpose(2, 0, 1) if a.ndim == 3 else a


def compare(g, ref, got, device_layout=True):
    """Per output: max |kmodel - float|, mean cosine, top-1 agreement. device_layout: the kmodel
    keeps maps in CHW order (K210); the generic profile keeps TFLite's NHWC."""
    metrics = {}
    for j, name in enumerate(g.outputs):
        f = np.stack([(to_device_layout(ref[name][i]) if device_layout else ref[name][i]).reshape(-1)
                      for i in range(len(got))]).astype(np.float64)
        k = np.stack([np.asarray(got[i][j], np.float64).reshape(-1) for i in range(len(got))])
        nf, nk = np.linalg.norm(f, axis=1), np.linalg.norm(k, axis=1)
        # scale-free: outputs of 1e-8 (an untrained net's logits) have a cosine like any other; two zero
        # vectors agree, a zero against a non-zero does not
        den = nf * nk
        cos = np.where(den > 0, np.sum(f * k, axis=1) / np.where(den > 0, den, 1.0),
                       np.where((nf == 0) & (nk == 0), 1.0, 0.0))
        m = {"max_abs": float(np.abs(f - k).max()), "cosine": float(cos.mean()), "n": len(got),
             "top1": float(np.mean(f.argmax(1) == k.argmax(1))) if f.shape[1] > 1 else None}
        rows = np.shape(ref[name][0])
        if len(rows) == 2 and rows[1] > 1:      # (rows, K): each row's winner (a detection head's anchors)
            m["top1"] = float(np.mean(f.reshape(-1, rows[1]).argmax(1) == k.reshape(-1, rows[1]).argmax(1)))
            m["per_row"] = True
        metrics[name] = m
    return metrics
