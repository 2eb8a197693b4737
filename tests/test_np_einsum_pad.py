"""np.einsum, pad, take_along_axis, broadcast_arrays, diagflat, isclose, frexp, real,
rollaxis: numpy's values and shapes, gradients, hybridized == eager, and MXNet 1.9.1's
outputs where its versions run (its pad is wrong for 1-D and its pad backward is
'constant'-only, so those are checked against numpy)."""
import numpy as onp
import pytest
from _np_oracle import compare, program
from kiln import autograd, np, npx
from kiln.gluon import nn

RS = onp.random.RandomState(3)


@pytest.mark.parametrize("subs,shapes", [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("ii", [(3, 3)]),
    ("ii->i", [(3, 3)]), ("ij->", [(2, 3)]), ("i,i", [(4,), (4,)]), ("i,j->ij", [(2,), (3,)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("...ij->...ji", [(2, 3, 4)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]), ("ijk,jl,lk->il", [(2, 3, 4), (3, 5),
                                                                          (5, 4)]),
    ("iij->j", [(3, 3, 2)]), ("ij,ij->i", [(3, 4), (1, 4)]), ("abc,cd->dba", [(2, 3, 4),
                                                                             (4, 2)])])
def test_einsum_matches_numpy(subs, shapes):
    ops = [RS.normal(size=s).astype(onp.float32) for s in shapes]
    got = np.einsum(subs, *[np.array(o) for o in ops])
    ref = onp.einsum(subs, *ops)
    assert got.shape == ref.shape
    onp.testing.assert_allclose(got.asnumpy(), ref, rtol=1e-5, atol=1e-5)


def test_einsum_gradient_is_the_matmul_gradient():
    a, b = (np.array(RS.normal(size=s).astype(onp.float32)) for s in ((3, 4), (4, 2)))
    w = RS.normal(size=(3, 2)).astype(onp.float32)
    a.attach_grad()
    b.attach_grad()
    with autograd.record():
        out = (np.einsum("ij,jk->ik", a, b) * np.array(w)).sum()
    out.backward()
    onp.testing.assert_allclose(a.grad.asnumpy(), w @ b.asnumpy().T, rtol=1e-5)
    onp.testing.assert_allclose(b.grad.asnumpy(), a.asnumpy().T @ w, rtol=1e-5)


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric", "wrap",
                                  "maximum", "minimum", "mean"])
def test_pad_matches_numpy_and_is_differentiable(mode):
    x = RS.normal(size=(3, 4)).astype(onp.float32)
    widths = ((1, 2), (2, 0))
    kw = {"constant_values": 1.5} if mode == "constant" else {}
    got = np.pad(np.array(x), widths, mode=mode, **kw)
    onp.testing.assert_allclose(got.asnumpy(), onp.pad(x, widths, mode=mode, **kw), rtol=1e-6)
    if mode in ("edge", "reflect", "wrap"):
        a = np.array(x)
        a.attach_grad()
        with autograd.record():
            np.pad(a, widths, mode=mode).sum().backward()
        # each input element's gradient counts its copies in the output
        counts = onp.pad(onp.arange(x.size).reshape(x.shape), widths, mode=mode)
        ref = onp.bincount(counts.ravel(), minlength=x.size).reshape(x.shape)
        onp.testing.assert_allclose(a.grad.asnumpy(), ref)
    assert np.pad(np.ones((2,)), 3).shape == (8,)


def test_take_along_axis_broadcast_arrays_diagflat_rollaxis():
    x = RS.normal(size=(3, 4)).astype(onp.float32)
    idx = onp.argsort(x, axis=1)[:, :2]
    got = np.take_along_axis(np.array(x), np.array(idx, dtype="int64"), 1)
    onp.testing.assert_allclose(got.asnumpy(), onp.take_along_axis(x, idx, 1))
    col = onp.array([[2], [-1], [0]])
    onp.testing.assert_allclose(
        np.take_along_axis(np.array(x), np.array(col, dtype="int32"), 1).asnumpy(),
        onp.take_along_axis(x, col, 1))
    rows = onp.array([[2], [0]])  # (2, 1): broadcast over arr's axis 1
    onp.testing.assert_allclose(
        np.take_along_axis(np.array(x), np.array(rows, dtype="int64"), 0).asnumpy(),
        onp.take_along_axis(x, onp.broadcast_to(rows, (2, 4)), 0))
    with pytest.raises(IndexError):
        np.take_along_axis(np.array(x), np.array([[1.0]]), 1)
    b = np.broadcast_arrays(np.ones((2, 1)), np.zeros(3))
    assert [v.shape for v in b] == [(2, 3), (2, 3)]
    onp.testing.assert_allclose(np.diagflat(np.array([[1., 2.], [3., 4.]]), -1).asnumpy(),
                                onp.diagflat([[1., 2.], [3., 4.]], -1))
    for axis, start in ((2, 0), (0, 3), (1, -1), (2, 1)):
        assert np.rollaxis(np.ones((2, 3, 4)), axis, start).shape == \
            onp.rollaxis(onp.ones((2, 3, 4)), axis, start).shape


