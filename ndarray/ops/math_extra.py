"""MXNet 1.9's cumsum, moments and histogram.

``cumsum`` is numpy's over one axis (the flattened array with ``axis=None``), keeping the
input's dtype unless ``dtype`` is given (MXNet: int32 stays int32). ``moments`` returns the
mean and the biased variance over ``axes`` (a full reduction has shape (1,)). ``histogram``
counts ``data`` in ``bins`` (a count with ``range``, or an array of edges) as numpy does:
the last bin includes its right edge, values outside are not counted.
"""
import math

import numpy as np

from ...base import OpError
from .. import ops as F
from .._registry import Aval, Sample, register
from ._rules import norm_axis
from ._samples import ints, rnd
from .reduce import red_axes, reduce_node, spread


# ---- cumsum ----------------------------------------------------------------------------------
def _cumsum_infer(a, axis=None, dtype=None):
    shape = tuple(a.shape)
    dt = np.dtype(dtype) if dtype is not None else np.dtype(a.dtype)
    if axis is None:
        return Aval((math.prod(shape),), dt)
    norm_axis(axis, len(shape), "cumsum")
    return Aval(shape, dt)


def _cumsum_kernel(xp, a, axis=None, dtype=None):
    dt = np.dtype(dtype) if dtype is not None else a.dtype
    if axis is None:
        return xp.cumsum(a.reshape(-1), dtype=dt)
    return xp.cumsum(a, axis=norm_axis(axis, a.ndim, "cumsum"), dtype=dt)


def _cumsum_grad(ins, outs, gouts, axis=None, dtype=None):
    a, g = ins[0], gouts[0]
    ax = 0 if axis is None else norm_axis(axis, a.ndim, "cumsum")
    # the sum of the gradients at and after each position: a reversed cumsum
    rev = F.flip(F.cumsum(F.flip(g, axis=ax), axis=ax), axis=ax)
    if np.dtype(rev.dtype) != np.dtype(a.dtype):
        rev = F.cast(rev, dtype=np.dtype(a.dtype).name)
    return (F.reshape(rev, shape=tuple(a.shape)) if axis is None else rev,)


def _cumsum_onnx(g, i, a, o, axis=None, dtype=None):
    x = i[0]
    if np.dtype(o[0].dtype) != np.dtype(a[0].dtype):
        x = g.op("Cast", x, to=g.onnx_dtype(o[0].dtype))
    if axis is None:
        x = g.op("Reshape", x, g.ints([-1]))
    ax = 0 if axis is None else norm_axis(axis, len(a[0].shape), "cumsum")
    return g.op("CumSum", x, g.const(np.asarray(ax, np.int64)))


cumsum = register(
    "cumsum", _cumsum_kernel, inputs=("a",), attrs={"axis": None, "dtype": None},
    infer=_cumsum_infer, grad=_cumsum_grad, onnx=_cumsum_onnx, second_order=True,
    ref=lambda a, axis=None, dtype=None: np.cumsum(a, axis=axis, dtype=dtype),
    samples=[Sample(rnd(2, 3)), Sample(rnd(2, 3, 4), axis=1), Sample(rnd(3, 4), axis=-1),
             Sample(rnd(3, 2), axis=0, dtype="float64"), Sample(ints(2, 3), axis=1)],
    aliases=("_np_cumsum",),
    doc="""Cumulative sum along ``axis`` (of the flattened array when None), in ``dtype``
    (default: the input's). Output: like a, or (a.size,) with ``axis=None``.

    Example::

        >>> nd.cumsum(nd.array([[0, 1, 2], [3, 4, 5]]), axis=1)    # [[0 1 3] [3 7 12]]
    """)


# ---- moments ---------------------------------------------------------------------------------
def _moments_axes(shape, axes):
    if axes is None or len(tuple(axes)) == 0:
        raise OpError("moments: axes must name the axes to reduce (MXNet has no default; pass "
                      "all axes for global moments)")
    return red_axes(len(shape), tuple(axes), op="moments")


