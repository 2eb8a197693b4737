"""First-call latency of a hybridized ResNet-18: trace, passes, code generation and the step.

ResNet-18 v1 (1000 classes) at 32x3x32x32, as benchmarks/models.py's W3: inference (``net(x)``)
and a training step (``autograd.record`` forward, ``SoftmaxCrossEntropyLoss``, backward,
``Trainer`` SGD step with momentum). Each measurement runs in a fresh process: it builds the
net, runs the eager call that initializes the deferred shapes, hybridizes, then times the
first call and three more (the steady call is their minimum).

The first call is split by wrapping kiln's compile functions (thread CPU time, each phase
exclusive of the phases it calls): **trace** (``CachedGraph._trace``: running ``forward`` on
tracers), **passes** (``passes.optimize``, the symbolic backward, rematerialization, the
saved values), **codegen** (memory planning, source generation, Python's ``compile``),
**cache** (the on-disk compile cache: hashing the graph, reading, checking and writing
entries); **step** is the rest of the first call (the kernels, first-touch memory, the
optimizer's state). "compile" is trace + passes + codegen + cache.

Cache variants: ``off`` (``KILN_COMPILE_CACHE=0``), ``cold`` (an empty cache folder: compiles
and writes entries) and ``warm`` (the folder the cold run of the same round filled: a second
process). ``--baseline PATH`` also runs a checkout of kiln at PATH (a folder holding a ``kiln``
package, e.g. ``git worktree`` output) with the cache off, in the same rounds.

Usage: ``OPENBLAS_NUM_THREADS=1 python benchmarks/first_call.py [--rounds R] [--no-write]
[--baseline PATH]``. Rounds interleave the variants (the order rotates each round); the table
gives medians over rounds. Times are CPU times of the calling thread (``time.thread_time``),
which a loaded machine disturbs far less than wall time; compare ratios within one run.
"""
import argparse
import builtins
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SECTION = "## First call of a hybridized ResNet-18 (benchmarks/first_call.py)"
PHASES = ("trace", "passes", "codegen", "cache")


def _instrument():
    """Wrap kiln's compile functions; returns the dict the phases' times accumulate in."""
    from kiln.symbol import cached, codegen, passes
    acc = dict.fromkeys(PHASES, 0.0)
    stack = []  # [phase, start] of the phases being timed, innermost last

    def wrap(owner, name, phase, fn=None):
        fn = fn or getattr(owner, name)

        def timed(*a, **k):
            t = time.thread_time()
            if stack:
                acc[stack[-1][0]] += t - stack[-1][1]
            stack.append([phase, t])
            try:
                return fn(*a, **k)
            finally:
                t = time.thread_time()
                acc[phase] += t - stack.pop()[1]
                if stack:
                    stack[-1][1] = t
        setattr(owner, name, timed)
    wrap(cached.CachedGraph, "_trace", "trace")
    for name in ("backward_graph", "rematerialize", "_saved_entries"):
        wrap(cached, name, "passes")
    wrap(passes, "optimize", "passes")
    wrap(codegen, "plan_graph", "codegen")
    wrap(codegen, "emit", "codegen")
    wrap(codegen, "compile", "codegen", builtins.compile)  # the generated source's compile()
    try:
        from kiln.symbol import compile_cache
    except ImportError:  # a baseline checkout from before the cache
        return acc
    for name in ("graph_key", "load", "store", "load_compiled", "dump_compiled"):
        wrap(compile_cache, name, "cache")
    return acc


def child(mode):
    acc = _instrument()
    import kiln
    from kiln import autograd, gluon, nd
    from kiln.model_zoo import vision
    kiln.random.seed(0)
    net = vision.resnet18_v1(classes=1000)
    net.initialize(kiln.init.Xavier())
    rng = np.random.default_rng(0)
    x = nd.array(rng.standard_normal((32, 3, 32, 32)).astype(np.float32))
    y = nd.array((np.arange(32) % 1000).astype(np.float32))
    net(x)  # deferred shapes: the eager call initializes
    net.hybridize()
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.01,
                                                          "momentum": 0.9})

    def step():
        if mode == "infer":
            return net(x).asnumpy()
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(x.shape[0])
        return loss.asnumpy()
    t = time.thread_time()
    step()
    first = time.thread_time() - t
    phases = dict(acc)
    steady = []
    for _ in range(3):
        t = time.thread_time()
        step()
        steady.append(time.thread_time() - t)
    res = {k: v * 1e3 for k, v in phases.items()}
    res["compile"] = sum(phases.values()) * 1e3
    res["first"], res["steady"] = first * 1e3, min(steady) * 1e3
    res["step"] = res["first"] - res["compile"]
    return res


def spawn(mode, cache, folder=None, path=None):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    env["KILN_COMPILE_CACHE"] = folder if cache != "off" else "0"
    if path:
        env["PYTHONPATH"] = path + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", mode],
                         capture_output=True, text=True, env=env, cwd=tempfile.gettempdir(),
                         timeout=600)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RuntimeError(f"child {mode}/{cache} failed: {out.stderr[-2000:]}") from None


def measure(rounds, baseline):
    variants = [(m, c) for m in ("train", "infer") for c in ("off", "cold", "warm")]
    if baseline:
        variants += [(m, "baseline") for m in ("train", "infer")]
    results = {v: [] for v in variants}
    for r in range(rounds):
        folders = {m: tempfile.mkdtemp(prefix="kiln-cc-") for m in ("train", "infer")}
        order = variants[r % len(variants):] + variants[:r % len(variants)]
        # a warm run needs its round's cold run first: run cold ones where warm ones fall
        order = sorted(order, key=lambda v: (v[1] == "warm", order.index(v)))
        for mode, cache in order:
            if cache == "baseline":
                res = spawn(mode, "off", path=baseline)
            else:
                res = spawn(mode, cache, folders[mode])
            results[(mode, cache)].append(res)
            print(mode, cache, {k: round(v, 1) for k, v in res.items()}, flush=True)
    return results


def table(results, rounds):
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [SECTION, "",
             f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load "
             f"average {load:.1f} at the end, numpy {np.__version__}, Python "
             f"{platform.python_version()}, OPENBLAS_NUM_THREADS=1. Milliseconds of the calling "
             f"thread's CPU time, median over {rounds} rounds of fresh processes (range in "
             "brackets). compile = trace + passes + codegen + cache; step = first call - "
             "compile; steady = a later call.", "",
             "| mode | cache | trace | passes | codegen | cache | compile | step | first call "
             "| steady |", "|---|---|---|---|---|---|---|---|---|---|"]
    for (mode, cache), runs in results.items():
        cells = []
        for k in (*PHASES, "compile", "step", "first", "steady"):
            vals = [r[k] for r in runs]
            cell = f"{np.median(vals):.1f}"
            if k in ("compile", "first") and len(vals) > 1:
                cell += f" [{min(vals):.0f}-{max(vals):.0f}]"
            cells.append(cell)
        lines.append(f"| {mode} | {cache} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", choices=["train", "infer"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", help="a folder holding another checkout's kiln package")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child)))
        return
    text = table(measure(args.rounds, args.baseline), args.rounds)
    print(text)
    if not args.no_write:
        sys.path.insert(0, HERE)
        from hybridize import write_section
        write_section(text, SECTION)


if __name__ == "__main__":
    main()
