"""MXNet 1.9 conventions of the activation and reduction families, beyond the registry walker."""
import math

import numpy as np
import opcheck
import pytest
from kiln import autograd, nd
from kiln.base import OpError
from kiln.ndarray._registry import OPS, Sample


def _x(*shape):
    return nd.array(np.arange(np.prod(shape), dtype=np.float32).reshape(shape) - 3)


# ---- reductions ----
@pytest.mark.parametrize("name", ["sum", "mean", "prod", "max", "min", "nansum", "nanprod",
                                  "norm", "logsumexp"])
def test_full_reduction_has_shape_one(name):
    out = getattr(nd, name)(_x(2, 3))
    assert out.shape == (1,)
    assert getattr(nd, name)(_x(2, 3), axis=(0, 1)).shape == (1,)


def test_keepdims_and_exclude():
    x = _x(2, 3, 4)
    assert nd.sum(x, keepdims=True).shape == (1, 1, 1)
    assert nd.sum(x, axis=1, exclude=True).shape == (3,)
    np.testing.assert_allclose(nd.sum(x, axis=1, exclude=True).asnumpy(),
                               x.asnumpy().sum(axis=(0, 2)))
    assert nd.max(x, axis=(0, 2), exclude=True, keepdims=True).shape == (2, 1, 4)
    # axis=None reduces everything even with exclude=True (MXNet's rule)
    assert nd.sum(x, exclude=True).shape == (1,)
    assert nd.sum(x, axis=[0, -1]).shape == (3,)


def test_aliases():
    x = _x(2, 3)
    np.testing.assert_array_equal(nd.sum_axis(x, axis=0).asnumpy(), x.asnumpy().sum(0))
    np.testing.assert_array_equal(nd.max_axis(x, axis=1).asnumpy(), x.asnumpy().max(1))
    np.testing.assert_array_equal(nd.min_axis(x, axis=1).asnumpy(), x.asnumpy().min(1))
    assert x.sum().shape == (1,) and x.argmax(axis=1).shape == (2,)


def test_integer_and_half_reductions_keep_dtype():
    xi = nd.array(np.arange(6).reshape(2, 3), dtype="int32")
    assert nd.sum(xi).dtype == np.int32 and nd.sum(xi).asscalar() == 15
    assert nd.prod(xi + 1, axis=1).dtype == np.int32
    xh = nd.ones((4096,), dtype="float16")
    assert nd.sum(xh).dtype == np.float16 and nd.sum(xh).asscalar() == 4096


def test_argmax_dtype_and_shapes():
    x = nd.array([[1, 5, 2], [7, 0, 3]])
    assert nd.argmax(x).shape == (1,) and nd.argmax(x).asscalar() == 3
    assert nd.argmax(x).dtype == np.float32
    assert nd.argmax(x, axis=1).asnumpy().tolist() == [1.0, 0.0]
    assert nd.argmin(x, axis=0, keepdims=True).shape == (1, 3)
    assert nd.argmax(x, keepdims=True).shape == (1, 1)
    assert nd.argmax(nd.array([1, 3, 2]), axis=0).shape == (1,)
    assert nd.argmax(x.astype("float64"), axis=1).dtype == np.float64


def test_norm():
    x = nd.array([[3, 4], [6, 8]])
    assert nd.norm(x).asscalar() == pytest.approx(math.sqrt(125))
    np.testing.assert_allclose(nd.norm(x, ord=1, axis=1).asnumpy(), [7, 14])
    np.testing.assert_allclose(nd.norm(x, axis=1).asnumpy(), [5, 10])
    assert nd.norm(x, axis=1, keepdims=True).shape == (2, 1)
    assert nd.norm(x, out_dtype="float64").dtype == np.float64
    z = nd.zeros((3,))
    z.attach_grad()
    with autograd.record():
        y = nd.norm(z)
    y.backward()
    assert np.all(np.isfinite(z.grad.asnumpy()))


