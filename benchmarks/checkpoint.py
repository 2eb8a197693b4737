"""Gradient checkpointing (``HybridBlock.checkpoint()``): peak memory and time of one training
step with and without it.

* ResNet-18 v1 (1000 classes), batch 32 at 32x32, SGD momentum: the four residual stages
  (``features[4:8]``) checkpointed. Its BatchNorms run in training mode, which updates their
  running statistics: they are saved, not recomputed, so only the ReLUs and the additions of
  the residual blocks are freed.
* W4's LSTM LM (benchmarks/sequence.py: vocab 10,000, embedding and hidden 256, 2 layers,
  35x20), SGD: the LSTM layer checkpointed.

Each variant runs in its own process (tracemalloc's peak of numpy's buffers during one step
after two warm-up steps; the step time is the median of ``--calls`` steps).

Usage: ``python benchmarks/checkpoint.py [--no-write] [--calls N]``.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time
import tracemalloc

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SECTION = "## Gradient checkpointing (benchmarks/checkpoint.py)"


def build_resnet(checkpoint):
    """ResNet-18 at 32x3x32x32, stages 4-7 checkpointed when asked, hybridized with its loss:
    ``(net, loss_fn, trainer, x, y)`` (benchmarks/amp.py builds on it too)."""
    import kiln as kl
    from kiln import gluon, nd
    from kiln.model_zoo import vision
    kl.random.seed(0)
    net = vision.resnet18_v1(classes=1000)
    net.initialize(kl.init.Xavier())
    x = nd.array(np.random.default_rng(0).standard_normal((32, 3, 32, 32)).astype(np.float32))
    y = nd.array(np.arange(32) % 1000)
    net(x)
    if checkpoint:
        for k in range(4, 8):
            net.features[k].checkpoint()
    net.hybridize()
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    loss_fn.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.01, "momentum": 0.9})
    return net, loss_fn, trainer, x, y


def resnet_step(checkpoint):
    from kiln import autograd
    net, loss_fn, trainer, x, y = build_resnet(checkpoint)

    def step():
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(32)
    return step


def lm_step(checkpoint):
    sys.path.insert(0, HERE)
    import sequence as S
    from kiln import autograd, gluon, nd
    net = S.LM("lstm")
    net.initialize()
    rng = np.random.default_rng(0)
    x = nd.array(rng.integers(0, S.V, (S.T, S.N)))
    y = nd.array(rng.integers(0, S.V, (S.T, S.N)))
    net(x)
    if checkpoint:
        net.rnn.checkpoint()
    net.hybridize(static_alloc=True)  # as benchmarks/sequence.py's W4
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    loss_fn.hybridize(static_alloc=True)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": S.LR})

    def step():
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(S.N)
    return step


WORKLOADS = {"ResNet-18 training step": resnet_step, "W4 LSTM LM training step": lm_step}


def child(name, checkpoint, calls):
    return measure(WORKLOADS[name](checkpoint), calls)


def measure(step, calls):
    """Peak traced memory of one step after two warm-up steps, then the median of ``calls``
    timed steps (benchmarks/amp.py measures the same way)."""
    step()
    step()
    tracemalloc.start()
    tracemalloc.reset_peak()
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    times = []
    for _ in range(calls):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return {"peak": peak, "ms": float(np.median(times)) * 1e3}


def spawn(name, checkpoint, calls):
    res = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", name,
                          str(int(checkpoint)), "--calls", str(calls)],
                         capture_output=True, text=True, timeout=900)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=2)
    parser.add_argument("--calls", type=int, default=7)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1] == "1", args.calls)))
        return 0
    lines = [SECTION, "", f"Machine: {platform.processor() or platform.machine()}, "
             f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start; "
             f"numpy {np.__version__}. Peak: tracemalloc's peak of one step (numpy's buffers) "
             f"after two warm-up steps; time: median of {args.calls} steps; each variant in "
             "its own process.", "",
             "| workload | peak MB | with checkpoint | peak ratio | ms | with checkpoint | "
             "time ratio |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name in WORKLOADS:
        base, ck = spawn(name, False, args.calls), spawn(name, True, args.calls)
        lines.append(f"| {name} | {base['peak'] / 1e6:.1f} | {ck['peak'] / 1e6:.1f} | "
                     f"{ck['peak'] / base['peak']:.2f} | {base['ms']:.1f} | {ck['ms']:.1f} | "
                     f"{ck['ms'] / base['ms']:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        sys.path.insert(0, HERE)
        from hybridize import write_section
        write_section(text, SECTION)
    return 0


if __name__ == "__main__":
    sys.exit(main())
