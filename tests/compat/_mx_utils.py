"""The ``mxnet.test_utils`` / ``common`` helpers used by MXNet's own unit tests.

The ported tests in this folder are MXNet 1.9's tests with only their imports adapted. The
``mx.test_utils`` helpers come from ``kiln.test_utils`` (re-exported here); only the test-suite
pieces that are not part of ``mx.test_utils`` are defined here (``with_seed`` from MXNet's
``common``, ``TemporaryDirectory``, ``np_softmax``).
"""
import functools
import tempfile

import kiln as mx
import numpy as np
from kiln.test_utils import (  # noqa: F401  (re-exported for the ported tests)
    almost_equal,
    assert_almost_equal,
    assert_almost_equal_ignore_nan,
    assert_exception,
    assertRaises,
    check_numeric_gradient,
    check_symbolic_backward,
    check_symbolic_forward,
    default_context,
    default_numeric_eps,
    default_rtols,
    discard_stderr,
    environment,
    np_reduce,
    rand_ndarray,
    rand_shape_2d,
    rand_shape_nd,
    random_arrays,
    random_sample,
    same,
)


def with_seed(seed=None):
    """Seed numpy and kiln's generators before the test (a fresh random seed when None)."""
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


def np_softmax(x, axis=-1, temperature=1.0):
    """Reference softmax in numpy (with a temperature)."""
    x = x - np.max(x, axis=axis, keepdims=True)
    x = np.exp(x / temperature)
    x /= np.sum(x, axis=axis, keepdims=True)
    return x