def test_prod_gradient_with_zeros():
    x = nd.array([[2.0, 0.0, 3.0], [1.0, 2.0, 4.0], [0.0, 0.0, 5.0]])
    x.attach_grad()
    with autograd.record():
        y = nd.prod(x, axis=1)
    y.backward()
    expected = [[0, 6, 0], [8, 4, 2], [0, 0, 0]]
    np.testing.assert_allclose(x.grad.asnumpy(), expected)


def test_max_gradient_routes_to_extremum():
    x = nd.array([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    x.attach_grad()
    with autograd.record():
        y = nd.max(x, axis=1)
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), [[0, 1, 0], [1, 0, 0]])


def test_logsumexp_is_stable():
    x = nd.array([[1000.0, 1000.0], [-1000.0, -1000.0]])
    np.testing.assert_allclose(nd.logsumexp(x, axis=1).asnumpy(),
                               [1000 + math.log(2), -1000 + math.log(2)], rtol=1e-6)


# ---- activations ----
def test_softmax_temperature_axis_and_dtype():
    x = nd.array([[1.0, 2.0, 3.0]])
    t = nd.softmax(x, temperature=2.0).asnumpy()
    e = np.exp(np.array([1, 2, 3]) / 2.0)
    np.testing.assert_allclose(t[0], e / e.sum(), rtol=1e-6)
    assert nd.softmax(x, axis=0).asnumpy().tolist() == [[1.0, 1.0, 1.0]]
    assert nd.softmax(x, dtype="float64").dtype == np.float64
    big = nd.array([[1000.0, 0.0]])
    np.testing.assert_allclose(nd.softmax(big).asnumpy(), [[1, 0]])
    np.testing.assert_allclose(nd.log_softmax(big).asnumpy(), [[0, -1000]])
    np.testing.assert_allclose(nd.softmin(x).asnumpy(), nd.softmax(-x).asnumpy())


def test_softmax_length_masks():
    x = nd.ones((2, 4))
    out = nd.softmax(x, nd.array([2, 4], dtype="int32"), use_length=True).asnumpy()
    np.testing.assert_allclose(out, [[0.5, 0.5, 0, 0], [0.25] * 4])


def test_softmax_activation_modes():
    x = nd.array(np.random.default_rng(0).normal(size=(2, 3, 4)))
    np.testing.assert_allclose(nd.SoftmaxActivation(x, mode="channel").asnumpy(),
                               nd.softmax(x, axis=1).asnumpy(), rtol=1e-6)
    np.testing.assert_allclose(nd.SoftmaxActivation(x).asnumpy(),
                               nd.softmax(x, axis=-1).asnumpy(), rtol=1e-6)


def test_leaky_relu_act_types():
    x = nd.array([-2.0, -0.5, 1.0])
    np.testing.assert_allclose(nd.LeakyReLU(x).asnumpy(), [-0.5, -0.125, 1.0])
    np.testing.assert_allclose(nd.LeakyReLU(x, act_type="elu", slope=1.0).asnumpy(),
                               [math.expm1(-2), math.expm1(-0.5), 1.0], rtol=1e-6)
    selu = nd.LeakyReLU(x, act_type="selu").asnumpy()
    np.testing.assert_allclose(selu, nd.selu(x).asnumpy())
    assert selu[2] == pytest.approx(1.0507009873554805)
    gelu = nd.LeakyReLU(x, act_type="gelu").asnumpy()
    np.testing.assert_allclose(gelu, nd.gelu(x).asnumpy())


def test_prelu_gamma_gradient():
    x = nd.array(np.array([[[-1.0, 2.0], [3.0, -4.0]]]))  # (1, 2, 2): channels on axis 1
    gamma = nd.array([0.1, 0.2])
    gamma.attach_grad()
    with autograd.record():
        y = nd.LeakyReLU(x, gamma, act_type="prelu")
    y.backward()
    np.testing.assert_allclose(y.asnumpy(), [[[-0.1, 2.0], [3.0, -0.8]]], rtol=1e-6)
    np.testing.assert_allclose(gamma.grad.asnumpy(), [-1.0, -4.0])


