"""More of MXNet np's functions built from kiln's registry ops (differentiable, traceable):
splitting and stacking variants, ``roll``/``rot90``/``diff``/``append``, ``take``,
``diagonal``, ``einsum``-free products (``inner``/``vdot``), NaN and sign tests, bitwise
operations (on bool arrays through the logical ops; integers on the host).

Example::

    >>> np.roll(np.arange(4), 1)
    array([3., 0., 1., 2.])
"""
import numpy as onp

from ..ndarray import ops as F
from ..ndarray.ndarray import NDArray
from ._core import _BOOL, binary, cast_to, shape_of, wrap
from .creation import array
from .extra_ops import flip, vstack
from .reduce_ops import max as _max
from .reduce_ops import min as _min
from .shape_ops import concatenate, dot, expand_dims, reshape, split, transpose


def copy(a):
    """A copy of ``a``. Example: ``np.copy(x)``."""
    return wrap(F.identity(a))


def positive(x):
    """``+x`` (a copy). Example: ``np.positive(x)``."""
    return copy(x)


def fabs(x):
    """``|x|`` (float). Example: ``np.fabs(np.array([-1.]))``."""
    return wrap(F.abs(x))


def ptp(a, axis=None, keepdims=False):
    """Range (max - min) over ``axis``. Example: ``np.ptp(np.array([1., 5.]))``."""
    return _max(a, axis, keepdims=keepdims) - _min(a, axis, keepdims=keepdims)


def atleast_1d(*arys):
    """The inputs with at least one axis. Example: ``np.atleast_1d(np.array(1.)).shape``."""
    res = [a if a.ndim >= 1 else reshape(a, (1,)) for a in arys]
    return res[0] if len(res) == 1 else res


def atleast_2d(*arys):
    """The inputs with at least two axes (a 1-D ``(n,)`` becomes ``(1, n)``)."""
    res = [a if a.ndim >= 2 else reshape(a, (1, -1)) for a in arys]
    return res[0] if len(res) == 1 else res


def atleast_3d(*arys):
    """The inputs with at least three axes (``(n,)`` -> ``(1, n, 1)``, ``(m, n)`` ->
    ``(m, n, 1)``)."""
    def one(a):
        if a.ndim >= 3:
            return a
        if a.ndim == 2:
            return expand_dims(a, 2)
        return reshape(a, (1, -1, 1))
    res = [one(a) for a in arys]
    return res[0] if len(res) == 1 else res


def dstack(tup):
    """Arrays stacked along the third axis. Example: ``np.dstack([x, y])``."""
    return concatenate([atleast_3d(a) for a in tup], axis=2)


def column_stack(tup):
    """1-D arrays as columns of a 2-D array (2-D ones stacked as they are)."""
    return concatenate([reshape(a, (-1, 1)) if a.ndim < 2 else a for a in tup], axis=1)


row_stack = vstack


def array_split(ary, indices_or_sections, axis=0):
    """``split`` that allows unequal sections (the first ones one longer)."""
    if isinstance(indices_or_sections, (int, onp.integer)):
        n, k = ary.shape[axis], int(indices_or_sections)
        sizes = [n // k + 1] * (n % k) + [n // k] * (k - n % k)
        indices_or_sections = list(onp.cumsum(sizes)[:-1])
    return split(ary, indices_or_sections, axis)


def hsplit(ary, indices_or_sections):
    """Split along axis 1 (axis 0 for 1-D arrays)."""
    return split(ary, indices_or_sections, axis=1 if ary.ndim > 1 else 0)


def vsplit(ary, indices_or_sections):
    """Split along axis 0."""
    return split(ary, indices_or_sections, axis=0)


def dsplit(ary, indices_or_sections):
    """Split along axis 2."""
    return split(ary, indices_or_sections, axis=2)


def append(arr, values, axis=None):
    """``values`` appended to ``arr`` (both flattened when ``axis`` is None)."""
    if axis is None:
        return concatenate([reshape(arr, (-1,)), reshape(values, (-1,))], axis=0)
    return concatenate([arr, values], axis=axis)


def roll(a, shift, axis=None):
    """Elements shifted by ``shift`` along ``axis`` (of the flattened array when None),
    wrapping around. Example: ``np.roll(np.arange(4), 1)``."""
    if axis is None:
        return reshape(roll(reshape(a, (-1,)), shift, 0), shape_of(a))
    shifts, axes = onp.broadcast_arrays(onp.atleast_1d(shift), onp.atleast_1d(axis))
    for s, ax in zip(shifts.tolist(), axes.tolist()):
        n = a.shape[ax]
        s = s % n if n else 0
        if s:
            a = wrap(F.concat(F.slice_axis(a, axis=ax, begin=n - s, end=n),
                              F.slice_axis(a, axis=ax, begin=0, end=n - s), dim=ax))
    return a


def rot90(m, k=1, axes=(0, 1)):
    """``m`` rotated by 90 degrees ``k`` times in the plane of ``axes``."""
    k, (a0, a1) = k % 4, axes
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, a0), a1)
    perm = list(range(m.ndim))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    return transpose(flip(m, a1), perm) if k == 1 else flip(transpose(m, perm), a1)


