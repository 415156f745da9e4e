"""`emc convert`: model file -> kmodel v3 (K210), with a conversion report."""
from __future__ import annotations

import sys


# options that only the k210 target uses, with their defaults (None in the parser, so that a given
# option can be told from a default one and refused for --target generic)
K210_OPTIONS = {"dataset": None, "dataset_func": "img_0_1", "quant": "minmax", "bits": 8, "resize": False,
                "eval": 100, "allow_patched": False, "dense_on_kpu": False, "equalize": "auto",
                "bias_correct": "auto"}


# of those, what --target generic uses when it quantizes a float model itself
GENERIC_FLOAT_OPTIONS = ("dataset", "dataset_func", "resize", "eval")


def _int8_tflite(path):
    """True for a readable int8/uint8 .tflite (imported as is); False otherwise (quantized by emc,
    or refused later with the file named)."""
    import os
    if not str(path).lower().endswith(".tflite") or not os.path.isfile(path):
        return False
    try:
        from .frontends.tflite_reader import is_quantized, read_tflite
        return is_quantized(read_tflite(path))
    except Exception:          # noqa: BLE001 - a malformed file is reported by the conversion itself
        return False


def _flag(dest):
    return {"dataset": "--dataset/-d", "quant": "--quant", "eval": "--eval"}.get(dest, "--" + dest.replace("_", "-"))


def check_convert_args(args):
    """Usage errors: two outputs, no output, options that do not apply to the target. Fills the defaults."""
    from .errors import UsageError
    if args.output and args.output_opt and args.output != args.output_opt:
        raise UsageError(f"two outputs given: {args.output} (positional) and -o {args.output_opt}; give one")
    args.output = args.output_opt or args.output
    if not args.output:
        raise UsageError("give the kmodel to write: emc convert MODEL -o OUT.kmodel")
    given = [d for d, default in K210_OPTIONS.items() if getattr(args, d) not in (None, False)]
    if args.target == "generic" and given:
        if _int8_tflite(args.model):
            raise UsageError(f"{', '.join(_flag(d) for d in given)} do(es) not apply to --target generic with an "
                             f"int8 .tflite (imported as is, without calibration or requantization)")
        given = [d for d in given if d not in GENERIC_FLOAT_OPTIONS]
        if given:
            raise UsageError(f"{', '.join(_flag(d) for d in given)} do(es) not apply to --target generic (a float "
                             f"model is quantized to TFLite int8 by the TFLite converter on --dataset)")
    if args.target != "generic" and args.fc_weights is not None:
        raise UsageError("--fc-weights applies to --target generic only")
    args.fc_weights = args.fc_weights or "int8"
    for d, default in K210_OPTIONS.items():
        if getattr(args, d) is None:
            setattr(args, d, default)


def cmd_convert(args):
    from .convert import save_kmodel
    check_convert_args(args)
    rep = save_kmodel(args.model, args.output, args.dataset, args.dataset_func, args.quant, args.bits, 3,
                      target=args.target, resize=args.resize, allow_patched=args.allow_patched,
                      eval_limit=args.eval, report=not args.no_report, dense_on_kpu=args.dense_on_kpu,
                      equalize=args.equalize, bias_correct=args.bias_correct,
                      progress=None if not args.quiet else False, fc_weights=args.fc_weights)
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
    p.add_argument("--dataset-func",
                   help="pixel -> input mapping for image folders: img_0_1, img_-1_1, img_0_255 (default img_0_1)")
    p.add_argument("--quant-func", "--quant", dest="quant", choices=["minmax", "kld", "percentile"],
                   help="activation range estimation (default minmax)")
    p.add_argument("--bits", type=int, choices=[8, 16], help="KPU weight bits (default 8)")
    p.add_argument("--target", default="k210", choices=["k210", "generic"],
                   help="k210 (KPU, default) or generic (int8 Cortex-M layers: an int8 .tflite as is, any "
                        "float model quantized to TFLite int8 on the dataset)")
    p.add_argument("--resize", action="store_true", help="resize calibration images to the model input")
    p.add_argument("--eval", type=int, metavar="N",
                   help="compare kmodel vs float model on the first N calibration inputs (0: skip)")
    p.add_argument("--allow-patched", action="store_true",
                   help="allow layer types the stock SDK kpu.c does not run: Maix-EMC's patched 6 and 21, and EMC "
                        "generic int8 CPU layers for convolutions the KPU cannot take and inputs narrower than 4")
    p.add_argument("--equalize", choices=["auto", "all", "off"],
                   help="cross-layer equalization before calibration: auto (conv pairs with a depthwise side, "
                        "default), all (every conv pair), off")
    p.add_argument("--bias-correct", choices=["auto", "on", "off"],
                   help="bias correction: each conv's bias absorbs the mean output shift its 8-bit weights cause on "
                        "the calibration data: auto (models with a depthwise conv, default), on, off")
    p.add_argument("--dense-on-kpu", action="store_true",
                   help="run dense layers on the KPU (1x1 conv on a 4x4 padded map) instead of f32 on the CPU")
    p.add_argument("--fc-weights", choices=["int8", "int16"],
                   help="generic target: store fully connected weights as int8 (default) or int16 (twice the "
                        "flash, fewer instructions per MAC on Cortex-M4/M7 DSP)")
    p.add_argument("--no-report", action="store_true", help="do not write <output>.report.txt")
    p.add_argument("--quiet", "-q", action="store_true")
    p.set_defaults(fn=cmd_convert)
    return p


if __name__ == "__main__":      # pragma: no cover
    from .cli import main
    sys.exit(main(["convert", *sys.argv[1:]]))
