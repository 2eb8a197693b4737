"""kiln on the GPU (cupy): eager vs hybridized vs a hand-written cupy floor vs PyTorch (CUDA).

The same two benchmarks as benchmarks/hybridize.py, run on ``gpu(0)``: the seed loop
``x = relu(x @ ones(100, 100))`` x100, and the 784-256-256-10 MLP training step (softmax
cross-entropy, SGD) at batch 64 (launch-bound) and batch 8192 (compute-bound).

Usage (on a machine with cupy and a CUDA device): ``python benchmarks/gpu.py [--no-write]``.
Each call ends with a device synchronization, so a time is a whole step, not its launch;
per-call 10th percentiles, variants interleaved call by call.
"""
import argparse
import os
import platform
import sys

import kiln as kl
import numpy as np
from kiln import gluon, nd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hybridize as cpu_bench  # noqa: E402  (the CPU benchmark's models and numpy floor)

SECTION = "## GPU (benchmarks/gpu.py)"


def synced(fn, sync):
    def call():
        fn()
        sync()
    return call


def best(fns, number, repeat=7):
    return cpu_bench.best(fns, number, repeat)


def torch_cuda():
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


def run_seed(cp, torch):
    gpu = kl.gpu(0)
    x = nd.array(np.random.default_rng(0).normal(size=(100, 100)) * 1e-3, ctx=gpu)
    eager, hyb = cpu_bench.Seed(), cpu_bench.Seed()
    hyb.hybridize(static_alloc=True)
    xc, w = x._data, cp.ones((100, 100), cp.float32)

    def floor():
        y = xc
        for _ in range(100):
            y = cp.maximum(y @ w, 0)
        return y

    sync = cp.cuda.Device(0).synchronize
    with gpu:
        fns = {"eager": synced(lambda: eager(x), sync), "hybridized": synced(lambda: hyb(x), sync),
               "floor": synced(floor, sync)}
        for f in fns.values():
            f()
        times = best(fns, number=5)
    if torch is not None:
        xt, wt = torch.as_tensor(x.asnumpy(), device="cuda"), torch.ones(100, 100, device="cuda")

        def seed():
            y = xt
            for _ in range(100):
                y = torch.relu(y @ wt)
        times.update(best({"torch": synced(seed, torch.cuda.synchronize)}, number=5))
    return times


def run_mlp(cp, torch, batch):
    gpu = kl.gpu(0)
    rng = np.random.default_rng(0)
    xn, yn = rng.normal(size=(batch, 784)).astype(np.float32), rng.integers(0, 10, size=batch)
    x, y = nd.array(xn, ctx=gpu), nd.array(yn, ctx=gpu)
    sync = cp.cuda.Device(0).synchronize
    variants = {}
    for name, hybrid in (("eager", False), ("hybridized", True)):
        net = cpu_bench.mlp()
        net.collect_params().reset_ctx(gpu)
        loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
        if hybrid:
            net.hybridize(static_alloc=True)
            loss_fn.hybridize(static_alloc=True)
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1})
        variants[name] = synced(cpu_bench.kiln_step(net, trainer, loss_fn, x, y), sync)
    params = [cp.asarray(p.data().asnumpy()) for p in cpu_bench.mlp().collect_params().values()]
    variants["floor"] = synced(cpu_bench.numpy_step(params, cp.asarray(xn), cp.asarray(yn),
                                                    xp=cp), sync)
    for f in variants.values():
        f()
    times = best(variants, number=20)
    if torch is not None:
        model_step = _torch_mlp_step(torch, torch.as_tensor(xn, device="cuda"),
                                     torch.as_tensor(yn, device="cuda"))
        model_step()
        times.update(best({"torch": synced(model_step, torch.cuda.synchronize)}, number=20))
    return times


def _torch_mlp_step(torch, x, y):
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10)).cuda()
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        sgd.zero_grad()
        loss_fn(model(x), y).backward()
        sgd.step()
    return step


def table(cp, torch, rows):
    gpu_name = cp.cuda.runtime.getDeviceProperties(0)["name"].decode()
    lines = [SECTION, "",
             f"Machine: {gpu_name}, {os.cpu_count()} CPU cores; Python "
             f"{platform.python_version()}, numpy {np.__version__}, cupy {cp.__version__}, kiln "
             f"{kl.__version__}{', torch ' + torch.__version__ if torch else ''}. Milliseconds "
             "per call, each call ending in a device synchronization: the 10th percentile of "
             "35-140 calls per variant, interleaved call by call.", "",
             "| benchmark | eager | hybridized | cupy floor | hybridized / floor | "
             "eager / hybridized | torch (CUDA, eager) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, t in rows:
        torch_ms = f"{t['torch']:.3f}" if "torch" in t else "not installed"
        lines.append(f"| {name} | {t['eager']:.3f} | {t['hybridized']:.3f} | {t['floor']:.3f} "
                     f"| {t['hybridized'] / t['floor']:.2f} | {t['eager'] / t['hybridized']:.2f}"
                     f" | {torch_ms} |")
    lines.append("")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    if kl.num_gpus() == 0:
        print("no GPU (cupy and a CUDA device are needed): nothing measured")
        return 0
    import cupy as cp
    torch = torch_cuda()
    rows = [("seed: relu(x @ ones) x100", run_seed(cp, torch))]
    for batch in (64, 8192):
        rows.append((f"MLP training step, batch {batch}", run_mlp(cp, torch, batch)))
    text = table(cp, torch, rows)
    print(text)
    if not args.no_write:
        cpu_bench.write_section(text, SECTION)
    return 0


if __name__ == "__main__":
    sys.exit(main())
