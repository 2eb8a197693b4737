"""MXNet 1.9's ``linalg.gemm``/``gemm2`` with ``axis`` (the matrix rows on another axis than -2;
the columns stay last) and ``histogram(a=...)`` (MXNet's front end names the data ``a``),
checked against numpy computations of the documented semantics."""
import kiln as mx
import numpy as np
import pytest
from kiln.base import MXNetError


def _swap(x, axis):
    return np.ascontiguousarray(np.swapaxes(x, axis, -2))


@pytest.mark.parametrize("axis", [0, -3, 1])
def test_gemm_rows_on_another_axis(axis):
    rng = np.random.default_rng(3)
    a, b, c = rng.random((3, 2, 2, 4)), rng.random((3, 2, 4, 5)), rng.random((3, 2, 2, 5))
    want = 2.0 * np.matmul(a, b) - 0.5 * c
    args = [mx.nd.array(_swap(x, axis), dtype="float64") for x in (a, b, c)]
    got = mx.nd.linalg.gemm(*args, alpha=2.0, beta=-0.5, axis=axis)
    np.testing.assert_allclose(got.asnumpy(), _swap(want, axis), rtol=1e-12)
    got2 = mx.nd.linalg.gemm2(args[0], args[1], alpha=2.0, axis=axis)
    np.testing.assert_allclose(got2.asnumpy(), _swap(2.0 * np.matmul(a, b), axis), rtol=1e-12)


def test_gemm_axis_shapes_and_gradients():
    rng = np.random.default_rng(4)
    am, bm, gm = rng.random((2, 1, 4, 3)), rng.random((2, 1, 4, 5)), rng.random((2, 1, 3, 5))
    a, b, g = _swap(am, 0), _swap(bm, 0), _swap(gm, 0)   # the matrices' rows moved to axis 0
    s = mx.sym.linalg.gemm2(mx.sym.var("a"), mx.sym.var("b"), transpose_a=True, axis=0)
    assert s.infer_shape(a=a.shape, b=b.shape)[1] == [(3, 1, 2, 5)]
    x, y = mx.nd.array(a, dtype="float64"), mx.nd.array(b, dtype="float64")
    x.attach_grad()
    y.attach_grad()
    with mx.autograd.record():
        out = mx.nd.linalg.gemm2(x, y, transpose_a=True, axis=0)
    out.backward(mx.nd.array(g, dtype="float64"))
    np.testing.assert_allclose(out.asnumpy(), _swap(np.swapaxes(am, -1, -2) @ bm, 0), rtol=1e-12)
    np.testing.assert_allclose(x.grad.asnumpy(), _swap(bm @ np.swapaxes(gm, -1, -2), 0),
                               rtol=1e-12)
    np.testing.assert_allclose(y.grad.asnumpy(), _swap(am @ gm, 0), rtol=1e-12)


def test_gemm_axis_on_the_column_axis_is_refused():
    with pytest.raises(MXNetError, match="columns are the last axis"):
        mx.nd.linalg.gemm2(mx.nd.ones((2, 2)), mx.nd.ones((2, 2)), axis=-1)


def test_histogram_takes_its_data_as_a():
    counts, edges = mx.nd.histogram(a=mx.nd.array([0.1, 0.5, 0.9, 1.0]), bins=4, range=(0, 1))
    assert counts.asnumpy().tolist() == [1, 0, 1, 2]
    s = mx.sym.histogram(a=mx.sym.var("data"), bins=mx.sym.var("bins"))
    assert s.list_arguments() == ["data", "bins"]
    ex = s.bind(mx.cpu(), {"data": mx.nd.array([0.2, 0.7, 0.8]),
                           "bins": mx.nd.array([0.0, 0.5, 1.0])})
    assert ex.forward()[0].asnumpy().tolist() == [1, 2]