def fliplr(m):
    """``m`` reversed along axis 1."""
    return flip(m, 1)


def flipud(m):
    """``m`` reversed along axis 0."""
    return flip(m, 0)


def diff(a, n=1, axis=-1):
    """The ``n``-th discrete difference along ``axis``. Example: ``np.diff(np.array([1., 4.]))``."""
    ax = axis % a.ndim
    for _ in range(n):
        size = a.shape[ax]
        a = wrap(F.subtract(F.slice_axis(a, axis=ax, begin=1, end=size),
                            F.slice_axis(a, axis=ax, begin=0, end=size - 1)))
    return a


def ediff1d(ary, to_end=None, to_begin=None):
    """Differences of the flattened array, with optional values before and after."""
    parts = [diff(reshape(ary, (-1,)))]
    if to_begin is not None:
        parts.insert(0, reshape(_as_np(to_begin, ary), (-1,)))
    if to_end is not None:
        parts.append(reshape(_as_np(to_end, ary), (-1,)))
    return concatenate(parts) if len(parts) > 1 else parts[0]


def _as_np(v, like):
    return v if hasattr(v, "shape") and not isinstance(v, onp.ndarray) else \
        array(v, dtype=like.dtype, ctx=like.context)


def take(a, indices, axis=None, mode="raise"):
    """Elements of ``a`` at ``indices`` along ``axis`` (of the flattened array when None);
    ``mode`` 'clip' or 'wrap' (kiln clips for 'raise'). Example: ``np.take(x, [0, 2])``."""
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    if not hasattr(indices, "shape") or isinstance(indices, onp.ndarray):
        indices = array(indices, dtype="int64", ctx=a.context)
    return wrap(F.take(a, indices, axis=axis, mode="wrap" if mode == "wrap" else "clip"))


def diagonal(a, offset=0, axis1=0, axis2=1):
    """The diagonal ``offset`` of the 2-D planes of ``axis1`` and ``axis2``."""
    return wrap(F.diag(a, k=offset, axis1=axis1, axis2=axis2))


def inner(a, b):
    """Sum of products over the last axes. Example: ``np.inner(np.ones(3), np.ones(3))``."""
    if a.ndim == 0 or b.ndim == 0:
        return wrap(F.multiply(a, b))
    return dot(a, transpose(b, list(range(b.ndim - 2, -1, -1)) + [b.ndim - 1])
               if b.ndim > 1 else b)


def vdot(a, b):
    """Dot product of the flattened arrays (shape ``()``)."""
    return dot(reshape(a, (-1,)), reshape(b, (-1,)))


def signbit(x):
    """Where the sign bit is set (negative numbers; a bool array)."""
    return wrap(cast_to(F.lesser(x, 0), _BOOL))


def isposinf(x):
    """Where ``x`` is +inf (a bool array)."""
    return wrap(cast_to(F.equal(x, onp.inf), _BOOL))


def isneginf(x):
    """Where ``x`` is -inf (a bool array)."""
    return wrap(cast_to(F.equal(x, -onp.inf), _BOOL))


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    """``x`` with NaN, +inf and -inf replaced (by 0 and the dtype's largest/smallest)."""
    big = onp.finfo(x.dtype).max if onp.dtype(x.dtype).kind == "f" else 0
    res = F.where(F.not_equal(x, x), F.zeros_like(x) + nan, x)
    res = F.where(F.equal(res, onp.inf), F.zeros_like(x) + (big if posinf is None else posinf),
                  res)
    res = F.where(F.equal(res, -onp.inf),
                  F.zeros_like(x) + (-big if neginf is None else neginf), res)
    return wrap(res)


