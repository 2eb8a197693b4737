"""Model zoo export table: every kiln.model_zoo vision and text model through ONNX.

Per model (``export_row``): random weights (Xavier, seed 0), exported with ``export_onnx`` at
opsets 13 and 17 with a dynamic batch axis (and sequence axis for text), each file checked with
``onnx.checker.check_model(full_check=True)`` and run in onnxruntime at batch 1 and 3 against
kiln's own outputs (max |diff| / max |kiln output|); node count of the opset-17 file vs
onnx-simplifier's; file sizes fp32 / fp16 / int8 (``kiln.export.quantize``: static int8 for
vision, calibrated on 2 synthetic batches; dynamic int8 for text); top-1 agreement of int8 with
fp32 on a synthetic set. Inputs are small where the model allows (noted per row).

The quantization goals (``goal_rows``): ResNet-18, MobileNet 1.0 and MobileNetV2 1.0 at
224x224, static int8 vs fp32: size, onnxruntime latency at batch 1 and 32 (CPU provider, one
thread, median, variants interleaved call by call), top-1 agreement on 256 synthetic images
(drawn apart from the calibration batches); and the trained digits CNN of ``kiln demo`` on
its 397 held-out images.

Usage: ``python benchmarks/export_table.py [--models a,b] [--no-goals] [--goals-only]
[--no-write] [--cache rows.jsonl] [--doc-only]``; writes docs/export-table.md
(``--goals-only`` measures the goal rows alone, about 10 minutes, and replaces only that
section of the existing document). All 44 models take about
40-60 minutes on 2 busy shared cores (the 224/299-pixel DenseNets and Inception, the VGGs and
BERT-large dominate); ``--cache`` keeps each finished row so an interrupted run resumes.
"""
import argparse
import json
import os
import platform
import sys
import tempfile
import time

import kiln as kl
import numpy as np
import onnx
import onnxruntime as ort
from kiln import nd

DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                   "export-table.md")
OPSETS = (13, 17)
TEXT_VOCAB = 1000
# the smallest input each vision model takes: DenseNet's AvgPool(7) and SqueezeNet's
# AvgPool(13) heads need 224, Inception's AvgPool(8) 299, AlexNet's stride-4 stem 64; the rest
# pool globally
VISION_SIZE = {"alexnet": 64, "inceptionv3": 299, "squeezenet1.0": 224, "squeezenet1.1": 224,
               **{f"densenet{d}": 224 for d in (121, 161, 169, 201)}}


# ---- the cases: (net, input maker, input names, dynamic axes, note, top-1 output) ----------
class Case:
    """One model: ``inputs(batch, rng)`` gives numpy arrays for ``net``."""

    def __init__(self, name, net, inputs, names, axes, note, top1_output=0, static=True):
        self.name, self.net, self.inputs, self.names = name, net, inputs, names
        self.axes, self.note, self.top1_output, self.static = axes, note, top1_output, static


def _ids(rng, shape):
    return rng.integers(0, TEXT_VOCAB, shape).astype(np.int64)


def vision_case(name):
    from kiln.model_zoo import vision
    size = VISION_SIZE.get(name, 32)
    net = vision.get_model(name)

    def inputs(b, rng):
        return [rng.random((b, 3, size, size), dtype=np.float32)]
    return Case(name, net, inputs, ["data"], {"data": {0: "batch"}}, f"3x{size}x{size}")


