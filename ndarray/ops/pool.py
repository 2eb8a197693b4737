"""Pooling (max / avg / sum / lp, global, 'valid' / 'full' / 'same') and its backward ops.

Kernels loop over the kernel offsets only (``prod(kernel)`` vectorised strided slices of the
data, no padded copy: ``_pool_kernels``), never over pixels or batch items; global pooling is
one reduction.

Gradients are registry ops: ``_pooling_backward`` routes (max) or spreads (avg, sum) the output
gradient; its own gradient w.r.t. the output gradient is ``_pooling_gather`` (max: read the
gradient at each window's argmax) or ``pooling`` itself (avg, sum: they are linear).
"""
import math

import numpy as np

from .. import ops as F
from .._ort_kernels import maxpool, maxpool_indices
from .._registry import Aval, Sample, register
from . import _im2col as im
from . import _pool_kernels as pk
from ._samples import distinct, pos, rnd

_TYPES = ("max", "avg", "sum", "lp")


def _geom(shape, kernel, stride, pad, global_pool, pooling_convention, op="pooling"):
    return im.PoolGeom(shape, kernel, stride, pad, global_pool, pooling_convention, op)


def _cip(count_include_pad):
    return True if count_include_pad is None else bool(count_include_pad)


def _pval(p_value):
    return 2 if p_value is None else int(p_value)


def _lowest(xp, dtype):
    return -np.inf if np.dtype(dtype).kind == "f" else np.iinfo(dtype).min


def _slabs(xp, data, geo, fill):
    """Yield ``(flat_offset, slab (N, C, *out))`` for each kernel offset of the padded data."""
    xpad = im.pad(xp, data, geo.begin, geo.end, fill)
    ones = (1,) * len(geo.kernel)
    for j, kidx in enumerate(np.ndindex(*geo.kernel)):
        yield j, xpad[(Ellipsis,) + im.offset_slices(kidx, geo.stride, ones, geo.out)]


def _argmax(xp, data, geo):
    """Flat kernel offset of each window's maximum (the first maximum wins, as MXNet)."""
    return pk.window_argmax(xp, data, geo, _lowest(xp, data.dtype))


def _lp_root(xp, acc, p):
    if p == 1:
        return acc
    if p == 2:
        return xp.sqrt(acc)
    if p == 3:
        return xp.cbrt(acc)
    return xp.power(acc, 1.0 / p)


def _spatial_axes(data):
    return tuple(range(2, data.ndim))


# ---- pooling ----------------------------------------------------------------------------------
def _pool_kernel(xp, data, kernel=(), pool_type="max", global_pool=False, cudnn_off=False,
                 pooling_convention="valid", stride=(), pad=(), p_value=None,
                 count_include_pad=None, layout=None):
    """Pooling over the trailing 1-3 spatial axes of ``(N, C, *S)``.

    Output ``(N, C, *O)``: ``O = floor((S + 2*pad - kernel) / stride) + 1`` ('valid') or
    ``ceil(...)`` ('full'); ``global_pool`` pools the whole map to ``(N, C, 1, ...)``. Average
    pooling divides by the window clipped to the padded input (``count_include_pad=True``, the
    default) or by the number of real elements. Lp pooling: ``(sum x**p) ** (1/p)``.

    Example::

        >>> y = nd.Pooling(x, kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type='max')
    """
    if pool_type not in _TYPES:
        raise ValueError(f"unknown pool_type {pool_type!r}; expected one of {_TYPES}")
    im.check_layout(layout, data.ndim - 2, "pooling")
    if global_pool and pool_type in ("max", "avg", "sum"):
        red = {"max": xp.max, "avg": xp.mean, "sum": xp.sum}[pool_type]
        return red(data, axis=_spatial_axes(data), keepdims=True)
    geo = _geom(data.shape, kernel, stride, pad, global_pool, pooling_convention)
    if pool_type == "max":
        y = _max_ort(xp, data, geo)
        return pk.window_max(xp, data, geo, _lowest(xp, data.dtype)) if y is None else y
    if pool_type == "lp":
        p = _pval(p_value)
        return _lp_root(xp, pk.window_sum(xp, data ** p, geo), p)
    acc = pk.window_sum(xp, data, geo)
    if pool_type == "avg":
        acc = acc / xp.asarray(geo.divisor(_cip(count_include_pad)), dtype=acc.dtype)
    return acc


