"""Reductions: sum, mean, prod, max, min, nansum, nanprod, norm, logsumexp, argmax, argmin.

MXNet conventions: ``axis=None`` (or ``()``) reduces everything, even with ``exclude=True``; a
reduction down to no axes returns shape ``(1,)``; integer inputs keep their dtype; argmax/argmin
return indices in the input's dtype. Gradients broadcast the output gradient back over the reduced
axes with ``_broadcast_reduced`` (a registry op, so they stay differentiable).
"""
import math

import numpy as np

from .. import ops as F
from .._registry import Aval, Sample, register
from ._rules import norm_axes, norm_axis, reduce_shape
from ._samples import distinct, pos, rnd


def red_axes(ndim, axis=None, exclude=False, op="reduce"):
    """Normalized tuple of reduced axes; MXNet reduces all axes when ``axis`` is None or ()."""
    if axis is None or (isinstance(axis, (tuple, list)) and len(axis) == 0):
        return tuple(range(ndim))
    return norm_axes(axis, ndim, exclude, op)


def _finish(res):
    """numpy returns a 0-d array for a full reduction; MXNet returns shape (1,)."""
    return res.reshape(1) if res.ndim == 0 else res


def _acc_dtype(dt):
    # float16 sums lose too much precision: accumulate in float32 and cast back (as MXNet does)
    return np.float32 if dt == np.float16 else dt


