"""The generic profile's check against TFLite Micro: a .tflite imported by emc, run by the Python
reference and the C runtime, compared bit for bit with tflite_micro.runtime.Interpreter (TFLM's
reference kernels) on random inputs."""
import numpy as np
import pytest

from emc.backends.generic import import_tflite
from emc.kmodel import load
from emc.reference import run


def golden_runner(data, golden="tflm"):
    """run(xs) -> list of output arrays, xs one array per model input: TFLM's reference kernels, or ("litert") LiteRT with its
    reference kernels (BUILTIN_REF) for files TFLM refuses, or ("litert_builtin") LiteRT's default
    kernels without the XNNPACK delegate, only for a file of pure data movement that neither TFLM
    nor BUILTIN_REF registers (int8 TILE): the optimized ADD/MUL/... round differently."""
    import tflite
    n_outputs = tflite.Model.GetRootAsModel(data, 0).Subgraphs(0).OutputsLength()
    if golden == "tflm":
        ip = pytest.importorskip("tflite_micro").runtime.Interpreter.from_bytes(data)

        def run_tflm(xs):
            ip.reset()          # variable tensors (an LSTM's state) back to their zero: each inference starts anew
            for i, x in enumerate(xs):
                ip.set_input(x, i)
            ip.invoke()
            return [np.asarray(ip.get_output(k)) for k in range(n_outputs)]
        return run_tflm
    from ai_edge_litert.interpreter import Interpreter, OpResolverType
    kernels = {"litert": OpResolverType.BUILTIN_REF, "litert_builtin": OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES}[golden]
    it = Interpreter(model_content=data, experimental_op_resolver_type=kernels)
    it.allocate_tensors()

    def run_litert(xs):
        it.reset_all_variables()
        for d, x in zip(it.get_input_details(), xs):
            it.set_tensor(d["index"], x)
        it.invoke()
        return [it.get_tensor(o["index"]) for o in it.get_output_details()]
    return run_litert


def check_bit_exact(data, native, n=12, ops=None, seed=3, golden="tflm"):
    """Every output of the Python reference and of the C runtime equals TFLM's (or LiteRT's
    reference kernels', golden="litert"), on n random inputs.
    ops: TFLite operator names the file must contain (so the test checks what it names)."""
    if ops:
        import tflite
        from tflite.BuiltinOperator import BuiltinOperator as Op
        names = {v: k for k, v in vars(Op).items() if not k.startswith("_")}
        m = tflite.Model.GetRootAsModel(data, 0)
        g = m.Subgraphs(0)
        have = {names[max(m.OperatorCodes(g.Operators(i).OpcodeIndex()).BuiltinCode(),
                          m.OperatorCodes(g.Operators(i).OpcodeIndex()).DeprecatedBuiltinCode())]
                for i in range(g.OperatorsLength())}
        assert set(ops) <= have, f"converter made {sorted(have)}"
    kb = import_tflite(data).to_bytes()
    km = load(kb)
    nm = native.NativeModel(kb)
    want_of = golden_runner(data, golden)
    specs = km.input_specs()
    rng = np.random.default_rng(seed)
    draw = {"f32": lambda shape: rng.normal(0, 1.5, shape).astype(np.float32),
            "u8": lambda shape: rng.integers(0, 256, shape, dtype=np.uint8),
            "i8": lambda shape: rng.integers(-128, 128, shape, dtype=np.int8)}
    for _ in range(n):
        xs = [draw[dt](shape) for dt, shape in specs]
        x = xs if len(xs) > 1 else xs[0]
        py, c, wants = run(km, x), nm.run(x), want_of(xs)
        assert len(py) == len(c) == len(wants)
        for k, want in enumerate(wants):
            want = want.reshape(-1)
            assert py[k].dtype == want.dtype and py[k].tobytes() == want.tobytes(), f"python output {k}"
            assert c[k].dtype == want.dtype and c[k].tobytes() == want.tobytes(), f"C output {k}"
    return km, nm
