"""``np.pad``, ``take_along_axis``, ``broadcast_arrays``, ``diagflat``, ``isclose``,
``frexp``, ``real`` and ``rollaxis`` with numpy's semantics, from kiln's registry ops.

``pad`` computes, per axis, which source element each output position copies (numpy's own
``pad`` of ``arange(n)`` tells, for every index-based mode) and gathers with ``take``, so every
mode is differentiable (MXNet 1.9.1's backward supports 'constant' only) and traceable.

Example::

    >>> np.pad(np.array([[1., 2.]]), ((0, 0), (1, 1)), mode="edge")
    array([[1., 1., 2., 2.]])
"""
import numpy as onp

from ..ndarray import ops as F
from ._core import _BOOL, cast_to, shape_of, wrap
from .creation import array
from .shape_ops import broadcast_to, moveaxis

_INDEX_MODES = ("edge", "reflect", "symmetric", "wrap")
_STAT_MODES = {"maximum": F.max, "minimum": F.min, "mean": F.mean}


def _pad_widths(pad_width, ndim):
    w = onp.broadcast_to(onp.asarray(pad_width, dtype=onp.int64).reshape(-1, 2)
                         if onp.ndim(pad_width) else onp.asarray([[pad_width] * 2]), (ndim, 2))
    if (w < 0).any():
        raise ValueError(f"pad: negative pad_width {pad_width}")
    return [tuple(int(v) for v in row) for row in w]


def pad(x, pad_width, mode="constant", **kwargs):
    """``x`` padded by ``pad_width`` (an int, ``(before, after)`` or one pair per axis).

    ``mode``: 'constant' (``constant_values``, default 0), 'edge', 'reflect', 'symmetric',
    'wrap', 'maximum', 'minimum', 'mean' (numpy's meanings; ``reflect_type`` 'even' only).
    Shapes: ``(n0, n1, ...)`` -> ``(n0 + b0 + a0, ...)``.

    Example::

        >>> np.pad(np.ones((2, 2)), 1).shape
        (4, 4)
    """
    if kwargs.get("reflect_type", "even") != "even":
        raise NotImplementedError("pad: only reflect_type='even' is supported")
    widths = _pad_widths(pad_width, x.ndim)
    value = kwargs.get("constant_values", 0)
    for ax, (lo, hi) in enumerate(widths):
        if not lo and not hi:
            continue
        n = shape_of(x)[ax]
        if mode in _INDEX_MODES:
            src = onp.pad(onp.arange(n), (lo, hi), mode=mode)
            x = F.take(x, array(src, dtype="int64", ctx=x.context), axis=ax)
            continue
        if mode == "constant":
            lo_v, hi_v = onp.broadcast_to(onp.asarray(value, dtype=onp.float64), (2,)) \
                if onp.ndim(value) <= 1 else value[ax]
            fill = F.zeros_like(F.slice_axis(x, axis=ax, begin=0, end=1)) if n else None
            if fill is None:
                raise ValueError("pad: constant padding of an empty axis is not supported")
            edge_lo = F.broadcast_axis(fill + float(lo_v), axis=ax, size=lo) if lo else None
            edge_hi = F.broadcast_axis(fill + float(hi_v), axis=ax, size=hi) if hi else None
        elif mode in _STAT_MODES:
            stat = _STAT_MODES[mode](x, axis=ax, keepdims=True)
            edge_lo = F.broadcast_axis(stat, axis=ax, size=lo) if lo else None
            edge_hi = F.broadcast_axis(stat, axis=ax, size=hi) if hi else None
        else:
            raise NotImplementedError(f"pad: mode {mode!r} is not supported")
        x = F.concat(*[p for p in (edge_lo, x, edge_hi) if p is not None], dim=ax)
    return wrap(x)


