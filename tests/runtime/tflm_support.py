"""The generic profile's check against TFLite Micro: a .tflite imported by emc, run by the Python
reference and the C runtime, compared bit for bit with tflite_micro.runtime.Interpreter (TFLM's
reference kernels) on random inputs."""
import numpy as np
import pytest

from emc.backends.generic import import_tflite
from emc.kmodel import load
from emc.reference import run


def check_bit_exact(data, native, n=12, ops=None, seed=3):
    """Every output of the Python reference and of the C runtime equals TFLM's, on n random inputs.
    ops: TFLite operator names the file must contain (so the test checks what it names)."""
    tflm = pytest.importorskip("tflite_micro")
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
    ip = tflm.runtime.Interpreter.from_bytes(data)
    dt, shape = km.input_spec()
    rng = np.random.default_rng(seed)
    for _ in range(n):
        x = {"f32": lambda: rng.normal(0, 1.5, shape).astype(np.float32),
             "u8": lambda: rng.integers(0, 256, shape, dtype=np.uint8),
             "i8": lambda: rng.integers(-128, 128, shape, dtype=np.int8)}[dt]()
        ip.reset()          # variable tensors (an LSTM's state) back to their zero: each inference starts anew
        ip.set_input(x, 0)
        ip.invoke()
        py, c = run(km, x), nm.run(x)
        for k in range(len(py)):
            want = np.asarray(ip.get_output(k)).reshape(-1)
            assert py[k].dtype == want.dtype and py[k].tobytes() == want.tobytes(), f"python output {k}"
            assert c[k].dtype == want.dtype and c[k].tobytes() == want.tobytes(), f"C output {k}"
    return km, nm
