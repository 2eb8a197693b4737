"""Whole models, each variant in a fresh process: W2 (MLP) and W3 (ResNet-18), inference and a
training step, on every executor and peer at hand.

* W2: MLP 784-256-256-10 (relu), batch 64; training: softmax cross-entropy, SGD lr 0.1.
* W3: ResNet-18 v1 (1000 classes) at 32x3x32x32; training: SGD lr 0.01, momentum 0.9.

Variants: kiln's numpy executor (``hybridize()`` and ``hybridize(static_alloc=True)``), kiln's
onnxruntime backend (``hybridize(backend='onnxruntime')``), onnxruntime standalone on kiln's
own ONNX export (inference only; with the backend's session options: the same thread count,
workers spinning inside runs only), PyTorch eager (when importable; W3 as a hand-written
ResNet-18, torchvision is not installed), JAX jit (W2 only, when importable: the whole SGD step
as one compiled function) and MXNet 1.9 Gluon hybridized (when ``.mxnet-venv`` exists; its
``model_zoo`` ResNet-18 v1).

Every (workload, mode, variant) runs in its own fresh process: it builds the model, times the
first call (kiln: trace, passes, code generation or session build, plus the call), warms up
(``WARMUP`` calls),
then times ``--calls`` calls (25x as many for the MLP, a third for ResNet-18's training step;
median, 10th and 90th percentiles; wall clock and process CPU time), and reports its resident set:
the process's peak (VmHWM, imports included) and the growth of one step. Rounds interleave the
variants (the order rotates each round) so the shared machine's load falls on all alike; the
table gives the median over rounds of each variant's median and the ratios within the run.

Usage: ``python benchmarks/models.py [--no-write] [--rounds R] [--calls N] [--only W2|W3]``.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MXNET_PY = os.path.join(ROOT, ".mxnet-venv", "bin", "python")
SECTION = "## Whole models in fresh processes (benchmarks/models.py)"
WORKLOADS = {"W2": ("MLP 784-256-256-10, batch 64", (64, 784), 10, 0.1, 0.0),
             "W3": ("ResNet-18 v1, 32x3x32x32, 1000 classes", (32, 3, 32, 32), 1000, 0.01, 0.9)}
# calls after the first, untimed, in every variant: they cover the onnxruntime backend's
# training='auto' choice (each training graph runs twice + 2*ROUNDS times before it settles)
WARMUP = 8
VARIANTS = ["kiln numpy", "kiln numpy static_alloc", "kiln onnxruntime",
            "onnxruntime standalone", "PyTorch eager", "JAX jit", "MXNet 1.9"]


def _data(workload):
    _, shape, classes, _, _ = WORKLOADS[workload]
    rng = np.random.default_rng(0)
    return (rng.standard_normal(shape).astype(np.float32),
            (np.arange(shape[0]) % classes).astype(np.int64))


# ---- kiln ---------------------------------------------------------------------------------------
def _kiln_net(workload):
    import kiln
    from kiln import gluon
    from kiln.model_zoo import vision
    kiln.random.seed(0)
    if workload == "W2":
        net = gluon.nn.HybridSequential()
        net.add(gluon.nn.Dense(256, activation="relu"), gluon.nn.Dense(256, activation="relu"),
                gluon.nn.Dense(10))
    else:
        net = vision.resnet18_v1(classes=1000)
    net.initialize(kiln.init.Xavier())
    return net


def kiln_variant(workload, mode, variant):
    from kiln import autograd, gluon, nd
    net = _kiln_net(workload)
    x_np, y_np = _data(workload)
    x, y = nd.array(x_np), nd.array(y_np.astype(np.float32))
    net(x)  # deferred shapes: the first eager call initializes
    flags = {"kiln numpy static_alloc": {"static_alloc": True},
             "kiln onnxruntime": {"backend": "onnxruntime"}}.get(variant, {})
    net.hybridize(**flags)
    if mode == "infer":
        infer = lambda: net(x).asnumpy()  # noqa: E731
        infer.net = net
        return infer
    _, _, _, lr, momentum = WORKLOADS[workload]
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    opts = {"learning_rate": lr, **({"momentum": momentum} if momentum else {})}
    trainer = gluon.Trainer(net.collect_params(), "sgd", opts)

    def step():
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(x.shape[0])
        return loss.asnumpy()
    step.net = net
    return step


def ort_standalone(workload, mode):
    if mode != "infer":
        return None
    import onnxruntime as ort
    from kiln import nd
    net = _kiln_net(workload)
    x_np, _ = _data(workload)
    net(nd.array(x_np))
    path = os.path.join(tempfile.mkdtemp(), "model.onnx")
    net.export_onnx(path, nd.array(x_np))
    # the backend's session options exactly (issue 13 compares them so): onnxruntime's
    # defaults, the same thread count, workers spinning inside runs only
    from kiln.export.ort_executor import OrtExecutor
    opts = OrtExecutor().session_options()
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    feed = {sess.get_inputs()[0].name: x_np}
    return lambda: sess.run(None, feed)


# ---- JAX (W2 only) ------------------------------------------------------------------------------
def jax_variant(workload, mode):
    """The MLP under ``jax.jit``: inference, or a whole SGD step (forward, gradient, update)
    as one compiled function, the issue's W2 peer."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    if workload != "W2":
        return None
    x_np, y_np = _data(workload)
    rng = np.random.default_rng(0)
    dims = [784, 256, 256, 10]
    params = []
    for i, o in zip(dims[:-1], dims[1:]):
        a = np.sqrt(6.0 / (i + o))
        params.append((jnp.asarray(rng.uniform(-a, a, (i, o)).astype(np.float32)),
                       jnp.zeros(o, jnp.float32)))
    x, y = jnp.asarray(x_np), jnp.asarray(y_np)

    def forward(ps, v):
        for k, (w, b) in enumerate(ps):
            v = v @ w + b
            v = jax.nn.relu(v) if k < len(ps) - 1 else v
        return v
    if mode == "infer":
        fwd = jax.jit(forward)
        return lambda: np.asarray(fwd(params, x))
    lr = WORKLOADS[workload][3]

    def loss(ps, v, t):
        logp = jax.nn.log_softmax(forward(ps, v))
        return -jnp.mean(jnp.take_along_axis(logp, t[:, None], axis=1))

    @jax.jit
    def step(ps, v, t):
        value, grads = jax.value_and_grad(loss)(ps, v, t)
        return [(w - lr * gw, b - lr * gb) for (w, b), (gw, gb) in zip(ps, grads)], value
    state = [params]

    def run():
        state[0], value = step(state[0], x, y)
        return np.asarray(value)
    return run


