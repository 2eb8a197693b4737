"""Benchmark: a ResNet-18-sized conv/pool stack, forward and forward+backward.

Compares kiln (eager, autograd tape) with a hand-written numpy implementation of the same stack
(im2col by ``sliding_window_view`` + one ``tensordot`` per layer: the floor a numpy library can
reach) and, when importable, PyTorch on the CPU. Prints a table and writes/replaces the section
"## Convolution stack (benchmarks/conv.py)" of docs/benchmarks.md.

Run: ``python benchmarks/conv.py [--repeat 5] [--no-doc]``
"""
import argparse
import os
import platform
import re
import time

import kiln
import numpy as np
from kiln import autograd, nd
from numpy.lib.stride_tricks import sliding_window_view

BATCH, IMG = 32, 32
# (in, out, stride) of the 3x3 convolutions (pad 1); a 3x3/2 max pool follows the first one
CONVS = [(3, 64, 1), (64, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1),
         (256, 512, 2), (512, 512, 1)]
SECTION = "## Convolution stack (benchmarks/conv.py)"
DOC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                   "benchmarks.md")


def make_weights(seed=0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((co, ci, 3, 3)) * np.sqrt(2 / (9 * ci))).astype(np.float32)
            for ci, co, _ in CONVS]


# ---- kiln ---------------------------------------------------------------------------------------
def kiln_forward(x, ws):
    h = x
    for k, (w, (_, co, s)) in enumerate(zip(ws, CONVS)):
        h = nd.Convolution(h, w, kernel=(3, 3), stride=(s, s), pad=(1, 1), num_filter=co,
                           no_bias=True)
        if k == 0:
            h = nd.Pooling(h, kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="max")
    return nd.Pooling(h, global_pool=True, pool_type="avg", kernel=(1, 1))


def kiln_step(x, ws, backward):
    if not backward:
        return kiln_forward(x, ws).asnumpy()
    with autograd.record():
        y = kiln_forward(x, ws)
    y.backward(nd.ones(y.shape))
    return ws[-1].grad.asnumpy()


# ---- hand-written numpy floor -----------------------------------------------------------------
def np_conv(x, w, s):
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = sliding_window_view(xp, (3, 3), axis=(2, 3))[:, :, ::s, ::s]  # (N, C, H, W, 3, 3)
    y = np.tensordot(w, cols, axes=([1, 2, 3], [1, 4, 5]))               # (F, N, H, W)
    return np.ascontiguousarray(y.transpose(1, 0, 2, 3)), cols


def np_conv_back(gy, w, cols, xshape, s):
    gw = np.tensordot(gy, cols, axes=([0, 2, 3], [0, 2, 3]))             # (F, C, 3, 3)
    gcols = np.tensordot(w, gy, axes=([0], [1]))                        # (C, 3, 3, N, H, W)
    n, c, h, wd = xshape
    gxp = np.zeros((c, n, h + 2, wd + 2), gy.dtype)
    oh, ow = gy.shape[2:]
    for i in range(3):
        for j in range(3):
            gxp[:, :, i:i + s * (oh - 1) + 1:s, j:j + s * (ow - 1) + 1:s] += gcols[:, i, j]
    return gxp[:, :, 1:-1, 1:-1].transpose(1, 0, 2, 3), gw


def np_maxpool(x):
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    win = sliding_window_view(xp, (3, 3), axis=(2, 3))[:, :, ::2, ::2]
    flat = win.reshape(win.shape[:4] + (9,))
    arg = flat.argmax(-1)
    return np.take_along_axis(flat, arg[..., None], -1)[..., 0], arg


def np_maxpool_back(gy, arg, xshape):
    n, c, h, w = xshape
    gxp = np.zeros((n, c, h + 2, w + 2), gy.dtype)
    oh, ow = gy.shape[2:]
    for i in range(3):
        for j in range(3):
            gxp[:, :, i:i + 2 * (oh - 1) + 1:2, j:j + 2 * (ow - 1) + 1:2] += \
                np.where(arg == 3 * i + j, gy, 0)
    return gxp[:, :, 1:-1, 1:-1]


def numpy_step(x, ws, backward):
    tape, h = [], x
    for k, (w, (_, _, s)) in enumerate(zip(ws, CONVS)):
        y, cols = np_conv(h, w, s)
        tape.append(("conv", w, cols, h.shape, s))
        h = y
        if k == 0:
            y, arg = np_maxpool(h)
            tape.append(("pool", arg, h.shape))
            h = y
    out = h.mean(axis=(2, 3), keepdims=True)
    if not backward:
        return out
    g = np.broadcast_to(np.ones_like(out) / (h.shape[2] * h.shape[3]), h.shape)
    grads = []
    for rec in reversed(tape):
        if rec[0] == "pool":
            g = np_maxpool_back(g, rec[1], rec[2])
        else:
            g, gw = np_conv_back(g, rec[1], rec[2], rec[3], rec[4])
            grads.append(gw)
    return grads[0]


