"""numpy.testing stand-ins for the ``mxnet.test_utils`` / ``common`` helpers the ported MXNet
Gluon unit tests use (tests/compat/test_mx_*.py)."""
import functools
import os
import random

import numpy as np
import pytest


def _np(a):
    if hasattr(a, "asnumpy"):
        return a.asnumpy()
    return np.asarray(a)


_RTOL = {np.dtype(np.float16): 1e-2, np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-5}
_ATOL = {np.dtype(np.float16): 1e-1, np.dtype(np.float32): 1e-3, np.dtype(np.float64): 1e-20}


def assert_almost_equal(a, b, rtol=None, atol=None, names=None, equal_nan=False):
    """``mx.test_utils.assert_almost_equal``: NDArrays or numpy arrays, MXNet's defaults."""
    a, b = _np(a), _np(b)
    if a.shape != b.shape:  # MXNet's use_broadcast=True default
        a, b = np.broadcast_arrays(a, b)
    # MXNet's defaults follow the less precise of the two dtypes
    rtol = max(_RTOL.get(np.dtype(x.dtype), 1e-5) for x in (a, b)) if rtol is None else rtol
    atol = max(_ATOL.get(np.dtype(x.dtype), 1e-20) for x in (a, b)) if atol is None else atol
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def almost_equal(a, b, rtol=1e-5, atol=1e-20, equal_nan=False):
    return np.allclose(_np(a), _np(b), rtol=rtol, atol=atol, equal_nan=equal_nan)


def same(a, b):
    return np.array_equal(_np(a), _np(b))


def assertRaises(exc, fn, *args, **kwargs):
    with pytest.raises(exc):
        fn(*args, **kwargs)


assert_raises = assertRaises


def with_seed(seed=None):
    """``common.with_seed``: seed numpy, random and kiln before the test."""
    def deco(fn):
        @functools.wraps(fn)
        def run(*args, **kwargs):
            import kiln as mx
            s = 1234 if seed is None else seed
            np.random.seed(s)
            random.seed(s)
            mx.random.seed(s)
            return fn(*args, **kwargs)
        return run
    return deco


@pytest.fixture(autouse=True)
def _in_tmp_dir(tmp_path, monkeypatch):
    """MXNet's tests write ``*.params`` into the working directory: keep each in its own."""
    monkeypatch.chdir(tmp_path)
    yield


def default_context():
    import kiln as mx
    return mx.cpu()


def rand_shape_nd(ndim, dim=10):
    return tuple(np.random.randint(1, dim + 1, size=ndim))


def rand_ndarray(shape, dtype="float32"):
    import kiln as mx
    return mx.nd.array(np.random.uniform(-1, 1, size=shape), dtype=dtype)


__all__ = ["assert_almost_equal", "almost_equal", "same", "assertRaises", "assert_raises",
           "with_seed", "_in_tmp_dir", "default_context", "rand_shape_nd", "rand_ndarray",
           "os"]


# MXNet's test_utils helpers, as kiln.test_utils has them
from kiln.test_utils import compare_ndarray_tuple, compare_optimizer  # noqa: E402,F401