# ---- _broadcast_reduced: the gradient helper (a reduced array spread back over its axes) ----
def _keep_shape(shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _bcast_kernel(xp, data, shape, axes):
    shape, axes = tuple(shape), tuple(axes)
    if data.size == math.prod(shape):  # nothing to spread (reduced axes of size 1)
        return data.reshape(shape).copy()
    # copy: broadcast views are read-only and gradients may be updated in place later
    return xp.ascontiguousarray(xp.broadcast_to(data.reshape(_keep_shape(shape, axes)), shape))


def _bcast_grad(i, o, g, shape, axes):
    if not axes:
        return (g[0],)
    keep = i[0].ndim == len(shape) and len(shape) > 1
    return (F.sum(g[0], axis=tuple(axes), keepdims=keep),)


def _bcast_onnx(g, i, a, o, shape, axes):
    keep = g.op("Reshape", i[0], g.ints(_keep_shape(tuple(shape), tuple(axes))))
    return g.op("Expand", keep, g.ints(shape))


_broadcast_reduced = register(
    "_broadcast_reduced", _bcast_kernel, attrs={"shape": None, "axes": ()},
    infer=lambda x, shape, axes: Aval(tuple(shape), np.dtype(x.dtype)),
    grad=_bcast_grad, onnx=_bcast_onnx, second_order=True,
    samples=[Sample(rnd(2, 1, 4), shape=(2, 3, 4), axes=(1,)),
             Sample(rnd(2, 4), shape=(2, 3, 4), axes=(1,)),
             Sample(rnd(1), shape=(2, 3), axes=(0, 1)),
             Sample(rnd(3), shape=(2, 3), axes=(0,))],
    ref=lambda x, shape, axes: np.broadcast_to(x.reshape(_keep_shape(shape, axes)), shape),
    doc="Spread a reduction result of shape reduce(shape, axes) back to ``shape`` (internal).")


def spread(r, x, axes):
    """``r`` (reduced over ``axes`` of ``x``, any keepdims) broadcast back to ``x``'s shape."""
    if not axes:
        return r
    return F._broadcast_reduced(r, shape=tuple(x.shape), axes=tuple(axes))


# ---- the axis-reducing family (sum, mean, prod, max, min, nansum, nanprod) ----
def _reduce_infer(x, axis=None, keepdims=False, exclude=False):
    axes = red_axes(len(x.shape), axis, exclude)
    return Aval(reduce_shape(tuple(x.shape), axes, keepdims), np.dtype(x.dtype))


def _wide_dtype(dt):
    """float64 for narrower floats (``_sum_wide``), the dtype itself otherwise."""
    return np.float64 if dt.kind == "f" and dt.itemsize < 8 else dt


def _make_kernel(np_name, acc=True, widen=_acc_dtype):
    as_method = np_name in ("sum", "mean", "prod", "max", "min")  # x.sum() beats np.sum(x)

    def kernel(xp, x, axis=None, keepdims=False, exclude=False):
        if axis is None:
            axes = None  # everything (MXNet ignores exclude here)
        else:
            axes = red_axes(x.ndim, axis, exclude)
            if not axes:
                return x.copy()
            if as_method and x.dtype.kind in "fiu" and all(x.shape[a] == 1 for a in axes):
                # one element per result (a loss's (N, 1) to (N,)): the element itself; the
                # reduction machinery costs tens of microseconds on small arrays
                res = x.reshape(reduce_shape(x.shape, axes, keepdims)).copy()
                if np_name in ("sum", "mean") and x.dtype.kind == "f":
                    res += 0  # a sum starts from +0: -0.0 becomes 0.0 as in the reduction
                return _finish(res)
        fn = getattr(x, np_name) if as_method else getattr(xp, np_name)
        args = () if as_method else (x,)
        if acc:  # keep the input dtype (numpy would widen ints to int64, mean to float64)
            res = fn(*args, axis=axes, keepdims=keepdims, dtype=widen(x.dtype))
        else:
            res = fn(*args, axis=axes, keepdims=keepdims)
        if res.dtype != x.dtype:
            res = res.astype(x.dtype)
        return _finish(res)
    kernel.__name__ = np_name
    return kernel


def _reduce_onnx(onnx_op, pre=None):
    def lower(g, i, a, o, axis=None, keepdims=False, exclude=False):
        x = i[0] if pre is None else pre(g, i[0], a[0].dtype)
        return reduce_node(g, onnx_op, x, a[0], o[0], red_axes(len(a[0].shape), axis, exclude),
                           keepdims)
    return lower


def reduce_node(g, onnx_op, x, aval, out_aval, axes, keepdims):
    """Emit an ONNX Reduce* over ``axes`` (input or attribute by opset), reshaped to MXNet's."""
    if not axes:
        return g.op("Identity", x)
    if onnx_op == "ReduceSum" or g.opset >= 18:
        r = g.op(onnx_op, x, g.ints(axes), keepdims=int(bool(keepdims)))
    else:
        r = g.op(onnx_op, x, axes=list(axes), keepdims=int(bool(keepdims)))
    if not keepdims and len(axes) == len(aval.shape):
        r = g.op("Reshape", r, g.ints(out_aval.shape))
    return r


def _ref(np_fn):
    def ref(x, axis=None, keepdims=False, exclude=False):
        axes = red_axes(x.ndim, axis, exclude)
        if not axes:
            return x
        return np.asarray(np_fn(x, axis=axes, keepdims=keepdims)).reshape(
            reduce_shape(x.shape, axes, keepdims))
    return ref


def _samples(make=rnd):
    return [Sample(make(2, 3, 4), axis=1), Sample(make(2, 3, 4), axis=(0, 2), keepdims=True),
            Sample(make(2, 3)), Sample(make(2, 3, 4), axis=1, exclude=True),
            Sample(make(5), axis=0), Sample(make(2, 3), axis=-1, keepdims=True)]


_RED_ATTRS = {"axis": None, "keepdims": False, "exclude": False}


def _register_reduce(name, kernel, grad, onnx, ref, samples, second, **kw):
    return register(name, kernel, attrs=dict(_RED_ATTRS), infer=_reduce_infer, grad=grad,
                    onnx=onnx, samples=samples, ref=ref, second_order=second, **kw)


def _axes_of(x, axis, exclude):
    return red_axes(len(x.shape), axis, exclude)


def _sum_grad(i, o, g, axis=None, keepdims=False, exclude=False):
    return (spread(g[0], i[0], _axes_of(i[0], axis, exclude)),)


def _mean_grad(i, o, g, axis=None, keepdims=False, exclude=False):
    axes = _axes_of(i[0], axis, exclude)
    count = math.prod(i[0].shape[a] for a in axes)
    spread_g = spread(g[0], i[0], axes)
    return (spread_g if count == 1 else spread_g / (count or 1),)


def _extremum_grad(i, o, g, axis=None, keepdims=False, exclude=False):
    # MXNet routes the gradient to every element equal to the extremum (no ties in samples)
    x = i[0]
    axes = _axes_of(x, axis, exclude)
    mask = F.equal(x, spread(o[0], x, axes))
    return (spread(g[0], x, axes) * mask,)


def _prod_of_others(x, axes, nan_as_one=False):
    """d prod(x) / dx without dividing by zero: handles one zero per slice exactly."""
    one = F.ones_like(x)
    if nan_as_one:
        x = F.where(F.not_equal(x, x), one, x)
    nonzero = F.not_equal(x, 0)
    safe = F.where(nonzero, x, one)
    p = spread(F.prod(safe, axis=axes, keepdims=True), x, axes)
    zeros = spread(F.sum(1 - nonzero, axis=axes, keepdims=True), x, axes)
    only_zero = F.equal(zeros, 1) * (1 - nonzero)
    return F.where(F.equal(zeros, 0), p / safe, p * only_zero)


def _prod_grad(i, o, g, axis=None, keepdims=False, exclude=False):
    axes = _axes_of(i[0], axis, exclude)
    if not axes:
        return (g[0],)
    return (spread(g[0], i[0], axes) * _prod_of_others(i[0], axes),)


def _nansum_grad(i, o, g, axis=None, keepdims=False, exclude=False):
    x = i[0]
    isnum = F.equal(x, x)  # NaN != NaN: NaN entries get no gradient
    return (spread(g[0], x, _axes_of(x, axis, exclude)) * isnum,)


def _nanprod_grad(i, o, g, axis=None, keepdims=False, exclude=False):
    x = i[0]
    axes = _axes_of(x, axis, exclude)
    if not axes:
        return (g[0] * F.equal(x, x),)
    others = _prod_of_others(x, axes, nan_as_one=True)
    return (spread(g[0], x, axes) * others * F.equal(x, x),)


def _nan_to(value):
    def pre(g, x, dtype):
        return g.op("Where", g.op("IsNaN", x), g.const(np.asarray(value, dtype)), x)
    return pre


def _with_nans(*shape):
    x = rnd(*shape)
    x.flat[::4] = np.nan
    return x


sum = _register_reduce(  # noqa: A001 - MXNet's name
    "sum", _make_kernel("sum"), _sum_grad, _reduce_onnx("ReduceSum"), _ref(np.sum),
    _samples(), True, aliases=("sum_axis",), overlap=True,
    doc="Sum over ``axis`` (all by default; shape (1,) when nothing is left).\n\n"
        "    >>> nd.sum(nd.ones((2, 3)), axis=1)  # [3. 3.], shape (2,)", amp="fp32")


def _wide_onnx(g, i, a, o, axis=None, keepdims=False, exclude=False):
    dt = np.dtype(a[0].dtype)
    x = i[0] if _wide_dtype(dt) == dt else g.op("Cast", i[0], to=g.onnx_dtype(np.float64))
    r = reduce_node(g, "ReduceSum", x, a[0], o[0], red_axes(len(a[0].shape), axis, exclude),
                    keepdims)
    return r if _wide_dtype(dt) == dt else g.op("Cast", r, to=g.onnx_dtype(dt))


# the parameter gradients of the normalization layers: one term per row, 4096 rows of a
# (4096, 512) float32 input lose 2e-4 when summed in float32 (MXNet accumulates wider too);
# numpy widens chunk by chunk inside the reduction, where a cast first wrote a float64 copy
_sum_wide = _register_reduce(
    "_sum_wide", _make_kernel("sum", widen=_wide_dtype), _sum_grad, _wide_onnx,
    _ref(lambda x, axis, keepdims: np.sum(x.astype(np.float64), axis=axis,
                                          keepdims=keepdims).astype(x.dtype)),
    _samples(), True, amp="fp32",
    doc="sum accumulated in float64 for narrower floats, in the input's dtype (internal).\n\n"
        "    >>> nd._sum_wide(nd.ones((4, 2)), axis=0)  # [4. 4.]")
mean = _register_reduce(
    "mean", _make_kernel("mean"), _mean_grad, _reduce_onnx("ReduceMean"), _ref(np.mean),
    _samples(), True,
    doc="Mean over ``axis``.\n\n    >>> nd.mean(nd.array([[1, 3]]))  # [2.], shape (1,)",
    amp="fp32")
prod = _register_reduce(
    "prod", _make_kernel("prod"), _prod_grad, _reduce_onnx("ReduceProd"), _ref(np.prod),
    _samples(pos), True,
    doc="Product over ``axis``.\n\n    >>> nd.prod(nd.array([2, 3]))  # [6.]", amp="fp32")
max = _register_reduce(  # noqa: A001
    "max", _make_kernel("max", acc=False), _extremum_grad, _reduce_onnx("ReduceMax"),
    _ref(np.max), _samples(distinct), False, aliases=("max_axis",), save_outputs=True,
    doc="Maximum over ``axis``.\n\n    >>> nd.max(nd.array([[1, 5], [7, 2]]), axis=0)  # [7. 5.]")
min = _register_reduce(  # noqa: A001
    "min", _make_kernel("min", acc=False), _extremum_grad, _reduce_onnx("ReduceMin"),
    _ref(np.min), _samples(distinct), False, aliases=("min_axis",), save_outputs=True,
    doc="Minimum over ``axis``.\n\n    >>> nd.min(nd.array([[1, 5], [7, 2]]), axis=0)  # [1. 2.]")
nansum = _register_reduce(
    "nansum", _make_kernel("nansum"), _nansum_grad, _reduce_onnx("ReduceSum", _nan_to(0.0)),
    _ref(np.nansum), _samples(_with_nans), True,
    doc="Sum treating NaN as 0.\n\n    >>> nd.nansum(nd.array([1, float('nan'), 2]))  # [3.]",
    amp="fp32")
nanprod = _register_reduce(
    "nanprod", _make_kernel("nanprod"), _nanprod_grad,
    _reduce_onnx("ReduceProd", _nan_to(1.0)), _ref(np.nanprod),
    _samples(lambda *s: np.where(np.isnan(_with_nans(*s)), np.nan, pos(*s))), True,
    doc="Product treating NaN as 1.\n\n    >>> nd.nanprod(nd.array([2, float('nan'), 3]))  # [6.]",
    amp="fp32")


# ---- norm ----
def _norm_kernel(xp, x, ord=2, axis=None, out_dtype=None, keepdims=False):
    axes = red_axes(x.ndim, axis)
    acc = x.astype(_acc_dtype(x.dtype), copy=False)
    if int(ord) == 1:
        res = xp.abs(acc).sum(axis=axes, keepdims=keepdims)
    elif int(ord) == 2:
        res = xp.sqrt((acc * acc).sum(axis=axes, keepdims=keepdims))
    else:
        raise ValueError(f"ord must be 1 or 2, got {ord}")
    return _finish(res.astype(out_dtype or x.dtype, copy=False))


def _norm_infer(x, ord=2, axis=None, out_dtype=None, keepdims=False):
    axes = red_axes(len(x.shape), axis)
    return Aval(reduce_shape(tuple(x.shape), axes, keepdims), np.dtype(out_dtype or x.dtype))


def _norm_grad(i, o, g, ord=2, axis=None, out_dtype=None, keepdims=False):
    x = i[0]
    axes = red_axes(x.ndim, axis)
    gx = spread(g[0], x, axes)
    if int(ord) == 1:
        res = gx * F.sign(x)
    else:
        n = spread(o[0], x, axes)
        # a zero norm has a zero subgradient: divide by 1 there instead of 0
        res = gx * x / F.where(F.equal(n, 0), F.ones_like(n), n)
    return (F.cast(res, dtype=np.dtype(x.dtype).name) if out_dtype else res,)


def _norm_onnx(g, i, a, o, ord=2, axis=None, out_dtype=None, keepdims=False):
    axes = red_axes(len(a[0].shape), axis)
    op = "ReduceL1" if int(ord) == 1 else "ReduceL2"
    r = reduce_node(g, op, i[0], a[0], o[0], axes, keepdims)
    return g.op("Cast", r, to=g.onnx_dtype(out_dtype)) if out_dtype else r


def _norm_ref(x, ord=2, axis=None, out_dtype=None, keepdims=False):
    axes = red_axes(x.ndim, axis)
    p = np.abs(x) if int(ord) == 1 else x ** 2
    r = np.sum(p, axis=axes, keepdims=keepdims)
    r = r if int(ord) == 1 else np.sqrt(r)
    return np.asarray(r).reshape(reduce_shape(x.shape, axes, keepdims))


norm = register(
    "norm", _norm_kernel, attrs={"ord": 2, "axis": None, "out_dtype": None, "keepdims": False},
    infer=_norm_infer, grad=_norm_grad, onnx=_norm_onnx, save_outputs=True, second_order=True,
    samples=[Sample(rnd(2, 3, 4)), Sample(rnd(2, 3, 4), axis=1),
             Sample(rnd(2, 3, 4), ord=1, axis=(0, 2), keepdims=True),
             Sample(rnd(3, 4), axis=-1, out_dtype="float64"), Sample(rnd(2, 3), ord=1)],
    ref=_norm_ref,
    doc="L1 or L2 norm over ``axis`` (all elements by default, giving shape (1,)).\n\n"
        "    >>> nd.norm(nd.array([3, 4]))  # [5.]", amp="fp32")


# ---- logsumexp ----
def _lse_kernel(xp, x, axis=None, keepdims=False):
    axes = red_axes(x.ndim, axis)
    m = xp.max(x, axis=axes, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)  # all -inf slices: avoid inf - inf
    res = xp.log(xp.exp(x - m).sum(axis=axes, keepdims=True)) + m
    if not keepdims:
        res = res.reshape(reduce_shape(x.shape, axes, False))
    return res


def _lse_grad(i, o, g, axis=None, keepdims=False):
    x = i[0]
    axes = red_axes(x.ndim, axis)
    return (spread(g[0], x, axes) * F.exp(x - spread(o[0], x, axes)),)


def _lse_ref(x, axis=None, keepdims=False):
    axes = red_axes(x.ndim, axis)
    return np.log(np.sum(np.exp(x), axis=axes, keepdims=keepdims)).reshape(
        reduce_shape(x.shape, axes, keepdims))


logsumexp = register(
    "logsumexp", _lse_kernel, attrs={"axis": None, "keepdims": False},
    infer=lambda x, axis=None, keepdims=False: _reduce_infer(x, axis, keepdims),
    grad=_lse_grad, save_outputs=True, second_order=True,
    onnx=lambda g, i, a, o, axis=None, keepdims=False: reduce_node(
        g, "ReduceLogSumExp", i[0], a[0], o[0], red_axes(len(a[0].shape), axis), keepdims),
    samples=[Sample(rnd(2, 3, 4) * 3, axis=1), Sample(rnd(2, 3) * 3),
             Sample(rnd(2, 3, 4), axis=(0, 2), keepdims=True)],
    ref=_lse_ref,
    doc="log(sum(exp(x))) over ``axis``, computed stably (max subtracted).\n\n"
        "    >>> nd.logsumexp(nd.array([0, 0]))  # [0.6931472]", amp="fp32")


# ---- argmax / argmin ----
def _arg_shape(shape, axis, keepdims):
    if axis is None:
        return tuple(1 for _ in shape) if keepdims else (1,)
    ax = norm_axis(axis, len(shape), "argmax")
    return reduce_shape(shape, (ax,), keepdims)


def _arg_kernel(np_name):
    def kernel(xp, x, axis=None, keepdims=False):
        fn = getattr(xp, np_name)
        out_shape = _arg_shape(x.shape, axis, keepdims)
        flat, ax = (x.reshape(-1), 0) if axis is None else (x, int(axis))
        idx = fn(flat, axis=ax)
        if xp is not np and x.dtype.kind == "f":  # numpy's (and MXNet's) rule on the GPU too:
            nan = xp.isnan(flat)                  # a lane with NaN gives its first NaN
            idx = xp.where(nan.any(axis=ax), xp.argmax(nan, axis=ax), idx)
        return xp.asarray(idx).astype(x.dtype).reshape(out_shape)
    return kernel


def _arg_onnx(onnx_op):
    def lower(g, i, a, o, axis=None, keepdims=False):
        x = i[0]
        if axis is None:
            x, ax = g.op("Reshape", x, g.ints([-1])), 0
        else:
            ax = norm_axis(axis, len(a[0].shape), onnx_op)
        r = g.op(onnx_op, x, axis=ax, keepdims=1)
        r = g.op("Cast", r, to=g.onnx_dtype(o[0].dtype))
        return g.op("Reshape", r, g.ints(o[0].shape))
    return lower


def _arg_ref(np_fn):
    def ref(x, axis=None, keepdims=False):
        idx = np_fn(x) if axis is None else np_fn(x, axis=axis)
        return np.asarray(idx, dtype=np.float32).reshape(_arg_shape(x.shape, axis, keepdims))
    return ref


def _register_arg(name, onnx_op, np_fn):
    return register(
        name, _arg_kernel(name), attrs={"axis": None, "keepdims": False},
        infer=lambda x, axis=None, keepdims=False: Aval(
            _arg_shape(tuple(x.shape), axis, keepdims), np.dtype(x.dtype)),
        onnx=_arg_onnx(onnx_op), ref=_arg_ref(np_fn),
        samples=[Sample(distinct(2, 3, 4), axis=1), Sample(distinct(2, 3)),
                 Sample(distinct(2, 3), axis=0, keepdims=True), Sample(distinct(5), axis=0),
                 Sample(distinct(2, 3), keepdims=True)],
        no_grad="returns indices: piecewise constant",
        doc=f"Index of the {name[3:]}imum along ``axis`` (of the flattened array when None), "
            f"in the input's dtype.\n\n    >>> nd.{name}(nd.array([[1, 5], [7, 2]]), axis=1)"
            f"  # {'[1. 0.]' if name == 'argmax' else '[0. 1.]'}")


argmax = _register_arg("argmax", "ArgMax", np.argmax)
argmin = _register_arg("argmin", "ArgMin", np.argmin)


def _argmax_channel_kernel(xp, x):
    return _arg_kernel("argmax")(xp, x, axis=-1)


argmax_channel = register(
    "argmax_channel", _argmax_channel_kernel,
    infer=lambda x: Aval(_arg_shape(tuple(x.shape), -1, False), np.dtype(x.dtype)),
    onnx=lambda g, i, a, o: _arg_onnx("ArgMax")(g, i, a, o, axis=-1),
    ref=lambda x: _arg_ref(np.argmax)(x, axis=-1).astype(x.dtype),
    samples=[Sample(distinct(2, 3)), Sample(distinct(2, 3, 4))],
    no_grad="returns indices: piecewise constant",
    doc="argmax over the last axis (MXNet's ``argmax_channel``).\n\n"
        "    >>> nd.argmax_channel(nd.array([[0, 1, 2], [3, 4, 5]]))  # [2. 2.]")
