"""Shared helpers of the convertor tests (imported by tests and conftest alike)."""
import os
import subprocess
import sys
import textwrap

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

DATA = os.path.join(HERE, "data")

BLOCK_TF = textwrap.dedent("""
    import sys
    class _Block:
        def find_spec(self, name, path, target=None):
            if name.split('.')[0] in ('tensorflow', 'keras', 'tf_keras', 'tensorlayer'):
                raise ImportError('blocked by test: ' + name)
    sys.meta_path.insert(0, _Block())
""")


def run_without_tf(code, timeout=600):
    """Run python code in a fresh interpreter where importing TensorFlow/Keras fails."""
    script = BLOCK_TF + textwrap.dedent(code) + \
        "\nassert not any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules)\n"
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(HERE))
    env["PYTHONPATH"] = os.pathsep.join([root, HERE, env.get("PYTHONPATH", "")])
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout, env=env)
    if p.returncode != 0:
        raise AssertionError(f"subprocess failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p.stdout


def agreement(float_out, kmodel_out):
    f = np.asarray(float_out)
    k = np.asarray(kmodel_out)
    return float(np.mean(f.argmax(1) == k.argmax(1))), float(np.abs(f - k).max())