def _moments_infer(data, axes=None, keepdims=False):
    shape = tuple(data.shape)
    ax = _moments_axes(shape, axes)
    out = tuple(1 if i in ax else s for i, s in enumerate(shape)) if keepdims else \
        tuple(s for i, s in enumerate(shape) if i not in ax) or (1,)
    return (Aval(out, np.dtype(data.dtype)),) * 2


def _moments_kernel(xp, data, axes=None, keepdims=False):
    shape = _moments_infer(data, axes, keepdims)[0].shape
    ax = _moments_axes(data.shape, axes)
    mean = data.mean(axis=ax, keepdims=True)
    var = xp.square(data - mean).mean(axis=ax)
    return mean.reshape(shape), var.reshape(shape)


def _moments_grad(ins, outs, gouts, axes=None, keepdims=False):
    x, (mean, _), (gm, gv) = ins[0], outs, gouts
    ax = _moments_axes(x.shape, axes)
    n = float(math.prod(x.shape[a] for a in ax))
    centred = x - spread(mean, x, ax)
    return ((spread(gm, x, ax) + spread(gv, x, ax) * centred * 2.0) / n,)


def _moments_onnx(g, i, a, o, axes=None, keepdims=False):
    ax = _moments_axes(a[0].shape, axes)
    mean = g.op("ReduceMean", i[0], axes=list(ax), keepdims=1) if g.opset < 18 else \
        g.op("ReduceMean", i[0], g.ints(ax), keepdims=1)
    diff = g.op("Sub", i[0], mean)
    sq = g.op("Mul", diff, diff)
    var = reduce_node(g, "ReduceMean", sq, a[0], o[1], ax, keepdims)
    return g.op("Reshape", mean, g.ints(o[0].shape)), var


moments = register(
    "moments", _moments_kernel, attrs={"axes": None, "keepdims": False}, num_outputs=2,
    infer=_moments_infer, grad=_moments_grad, onnx=_moments_onnx, second_order=True,
    ref=lambda data, axes=None, keepdims=False: _moments_kernel(np, data, axes, keepdims),
    samples=[Sample(rnd(2, 3), axes=(0,)), Sample(rnd(2, 3, 4), axes=(0, 2), keepdims=True),
             Sample(rnd(2, 3), axes=(0, 1))],
    amp="fp32",
    doc="""Mean and (biased) variance of ``data`` over ``axes`` (MXNet ``moments``); returns
    ``[mean, var]``, the reduced shape ((1,) when every axis is reduced) or, with
    ``keepdims``, reduced axes kept as 1.

    Example::

        >>> nd.moments(nd.array([[1, 2, 3], [4, 5, 6]]), axes=(0,))  # [2.5 3.5 4.5], [2.25 ...]
    """)


# ---- histogram -------------------------------------------------------------------------------
def _hist_bins(bins, bin_cnt):
    n = (10 if bin_cnt is None else bin_cnt) if bins is None else bins  # MXNet's default 10
    if isinstance(n, (int, np.integer)) and not isinstance(n, bool):
        if n < 1:
            raise OpError(f"histogram: the number of bins must be positive, got {n}")
        return int(n), None
    shape = tuple(n.shape)
    if len(shape) != 1 or shape[0] < 2:
        raise OpError(f"histogram: bin edges must be 1-D with at least 2 entries, got {shape}")
    return shape[0] - 1, n


def _histogram_infer(data, bins=None, range=None, bin_cnt=None):  # noqa: A002 - MXNet's name
    n, edges = _hist_bins(bins, bin_cnt)
    dt = np.dtype(edges.dtype) if edges is not None else np.dtype(data.dtype)
    return Aval((n,), np.dtype(np.int64)), Aval((n + 1,), dt)


def _edges(xp, data, n, range):  # noqa: A002
    lo, hi = (float(range[0]), float(range[1])) if range is not None else (
        (float(data.min()), float(data.max())) if data.size else (0.0, 1.0))
    if lo == hi:  # numpy widens an empty range
        lo, hi = lo - 0.5, hi + 0.5
    return xp.linspace(lo, hi, n + 1).astype(data.dtype)


