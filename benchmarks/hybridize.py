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
ROUNDS = 5  # MLP measurements: the report gives the median round and the spread
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


Z100 = np.zeros((100, 100), np.float32)


def seed_numpy_tuned(x):
    """The floor with kiln's relu (numpy's vectorized maximum loop: zeros array, not 0)."""
    for _ in range(100):
        x = np.maximum(x @ W100, Z100)
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


class WithLoss(gluon.HybridBlock):
    """The network and its loss as one hybridized block: one compiled graph, one tape node."""

    def __init__(self, net, loss_fn):
        super().__init__()
        self.net, self.loss_fn = net, loss_fn

    def forward(self, x, y):
        return self.loss_fn(self.net(x), y)


def kiln_step_one_block(model, trainer, x, y):
    def step():
        with autograd.record():
            loss = model(x, y)
        loss.backward()
        trainer.step(x.shape[0])
    return step


def kiln_step(net, trainer, loss_fn, x, y):
    def step():
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(x.shape[0])
    return step


def numpy_step(params, x, labels, lr=0.1, xp=np, relu=None, update=None):
    """The same training step by hand: the floor kiln is measured against (``xp``: numpy, or
    cupy for the GPU floor). ``relu(a)`` and ``update(w, g)`` replace the plain
    ``xp.maximum(a, 0)`` and ``w -= lr * g`` (the tuned floor)."""
    w1, b1, w2, b2, w3, b3 = params
    n = x.shape[0]
    onehot = xp.zeros((n, 10), np.float32)
    onehot[xp.arange(n), labels] = 1
    relu = relu or (lambda a: xp.maximum(a, 0))

    def sgd(w, g):
        w -= lr * g
    update = update or sgd

    def step():
        h1 = relu(x @ w1.T + b1)
        h2 = relu(h1 @ w2.T + b2)
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
            update(w, g)
    return step


def numpy_step_tuned(params, x, labels, lr=0.1):
    """The floor with the two kernel choices kiln makes (so that the report can say how much
    of kiln's margin comes from them): relu against a zeros array (numpy's vectorized
    ``maximum`` loop; the scalar 0 takes a slower one) and the SGD update as BLAS axpy."""
    from kiln.ndarray._blas import axpy
    zeros = {}

    def relu(a):
        z = zeros.get(a.shape)
        if z is None:
            z = zeros[a.shape] = np.zeros(a.shape, a.dtype)
        return np.maximum(a, z, out=a)

    def update(w, g):
        if not axpy(-lr, g, w):
            w -= lr * g
    return numpy_step(params, x, labels, lr, relu=relu, update=update)


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
           "numpy": lambda: seed_numpy(xn),
           "numpy tuned": lambda: seed_numpy_tuned(xn),
           "numpy as written": lambda: seed_numpy_as_written(xn)}
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
    net = mlp(hidden)
    model = WithLoss(net, gluon.loss.SoftmaxCrossEntropyLoss())
    model.hybridize(static_alloc=True)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
    variants["hybridized, one block"] = kiln_step_one_block(model, trainer, x, y)
    params = [p.data().asnumpy() for p in mlp(hidden).collect_params().values()]
    variants["numpy"] = numpy_step(params, x.asnumpy(), y.asnumpy().astype(int))
    tuned = [p.copy() for p in params]
    variants["numpy tuned"] = numpy_step_tuned(tuned, x.asnumpy(), y.asnumpy().astype(int))
    for f in variants.values():
        f()
    times = best(variants, number=60)
    if not extras:
        return times, {}
    mem = {k: peak_bytes(f) for k, f in variants.items()
           if k in ("eager", "hybridized", "numpy")}  # (tracemalloc cannot see torch's)
    peer = torch_variants()
    if peer is not None:  # timed apart: torch's worker threads keep spinning after a call
        torch = peer[0]
        step = peer[2](torch.from_numpy(x.asnumpy()),
                       torch.from_numpy(y.asnumpy().astype(np.int64)))
        step()
        times.update(best({"torch": step}, number=20))
    return times, mem


