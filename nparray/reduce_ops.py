"""``kiln.np`` reductions with numpy's shapes: a full reduction gives shape ``()``;
``axis`` may be an int or a tuple; ``keepdims`` keeps reduced axes as size 1. Dtypes follow
MXNet np (``sum`` of int32 stays int32, of bool gives int64; ``mean`` of ints float32;
``argmax`` int64).

Example::

    >>> np.ones((2, 3)).sum().shape, np.ones((2, 3)).sum(axis=0).shape
    ((), (3,))
"""
import numpy as onp

from ..ndarray import ops as F
from ._core import _F32, _I64, cast_to, norm_axis, wrap
from .creation import array


def _scalar_shape(res, axis, keepdims, ndim=None):
    """kiln's reductions give ``(1,)`` when every axis is reduced (MXNet nd); numpy ``()``."""
    if keepdims or tuple(res.shape) == ():
        return res
    if axis is None or axis == () or (ndim is not None and isinstance(axis, tuple)
                                      and len({a % ndim for a in axis}) == ndim):
        return F.reshape(res, shape=())
    return res


def _reduce(fn, a, axis, keepdims, dtype=None):
    axis = norm_axis(axis)
    if dtype is not None:
        a = cast_to(a, onp.dtype(dtype))
    res = fn(a, axis=axis, keepdims=keepdims)
    return wrap(_scalar_shape(res, axis, keepdims, a.ndim))


def sum(a, axis=None, dtype=None, out=None, keepdims=False):  # noqa: A001 - numpy's name
    """Sum over ``axis`` (all axes when None). Example: ``np.sum(np.ones((2, 3)), axis=1)``."""
    if dtype is None and onp.dtype(a.dtype) == onp.bool_:
        dtype = _I64
    return _reduce(F.sum, a, axis, keepdims, dtype)


def mean(a, axis=None, dtype=None, out=None, keepdims=False):
    """Mean over ``axis`` (float32 for integer input). Example: ``np.mean(x, axis=0)``."""
    if dtype is None and onp.dtype(a.dtype).kind in "iub":
        dtype = _F32
    return _reduce(F.mean, a, axis, keepdims, dtype)


def prod(a, axis=None, dtype=None, out=None, keepdims=False):
    """Product over ``axis``. Example: ``np.prod(np.array([2., 3.]))``."""
    return _reduce(F.prod, a, axis, keepdims, dtype)


def max(a, axis=None, out=None, keepdims=False):  # noqa: A001 - numpy's name
    """Maximum over ``axis``. Example: ``np.max(x, axis=0)``."""
    return _reduce(F.max, a, axis, keepdims)


def min(a, axis=None, out=None, keepdims=False):  # noqa: A001 - numpy's name
    """Minimum over ``axis``. Example: ``np.min(x)``."""
    return _reduce(F.min, a, axis, keepdims)


amax, amin = max, min


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """Variance over ``axis`` (divided by ``n - ddof``). Example: ``np.var(x, axis=1)``."""
    a = cast_to(a, onp.dtype(dtype) if dtype else (_F32 if onp.dtype(a.dtype).kind in "iub"
                                                   else None))
    axis = norm_axis(axis)
    m = F.mean(a, axis=axis, keepdims=True)
    n = _size(a.shape) // _size(m.shape)
    res = F.sum(F.square(F.subtract(a, m)), axis=axis, keepdims=keepdims) / (n - ddof)
    return wrap(_scalar_shape(res, axis, keepdims, a.ndim))


def _size(shape):
    out = 1
    for s in shape:
        out *= int(s)
    return out


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    """Standard deviation over ``axis``. Example: ``np.std(x)``."""
    return wrap(F.sqrt(var(a, axis, dtype, None, ddof, keepdims)))


def _arg(fn, a, axis):
    res = fn(a, axis=axis) if axis is not None else fn(F.reshape(a, shape=(-1,)), axis=0)
    res = cast_to(res, _I64)
    return wrap(F.reshape(res, shape=()) if axis is None else res)


def argmax(a, axis=None, out=None):
    """Index of the maximum (int64; over the flattened array when ``axis`` is None).

    Example::

        >>> int(np.argmax(np.array([1., 3., 2.])))
        1
    """
    return _arg(F.argmax, a, axis)


def argmin(a, axis=None, out=None):
    """Index of the minimum (int64). Example: ``np.argmin(x, axis=1)``."""
    return _arg(F.argmin, a, axis)


def nonzero(a):
    """Indices of the nonzero elements, one int64 array per axis (computed on the host).

    Example::

        >>> np.nonzero(np.array([0., 2., 3.]))[0]
        array([1, 2])
    """
    return tuple(array(i, dtype=onp.int64, ctx=a.context) for i in onp.nonzero(a.asnumpy()))


def all(a, axis=None, keepdims=False):  # noqa: A001 - numpy's name
    """Whether every element (over ``axis``) is true (a bool array). Example: ``np.all(x > 0)``."""
    return _reduce(F.min, cast_to(cast_to(a, onp.dtype(bool)), _F32), axis, keepdims) \
        .astype(bool)


def any(a, axis=None, keepdims=False):  # noqa: A001 - numpy's name
    """Whether some element (over ``axis``) is true (a bool array). Example: ``np.any(x > 0)``."""
    return _reduce(F.max, cast_to(cast_to(a, onp.dtype(bool)), _F32), axis, keepdims) \
        .astype(bool)


def cumsum(a, axis=None, dtype=None, out=None):
    """Cumulative sum along ``axis`` (of the flattened array when None). Example:
    ``np.cumsum(np.ones(3))``."""
    if axis is None:
        a, axis = F.reshape(a, shape=(-1,)), 0
    return wrap(F.cumsum(cast_to(a, onp.dtype(dtype) if dtype else None), axis=axis))
