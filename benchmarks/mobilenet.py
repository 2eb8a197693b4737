"""MobileNet 1.0 and MobileNetV2 1.0 inference: kiln's numpy backend against onnxruntime.

kiln hybridized (numpy executor) against onnxruntime standalone on kiln's own ONNX export of
the same network, one thread each (``OPENBLAS_NUM_THREADS=1``, ``intra_op_num_threads=1``),
224x224 float32, batch 1 and 32. Every round calls each variant once, in turn, and the ratio
is taken per round (the machine is shared: absolute times drift, ratios within a round less
so). Variants: kiln with the channels-last paths (``ndarray/ops/_conv_layout.py``) on and off.

    python benchmarks/mobilenet.py [--rounds-1 9] [--rounds-32 3] [--write]

``--write`` replaces the "MobileNets" section of docs/benchmarks.md.
"""
import argparse
import os
import platform
import re
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

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
    """Per round: (kiln on, kiln off, onnxruntime) seconds, called in turn."""
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
            t = time.perf_counter()
            fn()
            row.append(time.perf_counter() - t)
        res.append(row)
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
            on, off = t[:, 0] / t[:, 2], t[:, 1] / t[:, 2]
            rows.append((label, batch, rounds, np.median(t, axis=0) * 1e3, np.median(on),
                         on.min(), on.max(), np.median(off), (before, _load())))
            print(_row(rows[-1]), flush=True)
    return rows


def _row(r):
    label, batch, rounds, ms, on, lo, hi, off, load = r
    verdict = "met" if on <= 2 else "MISS"
    return (f"| {label}, {batch} | {rounds} | {ms[0]:.1f} | {ms[1]:.1f} | {ms[2]:.1f} | "
            f"{on:.2f}x ({lo:.2f}-{hi:.2f}) | {off:.2f}x | {verdict} | "
            f"{load[0]:.1f}-{load[1]:.1f} |")


def section(rows):
    import onnxruntime
    lines = [TITLE, "", f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared); "
             f"Python {platform.python_version()}, numpy {np.__version__} "
             f"(OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}), onnxruntime "
             f"{onnxruntime.__version__} (intra_op_num_threads=1). kiln hybridized (numpy "
             "executor) against onnxruntime standalone on kiln's own ONNX export, 224x224 "
             "float32, called in turn in one process; ratio per round, median (min-max). "
             "\"layout off\" is the same kiln with the channels-last paths turned off "
             "(`_conv_layout.ENABLED = False`). Goal (issue 13): kiln <= 2x onnxruntime.", "",
             "| model, batch | rounds | kiln ms | kiln, layout off ms | onnxruntime ms | "
             "kiln / onnxruntime | layout off / onnxruntime | goal | 1-min load |",
             "|---|---:|---:|---:|---:|---:|---:|---|---|"]
    return "\n".join(lines + [_row(r) for r in rows]) + "\n"


def write(text, history):
    with open(DOC) as f:
        doc = f.read()
    pat = re.compile(re.escape(TITLE) + r"\n.*?(?=\n## |\Z)", re.S)
    old = pat.search(doc)
    hist = ""
    if old and "History:" in old.group(0):
        hist = old.group(0)[old.group(0).index("History:"):].rstrip() + "\n"
    hist = (hist or "History:\n") + history + "\n"
    new = text + "\n" + hist
    doc = pat.sub(lambda _: new.rstrip("\n"), doc) if old else doc.rstrip("\n") + "\n\n" + new
    with open(DOC, "w") as f:
        f.write(doc)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds-1", type=int, default=9)
    ap.add_argument("--rounds-32", type=int, default=3)
    ap.add_argument("--write", action="store_true")
    ap.add_argument("--history", default="", help="history line for --write")
    args = ap.parse_args()
    rows = run(args.rounds_1, args.rounds_32)
    text = section(rows)
    print(text)
    if args.write:
        write(text, args.history)


if __name__ == "__main__":
    main()