def table(seed, mlp_times, mem, tiny, ratios, tuned_ratios, one_block):
    peer = _torch_version()
    lines = [SECTION, "",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
             f"Python {platform.python_version()}, numpy {np.__version__}, kiln "
             f"{kl.__version__}{', torch ' + peer if peer else ''}. Milliseconds per call: the "
             "10th percentile of 140 (seed) or 420 (MLP) calls per variant, interleaved call "
             "by call.", "",
             "| benchmark | eager | hybridized | numpy floor | hybridized / floor | "
             "numpy tuned | hybridized / tuned | eager / hybridized | torch (eager) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, t in (("seed: relu(x @ ones) x100", seed), ("MLP training step", mlp_times)):
        torch_ms = f"{t['torch']:.3f}" if "torch" in t else "not installed"
        lines.append(f"| {name} | {t['eager']:.3f} | {t['hybridized']:.3f} | "
                     f"{t['numpy']:.3f} | {t['hybridized'] / t['numpy']:.2f} | "
                     f"{t['numpy tuned']:.3f} | {t['hybridized'] / t['numpy tuned']:.2f} | "
                     f"{t['eager'] / t['hybridized']:.2f} | {torch_ms} |")
    spread = " ".join(f"{r:.2f}" for r in sorted(ratios))
    one = " ".join(f"{r:.2f}" for r in sorted(one_block))
    tuned = " ".join(f"{r:.2f}" for r in sorted(tuned_ratios))
    lines += ["", f"The MLP row is the median of {len(ratios)} rounds (each 420 interleaved calls "
              f"per variant; this shared machine's load changes between rounds). Hybridized / "
              f"floor per round: {spread}; hybridized / tuned floor: {tuned}. The tuned floor "
              "is the same hand-written numpy with the two kernel choices kiln makes: relu "
              "against a zeros array (numpy's vectorized `maximum` loop; against the scalar 0 "
              "it takes a loop ~3x slower) and the SGD update as one BLAS axpy (numpy's "
              "`w -= lr * g` writes and rereads a temporary the size of the weight).", "",
              "With the loss inside the hybridized block (`WithLoss`: `forward(x, y)` returns "
              "`loss_fn(net(x), y)`, one compiled graph and one tape node per step): "
              f"{mlp_times['hybridized, one block']:.3f} ms in the median round; per round "
              f"{one} times the floor. (Three full runs of this code on one day gave "
              "median two-block ratios of 1.00, 0.98 and 1.06, one-block 0.95, 0.93 and 1.01; "
              "the load of the shared machine moves them more than small code changes do.)",
              "", f"The seed's numpy code as written (``ones`` re-created in the loop): "
              f"{seed['numpy as written']:.3f} ms.", "",
              "Peak memory allocated during one MLP training step (tracemalloc): "
              + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in mem.items()) + ".", "",
              "Framework overhead per training step, measured on the same MLP shrunk until "
              "the array work is negligible (hidden 8, batch 4; kiln minus the numpy step): "
              f"hybridized {1e3 * (tiny['hybridized'] - tiny['numpy']):.0f} µs, eager "
              f"{1e3 * (tiny['eager'] - tiny['numpy']):.0f} µs (numpy step "
              f"{1e3 * tiny['numpy']:.0f} µs). What separates the hybridized MLP step from the "
              "tuned floor is this Python work (two block calls and their tape nodes, the "
              "chained backward, the Trainer's plan) and the loss, whose value kiln computes "
              "and the floor never does; kiln's compiled functions alone, called back to back "
              "without the Gluon calls around them, run at the floor (measured 0.99-1.02x). "
              "Between the large matrix products the Python work runs with cold caches, so it "
              "costs about twice what the shrunk MLP shows (~80-120 µs in the full step).", "",
              "History (kiln 0.1.0, 2026-11): the MLP step was 1.22-1.41x the floor before "
              "the training-step work (overhead ~185 µs), 1.14-1.24x after it; the axpy update, "
              "vectorized relu and gradients computed in the .grad arrays brought it to "
              "the figures above. The seed loop reached the "
              "floor once identical constants were merged (CSE before constant folding) and "
              "went below it with the vectorized relu. 2026-12-07: measured on a Xeon "
              "2-vCPU machine (earlier rows: an AMD EPYC one, whose MLP step was 1.00x the "
              "floor, eager overhead 572 µs). The same day Dense's gradient stopped "
              "reshaping 2-d arrays and the input check got a quick path: the shrunk MLP's "
              "eager step 357 -> 276-290 µs on this machine (alternating runs); the eager "
              "softmax cross-entropy became one fused op. 2026-12-08: fewer Python layers in "
              "the training step (the loss gradient's row split and the backward's donation "
              "scope only where they act, gradients computed in .grad marked as they arrive, "
              "plain SGD in one loop, eager blocks past Block.__call__): a shrunk MLP's "
              "hybridized step (5-4-4-3, batch 2) 126-148 -> 100-113 µs in processes "
              "alternating with the tree before; the MLP step 1.10 -> 1.00-1.03x the floor in "
              "three runs within the hour, whose overheads read 76-100 µs as the machine's "
              "speed moved (the floor 0.77-1.01 ms).", ""]
    return "\n".join(lines)


def _torch_version():
    try:
        import torch
    except ImportError:
        return None
    return torch.__version__


def write_section(text, section=SECTION):
    """Replace ``section`` (a ``## `` heading and its body) in docs/benchmarks.md."""
    old = "# Benchmarks\n"
    if os.path.exists(DOCS):
        with open(DOCS) as f:
            old = f.read()
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
    first, mem = run_mlp()
    rounds = [first] + [run_mlp(extras=False)[0] for _ in range(ROUNDS - 1)]
    for r in rounds[1:]:  # torch is timed once
        r.setdefault("torch", first.get("torch"))
    rounds = [{k: v for k, v in r.items() if v is not None} for r in rounds]
    ratios = [r["hybridized"] / r["numpy"] for r in rounds]
    times = rounds[int(np.argsort(ratios)[len(ratios) // 2])]
    tuned_ratios = [r["hybridized"] / r["numpy tuned"] for r in rounds]
    one_block = [r["hybridized, one block"] / r["numpy"] for r in rounds]
    tiny, _ = run_mlp(batch=4, hidden=8, extras=False)
    text = table(seed, times, mem, tiny, ratios, tuned_ratios, one_block)
    print(text)
    if not args.no_write:
        write_section(text)


if __name__ == "__main__":
    sys.exit(main())
