"""More of numpy's functions in ``kiln.np``: sorting, stacking, ``meshgrid``/``outer``,
triangles and diagonals, NaN tests, rounding. Differentiable where numpy's are (they run
registry ops); the NaN tests return bool arrays.

Example::

    >>> xs, ys = np.meshgrid(np.arange(3), np.arange(2))
    >>> xs.shape
    (2, 3)
"""
import numpy as onp

from ..ndarray import ops as F
from ._core import _BOOL, _I64, cast_to, shape_of, wrap
from .creation import array
from .reduce_ops import mean
from .reduce_ops import sum as _sum
from .shape_ops import concatenate, reshape


def sort(a, axis=-1):
    """``a`` sorted along ``axis`` (ascending; the flattened array when None).

    Example: ``np.sort(np.array([3., 1., 2.]))``."""
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    return wrap(F.sort(a, axis=axis, is_ascend=True))


def argsort(a, axis=-1):
    """The int64 indices that sort ``a`` along ``axis``. Example: ``np.argsort(x)``."""
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    return wrap(F.argsort(a, axis=axis, is_ascend=True, dtype="int64"))


def flip(m, axis=None):
    """``m`` reversed along ``axis`` (every axis when None). Example: ``np.flip(x, 0)``."""
    axes = range(m.ndim) if axis is None else (axis if isinstance(axis, tuple) else (axis,))
    for ax in axes:
        m = F.flip(m, axis=ax)
    return wrap(m)


def _at_least_2d(a):
    return reshape(a, (1, -1)) if a.ndim == 1 else a


def hstack(tup):
    """Arrays joined along their second axis (the first for 1-D ones). Example:
    ``np.hstack([x, y])``."""
    tup = list(tup)
    return concatenate(tup, axis=0 if tup[0].ndim == 1 else 1)


def vstack(tup):
    """Arrays joined along the first axis (1-D ones as rows). Example: ``np.vstack([x, y])``."""
    return concatenate([_at_least_2d(a) for a in tup], axis=0)


def outer(a, b):
    """The outer product of the flattened ``a`` and ``b``. Example: ``np.outer(x, y)``."""
    return wrap(F.multiply(reshape(a, (-1, 1)), reshape(b, (1, -1))))


def meshgrid(*xi, indexing="xy"):
    """Coordinate grids from 1-D arrays (numpy's ``'xy'`` or ``'ij'`` indexing).

    Example: ``np.meshgrid(np.arange(3), np.arange(2))``."""
    n = len(xi)
    shape = [int(x.size) for x in xi]
    if indexing == "xy" and n > 1:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, x in enumerate(xi):
        view = [1] * n
        axis = (1 - i if i < 2 else i) if indexing == "xy" and n > 1 else i
        view[axis] = -1
        out.append(wrap(F.broadcast_to(F.reshape(x, shape=tuple(view)), shape=tuple(shape))))
    return out


def _tri_mask(a, k, lower):
    rows, cols = shape_of(a)[-2:]
    mask = onp.tri(rows, cols, k - (0 if lower else 1), dtype=bool)
    keep = mask if lower else ~mask
    return array(keep, dtype=a.dtype, ctx=a.context)


def triu(m, k=0):
    """``m`` with the elements below diagonal ``k`` zeroed. Example: ``np.triu(x)``."""
    return wrap(F.multiply(m, _tri_mask(m, k, lower=False)))


def tril(m, k=0):
    """``m`` with the elements above diagonal ``k`` zeroed. Example: ``np.tril(x)``."""
    return wrap(F.multiply(m, _tri_mask(m, k, lower=True)))


def diag(v, k=0):
    """The diagonal ``k`` of a matrix, or a matrix with ``v`` on it. Example: ``np.diag(x)``."""
    return wrap(F.diag(v, k=k))


def trace(a, offset=0):
    """Sum of diagonal ``offset``. Example: ``np.trace(np.eye(3))``."""
    return wrap(F.reshape(F.sum(F.diag(a, k=offset)), shape=()))


def isnan(x):
    """Where ``x`` is NaN (a bool array). Example: ``np.isnan(x)``."""
    return wrap(cast_to(F.not_equal(x, x), _BOOL))


def isinf(x):
    """Where ``x`` is +-inf (a bool array). Example: ``np.isinf(x)``."""
    return wrap(cast_to(F.equal(F.abs(x), onp.inf), _BOOL))


def isfinite(x):
    """Where ``x`` is neither NaN nor infinite (a bool array). Example: ``np.isfinite(x)``."""
    return wrap(cast_to(F.lesser(F.abs(x), onp.inf), _BOOL))


def round(a, decimals=0):  # noqa: A001 - numpy's name
    """``a`` rounded half to even (numpy's rule) to ``decimals`` places. Example:
    ``np.round(x, 2)``."""
    if decimals == 0:
        return wrap(F.rint(a))
    scale = 10.0 ** decimals
    return wrap(F.divide(F.rint(F.multiply(a, scale)), scale))


around = round


def count_nonzero(a, axis=None):
    """The number of nonzero elements (over ``axis``; int64). Example:
    ``np.count_nonzero(x > 0)``."""
    return _sum(cast_to(cast_to(a, _BOOL), _I64), axis=axis)


def average(a, axis=None, weights=None):
    """The (weighted) mean over ``axis``. Example: ``np.average(x, weights=w)``."""
    if weights is None:
        return mean(a, axis=axis)
    return wrap(F.divide(_sum(F.multiply(a, weights), axis=axis), _sum(weights, axis=axis)))
