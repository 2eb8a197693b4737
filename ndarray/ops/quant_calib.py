"""MXNet 1.9's ``nd.contrib.calibrate_entropy``: the KL-divergence threshold of a histogram.

Given a histogram ``hist`` (an odd number of bins, symmetric ``hist_edges`` around 0) of a
layer's float values, each candidate threshold ``edges[mid + i + 1]`` keeps the ``2i + 1``
central bins, folds the outliers into the two end bins (the reference ``p``), merges the kept
bins into ``num_quantized_bins`` levels and spreads each level back over its non-empty bins
(the candidate ``q``); both are smoothed (zeros become 1e-4, taken evenly off the rest) and
the threshold with the least KL divergence ``sum p log(p/q)`` (each normalized) wins.
Returns ``[threshold (1,), divergence (1,)]``. Checked against MXNet 1.9.1.
"""
import numpy as np

from ...base import OpError
from .._registry import Aval, Sample, register
from .quantization import NO_GRAD


def _smooth(p, eps=1e-4):
    zeros = p == 0
    nz = p.size - int(zeros.sum())
    if nz == 0:
        return None
    return p + np.where(zeros, eps, -eps * float(zeros.sum()) / nz)


def _kl(p, q):
    p, q = p / p.sum(), q / q.sum()
    m = p > 0
    return float(np.sum(p[m] * np.log(p[m] / q[m])))


def _candidate(hist, mid, i, nq):
    sliced = hist[mid - i:mid + i + 1]
    p = sliced.copy()
    p[0] += hist[:mid - i].sum()
    p[-1] += hist[mid + i + 1:].sum()
    merged = sliced.size // nq
    q = np.zeros_like(p)
    nonzero = p != 0
    for j in range(nq):
        lo = j * merged
        hi = sliced.size if j == nq - 1 else lo + merged
        n = nonzero[lo:hi].sum()
        if n:
            q[lo:hi] = sliced[lo:hi].sum() / n
    q[~nonzero] = 0
    p, q = _smooth(p), _smooth(q)
    return np.inf if p is None or q is None else _kl(p, q)


def _calib_kernel(xp, hist, hist_edges, num_quantized_bins=255):
    h = np.asarray(hist.get() if hasattr(hist, "get") else hist, np.float64)
    e = np.asarray(hist_edges.get() if hasattr(hist_edges, "get") else hist_edges, np.float64)
    nq = int(num_quantized_bins)
    if h.size % 2 == 0 or e.size != h.size + 1 or nq > h.size:
        raise OpError(f"calibrate_entropy: needs an odd number of bins (got {h.size}), one more "
                      f"edge (got {e.size}) and num_quantized_bins <= bins ({nq})")
    mid = h.size // 2
    steps = range(nq // 2, mid + 1)
    div = np.array([_candidate(h, mid, i, nq) for i in steps])
    k = int(np.argmin(div))
    th = e[mid + list(steps)[k] + 1]
    return (xp.asarray([th], np.float32), xp.asarray([div[k]], np.float32))


def _calib_samples():
    rng = np.random.default_rng(5)
    h = rng.integers(0, 50, 101).astype(np.float32)
    h[50] = 400
    return [Sample(h, np.linspace(-3, 3, 102).astype(np.float32), num_quantized_bins=15,
                   grad=False)]


_contrib_calibrate_entropy = register(
    "_contrib_calibrate_entropy", _calib_kernel, inputs=("hist", "hist_edges"),
    attrs={"num_quantized_bins": 255}, num_outputs=2,
    infer=lambda h, e, **a: (Aval((1,), np.dtype(np.float32)),) * 2,
    no_grad=NO_GRAD + " (a search over thresholds)",
    no_onnx="a calibration-time search with a Python loop over thresholds, not a graph op",
    ref=lambda h, e, **a: _calib_kernel(np, h, e, **a), samples=_calib_samples(),
    doc="""The int8 threshold of a histogram by least KL divergence (MXNet
    ``calibrate_entropy``). ``hist`` (B,) with B odd, ``hist_edges`` (B+1,). Returns
    ``[threshold (1,), divergence (1,)]``.

    Example::

        >>> th, div = nd.contrib.calibrate_entropy(nd.array(h), nd.array(edges))
    """)
