"""Executors side by side: kiln's numpy executor, ``hybridize(backend='onnxruntime')`` and
onnxruntime standalone on kiln's own ONNX export.

* W2: MLP 784-256-256-10, batch 64: inference, and a training step (softmax cross-entropy, SGD
  lr 0.1 through ``gluon.Trainer``).
* W3: ResNet-18 v1 (1000 classes) at 32x3x32x32: inference, and a training step (SGD momentum
  0.9).

Standalone onnxruntime runs the file ``export_onnx`` writes (BatchNorm folded, weights as
initializers) with the backend's session options (onnxruntime's defaults except that idle
workers do not spin, see export/ort_executor.py); it has no training step. Each round calls
every variant once, in turn, so that the shared machine's load hits all alike; the table
gives per-call medians and the backend's ratios, computed within the run. First call: trace,
compile and (for the backend) session build, in a fresh block.

``--mobilenet``: MobileNet 1.0 and MobileNetV2 1.0 at 224x224, batch 1 and 32, inference only:
the backend against standalone onnxruntime on kiln's export, interleaved call by call in one
process with the same session options (issue 13's goal: backend <= 1.05x standalone); its own
section of docs/benchmarks.md.

Usage: ``python benchmarks/backends.py [--no-write] [--calls N] [--mobilenet]``.
"""
import argparse
import os
import platform
import sys
import tempfile
import time

import kiln as kl
import numpy as np
import onnxruntime as ort
from kiln import autograd, gluon, nd
from kiln.gluon.model_zoo import vision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hybridize import write_section  # noqa: E402

SECTION = "## Executors: numpy vs onnxruntime (benchmarks/backends.py)"
MOBILE_SECTION = "## MobileNets on the onnxruntime backend (benchmarks/backends.py --mobilenet)"
MOBILENETS = [("MobileNet 1.0", "mobilenet1.0"), ("MobileNetV2 1.0", "mobilenetv2_1.0")]


def mlp():
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(256, activation="relu"), gluon.nn.Dense(256, activation="relu"),
            gluon.nn.Dense(10))
    return net


def resnet():
    return vision.resnet18_v1(classes=1000)


def _net(make, x, backend):
    kl.random.seed(0)
    net = make()
    net.initialize(kl.init.Xavier())
    net(x)
    t = time.perf_counter()
    net.hybridize(backend=backend)
    net(x).asnumpy()
    return net, time.perf_counter() - t


def _step_fn(net, x, y, momentum):
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    opts = {"learning_rate": 0.1, **({"momentum": momentum} if momentum else {})}
    trainer = gluon.Trainer(net.collect_params(), "sgd", opts)

    def step():
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(x.shape[0])
        return loss
    return step


def _first_train_call(step):
    t = time.perf_counter()
    step().asnumpy()
    return time.perf_counter() - t


