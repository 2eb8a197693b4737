"""Indexing, take/pick/one_hot, sorting and products: MXNet 1.9 conventions vs numpy."""
import numpy as np
import pytest
from kiln import autograd, nd
from kiln.base import MXNetError


def _x(*shape):
    return np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape) * 0.5 - 3


GET_KEYS = [
    1, -1, slice(1, 3), slice(None, None, 2), slice(None, None, -1), slice(-3, -1),
    (1, 2), (-1, slice(None, None, -2)), (Ellipsis, 1), (None, 1), (slice(None), None, 0),
    (Ellipsis, None, slice(1, 3)), (1, Ellipsis, None),
    [0, 2, 2], (slice(None), [3, 0, -1]), ([0, 2], [1, 3]), ([[0], [2]], [1, 3]),
    ([0, 2], slice(None), [1, 4]), (slice(None), 1, [0, 4]), (None, [2, 0], slice(1, None)),
    (1, [0, 3], slice(None)),
]


@pytest.mark.parametrize("key", GET_KEYS, ids=[repr(k) for k in GET_KEYS])
def test_getitem_matches_numpy(key):
    a = _x(3, 4, 5)
    got = nd.array(a)[key]
    expected = np.atleast_1d(a[key])
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got.asnumpy(), expected)


def test_getitem_scalar_results_have_shape_1():
    x = nd.array([1.0, 2.0, 3.0])
    assert x[1].shape == (1,)
    assert x[1].asscalar() == 2.0
    assert nd.array(_x(2, 3))[1, -1].shape == (1,)


def test_getitem_with_ndarray_indices_float_and_int():
    a = _x(4, 3)
    x = nd.array(a)
    np.testing.assert_array_equal(x[nd.array([3, 0, 0])].asnumpy(), a[[3, 0, 0]])
    idx = nd.array([2, 1], dtype="int32")
    np.testing.assert_array_equal(x[idx, 1:].asnumpy(), a[[2, 1], 1:])


def test_getitem_out_of_range_raises():
    with pytest.raises((IndexError, MXNetError)):
        nd.array(_x(2, 3))[5]


SET_CASES = [
    (1, 7.0), (slice(1, 3), 0.0), ((slice(None), slice(None, None, 2)), -1.0),
    ((Ellipsis, 0), 5.0), (([0, 2], [1, 3]), 9.0), (-1, "row"), ((1, slice(1, 4)), "arr"),
]


@pytest.mark.parametrize("key,value", SET_CASES, ids=[repr(k) for k, _ in SET_CASES])
def test_setitem_matches_numpy(key, value):
    a = _x(3, 4)
    x = nd.array(a)
    if value == "row":
        value = np.arange(4, dtype=np.float32)
    elif value == "arr":
        value = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    a[key] = value
    x[key] = nd.array(value) if isinstance(value, np.ndarray) else value
    np.testing.assert_array_equal(x.asnumpy(), a)


def test_setitem_with_ndarray_index():
    a = _x(4, 2)
    x = nd.array(a)
    x[nd.array([0, 3], dtype="int64")] = 1.0
    a[[0, 3]] = 1.0
    x[nd.array([1, 2]), 1] = 4.0  # float index arrays (nd.array's default dtype) work too
    a[[1, 2], 1] = 4.0
    np.testing.assert_array_equal(x.asnumpy(), a)


# ---- gradients through indexing --------------------------------------------------------------
def _grad_of(a, fn):
    x = nd.array(a)
    x.attach_grad()
    with autograd.record():
        y = fn(x)
    y.backward()
    return x.grad.asnumpy()


def test_grad_basic_slice():
    g = _grad_of(_x(3, 4), lambda x: (x[1:, ::2] * 2).sum())
    expected = np.zeros((3, 4), np.float32)
    expected[1:, ::2] = 2
    np.testing.assert_array_equal(g, expected)


def test_grad_repeated_index_array_accumulates():
    g = _grad_of(_x(4, 2), lambda x: x[nd.array([0, 2, 0, 0])].sum())
    np.testing.assert_array_equal(g, [[3, 3], [0, 0], [1, 1], [0, 0]])


def test_grad_two_index_arrays_and_int():
    g = _grad_of(_x(3, 4), lambda x: x[[1, 1, 2], [0, 0, 3]].sum() + x[0, 1])
    expected = np.zeros((3, 4), np.float32)
    expected[1, 0], expected[2, 3], expected[0, 1] = 2, 1, 1
    np.testing.assert_array_equal(g, expected)