def _pool_infer(data, kernel=(), pool_type="max", global_pool=False, cudnn_off=False,
                pooling_convention="valid", stride=(), pad=(), **_):
    geo = _geom(data.shape, kernel, stride, pad, global_pool, pooling_convention)
    return Aval(tuple(data.shape[:2]) + geo.out, np.dtype(data.dtype))


def _bw_attrs(kernel, global_pool, pooling_convention, stride, pad, count_include_pad):
    return dict(kernel=kernel, global_pool=global_pool, pooling_convention=pooling_convention,
                stride=stride, pad=pad, count_include_pad=count_include_pad)


def _pool_grad(ins, outs, gouts, kernel=(), pool_type="max", global_pool=False, cudnn_off=False,
               pooling_convention="valid", stride=(), pad=(), p_value=None,
               count_include_pad=None, layout=None):
    x, gy = ins[0], gouts[0]
    a = _bw_attrs(kernel, global_pool, pooling_convention, stride, pad, count_include_pad)
    if pool_type != "lp":
        return (F._pooling_backward(gy, x, pool_type=pool_type, **a),)
    # d (sum x^p)^(1/p) / dx = x^(p-1) * y^(1-p)
    p, y = _pval(p_value), outs[0]
    if p == 1:
        return (F._pooling_backward(gy, x, pool_type="sum", **a),)
    scaled = gy / y if p == 2 else gy * F.power(y, float(1 - p))
    back = F._pooling_backward(scaled, x, pool_type="sum", **a)
    return (back * (x if p == 2 else F.power(x, float(p - 1))),)


def _pool_ref(x, kernel=(), pool_type="max", global_pool=False, cudnn_off=False,
              pooling_convention="valid", stride=(), pad=(), p_value=None,
              count_include_pad=None, layout=None):
    """Naive reference: one window at a time, clipping by hand (MXNet's pool.h rules)."""
    geo = _geom(x.shape, kernel, stride, pad, global_pool, pooling_convention)
    y = np.zeros(x.shape[:2] + geo.out)
    p = _pval(p_value)
    for o in np.ndindex(*geo.out):
        lo = [oi * s - b for oi, s, b in zip(o, geo.stride, geo.begin)]
        hi_pad = [min(lv + k, n + b) for lv, k, n, b in zip(lo, geo.kernel, geo.size, geo.begin)]
        real = tuple(slice(max(lv, 0), min(h, n)) for lv, h, n in zip(lo, hi_pad, geo.size))
        win = x[(Ellipsis,) + real].reshape(x.shape[:2] + (-1,))
        if pool_type == "max":
            v = win.max(-1)
        elif pool_type == "lp":
            v = np.sign(s := (win ** p).sum(-1)) * np.abs(s) ** (1.0 / p)
        else:
            v = win.sum(-1)
            if pool_type == "avg":
                cnt = (np.prod([h - lv for lv, h in zip(lo, hi_pad)]) if _cip(count_include_pad)
                       else win.shape[-1])
                v = v / cnt
        y[(Ellipsis,) + o] = v
    return y


def _pool_onnx(g, i, a, o, kernel=(), pool_type="max", global_pool=False, cudnn_off=False,
               pooling_convention="valid", stride=(), pad=(), p_value=None,
               count_include_pad=None, layout=None):
    from ._conv_onnx import pool_onnx
    geo = _geom(a[0].shape, kernel, stride, pad, global_pool, pooling_convention)
    return pool_onnx(g, i[0], a[0], geo, pool_type, global_pool, _pval(p_value),
                     _cip(count_include_pad))


