"""cumsum, moments, histogram, gamma/gammaln and UpSampling against real MXNet 1.9.1
(outputs and input gradients under a fixed head gradient; harness in tests/_mxnet_oracle.py).
Without MXNet the oracle cases skip; the gamma checks against Python's math run anyway.
"""
import math
import os

import _mxnet_oracle as oracle
import numpy as np
import pytest
from _oracle_suite import suite_tests
from kiln import autograd, nd
from kiln.base import OpError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MX_PYTHON = os.environ.get("KILN_MXNET_PYTHON") or os.path.join(ROOT, ".mxnet-venv", "bin",
                                                                 "python")


def _suite():
    s = oracle.Suite(seed=11)
    x = s.arr((2, 3, 4))
    for kw in ({}, {"axis": 1}, {"axis": 2}, {"axis": 0, "dtype": "float64"}):
        s.op("nd.cumsum", x, _grad=True, **kw)
    s.op("nd.cumsum", s.arr((2, 3), "int32", lo=-5, hi=5), axis=1)
    for kw in ({"axes": (0,)}, {"axes": (0, 2), "keepdims": True}, {"axes": (0, 1, 2)}):
        s.op("nd.moments", x, _grad=True, **kw)
    data = s.arr((20,), lo=-1.2, hi=1.2)
    s.op("nd.histogram", data, bins=5, range=(-1.0, 1.0))
    s.op("nd.histogram", data, bins=s.arr(values=[-1.0, -0.2, 0.0, 0.7]))
    for name in ("gamma", "gammaln"):
        s.op(f"nd.{name}", s.arr((3, 4), lo=0.2, hi=5.0), _grad=True)
        s.op(f"nd.{name}", s.arr(values=[-1.5, -0.3, 0.7, 2.5, 7.3], dtype="float64"),
             _grad=True)
    s.op("nd.gamma", s.arr(values=[1, 2, 3, 5], dtype="int32"))
    img = s.arr((2, 3, 2, 3))
    s.op("nd.UpSampling", img, scale=2, sample_type="nearest", _grad=True)
    s.op("nd.UpSampling", s.arr((2, 3, 2, 2)), s.arr((2, 1, 1, 1)), scale=3,
         sample_type="nearest", num_args=2, _grad=True)
    s.op("nd.UpSampling", img, s.arr((2, 3, 4, 6)), scale=2, sample_type="nearest", num_args=2,
         multi_input_mode="sum", _grad=True)
    for scale in (2, 3):
        k = 2 * scale - scale % 2
        s.op("nd.UpSampling", img, s.arr((3, 1, k, k)), scale=scale, sample_type="bilinear",
             num_filter=3, num_args=2, _grad=True)
    return s


SUITE = _suite()
CASES = {c["id"]: c for c in SUITE.cases}


mx_results, test_matches_mxnet = suite_tests(SUITE, "mxnet_math_extra")


def test_gamma_matches_python_math_far_from_one():
    xs = np.array([0.013, 0.49, 0.5, 1.0, 4.5, 25.3, 140.0, -0.7, -3.2, -10.5])
    got = nd.gamma(nd.array(xs, dtype="float64")).asnumpy()
    np.testing.assert_allclose(got, [math.gamma(v) for v in xs], rtol=1e-12)
    got = nd.gammaln(nd.array(xs, dtype="float64")).asnumpy()
    np.testing.assert_allclose(got, [math.lgamma(v) for v in xs], rtol=1e-12, atol=1e-13)


def test_gamma_poles_as_mxnet():
    out = nd.gamma(nd.array([0.0, -1.0, -2.0])).asnumpy()
    assert np.isposinf(out[0]) and np.isnan(out[1:]).all()
    assert np.isposinf(nd.gammaln(nd.array([0.0, -3.0])).asnumpy()).all()


def test_gammaln_gradient_is_digamma():
    # psi(1) = -Euler's constant, psi(1/2) = -gamma - 2 log 2 (closed forms, not a library)
    euler = 0.5772156649015329
    x = nd.array([1.0, 0.5], dtype="float64")
    x.attach_grad()
    with autograd.record():
        y = nd.gammaln(x)
    y.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), [-euler, -euler - 2 * math.log(2)], rtol=1e-12)


@pytest.mark.parametrize("call", [
    lambda: nd.moments(nd.ones((2, 3))),
    lambda: nd.cumsum(nd.ones((2, 3)), axis=2),
    lambda: nd.histogram(nd.ones((4,)), bins=nd.ones((1,))),
    lambda: nd.UpSampling(nd.ones((1, 1, 2, 2)), nd.ones((1, 1, 3, 3)), scale=2,
                          sample_type="nearest", num_args=2),
    lambda: nd.UpSampling(nd.ones((1, 2, 2, 2)), nd.ones((2, 1, 3, 3)), scale=2,
                          sample_type="bilinear", num_filter=2, num_args=2),
], ids=["moments-axes", "cumsum-axis", "histogram-edges", "upsampling-nearest",
        "upsampling-bilinear-weight"])
def test_bad_input_names_the_op(call):
    with pytest.raises(OpError, match="moments|cumsum|histogram|UpSampling|up_sampling"):
        call()