def test_isclose_frexp_real():
    a = onp.array([1.0, onp.inf, onp.nan, 2.0, 1e-9], dtype=onp.float64)
    b = onp.array([1.0 + 1e-9, onp.inf, onp.nan, 2.1, 0.0], dtype=onp.float64)
    for equal_nan in (False, True):
        got = np.isclose(np.array(a, dtype=a.dtype), np.array(b, dtype=b.dtype),
                         equal_nan=equal_nan)
        assert got.dtype == onp.bool_
        onp.testing.assert_array_equal(got.asnumpy(), onp.isclose(a, b, equal_nan=equal_nan))
    m, e = np.frexp(np.array([0.0, -3.0, 5.0]))
    assert e.dtype == onp.int32 and m.dtype == onp.float32
    onp.testing.assert_array_equal(m.asnumpy(), [0.0, -0.75, 0.625])
    onp.testing.assert_array_equal(e.asnumpy(), [0, 2, 3])
    x = np.array([1.0, 2.0])
    r = np.real(x)
    assert r is not x and (r.asnumpy() == x.asnumpy()).all()


ORACLE = program("np_einsum_pad", """
    npx.set_np()
    rs = onp.random.RandomState(5)
    a = np.array(rs.normal(0, 1, (3, 4)).astype("float32"))
    b = np.array(rs.normal(0, 1, (4, 2)).astype("float32"))
    class Net(nn.HybridBlock):
        def forward(self, x, y):
            z = np.einsum("ij,jk->ik", x, y) + np.einsum("ij->j", x).sum()
            return np.pad(z, ((1, 0), (0, 2)), mode="constant") * 2
    net = Net()
    for hybrid in (False, True):
        net.hybridize(active=hybrid)
        a.attach_grad()
        with autograd.record():
            out = net(a, b)
            loss = (out * out).sum()
        loss.backward()
        put(f"h{hybrid}_out", out)
        put(f"h{hybrid}_grad", a.grad)
    put("edge", np.pad(a, ((1, 1), (2, 0)), mode="edge"))
    put("sym", np.pad(a, ((1, 1), (2, 0)), mode="symmetric"))
    put("max", np.pad(a, ((1, 1), (2, 0)), mode="maximum"))
    put("ein3", np.einsum("ij,jk,kl->il", a, b, np.ones((2, 3))))
    put("trace", np.einsum("ii", a[:, :3]))
    put("isclose", np.isclose(a, a + 1e-6))
    put("diagflat", np.diagflat(b, 1))
    put("frexp_m", np.frexp(a)[0])
    put("frexp_e", np.frexp(a)[1])
    put("rollaxis", np.rollaxis(np.ones((2, 3, 4)), 2, 1).shape)
    put("bcast", np.broadcast_arrays(a[:1], b[:, :1])[0])
""")


def test_against_mxnet_and_hybridized():
    res = compare(ORACLE)
    onp.testing.assert_allclose(res["hFalse_out"], res["hTrue_out"], rtol=1e-5, atol=1e-5)
    onp.testing.assert_allclose(res["hFalse_grad"], res["hTrue_grad"], rtol=1e-5, atol=1e-5)


@pytest.fixture(autouse=True)
def _np_mode():
    yield
    npx.reset_np()


def test_hybridized_take_along_axis():
    npx.set_np()

    class Net(nn.HybridBlock):
        def forward(self, x):
            return np.take_along_axis(x, np.argsort(x, axis=1)[:, :1], 1) + np.pad(x, 1).sum()

    net = Net()
    x = np.array(RS.normal(size=(3, 4)).astype(onp.float32))
    eager = net(x).asnumpy()
    net.hybridize()
    onp.testing.assert_allclose(net(x).asnumpy(), eager, rtol=1e-6)
