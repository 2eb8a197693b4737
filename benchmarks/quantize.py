"""Quantization: float32 vs static int8 vs dynamic int8 vs fp16 of kiln exports in onnxruntime.

* ResNet-18: ``model_zoo.vision.resnet18_v1(classes=1000)``, Xavier-initialized (untrained:
  no ImageNet here), uniform random 224x224 images; calibrated on 4 batches of 4.
* MLP 784-256-256-10 (W2 of benchmarks/models.py), untrained, normal random inputs;
  calibrated on 8 batches of 64.
* digits CNN of ``kiln demo`` (Conv-BN-ReLU-pool x2, Dense x2), trained 3 epochs; calibrated
  on 8 training batches of 64, compared on the 397 held-out images: the one row whose
  agreement is about real data.

Every variant is written by ``kiln.export.quantize`` with its defaults (static: QDQ, per-channel
7-bit weights (8-bit in depthwise convolutions), uint8 activations, minmax, float outputs).
Latency: onnxruntime's CPU provider on one thread, median of ``--runs`` calls after a warm-up,
the variants interleaved call by call so machine noise hits them alike. Agreement: top-1 of the
variant vs float32 on the evaluation inputs; |diff|: max absolute logit difference over max
|logit|.

Usage: ``python benchmarks/quantize.py [--no-write] [--runs N]`` (about 2 minutes on 2 cores).
"""
import argparse
import io
import os
import platform
import sys
import tempfile
import time

import kiln as kl
import numpy as np
import onnxruntime as ort
from kiln import gluon, nd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hybridize import write_section  # noqa: E402

SECTION = "## Quantization (benchmarks/quantize.py)"
MODES = ("static", "dynamic", "fp16")


def resnet18(rng):
    from kiln.model_zoo import vision
    net = vision.resnet18_v1(classes=1000)
    net.initialize(kl.init.Xavier())
    calib = [rng.rand(4, 3, 224, 224).astype(np.float32) for _ in range(4)]
    evals = [rng.rand(8, 3, 224, 224).astype(np.float32) for _ in range(2)]
    return net, calib, evals, (1, 8)


def mlp(rng):
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(256, activation="relu"), gluon.nn.Dense(256, activation="relu"),
            gluon.nn.Dense(10))
    net.initialize(kl.init.Xavier())
    calib = [rng.standard_normal((64, 784)).astype(np.float32) for _ in range(8)]
    evals = [rng.standard_normal((64, 784)).astype(np.float32) for _ in range(4)]
    return net, calib, evals, (1, 64)


def digits(rng):
    from kiln.tools import demo
    x_train, y_train, x_test, _ = demo.load_digits(0)
    net = demo.build_net()
    net.initialize(kl.init.Xavier())
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(x_train, y_train), batch_size=64,
                                   shuffle=True)
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.003})
    demo.train(net, gluon.loss.SoftmaxCrossEntropyLoss(), trainer, loader, 3, io.StringIO())
    calib = [x_train[i * 64:(i + 1) * 64] for i in range(8)]
    return net, calib, [x_test], (1, 64)


MODELS = {"ResNet-18": resnet18, "MLP 784-256-256-10": mlp, "digits CNN (trained)": digits}


