"""`emc convert`: model file -> kmodel v3 (K210), with a conversion report."""
from __future__ import annotations

import sys


def cmd_convert(args):
    from .convert import save_kmodel
    args.output = args.output_opt or args.output
    if not args.output:
        raise SystemExit("emc convert: give the kmodel to write: -o OUT.kmodel")
    rep = save_kmodel(args.model, args.output, args.dataset, args.dataset_func, args.quant, args.bits, 3,
                      target=args.target, resize=args.resize, allow_patched=args.allow_patched,
                      eval_limit=args.eval, report=not args.no_report, dense_on_kpu=args.dense_on_kpu, progress=None if not args.quiet else False)
    if not args.quiet:
        print(rep.text())
    else:
        print(f"wrote {args.output} ({rep.file_size} bytes)")
    return 0


def add_convert_parser(subparsers):
    p = subparsers.add_parser("convert", help="convert a TensorLayer 2 .h5 / Keras .h5/.keras / .tflite model "
                                              "to a K210 kmodel v3")
    p.add_argument("model", help="model file (.h5 TensorLayer 2 or Keras, .keras, .tflite)")
    p.add_argument("output", nargs="?", help="kmodel file to write (or -o)")
    p.add_argument("-o", "--output", dest="output_opt", metavar="OUT.kmodel", help="kmodel file to write")
    p.add_argument("--dataset", "-d",
                   help="calibration data: a folder of images or a .npy array (N, H, W, C) (needed for k210)")
    p.add_argument("--dataset-func", default="img_0_1",
                   help="pixel -> input mapping for image folders: img_0_1, img_-1_1, img_0_255 (default img_0_1)")
    p.add_argument("--quant-func", "--quant", dest="quant", default="minmax", choices=["minmax", "kld", "percentile"],
                   help="activation range estimation (default minmax)")
    p.add_argument("--bits", type=int, default=8, choices=[8, 16], help="KPU weight bits (default 8)")
    p.add_argument("--target", default="k210", choices=["k210", "generic"],
                   help="k210 (KPU, default) or generic (int8 Cortex-M layers: an int8 .tflite as is, any "
                        "float model quantized to TFLite int8 on the dataset)")
    p.add_argument("--resize", action="store_true", help="resize calibration images to the model input")
    p.add_argument("--eval", type=int, default=100, metavar="N",
                   help="compare kmodel vs float model on the first N calibration inputs (0: skip)")
    p.add_argument("--allow-patched", action="store_true",
                   help="allow layer types only Maix-EMC's patched kpu.c runs (6, 21)")
    p.add_argument("--dense-on-kpu", action="store_true",
                   help="run dense layers on the KPU (1x1 conv on a 4x4 padded map) instead of f32 on the CPU")
    p.add_argument("--no-report", action="store_true", help="do not write <output>.report.txt")
    p.add_argument("--quiet", "-q", action="store_true")
    p.set_defaults(fn=cmd_convert)
    return p


if __name__ == "__main__":      # pragma: no cover
    import argparse
    ap = argparse.ArgumentParser(prog="emc")
    add_convert_parser(ap.add_subparsers(dest="cmd", required=True))
    a = ap.parse_args()
    sys.exit(a.fn(a))
