"""Defaults, tolerances and comparisons of ``kiln.test_utils`` (MXNet 1.9's semantics).

Example::

    >>> assert_almost_equal(nd.ones((2,)), np.ones(2))
"""
import numbers
import os

import numpy as np
import numpy.testing as npt

from ..device import _ctx_stack, as_context, current_context
from ..util import get_cuda_compute_capability

_FLOAT_RTOL = {np.dtype(np.float16): 1e-2, np.dtype(np.float32): 1e-4,
               np.dtype(np.float64): 1e-5}
_FLOAT_ATOL = {np.dtype(np.float16): 1e-1, np.dtype(np.float32): 1e-3,
               np.dtype(np.float64): 1e-20}


# ---- defaults ----
def default_context():
    """The device tests create arrays on (the current context, ``cpu(0)`` unless changed)."""
    return current_context()


def set_default_context(ctx):
    """Make ``ctx`` the current context of this thread (inside a ``with ctx:`` block, until
    the block ends, as in MXNet).

    Example: ``set_default_context(kiln.cpu(1)); nd.zeros(2).context`` is ``cpu(1)``.
    """
    ctx = as_context(ctx)
    stack = _ctx_stack()
    if stack:
        stack[-1] = ctx
    else:
        stack.append(ctx)


def default_dtype():
    """float32, the dtype test data is generated in."""
    return np.float32


def default_rtols():
    """dtype -> default relative tolerance."""
    return {**_FLOAT_RTOL, **{np.dtype(t): 0 for t in _EXACT}}


def default_atols():
    """dtype -> default absolute tolerance."""
    return {**_FLOAT_ATOL, **{np.dtype(t): 0 for t in _EXACT}}


def default_numeric_eps():
    """dtype -> finite-difference step (powers of two, exact as input deltas)."""
    return {np.dtype(np.float16): 1.0 / 2 ** 6, np.dtype(np.float32): 1.0 / 2 ** 9,
            np.dtype(np.float64): 1.0 / 2 ** 14}


_EXACT = (np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64,
          np.uint64)


def get_tolerance(dat, tol, default_tol):
    """``tol`` if it is a number, else its entry (or ``default_tol``'s) for ``dat``'s dtype."""
    if isinstance(tol, numbers.Number):
        return tol
    dtype = effective_dtype(dat) if hasattr(dat, "dtype") else np.dtype(np.float64)
    tol = {} if tol is None else tol
    return tol.get(dtype, default_tol.get(dtype, 0))


def get_tols(x, y, rtol, atol):
    """``(rtol, atol)`` for comparing ``x`` and ``y``: the looser of their dtypes' defaults."""
    x = np.array(x) if isinstance(x, numbers.Number) else x
    y = np.array(y) if isinstance(y, numbers.Number) else y
    return (max(get_tolerance(x, rtol, default_rtols()), get_tolerance(y, rtol, default_rtols())),
            max(get_tolerance(x, atol, default_atols()), get_tolerance(y, atol, default_atols())))


def get_rtol(rtol=None, dtype=np.dtype(np.float64)):
    """``rtol``, or the default for ``dtype`` (float64) when None."""
    return default_rtols()[np.dtype(dtype)] if rtol is None else rtol


def get_atol(atol=None, dtype=np.dtype(np.float64)):
    """``atol``, or the default for ``dtype`` (float64) when None."""
    return default_atols()[np.dtype(dtype)] if atol is None else atol


def get_etol(etol=None):
    """Allowed fraction of mismatching elements (0 unless given)."""
    return 0 if etol is None else etol


# ---- comparisons ----
def _np(a):
    return a.asnumpy() if hasattr(a, "asnumpy") else np.asarray(a)


def _check_shapes(a, b):
    if np.shape(a) != np.shape(b):
        raise AssertionError(npt.build_err_msg(
            [a, b], err_msg=f"a.shape = {np.shape(a)} and b.shape = {np.shape(b)} are not equal"))


def same(a, b):
    """True when ``a`` and ``b`` (NDArray or numpy) have equal shapes and values.

    Example: ``same(nd.array([1, 2]), np.array([1, 2]))`` is True.
    """
    return np.array_equal(_np(a), _np(b))


def almost_equal(a, b, rtol=None, atol=None, equal_nan=False, use_broadcast=True):
    """True when ``|a - b| <= atol + rtol * |b|`` everywhere (float64 defaults when None:
    rtol 1e-5, atol 1e-20, as in MXNet).

    Example: ``almost_equal(nd.array([1.0]), np.array([1.0 + 1e-7]))`` is True.
    """
    a, b = _np(a), _np(b)
    if not use_broadcast:
        _check_shapes(a, b)
    return bool(np.allclose(a, b, rtol=get_rtol(rtol), atol=get_atol(atol), equal_nan=equal_nan))


def _max_violation(a, b, rtol, atol):
    """Index and size (in tolerances) of the worst element; equal infinities count as equal."""
    with np.errstate(invalid="ignore"):
        absdiff = np.where(np.equal(a, b), 0, np.abs(a - b))
    violation = absdiff / (atol + rtol * np.abs(b) + 1e-20)
    violation = np.where(np.isnan(violation), np.inf, violation)
    idx = tuple(int(i) for i in np.unravel_index(np.argmax(violation), violation.shape))
    return idx, float(np.max(violation))