def _histogram_kernel(xp, data, bins=None, range=None, bin_cnt=None):  # noqa: A002
    n, edges = _hist_bins(bins, bin_cnt)
    edges = _edges(xp, data, n, range) if edges is None else edges
    x = data.reshape(-1)
    # the bin of x: how many lower edges it reaches (x at the last edge joins the last bin)
    idx = (x[:, None] >= edges[None, :-1]).sum(axis=1) - 1
    valid = (x >= edges[0]) & (x <= edges[-1])
    counts = xp.bincount(idx[valid], minlength=n)[:n].astype(np.int64)
    return counts, edges


def _histogram_onnx(g, i, a, o, bins=None, range=None, bin_cnt=None):  # noqa: A002
    n, edges_in = _hist_bins(a[1] if len(a) > 1 and a[1] is not None else bins, bin_cnt)
    dt = np.dtype(a[0].dtype)
    x = g.op("Reshape", i[0], g.ints([-1]))
    if edges_in is not None:
        edges = i[1]
    elif range is not None:
        edges = g.const(np.linspace(float(range[0]), float(range[1]), n + 1).astype(dt))
    else:
        raise OpError("histogram: the ONNX export needs range= (or bin edges)")
    lower = g.op("Slice", edges, g.ints([0]), g.ints([n]))
    reached = g.op("Cast", g.op("GreaterOrEqual", g.op("Unsqueeze", x, g.ints([1])), lower),
                   to=g.onnx_dtype(np.int64))
    idx = g.op("Sub", g.op("ReduceSum", reached, g.ints([1]), keepdims=0),
               g.const(np.asarray(1, np.int64)))
    last = g.op("Slice", edges, g.ints([n]), g.ints([n + 1]))
    first = g.op("Slice", edges, g.ints([0]), g.ints([1]))
    valid = g.op("And", g.op("GreaterOrEqual", x, first), g.op("LessOrEqual", x, last))
    hit = g.op("And", g.op("Equal", g.op("Unsqueeze", idx, g.ints([1])),
                           g.const(np.arange(n, dtype=np.int64))),
               g.op("Unsqueeze", valid, g.ints([1])))
    counts = g.op("ReduceSum", g.op("Cast", hit, to=g.onnx_dtype(np.int64)), g.ints([0]),
                  keepdims=0)
    return counts, g.op("Identity", edges)


def _histogram_ref(data, bins=None, range=None, bin_cnt=None):  # noqa: A002
    n = (10 if bin_cnt is None else bin_cnt) if bins is None else bins
    counts, edges = np.histogram(data, bins=n, range=range)
    return counts.astype(np.int64), edges


histogram = register(
    # ``a``: MXNet's front end histogram(a, bins, range) names its data input so
    "histogram", _histogram_kernel, inputs=("a", "bins?"),
    attrs={"range": None, "bin_cnt": None}, num_outputs=2, infer=_histogram_infer,
    number_inputs={"bins": "bin_cnt"},
    onnx=_histogram_onnx, ref=_histogram_ref,
    no_grad="counts are piecewise constant: zero gradient almost everywhere",
    samples=[Sample(rnd(3, 4), 4, range=(-1.0, 1.0)),
             Sample(np.array([0.1, 0.5, 0.9, 1.0, 0.3, 2.0]), np.array([0.0, 0.5, 1.5])),
             Sample(rnd(10), None, bin_cnt=3, range=(-0.5, 0.5)),
             Sample(rnd(6, salt=3), 5, onnx=False)],
    aliases=("_histogram",),
    doc="""Histogram of ``a`` (flattened): ``bins`` is a count (with ``range=(lo, hi)``;
    numpy's min/max range when None) or an array of bin edges. Returns ``(counts, edges)``,
    counts int64 (n,), edges (n + 1,).

    Example::

        >>> nd.histogram(nd.array([0.1, 0.5, 0.9, 1.0]), bins=4, range=(0, 1))  # [1 0 1 2], ...
    """)
