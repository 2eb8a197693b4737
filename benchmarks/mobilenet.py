"""MobileNet 1.0 and MobileNetV2 1.0 inference: kiln's numpy backend against onnxruntime.

kiln hybridized (numpy executor) against onnxruntime standalone on kiln's own ONNX export of
the same network, one thread each (``OPENBLAS_NUM_THREADS=1``, ``intra_op_num_threads=1``),
224x224 float32, batch 1 and 32 (``KILN_THREADS=1``: no kiln worker threads either). Every
round calls each variant once, in turn, and the ratio is taken per round, on wall time and on
the process's CPU time (``time.process_time``): on the shared machine a loaded round stretches
wall time unevenly (kiln's ~500 numpy calls are preempted more often than onnxruntime's one),
while CPU time counts only the work. Variants: kiln with the channels-last paths
(``ndarray/ops/_conv_layout.py``) on and off.

    python benchmarks/mobilenet.py [--rounds-1 9] [--rounds-32 3] [--write]
    python benchmarks/mobilenet.py --layers mobilenetv2_1.0 --batch 1   # per-layer times

``--write`` replaces the table of the "MobileNets" section of docs/benchmarks.md.
"""
import argparse
import os
import platform
import re
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("KILN_THREADS", "1")  # kiln's own worker threads: one thread, as ORT's

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _conv_models as models  # noqa: E402

MODELS = [("MobileNet 1.0", "mobilenet1.0"), ("MobileNetV2 1.0", "mobilenetv2_1.0")]
TITLE = "## MobileNets, numpy backend vs onnxruntime (benchmarks/mobilenet.py)"
DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "benchmarks.md")


def _layout(on):
    from kiln.ndarray.ops import _conv_layout
    _conv_layout.ENABLED = on


def measure(name, batch, rounds):
    """Per round: (kiln on, kiln off, onnxruntime) wall seconds, then the same in CPU
    seconds, called in turn."""
    shape = (batch, 3, 224, 224)
    kiln = models.kiln_infer(name, shape)
    ort = models.ort_infer(name, shape, 1)
    ref = None
    for on in (True, False):  # warm both, and check they agree
        _layout(on)
        out = kiln()
        ref = out if ref is None else ref
        np.testing.assert_allclose(out, ref, rtol=1e-3, atol=1e-4)
    ort()
    res = []
    for _ in range(rounds):
        row = []
        for fn, on in ((kiln, True), (kiln, False), (ort, None)):
            if on is not None:
                _layout(on)
            t, c = time.perf_counter(), time.process_time()
            fn()
            row += [time.perf_counter() - t, time.process_time() - c]
        res.append(row[0::2] + row[1::2])
    _layout(True)
    return np.array(res)


def _load():
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def run(rounds1, rounds32):
    rows = []
    for label, name in MODELS:
        for batch, rounds in ((1, rounds1), (32, rounds32)):
            if rounds < 1:
                continue
            before = _load()
            t = measure(name, batch, rounds)
            on, cpu_on, cpu_off = t[:, 0] / t[:, 2], t[:, 3] / t[:, 5], t[:, 4] / t[:, 5]
            rows.append((label, batch, rounds, np.median(t, axis=0) * 1e3, np.median(on),
                         on.min(), on.max(), (np.median(cpu_on), cpu_on.min(), cpu_on.max()),
                         np.median(cpu_off), (before, _load())))
            print(_row(rows[-1]), flush=True)
    return rows


def _row(r):
    label, batch, rounds, ms, on, lo, hi, cpu, off, load = r
    verdict = "met" if max(on, cpu[0]) <= 2 else "MISS"
    return (f"| {label}, {batch} | {rounds} | {ms[0]:.1f} | {ms[2]:.1f} | "
            f"{on:.2f}x ({lo:.2f}-{hi:.2f}) | {cpu[0]:.2f}x ({cpu[1]:.2f}-{cpu[2]:.2f}) | "
            f"{off:.2f}x | {verdict} | {load[0]:.1f}-{load[1]:.1f} |")


def section(rows):
    import onnxruntime
    lines = [TITLE, "", f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared); "
             f"Python {platform.python_version()}, numpy {np.__version__} "
             f"(OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}), onnxruntime "
             f"{onnxruntime.__version__} (intra_op_num_threads=1). kiln hybridized (numpy "
             "executor) against onnxruntime standalone on kiln's own ONNX export, 224x224 "
             "float32, KILN_THREADS=1, called in turn in one process; ratio per round, median "
             "(min-max), on wall time and on CPU time (process_time). \"layout off\": the "
             "same kiln with the channels-last paths turned off (`_conv_layout.ENABLED = "
             "False`), CPU-time ratio. Goal (issue 13): kiln <= 2x onnxruntime (met when both "
             "ratios are).", "",
             "| model, batch | rounds | kiln ms | onnxruntime ms | kiln / onnxruntime, wall | "
             "kiln / onnxruntime, CPU | layout off / onnxruntime, CPU | goal | 1-min load |",
             "|---|---:|---:|---:|---:|---:|---:|---|---|"]
    return "\n".join(lines + [_row(r) for r in rows]) + "\n"


def write(text, history):
    """Replace the section's header and table with ``text``; keep what follows the table (the
    notes and the history), adding ``history`` as a new history line."""
    with open(DOC) as f:
        doc = f.read()
    pat = re.compile(re.escape(TITLE) + r"\n.*?(?=\n## |\Z)", re.S)
    old = pat.search(doc)
    rest = "\nHistory:\n"
    if old:
        lines = old.group(0).split("\n")
        last = max(i for i, line in enumerate(lines) if line.startswith("|"))
        rest = "\n".join(lines[last + 1:])
    rest = rest.strip("\n") + (f"\n- {history}" if history else "")
    new = text.rstrip("\n") + "\n\n" + rest + "\n"
    doc = pat.sub(lambda _: new.rstrip("\n") + "\n", doc) if old else \
        doc.rstrip("\n") + "\n\n" + new
    with open(DOC, "w") as f:
        f.write(doc)


def layers(name, batch, rounds):
    from _mobilenet_layers import profile
    rows, (on, off) = profile(models.kiln_infer(name, (batch, 3, 224, 224)), rounds)
    print(f"{name}, batch {batch}, {rounds} rounds, load {_load():.1f}: whole call {on:.1f} ms "
          f"CPU with the channels-last paths, {off:.1f} ms without")
    for kind, shape, f, t_on, t_off in rows:
        print(f"  {kind:16s} {str(shape):16s} -> {f:4d}: {t_on:8.2f} ms on {t_off:8.2f} ms off "
              f"({t_off / max(t_on, 1e-9):.2f}x)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds-1", type=int, default=9)
    ap.add_argument("--rounds-32", type=int, default=3)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--history", default="", help="history line for --write")
    ap.add_argument("--layers", metavar="MODEL", help="per-layer times of one model instead")
    ap.add_argument("--batch", type=int, default=1)
    args = ap.parse_args()
    if args.layers:
        return layers(args.layers, args.batch, args.rounds_1 if args.batch == 1 else
                      args.rounds_32)
    rows = run(args.rounds_1, args.rounds_32)
    text = section(rows)
    print(text)
    if args.write:
        write(text, args.history)


if __name__ == "__main__":
    main()
