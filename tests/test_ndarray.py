"""The NDArray surface: creation, operators, conversion, printing, devices and error messages."""
import re

import kiln as kl
import numpy as np
import pytest
from kiln import autograd, nd
from kiln.base import MXNetError, OpError

DTYPES = ["float16", "float32", "float64", "int8", "int32", "int64", "uint8", "bool"]


def A(x, dtype=None):
    return nd.array(x, dtype=dtype)


# ---- creation ----------------------------------------------------------------------------------
def test_array_defaults_to_float32_even_for_int_numpy_input():
    assert A(np.arange(3, dtype=np.int64)).dtype == np.float32
    assert A([1, 2, 3]).dtype == np.float32
    assert A([[True, False]]).dtype == np.float32
    assert A(A([1, 2], dtype="int32")).dtype == np.int32   # an NDArray source keeps its dtype


@pytest.mark.parametrize("dtype", DTYPES)
def test_creation_dtypes(dtype):
    t = np.dtype(dtype).type
    src = np.array([[0, 1, 1], [1, 0, 1]])
    assert A(src, dtype=dtype).dtype == t
    np.testing.assert_array_equal(A(src, dtype=dtype).asnumpy(), src.astype(dtype))
    for f in (nd.zeros, nd.ones, nd.empty):
        x = f((2, 3), dtype=dtype)
        assert x.dtype == t and x.shape == (2, 3)
    assert nd.full((2,), 1, dtype=dtype).dtype == t
    assert nd.zeros_like(A(src, dtype=dtype)).dtype == t
    assert nd.ones_like(A(src, dtype=dtype)).dtype == t


def test_creation_values_and_defaults():
    assert nd.zeros((2, 3)).dtype == np.float32 and nd.zeros(4).shape == (4,)
    np.testing.assert_array_equal(nd.ones((2,)).asnumpy(), [1, 1])
    np.testing.assert_array_equal(nd.full((2, 2), 7).asnumpy(), np.full((2, 2), 7))
    np.testing.assert_array_equal(nd.arange(5).asnumpy(), np.arange(5, dtype=np.float32))
    np.testing.assert_array_equal(nd.arange(1, 3, 0.5).asnumpy(), [1, 1.5, 2, 2.5])
    np.testing.assert_array_equal(nd.arange(0, 3, repeat=2).asnumpy(), [0, 0, 1, 1, 2, 2])
    assert nd.arange(3, dtype="int32").dtype == np.int32
    np.testing.assert_allclose(nd.linspace(0, 1, 5).asnumpy(), np.linspace(0, 1, 5))
    np.testing.assert_array_equal(nd.eye(3, 4, 1).asnumpy(), np.eye(3, 4, 1))
    x = A([[1, 2], [3, 4]])
    np.testing.assert_array_equal(nd.full_like(x, 9).asnumpy(), np.full((2, 2), 9))
    np.testing.assert_array_equal(nd.zeros_like(x).asnumpy(), np.zeros((2, 2)))


# ---- operators ---------------------------------------------------------------------------------
X = np.array([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]], np.float32)
Y = np.array([[2.0], [3.0]], np.float32)             # broadcasts against X


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "**", "//", "%"])
def test_binary_operators_broadcast(op):
    fn = eval(f"lambda a, b: a {op} b")  # noqa: S307 - the operator under test
    x, y = A(X), A(Y)
    np.testing.assert_allclose(fn(x, y).asnumpy(), fn(X, Y), rtol=1e-6)
    np.testing.assert_allclose(fn(x, 2.0).asnumpy(), fn(X, np.float32(2)), rtol=1e-6)
    np.testing.assert_allclose(fn(3.0, y).asnumpy(), fn(np.float32(3), Y), rtol=1e-6)
    assert fn(x, y).dtype == np.float32 and fn(x, y).shape == (2, 3)


def test_matmul_and_unary():
    x = A(X)
    np.testing.assert_allclose((x @ x.T).asnumpy(), X @ X.T)
    np.testing.assert_array_equal((-x).asnumpy(), -X)
    np.testing.assert_array_equal(abs(x).asnumpy(), np.abs(X))
    assert (+x) is x


@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
@pytest.mark.parametrize("dtype", ["float32", "int32", "float64"])
def test_comparisons_return_input_dtype(op, dtype):
    fn = eval(f"lambda a, b: a {op} b")  # noqa: S307
    x, y = A(X, dtype=dtype), A(Y, dtype=dtype)
    res = fn(x, y)
    assert res.dtype == np.dtype(dtype).type
    np.testing.assert_array_equal(res.asnumpy(), fn(X.astype(dtype), Y.astype(dtype)))
    np.testing.assert_array_equal(fn(x, 3).asnumpy(), fn(X.astype(dtype), 3).astype(dtype))


