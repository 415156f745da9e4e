"""Runs a kmodel v3 layer by layer with the exact arithmetic of the device: the "PC side" of
every comparison (convertor report, C runtime, firmware, bench)."""
from __future__ import annotations

import numpy as np

from ..kmodel import KModel, KModelError, load
from .memory import DTYPES, Memory


def split_inputs(model: KModel, x):
    """The model's inputs as a list: `x` itself for a one-input model, else a list/tuple of one
    array per input, in input order."""
    n = len(model.input_layers())
    if n == 1:
        return [x]
    if not isinstance(x, (list, tuple)) or len(x) != n:
        raise ValueError(f"the model has {n} inputs: give a list of {n} arrays")
    return list(x)


def prepare_input(model: KModel, x, index=0):
    """Check `x` against what input `index` takes (u8 CHW for a K210_CONV, f32 for FULLY_CONNECTED...)."""
    dtype, shape = model.input_specs()[index]
    x = np.asarray(x)
    want = np.dtype(DTYPES[dtype])
    if x.size != int(np.prod(shape)):
        raise ValueError(f"input has {x.size} elements {tuple(x.shape)}, the model takes {dtype} {shape}")
    if x.dtype != want:
        if dtype == "u8" and (x.dtype.kind == "f" or x.min() < 0 or x.max() > 255):
            raise ValueError(f"input is {x.dtype}, the model's first layer takes uint8 {shape} "
                             f"(quantized pixels 0..255); preprocess it first")
        x = x.astype(want)
    return x.reshape(shape)


class Executor:
    def __init__(self, model, fused_fp=False):
        """fused_fp: compute float multiply-adds with one rounding, as the Kendryte SDK runtime
        built by GCC for the K210 does (fmadd.s); False matches C built with -ffp-contract=off."""
        self.model = model if isinstance(model, KModel) else load(model)
        self.fused_fp = fused_fp

    def run(self, x, dump=None, hook=None):
        """Execute once. Returns the outputs (one numpy array each, dtype from the writing layer).

        dump: a dict filled with {'NN_TYPE': array} for every layer's output tensor.
        hook: callable(index, layer, mem) after each layer.
        """
        m = self.model
        mem = Memory(m.main_mem_usage, fused_fp=self.fused_fp)
        for i, (layer, xi) in enumerate(zip(m.input_layers(), split_inputs(m, x))):
            layer.set_input(mem, prepare_input(m, xi, i))
        for layer in m.layers:
            mem.layer = layer.index
            try:
                layer.execute(mem)
            except KModelError as e:
                if e.layer is None:
                    e.layer = layer.index
                    e.args = (e._text(),)
                raise
            if dump is not None:
                dump[f"{layer.index:03d}_{layer.NAME}"] = layer_output(layer, mem)
            if hook is not None:
                hook(layer.index, layer, mem)
        outs = []
        for (addr, size), dt in zip(m.outputs, m.output_dtypes()):
            item = np.dtype(DTYPES[dt]).itemsize
            outs.append(mem.read_main(addr, size // item, dt))
        return outs


def layer_output(layer, mem):
    """What a layer produced, as an array in its natural shape (CHW maps, vectors)."""
    if hasattr(layer, "dump"):
        return layer.dump(mem)
    rng = layer.writes()[-1]
    item = np.dtype(DTYPES[rng.dtype]).itemsize
    a = mem.read_main(rng.start, rng.size // item, rng.dtype)
    if rng.shape is not None and int(np.prod(rng.shape)) == a.size:
        a = a.reshape(rng.shape)
    return a


def run(model, x, dump=None, hook=None, fused_fp=False):
    """Run `model` (KModel, path or bytes) on input `x` (a list of arrays for a model with several
    inputs); returns a list of output arrays."""
    return Executor(model, fused_fp=fused_fp).run(x, dump=dump, hook=hook)
