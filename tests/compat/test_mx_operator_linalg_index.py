"""MXNet 1.9 semantics of linalg.potrf's ``lower`` (``lower=False`` gives the upper factor
``U = L^T``), unravel_index's unbounded first axis (``shape[0]`` may be -1) and diag's refusal of
an offset past the matrix, against numpy computations."""
import kiln as mx
import numpy as np
import pytest
from kiln.base import MXNetError


def _spd(n=4, seed=0):
    a = np.random.default_rng(seed).random((n, n))
    return a @ a.T + n * np.eye(n)


def test_potrf_upper_factor_and_gradient():
    a = _spd()
    lo = np.linalg.cholesky(a)
    x = mx.nd.array(a, dtype="float64")
    np.testing.assert_allclose(mx.nd.linalg.potrf(x).asnumpy(), lo, rtol=1e-12)
    np.testing.assert_allclose(mx.nd.linalg.potrf(x, lower=False).asnumpy(), lo.T, rtol=1e-12)
    g = np.random.default_rng(1).random((4, 4))
    grads = []
    for lower, head in ((True, g), (False, g.T)):   # the same loss through L and through U
        x.attach_grad()
        with mx.autograd.record():
            out = mx.nd.linalg.potrf(x, lower=lower)
        out.backward(mx.nd.array(np.triu(head) if not lower else np.tril(head), dtype="float64"))
        grads.append(x.grad.asnumpy().copy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-10)


def test_unravel_first_axis_unbounded():
    flat = np.array([0, 7, 23, 40])
    got = mx.nd.unravel_index(mx.nd.array(flat), shape=(-1, 3, 4)).asnumpy()
    np.testing.assert_array_equal(got, np.array(np.unravel_index(flat, (4, 3, 4))))
    back = mx.nd.ravel_multi_index(mx.nd.array(got), shape=(-1, 3, 4)).asnumpy()
    np.testing.assert_array_equal(back, flat)


def test_diag_offset_past_the_matrix_raises():
    a = mx.nd.ones((3, 4))
    assert mx.nd.diag(a, k=3).shape == (1,)
    for k in (4, -3, 5):
        with pytest.raises(MXNetError, match="outside"):
            mx.nd.diag(a, k=k)
    assert mx.nd.diag(mx.nd.ones((3,)), k=5).shape == (8, 8)   # a 1-D input builds a matrix