# ---- PyTorch ------------------------------------------------------------------------------------
def torch_variant(workload, mode):
    try:
        import torch
    except ImportError:
        return None
    from torch import nn
    torch.manual_seed(0)
    if workload == "W2":
        net = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                            nn.Linear(256, 10))
    else:
        sys.path.insert(0, HERE)
        from _conv_models import torch_resnet18  # the same ResNet-18 v1 as benchmarks/conv.py
        net = torch_resnet18()
    x_np, y_np = _data(workload)
    x, y = torch.tensor(x_np), torch.tensor(y_np)
    if mode == "infer":
        net.eval()

        def infer():
            with torch.no_grad():
                return net(x).numpy()
        return infer
    _, _, _, lr, momentum = WORKLOADS[workload]
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(net(x), y)
        loss.backward()
        opt.step()
        return loss.item()
    return step


# ---- MXNet 1.9 (its own venv, its own process) --------------------------------------------------
MXNET_SCRIPT = r"""
import json, sys, time, numpy as np, mxnet as mx
from mxnet import autograd, gluon, nd
workload, mode, calls = sys.argv[1], sys.argv[2], int(sys.argv[3])
shape, classes, lr, momentum = json.loads(sys.argv[4])
mx.random.seed(0)
if workload == "W2":
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(256, activation="relu"), gluon.nn.Dense(256, activation="relu"),
            gluon.nn.Dense(10))
else:
    net = gluon.model_zoo.vision.resnet18_v1(classes=1000)
net.initialize(mx.init.Xavier())
rng = np.random.default_rng(0)
x = nd.array(rng.standard_normal(shape).astype(np.float32))
y = nd.array((np.arange(shape[0]) % classes).astype(np.float32))
net(x); net.hybridize(static_alloc=True, static_shape=True)
loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
opts = {"learning_rate": lr}
if momentum:
    opts["momentum"] = momentum
trainer = gluon.Trainer(net.collect_params(), "sgd", opts)
def step():
    if mode == "infer":
        return net(x).asnumpy()
    with autograd.record():
        loss = loss_fn(net(x), y)
    loss.backward(); trainer.step(shape[0]); return loss.asnumpy()
t = time.perf_counter(); step(); first = time.perf_counter() - t
for _ in range(8):
    step()
ts, cpu = [], []
for _ in range(calls):
    t, c = time.perf_counter(), time.process_time(); step()
    ts.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
hwm = [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
print(json.dumps({"median": float(np.median(ts)) * 1e3, "p10": float(np.percentile(ts, 10)) * 1e3,
                  "p90": float(np.percentile(ts, 90)) * 1e3, "first": first * 1e3,
                  "peak_rss": hwm / 1024, "step_rss": None, "version": mx.__version__,
                  "cpu": float(np.median(cpu)) * 1e3}))
"""


