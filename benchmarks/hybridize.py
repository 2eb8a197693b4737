"""Eager vs hybridized vs hand-written numpy: the seed micro-benchmark and an MLP training step.

* seed: ``x = relu(x @ ones(100, 100))`` 100 times per call (the benchmark from
  shared/seed-eager-execution.txt). The numpy floor hoists the constant ``ones`` (the best
  hand-written code); the "numpy as written" column re-creates it every iteration, as the seed's
  code does.
* MLP: 784-256-256-10, batch 64, softmax cross-entropy, SGD (lr 0.1) via ``gluon.Trainer``;
  the numpy floor is the same step written by hand (forward, backward, update).
* memory: peak bytes allocated during one training step (tracemalloc sees numpy's buffers).

Usage: ``python benchmarks/hybridize.py [--no-write]``. Times are per-call 10th percentiles,
variants interleaved call by call, so that machine noise hits every variant alike; compare
ratios, not absolutes.
"""
import argparse
import os
import platform
import re
import sys
import time
import tracemalloc

import kiln as kl
import numpy as np
from kiln import autograd, gluon, nd

SECTION = "## Hybridize (benchmarks/hybridize.py)"
DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                    "benchmarks.md")


class Seed(gluon.HybridBlock):
    def forward(self, x):
        for _ in range(100):
            x = nd.relu(nd.dot(x, nd.ones((100, 100))))
        return x


W100 = np.ones((100, 100), np.float32)


def seed_numpy(x):
    for _ in range(100):
        x = np.maximum(x @ W100, 0)
    return x


def seed_numpy_as_written(x):
    for _ in range(100):
        x = np.maximum(x @ np.ones((100, 100), np.float32), 0)
    return x


def mlp(hidden=256):
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(hidden, activation="relu", in_units=784),
            gluon.nn.Dense(hidden, activation="relu", in_units=hidden),
            gluon.nn.Dense(10, in_units=hidden))
    net.initialize(kl.init.Xavier())
    return net


def kiln_step(net, trainer, loss_fn, x, y):
    def step():
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(x.shape[0])
    return step


def numpy_step(params, x, labels, lr=0.1, xp=np):
    """The same training step by hand: the floor kiln is measured against (``xp``: numpy, or
    cupy for the GPU floor)."""
    w1, b1, w2, b2, w3, b3 = params
    n = x.shape[0]
    onehot = xp.zeros((n, 10), np.float32)
    onehot[xp.arange(n), labels] = 1

    def step():
        h1 = xp.maximum(x @ w1.T + b1, 0)
        h2 = xp.maximum(h1 @ w2.T + b2, 0)
        z = h2 @ w3.T + b3
        z = z - z.max(axis=1, keepdims=True)
        p = xp.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        dz = (p - onehot) / n
        dw3, db3 = dz.T @ h2, dz.sum(0)
        dh2 = (dz @ w3) * (h2 > 0)
        dw2, db2 = dh2.T @ h1, dh2.sum(0)
        dh1 = (dh2 @ w2) * (h1 > 0)
        dw1, db1 = dh1.T @ x, dh1.sum(0)
        for w, g in ((w1, dw1), (b1, db1), (w2, dw2), (b2, db2), (w3, dw3), (b3, db3)):
            w -= lr * g
    return step


def torch_variants():
    """PyTorch (eager) as a peer, when installed: the same seed loop and MLP step."""
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    w100 = torch.ones(100, 100)

    def seed(x):
        for _ in range(100):
            x = torch.relu(x @ w100)
        return x

    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10))
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = torch.nn.CrossEntropyLoss()

    def mlp_step(x, y):
        def step():
            sgd.zero_grad()
            loss_fn(model(x), y).backward()
            sgd.step()
        return step
    return torch, seed, mlp_step


def best(fns, number, repeat=7):
    """Per-call times, variants interleaved call by call so that load bursts on a shared
    machine hit every variant alike; the 10th percentile (ms) estimates the undisturbed cost."""
    times = {k: [] for k in fns}
    for _ in range(repeat * number):
        for k, f in fns.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    return {k: float(np.percentile(v, 10)) * 1e3 for k, v in times.items()}


def peak_bytes(step, warm=2):
    for _ in range(warm):
        step()
    tracemalloc.start()
    tracemalloc.reset_peak()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def run_seed():
    x = nd.array(np.random.default_rng(0).normal(size=(100, 100)))
    eager, hyb = Seed(), Seed()
    hyb.hybridize()
    xn = x.asnumpy()
    fns = {"eager": lambda: eager(x), "hybridized": lambda: hyb(x),
           "numpy": lambda: seed_numpy(xn), "numpy as written": lambda: seed_numpy_as_written(xn)}
    peer = torch_variants()
    with np.errstate(all="ignore"):  # the values overflow to inf, as in the seed's own code
        for f in fns.values():
            f()
        times = best(fns, number=20)
    if peer is not None:  # timed apart: torch's worker threads keep spinning after a call
        xt = peer[0].from_numpy(xn.copy())
        times.update(best({"torch": lambda: peer[1](xt)}, number=5))
    return times