def workload(make, shape, momentum, calls):
    """Medians (ms) per variant for inference and the training step, and first-call times."""
    rng = np.random.default_rng(0)
    x = nd.array(rng.standard_normal(shape).astype(np.float32))
    y = nd.array(rng.integers(0, 10, shape[0]).astype(np.float32))
    ref, first_np = _net(make, x, None)
    onx, first_ort = _net(make, x, "onnxruntime")
    path = os.path.join(tempfile.mkdtemp(), "model.onnx")
    ref.export_onnx(path, x)
    so = onx._hybrid_flags["executor"].session_options()  # the backend's options exactly
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    feed = {sess.get_inputs()[0].name: x.asnumpy()}
    np.testing.assert_allclose(onx(x).asnumpy(), sess.run(None, feed)[0], rtol=1e-3, atol=1e-4)
    backend = lambda: onx(x).asnumpy()  # noqa: E731
    # two loops: numpy's BLAS threads, busy-waiting after each call, would slow whichever
    # onnxruntime variant follows; backend / standalone comes from a loop without numpy
    ort_only = _interleaved({"onnxruntime backend": backend,
                             "onnxruntime standalone": lambda: sess.run(None, feed)}, calls)
    res = {"infer": _interleaved({"numpy": lambda: ref(x).asnumpy(),
                                  "onnxruntime backend": backend}, calls)}
    res["infer"]["onnxruntime standalone"] = ort_only["onnxruntime standalone"]
    res["infer"]["onnxruntime backend (loop without numpy)"] = ort_only["onnxruntime backend"]
    steps = {"numpy": _step_fn(ref, x, y, momentum), "onnxruntime backend":
             _step_fn(onx, x, y, momentum)}
    first = {"numpy": (first_np, _first_train_call(steps["numpy"])),
             "onnxruntime backend": (first_ort, _first_train_call(steps["onnxruntime backend"]))}
    res["train"] = _interleaved({k: (lambda s=s: s().asnumpy()) for k, s in steps.items()},
                                max(calls // 2, 5))  # (median, p10, p90)
    res["first"] = first
    res["plan"] = sorted(set(onx.backend_plan()))
    return res


def _interleaved(fns, calls):
    for f in fns.values():  # warm
        f()
    times = {k: [] for k in fns}
    keys = list(fns)
    for i in range(calls):  # each round starts at another variant: none always follows one
        for k in keys[i % len(keys):] + keys[:i % len(keys)]:  # (whose BLAS threads spin)
            f = fns[k]
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    return {k: (float(np.median(v)) * 1e3, float(np.percentile(v, 10)) * 1e3,
                float(np.percentile(v, 90)) * 1e3) for k, v in times.items()}


def _row(name, r):
    num, be = r["numpy"][1], r["onnxruntime backend"][1]
    sa = r.get("onnxruntime standalone")
    be2 = r.get("onnxruntime backend (loop without numpy)", (0, be))[1]
    cells = [f"{num:.2f}", f"{be:.2f}" + (f" / {be2:.2f}" if sa else ""),
             f"{sa[1]:.2f}" if sa else "-", f"{num / be:.2f}", f"{be2 / sa[1]:.2f}" if sa else "-"]
    short = {"numpy": "numpy", "onnxruntime backend": "backend",
             "onnxruntime standalone": "standalone",
             "onnxruntime backend (loop without numpy)": "backend (2nd loop)"}
    spread = "; ".join(f"{short[k]} {v[0]:.2f} ({v[2]:.2f})" for k, v in r.items())
    return f"| {name} | " + " | ".join(cells) + f" | {spread} |"


NOTES = """
Reading the numbers (2026-12-07; every run on this shared machine had a load average of 4-7 from
other work, which moved medians 2-10x between runs and 10th percentiles far less):

- ResNet-18 inference: the backend's session and standalone onnxruntime's are the same
  computation (kiln's predict-mode graph with the weights as initializers; onnxruntime folds the
  BatchNorms as kiln's exporter does). Timed directly, interleaved, 60 calls: backend session
  75.0 ms, standalone 78.3, the hybridized block (kiln's call path included) 71.3 (10th
  percentiles): backend / standalone is 1.0 within noise (goal <= 1.05). Table runs that
  interleaved numpy in the same loop gave 0.86-1.71, depending on which variant followed numpy's
  busy-waiting BLAS threads; timed in a loop of their own (the table now), 1.00-1.02. Against
  the numpy executor: 1.6x at load ~3.5 (the table above; kiln's new convolution kernels), 4-7x
  at load 9-12. With the parameters as inputs instead (``backend_opts={'params': 'inputs'}``, no
  BN folding, no NCHWc convolutions) the backend took ~2.5-3x standalone.
- ResNet-18 training step: it depends on the load, and the numpy executor wins at its best.
  Separate processes, load ~4-5: numpy executor 170 ms (p10) / 821 ms (median), backend 289 /
  312 ms; table runs at load ~3.5-4 gave 133-161 / 250-331 ms (p10, backend 0.49-0.53x numpy:
  the table above), runs at load 9-12 gave the backend 1.25-4.3x (p10). The backend is steady
  (its medians stay near its p10); the numpy executor's new convolution kernels are faster but
  suffer more when other processes take a core. onnxruntime's profiler on one step (load ~5):
  forward 167 ms of kernels, 138 of them Conv (weights are inputs here: none of the weight
  pre-packing inference gets); backward 479 ms: ConvTranspose (data gradients) 200, Conv (weight
  gradients, a Conv over the transposed batch) 136, Transpose 57, Slice 27. A data gradient as a
  Conv with flipped weights measured 0.9-1.1x ConvTranspose on ResNet-18's shapes. For training
  on such a machine, ``backend_opts={'training': 'numpy'}`` keeps the training graphs on kiln's
  executor and inference on onnxruntime.
- Training as two sessions (forward returning the saved values, then the backward): the forward
  session with its 80 saved arrays (13 MB) took 96.7 ms against 86.1 returning the loss only, so
  re-running the forward inside one forward+backward graph would cost ~86 ms a step to save ~10;
  keeping the saved arrays in onnxruntime memory (I/O binding) saved ~9 ms.
- MLP: inference 1.03-1.08x standalone (goal <= 1.05: met in some runs, not in others; a few
  tens of microseconds of kiln's call path on 0.35-0.5 ms). The training step is slower than
  kiln's numpy executor (0.13-0.83x across runs): two session calls and thread wake-ups per step
  against a numpy step already at its floor, and two thread pools on two cores, onnxruntime's
  workers and OpenBLAS's (the optimizer's axpy), each busy-waiting after its work. onnxruntime's
  default spinning made the axpy 5-10x slower (the backend stops it as each run returns); at
  load ~9, the step alone took 15.9 ms (p10) with OpenBLAS on 2 threads and 2.1 ms with
  ``OPENBLAS_NUM_THREADS=1`` (numpy executor: 1.5 / 1.8 ms). A parallel kernel that needs both
  cores at once suffers most when other processes hold one.
- First calls: the first backend block of a process also imports onnx and onnxruntime (1-3 s
  here); ResNet-18's inference session then takes ~0.7 s to lower and build.
"""


def table(results, calls):
    lines = [SECTION, "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores; Python "
             f"{platform.python_version()}, numpy {np.__version__}, onnxruntime "
             f"{ort.__version__}, kiln {getattr(kl, '__version__', '?')}. Milliseconds per "
             f"call: 10th percentiles of {calls} calls per variant ({max(calls // 4, 10)} for "
             "ResNet-18 inference, half as many training steps), interleaved call by call; "
             "inference runs two loops, numpy with the backend and the backend with "
             "standalone onnxruntime (the backend column gives both, the ratio to standalone "
             "comes from the second loop); "
             "the last column gives the medians (and 90th percentiles), which the shared "
             "machine's load moves much more. Backend and standalone use the same session "
             "options (onnxruntime's defaults, workers spinning inside runs only). 1-minute load "
             f"average at the end of the run: {os.getloadavg()[0]:.1f} (2 would be a full "
             "machine).", "",
             "| workload | numpy executor | onnxruntime backend | onnxruntime standalone | "
             "numpy / backend | backend / standalone | medians (p90) |",
             "|---|---:|---:|---:|---:|---:|---|"]
    for label, res in results:
        lines.append(_row(f"{label} inference", res["infer"]))
        lines.append(_row(f"{label} training step", res["train"]))
    lines += ["", "First calls (seconds; inference: trace, compile, session build, and for the "
              "first backend block of the process the import of onnx and onnxruntime; "
              "training: the first recorded step, which traces and compiles the training "
              "graphs):", ""]
    for label, res in results:
        f = res["first"]
        lines.append(f"- {label}: numpy {f['numpy'][0]:.3f} / {f['numpy'][1]:.3f}, onnxruntime "
                     f"backend {f['onnxruntime backend'][0]:.3f} / "
                     f"{f['onnxruntime backend'][1]:.3f}; graphs: "
                     + ", ".join(f"{n} {w}" for n, w in res["plan"]))
    return "\n".join(lines) + "\n" + NOTES


def mobile_workload(name, batch, calls):
    """``{variant: (median, p10, p90)}``: the backend's hybridized call against standalone
    onnxruntime on kiln's export of the same net, same session options, interleaved."""
    kl.random.seed(0)
    net = vision.get_model(name, classes=1000)
    net.initialize(kl.init.Xavier())
    rng = np.random.default_rng(0)
    x = nd.array(rng.standard_normal((batch, 3, 224, 224)).astype(np.float32))
    net(x)
    path = os.path.join(tempfile.mkdtemp(), "model.onnx")
    net.export_onnx(path, x)
    net.hybridize(backend="onnxruntime")
    so = net._hybrid_flags["executor"].session_options()  # the backend's options exactly
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    feed = {sess.get_inputs()[0].name: x.asnumpy()}
    np.testing.assert_allclose(net(x).asnumpy(), sess.run(None, feed)[0], rtol=1e-3, atol=1e-4)
    return _interleaved_cpu({"onnxruntime backend": lambda: net(x).asnumpy(),
                             "onnxruntime standalone": lambda: sess.run(None, feed)}, calls)


def _interleaved_cpu(fns, calls):
    """``{variant: (median, p10, p90, median CPU time)}`` (ms), the variants interleaved call
    by call; process CPU time counts the work, which the machine's load moves far less (no
    worker spins while idle with these session options)."""
    for f in fns.values():
        f()
    wall, cpu = {k: [] for k in fns}, {k: [] for k in fns}
    keys = list(fns)
    for i in range(calls):
        for k in keys[i % len(keys):] + keys[:i % len(keys)]:
            t, c = time.perf_counter(), time.process_time()
            fns[k]()
            wall[k].append(time.perf_counter() - t)
            cpu[k].append(time.process_time() - c)
    return {k: (float(np.median(wall[k])) * 1e3, float(np.percentile(wall[k], 10)) * 1e3,
                float(np.percentile(wall[k], 90)) * 1e3, float(np.median(cpu[k])) * 1e3)
            for k in fns}


def mobile_table(results, calls):
    lines = [MOBILE_SECTION, "",
             f"Machine: {platform.machine()}, {os.cpu_count()} cores; onnxruntime "
             f"{ort.__version__}. Inference at 224x224, milliseconds per call: 10th percentile "
             "and median (wall clock), and median process CPU time, of "
             f"{calls} calls at batch 1 ({max(calls // 5, 5)} at batch 32), the "
             "backend's hybridized call (``net(x).asnumpy()``) and standalone onnxruntime on "
             "kiln's export interleaved call by call in one process, with the backend's session "
             "options (onnxruntime's defaults, workers spinning inside runs only). 1-minute load "
             f"average at the end of the run: {os.getloadavg()[0]:.1f} (2 would be a full "
             "machine). Goal (issue 13): backend <= 1.05x standalone.", "",
             "| model | batch | backend p10 | standalone p10 | backend / standalone (p10) | "
             "medians: backend / standalone | CPU time (median): backend / standalone |",
             "|---|---:|---:|---:|---:|---|---|"]
    for label, batch, r in results:
        be, sa = r["onnxruntime backend"], r["onnxruntime standalone"]
        lines.append(f"| {label} | {batch} | {be[1]:.2f} | {sa[1]:.2f} | {be[1] / sa[1]:.2f} | "
                     f"{be[0]:.2f} / {sa[0]:.2f} ({be[0] / sa[0]:.2f}) | "
                     f"{be[3]:.2f} / {sa[3]:.2f} ({be[3] / sa[3]:.2f}) |")
    return "\n".join(lines) + "\n"


def run_mobilenets(calls, write):
    results = [(label, batch, mobile_workload(name, batch, calls if batch == 1 else
                                              max(calls // 5, 5)))
               for label, name in MOBILENETS for batch in (1, 32)]
    text = mobile_table(results, calls)
    print(text)
    if write:
        write_section(text, MOBILE_SECTION)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--only", choices=["mlp", "resnet"])
    parser.add_argument("--mobilenet", action="store_true", help=MOBILE_SECTION[3:])
    args = parser.parse_args(argv)
    if args.mobilenet:
        return run_mobilenets(args.calls, not args.no_write)
    results = []
    if args.only != "resnet":
        results.append(("W2 MLP", workload(mlp, (64, 784), 0.0, args.calls)))
    if args.only != "mlp":
        results.append(("W3 ResNet-18", workload(resnet, (32, 3, 32, 32), 0.9,
                                                 max(args.calls // 4, 10))))
    text = table(results, args.calls)
    print(text)
    if not args.no_write:
        write_section(text, SECTION)


if __name__ == "__main__":
    sys.exit(main())
