"""kiln.np arrays: numpy semantics checked against numpy itself, and MXNet np's own rules
(dtypes, shapes, printing) against real MXNet 1.9.1."""
import kiln
import numpy as onp
import pytest
from _np_oracle import compare, program
from kiln import autograd, np

RNG = onp.random.RandomState(0)
A = RNG.randn(3, 4).astype("float32")


def test_reductions_have_numpy_shapes():
    x = np.array(A)
    for axis in (None, 0, 1, (0, 1), -1):
        for keepdims in (False, True):
            for name in ("sum", "mean", "max", "min", "prod", "std", "var"):
                got = getattr(x, name)(axis=axis, keepdims=keepdims)
                ref = getattr(A, name)(axis=axis, keepdims=keepdims)
                assert got.shape == ref.shape, (name, axis, keepdims)
                onp.testing.assert_allclose(got.asnumpy(), ref, rtol=1e-5, atol=1e-6)
    assert int(x.argmax()) == A.argmax()
    onp.testing.assert_array_equal(np.argmin(x, axis=1).asnumpy(), A.argmin(axis=1))
    onp.testing.assert_allclose(np.var(x, axis=0, ddof=1).asnumpy(), A.var(axis=0, ddof=1),
                                rtol=1e-5)


def test_elementwise_and_broadcasting_follow_numpy():
    x, v = np.array(A), np.array(A[0])
    for got, ref in [(x + v, A + A[0]), (2 - x, 2 - A), (x * x, A * A), (x / 4, A / 4),
                     (np.maximum(x, 0), onp.maximum(A, 0)), (np.exp(x), onp.exp(A)),
                     (abs(x), abs(A)), (-x, -A), (x ** 2, A ** 2),
                     (np.where(x > 0, x, 0.), onp.where(A > 0, A, 0)),
                     (np.clip(x, -0.5, 0.5), onp.clip(A, -0.5, 0.5))]:
        assert got.shape == ref.shape and isinstance(got, np.ndarray)
        onp.testing.assert_allclose(got.asnumpy(), ref, rtol=1e-5)
    mask = x > 0
    assert mask.dtype == onp.bool_
    onp.testing.assert_array_equal(mask.asnumpy(), A > 0)


def test_indexing_with_masks_and_index_arrays():
    x = np.array(A)
    onp.testing.assert_array_equal(x[x > 0].asnumpy(), A[A > 0])
    onp.testing.assert_array_equal(x[[0, 2], [1, 3]].asnumpy(), A[[0, 2], [1, 3]])
    onp.testing.assert_array_equal(x[np.array([2, 0], dtype="int64")].asnumpy(), A[[2, 0]])
    onp.testing.assert_array_equal(x[:, A[0] > 0].asnumpy(), A[:, A[0] > 0])
    assert x[1, 2].shape == () and x[1, 2].item() == A[1, 2]
    y = x.copy()
    y[y < 0] = 0
    onp.testing.assert_array_equal(y.asnumpy(), onp.where(A < 0, 0, A))


def test_mask_indexing_is_differentiable():
    x = np.array(A)
    x.attach_grad()
    with autograd.record():
        loss = (x[x > 0] ** 2).sum()
    loss.backward()
    assert isinstance(x.grad, np.ndarray)
    onp.testing.assert_allclose(x.grad.asnumpy(), onp.where(A > 0, 2 * A, 0), rtol=1e-6)