def heaviside(x1, x2):
    """0 where ``x1 < 0``, ``x2`` where ``x1 == 0``, 1 where ``x1 > 0``."""
    zero = F.zeros_like(x1)
    return wrap(F.where(F.lesser(x1, 0), zero,
                        F.where(F.greater(x1, 0), zero + 1, zero + x2)))


def float_power(x1, x2):
    """``x1 ** x2`` in float64."""
    return binary(F.power, cast_to(x1, onp.dtype("float64")), x2)


def ldexp(x1, x2):
    """``x1 * 2 ** x2``."""
    return binary(F.multiply, x1, binary(F.power, 2.0, cast_to(x2, onp.dtype(x1.dtype))))


def copysign(x1, x2):
    """``|x1|`` with the sign of ``x2``."""
    mag = F.abs(x1)
    return wrap(F.where(F.lesser(x2, 0), F.negative(mag), mag))


def arctan2(x1, x2):
    """The angle of the point ``(x2, x1)`` in (-pi, pi], elementwise (differentiable)."""
    # atan(y / x) with the quadrant fixed; the division by a zero x is avoided by the where
    safe_x = F.where(F.equal(x2, 0), F.ones_like(x2), x2)
    base = F.arctan(F.divide(x1, safe_x))
    half_pi = F.where(F.lesser(x1, 0), F.zeros_like(x1) - onp.pi / 2,
                      F.zeros_like(x1) + onp.pi / 2)
    shift = F.where(F.lesser(x2, 0), F.where(F.lesser(x1, 0), F.zeros_like(x1) - onp.pi,
                                             F.zeros_like(x1) + onp.pi), F.zeros_like(x1))
    on_axis = F.where(F.equal(x1, 0), F.zeros_like(x1), half_pi)
    return wrap(F.where(F.equal(x2, 0), on_axis, F.add(base, shift)))


def deg2rad(x):
    """Degrees to radians."""
    return wrap(F.radians(x))


def rad2deg(x):
    """Radians to degrees."""
    return wrap(F.degrees(x))


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0, ctx=None):
    """``base ** linspace(start, stop, num)``."""
    return array(onp.logspace(start, stop, num, endpoint, base, axis=axis),
                 dtype=dtype or "float32", ctx=ctx)


def _bitwise(logical, host):
    def f(x1, x2, out=None):
        if _is_bool(x1) and _is_bool(x2):
            return wrap(cast_to(logical(x1, x2), _BOOL))
        return _host_int(host, x1, x2)
    f.__name__ = host.__name__
    f.__doc__ = (f"numpy's ``{host.__name__}``: bool arrays through the logical ops "
                 "(traceable), integers on the host.")
    return f


def _is_bool(x):
    return isinstance(x, (bool, onp.bool_)) or onp.dtype(getattr(x, "dtype", float)) == _BOOL


def _host_int(fn, *args):
    ctx = next((a.context for a in args if isinstance(a, NDArray)), None)
    res = fn(*[a.asnumpy() if isinstance(a, NDArray) else a for a in args])
    return array(res, dtype=res.dtype, ctx=ctx)


bitwise_and = _bitwise(F.logical_and, onp.bitwise_and)
bitwise_or = _bitwise(F.logical_or, onp.bitwise_or)
bitwise_xor = _bitwise(F.logical_xor, onp.bitwise_xor)


def invert(x, out=None):
    """Bitwise NOT (``~x``): logical not for bool arrays, integers on the host."""
    if _is_bool(x):
        return wrap(cast_to(F.logical_not(x), _BOOL))
    return _host_int(onp.invert, x)


bitwise_not = invert


def divmod(x1, x2):  # noqa: A001 - numpy's name
    """``(x1 // x2, x1 % x2)``."""
    return binary(F.floor_divide, x1, x2), binary(F.mod, x1, x2)


def modf(x):
    """Fractional and integral parts, both with ``x``'s sign."""
    whole = F.trunc(x)
    return wrap(F.subtract(x, whole)), wrap(whole)
