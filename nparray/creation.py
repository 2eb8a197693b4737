"""``kiln.np`` array creation: MXNet np's defaults (float32 for Python numbers and lists, the
source's dtype for numpy and kiln arrays).

Example::

    >>> np.arange(3).dtype, np.array([1, 2]).dtype
    (dtype('float32'), dtype('float32'))
"""
import numpy as onp

from ..device import as_context, current_context
from ..ndarray.ndarray import NDArray
from .array import ndarray

_F32 = onp.float32


def _ctx(ctx):
    return current_context() if ctx is None else as_context(ctx)


def _place(host, ctx):
    """A ``kiln.np.ndarray`` holding numpy array ``host`` on device ``ctx``."""
    ctx = _ctx(ctx)
    data = host if ctx.device_type == "cpu" else ctx.xp.asarray(host)
    return ndarray(data, ctx)


def _dtype(dtype, default=_F32):
    return onp.dtype(default if dtype is None else dtype)


def array(obj, dtype=None, ctx=None, copy=True):
    """An array from ``obj``: float32 for Python numbers and (nested) lists, the source's
    dtype for numpy and kiln arrays, unless ``dtype`` is given.

    Example::

        >>> np.array([[1, 2], [3, 4]]).shape
        (2, 2)
    """
    if isinstance(obj, NDArray):
        ctx = obj.context if ctx is None else ctx
        obj = obj.asnumpy()
    if isinstance(obj, (onp.ndarray, onp.generic)):
        host = onp.array(obj, dtype=dtype, copy=True)
    else:
        host = onp.array(obj, dtype=_dtype(dtype))
    return _place(host, ctx)


asarray = array


def zeros(shape, dtype=None, order="C", ctx=None):
    """An array of zeros (float32 by default).

    Example::

        >>> np.zeros((2, 3)).shape
        (2, 3)
    """
    return _place(onp.zeros(shape, _dtype(dtype)), ctx)


def ones(shape, dtype=None, order="C", ctx=None):
    """An array of ones (float32 by default). Example: ``np.ones((2,))``."""
    return _place(onp.ones(shape, _dtype(dtype)), ctx)


def empty(shape, dtype=None, order="C", ctx=None):
    """An uninitialized array (zeros in kiln). Example: ``np.empty((2,))``."""
    return zeros(shape, dtype, order, ctx)


def full(shape, fill_value, dtype=None, order="C", ctx=None):
    """An array filled with ``fill_value`` (float32 by default). Example: ``np.full((2,), 7)``."""
    return _place(onp.full(shape, fill_value, _dtype(dtype)), ctx)


def _like(a, dtype):
    return _dtype(dtype, a.dtype), getattr(a, "context", None)


def zeros_like(a, dtype=None):
    """Zeros of ``a``'s shape, dtype and device. Example: ``np.zeros_like(x)``."""
    dt, ctx = _like(a, dtype)
    return _place(onp.zeros(a.shape, dt), ctx)


def ones_like(a, dtype=None):
    """Ones of ``a``'s shape, dtype and device. Example: ``np.ones_like(x)``."""
    dt, ctx = _like(a, dtype)
    return _place(onp.ones(a.shape, dt), ctx)


def full_like(a, fill_value, dtype=None):
    """``fill_value`` in ``a``'s shape, dtype and device. Example: ``np.full_like(x, 2)``."""
    dt, ctx = _like(a, dtype)
    return _place(onp.full(a.shape, fill_value, dt), ctx)


def empty_like(a, dtype=None):
    """An array like ``a`` (zeros in kiln). Example: ``np.empty_like(x)``."""
    return zeros_like(a, dtype)


def arange(start, stop=None, step=1, dtype=None, ctx=None):
    """Evenly spaced values in ``[start, stop)`` (float32 by default, as MXNet np).

    Example::

        >>> np.arange(0, 1, 0.25).shape
        (4,)
    """
    return _place(onp.arange(start, stop, step).astype(_dtype(dtype)), ctx)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0,
             ctx=None):
    """``num`` evenly spaced values from ``start`` to ``stop``.

    Example: ``np.linspace(0, 1, 5)``."""
    values, step = onp.linspace(start, stop, num, endpoint=endpoint, retstep=True, axis=axis)
    res = _place(values.astype(_dtype(dtype)), ctx)
    return (res, step) if retstep else res


def eye(N, M=None, k=0, dtype=None, ctx=None):  # noqa: N803 - numpy's names
    """The identity matrix (ones on diagonal ``k``). Example: ``np.eye(3)``."""
    return _place(onp.eye(N, M, k, dtype=_dtype(dtype)), ctx)


def identity(n, dtype=None, ctx=None):
    """The ``n`` x ``n`` identity. Example: ``np.identity(2)``."""
    return eye(n, dtype=dtype, ctx=ctx)