def text_case(name):
    from kiln.model_zoo import text
    if "lstm" in name:
        net = text.get_model(name, vocab_size=TEXT_VOCAB)
        return Case(name, net, lambda b, rng: [_ids(rng, (8, b))], ["data"],
                    {"data": {0: "seq", 1: "batch"}}, f"8 tokens (TN), vocab {TEXT_VOCAB}",
                    static=False)
    if name.startswith("transformer"):
        net = text.get_model(name, src_vocab_size=TEXT_VOCAB, tgt_vocab_size=TEXT_VOCAB)

        def inputs(b, rng):
            return [_ids(rng, (b, 8)), _ids(rng, (b, 7)),
                    rng.integers(1, 9, b).astype(np.float32),
                    rng.integers(1, 8, b).astype(np.float32)]
        names = ["src", "tgt", "src_valid_length", "tgt_valid_length"]
        axes = {"src": {0: "batch", 1: "src_len"}, "tgt": {0: "batch", 1: "tgt_len"},
                "src_valid_length": {0: "batch"}, "tgt_valid_length": {0: "batch"}}
        return Case(name, net, inputs, names, axes, f"src 8 / tgt 7 tokens, vocab {TEXT_VOCAB}",
                    static=False)
    net = text.get_model(name, vocab_size=TEXT_VOCAB)

    def inputs(b, rng):
        return [_ids(rng, (b, 8)), rng.integers(0, 2, (b, 8)).astype(np.int64),
                rng.integers(1, 9, b).astype(np.float32),
                rng.integers(0, 8, (b, 2)).astype(np.float32)]
    names = ["tokens", "token_types", "valid_length", "masked_positions"]
    axes = {"tokens": {0: "batch", 1: "seq"}, "token_types": {0: "batch", 1: "seq"},
            "valid_length": {0: "batch"}, "masked_positions": {0: "batch"}}
    return Case(name, net, inputs, names, axes, f"8 tokens, 2 masked, vocab {TEXT_VOCAB}",
                top1_output=-1, static=False)   # agreement on the masked-LM logits


def all_names():
    from kiln.model_zoo import text, vision
    return [("vision", n) for n in vision._MODELS] + [("text", n) for n in text._MODELS]


def make_case(family, name):
    return vision_case(name) if family == "vision" else text_case(name)


# ---- running a case ------------------------------------------------------------------------
def _flat(out):
    if isinstance(out, (list, tuple)):
        return [a for o in out for a in _flat(o)]
    return [out.asnumpy()]


def _kiln(net, arrays):
    return _flat(net(*[nd.array(a, dtype=a.dtype) for a in arrays]))


def _session(path, threads=1):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads   # a shared 2-core machine: one thread is steadier
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def rel_diff(got, want):
    """max |got - want| / max |want| over all outputs (shapes must match)."""
    worst = 0.0
    for g, w in zip(got, want, strict=True):
        if g.shape != w.shape:
            return float("inf")
        scale = max(float(np.abs(w).max()), 1e-12)
        worst = max(worst, float(np.abs(g.astype(np.float64) - w).max()) / scale)
    return worst


def _agreement(ref, got):
    """Top-1 agreement along the last axis (classes, or vocabulary per token)."""
    return float((ref.argmax(-1) == got.argmax(-1)).mean())


def export_row(case, folder, opsets=OPSETS, quant=True, seed=0):
    """Export ``case`` and measure it; a dict of the table's cells."""
    import onnxsim
    kl.random.seed(seed)
    rng = np.random.default_rng(seed)
    net = case.net
    net.initialize(kl.init.Xavier())
    net.hybridize()
    feeds = {b: case.inputs(b, rng) for b in (1, 3)}
    want = {b: _kiln(net, x) for b, x in feeds.items()}
    row = {"model": case.name, "input": case.note, "parity": {}, "export_s": {}}
    paths = {}
    for opset in opsets:
        paths[opset] = os.path.join(folder, f"{case.name}-{opset}.onnx")
        t0 = time.perf_counter()
        net.export_onnx(paths[opset], *[nd.array(a, dtype=a.dtype) for a in feeds[1]],
                        opset=opset, dynamic_axes=case.axes, input_names=case.names,
                        verify=False)
        row["export_s"][opset] = time.perf_counter() - t0
        onnx.checker.check_model(paths[opset], full_check=True)   # raises if not clean
        sess = _session(paths[opset])
        row["parity"][opset] = max(rel_diff(sess.run(None, dict(zip(case.names, x))), want[b])
                                   for b, x in feeds.items())
    fp32 = paths[max(opsets)]
    model = onnx.load(fp32)
    row["nodes"] = len(model.graph.node)
    try:
        simp, ok = onnxsim.simplify(model)
        row["nodes_sim"] = len(simp.graph.node) if ok else None
    except Exception as e:   # onnxsim's own failure: reported, not hidden
        row["nodes_sim"] = f"failed ({type(e).__name__})"
    row["fp32_mb"] = os.path.getsize(fp32) / 1e6
    if quant:
        row.update(_quantized(case, fp32, folder, rng))
    return row