def test_grad_none_and_ellipsis():
    g = _grad_of(_x(2, 3), lambda x: (x[None, ..., 1:] * x[None, ..., 1:]).sum())
    expected = 2 * _x(2, 3)
    expected[:, 0] = 0
    np.testing.assert_allclose(g, expected)


# ---- take / pick / one_hot -----------------------------------------------------------------
def test_take_default_clip_mode():
    a = nd.array([[1, 2], [3, 4], [5, 6]])
    out = nd.take(a, nd.array([-1, 0, 2, 7]))
    np.testing.assert_array_equal(out.asnumpy(), [[1, 2], [1, 2], [5, 6], [5, 6]])


def test_take_wrap_and_axis():
    a = nd.array(_x(2, 3))
    out = nd.take(a, nd.array([[-1, 3]]), axis=1, mode="wrap")
    assert out.shape == (2, 1, 2)
    np.testing.assert_array_equal(out.asnumpy(), _x(2, 3)[:, [[2, 0]]])


def test_take_gradient_to_data():
    g = _grad_of(_x(3, 2), lambda x: nd.take(x, nd.array([0, 0, 5])).sum())
    np.testing.assert_array_equal(g, [[2, 2], [0, 0], [1, 1]])


def test_pick_defaults_and_keepdims():
    a = nd.array([[1, 2], [3, 4], [5, 6]])
    np.testing.assert_array_equal(nd.pick(a, nd.array([0, 1, 5])).asnumpy(), [1, 4, 6])
    out = nd.pick(a, nd.array([1, -1]), axis=0, keepdims=True)
    assert out.shape == (1, 2)
    np.testing.assert_array_equal(out.asnumpy(), [[3, 2]])
    kept = nd.pick(a, nd.array([[1], [0], [1]]), axis=1, keepdims=True)  # index like output
    np.testing.assert_array_equal(kept.asnumpy(), [[2], [3], [6]])
    wrapped = nd.pick(a, nd.array([2, -1, 3]), mode="wrap")
    np.testing.assert_array_equal(wrapped.asnumpy(), [1, 4, 6])


def test_pick_gradient():
    g = _grad_of(_x(2, 3), lambda x: nd.pick(x, nd.array([2, 0])).sum())
    np.testing.assert_array_equal(g, [[0, 0, 1], [1, 0, 0]])


def test_one_hot_out_of_range_rows_are_off():
    out = nd.one_hot(nd.array([1, 3, -1, 0]), 3, on_value=8, off_value=-2)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out.asnumpy(), [[-2, 8, -2], [-2, -2, -2], [-2, -2, -2],
                                                  [8, -2, -2]])
    assert nd.one_hot(nd.array([[0, 1]]), depth=2, dtype="int32").dtype == np.int32


def test_gather_nd_and_scatter_nd():
    data = nd.array([[0, 1], [2, 3]])
    idx = nd.array([[1, 1, 0], [0, 1, 0]])
    np.testing.assert_array_equal(nd.gather_nd(data, idx).asnumpy(), [2, 3, 0])
    out = nd.scatter_nd(nd.array([2, 3, 4]), nd.array([[1, 1, 0], [0, 1, 1]]), shape=(2, 2))
    np.testing.assert_array_equal(out.asnumpy(), [[0, 4], [2, 3]])


def test_gather_nd_gradient_accumulates():
    g = _grad_of(_x(2, 2), lambda x: nd.gather_nd(x, nd.array([[1, 1], [0, 0]])).sum())
    np.testing.assert_array_equal(g, [[0, 0], [2, 0]])


# ---- sort / argsort / topk -----------------------------------------------------------------
A = np.array([[0.3, 0.1, 0.5, 0.2], [0.9, 0.7, 0.4, 0.8]], dtype=np.float32)


def test_topk_default_returns_float32_indices():
    out = nd.topk(nd.array(A))
    assert out.dtype == np.float32 and out.shape == (2, 1)
    np.testing.assert_array_equal(out.asnumpy(), [[2], [0]])


@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "float16"])
def test_topk_indices_dtype(dtype):
    out = nd.topk(nd.array(A), k=2, dtype=dtype)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(out.asnumpy(), [[2, 0], [0, 3]])