def take_along_axis(arr, indices, axis):
    """``arr``'s elements at ``indices`` (an integer array, ``arr``'s ndim) along ``axis``;
    ``indices`` broadcasts against ``arr`` on the other axes (``axis=None``: the flattened
    array). Negative indices count from the end.

    Example::

        >>> np.take_along_axis(np.array([[1., 2.], [3., 4.]]),
        ...                    np.array([[1], [0]], dtype="int64"), 1)
        array([[2.],
               [3.]])
    """
    if onp.dtype(indices.dtype).kind not in "iu":
        raise IndexError("take_along_axis: `indices` must be an integer array")
    if axis is None:
        arr, axis = F.reshape(arr, shape=(-1,)), 0
    shape, ishape = shape_of(arr), shape_of(indices)
    if len(shape) != len(ishape):
        raise ValueError("take_along_axis: `indices` and `arr` must have the same ndim")
    axis %= len(shape)
    out_shape = tuple(i if k == axis else onp.broadcast_shapes((s,), (i,))[0]
                      for k, (s, i) in enumerate(zip(shape, ishape)))
    n = shape[axis]
    idx = F.cast(indices, dtype="int64")
    idx = F.where(F.lesser(idx, 0), idx + n, idx)
    if ishape != out_shape:
        idx = F.broadcast_to(idx, shape=out_shape)
    # offset of every output position in the flattened arr, its ``axis`` coordinate left out
    strides = onp.cumprod((shape[1:] + (1,))[::-1])[::-1]
    grids = onp.indices(out_shape, sparse=True)
    base = sum(g * int(st) for k, (g, st) in enumerate(zip(grids, strides)) if k != axis)
    base = onp.broadcast_to(onp.asarray(base, dtype=onp.int64), out_shape)
    flat = F.add(F.multiply(idx, int(strides[axis])),
                 array(base, dtype="int64", ctx=arr.context))
    if shape != tuple(out_shape[k] if k != axis else n for k in range(len(shape))):
        arr = F.broadcast_to(arr, shape=tuple(out_shape[k] if k != axis else n
                                              for k in range(len(shape))))
    return wrap(F.take(F.reshape(arr, shape=(-1,)), flat, axis=0))


def broadcast_arrays(*args):
    """The arrays broadcast against each other (a list). Example:
    ``np.broadcast_arrays(np.ones((2, 1)), np.ones(3))[0].shape == (2, 3)``."""
    shape = onp.broadcast_shapes(*[shape_of(a) for a in args])
    return [a if shape_of(a) == shape else broadcast_to(a, shape) for a in args]


def diagflat(v, k=0):
    """A 2-D array with the flattened ``v`` on diagonal ``k``. Example:
    ``np.diagflat(np.array([1., 2.])).shape == (2, 2)``."""
    return wrap(F.diag(F.reshape(v, shape=(-1,)), k=k))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """Where ``|a - b| <= atol + rtol * |b|`` (a bool array; infinities equal themselves).

    Example: ``np.isclose(np.array([1.]), np.array([1. + 1e-9]))`` is ``array([ True])``.
    """
    if not hasattr(a, "shape"):
        a = array(a, ctx=b.context)
    if not hasattr(b, "shape"):
        b = array(b, ctx=a.context)
    if onp.dtype(a.dtype) != onp.dtype(b.dtype):
        dt = onp.promote_types(a.dtype, b.dtype)
        dt = dt if dt.kind == "f" else onp.dtype(onp.float64)
        a, b = cast_to(a, dt), cast_to(b, dt)
    elif onp.dtype(a.dtype).kind != "f":
        a, b = cast_to(a, onp.dtype(onp.float64)), cast_to(b, onp.dtype(onp.float64))
    diff = F.abs(F.broadcast_sub(a, b))
    close = F.broadcast_lesser_equal(diff, F.abs(b) * rtol + atol)
    close = F.broadcast_logical_or(close, F.broadcast_equal(a, b))  # inf == inf
    if equal_nan:
        both_nan = F.broadcast_logical_and(F.not_equal(a, a), F.not_equal(b, b))
        close = F.broadcast_logical_or(close, both_nan)
    return wrap(cast_to(close, _BOOL))


def frexp(x):
    """Mantissa (``x``'s dtype, magnitude in [0.5, 1)) and exponent (int32) with
    ``x == m * 2 ** e``; computed on the host, as in MXNet (not differentiable).

    Example: ``np.frexp(np.array([4.]))`` is ``(array([0.5]), array([3], dtype=int32))``.
    """
    host = x.asnumpy()
    if host.dtype.kind != "f":
        host = host.astype(onp.float32)
    m, e = onp.frexp(host)
    return (array(m, dtype=m.dtype, ctx=x.context),
            array(e.astype(onp.int32), dtype=onp.int32, ctx=x.context))


def real(val):
    """The real part: kiln arrays are real, so a copy of ``val``. Example: ``np.real(x)``."""
    return wrap(F.identity(val))


def rollaxis(a, axis, start=0):
    """Axis ``axis`` moved to just before position ``start`` (numpy's older ``moveaxis``).

    Example: ``np.rollaxis(np.ones((2, 3, 4)), 2).shape == (4, 2, 3)``.
    """
    n = a.ndim
    axis = axis % n
    if not -n <= start <= n:
        raise ValueError(f"rollaxis: start {start} out of range for {n} axes")
    start = start + n if start < 0 else start
    if axis < start:
        start -= 1
    return a if axis == start else moveaxis(a, axis, start)
