"""The np/npx names added for MXNet 1.9.1's namespace: composites (differentiable) against
numpy, host fallbacks, samplers' shapes and moments, npx.reshape's codes."""
import numpy as onp
import pytest
from kiln import autograd, np, npx

X = onp.arange(12, dtype=onp.float32).reshape(3, 4) - 5


@pytest.mark.parametrize("name,args", [
    ("roll", (1,)), ("roll", (-1, 1)), ("rot90", ()), ("rot90", (3,)), ("diff", ()),
    ("diff", (2, 0)), ("fliplr", ()), ("flipud", ()), ("ptp", ()), ("diagonal", (1,)),
    ("signbit", ()), ("fabs", ()), ("copy", ()), ("atleast_3d", ()), ("ediff1d", ()),
    ("nan_to_num", ()), ("heaviside", (0.5,)), ("copysign", (-1.0,)), ("deg2rad", ()),
    ("rad2deg", ()), ("unique", ()), ("percentile", (30,)), ("cov", ()), ("vander", ()),
    ("searchsorted", (2.0,)), ("argwhere", ()), ("flatnonzero", ())])
def test_function_matches_numpy(name, args):
    a = X.ravel() if name in ("searchsorted", "vander", "ediff1d") else X
    if name == "searchsorted":
        a = onp.sort(a)
    got = getattr(np, name)(np.array(a, dtype=a.dtype), *args)
    ref = getattr(onp, name)(a, *args)
    onp.testing.assert_allclose(got.asnumpy(), ref, rtol=1e-6)
    assert got.shape == onp.shape(ref)


def test_arctan2_and_gradients_match_numpy():
    y = np.array([1.0, -1.0, 0.0, 2.0, -3.0])
    x = np.array([0.0, -1.0, -1.0, 1.0, 2.0])
    onp.testing.assert_allclose(np.arctan2(y, x).asnumpy(),
                                onp.arctan2(y.asnumpy(), x.asnumpy()), rtol=1e-6)
    a = np.array(X)
    a.attach_grad()
    with autograd.record():
        out = (np.roll(a, 1, axis=1) * np.arange(4)).sum() + np.diff(a).sum()
    out.backward()
    ref = onp.roll(onp.broadcast_to(onp.arange(4.0), (3, 4)), -1, axis=1)
    ref[:, 0] -= 1
    ref[:, -1] += 1
    onp.testing.assert_allclose(a.grad.asnumpy(), ref)


def test_bitwise_operators_on_masks():
    a = np.array(X)
    m = (a > 0) | (a < -3)
    assert m.dtype == onp.bool_
    onp.testing.assert_array_equal(m.asnumpy(), (X > 0) | (X < -3))
    onp.testing.assert_array_equal((~m).asnumpy(), ~((X > 0) | (X < -3)))
    onp.testing.assert_array_equal(((a > 0) & (a < 3)).asnumpy(), (X > 0) & (X < 3))
    i = np.array([5, 3], dtype="int32")
    onp.testing.assert_array_equal(np.bitwise_xor(i, 1).asnumpy(), [4, 2])


def test_linalg_solve_cholesky_and_fallbacks():
    rs = onp.random.RandomState(0)
    m = rs.normal(size=(3, 3)).astype(onp.float32)
    spd = m @ m.T + 3 * onp.eye(3, dtype=onp.float32)
    b = rs.normal(size=(3,)).astype(onp.float32)
    onp.testing.assert_allclose(np.linalg.solve(np.array(spd), np.array(b)).asnumpy(),
                                onp.linalg.solve(spd, b), rtol=1e-4)
    onp.testing.assert_allclose(np.linalg.cholesky(np.array(spd)).asnumpy(),
                                onp.linalg.cholesky(spd), rtol=1e-4, atol=1e-5)
    onp.testing.assert_allclose(np.linalg.matrix_power(np.array(spd), 2).asnumpy(),
                                spd @ spd, rtol=1e-5)
    w = np.linalg.eigvalsh(np.array(spd))
    onp.testing.assert_allclose(w.asnumpy(), onp.linalg.eigvalsh(spd), rtol=1e-4)
    assert np.linalg.svd(np.array(m))[1].shape == (3,)


@pytest.mark.parametrize("name,args,mean", [
    ("exponential", (2.0,), 2.0), ("gumbel", (0.0, 1.0), 0.5772), ("logistic", (1.0, 1.0), 1.0),
    ("lognormal", (0.0, 0.5), onp.exp(0.125)), ("pareto", (3.0,), 0.5), ("power", (2.0,), 2 / 3),
    ("rayleigh", (1.0,), onp.sqrt(onp.pi / 2)), ("weibull", (1.0,), 1.0), ("gamma", (2.0,), 2.0),
    ("beta", (2.0, 2.0), 0.5), ("chisquare", (3.0,), 3.0)])
def test_samplers_have_numpys_means(name, args, mean):
    np.random.seed(3)
    s = getattr(np.random, name)(*args, size=(20000,))
    assert s.shape == (20000,) and isinstance(s, np.ndarray)
    assert abs(float(s.mean()) - mean) < 0.06 * max(1.0, mean)


def test_multivariate_normal_covariance():
    np.random.seed(4)
    cov = onp.array([[1.0, 0.5], [0.5, 2.0]])
    s = np.random.multivariate_normal(np.zeros(2), np.array(cov), size=20000)
    onp.testing.assert_allclose(onp.cov(s.asnumpy().T), cov, atol=0.08)


def test_npx_reshape_codes_slice_erfinv():
    x = np.ones((2, 3, 4))
    assert npx.reshape(x, (-2, -5)).shape == (2, 12)
    assert npx.reshape(x, (-4,)).shape == (2, 3, 4)
    assert npx.reshape(np.ones((2, 12)), (-2, -6, 3, -1)).shape == (2, 3, 4)
    assert npx.reshape(np.ones((1, 5)), (-3, -1)).shape == (5,)
    onp.testing.assert_array_equal(npx.slice(np.arange(10), (2,), (8,), (2,)).asnumpy(),
                                   [2, 4, 6])
    v = onp.array([-0.9, -0.3, 0.0, 0.5, 0.99], dtype=onp.float32)
    back = npx.erf(npx.erfinv(np.array(v)))
    onp.testing.assert_allclose(back.asnumpy(), v, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="nope"):
        npx.constraint_check(np.array([True, False]), "nope")