def run_mxnet(workload, mode, calls):
    if not os.path.exists(MXNET_PY):
        return {"skip": "no .mxnet-venv"}
    _, shape, classes, lr, momentum = WORKLOADS[workload]
    args = [MXNET_PY, "-c", MXNET_SCRIPT, workload, mode, str(calls),
            json.dumps([list(shape), classes, lr, momentum])]
    try:
        res = subprocess.run(args, capture_output=True, text=True, timeout=900)
        return json.loads(res.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError, OSError) as e:
        return {"skip": f"MXNet failed: {type(e).__name__}"}


# ---- one variant in this (fresh) process --------------------------------------------------------
def _step_rss(step):
    """Growth of the resident set during one step, MB (benchmarks/sequence.py's measure)."""
    sys.path.insert(0, HERE)
    from sequence import rss_peak_growth
    grown = rss_peak_growth(step)
    return None if grown is None else grown / 2**20


def _peak_rss():
    sys.path.insert(0, HERE)
    from sequence import _status_kb
    return (_status_kb("VmHWM") or 0) / 1024


def child(workload, mode, variant, calls):
    """Measure one variant; returns the JSON-able result (or ``{"skip": reason}``)."""
    if variant == "PyTorch eager":
        step = torch_variant(workload, mode)
    elif variant == "JAX jit":
        step = jax_variant(workload, mode)
    elif variant == "onnxruntime standalone":
        step = ort_standalone(workload, mode)
    else:
        step = kiln_variant(workload, mode, variant)
    if step is None:
        return {"skip": "not available for this workload"}
    t = time.perf_counter()
    step()
    first = time.perf_counter() - t
    for _ in range(WARMUP):
        step()
    times, cpu = [], []
    for _ in range(calls):
        t, c = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    net = getattr(step, "net", None)
    plan = net.backend_plan() if net is not None and variant == "kiln onnxruntime" else []
    return {"median": float(np.median(times)) * 1e3, "p10": float(np.percentile(times, 10)) * 1e3,
            "p90": float(np.percentile(times, 90)) * 1e3, "first": first * 1e3,
            "cpu": float(np.median(cpu)) * 1e3, "step_rss": _step_rss(step),
            "peak_rss": _peak_rss(),
            "plan": [f"{graph}: {where}" for graph, where in plan if graph != "forward"]}


def spawn(workload, mode, variant, calls):
    if variant == "MXNet 1.9":
        return run_mxnet(workload, mode, calls)
    args = [sys.executable, os.path.abspath(__file__), "--child", workload, mode, variant,
            "--calls", str(calls)]
    res = subprocess.run(args, capture_output=True, text=True, timeout=900)
    try:
        return json.loads(res.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"skip": "failed: " + (res.stderr.strip().splitlines() or ["?"])[-1][:120]}


# ---- the parent: rounds, table ------------------------------------------------------------------
# the MLP's calls take 0.2-1.2 ms: 20 of them are a few milliseconds of a process's life, and
# their median moved 20% between fresh processes; 25x as many keep each process under a second
W2_CALLS = 25


