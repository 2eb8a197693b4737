"""Sequence models: an LSTM/GRU language-model training step and a Transformer encoder layer.

* W4: 2-layer LSTM LM (vocab 10,000, embedding 256, hidden 256, sequence 35, batch 20), one
  training step: embedding -> LSTM -> Dense decoder -> softmax cross-entropy -> backward ->
  SGD update (lr 0.1, zero initial states). Variants: kiln eager, kiln hybridized, a
  hand-written numpy floor (the same step, tuned: fused gate GEMMs, sigmoid through one tanh),
  PyTorch eager (nn.Embedding + nn.LSTM + nn.Linear + CrossEntropyLoss + optim.SGD) and MXNet
  1.9 Gluon (hybridized, in a subprocess, when /work/main/.mxnet-venv exists).
* GRU: the same shapes with a GRU.
* Transformer encoder layer (batch 32, sequence 128, d 512, 8 heads, FFN 2048, post-norm,
  relu, no dropout), forward + backward (head gradient of ones, every weight's gradient):
  kiln from nn layers (Dense, LayerNorm, the interleaved self-attention ops) against
  torch.nn.TransformerEncoderLayer.
* Memory: peak bytes allocated during one step. tracemalloc sees numpy's buffers (kiln and
  the floor) but not torch's allocator, so every variant is also measured as the growth of the
  process's resident set during one step (Linux: the peak RSS is reset through
  /proc/self/clear_refs before the step, read from VmHWM after it).

Usage: ``python benchmarks/sequence.py [--no-write] [--quick]``. Times are per-call 10th
percentiles; kiln's variants and the floor are interleaved call by call, torch (whose worker
threads keep spinning after a call) is timed in its own block right after them, and each
benchmark runs ``ROUNDS`` such rounds (the median round is reported).
"""
import argparse
import gc
import json
import os
import platform
import subprocess
import sys
import time
import tracemalloc

import kiln as kl
import numpy as np
from kiln import autograd, gluon, nd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hybridize import write_section  # noqa: E402

SECTION = "## Sequence models (benchmarks/sequence.py)"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MXNET_PY = os.path.join(ROOT, ".mxnet-venv", "bin", "python")
V, E, H, T, N, LAYERS, LR = 10000, 256, 256, 35, 20, 2, 0.1


# ---- kiln -------------------------------------------------------------------------------------
class LM(gluon.HybridBlock):
    def __init__(self, mode):
        super().__init__()
        self.embedding = gluon.nn.Embedding(V, E)
        cls = gluon.rnn.LSTM if mode == "lstm" else gluon.rnn.GRU
        self.rnn = cls(H, LAYERS, input_size=E)
        self.decoder = gluon.nn.Dense(V, flatten=False, in_units=H)

    def forward(self, x):
        return self.decoder(self.rnn(self.embedding(x)))


def kiln_lm_step(mode, data, label, hybrid):
    net = LM(mode)
    net.initialize(kl.init.Xavier())
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    if hybrid:
        net.hybridize(static_alloc=True)
        loss_fn.hybridize(static_alloc=True)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": LR})
    x, y = nd.array(data), nd.array(label)

    def step():
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(N)
    return step


class EncoderLayer(gluon.HybridBlock):
    """Post-norm Transformer encoder layer on (T, N, C) data, as torch's default."""

    def __init__(self, d=512, heads=8, ffn=2048):
        super().__init__()
        self.heads = heads
        self.qkv = gluon.nn.Dense(3 * d, flatten=False, in_units=d)
        self.proj = gluon.nn.Dense(d, flatten=False, in_units=d)
        self.ln1 = gluon.nn.LayerNorm(in_channels=d)
        self.ffn1 = gluon.nn.Dense(ffn, flatten=False, in_units=d, activation="relu")
        self.ffn2 = gluon.nn.Dense(d, flatten=False, in_units=ffn)
        self.ln2 = gluon.nn.LayerNorm(in_channels=d)

    def forward(self, x):
        qkv = self.qkv(x)
        att = nd.softmax(nd.interleaved_matmul_selfatt_qk(qkv, heads=self.heads), axis=-1)
        x = self.ln1(x + self.proj(nd.interleaved_matmul_selfatt_valatt(qkv, att,
                                                                          heads=self.heads)))
        return self.ln2(x + self.ffn2(self.ffn1(x)))


