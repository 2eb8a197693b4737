"""The ``linalg`` family against real MXNet 1.9.1 (outputs and input gradients under a fixed
head gradient; harness in tests/_mxnet_oracle.py), the ``nd.linalg``/``sym.linalg``
namespaces, and bad inputs. Without MXNet the oracle cases skip.
"""
import os

import _mxnet_oracle as oracle
import numpy as np
import pytest
from _oracle_suite import suite_tests
from kiln import gluon, nd, sym
from kiln.base import OpError
from kiln.ndarray import _registry

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MX_PYTHON = os.environ.get("KILN_MXNET_PYTHON") or os.path.join(ROOT, ".mxnet-venv", "bin",
                                                                 "python")


def _spd(rng, *batch, n=3):
    m = rng.uniform(-1, 1, batch + (n, n))
    return m @ np.swapaxes(m, -1, -2) + 2 * np.eye(n)


def _tri(rng, *batch, n=3):
    return rng.uniform(-0.4, 0.4, batch + (n, n)) + 1.5 * np.eye(n)


def _suite():
    s = oracle.Suite(seed=5)
    rng = np.random.default_rng(7)
    for dt in ("float32", "float64"):
        s.op("nd.linalg.potrf", s.arr(values=_spd(rng), dtype=dt), _grad=True)
    s.op("nd.linalg.potrf", s.arr(values=_spd(rng, 2)), _grad=True)
    for kw in ({}, {"lower": False}):
        s.op("nd.linalg.potri", s.arr(values=_tri(rng, 2), dtype="float64"), _grad=True, **kw)
    for name in ("trsm", "trmm"):
        for kw in ({}, {"transpose": True}, {"rightside": True, "alpha": 0.5},
                   {"lower": False, "transpose": True, "rightside": True, "alpha": -2.0}):
            b = (4, 3) if kw.get("rightside") else (3, 2)
            s.op(f"nd.linalg.{name}", s.arr(values=_tri(rng, 2), dtype="float64"),
                 s.arr((2,) + b, "float64"), _grad=True, **kw)
    for kw in ({}, {"transpose": True, "alpha": 0.5}):
        s.op("nd.linalg.syrk", s.arr((2, 2, 3)), _grad=True, **kw)
    s.op("nd.linalg.gelqf", s.arr((2, 3), "float64"), _grad=True)
    s.op("nd.linalg.gelqf", s.arr((2, 3, 4)), _grad=True, _tol=(1e-3, 1e-4))
    s.op("nd.linalg.sumlogdiag", s.arr((2, 3, 3), lo=0.5, hi=2), _grad=True)
    s.op("nd.linalg.sumlogdiag", s.arr((3, 3), lo=0.5, hi=2), _grad=True)
    for off in (0, 1, -2):
        s.op("nd.linalg.extractdiag", s.arr((2, 4, 4)), offset=off, _grad=True)
        s.op("nd.linalg.makediag", s.arr((2, 3)), offset=off, _grad=True)
    for kw in ({}, {"lower": False}, {"offset": 1}, {"offset": -1}, {"offset": 2, "lower": False}):
        s.op("nd.linalg.extracttrian", s.arr((2, 4, 4)), _grad=True, **kw)
        s.op("nd.linalg.maketrian", s.arr((2, 6)), _grad=True, **kw)
    for name in ("inverse", "det", "slogdet"):
        s.op(f"nd.linalg.{name}", s.arr(values=_tri(rng, 2) + rng.uniform(-0.3, 0.3, (3, 3)),
                                        dtype="float64"), _grad=True)
        s.op(f"nd.linalg.{name}", s.arr(values=_spd(rng)), _grad=True, _tol=(1e-3, 1e-4))
    for batch in ((), (2,)):  # distinct eigenvalues: 1.5, 3, 4.5
        q = np.linalg.qr(rng.uniform(-1, 1, batch + (3, 3)))[0]
        sym_ = q @ np.diag([1.5, 3.0, 4.5]) @ np.swapaxes(q, -1, -2)
        s.op("nd.linalg.syevd", s.arr(values=sym_, dtype="float64"), _grad=True)
    s.op("nd.linalg_gemm2", s.arr((2, 3)), s.arr((3, 4)), alpha=2.0, _grad=True)
    return s