def latencies(paths, x, runs):
    """{variant: median ms} for input ``x``, variants interleaved call by call."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1   # a shared 2-core machine: one thread is steadier
    sessions = {k: ort.InferenceSession(p, opts, providers=["CPUExecutionProvider"])
                for k, p in paths.items()}
    times = {k: [] for k in paths}
    for s in sessions.values():
        s.run(None, {"data": x})
    for _ in range(runs):
        for k, s in sessions.items():
            t0 = time.perf_counter()
            s.run(None, {"data": x})
            times[k].append(time.perf_counter() - t0)
    return {k: float(np.median(v)) * 1e3 for k, v in times.items()}


def run_model(name, build, folder, runs):
    kl.random.seed(0)
    rng = np.random.RandomState(0)
    net, calib, evals, batches = build(rng)
    fp32 = os.path.join(folder, "fp32.onnx")
    net.export_onnx(fp32, nd.array(calib[0]), dynamic_axes={"data": {0: "batch"}})
    paths, reports = {"fp32": fp32}, {}
    for mode in MODES:
        paths[mode] = os.path.join(folder, f"{mode}.onnx")
        t0 = time.perf_counter()
        reports[mode] = kl.export.quantize(fp32, paths[mode], calib, mode=mode,
                                           eval_data=evals, verbose=False)
        reports[mode].details["seconds"] = time.perf_counter() - t0
    x_all = np.concatenate(evals)
    lat = {b: latencies(paths, np.ascontiguousarray(x_all[:b]) if b <= len(x_all) else
                        np.resize(x_all, (b,) + x_all.shape[1:]), runs if b == 1 else
                        max(3, runs // 3)) for b in batches}
    rows = []
    for variant, path in paths.items():
        r = reports.get(variant)
        size = os.path.getsize(path) / 1e6
        rows.append(dict(model=name, variant=variant, size=size,
                         ratio=size / (os.path.getsize(fp32) / 1e6),
                         lat={b: lat[b][variant] for b in batches},
                         speed={b: lat[b]["fp32"] / lat[b][variant] for b in batches},
                         top1=r.top1_agreement if r else None,
                         diff=r.max_abs_diff if r else None,
                         secs=r.details["seconds"] if r else None))
    ref = ort.InferenceSession(fp32, providers=["CPUExecutionProvider"])
    scale = max(float(np.abs(ref.run(None, {"data": e})[0]).max()) for e in evals)
    for row in rows:
        row["rel"] = None if row["diff"] is None else row["diff"] / scale
    return rows, batches


def table(results, runs):
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [SECTION, "",
             "Each variant written by `kiln.export.quantize` with its defaults (static: QDQ, "
             "per-channel 7-bit weights (8-bit in depthwise convolutions), uint8 activations, "
             "minmax calibration, float outputs), run by "
             "onnxruntime's CPU provider on 1 thread; latency is the median of "
             "the calls after a warm-up, variants interleaved call by call. Agreement: top-1 "
             "of the variant vs float32 on the evaluation inputs.", "",
             f"- machine: {platform.platform()}, {os.cpu_count()} CPUs, 1-min load average "
             f"{load:.1f} at the end (the machine is shared: timings are noisy, compare "
             "ratios within a row group)",
             f"- onnxruntime {ort.__version__}, numpy {np.__version__}; {runs} calls per batch-1 "
             "latency, fewer for the larger batch", "",
             "| model | variant | size (MB) | vs fp32 | batch | latency (ms) | speed-up | "
             "batch | latency (ms) | speed-up | top-1 agreement | max abs diff / max abs "
             "logit | quantize + report (s) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for rows, batches in results:
        for r in rows:
            cells = [r["model"], r["variant"], f"{r['size']:.2f}", f"{r['ratio']:.2f}x"]
            for b in batches:
                cells += [str(b), f"{r['lat'][b]:.2f}", f"{r['speed'][b]:.2f}x"]
            cells += ["" if r["top1"] is None else f"{r['top1']:.1%}",
                      "" if r["rel"] is None else f"{r['rel']:.2e}",
                      "" if r["secs"] is None else f"{r['secs']:.1f}"]
            lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "ResNet-18 and the MLP are untrained (random weights and inputs): their "
              "agreement measures numerical closeness only; the digits CNN's is on real "
              "held-out images. fp16 runs in float32 on the CPU provider (it has no float16 "
              "Conv/Gemm kernels and inserts Casts), so it halves the file, not the time. "
              "Static int8 of the tiny digits CNN is slower than float32: at 8x8 the "
              "Quantize/Dequantize steps cost more than the int8 convolutions save."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="kiln-bench-quantize-") as tmp:
        for i, (name, build) in enumerate(MODELS.items()):
            folder = os.path.join(tmp, str(i))
            os.makedirs(folder)
            results.append(run_model(name, build, folder, args.runs))
            print(f"{name}: done", file=sys.stderr)
    text = table(results, args.runs)
    print(text)
    if not args.no_write:
        write_section(text, SECTION)


if __name__ == "__main__":
    main()
