"""Data-parallel training: 2 MPI ranks x 1 thread against 1 process x 2 threads.

Workloads (as benchmarks/models.py): the MLP 784-256-256-10 (relu) and ResNet-18 v1 (1000
classes, 3x32x32 inputs), SGD momentum 0.9, global batch 64: 32 per rank under ``kiln launch
-n 2`` with kvstore 'dist_sync' (the store runs the optimizer: MXNet's default), 64 in one
process. Both see the same global batches from the same initial weights, so their loss curves
can be compared (ResNet-18's BatchNorm normalizes each rank's 32 samples on their own, so its
curve differs by design; the MLP's must agree to float tolerance).

Measured per step (median of ``--steps`` after ``--warmup``): wall time, samples/s, and for the
ranks the time inside the gradient allreduce (packing, MPI, waiting for the other rank).
Writes docs/benchmarks-distributed.md (``--out``).

    python benchmarks/distributed.py [--steps 10] [--models mlp,resnet18]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
GLOBAL_BATCH = 64
MODELS = {"mlp": ("MLP 784-256-256-10", (784,), 10, 0.1),
          "resnet18": ("ResNet-18 v1, 3x32x32", (3, 32, 32), 1000, 0.01)}


def build(model):
    import kiln
    from kiln.gluon import nn
    kiln.random.seed(0)
    np.random.seed(0)
    if model == "mlp":
        net = nn.HybridSequential()
        net.add(nn.Dense(256, activation="relu", in_units=784),
                nn.Dense(256, activation="relu", in_units=256), nn.Dense(10, in_units=256))
    else:
        net = kiln.model_zoo.vision.resnet18_v1(classes=1000)
    net.initialize(kiln.init.Xavier())
    net.hybridize()
    return net


def global_batch(model, k):
    _, shape, classes, _ = MODELS[model]
    rng = np.random.RandomState(1000 + k)
    x = rng.standard_normal((GLOBAL_BATCH,) + shape).astype(np.float32)
    return x, (np.arange(GLOBAL_BATCH) * 7 + k) % classes


def worker(mode, model, steps, warmup, out):
    """Train ``warmup + steps`` steps; rank 0 writes timings and the loss curve to ``out``.
    'dist' overlaps the allreduce with the backward (the default), 'dist-serial' reduces at
    the step (``overlap=False``)."""
    import kiln
    dist = mode.startswith("dist")
    kv = kiln.kv.create("dist_sync") if dist else "device"  # single*: no store
    rank, n = (kv.rank, kv.num_workers) if dist else (0, 1)
    net = build(model)
    if model == "resnet18":  # materialize deferred shapes before the store broadcasts
        net(kiln.nd.zeros((1, 3, 32, 32)))
    trainer = kiln.gluon.Trainer(net.collect_params(), "sgd",
                                 {"learning_rate": MODELS[model][3], "momentum": 0.9},
                                 kvstore=kv, overlap=mode == "dist")

    def reduce_seconds():  # time the training thread spent in (or waiting for) allreduces
        if not dist:
            return 0.0
        ov = trainer._overlap
        return kv.allreduce_seconds + (ov.seconds if ov is not None else 0.0)
    loss_fn = kiln.gluon.loss.SoftmaxCrossEntropyLoss()
    per = GLOBAL_BATCH // n
    times, reduce_s, losses = [], [], []
    for k in range(warmup + steps):
        xg, yg = global_batch(model, k)
        x, y = kiln.nd.array(xg[rank * per:(rank + 1) * per]), kiln.nd.array(yg[rank * per:][:per])
        before = reduce_seconds()
        start = time.perf_counter()
        with kiln.autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(GLOBAL_BATCH)
        losses.append(float(loss.mean().asscalar()))
        times.append(time.perf_counter() - start)
        reduce_s.append(reduce_seconds() - before)
    grads = [p.grad() for p in net.collect_params().values() if p.grad_req != "null"]
    pure = 0.0
    ov = trainer._overlap if dist else None
    n_buckets = len(ov.buckets) if ov is not None and ov.buckets else 0
    if dist:
        from mpi4py import MPI
        losses = np.mean(MPI.COMM_WORLD.allgather(losses), axis=0).tolist()
        pure = _pure_allreduce(kv, [g.asnumpy() for g in grads])
    if rank == 0:
        from kiln.kvstore.comm import bucket_plan
        bucket_bytes = int(float(os.environ.get("KILN_KVSTORE_BUCKET_MB", 25)) * 2 ** 20)
        result = {"times": times[warmup:], "reduce": reduce_s[warmup:], "losses": losses,
                  "pure_reduce": pure,
                  "grad_mb": sum(g.size * 4 for g in grads) / 2 ** 20, "tensors": len(grads),
                  "buckets": len(bucket_plan([g.asnumpy() for g in grads], bucket_bytes)),
                  "overlap_buckets": n_buckets}
        with open(out, "w") as f:
            json.dump(result, f)


def _pure_allreduce(kv, arrays, repeat=20):
    """Median seconds of the store's bucketed allreduce of ``arrays`` alone, each after a
    barrier (no waiting for a slower rank)."""
    comm, times = kv._comm, []
    for _ in range(repeat):
        comm.barrier()
        start = time.perf_counter()
        comm.allreduce_(arrays)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def run(mode, model, steps, warmup):
    sys.path.insert(0, os.path.dirname(HERE))
    out = tempfile.mktemp(suffix=".json")
    me = [sys.executable, os.path.abspath(__file__), "--worker", mode, "--models", model,
          "--steps", str(steps), "--warmup", str(warmup), "--json", out]
    threads = "2" if mode == "single" else "1"
    env = dict(os.environ, OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads,
               KILN_THREADS=threads)
    if mode.startswith("dist"):
        cmd = [sys.executable, "-m", "kiln.tools.cli", "launch", "-n", "2", *me]
    else:
        cmd = me
    subprocess.run(cmd, env=env, check=True, timeout=3600)
    with open(out) as f:
        res = json.load(f)
    os.unlink(out)
    return res


def report(results, steps, warmup, repeat):
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = ["# Data-parallel training: 2 MPI ranks against 1 process", "",
             f"Written by `benchmarks/distributed.py` (2026-12-07; {os.cpu_count()} cores, "
             f"load average {load:.1f} when it finished). Global batch {GLOBAL_BATCH}; median "
             f"of {steps} steps after {warmup} warm-up steps (the best of {repeat} interleaved "
             "runs of each setting). '2 ranks' = `kiln launch -n 2`, kvstore 'dist_sync', 32 "
             "per rank, 1 BLAS thread each; '1 process' = batch 64, no store, "
             "OPENBLAS_NUM_THREADS=KILN_THREADS=2 or 1. Max loss diff: 2 ranks against "
             "1 process x 2 threads over the whole curve.", "",
             "Allreduce ms/step: the time inside the store's allreduce during training (packing, "
             "MPI, and waiting for the slower rank); in parentheses the same allreduce alone, "
             "after a barrier (median of 20).", "",
             "| model | run | step ms | samples/s | allreduce ms/step | grads | buckets "
             "| max loss diff |", "|---|---|---|---|---|---|---|---|"]
    for model, runs in results.items():
        single, dist = runs["single"], runs["dist"]
        diff = float(np.max(np.abs(np.array(dist["losses"]) - np.array(single["losses"]))))
        for name, r in runs.items():
            ms = 1000 * float(np.median(r["times"]))
            dist_only = name == "dist"
            name = {"single": "1 process x 2 threads", "single1": "1 process x 1 thread",
                    "dist": "2 ranks x 1 thread"}[name]
            red = f"{1000 * float(np.median(r['reduce'])):.1f}" if dist_only else "-"
            pure = f" ({1000 * r['pure_reduce']:.1f})" if dist_only else ""
            lines.append(f"| {MODELS[model][0]} | {name} | {ms:.1f} | "
                         f"{GLOBAL_BATCH / ms * 1000:.0f} | {red}{pure} | {r['tensors']} "
                         f"tensors, {r['grad_mb']:.1f} MB | "
                         f"{r['buckets'] if dist_only else '-'} | "
                         f"{f'{diff:.2e}' if dist_only else '-'} |")
    lines.append("")
    lines += ["Reading it: the rows compete for the same cores, so with a load average above "
              "the core count (other jobs running) the 2-thread and 2-rank rows lose most, and "
              "2-thread OpenBLAS in a crowded machine can collapse (threads spin waiting for "
              "each other). ResNet-18's curves differ by design: BatchNorm normalizes each "
              "rank's 32 samples (SyncBatchNorm would share the statistics). The MLP's agree "
              "to float rounding: the same global batches, gradients summed across ranks.", ""]
    for model, runs in results.items():
        single, dist = runs["single"], runs["dist"]
        lines.append(f"Loss curve, {MODELS[model][0]} (single / dist): " + ", ".join(
            f"{a:.5f}/{b:.5f}" for a, b in zip(single["losses"], dist["losses"])))
        lines.append("")
    return "\n".join(lines)


OVERLAP_START, OVERLAP_END = "<!-- overlap: start -->", "<!-- overlap: end -->"


def compare_overlap(args):
    """2 ranks, overlapped against reduced at the step, interleaved run by run; writes the
    section between the overlap markers of ``args.out`` (the rest of the file stays)."""
    rows = []
    for m in args.models.split(","):
        runs = {"dist": [], "dist-serial": []}
        for _ in range(args.repeat):
            for mode in runs:
                runs[mode].append(run(mode, m, args.steps, args.warmup))
        rows.append((m, runs))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [OVERLAP_START, "", "## Allreduce overlapped with the backward", "",
             f"Written by `benchmarks/distributed.py --overlap` (2026-12-07; {os.cpu_count()} "
             f"cores, load average {load:.1f} when it finished). 2 ranks x 1 thread "
             f"(`kiln launch -n 2`), kvstore 'dist_sync', {GLOBAL_BATCH // 2} per rank; median "
             f"of {args.steps} steps after {args.warmup} warm-up steps per run, {args.repeat} "
             "runs of each setting interleaved (overlapped, at the step, overlapped...). "
             "'wait ms' is the time the training thread spent in or waiting for allreduces "
             "per step (overlapped: step() waiting for buckets still in flight).", "",
             "| model | run | step ms per run | best | wait ms/step | buckets | "
             "max loss diff (overlapped - at step) |", "|---|---|---|---|---|---|---|"]
    for m, runs in rows:
        curves = [np.array(r["losses"]) for rs in runs.values() for r in rs]
        diff = max(float(np.max(np.abs(c - curves[0]))) for c in curves)
        for mode, rs in runs.items():
            meds = [1000 * float(np.median(r["times"])) for r in rs]
            best = min(rs, key=lambda r: np.median(r["times"]))
            name = "overlapped" if mode == "dist" else "at the step"
            buckets = best["overlap_buckets"] if mode == "dist" else best["buckets"]
            lines.append(f"| {MODELS[m][0]} | {name} | {', '.join(f'{t:.1f}' for t in meds)} | "
                         f"{min(meds):.1f} | {1000 * float(np.median(best['reduce'])):.1f} | "
                         f"{buckets} | {diff:.1e} |")
    lines += ["", OVERLAP_END]
    text = "\n".join(lines)
    print(text)
    old = open(args.out).read() if os.path.exists(args.out) else ""
    if OVERLAP_START in old and OVERLAP_END in old:
        head, rest = old.split(OVERLAP_START, 1)
        new = head + text + rest.split(OVERLAP_END, 1)[1]
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(new)
    os.replace(tmp, args.out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", default="mlp,resnet18")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--repeat", type=int, default=2,
                   help="runs of each setting, interleaved; the one with the best median counts")
    p.add_argument("--out", default=os.path.join(os.path.dirname(HERE), "docs",
                                                 "benchmarks-distributed.md"))
    p.add_argument("--overlap", action="store_true",
                   help="compare 2 ranks with the allreduce overlapped and at the step only; "
                        "rewrites the overlap section of --out")
    p.add_argument("--worker", choices=("single", "single1", "dist", "dist-serial"),
                   help=argparse.SUPPRESS)
    p.add_argument("--json", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args.worker, args.models, args.steps, args.warmup, args.json)
        return
    if args.overlap:
        compare_overlap(args)
        return
    results = {}
    for m in args.models.split(","):
        runs = {"single": [], "single1": [], "dist": []}
        for _ in range(args.repeat):  # interleaved: a busy spell hits all alike
            for mode in runs:
                runs[mode].append(run(mode, m, args.steps, args.warmup))
        results[m] = {mode: min(rs, key=lambda r: np.median(r["times"]))
                      for mode, rs in runs.items()}
    text = report(results, args.steps, args.warmup, args.repeat)
    print(text)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