_POOL_SAMPLES = [
    Sample(distinct(2, 2, 5, 5), kernel=(3, 3), stride=(2, 2), pad=(1, 1)),
    Sample(rnd(1, 2, 6, 6), kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg",
           pooling_convention="full"),
    Sample(rnd(2, 2, 5, 5), kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type="avg",
           count_include_pad=False),
    Sample(rnd(2, 3, 7), kernel=(3,), stride=(2,), pool_type="sum"),
    Sample(pos(2, 2, 4, 4), kernel=(2, 2), pool_type="lp", p_value=2),
    Sample(pos(2, 2, 4, 3), kernel=(2, 2), stride=(2, 1), pool_type="lp", p_value=3),
    Sample(distinct(2, 3, 3, 3), global_pool=True),
    Sample(rnd(2, 3, 3, 3), global_pool=True, pool_type="avg"),
    Sample(distinct(1, 2, 4, 4, 3), kernel=(2, 2, 2), stride=(2, 2, 2), pool_type="max",
           pooling_convention="full"),
    Sample(rnd(1, 2, 6, 5), kernel=(2, 3), stride=(2, 2), pad=(1, 1), pool_type="avg",
           pooling_convention="full", count_include_pad=False),
]

pooling = register(
    "pooling", _pool_kernel,
    attrs={"kernel": (), "pool_type": "max", "global_pool": False, "cudnn_off": False,
           "pooling_convention": "valid", "stride": (), "pad": (), "p_value": None,
           "count_include_pad": None, "layout": None},
    infer=_pool_infer, grad=_pool_grad, onnx=_pool_onnx, samples=_POOL_SAMPLES, ref=_pool_ref,
    save_outputs=True, second_order=True, aliases=("Pooling", "Pooling_v1"))


# ---- backward ops -----------------------------------------------------------------------------
def _bw_kernel(xp, grad_out, data, kernel=(), pool_type="max", global_pool=False,
               pooling_convention="valid", stride=(), pad=(), count_include_pad=None):
    """Gradient of ``pooling`` w.r.t. its data: ``grad_out (N, C, *O)`` -> ``(N, C, *S)``.

    max: each window's gradient goes to its (first) maximum; avg/sum: spread over the window.
    """
    geo = _geom(data.shape, kernel, stride, pad, global_pool, pooling_convention,
                "_pooling_backward")
    if global_pool:
        return _global_backward(xp, grad_out, data, pool_type)
    if pool_type == "max":
        routed = _route_ort(xp, grad_out, data, geo)
        if routed is not None:
            return routed
        return pk.route(xp, grad_out, _argmax(xp, data, geo), data.shape, geo)
    if pool_type not in ("avg", "sum"):
        raise ValueError(f"_pooling_backward supports max/avg/sum, not {pool_type!r}")
    g = grad_out
    if pool_type == "avg":
        g = g / xp.asarray(geo.divisor(_cip(count_include_pad)), dtype=g.dtype)
    return pk.spread(xp, g, data.shape, geo)


ORT_MIN_SIZE = 1 << 15   # input elements from which onnxruntime's argmax pays its call


def _max_ort(xp, data, geo):
    """Max pooling by onnxruntime's kernel for large finite numpy inputs (bit for bit the
    window maxima numpy computes; NaN windows keep numpy's propagation), else None."""
    if xp is not np or data.size < ORT_MIN_SIZE or not np.isfinite(data).all():
        return None
    y = maxpool(data, geo.kernel, geo.stride, geo.begin, geo.end)
    return y if y is not None and y.shape[2:] == geo.out else None


def _route_ort(xp, grad_out, data, geo):
    """Max pooling's gradient with the windows' argmax from onnxruntime's MaxPool (its
    indices are flat over the whole input, the first maximum of a window as MXNet's): one
    ``np.add.at`` routes the gradients. ResNet-18's (32, 64, 16, 16) 3x3/2 pooling backward
    4.4 -> 2.3 ms (2026-12-07). None where it does not apply."""
    if xp is not np or data.size < ORT_MIN_SIZE or grad_out.dtype != data.dtype:
        return None
    if not np.isfinite(data).all():   # a window of NaN or -inf: onnxruntime picks another
        return None                   # position than numpy's routing does
    idx = maxpool_indices(data, geo.kernel, geo.stride, geo.begin, geo.end)
    if idx is None or idx.shape != grad_out.shape:
        return None
    # overlapping windows add up in window order (pk.route's sums)
    acc = pk.scatter_windows(idx, grad_out, data.size)
    return acc.reshape(data.shape).astype(grad_out.dtype, copy=False)


