"""BatchNorm's few-pass kernels: training forward, and the fused first-order gradient against
finite differences and against the registry-op gradient that create_graph uses."""
import numpy as np
import pytest
from kiln import autograd, nd
from kiln.ndarray.ops import _bn_kernels as bk

_fused = bk.backward

CASES = [((4, 3, 5, 5), 1), ((6, 4), 1), ((2, 3, 4), -1), ((8, 5, 1, 1), 1), ((3, 2, 7), 1),
         ((2, 3, 2, 4), 2)]


def _params(shape, axis, dtype, fix_gamma):
    c = shape[axis]
    rng = np.random.default_rng(1)
    x = rng.standard_normal(shape) * 2 + 1
    gamma, beta = rng.uniform(0.5, 2, c), rng.standard_normal(c)
    return [nd.array(a, dtype=dtype) for a in (x, gamma, beta, np.zeros(c), np.ones(c))]


def _loss(arrs, w, axis, fix_gamma):
    y = nd.BatchNorm(*arrs, axis=axis, fix_gamma=fix_gamma, eps=1e-3)
    return (y * w).sum(), y


@pytest.mark.parametrize("shape,axis", CASES, ids=str)
@pytest.mark.parametrize("fix_gamma", [False, True])
def test_training_gradients(shape, axis, fix_gamma, monkeypatch):
    calls = []
    monkeypatch.setattr(bk, "backward", lambda *a: calls.append(1) or _fused(*a))
    arrs = _params(shape, axis, "float64", fix_gamma)
    w = nd.array(np.random.default_rng(2).standard_normal(shape), dtype="float64")
    for a in arrs[:3]:
        a.attach_grad()
    with autograd.record(train_mode=True):
        loss, y = _loss(arrs, w, axis, fix_gamma)
    fused = autograd.grad(loss, arrs[:3])                      # plain backward: fused op
    assert calls, "the plain backward should run the fused kernel"
    with autograd.record(train_mode=True):
        loss, _ = _loss(arrs, w, axis, fix_gamma)
    comp = autograd.grad(loss, arrs[:3], create_graph=True)    # registry-op gradient
    for f, c in zip(fused, comp):
        np.testing.assert_allclose(f.asnumpy(), c.asnumpy(), rtol=1e-9, atol=1e-10)
    # finite differences of the training-mode loss, entry by entry for a few entries
    base = [a.asnumpy().copy() for a in arrs]
    for k in range(2 if fix_gamma else 3):
        for idx in [(0,) * base[k].ndim, tuple(s - 1 for s in base[k].shape)]:
            vals = []
            for h in (1e-6, -1e-6):
                pert = [b.copy() for b in base]
                pert[k][idx] += h
                with autograd.train_mode():
                    vals.append(_loss([nd.array(p, dtype="float64") for p in pert], w,
                                      axis, fix_gamma)[0].asnumpy().item())
            num = (vals[0] - vals[1]) / 2e-6
            np.testing.assert_allclose(fused[k].asnumpy()[idx], num, rtol=1e-5, atol=1e-7)
    if fix_gamma:
        assert not fused[1].asnumpy().any()


@pytest.mark.parametrize("shape,axis", CASES[:3], ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_dtypes_and_running_stats(shape, axis, dtype):
    arrs = _params(shape, axis, dtype, False)
    if dtype == "float16":   # MXNet keeps float16 data's parameters in float32
        arrs[1:] = [nd.array(a.asnumpy(), dtype="float32") for a in arrs[1:]]
    arrs[0].attach_grad()
    with autograd.record(train_mode=True):
        y = nd.BatchNorm(*arrs, axis=axis, fix_gamma=False, momentum=0.5)
    y.backward()
    assert y.dtype == np.dtype(dtype) and arrs[0].grad.dtype == np.dtype(dtype)
    x = arrs[0].asnumpy().astype(np.float64)
    xm = np.moveaxis(x, axis, -1).reshape(-1, shape[axis])
    np.testing.assert_allclose(arrs[3].asnumpy(), 0.5 * xm.mean(0), rtol=1e-2, atol=1e-3)
    np.testing.assert_allclose(arrs[4].asnumpy(), 0.5 + 0.5 * xm.var(0), rtol=1e-2)
    # the sum of the outputs does not depend on x (beta's share): its gradient is ~0
    tol = 1e-2 if dtype == "float16" else 1e-4
    np.testing.assert_allclose(arrs[0].grad.asnumpy().astype(np.float64), 0, atol=tol)
