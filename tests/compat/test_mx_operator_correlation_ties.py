"""MXNet 1.9's Correlation gradient in absolute-difference mode (``is_multiply=False``): the
subgradient of ``|a - b|`` is +1 where ``a >= b`` (ties included) and -1 elsewhere, as MXNet's
kernel computes it; ties are common in float16 and on zero-padded borders."""
import kiln as mx
import numpy as np


def _grads(a, b, **kw):
    x, y = mx.nd.array(a), mx.nd.array(b)
    x.attach_grad()
    y.attach_grad()
    with mx.autograd.record():
        out = mx.nd.Correlation(x, y, is_multiply=False, **kw)
    out.backward(mx.nd.ones(out.shape))
    return out, x.grad.asnumpy(), y.grad.asnumpy()


def test_tied_inputs_take_plus_one():
    a = np.full((1, 1, 3, 3), 0.5, np.float32)
    out, ga, gb = _grads(a, a.copy(), kernel_size=1, max_displacement=0, pad_size=0)
    np.testing.assert_array_equal(out.asnumpy(), 0)
    np.testing.assert_array_equal(ga, 1)     # every position is a tie: +1 for data1
    np.testing.assert_array_equal(gb, -1)    # and -1 for data2


def test_untied_inputs_take_the_sign():
    a = np.array([[[[1.0, -2.0], [3.0, 0.0]]]], np.float32)
    b = np.array([[[[0.0, 1.0], [3.0, -1.0]]]], np.float32)
    _, ga, gb = _grads(a, b, kernel_size=1, max_displacement=0, pad_size=0)
    np.testing.assert_array_equal(ga, [[[[1, -1], [1, 1]]]])
    np.testing.assert_array_equal(gb, -ga)