# ---- torch (optional) -------------------------------------------------------------------------
def torch_step_factory():
    try:
        import torch
    except ImportError:
        return None, None
    F = torch.nn.functional

    def step(x, ws, backward):
        h = x
        for k, (w, (_, _, s)) in enumerate(zip(ws, CONVS)):
            h = F.conv2d(h, w, stride=s, padding=1)
            if k == 0:
                h = F.max_pool2d(h, 3, 2, 1)
        y = h.mean(dim=(2, 3), keepdim=True)
        if backward:
            y.backward(torch.ones_like(y))
            return ws[-1].grad.numpy()
        return y.detach().numpy()
    return torch, step


# ---- harness ---------------------------------------------------------------------------------
def interleaved(fns, repeat):
    """Median ms per function, running them round-robin so load changes hit all alike."""
    for fn in fns:
        fn()  # warm-up
    ts = [[] for _ in fns]
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            ts[k].append(time.perf_counter() - t0)
    return [float(np.median(t)) * 1e3 for t in ts]


def run(repeat):
    x = np.random.default_rng(1).standard_normal((BATCH, 3, IMG, IMG)).astype(np.float32)
    ws = make_weights()
    kx = nd.array(x)
    kws = [nd.array(w) for w in ws]
    for w in kws:
        w.attach_grad()
    ref = numpy_step(x, ws, False)
    np.testing.assert_allclose(kiln_step(kx, kws, False), ref, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(kiln_step(kx, kws, True), numpy_step(x, ws, True), rtol=1e-3,
                               atol=1e-4)
    impls = [("kiln", lambda b: kiln_step(kx, kws, b)),
             ("numpy (hand-written floor)", lambda b: numpy_step(x, ws, b))]
    torch, tstep = torch_step_factory()
    tver = None
    if torch is not None:
        tver = torch.__version__
        tx = torch.tensor(x)
        tws = [torch.tensor(w, requires_grad=True) for w in ws]
        impls.append((f"PyTorch CPU ({torch.get_num_threads()} threads)",
                      lambda b: tstep(tx, tws, b)))
    fwd = interleaved([lambda f=f: f(False) for _, f in impls], repeat)
    both = interleaved([lambda f=f: f(True) for _, f in impls], repeat)
    return [(name, a, b) for (name, _), a, b in zip(impls, fwd, both)], tver


def table(rows):
    base = rows[1][2]
    lines = ["| implementation | forward (ms) | forward + backward (ms) | fwd+bwd vs numpy |",
             "|---|---:|---:|---:|"]
    for name, f, fb in rows:
        lines.append(f"| {name} | {f:.1f} | {fb:.1f} | {fb / base:.2f}x |")
    return "\n".join(lines)


def section(rows, tver, repeat):
    stack = ", ".join(f"{ci}->{co}" + (f"/s{s}" if s > 1 else "") for ci, co, s in CONVS)
    return "\n".join([
        SECTION, "",
        f"Batch {BATCH}, input 3x{IMG}x{IMG} float32: 3x3 convolutions (pad 1, no bias) "
        f"{stack}; a 3x3/2 max pool after the first; global average pool. Median of {repeat} "
        "runs after a warm-up, implementations interleaved; backward = gradients of all "
        "weights (head gradient of ones).",
        "",
        f"- machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs; 1-min load average {os.getloadavg()[0]:.1f} at the end of "
        "the run (well above 1 means other processes shared the CPUs: timings are noisy)",
        f"- numpy {np.__version__}, torch {tver or 'not installed'}, kiln {kiln.__version__}"
        if hasattr(kiln, "__version__") else
        f"- numpy {np.__version__}, torch {tver or 'not installed'}",
        "", table(rows), ""])


def write_doc(text):
    old = open(DOC).read() if os.path.exists(DOC) else "# Benchmarks\n"
    pat = re.compile(re.escape(SECTION) + r".*?(?=^## |\Z)", re.S | re.M)
    new = pat.sub(lambda m: text + "\n", old) if pat.search(old) else \
        old.rstrip("\n") + "\n\n" + text + "\n"
    with open(DOC, "w") as f:
        f.write(new.rstrip("\n") + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--no-doc", action="store_true")
    args = ap.parse_args()
    rows, tver = run(args.repeat)
    text = section(rows, tver, args.repeat)
    print(text)
    if not args.no_doc:
        write_doc(text)


if __name__ == "__main__":
    main()