def _flat_argmax(xp, data):
    flat = data.reshape(data.shape[:2] + (-1,))
    return flat, xp.argmax(flat, axis=-1)[..., None]


def _global_backward(xp, grad_out, data, pool_type):
    """One step instead of a loop over every pixel of the (whole-map) window."""
    g = grad_out.reshape(grad_out.shape[:2] + (1,))
    if pool_type == "max":
        flat, idx = _flat_argmax(xp, data)
        hot = xp.arange(flat.shape[-1]) == idx
        return xp.where(hot, g, xp.zeros((), g.dtype)).reshape(data.shape)
    if pool_type == "avg":
        g = g / g.dtype.type(math.prod(data.shape[2:]))
    if pool_type not in ("avg", "sum"):
        raise ValueError(f"_pooling_backward supports max/avg/sum, not {pool_type!r}")
    return xp.ascontiguousarray(xp.broadcast_to(g.reshape(g.shape[:2] + (1,) * (data.ndim - 2)),
                                                data.shape))


def _bw_grad(ins, outs, gouts, pool_type="max", **a):
    gy, x = ins
    if pool_type == "max":
        a.pop("count_include_pad")
        return F._pooling_gather(gouts[0], x, **a), None
    return F.pooling(gouts[0], pool_type=pool_type, **a), None


def _bw_ref(gy, x, kernel=(), pool_type="max", global_pool=False, pooling_convention="valid",
            stride=(), pad=(), count_include_pad=None):
    """Naive adjoint: loop over windows, add each output gradient where it belongs."""
    geo = _geom(x.shape, kernel, stride, pad, global_pool, pooling_convention)
    full = tuple(n + b + e for n, b, e in zip(geo.size, geo.begin, geo.end))
    xpad = np.full(x.shape[:2] + full, -np.inf)
    xpad[(Ellipsis,) + tuple(slice(b, b + n) for b, n in zip(geo.begin, geo.size))] = x
    dx = np.zeros_like(xpad)
    div = geo.divisor(_cip(count_include_pad)) if pool_type == "avg" else None
    for o in np.ndindex(*geo.out):
        win = tuple(slice(oi * s, oi * s + k) for oi, s, k in zip(o, geo.stride, geo.kernel))
        g = gy[(Ellipsis,) + o]
        if pool_type == "max":
            w = xpad[(Ellipsis,) + win].reshape(x.shape[:2] + (-1,))
            hot = np.eye(w.shape[-1])[w.argmax(-1)].reshape(w.shape[:2] + geo.kernel)
            dx[(Ellipsis,) + win] += hot * g.reshape(g.shape + (1,) * len(geo.kernel))
        else:
            scale = div[o] if div is not None else 1.0
            dx[(Ellipsis,) + win] += (g / scale).reshape(g.shape + (1,) * len(geo.kernel))
    return im.crop(dx, geo.begin, geo.size)


def _bw_onnx(g, i, a, o, kernel=(), pool_type="max", global_pool=False,
             pooling_convention="valid", stride=(), pad=(), count_include_pad=None):
    from ._conv_onnx import pool_backward_onnx
    geo = _geom(a[1].shape, kernel, stride, pad, global_pool, pooling_convention)
    return pool_backward_onnx(g, i, a, geo, pool_type, _cip(count_include_pad))


def _bw_samples():
    x = distinct(2, 2, 5, 5)
    return [Sample(rnd(2, 2, 3, 3, salt=5), x, kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                   wrt=[0]),
            Sample(rnd(1, 2, 4, 4, salt=5), rnd(1, 2, 6, 6), kernel=(3, 3), stride=(2, 2),
                   pad=(1, 1), pool_type="avg", pooling_convention="full", wrt=[0]),
            Sample(rnd(2, 3, 3, salt=5), rnd(2, 3, 7), kernel=(3,), stride=(2,),
                   pool_type="sum", wrt=[0]),
            Sample(rnd(2, 3, 1, 1, salt=5), distinct(2, 3, 3, 3), global_pool=True, wrt=[0]),
            Sample(rnd(2, 3, 1, 1, salt=5), rnd(2, 3, 3, 3), global_pool=True,
                   pool_type="avg", wrt=[0])]