def _quantized(case, fp32, folder, rng):
    big = case.note.startswith("3x") and int(case.note.split("x")[-1]) >= 224
    n = 4 if big else 8   # 224/299 inputs: fewer samples keep the run within minutes
    calib = [dict(zip(case.names, case.inputs(n, rng))) for _ in range(2)]
    evals = [dict(zip(case.names, case.inputs(2 * n, rng))) for _ in range(2)]
    out = {}
    for mode in ("static" if case.static else "dynamic", "fp16"):
        dst = os.path.join(folder, f"{case.name}-{mode}.onnx")
        kl.export.quantize(fp32, dst, calib, mode=mode, eval_data=evals[:1], verbose=False)
        out[f"{'int8' if mode != 'fp16' else 'fp16'}_mb"] = os.path.getsize(dst) / 1e6
        if mode != "fp16":
            int8 = dst
    ref, q = _session(fp32), _session(int8)
    pick = case.top1_output
    out["int8_mode"] = "static" if case.static else "dynamic"
    out["top1"] = float(np.mean([_agreement(ref.run(None, f)[pick], q.run(None, f)[pick])
                                 for f in evals]))
    return out


# ---- the quantization goals -----------------------------------------------------------------
GOALS = {"resnet18_v1": "ResNet-18", "mobilenet1.0": "MobileNet 1.0",
         "mobilenetv2_1.0": "MobileNetV2 1.0"}


def latencies(paths, x, runs):
    """{variant: median ms} for input ``x``, variants interleaved call by call."""
    sessions = {k: _session(p) for k, p in paths.items()}
    times = {k: [] for k in paths}
    for s in sessions.values():
        s.run(None, {"data": x})   # warm-up
    for _ in range(runs):
        for k, s in sessions.items():
            t0 = time.perf_counter()
            s.run(None, {"data": x})
            times[k].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) * 1e3 for k, v in times.items()}


def _int8_pair(net, folder, stem, example, calib, evals):
    fp32, int8 = (os.path.join(folder, f"{stem}-{v}.onnx") for v in ("fp32", "int8"))
    net.export_onnx(fp32, nd.array(example), dynamic_axes={"data": {0: "batch"}})
    kl.export.quantize(fp32, int8, calib, mode="static", eval_data=evals[:1], verbose=False)
    return {"fp32": fp32, "int8": int8}


def _agree_on(paths, data, batch=32):
    ref, q = _session(paths["fp32"]), _session(paths["int8"])
    chunks = [data[i:i + batch] for i in range(0, len(data), batch)]
    return float(np.mean(np.concatenate([ref.run(None, {"data": c})[0].argmax(-1) ==
                                         q.run(None, {"data": c})[0].argmax(-1)
                                         for c in chunks])))