def run_mlp(batch=64, hidden=256, extras=True):
    """Times of the step variants (and, with ``extras``, peak memory and torch)."""
    rng = np.random.default_rng(0)
    x = nd.array(rng.normal(size=(batch, 784)))
    y = nd.array(rng.integers(0, 10, size=batch))
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    variants = {}
    for name, hybrid in (("eager", False), ("hybridized", True)):
        net = mlp(hidden)
        if hybrid:
            net.hybridize(static_alloc=True)
            loss_fn_h = gluon.loss.SoftmaxCrossEntropyLoss()
            loss_fn_h.hybridize(static_alloc=True)
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
        variants[name] = kiln_step(net, trainer, loss_fn_h if hybrid else loss_fn, x, y)
    params = [p.data().asnumpy() for p in mlp(hidden).collect_params().values()]
    variants["numpy"] = numpy_step(params, x.asnumpy(), y.asnumpy().astype(int))
    for f in variants.values():
        f()
    times = best(variants, number=60)
    if not extras:
        return times, {}
    mem = {k: peak_bytes(f) for k, f in variants.items()}  # (tracemalloc cannot see torch's)
    peer = torch_variants()
    if peer is not None:  # timed apart: torch's worker threads keep spinning after a call
        torch = peer[0]
        step = peer[2](torch.from_numpy(x.asnumpy()),
                       torch.from_numpy(y.asnumpy().astype(np.int64)))
        step()
        times.update(best({"torch": step}, number=20))
    return times, mem


def table(seed, mlp_times, mem, tiny):
    peer = _torch_version()
    lines = [SECTION, "",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
             f"Python {platform.python_version()}, numpy {np.__version__}, kiln "
             f"{kl.__version__}{', torch ' + peer if peer else ''}. Milliseconds per call: the "
             "10th percentile of 140 (seed) or 420 (MLP) calls per variant, interleaved call "
             "by call.", "",
             "| benchmark | eager | hybridized | numpy floor | hybridized / floor | "
             "eager / hybridized | torch (eager) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, t in (("seed: relu(x @ ones) x100", seed), ("MLP training step", mlp_times)):
        torch_ms = f"{t['torch']:.3f}" if "torch" in t else "not installed"
        lines.append(f"| {name} | {t['eager']:.3f} | {t['hybridized']:.3f} | "
                     f"{t['numpy']:.3f} | {t['hybridized'] / t['numpy']:.2f} | "
                     f"{t['eager'] / t['hybridized']:.2f} | {torch_ms} |")
    lines += ["", f"The seed's numpy code as written (``ones`` re-created in the loop): "
              f"{seed['numpy as written']:.3f} ms.", "",
              "Peak memory allocated during one MLP training step (tracemalloc): "
              + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in mem.items()) + ".", "",
              "Framework overhead per training step, measured on the same MLP shrunk until "
              "the array work is negligible (hidden 8, batch 4; kiln minus the numpy step): "
              f"hybridized {1e3 * (tiny['hybridized'] - tiny['numpy']):.0f} µs, eager "
              f"{1e3 * (tiny['eager'] - tiny['numpy']):.0f} µs (numpy step "
              f"{1e3 * tiny['numpy']:.0f} µs). What separates the hybridized MLP step from the "
              "floor: this Python work (two block calls and their tape nodes, the chained "
              "backward, the Trainer's plan), and the loss, whose value kiln computes and the "
              "floor never does (a fused log-softmax-pick that saves the softmax for its "
              "one-line gradient). The network's compiled forward and backward run the floor's "
              "numpy calls (docs/architecture.md). Before this session's work the overhead was "
              "~185 µs and the MLP step 1.22-1.41x the floor; after it, runs on this noisy "
              "machine gave 1.14-1.24x (most 1.16-1.18).", "",
              "The seed loop reached the floor once identical constants were merged (CSE "
              "before constant folding): its hundred `ones((100, 100))` had been a hundred "
              "arrays, 4 MB that do not stay in cache, where the floor reuses one.", ""]
    return "\n".join(lines)


def _torch_version():
    try:
        import torch
    except ImportError:
        return None
    return torch.__version__


def write_section(text, section=SECTION):
    """Replace ``section`` (a ``## `` heading and its body) in docs/benchmarks.md."""
    old = open(DOCS).read() if os.path.exists(DOCS) else "# Benchmarks\n"
    pattern = re.compile(re.escape(section) + r".*?(?=\n## |\Z)", re.S)
    new = pattern.sub(text.rstrip() + "\n", old) if section in old else \
        old.rstrip() + "\n\n" + text
    with open(DOCS, "w") as f:
        f.write(new)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    seed = run_seed()
    times, mem = run_mlp()
    tiny, _ = run_mlp(batch=4, hidden=8, extras=False)
    text = table(seed, times, mem, tiny)
    print(text)
    if not args.no_write:
        write_section(text)


if __name__ == "__main__":
    sys.exit(main())
