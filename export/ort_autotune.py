"""Choose, per training graph, the faster of onnxruntime and kiln's numpy code by timing both
on the first calls (``backend_opts={'training': 'auto'}``, the default).

Why: onnxruntime runs a training graph's convolutions with the weights as graph inputs, so it
cannot pre-pack them or switch to its blocked layout as it does for an exported model, and
its convolution gradients (ConvTranspose for dX, a Conv over the transposed batch for dW) ran
slower than kiln's GEMM kernels on ResNet-18 (benchmarks/models.py); on an MLP onnxruntime
wins. Which is faster depends on the model, the shapes and the machine, so it is measured, as
cuDNN's benchmark mode measures its algorithms.

Each call is a real call: the candidates alternate (their results agree within float
tolerance, and a training BatchNorm's moving statistics are updated once per call whichever
runs), the first call of each is not timed (it builds), the next ``ROUNDS`` of each are; then
the faster one is kept and the other dropped (numpy unless another is ``MARGIN`` faster).

Example::

    >>> fn = AutoChoice(name, {"onnxruntime": ort_fn, "numpy": numpy_fn}, entry)
    >>> fn(np, *arrays)   # alternates while measuring, then always the winner
"""
import time

ROUNDS = 3  # timed calls per candidate after its untimed first call
# Another executor replaces kiln's numpy code only when its fastest call takes at most this
# fraction of numpy's: its own thread pool then runs beside the step's numpy threads, which a
# graph's time alone does not show. The MLP's forward_train measured 0.90-1.04 of numpy's in
# fresh processes, and where onnxruntime won the step ran slower (1.06 against 1.00 ms, its
# process CPU time 1.01 -> 2.06 ms); the whole step on onnxruntime 1.06-1.13 against
# 0.95-0.97 ms on numpy (benchmarks/models.py, 2026-12-08). At 0.95 it still won 2 runs of 3.
MARGIN = 0.8


class AutoChoice:
    """``fn(xp, *arrays)`` that measures its candidates, then calls the fastest.

    ``candidates``: ``{label: function}`` in a fixed order, each with ``compile_graph``'s
    calling contract; ``entry``: the executor's plan entry ``[name, where]``, updated with the
    choice and each candidate's fastest time; ``numpy_into(mask)``: the numpy candidate
    compiled to write the results marked in ``mask`` into buffers (``into``)."""

    def __init__(self, name, candidates, entry, numpy_into=None):
        self.name, self.entry, self.numpy_into = name, entry, numpy_into
        self.labels = list(candidates)
        self.fns = dict(candidates)
        self.times = {label: [] for label in self.labels}
        self.calls = 0
        self.chosen = None
        self.source = "".join(getattr(f, "source", "") for f in self.fns.values())

    @property
    def peak_temporaries(self):
        return max(getattr(f, "peak_temporaries", 0) for f in self.fns.values())

    @property
    def static_bytes(self):
        return max(getattr(f, "static_bytes", 0) for f in self.fns.values())

    def into(self, mask):
        """The candidates (only the chosen one, once chosen) writing the results marked in
        ``mask`` into buffers passed after the arguments, measured afresh."""
        fns = {label: fn.into(mask) if hasattr(fn, "into") else self.numpy_into(mask)
               for label, fn in self.fns.items()}
        return fns[self.labels[0]] if len(fns) == 1 else AutoChoice(self.name, fns, self.entry)

    def __call__(self, xp, *arrays):
        if self.chosen is not None:
            return self.chosen(xp, *arrays)
        label = self.labels[self.calls % len(self.labels)]
        first = self.calls < len(self.labels)
        self.calls += 1
        t = time.perf_counter()
        out = self.fns[label](xp, *arrays)
        if not first:
            self.times[label].append(time.perf_counter() - t)
        if all(len(v) >= ROUNDS for v in self.times.values()):
            self._choose()
        return out

    def _choose(self):
        # the fastest call of each: load from elsewhere on the machine only adds time
        best = {label: min(v) for label, v in self.times.items()}
        label = min(self.labels, key=best.get)
        if label != "numpy" and "numpy" in best and best[label] > MARGIN * best["numpy"]:
            label = "numpy"   # not clearly faster: keep the process's own threads
        self.chosen = self.fns[label]
        self.source = getattr(self.chosen, "source", "")
        self.entry[1] = (f"{label} (auto: " + ", ".join(
            f"{k} {best[k] * 1e3:.1f} ms" for k in self.labels) + ")")
        self.fns, self.labels = {label: self.chosen}, [label]


__all__ = ["AutoChoice", "ROUNDS"]