def goal_row(name, folder, runs=10, n_synthetic=256):
    """Static int8 vs fp32 of a zoo model at 224x224: sizes, latency, agreement."""
    from kiln.model_zoo import vision
    kl.random.seed(0)
    rng = np.random.default_rng(0)
    net = vision.get_model(name)
    net.initialize(kl.init.Xavier())
    net.hybridize()
    calib = [rng.random((4, 3, 224, 224), dtype=np.float32) for _ in range(4)]
    synth = rng.random((n_synthetic, 3, 224, 224), dtype=np.float32)
    paths = _int8_pair(net, folder, name, calib[0][:1], calib, [synth[:4]])
    row = {"model": GOALS.get(name, name), "input": "3x224x224 synthetic (uniform [0, 1))",
           "fp32_mb": os.path.getsize(paths["fp32"]) / 1e6,
           "int8_mb": os.path.getsize(paths["int8"]) / 1e6,
           "top1": _agree_on(paths, synth), "n": n_synthetic}
    row["lat"] = {b: latencies(paths, np.ascontiguousarray(synth[:b]),
                               runs if b == 1 else max(3, runs // 3)) for b in (1, 32)}
    return row


def digits_row(folder, runs=10):
    """The trained digits CNN of ``kiln demo``: agreement on its 397 held-out images."""
    import io

    from kiln import gluon
    from kiln.tools import demo
    kl.random.seed(0)
    x_train, y_train, x_test, _ = demo.load_digits(0)
    net = demo.build_net()
    net.initialize(kl.init.Xavier())
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(x_train, y_train), batch_size=64,
                                   shuffle=True)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.003})
    demo.train(net, gluon.loss.SoftmaxCrossEntropyLoss(), trainer, loader, 3, io.StringIO())
    net.hybridize()
    calib = [x_train[i * 64:(i + 1) * 64] for i in range(8)]
    paths = _int8_pair(net, folder, "digits", x_test[:1], calib, [x_test])
    row = {"model": "digits CNN (kiln demo, trained 3 epochs)", "goals": False,
           "input": f"1x8x8, {len(x_test)} held-out images",
           "fp32_mb": os.path.getsize(paths["fp32"]) / 1e6,
           "int8_mb": os.path.getsize(paths["int8"]) / 1e6,
           "top1": _agree_on(paths, x_test), "n": len(x_test)}
    row["lat"] = {b: latencies(paths, np.ascontiguousarray(x_test[:b]), runs) for b in (1, 32)}
    return row


# ---- the document ---------------------------------------------------------------------------
def _f(v, fmt):
    return v if isinstance(v, str) else ("" if v is None else format(v, fmt))


def zoo_table(rows):
    lines = ["| model | input | export s (op13 / op17) | full_check | ORT parity b1+b3 op13 | "
             "op17 | nodes | onnxsim nodes | fp32 MB | fp16 MB | int8 MB | int8 / fp32 | "
             "int8 top-1 vs fp32 |", "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|"
             "---:|---:|"]
    for r in rows:
        if "error" in r:
            why = r["error"] if r.get("skipped") else f"failed: {r['error']}"
            lines.append(f"| {r['model']} | {r.get('input', '')} | {why} |" + " |" * 10)
            continue
        t = " / ".join(_f(r["export_s"].get(o), ".1f") for o in OPSETS)
        par = [_f(r["parity"].get(o), ".1e") for o in OPSETS]
        q = r.get("int8_mb")
        lines.append(" | ".join([
            f"| {r['model']}", r["input"], t, "ok", *par, str(r["nodes"]),
            _f(r["nodes_sim"], "d"), f"{r['fp32_mb']:.1f}", _f(r.get("fp16_mb"), ".1f"),
            _f(q, ".1f") + (f" ({r['int8_mode']})" if q else ""),
            _f(q and r["fp32_mb"] / q, ".2f") + "x" if q else "",
            _f(r.get("top1"), ".1%")]) + " |")
    return lines


def _ms(v):
    return f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 100 else f"{v:.0f}"


