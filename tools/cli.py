"""The ``kiln`` console script.

Subcommands::

    kiln demo [--epochs 5] [--out DIR]          train on digits, hybridize, export ONNX, serve it
    kiln export SYMBOL_JSON PARAMS --shape data:1,3,224,224 [--opset 17] [--out model.onnx]
    kiln export PREFIX --shape ...              PREFIX-symbol.json + PREFIX-0000.params
    kiln summary SYMBOL_JSON [--shape data:1,3,224,224]
    kiln quantize MODEL.onnx [-o OUT.onnx] --mode static|dynamic|fp16 [--calib DIR] | --demo
    kiln launch -n 2 [--threads 1] [--timeout S] python train.py ...   an MPI job (mpirun)
    kiln --version

Example::

    >>> from kiln.tools.cli import main
    >>> main(["summary", "net-symbol.json", "--shape", "data:1,3,32,32"])   # prints a table
    0
"""
import argparse
import os
import sys


def parse_shapes(specs):
    """``["data:1,3,224,224", ...]`` -> ``{"data": (1, 3, 224, 224)}``; a spec without a name
    ("1,3,224,224") gives a list of shapes in input order instead.

    Example: ``parse_shapes(["data:1,2"])`` is ``{"data": (1, 2)}``.
    """
    named, unnamed = {}, []
    for spec in specs or ():
        name, sep, dims = spec.rpartition(":")
        try:
            shape = tuple(int(d) for d in dims.replace("x", ",").split(",") if d.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad --shape {spec!r}: expected NAME:D1,D2,...") \
                from None
        if sep:
            named[name] = shape
        else:
            unnamed.append(shape)
    if named and unnamed:
        raise argparse.ArgumentTypeError("give every --shape a name, or none")
    return named or unnamed or None


def resolve_model(model, params=None, epoch=0):
    """(symbol_json, params_path, stem) from ``SYMBOL_JSON [PARAMS]`` or a saved-model prefix.

    A prefix ``net`` means ``net-symbol.json`` and ``net-0000.params`` (``epoch`` picks the
    number); ``net-symbol.json`` without PARAMS looks for ``net-0000.params`` beside it.
    """
    if model.endswith(".json"):
        stem = model[:-len("-symbol.json")] if model.endswith("-symbol.json") else model[:-5]
        symbol_json = model
    else:
        stem, symbol_json = model, f"{model}-symbol.json"
    if params is None:
        params = f"{stem}-{epoch:04d}.params"
    for path in (symbol_json, params):
        if not os.path.exists(path):
            raise FileNotFoundError(f"no such file: {path}")
    return symbol_json, params, stem


def cmd_demo(args):
    from .demo import run
    return run(epochs=args.epochs, batch_size=args.batch_size, out=args.out, steps=args.steps,
               seed=args.seed)


def cmd_export(args):
    from ..export.onnx import export_model
    symbol_json, params, stem = resolve_model(args.model, args.params, args.epoch)
    shapes = parse_shapes(args.shape)
    dynamic = {name: {0: "batch"} for name in shapes} \
        if args.dynamic_batch and isinstance(shapes, dict) else None
    out = args.out or f"{os.path.basename(stem)}.onnx"
    export_model(symbol_json, params, shapes, in_types=args.dtype, onnx_file_path=out,
                 opset=args.opset, dynamic_axes=dynamic, verify=not args.no_verify)
    print(f"wrote {out}")
    return 0


def cmd_summary(args):
    from .. import symbol
    from . import viz
    model = args.symbol
    if not model.endswith(".json") and os.path.exists(f"{model}-symbol.json"):
        model = f"{model}-symbol.json"
    shapes = parse_shapes(args.shape)
    if isinstance(shapes, list):   # unnamed: the symbol's first input
        shapes = {symbol.load(model).list_inputs()[0]: shapes[0]}
    print(viz.summary_table(symbol.load(model), shape=shapes))
    return 0


def cmd_quantize(args):
    from .quantize_cli import run
    return run(args)


def cmd_launch(args):
    from .launch import launch
    command = args.command_args[1:] if args.command_args[:1] == ["--"] else args.command_args
    return launch(args.n, command, threads=args.threads, timeout=args.timeout)


def _add_launch(sub):
    la = sub.add_parser("launch", help="run a command as an N-process MPI job (data-parallel "
                                       "training with kvstore 'dist_sync')")
    la.add_argument("-n", "--np", dest="n", type=int, required=True, help="number of ranks")
    la.add_argument("--threads", type=int, default=1, help="BLAS threads per rank (default 1)")
    la.add_argument("--timeout", type=float, default=None, help="stop the job after S seconds")
    la.add_argument("command_args", nargs=argparse.REMAINDER, metavar="COMMAND ...")
    la.set_defaults(func=cmd_launch)


def _add_quantize(sub):
    q = sub.add_parser("quantize", help="ONNX model -> int8 (static/dynamic) or fp16, with an "
                                        "accuracy report")
    q.add_argument("model", nargs="?", help="the float32 .onnx file (not with --demo)")
    q.add_argument("-o", "--out", help="output .onnx (default MODEL-int8.onnx / MODEL-fp16.onnx)")
    q.add_argument("--mode", default="static", choices=("static", "dynamic", "fp16", "bf16"))
    src = q.add_mutually_exclusive_group()
    src.add_argument("--calib", metavar="DIR", help="calibration batches: one .npy per batch")
    src.add_argument("--demo", action="store_true",
                     help="train the digits CNN of `kiln demo`, export and quantize it")
    q.add_argument("--eval", metavar="DIR", help="held-out .npy batches for the report "
                                                 "(default: the calibration batches)")
    q.add_argument("--method", default="minmax", choices=("minmax", "entropy", "percentile"))
    q.add_argument("--per-tensor", action="store_true", help="per-tensor weight scales")
    q.add_argument("--symmetric", action="store_true", help="symmetric activation ranges")
    q.add_argument("--activation-type", default="uint8", choices=("int8", "uint8"))
    q.add_argument("--full-range", action="store_true",
                   help="8-bit weights (for VNNI/ARM CPUs; default 7-bit, see the guide)")
    q.add_argument("--epochs", type=int, default=2, help="--demo training epochs (default 2)")
    q.add_argument("--seed", type=int, default=0)
    q.set_defaults(func=cmd_quantize)


def build_parser():
    from .. import __version__
    p = argparse.ArgumentParser(prog="kiln", description="kiln: Gluon-style deep learning.")
    p.add_argument("--version", action="version", version=f"kiln {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    d = sub.add_parser("demo", help="train a CNN on 8x8 digits, hybridize, export and serve ONNX")
    d.add_argument("--epochs", type=int, default=5, help="training epochs (default 5)")
    d.add_argument("--batch-size", type=int, default=64)
    d.add_argument("--steps", type=int, default=10, help="timed training steps per mode")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--out", help="directory for the exported files (default: a new temp dir)")
    d.set_defaults(func=cmd_demo)

    e = sub.add_parser("export", help="symbol JSON + params (or a saved-model prefix) -> ONNX")
    e.add_argument("model", help="SYMBOL_JSON, or PREFIX of PREFIX-symbol.json")
    e.add_argument("params", nargs="?", help="PARAMS file (default PREFIX-%%04d.params)")
    e.add_argument("--shape", action="append", required=True,
                   help="input shape NAME:D1,D2,... (repeat for several inputs)")
    e.add_argument("--dtype", default="float32", help="input dtype (default float32)")
    e.add_argument("--opset", type=int, default=None, help="ONNX opset (default 17)")
    e.add_argument("--epoch", type=int, default=0, help="params epoch for a PREFIX (default 0)")
    e.add_argument("--dynamic-batch", action="store_true", help="make axis 0 symbolic")
    e.add_argument("--no-verify", action="store_true", help="skip the onnxruntime check")
    e.add_argument("--out", help="output .onnx path (default PREFIX.onnx)")
    e.set_defaults(func=cmd_export)

    s = sub.add_parser("summary", help="print a layer table of a symbol JSON file")
    s.add_argument("symbol", help="SYMBOL_JSON (or a saved-model PREFIX)")
    s.add_argument("--shape", action="append", help="input shape NAME:D1,D2,...")
    s.set_defaults(func=cmd_summary)
    _add_quantize(sub)
    _add_launch(sub)
    return p


def main(argv=None):
    """Entry point of the ``kiln`` console script; returns the exit status."""
    from ..base import MXNetError
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except argparse.ArgumentTypeError as e:
        parser.error(str(e))
    except (MXNetError, OSError, ValueError, KeyError) as e:   # ExportError is an MXNetError
        print(f"kiln {args.command}: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
