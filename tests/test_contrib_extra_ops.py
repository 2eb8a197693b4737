"""hawkesll, fft/ifft, count_sketch, getnnz/edge_id on CSR, the backward_* ops,
IdentityAttachKLSparseReg, nd.CachedOp and nd.imdecode. Expected values were computed by
MXNet 1.9.1 (CPU) where it runs the op; fft/ifft/count_sketch are GPU-only there and follow
its documented layouts (checked against numpy.fft)."""
import kiln as mx
import numpy as np
import pytest
from kiln import autograd, nd

LDA = np.array([[1.5, 2.0], [1.0, 0.5]])
ALPHA, BETA = np.array([0.2, 0.3]), np.array([1.0, 2.0])
STATE = np.array([[0.1, 0.2], [0.0, 0.3]])
LAGS = np.array([[1, 2, 0.5], [0.3, 0.4, 0.5]])
MARKS = np.array([[0, 1, 0], [1, 1, 0]], np.int32)
VLEN, MAXT = np.array([3.0, 2.0]), np.array([5.0, 4.0])


def _hawkes_args():
    return [nd.array(a, dtype=a.dtype if a.dtype.kind == "i" else "float32")
            for a in (LDA, ALPHA, BETA, STATE, LAGS, MARKS, VLEN, MAXT)]