def goal_table(rows):
    lines = ["| model | input | fp32 MB | int8 MB | smaller | b1 fp32 ms | b1 int8 ms | "
             "b1 speed-up | b32 fp32 ms | b32 int8 ms | b32 speed-up | top-1 agreement | "
             "goals (>=3.5x, >=1.5x, >=99%) |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"
             "---:|---:|---:|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['model']} | failed: {r['error']} |" + " |" * 11)
            continue
        small = r["fp32_mb"] / r["int8_mb"]
        sp = {b: r["lat"][b]["fp32"] / r["lat"][b]["int8"] for b in (1, 32)}
        met = [small >= 3.5, sp[1] >= 1.5 and sp[32] >= 1.5, r["top1"] >= 0.99]
        met = [m if r.get("goals", True) else None for m in met[:2]] + met[2:]
        lines.append(" | ".join([
            f"| {r['model']}", r["input"], f"{r['fp32_mb']:.2f}", f"{r['int8_mb']:.2f}",
            f"{small:.2f}x", _ms(r['lat'][1]['fp32']), _ms(r['lat'][1]['int8']),
            f"{sp[1]:.2f}x", _ms(r['lat'][32]['fp32']), _ms(r['lat'][32]['int8']),
            f"{sp[32]:.2f}x", f"{r['top1']:.1%} of {r['n']}",
            " / ".join({True: "yes", False: "no", None: "n/a"}[m] for m in met)]) + " |")
    return lines


GOAL_HEAD = "## Quantization goals: static int8 vs fp32"


def document(rows, goals, seconds):
    from importlib.metadata import version  # importing onnxsim would import torch
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    head = [
        "# Model zoo export table", "",
        f"Generated by `python benchmarks/export_table.py` on {time.strftime('%Y-%m-%d')} in "
        f"{seconds / 60:.1f} minutes; do not edit by hand.", "",
        f"- machine: {platform.platform()}, {os.cpu_count()} CPUs shared with other jobs "
        f"(1-minute load average {load:.1f} at the end): latencies are noisy, compare the "
        "ratios within a row",
        f"- Python {platform.python_version()}, numpy {np.__version__}, onnx {onnx.__version__}, "
        f"onnxruntime {ort.__version__}, onnxsim {version('onnxsim')}", "",
        "## Every model", "",
        "Random weights (Xavier, seed 0; no pretrained files here). Each model is exported "
        "with `export_onnx(..., opset=13 or 17, dynamic_axes=...)` (batch axis, and "
        "sequence axes for text), checked with `onnx.checker.check_model(full_check=True)` "
        "and run in onnxruntime at batch 1 and 3 against kiln's own outputs: the parity "
        "columns give max |diff| / max |kiln output| over both batches and every output. "
        "Node counts are of the opset-17 file, then after `onnxsim.simplify`. Sizes: fp32 "
        "file, `kiln.export.quantize` mode 'fp16', and int8 (mode 'static' for vision, "
        "calibrated on 2 synthetic batches; 'dynamic' for text). Top-1 agreement: int8 vs "
        "fp32 argmax over classes (vocabulary per token for the text models; BERT: its "
        "masked-LM logits) on 2 synthetic batches; on untrained networks and random inputs "
        "it measures numerical closeness only: logits of random weights are often near "
        f"ties. Text models use a vocabulary of {TEXT_VOCAB} (the embedding and output "
        "layers shrink; every other layer is the registry model's).", ""]
    goal = [
        "", GOAL_HEAD, "",
        "ResNet-18 and MobileNets at 224x224 (random weights, 1000 classes), calibrated on 4 "
        "synthetic batches of 4 (`kiln.export.quantize` defaults: per-channel weights, 7-bit "
        "except in depthwise convolutions, float outputs); latency is onnxruntime's CPU "
        "provider on one thread, median of the calls after a warm-up, fp32 and int8 "
        "interleaved call by call. Agreement: top-1 of int8 vs fp32 on 256 synthetic images "
        "that calibration did not see (untrained: a closeness measure) and, for "
        "the digits CNN, on the 397 held-out images of the demo's data set (trained 3 "
        "epochs, calibrated on 8 training batches of 64; the size and speed goals are for the "
        "zoo models only: at 8x8 the Quantize/Dequantize steps cost more than int8 saves).",
        ""]
    if rows is None:   # --goals-only: the goal section alone, with its own date
        goal[4:4] = ["", f"Measured with `--goals-only` on {time.strftime('%Y-%m-%d')} in "
                         f"{seconds / 60:.1f} minutes (1-minute load average {load:.1f} at "
                         "the end); the zoo table above is from its own run, with the "
                         "quantizer's defaults of that day."]
        return "\n".join(goal[1:] + goal_table(goals)) + "\n"
    return "\n".join(head + zoo_table(rows) + (goal + goal_table(goals) if goals else [])) + "\n"