def test_activation_dispatch_and_values():
    x = nd.array([-1.0, 0.0, 2.0])
    for act in ("relu", "sigmoid", "softrelu", "softsign"):
        np.testing.assert_allclose(nd.Activation(x, act_type=act).asnumpy(),
                                   getattr(nd, act)(x).asnumpy())
    np.testing.assert_allclose(nd.Activation(x, act_type="tanh").asnumpy(), np.tanh([-1, 0, 2]),
                               rtol=1e-6)
    np.testing.assert_allclose(nd.hard_sigmoid(x).asnumpy(), [0.3, 0.5, 0.9], rtol=1e-6)
    np.testing.assert_allclose(nd.softplus(nd.array([1000.0])).asnumpy(), [1000.0])
    np.testing.assert_allclose(nd.log_sigmoid(nd.array([-1000.0])).asnumpy(), [-1000.0])
    np.testing.assert_allclose(nd.silu(x).asnumpy(), nd.swish(x).asnumpy())
    with pytest.raises(OpError):
        nd.Activation(x, act_type="bogus")


def test_selu_gradient_negative_side():
    x = nd.array([-1.0, 1.0])
    x.attach_grad()
    with autograd.record():
        y = nd.selu(x)
    y.backward()
    lam, alpha = 1.0507009873554805, 1.6732632423543772
    np.testing.assert_allclose(x.grad.asnumpy(), [lam * alpha * math.exp(-1), lam], rtol=1e-6)


# ---- ONNX lowerings at the opsets where the specs change ----
@pytest.mark.parametrize("opset", [13, 18, 20])
@pytest.mark.parametrize("name,attrs", [
    ("mean", {"axis": 1}), ("max", {"axis": (0, 2), "keepdims": True}), ("prod", {}),
    ("norm", {"axis": 1}), ("logsumexp", {"axis": 2}), ("sum", {"axis": 0}),
    ("gelu", {}), ("gelu", {"approximation": "tanh"}), ("mish", {}),
    ("softmax", {"axis": 1, "temperature": 3.0}), ("argmax", {})])
def test_onnx_opsets(name, attrs, opset):
    x = np.random.default_rng(1).uniform(0.5, 1.5, size=(2, 3, 4))
    opcheck.check_onnx(OPS[name], Sample(x, **attrs), opset=opset)


@pytest.mark.parametrize("name", ["sum", "mean", "max", "min", "prod"])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.int32])
def test_reductions_over_axes_of_one_element_equal_numpy(name, dtype):
    """Over size-1 axes a reduction returns the elements themselves (a fast path): the same
    values, signed zeros and NaNs as numpy's reduction, a new array, MXNet's shapes."""
    x = np.array([[-0.0], [1.5], [np.nan], [-7.0]]).astype(dtype) if dtype != np.int32 else \
        np.array([[0], [3], [-2], [9]], dtype)
    for kwargs, axes in (({"axis": 1}, (1,)), ({"axis": 0, "exclude": True}, (1,)),
                         ({"axis": 1, "keepdims": True}, (1,))):
        src = nd.array(x, dtype=dtype)
        out = getattr(nd, name)(src, **kwargs).asnumpy()
        want = getattr(np, name)(x.astype(np.float64), axis=axes,
                                 keepdims=kwargs.get("keepdims", False)).astype(dtype)
        assert out.dtype == dtype and out.shape == want.shape
        np.testing.assert_array_equal(out, want)
        np.testing.assert_array_equal(np.signbit(out), np.signbit(want))
    one = nd.array(x[:1, :1], dtype=dtype)
    assert getattr(nd, name)(one, axis=(0, 1)).shape == (1,)  # MXNet: (1,), not ()


def test_mean_gradient_over_axes_of_one_element():
    x = nd.array(np.arange(6.0).reshape(3, 1, 2))
    x.attach_grad()
    head = nd.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    with autograd.record():
        y = nd.mean(x, axis=1)
    y.backward(head)
    np.testing.assert_array_equal(x.grad.asnumpy(), head.asnumpy().reshape(3, 1, 2))
