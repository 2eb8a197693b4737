"""Pooling that kiln's ``pooling`` cannot say: dilated MaxPool/AveragePool and LpPool.

The window is unrolled: one strided ``slice`` of the padded input per kernel offset, combined
with ``maximum`` (max), ``add`` (average: divided by a constant count of the positions inside
the input, or inside input + pads with ``count_include_pad``) or a sum of ``|x|^p`` (Lp).
Output sizes follow ONNX (``ceil_mode`` drops a last window that starts in the end padding).
Needs static spatial dims.

Example: ``MaxPool(x, kernel_shape=[2], dilations=[2])`` on ``x`` (1, 1, 5) imports as
``maximum(x[..., 0:3], x[..., 2:5])``.
"""
import itertools

import numpy as np

from ..base import MXNetError
from .onnx_import_conv import _pads, _spatial
from .onnx_import_math import const, dtype_of
from .onnx_import_ops import _attrs, _sub


def _out_sizes(dims, kernel, strides, dil, begins, ends, ceil):
    outs, extra = [], []
    for i, k, s, d, b, e in zip(dims, kernel, strides, dil, begins, ends):
        ek = (k - 1) * d + 1
        span = i + b + e - ek
        o = (-(-span // s) if ceil else span // s) + 1
        if ceil and (o - 1) * s >= i + b:
            o -= 1
        outs.append(o)
        extra.append(max(0, (o - 1) * s + ek - (i + b + e)))
    return outs, extra


def _window_slices(kernel, strides, dil, outs):
    """(begin, end, step) over the padded spatial axes for each kernel offset."""
    for offs in itertools.product(*(range(k) for k in kernel)):
        yield tuple((o * d, o * d + (n - 1) * s + 1, s)
                    for o, d, s, n in zip(offs, dil, strides, outs))


def unrolled(kind):
    def convert(imp, n):
        a = _attrs(n)
        kernel = tuple(a["kernel_shape"])
        nd_ = len(kernel)
        strides = tuple(a.get("strides", (1,) * nd_))
        dil = tuple(a.get("dilations", (1,) * nd_))
        begins, ends, _ = _pads(imp, n, a, nd_, kernel, strides, dil)
        dims = _spatial(imp, n, nd_)
        outs, extra = _out_sizes(dims, kernel, strides, dil, begins, ends,
                                 bool(a.get("ceil_mode", 0)))
        ends = [e + x for e, x in zip(ends, extra)]
        fill = -np.inf if kind == "max" else 0.0
        x = imp.t(n.input[0])
        if any(begins + ends):
            from .onnx_import_pad import pad_entry
            x = pad_entry(imp, n, x, imp.shape(n.input[0]), begins, ends, fill)
        p = int(a.get("p", 2))
        acc = None
        for k, win in enumerate(_window_slices(kernel, strides, dil, outs)):
            s = imp.op(_sub(n, 10 + 2 * k), "slice", [x], begin=(None, None) +
                       tuple(w[0] for w in win), end=(None, None) + tuple(w[1] for w in win),
                       step=(None, None) + tuple(w[2] for w in win))
            if kind == "lp":
                s = imp.op(_sub(n, 11 + 2 * k), "power", [imp.op(_sub(n, 200 + k), "abs", [s]),
                                                          float(p)])
            acc = s if acc is None else imp.op(_sub(n, 300 + k), "maximum" if kind == "max"
                                               else "add", [acc, s])
        if kind == "max":
            return imp.op(n, "identity", [acc])
        if kind == "lp":
            return imp.op(n, "power", [acc, 1.0 / p])
        cip = bool(a.get("count_include_pad", 0))
        count = _counts(dims, kernel, strides, dil, begins, ends, extra, outs, cip)
        dt = dtype_of(imp, n.input[0])
        return imp.op(n, "divide", [acc, const(imp, n, 0, count.astype(dt).reshape(
            (1, 1) + tuple(outs)))])
    return convert


def _counts(dims, kernel, strides, dil, begins, ends, extra, outs, cip):
    """Per output position, how many window taps fall inside the input (or input + pads)."""
    inside = np.zeros([b + i + e for b, i, e in zip(begins, dims, ends)], np.float64)
    lo = [0 if cip else b for b in begins]
    hi = [b + i + (e - x if cip else 0) for b, i, e, x in zip(begins, dims, ends, extra)]
    inside[tuple(slice(l_, h) for l_, h in zip(lo, hi))] = 1
    count = np.zeros(outs)
    for win in _window_slices(kernel, strides, dil, outs):
        count += inside[tuple(slice(*w) for w in win)]
    return np.maximum(count, 1)


def _tap_indices(dims, kernel, strides, dil, begins, outs, order):
    """Per kernel tap, the flat spatial index (row- or column-major, ``order`` 0/1) of the
    input element each output position reads; padding taps get -1 (their value is -inf)."""
    place = [int(np.prod(dims[i + 1:])) for i in range(len(dims))] if order == 0 else \
        [int(np.prod(dims[:i])) for i in range(len(dims))]
    for offs in itertools.product(*(range(k) for k in kernel)):
        coords = np.meshgrid(*(np.arange(o) * s + f * d - b for o, s, f, d, b in
                               zip(outs, strides, offs, dil, begins)), indexing="ij")
        flat = sum(c * p for c, p in zip(coords, place))
        inside = np.logical_and.reduce([(c >= 0) & (c < i) for c, i in zip(coords, dims)])
        yield np.where(inside, flat, -1).astype(np.int64)


def _max_pool_indices(imp, n):
    """MaxPool with its Indices output: the window unrolled, keeping the first maximum's flat
    index (onnx's rule: a later tap wins only when strictly greater) with ``where``."""
    a = _attrs(n)
    kernel = tuple(a["kernel_shape"])
    nd_ = len(kernel)
    strides = tuple(a.get("strides", (1,) * nd_))
    dil = tuple(a.get("dilations", (1,) * nd_))
    begins, ends, _ = _pads(imp, n, a, nd_, kernel, strides, dil)
    shape = imp.shape(n.input[0])   # N and C too: the indices count whole (N, C) planes
    dims = list(shape[2:])
    outs, extra = _out_sizes(dims, kernel, strides, dil, begins, ends,
                             bool(a.get("ceil_mode", 0)))
    ends = [e + x for e, x in zip(ends, extra)]
    x = imp.t(n.input[0])
    if any(begins + ends):
        from .onnx_import_pad import pad_entry
        x = pad_entry(imp, n, x, shape, begins, ends, -np.inf)
    taps = _tap_indices(dims, kernel, strides, dil, begins, outs, int(a.get("storage_order", 0)))
    val = idx = None
    for k, (win, tap) in enumerate(zip(_window_slices(kernel, strides, dil, outs), taps)):
        s = imp.op(_sub(n, 10 + 4 * k), "slice", [x], begin=(None, None) +
                   tuple(w[0] for w in win), end=(None, None) + tuple(w[1] for w in win),
                   step=(None, None) + tuple(w[2] for w in win))
        t = const(imp, n, 10 + k, tap.reshape((1, 1) + tuple(outs)))
        if val is None:
            val, idx = s, imp.op(_sub(n, 11 + 4 * k), "broadcast_like", [t, s])
            continue
        better = imp.op(_sub(n, 12 + 4 * k), "greater", [s, val])
        idx = imp.op(_sub(n, 13 + 4 * k), "where", [better, t, idx])
        val = imp.op(_sub(n, 14 + 4 * k), "maximum", [val, s])
    plane = int(np.prod(dims))
    base = np.arange(shape[0] * shape[1], dtype=np.int64).reshape(
        (shape[0], shape[1]) + (1,) * nd_) * plane
    idx = imp.op(_sub(n, 1), "add", [idx, const(imp, n, 0, base)])
    return [imp.op(n, "identity", [val]), idx]


def _max_pool(imp, n):
    a = _attrs(n)
    if len(n.output) > 1 and n.output[1] and n.output[1] in imp.consumed:
        return _max_pool_indices(imp, n)
    if any(d != 1 for d in a.get("dilations", ())):
        return unrolled("max")(imp, n)
    from .onnx_import_conv import pool
    return pool("max")(imp, n)


def _avg_pool(imp, n):
    a = _attrs(n)
    if any(d != 1 for d in a.get("dilations", ())):
        return unrolled("avg")(imp, n)
    from .onnx_import_conv import pool
    return pool("avg")(imp, n)


def _global_lp(imp, n):
    p = int(_attrs(n).get("p", 2))
    r = imp.rank(n.input[0])
    if r < 3:
        raise MXNetError(f"ONNX import: GlobalLpPool {n.output[0]!r} needs N, C and spatial axes")
    x = imp.op(_sub(n, 0), "power", [imp.op(_sub(n, 1), "abs", [imp.t(n.input[0])]), float(p)])
    s = imp.op(_sub(n, 2), "sum", [x], axis=tuple(range(2, r)), keepdims=True)
    return imp.op(n, "power", [s, 1.0 / p])


CONVERTERS = {"MaxPool": _max_pool, "AveragePool": _avg_pool, "LpPool": unrolled("lp"),
              "GlobalLpPool": _global_lp}
