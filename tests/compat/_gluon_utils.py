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


def compare_ndarray_tuple(t1, t2, rtol=None, atol=None):
    """``mx.test_utils.compare_ndarray_tuple``: optimizer states, nested tuples of arrays."""
    if t1 is None or t2 is None:
        return
    if isinstance(t1, tuple):
        for s1, s2 in zip(t1, t2):
            compare_ndarray_tuple(s1, s2, rtol, atol)
    else:
        assert_almost_equal(t1, t2, rtol=rtol, atol=atol)


def compare_optimizer(opt1, opt2, shape, dtype, w_stype='default', g_stype='default',
                      rtol=1e-4, atol=1e-5, compare_states=True):
    """``mx.test_utils.compare_optimizer`` (dense storage only): one update of each optimizer on
    the same random weight and gradient; states and weights must agree."""
    import kiln as mx
    assert w_stype == 'default' and g_stype == 'default', "sparse storage is not ported"
    w2 = mx.random.uniform(shape=shape, ctx=default_context(), dtype=dtype)
    w1 = w2.copyto(default_context())
    g2 = mx.random.uniform(shape=shape, ctx=default_context(), dtype=dtype)
    g1 = g2.copyto(default_context())

    state1 = opt1.create_state_multi_precision(0, w1)
    state2 = opt2.create_state_multi_precision(0, w2)
    if compare_states:
        compare_ndarray_tuple(state1, state2)

    opt1.update_multi_precision(0, w1, g1, state1)
    opt2.update_multi_precision(0, w2, g2, state2)
    if compare_states:
        compare_ndarray_tuple(state1, state2, rtol=rtol, atol=atol)
    assert_almost_equal(w1.asnumpy(), w2.asnumpy(), rtol=rtol, atol=atol)