def kiln_encoder_step(x_np, hybrid):
    net = EncoderLayer()
    net.initialize(kl.init.Xavier())
    if hybrid:
        net.hybridize(static_alloc=True)
    x = nd.array(x_np)

    def step():
        with autograd.record():
            out = net(x)
        out.backward()
    return step


# ---- the numpy floor ----------------------------------------------------------------------------
def _sig(a):
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


def numpy_lstm_step(data, label, seed=0):
    """The W4 LSTM step by hand: (4H, in) gate weights (i, f, g, o), one input GEMM per layer
    for the whole sequence, one recurrent GEMM per step, BPTT with the weight gradients as
    whole-sequence GEMMs; softmax CE averaged per position; in-place SGD."""
    rng = np.random.default_rng(seed)
    f32 = np.float32
    emb = rng.normal(0, 0.05, (V, E)).astype(f32)
    layers = []
    for layer in range(LAYERS):
        ni = E if layer == 0 else H
        layers.append([rng.normal(0, 0.05, (4 * H, ni)).astype(f32),
                       rng.normal(0, 0.05, (4 * H, H)).astype(f32), np.zeros(4 * H, f32)])
    wd, bd = rng.normal(0, 0.05, (V, H)).astype(f32), np.zeros(V, f32)
    idx, lab = data.astype(np.int64), label.astype(np.int64).reshape(-1)
    rows = np.arange(T * N)

    def step():
        x = emb[idx]                                         # (T, N, E)
        saved = []
        for wi, wh, b in layers:
            act = (x.reshape(T * N, -1) @ wi.T + b).reshape(T, N, 4 * H)
            hs = np.empty((T + 1, N, H), f32)
            cs = np.empty((T + 1, N, H), f32)
            hs[0] = cs[0] = 0
            whT = wh.T.copy()
            for t in range(T):
                a = act[t]
                a += hs[t] @ whT
                _sig(a[:, :2 * H])
                np.tanh(a[:, 2 * H:3 * H], out=a[:, 2 * H:3 * H])
                _sig(a[:, 3 * H:])
                np.multiply(a[:, H:2 * H], cs[t], out=cs[t + 1])
                cs[t + 1] += a[:, :H] * a[:, 2 * H:3 * H]
                np.tanh(cs[t + 1], out=hs[t + 1])
                hs[t + 1] *= a[:, 3 * H:]
            saved.append((x, act, hs, cs))
            x = hs[1:]
        h2 = x.reshape(T * N, H)
        z = h2 @ wd.T
        z += bd
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        z[rows, lab] -= 1
        z *= 1.0 / (T * N)                                   # dz of the mean loss
        dwd, dbd = z.T @ h2, z.sum(0)
        dh_seq = (z @ wd).reshape(T, N, H)
        grads = []
        for (wi, wh, _b), (x, act, hs, cs) in zip(layers[::-1], saved[::-1]):
            i, f, g, o = (act[:, :, k * H:(k + 1) * H] for k in range(4))
            tc = np.tanh(cs[1:])
            dact = np.empty_like(act)
            dh = np.zeros((N, H), f32)
            dc = np.zeros((N, H), f32)
            for t in range(T - 1, -1, -1):
                dh += dh_seq[t]
                dc += dh * o[t] * (1 - tc[t] * tc[t])
                u = dact[t]
                np.multiply(dc, g[t], out=u[:, :H])
                np.multiply(dc, cs[t], out=u[:, H:2 * H])
                np.multiply(dc, i[t], out=u[:, 2 * H:3 * H])
                np.multiply(dh, tc[t], out=u[:, 3 * H:])
                u[:, :2 * H] *= act[t, :, :2 * H] * (1 - act[t, :, :2 * H])
                u[:, 2 * H:3 * H] *= 1 - g[t] * g[t]
                u[:, 3 * H:] *= o[t] * (1 - o[t])
                dc *= f[t]
                dh = u @ wh
            d2 = dact.reshape(T * N, 4 * H)
            grads.append((d2.T @ x.reshape(T * N, -1), d2.T @ hs[:T].reshape(T * N, H),
                          d2.sum(0)))
            dh_seq = (d2 @ wi).reshape(T, N, -1)
        demb = np.zeros_like(emb)
        np.add.at(demb, idx.reshape(-1), dh_seq.reshape(T * N, E))
        for (wi, wh, b), (dwi, dwh, db) in zip(layers[::-1], grads):
            wi -= LR * dwi
            wh -= LR * dwh
            b -= LR * db
        for w, g in ((wd, dwd), (bd, dbd), (emb, demb)):
            w -= LR * g
    return step