def test_inplace_operators_outside_record():
    x = A([1.0, 2.0, 3.0])
    alias = x
    x += 1
    x *= A([2.0, 2.0, 1.0])
    x -= 0.5
    x /= 2
    assert x is alias
    np.testing.assert_allclose(x.asnumpy(), [1.75, 2.75, 1.75])
    i = A([5, 7], dtype="int32")
    i += 2
    assert i.dtype == np.int32 and i.asnumpy().tolist() == [7, 9]
    x[:] = 0
    x[1] = 4
    assert x.asnumpy().tolist() == [0, 4, 0]


def test_inplace_refused_while_recording_on_graph_arrays():
    x = A([1.0, 2.0])
    x.attach_grad()
    with autograd.record():
        y = x * 2
        with pytest.raises(MXNetError, match=r"in-place.*recorded graph.*test_ndarray\.py"):
            y += 1
        with pytest.raises(MXNetError, match="in-place"):
            x[:] = 3
        z = A([1.0, 1.0])       # not part of the graph: allowed
        z += 1
    y += 1                       # outside record: allowed
    assert z.asnumpy().tolist() == [2, 2] and y.asnumpy().tolist() == [3, 5]


# ---- properties, iteration, conversion ---------------------------------------------------------
def test_properties_len_and_iteration():
    x = A(np.arange(24).reshape(2, 3, 4))
    assert (x.shape, x.ndim, x.size, x.dtype) == ((2, 3, 4), 3, 24, np.float32)
    assert len(x) == 2
    rows = list(x)
    assert len(rows) == 2 and rows[1].shape == (3, 4)
    np.testing.assert_array_equal(rows[1].asnumpy(), np.arange(12, 24).reshape(3, 4))
    assert x.T.shape == (4, 3, 2)
    np.testing.assert_array_equal(x.T.asnumpy(), np.arange(24).reshape(2, 3, 4).T)
    assert x.context == kl.cpu() and x.ctx == kl.cpu(0) and x.stype == "default"


def test_astype_copy_copyto():
    x = A([1.7, -2.2])
    assert x.astype("int32").dtype == np.int32
    assert x.astype("int32").asnumpy().tolist() == [1, -2]
    assert x.astype("float32", copy=False) is x
    assert x.astype(np.float16).dtype == np.float16
    c = x.copy()
    c[0] = 100
    assert x.asnumpy()[0] == np.float32(1.7)
    target = nd.zeros((2,))
    assert x.copyto(target) is target
    np.testing.assert_array_equal(target.asnumpy(), x.asnumpy())
    other = x.copyto(kl.cpu(1))
    assert other.context == kl.cpu(1) and other is not x
    np.testing.assert_array_equal(other.asnumpy(), x.asnumpy())


def test_as_in_context():
    x = A([1.0, 2.0])
    assert x.as_in_context(kl.cpu(0)) is x
    y = x.as_in_context(kl.cpu(1))
    assert y.context == kl.cpu(1) and y.asnumpy().tolist() == [1, 2]


def test_asnumpy_asscalar_item_array_protocol():
    x = A([[1, 2], [3, 4]])
    a = x.asnumpy()
    assert isinstance(a, np.ndarray) and a.dtype == np.float32
    a[0, 0] = 99                                      # a copy
    assert x.asnumpy()[0, 0] == 1
    s = A([3.5])
    assert s.asscalar() == 3.5 and isinstance(s.asscalar(), np.float32)
    assert s.item() == 3.5 and isinstance(s.item(), float)
    assert A([4], dtype="int32").asscalar() == 4
    with pytest.raises(ValueError):
        x.asscalar()
    np.testing.assert_array_equal(np.asarray(x), [[1, 2], [3, 4]])
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    assert float(s) == 3.5 and int(A([2.9])) == 2


def test_repr_like_mxnet():
    x = A([[1, 2, 3], [4, 5, 6]])
    r = repr(x)
    body = str(np.array([[1, 2, 3], [4, 5, 6]], np.float32))
    assert r == f"\n{body}\n<NDArray 2x3 @cpu(0)>"  # MXNet 1.9's exact layout
    assert repr(nd.array([3.0]).reshape(())) == "\n3.0\n<NDArray  @cpu(0)>"
    assert re.search(r"<NDArray 4 @cpu\(1\)>$", repr(nd.zeros(4, ctx=kl.cpu(1))))
    assert str(x) == repr(x)


def test_dlpack_both_ways():
    x = A([[1, 2], [3, 4]])
    a = np.from_dlpack(x)
    np.testing.assert_array_equal(a, [[1, 2], [3, 4]])
    src = np.arange(6, dtype=np.float64).reshape(2, 3)
    y = nd.from_dlpack(src)
    assert y.dtype == np.float64 and y.shape == (2, 3)
    src[0, 0] = 42                                    # shares memory
    assert y.asnumpy()[0, 0] == 42