def assert_almost_equal(a, b, rtol=None, atol=None, names=("a", "b"), equal_nan=False,
                        use_broadcast=True, mismatches=(10, 10)):
    """Raise AssertionError unless ``|a - b| <= atol + rtol * |b|`` everywhere.

    ``a``/``b``: NDArrays or numpy arrays (broadcast unless ``use_broadcast=False``).
    ``rtol``/``atol``: numbers, dicts dtype -> tolerance, or None for the dtype defaults (see the
    module docstring). ``names`` label the two arrays in the message, which gives the worst
    element and the share of mismatching elements.

    Example: ``assert_almost_equal(nd.ones((2,)), np.ones(2), names=('kiln', 'numpy'))``.
    """
    if not use_broadcast:
        _check_shapes(a, b)
    rtol, atol = get_tols(a, b, rtol, atol)
    a, b = _np(a), _np(b)
    if a.dtype == np.bool_ and b.dtype == np.bool_:
        np.testing.assert_equal(a, b)
        return
    if np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan):
        return
    a, b = np.broadcast_arrays(a, b)
    a64 = a.astype(np.float64) if a.dtype.kind in "biuf" else a
    b64 = b.astype(np.float64) if b.dtype.kind in "biuf" else b
    with np.errstate(invalid="ignore"):
        close = np.isclose(a64, b64, rtol=rtol, atol=atol, equal_nan=equal_nan)
    index, rel = _max_violation(a64, b64, rtol, atol)
    err = (f"Error {rel:f} exceeds tolerance rtol={rtol:e}, atol={atol:e} (mismatch "
           f"{100.0 * np.count_nonzero(~close) / max(close.size, 1):f}%).\n"
           f"Location of maximum error: {index}, {names[0]}={a64[index]:.8f}, "
           f"{names[1]}={b64[index]:.8f}")
    raise AssertionError(npt.build_err_msg([a, b], err_msg=err, names=list(names)))


def assert_allclose(a, b, rtol=1e-07, atol=0, equal_nan=True):
    """``assert_almost_equal`` with numpy's ``assert_allclose`` defaults."""
    assert_almost_equal(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def _zero_nans(a, b):
    """Copies of ``a`` and ``b`` with every position that is NaN in either set to 0."""
    a, b = np.copy(_np(a)), np.copy(_np(b))
    nan_mask = np.logical_or(np.isnan(a), np.isnan(b))
    a[nan_mask] = 0
    b[nan_mask] = 0
    return a, b


def almost_equal_ignore_nan(a, b, rtol=None, atol=None):
    """``almost_equal`` ignoring the positions that are NaN in either array.

    Example: ``almost_equal_ignore_nan(np.array([1.0, np.nan]), np.array([1.0, 2.0]))`` is True.
    """
    return almost_equal(*_zero_nans(a, b), rtol, atol)


def assert_almost_equal_ignore_nan(a, b, rtol=None, atol=None, names=("a", "b")):
    """``assert_almost_equal`` after zeroing every position that is NaN in either array."""
    assert_almost_equal(*_zero_nans(a, b), rtol, atol, names)


def assert_exception(f, exception_type, *args, **kwargs):
    """Raise AssertionError unless ``f(*args, **kwargs)`` raises ``exception_type``.

    Example: ``assert_exception(nd.reshape, MXNetError, nd.ones(4), shape=(3,))``.
    """
    try:
        f(*args, **kwargs)
    except exception_type:
        return
    raise AssertionError(f"{getattr(f, '__name__', f)} did not raise "
                         f"{getattr(exception_type, '__name__', exception_type)}")


def assertRaises(expected_exception, func, *args, **kwargs):
    """``assert_exception`` with the exception type first (unittest's order)."""
    assert_exception(func, expected_exception, *args, **kwargs)


def effective_dtype(dat):
    """The dtype whose tolerances apply to ``dat``: its own, except float32 on a GPU that runs
    float32 matrix products in TF32 (compute capability 8.0 and later, unless
    ``NVIDIA_TF32_OVERRIDE=0``), which compares as float16, as in MXNet.

    Example::

        >>> effective_dtype(mx.nd.ones((2,)))
        dtype('float32')
    """
    dtype = np.dtype(dat.dtype)
    ctx = getattr(dat, "ctx", None) or getattr(dat, "context", None)
    if dtype == np.float32 and _tf32(ctx):
        return np.dtype(np.float16)
    return dtype


def _tf32(ctx):
    if ctx is None or getattr(ctx, "device_type", "cpu") != "gpu":
        return False
    try:
        return (get_cuda_compute_capability(ctx) >= 80 and
                os.environ.get("NVIDIA_TF32_OVERRIDE") != "0")
    except Exception:  # no driver: no TF32 either
        return False


__all__ = ["default_context", "set_default_context", "default_dtype", "default_rtols",
           "default_atols", "default_numeric_eps", "get_tolerance", "get_tols", "get_rtol",
           "get_atol", "get_etol", "same", "almost_equal", "assert_almost_equal",
           "assert_allclose", "assert_almost_equal_ignore_nan", "almost_equal_ignore_nan",
           "assert_exception", "assertRaises", "effective_dtype"]
