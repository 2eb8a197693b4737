"""Mixed precision (``kiln.amp``) and gradient checkpointing: peak memory and time of one
training step, float32 against AMP (float16 per the op registry's ``amp`` facets, float32
master weights, dynamic loss scaling), each with and without checkpointing; and the cost of
the dispatch point's AMP hook on eager op calls.

* ResNet-18 v1 (1000 classes), batch 32 at 32x32, SGD momentum, hybridized; checkpointing on
  the four residual stages (as benchmarks/checkpoint.py).
* The W4 LSTM LM of benchmarks/sequence.py (vocab 10,000, embedding and hidden 256, 2 layers,
  35x20), SGD, hybridized with static_alloc; checkpointing on the LSTM layer.

Each variant runs in its own process (tracemalloc's peak of numpy's buffers during one step
after warm-up steps; the step time is the median of ``--calls`` steps). Writes
docs/benchmarks-amp.md.

Usage: ``python benchmarks/amp.py [--no-write] [--calls N]``.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import timeit

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DOC = os.path.join(os.path.dirname(HERE), "docs", "benchmarks-amp.md")
NOTES = """
Why: numpy has no float16 matrix product in BLAS (it loops element by element), so on the CPU
every convolution, dense layer and LSTM gate product in float16 is many times slower than in
float32: AMP is for GPUs (cupy's float16 products use tensor cores), and on the CPU it only
shows that the mixed-precision graph is right. Memory: AMP keeps the float32 master weights
and also saves each layer's float16 weight copy for the backward (ResNet-18's 11.7 M
parameters: +23 MB), while the saved activations shrink to half; on these small inputs the
weight copies dominate, so the peak rises; checkpointing the residual stages recomputes
those casts in the backward instead of keeping them, which brings AMP's peak back to 0.90 of
float32. The LSTM LM's loss runs in float32 (softmax cross-entropy is on the fp32 list), so
its 700x10,000 logits exist in float16 and in float32. Checkpointing composes with AMP (the
recomputed blocks run in mixed precision too). The machine was shared and loaded (load
average ~12 on 2 cores): absolute times are inflated (an earlier float32 ResNet-18 step took
3.8 s) and the time ratios are rough.
"""
VARIANTS = [("float32", False, False), ("float32 + checkpoint", False, True),
            ("AMP", True, False), ("AMP + checkpoint", True, True)]


def _trainer_step(net, loss_fn, trainer, x, y, batch, use_amp):
    from kiln import amp, autograd

    def step():
        with autograd.record():
            loss = loss_fn(net(x), y)
            if use_amp:
                with amp.scale_loss(loss, trainer) as scaled:
                    autograd.backward(scaled)
        if not use_amp:
            loss.backward()
        trainer.step(batch)
    return step


def resnet_step(use_amp, checkpoint):
    sys.path.insert(0, HERE)
    from checkpoint import build_resnet
    from kiln import amp
    if use_amp:
        amp.init()
    net, loss_fn, trainer, x, y = build_resnet(checkpoint)
    if use_amp:
        amp.init_trainer(trainer)
    return _trainer_step(net, loss_fn, trainer, x, y, 32, use_amp)


def lm_step(use_amp, checkpoint):
    sys.path.insert(0, HERE)
    from kiln import amp, gluon, nd
    if use_amp:
        amp.init()
    import sequence as S
    net = S.LM("lstm")
    net.initialize()
    rng = np.random.default_rng(0)
    x = nd.array(rng.integers(0, S.V, (S.T, S.N)))
    y = nd.array(rng.integers(0, S.V, (S.T, S.N)))
    net(x)
    if checkpoint:
        net.rnn.checkpoint()
    net.hybridize(static_alloc=True)
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    loss_fn.hybridize(static_alloc=True)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": S.LR})
    if use_amp:
        amp.init_trainer(trainer)
    return _trainer_step(net, loss_fn, trainer, x, y, S.N, use_amp)


WORKLOADS = {"ResNet-18 training step": resnet_step, "W4 LSTM LM training step": lm_step}


def child(name, use_amp, checkpoint, calls):
    # the warm-up steps (hybridize, buffers) run inside measure; an AMP step that overflows
    # is timed the same
    sys.path.insert(0, HERE)
    from checkpoint import measure
    return measure(WORKLOADS[name](use_amp, checkpoint), calls)


def dispatch_child():
    """ns per eager call of relu and of x + y: AMP off, and on (relu has no rule: the hook's
    lookup only; add is 'widest' with two float32 inputs: no cast)."""
    import kiln as kl
    from kiln import amp
    x, y = kl.nd.ones((4, 4)), kl.nd.ones((4, 4))
    relu = kl.nd.relu

    def bench():
        r = min(timeit.repeat(lambda: relu(x), number=20000, repeat=7)) / 20000 * 1e9
        a = min(timeit.repeat(lambda: x + y, number=20000, repeat=7)) / 20000 * 1e9
        return r, a
    off = bench()
    amp.init()
    on = bench()
    return {"off": off, "on": on}


def spawn(*args):
    res = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", *args],
                         capture_output=True, text=True, timeout=3600)
    if res.returncode:
        raise RuntimeError(res.stderr[-2000:])
    return json.loads(res.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs="+")
    parser.add_argument("--calls", type=int, default=2)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    if args.child:
        if args.child[0] == "dispatch":
            print(json.dumps(dispatch_child()))
        else:
            name, a, c = args.child
            print(json.dumps(child(name, a == "1", c == "1", args.calls)))
        return 0
    lines = ["# Benchmarks: mixed precision and checkpointing (benchmarks/amp.py)", "",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
             f"load average {os.getloadavg()[0]:.1f} at the start; numpy {np.__version__}. "
             "Peak: tracemalloc's peak of one step (numpy's buffers) after two warm-up "
             f"steps; time: median of {args.calls} steps; each variant in its own process.",
             "", "| workload | variant | peak MB | peak vs float32 | ms | time vs float32 |",
             "|---|---|---:|---:|---:|---:|"]
    for name in WORKLOADS:
        base = None
        for label, use_amp, ck in VARIANTS:
            r = spawn(name, str(int(use_amp)), str(int(ck)), "--calls", str(args.calls))
            base = base or r
            lines.append(f"| {name} | {label} | {r['peak'] / 1e6:.1f} | "
                         f"{r['peak'] / base['peak']:.2f} | {r['ms']:.0f} | "
                         f"{r['ms'] / base['ms']:.2f} |")
            print(lines[-1], flush=True)
    d = spawn("dispatch")
    lines += ["", "Eager dispatch (ns per call, 4x4 float32, best of 7x20000):", "",
              "| call | AMP off | AMP on |", "|---|---:|---:|",
              f"| relu(x) (no amp rule) | {d['off'][0]:.0f} | {d['on'][0]:.0f} |",
              f"| x + y ('widest', both float32: no cast) | {d['off'][1]:.0f} | "
              f"{d['on'][1]:.0f} |"]
    text = "\n".join(lines) + "\n" + NOTES
    print(text)
    if not args.no_write:
        tmp = DOC + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, DOC)
    return 0


if __name__ == "__main__":
    sys.exit(main())