# ---- devices -----------------------------------------------------------------------------------
def test_devices():
    assert kl.cpu() == kl.cpu(0) and kl.cpu(1) != kl.cpu(0)
    assert str(kl.cpu(1)) == "cpu(1)" and str(kl.gpu(2)) == "gpu(2)"
    with kl.cpu(1):
        assert nd.zeros((2,)).context == kl.cpu(1)
        assert kl.current_context() == kl.cpu(1)
    assert nd.zeros((2,)).context == kl.cpu(0)
    assert nd.array([1], ctx=kl.cpu(3)).context == kl.cpu(3)


def test_devices_copy_and_default_ctx():
    """A device survives deepcopy and pickling (MXNet's Gluon code deep-copies parameter
    dicts, which hold devices); ``Context.default_ctx`` is the current device (MXNet 1.x)."""
    import copy
    import pickle
    assert copy.deepcopy([kl.cpu(2)]) == [kl.cpu(2)]
    assert pickle.loads(pickle.dumps(kl.gpu(1))) == kl.gpu(1)
    net = kl.gluon.nn.Dense(2, in_units=3)
    net.initialize()
    clone = copy.deepcopy(net.collect_params())
    assert [p.data().asnumpy().tolist() for p in clone.values()] == \
        [p.data().asnumpy().tolist() for p in net.collect_params().values()]
    assert kl.Context.default_ctx == kl.cpu(0)
    with kl.cpu(4):
        assert kl.Context.default_ctx == kl.cpu(4)


@pytest.mark.skipif(kl.num_gpus() > 0, reason="checks the no-GPU error")
def test_gpu_without_gpu_raises_clear_error_on_use():
    assert kl.num_gpus() == 0
    ctx = kl.gpu(0)                                   # creating the handle is fine
    with pytest.raises(MXNetError, match=r"gpu\(0\) is not available"):
        nd.zeros((2,), ctx=ctx)
    with pytest.raises(MXNetError, match="not available"):
        A([1.0]).as_in_context(kl.gpu(0))


def test_mixing_devices_raises():
    a, b = nd.ones((2,)), nd.ones((2,), ctx=kl.cpu(1))
    with pytest.raises(OpError, match=r"add.*different devices.*cpu\(0\).*cpu\(1\)"):
        a + b
    with pytest.raises(OpError, match="test_ndarray.py"):
        nd.dot(a, b)
    assert (a + b.as_in_context(kl.cpu(0))).asnumpy().tolist() == [2, 2]


# ---- errors name the op, the shapes and the user's line --------------------------------------
def _err(fn):
    with pytest.raises(OpError) as ei:
        fn()
    msg = str(ei.value)
    assert "test_ndarray.py:" in msg, msg
    return msg


def test_mismatched_shapes_error():
    msg = _err(lambda: nd.ones((2, 3)) + nd.ones((4,)))
    assert msg.startswith("add") and "(2, 3)" in msg and "(4,)" in msg
    msg = _err(lambda: nd.dot(nd.ones((2, 3)), nd.ones((2, 3))))
    assert msg.startswith("dot") and "(2, 3)" in msg


def test_wrong_dtype_error():
    msg = _err(lambda: nd.zeros((2,), dtype="not_a_dtype"))
    assert msg.startswith("zeros") and "not_a_dtype" in msg
    msg = _err(lambda: A([1.0]).astype("bogus"))
    assert "cast" in msg and "(1,)" in msg


def test_out_of_range_axis_error():
    msg = _err(lambda: nd.ones((2, 3)).sum(axis=5))
    assert msg.startswith("sum") and "(2, 3)" in msg and "axis" in msg
    msg = _err(lambda: nd.ones((2, 3)).transpose(axes=(0, 5)))
    assert msg.startswith("transpose") and "(2, 3)" in msg and "axis 5" in msg
    msg = _err(lambda: nd.ones((2, 3)).expand_dims(axis=4))
    assert msg.startswith("expand_dims") and "(2, 3)" in msg


def test_error_line_is_the_callers():
    x = nd.ones((3,))
    with pytest.raises(OpError) as ei:
        x * nd.ones((2,))                                            # <- this line
    assert re.search(r"test_ndarray\.py:\d+", str(ei.value))
    want = f"test_ndarray.py:{test_error_line_is_the_callers.__code__.co_firstlineno + 3}"
    assert want in str(ei.value)


def test_unknown_keywords_ignored_only_by_ops_without_parameters():
    """MXNet 1.9: relu(a, foo=1) and broadcast_maximum(a, b, axis=1) run; sum(a, foo=1) fails."""
    a = nd.ones((2, 2))
    assert nd.relu(a, foo=1).shape == (2, 2)
    assert nd.broadcast_maximum(a, a, axis=1).shape == (2, 2)
    with pytest.raises(TypeError, match="foo"):
        nd.sum(a, foo=1)
