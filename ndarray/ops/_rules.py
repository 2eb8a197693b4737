"""Shared shape/dtype inference rules and small helpers used by many op definitions."""
import numpy as np

from ...base import OpError
from .._registry import Aval

FLOAT_KINDS = "fc"


def dtype_of(x):
    """numpy dtype of an Aval, an array, or a Python scalar (weak: None)."""
    d = getattr(x, "dtype", None)
    return None if d is None else np.dtype(d)


def result_dtype(*xs):
    """Result dtype of an elementwise op: arrays decide, Python scalars are weak (NEP 50)."""
    dts = [dtype_of(x) for x in xs if dtype_of(x) is not None]
    if not dts:
        return np.dtype(np.float32)
    return np.result_type(*dts)


def shape_of(x):
    return tuple(getattr(x, "shape", ()))


def same(x, **_):
    """Output like the (first) input."""
    return Aval(tuple(x.shape), np.dtype(x.dtype))


def broadcast(*xs, **_):
    """Numpy broadcasting over all array inputs; dtype by promotion with weak scalars."""
    try:
        shape = np.broadcast_shapes(*[shape_of(x) for x in xs])
    except ValueError:
        raise OpError(f"shapes {[shape_of(x) for x in xs]} cannot be broadcast together") \
            from None
    return Aval(tuple(shape), result_dtype(*xs))


def broadcast_float(*xs, **attrs):
    """Broadcasting, but integer results become float32 (true division, pow of ints...)."""
    a = broadcast(*xs, **attrs)
    return a if a.dtype.kind in FLOAT_KINDS else Aval(a.shape, np.dtype(np.float32))


def norm_axis(axis, ndim, op="op"):
    """Normalize one axis into ``range(ndim)``, raising a clear error when out of range."""
    axis = int(axis)
    if not -ndim <= axis < max(ndim, 1):
        raise OpError(f"{op}: axis {axis} is out of range for an array of {ndim} dimensions")
    return axis % max(ndim, 1)


def norm_axes(axis, ndim, exclude=False, op="op"):
    """Axes tuple for reductions: None means all; ``exclude`` takes the complement."""
    if axis is None or axis == ():
        axes = tuple(range(ndim))
        if exclude:
            return ()
        return axes
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    axes = tuple(sorted({norm_axis(a, ndim, op) for a in axis}))
    if exclude:
        axes = tuple(a for a in range(ndim) if a not in axes)
    return axes


def reduce_shape(shape, axes, keepdims):
    """Output shape of a reduction; MXNet returns ``(1,)`` for a full reduction."""
    if keepdims:
        out = tuple(1 if i in axes else s for i, s in enumerate(shape))
    else:
        out = tuple(s for i, s in enumerate(shape) if i not in axes)
    return out if out else (1,)


def as_float(*xs):
    """True when every array input has a floating dtype (gradients exist)."""
    return all(dtype_of(x) is None or dtype_of(x).kind in FLOAT_KINDS for x in xs)


def nondiff(*_ins, **_attrs):
    """Gradient rule of ops whose output is piecewise constant: no gradient flows."""
    return None


def zero_grads(ins, outs, gouts, **attrs):
    """Gradient facet for ops that are flat almost everywhere (sign, floor, comparisons)."""
    return [None] * len(ins)


def check_shapes(op, **pairs):
    """Raise a clear error when an input's shape differs from the one the op needs.

    ``pairs``: name -> (aval or None, expected shape). Used by ``infer`` of layers' ops so that
    wrong parameter shapes fail while tracing, naming the op and both shapes.
    """
    for name, (aval, expected) in pairs.items():
        if aval is not None and tuple(aval.shape) != tuple(expected):
            raise OpError(f"{op}: {name} has shape {tuple(aval.shape)}, expected "
                          f"{tuple(expected)}")
