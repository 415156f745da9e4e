"""Run a kmodel on a HIL firmware and compare with the PC.

    python -m emc.hil run model.kmodel --input x.bin [--target qemu-m4|qemu-m7|qemu-rv64]
                                      [--port /dev/ttyACM0] [--no-preload] [--layers] [--plugin]
    python -m emc.hil hello --target qemu-m4            (or --port for a real board)
    python -m emc.hil sizes                             (build the QEMU firmwares, print flash/RAM)

The input file holds the raw input tensor bytes (uint8 CHW for K210 models, float32 for models that
start with a fully connected layer); an image (.bmp/.png/.jpg) is converted to uint8 CHW at the
model's input size. Without --port a QEMU firmware is built and started; --port talks to a board.

Errors follow docs/errors.md: one line, exit 1 when the device's outputs differ (or it returns a
different number of outputs), 2 for a bad model or input, 3 when the port, the device or the link
fails (no port, silence, garbage, a reset or a fault during a command), 130 on Ctrl-C; --debug
prints the traceback. `run` prints its JSON report even when it fails, with the error in it.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np


def _input_bytes(paths, model):
    """Every input tensor's bytes, one file per model input, one after the other in input order
    (as the firmware takes them)."""
    from ..errors import UsageError
    specs = model.input_specs()
    if len(paths) != len(specs):
        raise UsageError(f"the model has {len(specs)} input(s): give --input once per input, in order "
                         f"(got {len(paths)})")
    return b"".join(_one_input_bytes(p, dtype, shape) for p, (dtype, shape) in zip(paths, specs))


def _one_input_bytes(path, dtype, shape):
    """One input tensor's bytes, exactly as many as the layer declaring it takes."""
    from ..errors import InputError
    from ..reference.memory import DTYPES

    p = pathlib.Path(path)
    want = int(np.prod(shape)) * np.dtype(DTYPES[dtype]).itemsize
    try:
        if p.suffix.lower() in (".bmp", ".png", ".jpg", ".jpeg"):
            from ..images import pixels_for_kpu

            data = pixels_for_kpu(p, tuple(shape)).tobytes()
        elif p.suffix.lower() == ".npy":     # the tensor itself (as `emc run` takes it), not the file's header
            a = np.load(p, allow_pickle=False)
            if a.dtype != np.dtype(DTYPES[dtype]):
                raise InputError(f"array of {a.dtype}, the model's input is {dtype} {tuple(shape)}", file=p)
            data = np.ascontiguousarray(a).tobytes()
        else:
            data = p.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", file=p) from None
    if len(data) != want:
        raise InputError(f"{len(data)} bytes of input, the model takes exactly {want} ({dtype} {tuple(shape)})",
                         file=p)
    return data


def _expected(model_bytes, model, data):
    """PC outputs and per-layer outputs (native C runtime, else the Python reference)."""
    from ..reference.memory import DTYPES

    xs, off = [], 0
    for dtype, shape in model.input_specs():
        n = int(np.prod(shape))
        xs.append(np.frombuffer(data, DTYPES[dtype], n, off).reshape(shape))
        off += n * np.dtype(DTYPES[dtype]).itemsize
    x = xs[0] if len(xs) == 1 else xs
    try:
        from ..native import NativeModel

        outs, dumps = NativeModel(model_bytes).run(x, dump=True)
        layers = [np.ascontiguousarray(dumps[i][1]).tobytes() for i in sorted(dumps)]
        src = "native C runtime"
    except Exception:  # noqa: BLE001
        from .. import reference

        d = {}
        outs = reference.run(model, x, dump=d)
        layers = [np.ascontiguousarray(d[k]).tobytes() for k in sorted(d)]
        src = "Python reference"
    return [np.ascontiguousarray(o).tobytes() for o in outs], layers, src


def _device(args, model_path=None, preload=True, input_data=None, invoke_timeout=None):
    from . import firmware
    from .protocol import HilClient
    from .qemu import Qemu, find_plugin

    kw = dict(timeout=args.timeout, invoke_timeout=invoke_timeout)
    if args.port:
        dev = HilClient.open(args.port, baudrate=args.baud, **kw)
        try:
            dev.sync(timeout=args.sync_timeout)
        except BaseException:
            dev.close()
            raise
        return None, dev
    elf = firmware.build(args.target)
    q = Qemu(args.target, elf, preload_model=model_path if preload else None,
             preload_input=input_data if preload else None,
             plugin=find_plugin() if getattr(args, "plugin", False) else None)
    q.start()
    try:
        return q, q.client(sync_timeout=args.sync_timeout, **kw)
    except BaseException:
        q.close()
        raise


