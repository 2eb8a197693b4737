"""Behaviours MXNet 1.9.1's test_operator checks through the symbol front end and the executor
(test_histogram, test_correlation's infer_type, test_repeat/test_tile's backward before any
forward, test_convolution_independent_gradients' None entries in bind, test_reduce's
almost_equal_ignore_nan), as kiln gives them."""
import copy

import kiln as mx
import numpy as np
import pytest
from kiln.test_utils import almost_equal_ignore_nan


@pytest.mark.parametrize("bin_cnt", [2, 5, 9])
def test_symbol_histogram_takes_a_bin_count(bin_cnt):
    x = np.random.default_rng(bin_cnt).uniform(-3, 3, (4, 6))
    h = mx.sym.histogram(a=mx.sym.Variable("data"), bins=bin_cnt, range=(-2.5, 2.5))
    exe = h.bind(mx.cpu(), args={"data": mx.nd.array(x, dtype=np.float64)})
    exe.forward(is_train=False)
    counts, edges = np.histogram(x, bin_cnt, range=(-2.5, 2.5))
    assert exe.outputs[0].asnumpy().tolist() == counts.tolist()
    np.testing.assert_allclose(exe.outputs[1].asnumpy(), edges)
    assert '"bin_cnt": "%d"' % bin_cnt in h.tojson()


@pytest.mark.parametrize("dtype", ["float16", "float64"])
def test_infer_type_without_shapes(dtype):
    a, b = mx.sym.Variable("a"), mx.sym.Variable("b")
    corr = mx.sym.Correlation(data1=a, data2=b)
    args, outs, _ = corr.infer_type(a=dtype)
    assert args == [np.dtype(dtype).type] * 2 and outs == [np.dtype(dtype).type]
    assert mx.sym.Cast(a, dtype="float16").infer_type(a=dtype)[1] == [np.float16]


@pytest.mark.parametrize("make, out_shape", [
    (lambda d: mx.sym.repeat(d, repeats=2, axis=0), (6, 4)),
    (lambda d: mx.sym.tile(d, reps=(2, 3)), (6, 12)),
])
def test_backward_before_any_forward(make, out_shape):
    x = np.arange(12.0).reshape(3, 4)
    grad = mx.nd.empty((3, 4))
    exe = make(mx.sym.Variable("data")).bind(mx.cpu(), args=[mx.nd.array(x)], args_grad=[grad])
    exe.backward(mx.nd.ones(out_shape))
    assert grad.asnumpy().tolist() == [[float(np.prod(out_shape) // 12)] * 4] * 3


def test_bind_ignores_keys_naming_no_argument_and_null_backward_is_a_no_op():
    conv = mx.sym.Convolution(mx.sym.Variable("x"), mx.sym.Variable("w"), None, num_filter=3,
                              kernel=(3,), no_bias=True)
    args = copy.deepcopy({"x": mx.nd.ones((2, 2, 7)), "w": mx.nd.ones((3, 2, 3)), "b": None})
    grads = {"x": mx.nd.zeros((2, 2, 7)), "w": mx.nd.zeros((3, 2, 3)), "b": None}
    exe = conv.bind(mx.cpu(), args, args_grad=grads, grad_req={"x": "null", "w": "write",
                                                                  "b": "write"})
    exe.forward(is_train=True)
    exe.backward(exe.outputs[0])
    assert grads["w"].asnumpy().min() > 0 and grads["x"].asnumpy().max() == 0
    idle = conv.bind(mx.cpu(), args, args_grad=grads, grad_req="null")
    idle.forward(is_train=True)
    idle.backward(idle.outputs[0])   # nothing to compute: no error, as MXNet


def test_almost_equal_ignore_nan():
    assert almost_equal_ignore_nan(np.array([np.nan, 1.0]), np.array([5.0, 1.0]), 1e-4, 1e-4)
    assert not almost_equal_ignore_nan(np.array([np.nan, 1.1]), np.array([5.0, 1.0]))
