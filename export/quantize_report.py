"""The accuracy report of ``kiln.export.quantize``: float model vs converted model.

Both files run in onnxruntime (CPU provider) on the same batches: the first graph output is
compared (max and mean absolute difference; top-1 agreement when it is a ``(N, classes)``
classifier output), and each session is timed per batch (best of ``repeats`` passes over up
to 8 batches: other processes only ever add time).

Example::

    >>> report = evaluate("net.onnx", "net-int8.onnx", feeds, mode="static")
    >>> print(report)          # a small table; report.top1_agreement is a float in [0, 1]
"""
import dataclasses
import os
import time

import numpy as np


@dataclasses.dataclass
class QuantReport:
    """What ``quantize`` did and how close the result is to the float model.

    ``top1_agreement`` is None when the first output is not ``(N, classes)``; times are
    milliseconds per evaluation batch (best of 3 passes over up to 8 batches).
    """
    mode: str
    src: str
    dst: str
    src_bytes: int
    dst_bytes: int
    n_batches: int
    n_samples: int
    max_abs_diff: float
    mean_abs_diff: float
    top1_agreement: float | None
    float_ms: float
    quant_ms: float
    details: dict = dataclasses.field(default_factory=dict)

    @property
    def size_ratio(self):
        """dst size / src size (0.26 for a typical int8 model)."""
        return self.dst_bytes / max(self.src_bytes, 1)

    def __str__(self):
        top1 = "n/a (not a classifier output)" if self.top1_agreement is None \
            else f"{self.top1_agreement:.2%}"
        rows = [
            ("mode", self.mode + "".join(f", {k}={v}" for k, v in self.details.items())),
            ("file", f"{os.path.basename(self.src)} {self.src_bytes / 1e3:.1f} kB -> "
                     f"{os.path.basename(self.dst)} {self.dst_bytes / 1e3:.1f} kB "
                     f"({self.size_ratio:.2f}x)"),
            ("compared on", f"{self.n_samples} samples in {self.n_batches} batches"),
            ("max |diff|", f"{self.max_abs_diff:.4g}"),
            ("mean |diff|", f"{self.mean_abs_diff:.4g}"),
            ("top-1 agreement", top1),
            ("onnxruntime time", f"float {self.float_ms:.2f} ms, {self.mode} "
                                 f"{self.quant_ms:.2f} ms per batch "
                                 f"({self.float_ms / max(self.quant_ms, 1e-9):.2f}x)"),
        ]
        width = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def session(path_or_bytes):
    """An onnxruntime CPU session (the file must load: this is the check that it does)."""
    import onnxruntime as ort
    return ort.InferenceSession(path_or_bytes, providers=["CPUExecutionProvider"])


_ORT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16,
              "tensor(double)": np.float64}


def _cast_feeds(sess, feeds):
    """Feeds in the session's own float input types (an fp16 model without keep_io_types
    takes float16)."""
    types = {i.name: _ORT_TYPES.get(i.type) for i in sess.get_inputs()}
    return [{k: v.astype(types[k]) if types.get(k) and v.dtype != types[k] else v
             for k, v in feed.items()} for feed in feeds]


def _run_all(sess, feeds, repeats, timed=8):
    """(first outputs of every feed, ms per batch): the timing is the best of ``repeats``
    passes over the first ``timed`` batches (the accuracy pass is the warm-up)."""
    feeds = _cast_feeds(sess, feeds)
    outs = [sess.run(None, feed)[0] for feed in feeds]
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for feed in feeds[:timed]:
            sess.run(None, feed)
        best = min(best, time.perf_counter() - t0)
    return outs, best * 1e3 / len(feeds[:timed])


def evaluate(src, dst, feeds, mode, repeats=3, details=None):
    """Run ``feeds`` (a list of feed dicts) through both files; a ``QuantReport``."""
    ref, float_ms = _run_all(session(src), feeds, repeats)
    got, quant_ms = _run_all(session(dst), feeds, repeats)
    diffs = [np.abs(r.astype(np.float64) - g.astype(np.float64)) for r, g in zip(ref, got)]
    flat = np.concatenate([d.ravel() for d in diffs]) if diffs else np.zeros(1)
    top1 = None
    if all(r.ndim == 2 and r.shape[1] > 1 for r in ref):
        agree = np.concatenate([r.argmax(1) == g.argmax(1) for r, g in zip(ref, got)])
        top1 = float(agree.mean())
    return QuantReport(
        mode=mode, src=str(src), dst=str(dst), src_bytes=os.path.getsize(src),
        dst_bytes=os.path.getsize(dst), n_batches=len(feeds),
        n_samples=int(sum(r.shape[0] if r.ndim else 1 for r in ref)),
        max_abs_diff=float(flat.max()), mean_abs_diff=float(flat.mean()), top1_agreement=top1,
        float_ms=float_ms, quant_ms=quant_ms, details=dict(details or {}))