def test_hawkesll_forward_and_gradient_match_mxnet():
    args = _hawkes_args()
    for a in args[:4]:
        a.attach_grad()
    with autograd.record():
        ll, state = nd.contrib.hawkesll(*args)
        loss = (ll * nd.array([1.0, 2.0])).sum()
    loss.backward()
    np.testing.assert_allclose(ll.asnumpy(), [-16.705677, -7.408043], rtol=1e-5)
    np.testing.assert_allclose(state.asnumpy(), [[0.2421196, 0.01832472], [0.0, 0.00207226]],
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(args[0].grad.asnumpy(),
                               [[-3.6774008, -4.5000744], [-8.0, -2.2028613]], rtol=1e-5)
    np.testing.assert_allclose(args[1].grad.asnumpy(), [-1.7773749, -2.1056008], rtol=1e-5)
    np.testing.assert_allclose(args[2].grad.asnumpy(), [-0.09949344, 0.09475302], rtol=1e-4)
    # MXNet leaves state's gradient unwritten; kiln's is the derivative (checked numerically
    # by the registry walk)
    assert np.abs(args[3].grad.asnumpy()).sum() > 0


def test_backward_hawkesll_is_the_gradient():
    args = _hawkes_args()
    g = nd.contrib.backward_hawkesll(nd.array([1.0, 2.0]), nd.zeros((2, 2)), *args)
    assert [x.shape for x in g] == [(2, 2), (2,), (2,), (2, 2)]
    np.testing.assert_allclose(g[1].asnumpy(), [-1.7773749, -2.1056008], rtol=1e-5)


def test_fft_layout_and_inverse():
    x = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    f = nd.contrib.fft(nd.array(x)).asnumpy()
    ref = np.fft.fft(x, axis=-1)
    np.testing.assert_allclose(f[:, 0::2], ref.real, atol=1e-5)
    np.testing.assert_allclose(f[:, 1::2], ref.imag, atol=1e-5)
    back = mx.contrib.ndarray.ifft(nd.array(f)).asnumpy()
    np.testing.assert_allclose(back, 4 * x, atol=1e-4)   # unnormalised, as cuFFT
    assert mx.sym.contrib.fft(mx.sym.var("x")).infer_shape(x=(2, 3, 4, 5))[1] == [(2, 3, 4, 10)]


def test_count_sketch_documented_example():
    out = nd.contrib.count_sketch(nd.array([[1.2, 2.5, 3.4], [3.2, 5.7, 6.6]]),
                                  nd.array([[0, 3, 4]]), nd.array([[1, -1, 1]]), out_dim=5)
    np.testing.assert_allclose(out.asnumpy(), [[1.2, 0, 0, -2.5, 3.4], [3.2, 0, 0, -5.7, 6.6]],
                               rtol=1e-6)


def test_getnnz_and_edge_id_read_csr_storage():
    c = nd.sparse.csr_matrix((np.array([1.0, 0.0, 3.0, 4.0]), np.array([0, 2, 1, 2]),
                              np.array([0, 2, 2, 4])), shape=(3, 4))
    assert nd.contrib.getnnz(c).asnumpy().tolist() == [4]       # the stored 0 counts (MXNet)
    assert nd.contrib.getnnz(c, axis=1).asnumpy().tolist() == [2, 0, 2]
    assert nd.contrib.getnnz(c, axis=0).asnumpy().tolist() == [1, 1, 2, 0]
    assert nd.contrib.getnnz(c).dtype == np.int64
    with pytest.raises(Exception, match="axis"):
        nd.contrib.getnnz(c, axis=-1)
    adj = nd.sparse.csr_matrix((np.array([1.0, 2.0, 3.0]), np.array([0, 1, 2]),
                                np.array([0, 1, 2, 3])), shape=(3, 3))
    got = nd.contrib.edge_id(adj, nd.array([0, 0, 1, 1, 2, 2]), nd.array([0, 1, 1, 2, 0, 2]))
    assert got.asnumpy().tolist() == [1, -1, 2, -1, -1, 3]
    zero_id = nd.sparse.csr_matrix((np.array([0.0]), np.array([1]), np.array([0, 1, 1])),
                                   shape=(2, 2))
    assert nd.contrib.edge_id(zero_id, nd.array([0, 0]), nd.array([1, 0])).asnumpy().tolist() \
        == [0, -1]


def test_backward_ops_match_mxnet():
    x = nd.array([[1.0, 2.0], [3.0, 4.0]])
    got = nd.contrib.backward_quadratic(nd.ones((2, 2)) * 2, x, a=1.5, b=0.5, c=3)
    np.testing.assert_allclose(got.asnumpy(), [[7, 13], [19, 25]])
    got = nd.contrib.backward_gradientmultiplier(nd.ones((2, 2)) * 2, scalar=3.0)
    np.testing.assert_allclose(got.asnumpy(), np.full((2, 2), 6.0))
    g_old, g_idx, g_new = mx.contrib.ndarray.backward_index_copy(
        nd.arange(8).reshape((4, 2)), nd.zeros((4, 2)), nd.array([1, 3]), nd.ones((2, 2)))
    np.testing.assert_allclose(g_old.asnumpy(), [[0, 1], [0, 0], [4, 5], [0, 0]])
    np.testing.assert_allclose(g_new.asnumpy(), [[2, 3], [6, 7]])
    assert g_idx.asnumpy().tolist() == [0, 0]


def test_identity_attach_kl_sparse_reg_matches_mxnet_executor():
    s = mx.sym.IdentityAttachKLSparseReg(mx.sym.var("x"), penalty=0.1, sparseness_target=0.2,
                                         momentum=0.5)
    assert s.list_auxiliary_states() == ["identityattachklsparsereg0_moving_avg"]
    assert s.infer_shape(x=(2, 3))[2] == [(3,)]
    x = nd.array([[0.2, 0.5, 0.9], [0.4, 0.1, 0.7]])
    ma = nd.full((3,), 0.5)
    x.attach_grad()
    with autograd.record():
        y = nd.IdentityAttachKLSparseReg(x, ma, penalty=0.1, sparseness_target=0.2,
                                         momentum=0.5)
    y.backward(nd.ones_like(y))
    np.testing.assert_allclose(y.asnumpy(), x.asnumpy())
    np.testing.assert_allclose(ma.asnumpy(), [0.4, 0.4, 0.65], rtol=1e-6)
    np.testing.assert_allclose(x.grad.asnumpy(), [[1.0833334, 1.0833334, 1.1978022]] * 2,
                               rtol=1e-6)


def test_cached_op_runs_the_symbol_with_autograd():
    a, b = mx.sym.var("a"), mx.sym.var("b")
    op = nd.CachedOp(mx.sym.FullyConnected(a, num_hidden=2, name="fc") + b)
    x, w, bias, bb = nd.ones((3, 4)), nd.ones((2, 4)), nd.zeros((2,)), nd.ones((3, 2))
    x.attach_grad()
    with autograd.record():
        y = op(x, w, bias, bb)
    y.backward()
    np.testing.assert_allclose(y.asnumpy(), np.full((3, 2), 5.0))
    np.testing.assert_allclose(x.grad.asnumpy(), np.full((3, 4), 2.0))
    out = nd.zeros((3, 2))
    assert op(x, w, bias, bb, out=out) is out
    two = nd.CachedOp(mx.sym.Group([a * 2, b + 1]), flags=[("static_alloc", True)])
    res = two(nd.ones((2,)), nd.ones((2,)))
    assert isinstance(res, list) and len(res) == 2
    with pytest.raises(mx.base.MXNetError, match="4 inputs"):
        op(x)
    with pytest.raises(TypeError):
        nd.CachedOp(nd.ones((2,)))


def test_imdecode_legacy_layout(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    pix = (np.arange(4 * 5 * 3).reshape(4, 5, 3) * 3 % 256).astype(np.uint8)
    path = tmp_path / "t.png"
    Image.fromarray(pix).save(path)
    buf = path.read_bytes()
    got = nd.imdecode(buf)
    assert got.shape == (3, 4, 5) and got.dtype == np.float32
    np.testing.assert_array_equal(got.asnumpy(), pix[:, :, ::-1].transpose(2, 0, 1))  # BGR
    assert nd.imdecode(buf, clip_rect=(1, 0, 3, 2)).shape == (3, 2, 2)
    out = nd.zeros((2, 3, 4, 5))
    nd.imdecode(buf, out=out, index=1, mean=nd.ones((3, 4, 5)))
    np.testing.assert_array_equal(out.asnumpy()[1], pix[:, :, ::-1].transpose(2, 0, 1) - 1.0)
    assert out.asnumpy()[0].sum() == 0
    assert nd.imdecode(buf, channels=1).shape == (1, 4, 5)
