"""MXNet 1.9's exponential/gamma/poisson/negative-binomial/multinomial samplers
(ndarray/ops/random_dists.py) through nd.random, nd.* and sym.random: moments, shapes and
dtypes as MXNet 1.9.1 gives them, reproducibility under kiln.random.seed."""
import kiln as mx
import numpy as np
import pytest
from kiln import nd, sym

N = 40000


@pytest.mark.parametrize("fn, args, mean, var", [
    ("exponential", (2.0,), 2.0, 4.0),                       # scale 2 = rate 0.5
    ("gamma", (2.0, 0.5), 1.0, 0.5),
    ("poisson", (3.0,), 3.0, 3.0),
    ("negative_binomial", (3, 0.4), 4.5, 11.25),
    ("generalized_negative_binomial", (2.0, 0.3), 2.0, 3.2),
    ("generalized_negative_binomial", (2.0, 0.0), 2.0, 2.0),  # alpha 0: a Poisson
])
def test_moments(fn, args, mean, var):
    mx.random.seed(3)
    x = getattr(nd.random, fn)(*args, shape=(N,))
    assert x.shape == (N,) and x.dtype == np.float32
    v = x.asnumpy().astype(np.float64)
    assert abs(v.mean() - mean) < 5 * np.sqrt(var / N)
    assert abs(v.var() - var) < 0.08 * var


def test_per_element_parameters_and_like():
    mx.random.seed(0)
    lam = nd.array([1.0, 100.0])
    x = nd.random.poisson(lam, shape=(2000,))
    assert x.shape == (2, 2000)
    m = x.asnumpy().mean(axis=1)
    assert abs(m[0] - 1) < 0.2 and abs(m[1] - 100) < 2
    assert nd.random.gamma(nd.ones((2, 2)), nd.ones((2, 2))).shape == (2, 2)
    like = nd.random.exponential_like(nd.zeros((3, 4), dtype="float64"), scale=2)
    assert like.shape == (3, 4) and like.dtype == np.float64 and (like.asnumpy() >= 0).all()
    assert nd.random_negative_binomial(k=2, p=1.0, shape=(5,)).asnumpy().tolist() == [0] * 5


def test_seed_reproduces():
    mx.random.seed(7)
    a = nd.random.generalized_negative_binomial(3, 0.5, shape=(10,)).asnumpy()
    mx.random.seed(7)
    b = nd.random.generalized_negative_binomial(3, 0.5, shape=(10,)).asnumpy()
    np.testing.assert_array_equal(a, b)


def test_multinomial_shapes_and_log_probability():
    p = nd.array([[0.0, 1.0], [1.0, 0.0]])
    np.testing.assert_array_equal(nd.random.multinomial(p, shape=3).asnumpy(),
                                  [[1, 1, 1], [0, 0, 0]])
    one = nd.random.multinomial(nd.array([0.2, 0.8]))
    assert one.shape == (1,) and one.dtype == np.int32                   # MXNet: (1,) int32
    idx, logp = nd.random.multinomial(nd.array([0.2, 0.8]), shape=(50,), get_prob=True)
    assert logp.dtype == np.float32
    np.testing.assert_allclose(logp.asnumpy(), np.log([0.2, 0.8])[idx.asnumpy()], rtol=1e-6)
    mx.random.seed(1)
    freq = nd.random.multinomial(nd.array([0.1, 0.2, 0.7]), shape=(N,)).asnumpy()
    np.testing.assert_allclose(np.bincount(freq, minlength=3) / N, [0.1, 0.2, 0.7], atol=0.01)


def test_symbol_random_picks_the_op_as_mxnet_does():
    a = sym.var("a")
    per = sym.random.exponential(a, shape=3)
    assert per.list_arguments() == ["a"] and per.infer_shape(a=(2,))[1] == [(2, 3)]
    s = sym.random.poisson(4, shape=(2, 5))
    assert s.infer_shape()[1] == [(2, 5)]
    assert s.eval()[0].shape == (2, 5)
    u = sym.random.uniform(0, 1, shape=(2, 3))
    assert u.infer_shape()[1] == [(2, 3)]
    g = sym.random.gamma_like(sym.var("d")).eval(d=nd.zeros((2, 2)))[0]
    assert g.shape == (2, 2)
    with pytest.raises(mx.base.MXNetError):
        sym.random.gamma(a, 1.0)


def test_sparse_namespaces_expose_mxnet_dense_fallbacks():
    c = nd.sparse.csr_matrix(([4.0], [1], [0, 1]), shape=(1, 2))
    np.testing.assert_array_equal(nd.sparse.sqrt(c).asnumpy(), [[0, 2]])
    np.testing.assert_array_equal(nd.sparse.sum(c).asnumpy(), [4])
    assert nd.sparse.mx_real_t is np.float32
    x = sym.var("x")
    out = sym.sparse.square(x).eval(x=nd.array([3.0]))[0]
    assert out.asnumpy().tolist() == [9.0]
    assert sym.sparse.dot is sym.dot


def test_contrib_rand_zipfian_matches_mxnet_expected_counts():
    s, e_true, e_s = nd.contrib.rand_zipfian(nd.array([3, 0]), 4, 5)
    assert s.shape == (4,) and s.dtype == np.int64 and e_s.dtype == np.float64
    assert ((s.asnumpy() >= 0) & (s.asnumpy() < 5)).all()
    # MXNet 1.9.1 gives [0.49815515 1.54741123] for these classes
    np.testing.assert_allclose(e_true.asnumpy(), [0.49815515, 1.54741123], rtol=1e-7)
    np.testing.assert_allclose(e_s.asnumpy(), 4 * np.log((s.asnumpy() + 2.0) / (s.asnumpy() + 1))
                               / np.log(6), rtol=1e-12)


def test_contrib_allclose_as_mxnet():
    nan = float("nan")
    r = nd.contrib.allclose(nd.array([1, nan]), nd.array([1 + 1e-9, nan]))
    assert r.shape == () and r.dtype == np.float32 and r.asscalar() == 1   # MXNet: shape ()
    assert nd.contrib.allclose(nd.array([1, nan]), nd.array([1, nan]), equal_nan=False) == 0
    assert nd.contrib.allclose(nd.array([1, 2]), nd.array([1, 2.1])).asscalar() == 0
    assert sym.contrib.uniform is sym.random.uniform and sym.contrib.Symbol is sym.Symbol