# ---- PyTorch ------------------------------------------------------------------------------------
def torch_lm_step(mode, data, label):
    import torch

    class TLM(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(V, E)
            cls = torch.nn.LSTM if mode == "lstm" else torch.nn.GRU
            self.rnn = cls(E, H, LAYERS)
            self.decoder = torch.nn.Linear(H, V)

        def forward(self, x):
            return self.decoder(self.rnn(self.embedding(x))[0])

    torch.manual_seed(0)
    net = TLM()
    sgd = torch.optim.SGD(net.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = torch.from_numpy(data.astype(np.int64)), torch.from_numpy(label.astype(np.int64))

    def step():
        sgd.zero_grad()
        loss_fn(net(x).reshape(-1, V), y.reshape(-1)).backward()
        sgd.step()
    return step


def torch_encoder_step(x_np):
    import torch
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(512, 8, 2048, dropout=0.0)   # (T, N, C), post-norm
    x = torch.from_numpy(x_np)

    def step():
        layer.zero_grad()
        layer(x).sum().backward()
    return step


def _torch_version():
    try:
        import torch
    except ImportError:
        return None
    return torch.__version__


# ---- MXNet 1.9 (a peer in a subprocess) ---------------------------------------------------------
MXNET_SCRIPT = r"""
import json, sys, time
import numpy as np
import mxnet as mx
from mxnet import autograd, gluon
mode, number, V, E, H, T, N, L, LR = sys.argv[1], int(sys.argv[2]), *map(float, sys.argv[3:])
V, E, H, T, N, L = map(int, (V, E, H, T, N, L))
class LM(gluon.HybridBlock):
    def __init__(self):
        super().__init__()
        with self.name_scope():
            self.embedding = gluon.nn.Embedding(V, E)
            cls = gluon.rnn.LSTM if mode == "lstm" else gluon.rnn.GRU
            self.rnn = cls(H, L, input_size=E)
            self.decoder = gluon.nn.Dense(V, flatten=False, in_units=H)
    def hybrid_forward(self, F, x):
        return self.decoder(self.rnn(self.embedding(x)))
net = LM()
net.initialize(mx.init.Xavier())
net.hybridize(static_alloc=True)
loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
loss_fn.hybridize(static_alloc=True)
trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": LR})
rng = np.random.default_rng(0)
x = mx.nd.array(rng.integers(0, V, (T, N)))
y = mx.nd.array(rng.integers(0, V, (T, N)))
def step():
    with autograd.record():
        loss = loss_fn(net(x), y)
    loss.backward()
    trainer.step(N)
    mx.nd.waitall()
for _ in range(3):
    step()
times = []
for _ in range(number):
    t = time.perf_counter()
    step()
    times.append(time.perf_counter() - t)
print(json.dumps({"ms": float(np.percentile(times, 10)) * 1e3, "version": mx.__version__}))
"""


def mxnet_lm(mode, number):
    if not os.path.exists(MXNET_PY):
        return None
    args = [MXNET_PY, "-c", MXNET_SCRIPT, mode, str(number)] + \
        [str(v) for v in (V, E, H, T, N, LAYERS, LR)]
    try:
        res = subprocess.run(args, capture_output=True, text=True, timeout=600,
                             env=dict(os.environ, MXNET_ENGINE_TYPE="NaiveEngine"))
        return json.loads(res.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError, OSError):
        return None


# ---- timing and memory --------------------------------------------------------------------------
def percentile_times(fns, number):
    """Per-call times, variants interleaved call by call; 10th percentile in ms."""
    times = {k: [] for k in fns}
    for _ in range(number):
        for k, f in fns.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    return {k: float(np.percentile(v, 10)) * 1e3 for k, v in times.items()}


def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def rss_peak_growth(step):
    """Growth of the resident set during one step (bytes): VmHWM after the step (its peak
    reset through clear_refs before it) minus VmRSS before it. None off Linux."""
    try:
        gc.collect()
        before = _status_kb("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        step()
        return (_status_kb("VmHWM") - before) * 1024
    except (OSError, TypeError):
        return None


def tracemalloc_peak(step):
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def memory(steps):
    """{name: (tracemalloc peak or None, RSS growth)} after two warm-up steps each; the RSS
    growth is the median of three steps."""
    out = {}
    for name, (step, traced) in steps.items():
        step()
        step()
        rss = sorted(rss_peak_growth(step) or 0 for _ in range(3))[1]
        out[name] = (tracemalloc_peak(step) if traced else None, rss)
    return out


def _time_rounds(fns, tstep, rounds, number):
    """``rounds`` rounds: kiln's variants (and the floor) interleaved call by call, then torch
    in a block with its default thread count and one with a single thread."""
    for f in fns.values():
        f()
    res = []
    for _ in range(rounds):
        r = percentile_times(fns, number)
        if tstep is not None:
            import torch
            default = torch.get_num_threads()
            for key, nt in (("torch", default), ("torch 1 thread", 1)):
                torch.set_num_threads(nt)
                tstep()
                r.update(percentile_times({key: tstep}, number))
            torch.set_num_threads(default)
        res.append(r)
    return res


def lm_variants(mode, with_torch=True):
    rng = np.random.default_rng(0)
    data, label = rng.integers(0, V, (T, N)), rng.integers(0, V, (T, N))
    fns = {"eager": kiln_lm_step(mode, data, label, False),
           "hybridized": kiln_lm_step(mode, data, label, True)}
    if mode == "lstm":
        fns["numpy"] = numpy_lstm_step(data, label)
    tstep = torch_lm_step(mode, data, label) if with_torch and _torch_version() else None
    return fns, tstep


def encoder_variants(with_torch=True):
    x = np.random.default_rng(0).normal(size=(128, 32, 512)).astype(np.float32)
    fns = {"eager": kiln_encoder_step(x, False), "hybridized": kiln_encoder_step(x, True)}
    tstep = torch_encoder_step(x) if with_torch and _torch_version() else None
    return fns, tstep


def memory_child(which):
    """Run in a child process (see ``memory_of``): peak memory of each variant's step."""
    fns, tstep = lm_variants(which) if which != "encoder" else encoder_variants()
    steps = {k: (f, True) for k, f in fns.items()}
    if tstep is not None:
        steps["torch"] = (tstep, False)
    print(json.dumps(memory(steps)))


def memory_of(which):
    """{variant: (tracemalloc peak, RSS growth)} measured in a fresh process whose malloc
    serves every block of 64 KiB or more with its own mapping (MALLOC_MMAP_THRESHOLD_), so
    that freed buffers leave the resident set at once and the RSS peak of a step is its peak
    of live large buffers, the same measure for numpy's and torch's allocations."""
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    try:
        res = subprocess.run([sys.executable, os.path.abspath(__file__), "--memory-child",
                              which], capture_output=True, text=True, timeout=900, env=env)
        return {k: tuple(v) for k, v in json.loads(res.stdout.strip().splitlines()[-1]).items()}
    except (subprocess.SubprocessError, ValueError, IndexError, OSError):
        return {}


def run_lm(mode, rounds, number):
    fns, tstep = lm_variants(mode)
    return _time_rounds(fns, tstep, rounds, number)


def run_encoder(rounds, number):
    fns, tstep = encoder_variants()
    return _time_rounds(fns, tstep, rounds, number)


def median_round(rounds, key="hybridized", ref="torch"):
    if not rounds or ref not in rounds[0]:
        return rounds[len(rounds) // 2]
    ratios = [r[key] / r[ref] for r in rounds]
    return rounds[int(np.argsort(ratios)[len(ratios) // 2])]


# ---- report -------------------------------------------------------------------------------------
def _ms(d, k):
    return f"{d[k]:.1f}" if d.get(k) is not None else "-"


def _mb(v):
    return "-" if v is None else f"{v / 1e6:.1f}"


def report(results, load, mx_version, notes=()):
    tv = _torch_version()
    lines = [SECTION, "",
             f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
             f"1-min load average {load[0]:.1f} at the start, {load[1]:.1f} at the end (above "
             "1 other processes shared the CPUs); Python "
             f"{platform.python_version()}, numpy {np.__version__}, kiln {kl.__version__}"
             f"{', torch ' + tv if tv else ''}{', MXNet ' + mx_version if mx_version else ''}. "
             "Milliseconds per step: 10th percentile of the calls of the median round (by "
             "hybridized / torch) of several rounds; kiln's variants and the numpy floor "
             "interleaved call by call, torch timed in blocks right after them in each round "
             "(its default thread count, then one thread), MXNet (hybridized, `static_alloc`, "
             "NaiveEngine, default threads, its own process) alone after them.", "",
             "| benchmark | kiln eager | kiln hybridized | numpy floor | torch eager | "
             "torch, 1 thread | MXNet 1.9 | hybridized / torch | hybridized / floor |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, (rounds, _mem, mxr) in results.items():
        r = median_round(rounds)
        ht = f"{r['hybridized'] / r['torch']:.2f}" if "torch" in r else "-"
        hf = f"{r['hybridized'] / r['numpy']:.2f}" if "numpy" in r else "-"
        mxs = f"{mxr['ms']:.1f}" if mxr else "-"
        lines.append(f"| {name} | {_ms(r, 'eager')} | {_ms(r, 'hybridized')} | "
                     f"{_ms(r, 'numpy')} | {_ms(r, 'torch')} | {_ms(r, 'torch 1 thread')} | "
                     f"{mxs} | {ht} | {hf} |")
    lines += ["", "Per round, hybridized / torch: " + "; ".join(
        f"{name} " + " ".join(f"{r['hybridized'] / r['torch']:.2f}" for r in rounds)
        for name, (rounds, _, _) in results.items() if "torch" in rounds[0]) + ".", "",
        "Peak memory of one step in MB, each benchmark in a fresh process after two warm-up "
        "steps: tracemalloc's peak (numpy's buffers: kiln and the floor; blind to torch's "
        "allocator) / growth of the resident set during the step (VmHWM reset through "
        "/proc/self/clear_refs before it, median of 3 steps; the process runs with "
        "MALLOC_MMAP_THRESHOLD_=65536, so every large buffer, numpy's or torch's, is its own "
        "mapping returned at free, and the growth is the step's peak of live large buffers "
        "beyond what it started with).", "",
        "| benchmark | kiln eager | kiln hybridized | numpy floor | torch eager |",
        "|---|---:|---:|---:|---:|"]
    for name, (_, mem, _) in results.items():
        cells = []
        for k in ("eager", "hybridized", "numpy", "torch"):
            if k not in mem:
                cells.append("-")
                continue
            tm, rss = mem[k]
            cells.append(f"{_mb(tm)} / {_mb(rss)}" if tm is not None else f"- / {_mb(rss)}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for note in notes:
        lines += ["", note]
    return "\n".join(lines)


NOTES = (
    "History (kiln 0.1.0, 2026-12-06): the first run of this benchmark measured W4 hybridized "
    "at 1.5-1.9x torch (250.9 ms against 133.0 ms, peak 124.6 MB). Its profile showed two "
    "costs, both fixed since: (1) `Dense(flatten=False)` on (T, N, C) data ran numpy's `matmul` "
    "of a 3-d array by a transposed 2-d weight, which numpy computes without BLAS: the LM's "
    "decoder forward (700x256 by 256x10000) took 320-570 ms against 45-130 ms as one 2-d GEMM, "
    "and every Dense of the encoder layer paid the same; it is now one 2-d product with the "
    "bias added in place. (2) In the hybridized training graph the backward ran the fused RNN "
    "forward a second time: the memory plan (`symbol/memory_plan.py`, `_provided_nodes`) "
    "counted the inputs of saved single-output nodes (the `zeros_like` of the unused state "
    "outputs' gradients) as reads of the RNN node's outputs. The peak (114.5 MB then) fell "
    "to 71.1 MB in two steps: a backward without retain_graph drops each hybridized call's "
    "inputs and saved arrays once its gradient is computed (the logits and the loss's saved "
    "exp die before the network's backward runs), and that last backward writes the "
    "softmax-CE gradient into the saved exp (`fused.donating`). What is left above torch in "
    "time: the loss forward's exp goes into a new logits-sized array (the Dense output is "
    "still held by the tape), and the extra page faults and Python dispatch of the graph.",
    "2026-12-07: peak memory of the hybridized step is now below torch's (66.9 MB tracemalloc"
    " / 66.6 MB RSS against 68.4 MB): the backward recomputes the RNN's flat parameter vector"
    " instead of holding it across the loss (symbol/remat.py), Embedding's gradient is "
    'scattered straight into its .grad buffer, and a result is copied on return only when it '
    "views a persistent buffer. Time is unchanged (1.49x torch): running the decoder's weight"
    " gradient on a second thread beside the RNN backward, and the RNN's step loops in batch "
    'blocks on both cores, both measured slower on this 2-vCPU machine (see '
    'docs/architecture.md, "Work beside the caller"; both are off by default). What is left: '
    "numpy's single-threaded exp and tanh (the loss's exp over 7M logits is ~2 ns an element,"
    " torch's vectorized one a third of that), and the per-step Python dispatch of the LSTM "
    'loop.',
    "2026-12-07, later: the fused RNN puts its own work on the second core (off with "
    "`KILN_RNN_BESIDE=0`; bitwise the numbers of one thread, tests/test_rnn_beside.py). The "
    "forward runs a unidirectional stack as a wavefront: layer 2's step loop on a worker, one "
    "chunk of 5 steps behind layer 1, its input projection chunk by chunk "
    "(`_rnn_threads.wavefront`); the backward computes each layer's weight gradients and the "
    "next layer's whole-sequence factors on a worker while the caller runs the next step loop, "
    "and the last layer's gradient GEMMs (written straight into the gradients, no temporaries: "
    "the peak stays 66.9 MB) are shared by both threads. The GRU's step runs its gates through "
    "onnxruntime as the LSTM's does (`_ort_kernels.GruCell`; the GRU forward's thread CPU time "
    "26.6 against 28.3 ms, p10 of 30 calls interleaved). This run shared the 2 vCPUs with other"
    " jobs at a load average of ~9, so its ratios are not those of a quiet machine: torch's "
    "default threads fall apart under load (its 1-thread step ran 2x faster than its default "
    "one), and the numpy floor too. The quiet baseline just before these changes (load 0.9-1.6)"
    " measured W4 hybridized at 157.9 ms against torch's 119.5 (1.32x; per round 1.17-1.34), "
    "GRU 1.11x, the encoder layer 1.04x. At this run's load the wavefront and the gradients "
    "beside the loops measured 0.945x the step time of one thread (median of 30 interleaved "
    "steps; p10 538 against 595 ms), and 0.99-1.01 (W4, GRU) at a load of 11-13, where no core "
    "is free; a quiet machine, where the second core idles during the step loops, is where they"
    " should pay, unmeasured yet. What is left, and still open: a quiet run of the new code "
    "against torch; the backward's two step loops still run one after the other (a backward "
    "wavefront would save ~3 ms of ~28 more); the decoder's three 700x256x10000 GEMMs are most "
    "of the step; the GRU's peak (65.4 MB) is above torch's (60.9 MB): it lies at the loss, "
    "where the logits and their exp are both alive.",
    "2026-12-07, evening (a quiet Xeon 2-vCPU machine; the earlier entries ran on an AMD "
    "EPYC one, where torch's MKL was relatively slower): before these changes this machine "
    "measured W4 hybridized 125.5 ms against torch's 69.6 (1.80x), the GRU 1.38x, the encoder "
    "layer 1.50x. (1) OpenBLAS's idle workers spun ~0.1 s after every multi-threaded product and"
    " took the second core from the RNN's own threads and onnxruntime's kernels: kiln now has "
    "them sleep after ~1.5 ms (ndarray/_blas_spin.py; W4 117 -> 99 ms by itself). (2) The "
    "LSTM's and GRU's step loops, forward and BPTT, run as onnxruntime Scans (ndarray/"
    "_ort_scan.py), and a unidirectional stack's backward as a wavefront of chunked Scans: "
    "W4's LSTM op forward + backward 50 -> 41-44 ms (torch 20-21), the GRU op's 39-40 -> 35 ms"
    " (torch 35-36). (3) The encoder layer: the attention softmax and LayerNorm's forward "
    "through onnxruntime's kernels, LayerNorm's parameter gradients summed without a float64 "
    "copy, the two attention products' gradients stacked once instead of twice and added "
    "(docs/architecture.md). (4) The Scans multiply by the recurrent weight as stored (no "
    "transposed copy each call) and a wavefront's first projection runs on every BLAS thread "
    "before the loops start. (5) The compiled graphs' large elementwise passes (ReLU's "
    "gradient, adds, products) run as a row block per core. The last run of the day had "
    "other load on the machine (torch 87.9 ms for W4), its ratios: W4 1.32x, GRU 1.00x, "
    "encoder 1.27x. What is left for W4: the products (the step LSTM GEMM takes "
    "~127 us in MLAS or OpenBLAS, ~63 in MKL; the decoder's three 700x256x10000 products ~13-15 "
    "ms each against torch's ~12).",
    "2026-12-07, night (the same Xeon machine, quiet, load ~1.2): W4 hybridized 105.1 ms "
    "against torch's 79.5 (1.31-1.35x per round), the GRU 1.02-1.08x, the encoder layer "
    "1.23-1.30x: the hybridized steps did not change. The eager LM steps did (W4 153-159 -> "
    "105-108 ms, the old and the new loss alternating in one sitting; the table's 177 was a "
    "loaded run): the eager SoftmaxCrossEntropyLoss is now the one fused op its "
    "hybridized graph uses (the 700x10000 logits' log-softmax, pick and their gradients as "
    "one forward and one backward kernel). RNN inference (no recording) runs onnxruntime's "
    "own LSTM/GRU kernels (W4's LSTM forward 17.6 -> 11.7 ms for both layers); training keeps "
    "the Scans, which write the reserve the backward reads (onnxruntime's LSTM kernel keeps "
    "no gates, and recomputing them costs what it saves).",
)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--quick", action="store_true", help="one short round each")
    parser.add_argument("--only", choices=("lstm", "gru", "encoder"), action="append")
    parser.add_argument("--memory-child", choices=("lstm", "gru", "encoder"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        return memory_child(args.memory_child)
    rounds, number = (1, 3) if args.quick else (3, 7)
    only = args.only or ("lstm", "gru", "encoder")
    load0 = os.getloadavg()[0]
    results, mx_version = {}, None
    for mode, title in (("lstm", "W4: 2-layer LSTM LM training step"),
                        ("gru", "2-layer GRU LM training step")):
        if mode in only:
            rs, mem = run_lm(mode, rounds, number), memory_of(mode)
            mxr = mxnet_lm(mode, 3 * number)
            mx_version = mx_version or (mxr or {}).get("version")
            results[title] = (rs, mem, mxr)
    if "encoder" in only:
        rs, mem = run_encoder(rounds, max(2, number // 2)), memory_of("encoder")
        results["Transformer encoder layer fwd+bwd"] = (rs, mem, None)
    text = report(results, (load0, os.getloadavg()[0]), mx_version, NOTES)
    print(text)
    if not args.no_write:
        write_section(text, SECTION)


if __name__ == "__main__":
    sys.exit(main())