_pooling_backward = register(
    "_pooling_backward", _bw_kernel, inputs=("grad_out", "data"),
    attrs={"kernel": (), "pool_type": "max", "global_pool": False,
           "pooling_convention": "valid", "stride": (), "pad": (), "count_include_pad": None},
    infer=lambda gy, x, **_: Aval(tuple(x.shape), np.dtype(gy.dtype)), grad=_bw_grad,
    onnx=_bw_onnx, samples=_bw_samples(), ref=_bw_ref, second_order=True)


def _gather_kernel(xp, grad, data, kernel=(), global_pool=False, pooling_convention="valid",
                   stride=(), pad=()):
    """Read ``grad (N, C, *S)`` at each max-pooling window's argmax of ``data``: ``(N, C, *O)``.

    The adjoint of max-pool routing (the second-order term of max pooling).
    """
    if global_pool:
        idx = _flat_argmax(xp, data)[1]
        picked = xp.take_along_axis(grad.reshape(grad.shape[:2] + (-1,)), idx, axis=-1)
        return picked.reshape(grad.shape[:2] + (1,) * (grad.ndim - 2))
    geo = _geom(data.shape, kernel, stride, pad, global_pool, pooling_convention,
                "_pooling_gather")
    idx = _argmax(xp, data, geo)
    res = None
    for j, sl in _slabs(xp, grad, geo, 0):
        res = sl.copy() if res is None else xp.where(idx == j, sl, res)
    return res


def _gather_ref(gr, x, **a):
    # the adjoint of the routing reference, applied to the unit vectors' weights
    geo = _geom(x.shape, a.get("kernel", ()), a.get("stride", ()), a.get("pad", ()),
                a.get("global_pool", False), a.get("pooling_convention", "valid"))
    y = np.zeros(x.shape[:2] + geo.out)
    for o in np.ndindex(*geo.out):
        e = np.zeros(geo.out)
        e[o] = 1.0
        back = _bw_ref(np.broadcast_to(e, x.shape[:2] + geo.out), x, pool_type="max", **a)
        y[(Ellipsis,) + o] = (back * gr).reshape(x.shape[:2] + (-1,)).sum(-1)
    return y


_pooling_gather = register(
    "_pooling_gather", _gather_kernel, inputs=("grad", "data"),
    attrs={"kernel": (), "global_pool": False, "pooling_convention": "valid", "stride": (),
           "pad": ()},
    infer=lambda gr, x, kernel=(), global_pool=False, pooling_convention="valid", stride=(),
    pad=(): Aval(tuple(x.shape[:2]) + _geom(x.shape, kernel, stride, pad, global_pool,
                                             pooling_convention).out, np.dtype(gr.dtype)),
    grad=lambda i, o, g, **a: (F._pooling_backward(g[0], i[1], pool_type="max", **a), None),
    onnx=lambda g, i, a, o, **at: _gather_onnx(g, i, a, **at),
    samples=[Sample(rnd(2, 2, 5, 5, salt=5), distinct(2, 2, 5, 5), kernel=(3, 3),
                    stride=(2, 2), pad=(1, 1), wrt=[0]),
             Sample(rnd(2, 3, 6, salt=5), distinct(2, 3, 6), kernel=(2,), stride=(2,),
                    pooling_convention="full", wrt=[0]),
             Sample(rnd(2, 3, 3, 3, salt=5), distinct(2, 3, 3, 3), global_pool=True, wrt=[0])],
    ref=_gather_ref, second_order=True)


def _gather_onnx(g, i, a, kernel=(), global_pool=False, pooling_convention="valid", stride=(),
                 pad=()):
    from ._conv_onnx import gather_onnx
    geo = _geom(a[1].shape, kernel, stride, pad, global_pool, pooling_convention)
    return gather_onnx(g, i, a, geo)


EXPORTS = {}
