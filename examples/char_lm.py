"""Train a character-level LSTM language model on text that ships with Python, export it to
ONNX and generate text from onnxruntime.

The corpus is the Zen of Python (``--corpus zen``: the ``this`` module's text, ~860
characters) or the docstrings of some standard-library modules (``--corpus stdlib``, the
default: ~100k characters): nothing is downloaded. The model is kiln's ``StandardRNN``
(``kiln.model_zoo.text.lm``: embedding, stacked LSTM, dropouts, a Dense decoder) over
characters, hybridized, trained with truncated BPTT as MXNet's ``word_language_model``
example: the text is cut into ``batch_size`` streams (T, N), each batch of ``bptt`` steps
starts from the detached states of the previous one. Each epoch reports the training and the
validation (last 10% of the text) perplexity, with a progress bar on stderr.

Then the model is exported to ONNX (one step: a (1, 1) character and the states in, logits and
states out, sequence and batch axes dynamic) and both kiln and onnxruntime generate text from
a prompt, greedily (or sampled with ``--temperature`` and ``--seed``): the two texts agree.

    python examples/char_lm.py --epochs 5       # stdlib docstrings: validation perplexity 8.8
    python examples/char_lm.py --corpus zen --epochs 40 --batch-size 4 --bptt 25 --lr 0.01 \
        --hidden 128                             # learns the Zen by heart
"""
import argparse
import codecs
import contextlib
import importlib
import inspect
import io
import json
import math
import os
import sys
import tempfile
import time
import warnings

import kiln
import numpy as np
from kiln import autograd, gluon, nd
from kiln.model_zoo.text.lm import StandardRNN

STDLIB = ["argparse", "collections", "csv", "difflib", "functools", "json", "logging",
          "pathlib", "pickle", "random", "shutil", "string", "subprocess", "textwrap",
          "threading", "unittest", "zipfile"]


def zen_text():
    """The Zen of Python: ``this.s`` is rot13-encoded (importing ``this`` prints it)."""
    with contextlib.redirect_stdout(io.StringIO()):
        this = importlib.import_module("this")
    return codecs.decode(this.s, "rot13")


def stdlib_text(max_chars):
    """Docstrings of some standard-library modules and of their public classes and functions
    (the Zen when Python runs with -OO, which strips them)."""
    parts = []
    for name in STDLIB:
        module = importlib.import_module(name)
        with warnings.catch_warnings():     # some attributes warn when read (deprecations)
            warnings.simplefilter("ignore")
            docs = [module.__doc__] + [
                inspect.getdoc(v) for k, v in sorted(vars(module).items())
                if not k.startswith("_") and getattr(v, "__module__", None) == name
                and (inspect.isclass(v) or inspect.isfunction(v))]
        parts.extend(d.strip() for d in docs if d)
    text = "\n\n".join(parts)[:max_chars]
    return text if len(text) > 1000 else zen_text()


class Progress:
    """A one-line progress bar on stderr: ``epoch 1/5 |######----| 30/50 loss 2.31``."""

    def __init__(self, total, label, width=30, stream=sys.stderr):
        self.total, self.label, self.width, self.stream = total, label, width, stream
        self.start = time.time()

    def update(self, done, **values):
        fill = int(self.width * done / max(self.total, 1))
        info = " ".join(f"{k} {v:.3f}" for k, v in values.items())
        self.stream.write(f"\r{self.label} |{'#' * fill}{'-' * (self.width - fill)}| "
                          f"{done}/{self.total} {info} {time.time() - self.start:.1f}s")
        self.stream.flush()

    def close(self):
        self.stream.write("\n")
        self.stream.flush()


def batchify(ids, batch_size):
    """ids (L,) -> (L // N, N): N contiguous streams side by side (MXNet's batchify)."""
    n = len(ids) // batch_size
    return np.ascontiguousarray(ids[:n * batch_size].reshape(batch_size, n).T)


def run_epoch(net, data, bptt, ce, trainer=None, clip=None, label=""):
    """One pass over data (T, N) in bptt-step batches; returns the perplexity."""
    bptt = max(1, min(bptt, data.shape[0] - 1))         # a short text: one shorter batch
    states = net.begin_state(batch_size=data.shape[1])
    steps = (data.shape[0] - 1) // bptt
    bar = Progress(steps, label) if label else None
    total = 0.0
    for k in range(steps):
        x = nd.array(data[k * bptt:(k + 1) * bptt], dtype="int32")
        y = nd.array(data[k * bptt + 1:(k + 1) * bptt + 1], dtype="int32")
        states = [s.detach() for s in states]          # truncated BPTT
        if trainer is None:
            logits, states = net(x, states)
            loss = ce(logits.reshape((-1, logits.shape[2])), y.reshape((-1,))).mean()
        else:
            with autograd.record():
                logits, states = net(x, states)
                loss = ce(logits.reshape((-1, logits.shape[2])), y.reshape((-1,))).mean()
            loss.backward()
            grads = [p.grad() for p in net.collect_params().values() if p.grad_req != "null"]
            gluon.utils.clip_global_norm(grads, clip)
            trainer.step(1)
        total += float(loss.asscalar())
        if bar:
            bar.update(k + 1, loss=total / (k + 1))
    if bar:
        bar.close()
    return math.exp(total / max(steps, 1))


