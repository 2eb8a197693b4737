"""LayerNorm's gamma/beta gradients over many rows are accumulated wider than float32.

MXNet's test_layer_norm compares them for a (4096, 512) float32 input with a float64 numpy
reference at 1e-4; a float32 row-by-row sum drifts by about 2e-4 there.
"""
import kiln as mx
import numpy as np
from kiln import autograd


def _grads(x, gamma, beta, gy):
    args = [mx.nd.array(v, dtype=v.dtype) for v in (x, gamma, beta)]
    for a in args:
        a.attach_grad()
    with autograd.record():
        y = mx.nd.LayerNorm(*args, axis=-1, eps=1e-3)
    y.backward(mx.nd.array(gy, dtype=gy.dtype))
    return [a.grad.asnumpy() for a in args]


def test_parameter_gradients_of_many_rows_match_float64():
    rng = np.random.default_rng(0)
    x, gy = (rng.standard_normal((4096, 64)).astype(np.float32) for _ in range(2))
    gamma, beta = (rng.standard_normal(64).astype(np.float32) for _ in range(2))
    _, dgamma, dbeta = _grads(x, gamma, beta, gy)
    x64, gy64 = x.astype(np.float64), gy.astype(np.float64)
    xhat = (x64 - x64.mean(-1, keepdims=True)) / np.sqrt(x64.var(-1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(dbeta, gy64.sum(0), rtol=0, atol=2e-5)
    np.testing.assert_allclose(dgamma, (gy64 * xhat).sum(0), rtol=0, atol=5e-5)
    assert dbeta.dtype == dgamma.dtype == np.float32


def test_float64_parameter_gradients_stay_float64():
    rng = np.random.default_rng(1)
    x, gy = rng.standard_normal((2, 3, 5)), rng.standard_normal((2, 3, 5))
    _, dgamma, dbeta = _grads(x, np.ones(5), np.zeros(5), gy)
    assert dgamma.dtype == dbeta.dtype == np.float64
    np.testing.assert_allclose(dbeta, gy.sum((0, 1)), rtol=1e-12)