def splice_goals(section, path=DOC):
    """The document at ``path`` with its goal section replaced by ``section``."""
    with open(path) as f:
        text = f.read()
    cut = text.find(GOAL_HEAD)
    return (text[:cut] if cut >= 0 else text.rstrip("\n") + "\n\n") + section


def _write(text, path=DOC):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)   # atomic


def _cached(path):
    """Rows already measured (one JSON object a line): a long run resumes where it stopped."""
    if not path or not os.path.exists(path):
        return {}
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return {r["key"]: r for r in rows}


def _keep(path, row):
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(row) + "\n")


def _measure(key, fn, cache, path):
    """``fn(tmp)`` once per key; its row (with int keys restored) from the cache or fresh."""
    if key not in cache:
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="kiln-export-table-") as tmp:
            try:
                row = fn(tmp)
            except Exception as e:   # one model's failure is a row of the table, not a crash
                row = {"model": key.split(":", 1)[1], "error": f"{type(e).__name__}: {e}"[:200]}
        row.update(key=key, seconds=time.perf_counter() - t0)
        _keep(path, row)
        cache[key] = json.loads(json.dumps(row))
        print(f"{key}: {row['seconds']:.0f} s", file=sys.stderr)
    row = dict(cache[key])
    for k in ("parity", "export_s", "lat"):   # JSON made the opset/batch keys strings
        if k in row:
            row[k] = {int(a): b for a, b in row[k].items()}
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", help="comma-separated registry names (default: all)")
    parser.add_argument("--no-goals", action="store_true")
    parser.add_argument("--goals-only", action="store_true",
                        help="measure the goal rows only; replace that section of the doc")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--cache", help="JSON-lines file of measured rows: resume from it")
    parser.add_argument("--doc-only", action="store_true",
                        help="write the document from --cache without measuring more")
    args = parser.parse_args(argv)
    want = set(args.models.split(",")) if args.models else None
    start, cache = time.perf_counter(), _cached(args.cache)
    goals = []
    if not args.no_goals:   # first: the rows the quantization goals are judged on
        for name in [*GOALS, "digits"]:
            key = f"goal:{name}"
            if args.doc_only and key not in cache:
                continue
            fn = (lambda tmp: digits_row(tmp, args.runs)) if name == "digits" else \
                (lambda tmp, n=name: goal_row(n, tmp, args.runs))
            goals.append(_measure(key, fn, cache, args.cache))
    if args.goals_only:
        seconds = sum(r.get("seconds", 0) for r in goals) or time.perf_counter() - start
        text = splice_goals(document(None, goals, seconds))
        print(text)
        if not args.no_write:
            _write(text)
        return
    rows = []
    # text first, the largest last: a run cut short still covers most families
    names = sorted(all_names(), key=lambda fn: ("24_1024" in fn[1], fn[0] == "vision"))
    for family, name in names:
        key = f"{family}:{name}"
        if want is not None and name not in want:
            continue
        if args.doc_only and key not in cache:
            rows.append({"model": name, "skipped": True,
                         "error": "not measured in this run (time budget): rerun with --cache"})
            continue
        rows.append(_measure(key, lambda tmp, f=family, n=name: export_row(make_case(f, n), tmp),
                             cache, args.cache))
    order = {n: i for i, (_, n) in enumerate(all_names())}
    rows.sort(key=lambda r: order.get(r["model"], len(order)))
    seconds = sum(r.get("seconds", 0) for r in [*rows, *goals]) or time.perf_counter() - start
    text = document(rows, goals, seconds)
    print(text)
    if not args.no_write:
        _write(text)


if __name__ == "__main__":
    main()