def _pick(logits, rng, temperature):
    logits = np.asarray(logits, np.float64).reshape(-1)
    if not temperature:
        return int(np.argmax(logits))
    p = np.exp((logits - logits.max()) / temperature)
    return int(rng.choice(len(p), p=p / p.sum()))


def generate(step, states, chars, prompt, length, temperature=0.0, seed=0):
    """Feed ``prompt`` one character at a time through ``step(x (1, 1) int32, states) ->
    (logits, states)``, then pick ``length`` more (greedy, or sampled at ``temperature``)."""
    index = {c: i for i, c in enumerate(chars)}
    rng = np.random.default_rng(seed)
    out = list(prompt)
    logits = None
    for c in prompt:
        logits, states = step(np.array([[index[c]]], np.int32), states)
    for _ in range(length):
        out.append(chars[_pick(logits, rng, temperature)])
        logits, states = step(np.array([[index[out[-1]]]], np.int32), states)
    return "".join(out)


def kiln_step(net):
    def step(x, states):
        logits, states = net(nd.array(x, dtype="int32"), states)
        return logits.asnumpy(), states
    return step


def onnx_step(path):
    import onnxruntime as ort
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])

    def step(x, states):
        logits, *states = sess.run(None, {"data": x, "h": states[0], "c": states[1]})
        return logits, states
    return step


def export(net, path):
    """One-step ONNX export: data (T, N) int32, h and c (L, N, H) -> logits, h, c."""
    h, c = net.begin_state(batch_size=1)
    dyn = {"data": {0: "seq", 1: "batch"}, "h": {1: "batch"}, "c": {1: "batch"}}
    return net.export_onnx(path, nd.zeros((1, 1), dtype="int32"), h, c, dynamic_axes=dyn,
                           input_names=["data", "h", "c"])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpus", choices=["stdlib", "zen"], default="stdlib")
    p.add_argument("--max-chars", type=int, default=100000)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--embed", type=int, default=64)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--bptt", type=int, default=50)
    p.add_argument("--lr", type=float, default=0.005)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--prompt", default="The ")
    p.add_argument("--gen-length", type=int, default=200)
    p.add_argument("--temperature", type=float, default=0.0, help="0: greedy")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="folder for char_lm.onnx (default: a temp one)")
    p.add_argument("--report", default=None, help="write the results as JSON here")
    args = p.parse_args(argv)

    kiln.random.seed(args.seed)
    text = zen_text() if args.corpus == "zen" else stdlib_text(args.max_chars)
    chars = sorted(set(text))
    ids = np.array([chars.index(c) for c in text], np.int32)
    split = int(len(ids) * 0.9)
    batch_size = max(1, min(args.batch_size, split // (args.bptt + 1)))   # >= 1 batch
    train = batchify(ids[:split], batch_size)
    val = batchify(ids[split:], max(1, min(batch_size, (len(ids) - split) // 40)))
    print(f"corpus {args.corpus}: {len(text)} characters, vocabulary {len(chars)}, "
          f"{batch_size} streams of {train.shape[0]}")

    net = StandardRNN("lstm", len(chars), args.embed, args.hidden, args.layers, args.dropout,
                      tie_weights=False)
    net.initialize(kiln.init.Xavier())
    net.hybridize()
    ce = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": args.lr})
    history = []
    for epoch in range(1, args.epochs + 1):
        train_ppl = run_epoch(net, train, args.bptt, ce, trainer, args.clip,
                              label=f"epoch {epoch}/{args.epochs}")
        val_ppl = run_epoch(net, val, args.bptt, ce)
        history.append({"epoch": epoch, "train_ppl": train_ppl, "val_ppl": val_ppl})
        print(f"epoch {epoch}: train perplexity {train_ppl:.2f}, "
              f"validation perplexity {val_ppl:.2f}")

    prompt = "".join(c for c in args.prompt if c in chars) or chars[0]
    kw = dict(prompt=prompt, length=args.gen_length, temperature=args.temperature,
              seed=args.seed)
    text_kiln = generate(kiln_step(net), net.begin_state(batch_size=1), chars, **kw)
    folder = args.out or tempfile.mkdtemp()
    path = export(net, os.path.join(folder, "char_lm.onnx"))
    zeros = [s.asnumpy() for s in net.begin_state(batch_size=1)]
    text_onnx = generate(onnx_step(path), zeros, chars, **kw)
    print(f"ONNX model: {path}\nonnxruntime generates:\n{text_onnx}")
    print("kiln generates the same text" if text_onnx == text_kiln else
          f"kiln generates a different text:\n{text_kiln}")
    result = {"history": history, "kiln_text": text_kiln, "onnx_text": text_onnx,
              "onnx": path, "vocab_size": len(chars), "chars": len(text)}
    if args.report:
        with open(args.report, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    main()