def cmd_run(args):
    from ..kmodel import load
    from .cases import macs
    from .protocol import invoke_timeout

    model_path = pathlib.Path(args.model)
    kmodel = load(model_path)                   # a bad kmodel: KModelError naming the file (exit 2)
    model = model_path.read_bytes()
    notes = list(kmodel.notes)
    if kmodel.byte_swapped:                     # the device gets (and QEMU preloads) the little-endian file
        from ..kmodel.container import swap_words
        model = swap_words(model)
    data = _input_bytes(args.input, kmodel)
    want, want_layers, src = _expected(model, kmodel, data)
    timeout = args.invoke_timeout if args.invoke_timeout is not None else invoke_timeout(macs(kmodel))
    t0 = time.monotonic()
    q = dev = None
    report = {"model": str(model_path), "input": ", ".join(map(str, args.input)), "invoke_timeout_seconds": round(timeout, 1)}
    if notes:
        report["notes"] = notes
    try:
        q, dev = _device(args, model, preload=not args.no_preload, input_data=data, invoke_timeout=timeout)
        preloaded = q is not None and not args.no_preload
        info = dev.hello()
        report.update(target=info.target, flags=info.flags)
        res = dev.load(model, preloaded=preloaded)
        t1 = time.monotonic()
        inv, outs = dev.run(data, preloaded_input=preloaded)
        report["invoke_seconds"] = round(time.monotonic() - t1, 3)
        t_rt = time.monotonic() - t0
        # one entry per expected output: a missing device output is a difference, never a pass
        identical = [i < len(outs) and outs[i] == w for i, w in enumerate(want)]
        report.update(counter=inv.counter, count=inv.count,
                      load_seconds=round(res.seconds, 3), transferred=res.transferred,
                      round_trip_seconds=round(t_rt, 3), arena_required=res.arena_required, compared_with=src,
                      outputs=len(outs), outputs_expected=len(want), outputs_identical=identical)
        if args.layers or not all(identical):
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
    except Exception as e:
        from ..errors import one_line
        report["error"] = one_line(e)           # the report keeps what was measured, and why it stopped
        raise
    finally:
        if dev is not None:
            link = dev.link_summary()
            if link:
                report["link"] = link
        if q is not None:
            q.close()
        elif dev is not None:
            dev.close()
        print(json.dumps(report, indent=2))
    if not (identical and all(identical)):
        from ..errors import MismatchError
        bad = [i for i, ok in enumerate(identical) if not ok]
        raise MismatchError(f"device outputs {bad} differ from the {src} (first diverging layer: "
                            f"{report.get('first_diverging_layer')})", file=model_path)
    return 0


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
        p.add_argument("--timeout", type=float, default=5.0, help="seconds to wait for a reply (default 5)")
        p.add_argument("--sync-timeout", type=float, default=10.0,
                       help="seconds to wait for the device to answer at all (default 10)")
        if name == "run":
            p.add_argument("model")
            p.add_argument("--input", required=True, nargs="+",
                           help="image, .npy tensor (as the first layer takes it) or raw bytes; a model with "
                                "several inputs takes one each, in input order")
            p.add_argument("--no-preload", action="store_true", help="send the model over the UART")
            p.add_argument("--layers", action="store_true", help="per-layer comparison even when outputs match")
            p.add_argument("--plugin", action="store_true", help="also count with the QEMU insn plugin")
            p.add_argument("--invoke-timeout", type=float, default=None,
                           help="seconds to wait for INVOKE (default: 10 + the model's MACs at 1 M MAC/s)")
    p = sub.add_parser("sizes")
    p.add_argument("targets", nargs="*", default=["qemu-m4", "qemu-m7", "qemu-rv64"])
    a = ap.parse_args(argv)
    return {"run": cmd_run, "hello": cmd_hello, "sizes": cmd_sizes}[a.cmd](a)


def cli(argv=None) -> int:
    """main() under the error policy (docs/errors.md): QEMU and firmware-build failures are
    device failures (exit 3) too."""
    from ..errors import EXIT_DEVICE, run_cli
    from .firmware import FirmwareError
    from .qemu import QemuError

    return run_cli(main, "python -m emc.hil", argv, codes={QemuError: EXIT_DEVICE, FirmwareError: EXIT_DEVICE})


if __name__ == "__main__":
    sys.exit(cli())