def calls_for(workload, mode, calls):
    """Timed calls per process: ``calls``, 25x for the MLP, a third for ResNet-18 training."""
    if workload == "W2":
        return calls * W2_CALLS
    return calls if mode == "infer" else max(calls // 3, 5)


def run(workloads, rounds, calls, log=print):
    """``{(workload, mode, variant): [result per round]}``, variants interleaved per round."""
    results = {}
    for r in range(rounds):
        for w in workloads:
            for mode in ("infer", "train"):
                order = VARIANTS[r % len(VARIANTS):] + VARIANTS[:r % len(VARIANTS)]
                for v in order:
                    res = spawn(w, mode, v, calls_for(w, mode, calls))
                    results.setdefault((w, mode, v), []).append(res)
                    log(f"round {r + 1} {w} {mode} {v}: " + (
                        res["skip"] if "skip" in res else f"{res['median']:.2f} ms"))
    return results


def summarize(runs):
    """Median over rounds of the per-round medians, their range, first call, peak RSS."""
    ok = [r for r in runs if "skip" not in r]
    if not ok:
        return None
    meds = [r["median"] for r in ok]
    return {"median": float(np.median(meds)), "lo": min(meds), "hi": max(meds),
            "first": float(np.median([r["first"] for r in ok])),
            "cpu": float(np.median([r.get("cpu", np.nan) for r in ok])),
            "peak_rss": max(r["peak_rss"] for r in ok),
            "step_rss": max((r["step_rss"] or 0) for r in ok)}


def _ratio(a, b, key="median"):
    return f"{a[key] / b[key]:.2f}" if a and b else "-"


def _rows(summ, workloads, cell):
    """One table row per workload and mode, one ``cell(summary)`` per variant."""
    rows = []
    for w in workloads:
        for mode in ("infer", "train"):
            cells = [cell(summ.get((w, mode, v))) for v in VARIANTS]
            label = f"{w} {'inference' if mode == 'infer' else 'training step'}"
            rows.append(f"| {label} | " + " | ".join(c or "-" for c in cells) + " |")
    return rows


RATIO_HEAD = ("| workload | numpy / PyTorch | onnxruntime backend / PyTorch | "
              "onnxruntime backend / standalone | static_alloc / plain | numpy / MXNet | "
              "onnxruntime backend / JAX jit |")


def table(results, rounds, calls, workloads):
    head = ["| workload | " + " | ".join(VARIANTS) + " |", "|---|" + "---:|" * len(VARIANTS)]
    summ = {k: summarize(v) for k, v in results.items()}
    lines = [SECTION, "", _machine(), "",
             f"Milliseconds per call: median over {rounds} rounds of each fresh process's "
             f"median of {calls} calls ({calls_for('W2', 'train', calls)} for the MLP, "
             f"{calls_for('W3', 'train', calls)} for the ResNet-18 training step), "
             "range of the round medians in brackets. First call: the first call after "
             "hybridize (trace, passes, code generation or session build, and the call).", ""]
    lines += head + _rows(summ, workloads, lambda s: s and
                          f"{s['median']:.2f} [{s['lo']:.2f}-{s['hi']:.2f}]")
    lines += ["", "Ratios within the run (lower is better for kiln):", "",
              RATIO_HEAD, "|---|---:|---:|---:|---:|---:|---:|"]
    pairs = [("kiln numpy", "PyTorch eager"), ("kiln onnxruntime", "PyTorch eager"),
             ("kiln onnxruntime", "onnxruntime standalone"),
             ("kiln numpy static_alloc", "kiln numpy"), ("kiln numpy", "MXNet 1.9"),
             ("kiln onnxruntime", "JAX jit")]
    for w in workloads:
        for mode in ("infer", "train"):
            g = {v: summ.get((w, mode, v)) for v in VARIANTS}
            lines.append(f"| {w} {mode} | " +
                         " | ".join(_ratio(g[a], g[b]) for a, b in pairs) + " |")
    lines += ["", "Process CPU time per call (ms, all threads: the work done, which the shared "
              "machine's load moves far less than the wall clock; a thread pool that spins "
              "while idle, OpenBLAS's, PyTorch's, counts its spinning too), median over rounds:",
              ""]
    lines += head + _rows(summ, workloads, lambda s: s and f"{s['cpu']:.2f}")
    lines += ["", "The same ratios on CPU time:", "", RATIO_HEAD, "|---|" + "---:|" * len(pairs)]
    for w in workloads:
        for mode in ("infer", "train"):
            g = {v: summ.get((w, mode, v)) for v in VARIANTS}
            lines.append(f"| {w} {mode} | " +
                         " | ".join(_ratio(g[a], g[b], "cpu") for a, b in pairs) + " |")
    lines += ["", "First call (ms) / process peak RSS (MB, imports included) / growth of the "
              "resident set during one step (MB):", ""]
    lines += head + _rows(summ, workloads, lambda s: s and
                          f"{s['first']:.0f} / {s['peak_rss']:.0f} / {s['step_rss']:.0f}")
    lines += ["", "Where the onnxruntime backend ran each training graph (``training='auto'`` "
              "picks per process, by timing both executors on the first calls):", ""]
    for w in workloads:
        for k, res in enumerate(results.get((w, "train", "kiln onnxruntime"), [])):
            if res.get("plan"):
                lines.append(f"- {w}, round {k + 1}: " + "; ".join(res["plan"]))
    return "\n".join(lines) + "\n"


def _machine():
    import onnxruntime as ort
    try:
        import torch
        tver = torch.__version__
    except ImportError:
        tver = "not installed"
    try:
        load = "load average %.1f at the start" % os.getloadavg()[0]
    except OSError:
        load = "load unknown"
    return (f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"{load}; Python {platform.python_version()}, numpy {np.__version__}, onnxruntime "
            f"{ort.__version__}, torch {tver}, MXNet 1.9.1 "
            f"{'(.mxnet-venv)' if os.path.exists(MXNET_PY) else 'not installed'}.")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=3, metavar=("WORKLOAD", "MODE", "VARIANT"))
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=sorted(WORKLOADS))
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child, args.calls)))
        return 0
    workloads = [args.only] if args.only else sorted(WORKLOADS)
    machine = _machine()  # the load before the run
    results = run(workloads, args.rounds, args.calls)
    text = table(results, args.rounds, args.calls, workloads).replace(_machine(), machine)
    print(text)
    if not args.no_write:
        sys.path.insert(0, HERE)
        from hybridize import write_section
        write_section(text, SECTION)
    return 0


if __name__ == "__main__":
    sys.exit(main())
