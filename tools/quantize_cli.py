"""``kiln quantize``: an ONNX file (or the digits demo CNN) -> int8 / fp16, with a report.

    kiln quantize MODEL.onnx --mode static --calib DIR      # DIR: one .npy batch per file
    kiln quantize MODEL.onnx --mode dynamic                  # no calibration needed
    kiln quantize MODEL.onnx --mode fp16 -o small.onnx
    kiln quantize --demo [--mode static]                     # train, export, quantize, report

Example::

    >>> from kiln.tools.cli import main
    >>> main(["quantize", "--demo", "--epochs", "1"])      # prints the progress and the report
    0
"""
import os
import sys
import tempfile

import numpy as np

from .demo import _Progress


class CalibProgress(_Progress):
    """``calibrate [========........]  8/22 batches``: demo's epoch bar, relabelled."""

    def __init__(self, stream, label="calibrate"):
        super().__init__(0, 0, 1, stream)
        self.head = label

    def line(self, done, loss=None):
        filled = self.width * done // max(self.total, 1)
        bar = "=" * filled + "." * (self.width - filled)
        return f"{self.head} [{bar}] {done:>3}/{self.total} batches"

    def __call__(self, done, total):
        self.total = total or done   # unknown length: the bar stays full
        self.update(done, None)
        if done == total:
            self.stream.write("\n")
            self.stream.flush()


class NpyBatches:
    """The ``.npy`` files of ``folder`` in name order, each one batch, loaded when iterated."""

    def __init__(self, folder):
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"calibration folder not found: {folder}")
        self.paths = sorted(os.path.join(folder, f) for f in os.listdir(folder)
                            if f.endswith(".npy"))
        if not self.paths:
            raise ValueError(f"no .npy files in {folder}: save one batch per file "
                             "(np.save('000.npy', batch))")

    def __len__(self):
        return len(self.paths)

    def __iter__(self):
        for p in self.paths:
            yield np.load(p, allow_pickle=False)


def default_out(model, mode):
    """``net.onnx`` -> ``net-int8.onnx`` (static, dynamic) or ``net-fp16.onnx``."""
    stem = model[:-5] if model.endswith(".onnx") else model
    return f"{stem}-{'int8' if mode in ('static', 'dynamic') else mode}.onnx"


def options(args):
    """The keyword arguments of ``kiln.export.quantize`` that the command line sets."""
    return dict(mode=args.mode, method=args.method, per_channel=not args.per_tensor,
                symmetric_activations=args.symmetric, activation_type=args.activation_type,
                reduce_range=not args.full_range)


def run(args, stream=None):
    """``kiln quantize``; returns the exit status."""
    from ..export import quantize
    stream = stream or sys.stdout
    if args.mode == "bf16":   # before --demo trains for nothing
        from ..export.quantize_fp16 import BF16_UNSUPPORTED
        raise ValueError(BF16_UNSUPPORTED)
    if args.demo:
        return run_demo(args, stream)
    if not args.model:
        raise ValueError("give MODEL.onnx, or --demo")
    calib = NpyBatches(args.calib) if args.calib else None
    if args.mode == "static" and calib is None:
        raise ValueError("--mode static needs --calib DIR (one .npy batch per file)")
    evaluation = NpyBatches(args.eval) if args.eval else None
    out = args.out or default_out(args.model, args.mode)
    quantize(args.model, out, calib, eval_data=evaluation, progress=CalibProgress(sys.stderr),
             stream=stream, **options(args))
    print(f"wrote {out}", file=stream)
    return 0


def run_demo(args, stream):
    """Train the digits CNN of ``kiln demo`` briefly, then export and quantize it."""
    import kiln as kl
    from kiln import gluon

    from ..export import quantize_block
    from . import demo
    kl.random.seed(args.seed)
    np.random.seed(args.seed)
    x_train, y_train, x_test, y_test = demo.load_digits(args.seed)
    net = demo.build_net()
    net.initialize(kl.init.Xavier())
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(x_train, y_train), batch_size=64,
                                   shuffle=True)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.003})
    demo.train(net, gluon.loss.SoftmaxCrossEntropyLoss(), trainer, loader, args.epochs, stream)
    out = args.out or os.path.join(tempfile.mkdtemp(prefix="kiln-quantize-"),
                                   default_out("digits.onnx", args.mode))
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fp32 = os.path.join(os.path.dirname(os.path.abspath(out)), "digits-fp32.onnx")
    calib = gluon.data.DataLoader(gluon.data.ArrayDataset(x_train, y_train), batch_size=64)
    test = gluon.data.DataLoader(gluon.data.ArrayDataset(x_test, y_test), batch_size=64)
    quantize_block(net, out, calibration=calib, eval_data=test, fp32_path=fp32,
                   progress=CalibProgress(sys.stderr), stream=stream, **options(args))
    print(f"wrote {fp32} (float32) and {out}", file=stream)
    return 0