SUITE = _suite()
CASES = {c["id"]: c for c in SUITE.cases}


mx_results, test_matches_mxnet = suite_tests(SUITE, "mxnet_linalg")


def test_linalg_namespaces_name_every_linalg_op():
    names = [n for n in list(_registry.OPS) + list(_registry.ALIASES) if n.startswith("linalg_")]
    assert len(names) >= 17
    for full in names:
        short = full[len("linalg_"):]
        assert getattr(nd.linalg, short) is _registry.get(full).func, short
        assert getattr(sym.linalg, short) is getattr(sym, full), short
        assert short in nd.linalg.__all__ and short in sym.linalg.__all__


class _Chol(gluon.HybridBlock):
    def hybrid_forward(self, F, a, b):  # F.linalg works with F = nd and F = sym
        return F.linalg.trsm(F.linalg.potrf(a), b) + F.linalg.sumlogdiag(a)


def test_f_linalg_in_a_hybridized_block():
    rng = np.random.default_rng(3)
    a, b = nd.array(_spd(rng)), nd.array(rng.uniform(-1, 1, (3, 2)))
    net = _Chol()
    eager = net(a, b).asnumpy()
    net.hybridize()
    np.testing.assert_allclose(net(a, b).asnumpy(), eager, rtol=1e-5)
    L = np.linalg.cholesky(a.asnumpy().astype(np.float64))
    want = np.linalg.solve(L, b.asnumpy()) + np.log(np.diag(a.asnumpy())).sum()
    np.testing.assert_allclose(eager, want, rtol=1e-4)


@pytest.mark.parametrize("kw", [{}, {"lower": False}, {"offset": 2}, {"offset": -1},
                                {"offset": 1, "lower": False}])
def test_maketrian_inverts_extracttrian(kw):
    A = np.random.default_rng(0).uniform(-1, 1, (2, 5, 5))
    off, lower = kw.get("offset", 0), kw.get("lower", True)
    keep = np.triu(A, off) if off > 0 or (off == 0 and not lower) else np.tril(A, off)
    tri = nd.linalg.extracttrian(nd.array(A, dtype="float64"), **kw)
    back = nd.linalg.maketrian(tri, **kw).asnumpy()
    np.testing.assert_array_equal(back, keep)


@pytest.mark.parametrize("call", [
    lambda: nd.linalg.potrf(nd.ones((2, 3))),
    lambda: nd.linalg.potrf(nd.array([[1.0, 2.0], [2.0, 1.0]])),
    lambda: nd.linalg.potrf(nd.ones((2, 2), dtype="int32")),
    lambda: nd.linalg.trsm(nd.ones((3, 3)), nd.ones((2, 2))),
    lambda: nd.linalg.trmm(nd.ones((2, 3, 3)), nd.ones((3, 3, 2))),
    lambda: nd.linalg.gelqf(nd.ones((3, 2))),
    lambda: nd.linalg.inverse(nd.array([[1.0, 2.0], [2.0, 4.0]])),
    lambda: nd.linalg.det(nd.ones((2, 3))),
    lambda: nd.linalg.extractdiag(nd.ones((3, 3)), offset=3),
    lambda: nd.linalg.maketrian(nd.ones((4,))),
    lambda: nd.linalg.sumlogdiag(nd.ones((2, 3))),
], ids=["potrf-shape", "potrf-indefinite", "potrf-int", "trsm", "trmm-batch", "gelqf",
        "inverse-singular", "det", "extractdiag", "maketrian", "sumlogdiag"])
def test_bad_input_names_the_op(call):
    with pytest.raises(OpError, match="linalg_"):
        call()
