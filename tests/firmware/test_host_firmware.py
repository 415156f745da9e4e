"""The common firmware code built for the host (pty), talked to over real pyserial traffic: quick
coverage of the protocol and of the runtime glue without an emulator."""
import numpy as np

import fw_checks as C
from fw_support import CIFAR, IRIS, IRIS_X, cifar_input, expected_layers, expected_outputs


def test_hello(host_device):
    h = C.check_hello(host_device, "host")
    assert h.counter == "host_ns"


def test_error_frames(host_device):
    C.check_error_frames(host_device)


def test_iris_outputs_match_pc(host_device, kmodels_dir):
    path = kmodels_dir / IRIS
    want, _ = expected_outputs(path, IRIS_X)
    if host_device.hello().stub:
        return  # stub runtime: protocol only
    C.check_model(host_device, path, IRIS_X, want, layers=expected_layers(path, IRIS_X), capture=0)


def test_cifar_outputs_match_pc(host_device, kmodels_dir):
    path = kmodels_dir / CIFAR
    x = cifar_input(kmodels_dir)
    assert x.shape == (3, 32, 32) and x.dtype == np.uint8
    if host_device.hello().stub:
        return
    want, _ = expected_outputs(path, x)
    C.check_model(host_device, path, x, want, layers=expected_layers(path, x), capture=3)
    # same model again: HELLO reports it loaded, the transfer is skipped
    res = host_device.load(path.read_bytes())
    assert res.transferred == 0


def test_hard_reset_restarts(host_device):
    host_device.reset(hard=True)
    host_device.sync(timeout=5)
    assert host_device.ping(b"x") == b"x"


def test_first_divergence_found(host_device, kmodels_dir):
    from emc.hil.compare import first_divergence

    path = kmodels_dir / CIFAR
    x = cifar_input(kmodels_dir)
    if host_device.hello().stub:
        return
    layers = expected_layers(path, x)
    host_device.load(path.read_bytes())
    host_device.set_input(x.tobytes())
    assert first_divergence(host_device, x.nbytes, layers) is None
    bad = list(layers)
    b = bytearray(bad[3])
    b[100] ^= 1
    bad[3] = bytes(b)
    d = first_divergence(host_device, x.nbytes, bad)
    assert d.layer == 3 and d.type == 10240 and d.diff_offsets == [100]
    # the per-layer verdicts come from the traced invoke, not from the capture that follows it
    from emc.hil.compare import trace_layers
    traced = trace_layers(host_device, x.nbytes, bad)
    assert first_divergence(host_device, x.nbytes, bad, traced).layer == 3
    assert [i for i, same in enumerate(traced[1]) if same is False] == [3]
    assert all(same for i, same in enumerate(traced[1]) if i != 3)


def test_resync_after_garbage(host_device):
    C.check_resync_after_noise(host_device, "host")
