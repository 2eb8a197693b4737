"""Stand-ins for the ``mxnet.test_utils`` / ``common`` helpers used by MXNet's own unit tests.

The ported tests in this folder are MXNet 1.9's tests with only their imports adapted; these
helpers reproduce what the originals check (tolerances per dtype, NDArray-or-numpy inputs).
"""
import contextlib
import functools
import os
import sys
import tempfile

import numpy as np

import kiln as mx

_RTOL = {np.dtype(np.float16): 1e-2, np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-5}
_ATOL = {np.dtype(np.float16): 1e-1, np.dtype(np.float32): 1e-3, np.dtype(np.float64): 1e-20}


def _np(a):
    if isinstance(a, mx.nd.NDArray):
        return a.asnumpy()
    return np.asarray(a)


def default_context():
    return mx.cpu()


def _tols(a, b, rtol, atol):
    dts = [x.dtype for x in (a, b) if x.dtype.kind == "f"]
    if rtol is None:
        rtol = max([_RTOL.get(d, 1e-5) for d in dts], default=1e-5)
    if atol is None:
        atol = max([_ATOL.get(d, 1e-20) for d in dts], default=1e-20)
    return rtol, atol


def assert_almost_equal(a, b, rtol=None, atol=None, names=("a", "b"), equal_nan=False):
    a, b = _np(a), _np(b)
    rtol, atol = _tols(a, b, rtol, atol)
    np.testing.assert_allclose(a.astype(np.float64) if a.dtype.kind in "fiub" else a,
                               b.astype(np.float64) if b.dtype.kind in "fiub" else b,
                               rtol=rtol, atol=atol, equal_nan=equal_nan)


def almost_equal(a, b, rtol=None, atol=None, equal_nan=False):
    a, b = _np(a), _np(b)
    rtol, atol = _tols(a, b, rtol, atol)
    return np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def same(a, b):
    return np.array_equal(_np(a), _np(b))


def assert_exception(f, exception_type, *args, **kwargs):
    try:
        f(*args, **kwargs)
    except exception_type:
        return
    raise AssertionError(f"{f} did not raise {exception_type}")


def assertRaises(expected_exception, func, *args, **kwargs):
    assert_exception(func, expected_exception, *args, **kwargs)


def np_reduce(dat, axis, keepdims, numpy_reduce_func):
    """Reduce over several axes one at a time, as mxnet.test_utils.np_reduce does."""
    if isinstance(axis, int):
        axis = [axis]
    else:
        axis = list(axis) if axis is not None else range(len(dat.shape))
    ret = dat
    for i in reversed(sorted(axis)):
        ret = numpy_reduce_func(ret, axis=i)
    if keepdims:
        keepdims_shape = list(dat.shape)
        for i in axis:
            keepdims_shape[i] = 1
        ret = ret.reshape(tuple(keepdims_shape))
    return ret


def rand_shape_nd(num_dim, dim=10, allow_zero_size=False):
    low = 0 if allow_zero_size else 1
    return tuple(np.random.randint(low, dim + 1, size=num_dim))


def rand_shape_2d(dim0=10, dim1=10):
    return np.random.randint(1, dim0 + 1), np.random.randint(1, dim1 + 1)


def random_sample(population, k):
    population_copy = population[:]
    np.random.shuffle(population_copy)
    return population_copy[0:k]


def random_arrays(*shapes):
    arrays = [np.array(np.random.randn(), dtype=np.float32) if len(s) == 0 else
              np.random.randn(*s).astype(np.float32) for s in shapes]
    if len(arrays) == 1:
        return arrays[0]
    return arrays


def rand_ndarray(shape, stype="default", density=None, dtype=None):
    assert stype == "default"
    return mx.nd.array(np.random.uniform(-1, 1, shape), dtype=dtype or np.float32)


def with_seed(seed=None):
    def deco(fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            s = np.random.randint(0, 2 ** 31) if seed is None else seed
            np.random.seed(s)
            mx.random.seed(s)
            return fn(*args, **kwargs)
        return wrapped
    return deco


TemporaryDirectory = tempfile.TemporaryDirectory


@contextlib.contextmanager
def discard_stderr():
    with open(os.devnull, "w") as null:
        old = sys.stderr
        sys.stderr = null
        try:
            yield
        finally:
            sys.stderr = old