def test_shape_functions_follow_numpy():
    x = np.array(A)
    for got, ref in [(x.reshape(2, -1), A.reshape(2, -1)), (x.reshape((-1,)), A.reshape(-1)),
                     (x.T, A.T), (x.transpose(1, 0), A.T), (np.swapaxes(x, 0, 1), A.T),
                     (np.expand_dims(x, 1), A[:, None]), (np.squeeze(x[None]), A),
                     (np.concatenate([x, x], axis=1), onp.concatenate([A, A], 1)),
                     (np.stack([x, x], axis=2), onp.stack([A, A], 2)),
                     (x.flatten(), A.flatten()), (np.dot(x, x.T), A @ A.T),
                     (np.dot(x, np.array(A[0])), A @ A[0]), (np.dot(x[0], x[0]), A[0] @ A[0]),
                     (np.tensordot(x, x, axes=([1], [1])), onp.tensordot(A, A, ([1], [1]))),
                     (np.matmul(x, x.T), A @ A.T)]:
        assert got.shape == ref.shape
        onp.testing.assert_allclose(got.asnumpy(), ref, rtol=1e-5, atol=1e-6)
    parts = np.split(x, [1, 3], axis=1)
    for got, ref in zip(parts, onp.split(A, [1, 3], axis=1)):
        onp.testing.assert_array_equal(got.asnumpy(), ref)
    with pytest.raises(ValueError, match="reshape"):
        x.reshape(5, -1)
    with pytest.raises(ValueError, match="split"):
        np.split(x, 3, axis=1)


def test_creation_random_and_linalg():
    assert np.zeros((2, 3)).shape == (2, 3) and np.ones(2).dtype == onp.float32
    onp.testing.assert_allclose(np.linspace(0, 1, 5).asnumpy(), onp.linspace(0, 1, 5))
    onp.testing.assert_array_equal(np.eye(3, k=1).asnumpy(), onp.eye(3, k=1))
    onp.testing.assert_array_equal(np.full_like(np.array(A), 2).asnumpy(), onp.full_like(A, 2))
    np.random.seed(3)
    a = np.random.normal(1, 2, size=(1000,))
    np.random.seed(3)
    assert (np.random.normal(1, 2, size=(1000,)) == a).all()
    assert abs(float(a.mean()) - 1) < 0.3 and abs(float(a.std()) - 2) < 0.3
    r = np.random.randint(2, 5, size=(50,))
    assert r.dtype == onp.int64 and int(r.min()) >= 2 and int(r.max()) < 5
    c = np.random.choice(10, 10, replace=False)
    assert sorted(c.asnumpy().tolist()) == list(range(10))
    s = np.arange(10)
    np.random.shuffle(s)
    assert sorted(s.asnumpy().tolist()) == list(range(10))
    onp.testing.assert_allclose(float(np.linalg.norm(np.array(A))), onp.linalg.norm(A),
                                rtol=1e-5)
    onp.testing.assert_allclose(np.linalg.norm(np.array(A), axis=1).asnumpy(),
                                onp.linalg.norm(A, axis=1), rtol=1e-5)


def test_conversions_share_data():
    x = kiln.nd.ones((2, 3))
    y = x.as_np_ndarray()
    assert isinstance(y, np.ndarray) and y.sum().shape == ()
    z = y.as_nd_ndarray()
    assert type(z) is kiln.nd.NDArray and z.sum().shape == (1,)
    y[0, 0] = 5
    assert x[0, 0].asscalar() == 5 and z[0, 0].asscalar() == 5


DTYPES = program("np_dtypes", """
    npx.set_np()
    i32 = np.array([1, 2, 3], dtype="int32")
    f = np.array([[1.5, -2.], [3., 4.]])
    b = i32 > 1
    cases = {"list": np.array([1, 2]), "onp_int": np.array(onp.arange(3)),
             "arange": np.arange(4), "full": np.full((2,), 3), "zeros_int": np.zeros(2, "int32"),
             "i32+1.5": i32 + 1.5, "i32*f32": i32 * np.ones(3), "i32/2": i32 / 2,
             "i32/i32": i32 / i32, "bool*1.0": b * 1.0, "bool+1": b + 1, "sum_i32": i32.sum(),
             "sum_bool": b.sum(), "mean_i32": i32.mean(), "argmax": f.argmax(),
             "argmax1": f.argmax(axis=1), "eq": i32 == i32, "max": f.max(),
             "dot": np.dot(f[0], f[0]),
             "norm": np.linalg.norm(f), "where": np.where(f > 0, f, 0), "item": f[1, 0],
             "mask": f[f > 0], "sum_ax": f.sum(axis=0, keepdims=True)}
    for k, v in cases.items():
        put(k, v)
        put("dtype:" + k, str(v.dtype))
    put("repr_f32", repr(f))
    put("repr_i32", repr(i32))
    put("repr_scalar", repr(f.sum()))
    put("str", str(f))
""")


