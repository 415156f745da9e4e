"""Run a kmodel on a HIL firmware and compare with the PC.

    python -m emc.hil run model.kmodel --input x.bin [--target qemu-m4|qemu-m7|qemu-rv64]
                                      [--port /dev/ttyACM0] [--no-preload] [--layers] [--plugin]
    python -m emc.hil hello --target qemu-m4            (or --port for a real board)
    python -m emc.hil sizes                             (build the QEMU firmwares, print flash/RAM)

The input file holds the raw input tensor bytes (uint8 CHW for K210 models, float32 for models that
start with a fully connected layer); an image (.bmp/.png/.jpg) is converted to uint8 CHW at the
model's input size. Without --port a QEMU firmware is built and started; --port talks to a board.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np


def _input_bytes(path, model_path):
    p = pathlib.Path(path)
    if p.suffix.lower() in (".bmp", ".png", ".jpg", ".jpeg"):
        from ..images import pixels_for_kpu
        from ..kmodel import load

        _, shape = load(model_path).input_spec()
        return pixels_for_kpu(p, tuple(shape)).tobytes()
    if p.suffix.lower() == ".npy":     # the tensor itself (as `emc run` takes it), not the file's header
        return np.ascontiguousarray(np.load(p)).tobytes()
    return p.read_bytes()


def _expected(model_path, data):
    """PC outputs and per-layer outputs (native C runtime, else the Python reference)."""
    from ..kmodel import load
    from ..reference.memory import DTYPES

    dtype, shape = load(model_path).input_spec()
    x = np.frombuffer(data, DTYPES[dtype]).reshape(shape)
    try:
        from ..native import NativeModel

        outs, dumps = NativeModel(pathlib.Path(model_path).read_bytes()).run(x, dump=True)
        layers = [np.ascontiguousarray(dumps[i][1]).tobytes() for i in sorted(dumps)]
        src = "native C runtime"
    except Exception:  # noqa: BLE001
        from .. import reference

        d = {}
        outs = reference.run(model_path, x, dump=d)
        layers = [np.ascontiguousarray(d[k]).tobytes() for k in sorted(d)]
        src = "Python reference"
    return [np.ascontiguousarray(o).tobytes() for o in outs], layers, src


def _device(args, model_path=None, preload=True, input_data=None):
    from . import firmware
    from .protocol import HilClient
    from .qemu import Qemu, find_plugin

    if args.port:
        dev = HilClient.open(args.port, baudrate=args.baud)
        dev.sync()
        return None, dev
    elf = firmware.build(args.target)
    q = Qemu(args.target, elf, preload_model=model_path if preload else None,
             preload_input=input_data if preload else None,
             plugin=find_plugin() if getattr(args, "plugin", False) else None)
    q.start()
    return q, q.client()


def cmd_run(args):
    model_path = pathlib.Path(args.model)
    model = model_path.read_bytes()
    data = _input_bytes(args.input, model_path)
    want, want_layers, src = _expected(model_path, data)
    t0 = time.monotonic()
    q, dev = _device(args, model_path, preload=not args.no_preload, input_data=data)
    preloaded = q is not None and not args.no_preload
    report = {}
    try:
        info = dev.hello()
        res = dev.load(model, preloaded=preloaded)
        t1 = time.monotonic()
        inv, outs = dev.run(data, preloaded_input=preloaded)
        report["invoke_seconds"] = round(time.monotonic() - t1, 3)
        t_rt = time.monotonic() - t0
        report.update(target=info.target, flags=info.flags, counter=inv.counter, count=inv.count,
                      load_seconds=round(res.seconds, 3), transferred=res.transferred,
                      round_trip_seconds=round(t_rt, 3), arena_required=res.arena_required, compared_with=src,
                      outputs_identical=[a == b for a, b in zip(outs, want)])
        if args.layers or not all(report["outputs_identical"]):
            from .compare import first_divergence, trace_layers

            traced = trace_layers(dev, len(data), want_layers)   # before a capture invoke clears it
            div = first_divergence(dev, len(data), want_layers, traced)
            report["first_diverging_layer"] = None if div is None else div.layer
            if div is not None:
                report["first_diverging_type"] = div.type
                report["first_diverging_bytes"] = div.diff_offsets[:16]
            # same=None: not comparable (a hardware-KPU map in KPU RAM layout)
            report["layers"] = [dict(index=t.index, type=t.type, size=t.size, t=t.t, same=same)
                                for t, same in zip(*traced)]
        if q is not None and getattr(args, "plugin", False):
            q.stop()
            report["plugin_insns"] = q.plugin_regions()
    finally:
        if q is not None:
            q.close()
        else:
            dev.close()
    print(json.dumps(report, indent=2))
    return 0 if all(report.get("outputs_identical", [False])) else 1


def cmd_hello(args):
    q, dev = _device(args, preload=False)
    try:
        h = dev.hello()
        print(json.dumps({**h.__dict__, "counter": h.counter, "flags": h.flags}, indent=2, default=str))
    finally:
        if q is not None:
            q.close()
        else:
            dev.close()
    return 0


def cmd_sizes(args):
    from . import firmware

    rc = 0
    for t in args.targets:
        try:
            s = firmware.elf_sizes(firmware.build(t))
            print(f"{t}: flash {s['flash']} (text {s['text']} + rodata {s['rodata']} + data {s['data']}), "
                  f"RAM {s['ram']} (data {s['data']} + bss {s['bss']} + stack {s['stack']}), arena {s.get('arena')}")
        except firmware.FirmwareError as e:
            print(f"{t}: {e}")
            rc = 1
    return rc


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m emc.hil", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("run", "hello"):
        p = sub.add_parser(name)
        p.add_argument("--target", default="qemu-m4", choices=["qemu-m4", "qemu-m7", "qemu-rv64"])
        p.add_argument("--port", help="serial port of a real board (or socket://host:port)")
        p.add_argument("--baud", type=int, default=115200)
        if name == "run":
            p.add_argument("model")
            p.add_argument("--input", required=True, help="image, .npy tensor (as the first layer takes it) or raw bytes")
            p.add_argument("--no-preload", action="store_true", help="send the model over the UART")
            p.add_argument("--layers", action="store_true", help="per-layer comparison even when outputs match")
            p.add_argument("--plugin", action="store_true", help="also count with the QEMU insn plugin")
    p = sub.add_parser("sizes")
    p.add_argument("targets", nargs="*", default=["qemu-m4", "qemu-m7", "qemu-rv64"])
    a = ap.parse_args(argv)
    return {"run": cmd_run, "hello": cmd_hello, "sizes": cmd_sizes}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