def test_topk_ret_typ_variants():
    x = nd.array(A)
    vals = nd.topk(x, k=2, ret_typ="value")
    np.testing.assert_allclose(vals.asnumpy(), [[0.5, 0.3], [0.9, 0.8]])
    both = nd.topk(x, k=2, ret_typ="both", is_ascend=True)
    assert isinstance(both, list) and len(both) == 2
    np.testing.assert_allclose(both[0].asnumpy(), [[0.1, 0.2], [0.4, 0.7]])
    np.testing.assert_array_equal(both[1].asnumpy(), [[1, 3], [2, 1]])
    mask = nd.topk(x, k=2, ret_typ="mask")
    assert mask.dtype == np.float32 and mask.shape == A.shape
    np.testing.assert_array_equal(mask.asnumpy(), [[1, 0, 1, 0], [1, 0, 0, 1]])
    col = nd.topk(x, axis=0, k=1, ret_typ="indices")
    np.testing.assert_array_equal(col.asnumpy(), [[1, 1, 0, 1]])


def test_topk_k0_and_axis_none():
    x = nd.array(A)
    np.testing.assert_array_equal(nd.topk(x, k=0).asnumpy(), np.argsort(-A, axis=-1))
    flat = nd.topk(x, axis=None, k=3, ret_typ="value")
    np.testing.assert_allclose(flat.asnumpy(), [0.9, 0.8, 0.7])


def test_sort_and_argsort():
    x = nd.array(A)
    np.testing.assert_allclose(nd.sort(x).asnumpy(), np.sort(A, axis=-1))
    np.testing.assert_allclose(nd.sort(x, axis=0, is_ascend=False).asnumpy(),
                               -np.sort(-A, axis=0))
    idx = nd.argsort(x)
    assert idx.dtype == np.float32
    np.testing.assert_array_equal(idx.asnumpy(), np.argsort(A, axis=-1))
    assert nd.argsort(x, dtype="int32").dtype == np.int32
    assert nd.sort(x, axis=None).shape == (8,)


def test_sort_backward_with_default_axis():
    # MXNet 1.9.1 raises here; the gradient of sorted values is a permutation of the head grad
    w = np.arange(8, dtype=np.float32).reshape(2, 4)
    g = _grad_of(A, lambda x: (nd.sort(x) * nd.array(w)).sum())
    ranks = np.argsort(np.argsort(A, axis=-1), axis=-1)
    np.testing.assert_array_equal(g, np.take_along_axis(w, ranks, axis=-1))


def test_topk_value_gradient():
    g = _grad_of(A, lambda x: nd.topk(x, k=2, ret_typ="value").sum())
    np.testing.assert_array_equal(g, [[1, 0, 1, 0], [1, 0, 0, 1]])


# ---- dot / batch_dot -----------------------------------------------------------------------
def test_dot_conventions():
    v = nd.array([1, 2, 3])
    assert nd.dot(v, v).shape == (1,)
    assert nd.dot(v, v).asscalar() == 14
    a, b = _x(2, 3, 4), _x(4, 5)
    np.testing.assert_allclose(nd.dot(nd.array(a), nd.array(b)).asnumpy(),
                               np.tensordot(a, b, 1), rtol=1e-6)
    c = _x(4, 2)
    out = nd.dot(nd.array(c), nd.array(b), transpose_a=True)
    np.testing.assert_allclose(out.asnumpy(), c.T @ b, rtol=1e-6)


def test_batch_dot_and_matmul():
    a, b = _x(2, 3, 4), _x(2, 5, 4)
    out = nd.batch_dot(nd.array(a), nd.array(b), transpose_b=True)
    np.testing.assert_allclose(out.asnumpy(), a @ b.transpose(0, 2, 1), rtol=1e-6)
    np.testing.assert_allclose((nd.array(a) @ nd.array(_x(4, 2))).asnumpy(), a @ _x(4, 2),
                               rtol=1e-6)


def test_dot_gradient():
    b = nd.array(_x(3, 2))
    g = _grad_of(_x(4, 3), lambda x: nd.dot(x, b).sum())
    np.testing.assert_allclose(g, np.tile(_x(3, 2).sum(axis=1), (4, 1)))


@pytest.mark.parametrize("keys", [[3, 0, 3, 7, 3, 0], [5], [-1, 9, 2, -1], [4, 4, 4, 4]])
def test_scatter_rows_equals_add_at(keys):
    from kiln.ndarray.ops.indexing import scatter_rows
    rng = np.random.default_rng(len(keys))
    key = np.array(keys, np.int64)
    vals = rng.standard_normal((len(keys), 20)).astype(np.float32)
    want = np.zeros((10, 20), np.float32)
    np.add.at(want, key, vals)
    got = scatter_rows(np, np.zeros((10, 20), np.float32), key, vals)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    assert (got[np.setdiff1d(np.arange(10), key % 10)] == 0).all()
