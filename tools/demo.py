"""``kiln demo``: train a small CNN on scikit-learn's 8x8 digits, hybridize, export, serve.

The whole job runs in well under a minute on 2 CPU cores:

1. train eagerly for a few epochs with a text progress bar (loss and accuracy per epoch);
2. time a training step on the same batch eagerly and after ``net.hybridize()``;
3. export the trained network to ONNX (``net.export_onnx``) and to MXNet's symbol/params files;
4. run the test set through onnxruntime (CPU provider) and compare it with kiln's outputs.

``run`` returns 0 when onnxruntime agrees with kiln (same accuracy, outputs within a tolerance),
else 1.

Example::

    >>> from kiln.tools import demo
    >>> demo.run(epochs=1, out="/tmp/kiln-demo")     # prints the progress and the checks
    0
"""
import os
import sys
import tempfile
import time

import numpy as np

# Logits differ between kiln and onnxruntime only by float32 rounding (BatchNorm is folded into
# the convolutions on export), so this is loose enough for any correct export.
RTOL = 1e-4


def load_digits(seed=0, n_train=1400):
    """(x_train, y_train, x_test, y_test): images (N, 1, 8, 8) float32 in [0, 1], labels float32.

    Example: ``x_train, y_train, x_test, y_test = load_digits()`` gives 1400 and 397 samples.
    """
    try:
        from sklearn.datasets import load_digits as sk_digits
    except ImportError as e:   # the demo extra was not installed
        raise SystemExit("kiln demo needs scikit-learn: pip install 'kiln[demo]'") from e
    d = sk_digits()
    x = (d.images / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    y = d.target.astype(np.float32)
    perm = np.random.RandomState(seed).permutation(len(x))
    x, y = x[perm], y[perm]
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def build_net():
    """The demo CNN: two conv-BN-relu-pool stages, then a small classifier; (N,1,8,8) -> (N,10)."""
    from kiln.gluon import nn
    net = nn.HybridSequential()
    net.add(nn.Conv2D(16, 3, padding=1), nn.BatchNorm(), nn.Activation("relu"), nn.MaxPool2D(2),
            nn.Conv2D(32, 3, padding=1), nn.BatchNorm(), nn.Activation("relu"), nn.MaxPool2D(2),
            nn.Flatten(), nn.Dropout(0.2), nn.Dense(64, activation="relu"), nn.Dense(10))
    return net


class _Progress:
    """A one-line ``\\r`` progress bar for one epoch."""

    def __init__(self, epoch, epochs, total, stream, width=24):
        self.head = f"epoch {epoch}/{epochs}"
        self.total, self.stream, self.width = total, stream, width
        self.start = time.perf_counter()

    def line(self, done, loss):
        filled = self.width * done // self.total
        bar = "=" * filled + "." * (self.width - filled)
        return f"{self.head} [{bar}] {done:>3}/{self.total} loss {loss:.4f}"

    def update(self, done, loss):
        self.stream.write("\r" + self.line(done, loss))
        self.stream.flush()

    def close(self, loss, acc):
        secs = time.perf_counter() - self.start
        self.stream.write(f"\r{self.line(self.total, loss)} acc {acc:.4f} {secs:.1f}s\n")
        self.stream.flush()


def _step(net, loss_fn, trainer, xb, yb):
    from kiln import autograd
    with autograd.record():
        out = net(xb)
        loss = loss_fn(out, yb)
    loss.backward()
    trainer.step(xb.shape[0])
    return out, loss


def train(net, loss_fn, trainer, loader, epochs, stream):
    """Train eagerly, one progress bar per epoch; returns the last epoch's mean loss."""
    import kiln as kl
    n_batches = len(loader)
    mean = float("nan")
    for epoch in range(1, epochs + 1):
        bar = _Progress(epoch, epochs, n_batches, stream)
        acc = kl.metric.Accuracy()
        total, seen = 0.0, 0
        for i, (xb, yb) in enumerate(loader, 1):
            out, loss = _step(net, loss_fn, trainer, xb, yb)
            acc.update(yb, out)
            total += float(loss.sum().asscalar())
            seen += xb.shape[0]
            mean = total / seen
            bar.update(i, mean)
        bar.close(mean, acc.get()[1])
    return mean


def time_steps(net, loss_fn, trainer, xb, yb, steps, warmup=2):
    """Best-of-``steps`` seconds of one training step (forward, backward, update) on ``xb``.

    The minimum, as in ``timeit``: other processes only ever add time, never remove it.
    """
    for _ in range(warmup):   # hybridized: the first calls trace and compile
        _step(net, loss_fn, trainer, xb, yb)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        _step(net, loss_fn, trainer, xb, yb)
        times.append(time.perf_counter() - t0)
    return min(times)


def serve_onnx(path, x):
    """Run ``x`` (N, 1, 8, 8) through onnxruntime on the CPU provider; returns the logits."""
    import onnxruntime as ort
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def compare(kiln_out, onnx_out, y, stream):
    """Print kiln's and onnxruntime's accuracy and max |diff|; True when they match."""
    kiln_acc = float((kiln_out.argmax(axis=1) == y).mean())
    onnx_acc = float((onnx_out.argmax(axis=1) == y).mean())
    diff = float(np.abs(kiln_out - onnx_out).max())
    tol = RTOL * max(1.0, float(np.abs(kiln_out).max()))
    ok = kiln_acc == onnx_acc and diff <= tol
    print(f"onnxruntime accuracy {onnx_acc:.4f} (kiln {kiln_acc:.4f}), "
          f"max abs difference {diff:.2e} (tolerance {tol:.1e})", file=stream)
    return ok


def run(epochs=5, batch_size=64, out=None, steps=10, seed=0, stream=None):
    """The whole demo; returns the exit status (0: onnxruntime matches kiln)."""
    import kiln as kl
    from kiln import gluon, nd
    stream = stream or sys.stdout
    kl.random.seed(seed)
    np.random.seed(seed)
    out = out or tempfile.mkdtemp(prefix="kiln-demo-")
    os.makedirs(out, exist_ok=True)
    x_train, y_train, x_test, y_test = load_digits(seed)
    print(f"digits: {len(x_train)} train / {len(x_test)} test images of 8x8", file=stream)

    net = build_net()
    net.initialize(kl.init.Xavier())
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.003})
    loader = gluon.data.DataLoader(gluon.data.ArrayDataset(x_train, y_train),
                                   batch_size=batch_size, shuffle=True)
    train(net, loss_fn, trainer, loader, epochs, stream)

    xb, yb = nd.array(x_train[:batch_size]), nd.array(y_train[:batch_size])
    eager = time_steps(net, loss_fn, trainer, xb, yb, steps)
    net.hybridize()
    hybrid = time_steps(net, loss_fn, trainer, xb, yb, steps)
    print(f"training step, batch {batch_size} (best of {steps}): eager {eager * 1e3:.2f} ms, "
          f"hybridized {hybrid * 1e3:.2f} ms ({eager / hybrid:.2f}x)", file=stream)

    x_test_nd = nd.array(x_test)
    kiln_out = net(x_test_nd).asnumpy()
    kiln_acc = float((kiln_out.argmax(axis=1) == y_test).mean())
    print(f"test accuracy (kiln): {kiln_acc:.4f}", file=stream)
    return _export_and_serve(net, x_test_nd, kiln_out, y_test, out, stream)


def _export_and_serve(net, x_test_nd, kiln_out, y_test, out, stream):
    onnx_path = os.path.join(out, "digits.onnx")
    try:
        net.export_onnx(onnx_path, x_test_nd, dynamic_axes={"data": {0: "batch"}})
    except Exception as e:   # report any exporter failure as a failed demo, not a traceback
        print(f"ONNX export failed: {type(e).__name__}: {e}", file=stream)
        return 1
    net.export(os.path.join(out, "digits"), epoch=0)
    print(f"exported {onnx_path} and {os.path.join(out, 'digits-symbol.json')} "
          "(+ digits-0000.params)", file=stream)
    ok = compare(kiln_out, serve_onnx(onnx_path, x_test_nd.asnumpy()), y_test, stream)
    print("OK: onnxruntime matches kiln" if ok else "MISMATCH: onnxruntime differs from kiln",
          file=stream)
    return 0 if ok else 1
