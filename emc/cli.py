"""`emc` command line: info, run (and convert, hil where those parts are installed)."""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from .errors import EXIT_MISMATCH, InputError, UsageError, run_cli
from .kmodel import load


def _fmt_bytes(n):
    return f"{n:,} B" if n < 10 * 1024 else f"{n / 1024:,.1f} KiB"


def cmd_info(args):
    from .kmodel import kpu
    m = load(args.model)
    size = os.path.getsize(args.model)
    params = 0
    rows_lo, rows_hi = kpu.ROW * 0 + 32768, 0
    print(f"{args.model}: kmodel v3, {size:,} bytes, {len(m.layers)} layers")
    print(f"  flags: 0x{m.flags:x} ({'8-bit' if m.eight_bit else '16-bit'} KPU weights)   "
          f"max_start_address: {m.max_start_address}   main_mem_usage: {_fmt_bytes(m.main_mem_usage)}")
    specs = m.input_specs()
    for i, (dtype, shape) in enumerate(specs):
        print(f"  input{f' {i}' if len(specs) > 1 else ''}: {dtype} {shape}")
    for note in m.notes:
        print(f"  note: {note}")
    for i, ((addr, osize), dt) in enumerate(zip(m.outputs, m.output_dtypes())):
        print(f"  output {i}: main[{addr}:{addr + osize}] {dt}, {osize} bytes")
    print(f"  {'#':>3} {'type':<34} {'body':>9}  details")
    for layer in m.layers:
        for r in layer.reads() + layer.writes():
            if r.mem == "kpu" and r.size:
                rows_lo = min(rows_lo, r.start // kpu.ROW)
                rows_hi = max(rows_hi, (r.end + kpu.ROW - 1) // kpu.ROW)
        params += layer.parameter_bytes()
        sdk = "" if layer.SDK_RUNS else "  [not in stock SDK kpu.c]"
        print(f"  {layer.index:>3} {layer.NAME + f'({layer.TYPE})':<34} {layer.body_size:>9}  {layer.describe()}{sdk}")
    if rows_hi:
        print(f"  KPU RAM: rows {rows_lo}..{rows_hi} ({_fmt_bytes((rows_hi - rows_lo) * kpu.ROW)})")
    else:
        print("  KPU RAM: unused")
    print(f"  parameters: {_fmt_bytes(params)}")
    from .kmodel.arena import arena_bytes
    print(f"  runtime_c arena: {arena_bytes(m):,} B (software KPU), {arena_bytes(m, hardware_kpu=True):,} B "
          f"(K210 hardware KPU)")
    return 0


def _run_c_runtime(path, x):
    """The same inference on the C runtime (host build of runtime_c, compiled on first use)."""
    from .native import NativeError, NativeModel
    with open(path, "rb") as f:
        data = f.read()
    try:
        return NativeModel(data).run(x)
    except NativeError as e:            # the C loader's verdict on the file: bad input, not a bug
        raise InputError(f"the C runtime refuses it: {e}", file=path) from e


def _shape_arg(text):
    try:
        dims = tuple(int(v) for v in text.split(","))
    except ValueError:
        dims = ()
    if not dims or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a shape such as 640,4")
    return dims


def _shaped(outs, shapes):
    """The flat outputs (a kmodel v3 records no shapes) in the shapes the user gave, one per output in order."""
    if len(shapes) > len(outs):
        raise UsageError(f"{len(shapes)} --shape options for a model with {len(outs)} output(s)")
    for i, dims in enumerate(shapes):
        if int(np.prod(dims)) != outs[i].size:
            raise UsageError(f"--shape {','.join(map(str, dims))}: output {i} has {outs[i].size} values")
        outs[i] = outs[i].reshape(dims)
    return outs


def cmd_run(args):
    from .outputs import atomic_open, refuse_overwrite
    from .reference import run
    from .run_input import load_run_inputs
    m = load(args.model)
    # numpy's names: np.save adds .npy, np.savez (several outputs) .npz
    ext = ".npz" if len(m.outputs) > 1 else ".npy"
    out_path = args.out if args.out is None or args.out.endswith(ext) else args.out + ext
    refuse_overwrite(out_path, [args.model, *args.input], "--out")
    x = load_run_inputs(args.input, m, args.input_func, resize=args.resize)
    dump = {} if args.dump else None
    if args.runtime == "c":
        if args.dump or args.fused_fp:
            raise UsageError("--dump and --fused-fp apply to --runtime reference only")
        outs = _run_c_runtime(args.model, x)
    else:
        outs = run(m, x, dump=dump, fused_fp=args.fused_fp)
    if args.runtime == "both":
        c_outs = _run_c_runtime(args.model, x)
        same = len(c_outs) == len(outs) and all(
            a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes() for a, b in zip(c_outs, outs))
        print(f"C runtime vs PC reference: {'byte-identical' if same else 'DIFFERENT'} "
              f"({len(outs)} output{'s' * (len(outs) != 1)})")
        if not same:
            return EXIT_MISMATCH
    outs = _shaped(outs, args.shape or [])
    np.set_printoptions(precision=6, suppress=True, linewidth=120, threshold=64)
    for i, o in enumerate(outs):
        extra = f"  argmax {int(np.argmax(o))}" if o.size > 1 else ""
        print(f"output {i}: {o.dtype} {o.shape}{extra}")
        print(o)
    if args.out:
        out = [o.astype(np.float32) for o in outs]
        with atomic_open(out_path) as f:
            if len(out) == 1:
                np.save(f, out[0])
            else:
                np.savez(f, *out)
        print(f"saved {out_path}")
    if dump is not None:
        os.makedirs(args.dump, exist_ok=True)
        for name, a in dump.items():
            p = os.path.join(args.dump, name + ".npy")
            refuse_overwrite(p, [args.model, *args.input], "--dump file")
            with atomic_open(p) as f:
                np.save(f, a)
        print(f"dumped {len(dump)} layer tensors to {args.dump}")
    return 0


def build_parser():
    p = argparse.ArgumentParser(prog="emc", description="Embedded/Edge Model Convertor: kmodel v3 for K210 and MCUs",
                                epilog="--debug (anywhere): print the traceback of a failure. Exit codes: 0 ok, "
                                       "1 verdict failed, 2 bad input or usage, 3 device/link, 130 interrupted "
                                       "(docs/errors.md)")
    sub = p.add_subparsers(dest="cmd", required=True)
    pi = sub.add_parser("info", help="show what is in a kmodel")
    pi.add_argument("model")
    pi.set_defaults(fn=cmd_info)
    pr = sub.add_parser("run", help="run a kmodel on the PC reference (bit-exact with the device)")
    pr.add_argument("model")
    pr.add_argument("input", nargs="+", help="an image, or a .npy holding the input tensor as layer 0 takes it; "
                                             "a model with several inputs takes one file each, in input order")
    pr.add_argument("--input-func", help="pixel mapping for float image inputs: img_0_1 (default), img_-1_1, "
                                         "img_0_255")
    pr.add_argument("--resize", action="store_true",
                    help="resize an image of another size to the model input (otherwise an error)")
    pr.add_argument("--out", help="save outputs (.npy for one, .npz for several)")
    pr.add_argument("--dump", metavar="DIR", help="write every layer's output tensor as .npy")
    pr.add_argument("--fused-fp", action="store_true",
                    help="float multiply-add with one rounding, as the GCC-built K210 SDK runtime computes")
    pr.add_argument("--runtime", choices=("reference", "c", "both"), default="reference",
                    help="the numpy reference, the C runtime built for this PC, or both compared byte for byte")
    pr.add_argument("--shape", action="append", type=_shape_arg, metavar="D0,D1,...",
                    help="print and save output i (the i-th --shape) in this shape: kmodel outputs are flat "
                         "(the conversion report gives each output's, e.g. 640,4 for a detection head)")
    pr.set_defaults(fn=cmd_run)
    for mod in ("cli_convert", "hil.cli", "export_c"):      # parts that add their own subcommands
        try:
            plug = __import__(f"emc.{mod}", fromlist=["add_parser"])
        except ImportError:
            continue
        for name in ("add_convert_parser", "add_parser"):
            if hasattr(plug, name):
                getattr(plug, name)(sub)
                break
    return p


def _main(argv):
    args = build_parser().parse_args(argv)
    return args.fn(args)


def main(argv=None):
    """The `emc` command: exit codes and messages as docs/errors.md says (--debug: tracebacks)."""
    return run_cli(_main, "emc", argv)


if __name__ == "__main__":
    sys.exit(main())