def test_dtypes_shapes_and_printing_match_mxnet():
    compare(DTYPES)


def test_more_numpy_functions_follow_numpy():
    x = np.array(A)
    pairs = [(np.sort(x), onp.sort(A)), (np.sort(x, axis=None), onp.sort(A, axis=None)),
             (np.argsort(x, axis=0), onp.argsort(A, axis=0, kind="stable")),
             (np.flip(x, 1), onp.flip(A, 1)), (np.flip(x), onp.flip(A)),
             (np.hstack([x, x]), onp.hstack([A, A])), (np.vstack([x[0], x[1]]), A[:2]),
             (np.outer(x[0], x[1]), onp.outer(A[0], A[1])), (np.triu(x, 1), onp.triu(A, 1)),
             (np.tril(x), onp.tril(A)), (np.diag(x), onp.diag(A)), (np.trace(x), onp.trace(A)),
             (np.isnan(x / 0 * 0), onp.isnan(onp.zeros_like(A) * onp.nan)),
             (np.round(x, 2), onp.round(A, 2)), (np.count_nonzero(x > 0), (A > 0).sum()),
             (np.average(x, axis=1, weights=x * x), onp.average(A, axis=1, weights=A * A)),
             (np.cumsum(x, axis=1), onp.cumsum(A, axis=1))]
    pairs += list(zip(np.meshgrid(x[0], x[1, :3]), onp.meshgrid(A[0], A[1, :3])))
    pairs += list(zip(np.meshgrid(x[0], x[1, :3], indexing="ij"),
                      onp.meshgrid(A[0], A[1, :3], indexing="ij")))
    for got, ref in pairs:
        assert got.shape == ref.shape, (got.shape, ref.shape)
        onp.testing.assert_allclose(got.asnumpy(), ref, rtol=1e-5, atol=1e-6)
    counts = np.random.multinomial(20, [0.2, 0.3, 0.5], size=4)
    assert counts.shape == (4, 3) and (counts.sum(axis=1) == 20).all()


def test_nd_methods_return_np_arrays():
    x = np.array(A)
    for res in (x.exp(), x.softmax(), x.relu(), x.slice_axis(axis=0, begin=0, end=2)):
        assert isinstance(res, np.ndarray)


def test_random_with_array_parameters_broadcasts_and_differentiates():
    loc = np.array([0.0, 10.0, 100.0])
    loc.attach_grad()
    with autograd.record():
        x = np.random.normal(loc, 0.5)
        y = np.random.uniform(loc, loc + 1, size=(50, 3))
        (x.sum() + y.sum()).backward()
    assert x.shape == (3,) and y.shape == (50, 3)
    assert (onp.abs(x.asnumpy() - loc.asnumpy()) < 5).all()
    lo = y.asnumpy() - loc.asnumpy()
    assert (lo >= 0).all() and (lo < 1).all()
    onp.testing.assert_allclose(loc.grad.asnumpy(), onp.full(3, 51.0), rtol=1e-6)


def test_bad_shapes_raise_errors_naming_op_and_shapes():
    from kiln.base import OpError
    with pytest.raises(OpError, match=r"dot.*\(2, 3\).*\(4,\)"):
        np.dot(np.ones((2, 3)), np.ones((4,)))
    with pytest.raises(OpError, match=r"add.*\(2, 3\).*\(4,\)"):
        np.ones((2, 3)) + np.ones((4,))
    with pytest.raises(OpError, match=r"concat.*\(2, 4\)"):
        np.concatenate([np.ones((2, 3)), np.ones((2, 4))])
    with pytest.raises(NotImplementedError, match="linalg.norm"):
        np.linalg.norm(np.ones(3), ord=3)
