"""ndarray/_blas.axpy: the one-pass ``y += alpha * x`` through numpy's bundled BLAS."""
import numpy as np
import pytest
from kiln.ndarray import _blas
from kiln.optimizer.sgd import sgd_kernel

needs_blas = pytest.mark.skipif(not _blas.available(), reason="numpy's bundled BLAS not found")
N = _blas.MIN_SIZE * 2


@needs_blas
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy_matches_numpy(dtype):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2, N)).astype(dtype)
    expected = y + dtype(-0.3) * x
    assert _blas.axpy(-0.3, x, y)
    # one rounding (fused) where numpy rounds the product first: equal to a few ulps
    np.testing.assert_allclose(y, expected, rtol=4 * np.finfo(dtype).eps,
                               atol=4 * np.finfo(dtype).eps)


@needs_blas
def test_axpy_on_a_matrix_updates_every_element():
    w, g = np.zeros((256, 130), np.float32), np.ones((256, 130), np.float32)
    assert _blas.axpy(2.0, g, w)
    assert (w == 2).all()


@pytest.mark.parametrize("case", ["small", "strided", "mixed", "overlap", "view", "readonly",
                                  "int", "list"])
def test_axpy_declines_what_it_cannot_do(case):
    x, y = np.ones(N, np.float32), np.ones(N, np.float32)
    if case == "small":
        x, y = x[:100], y[:100]
    elif case == "strided":
        x, y = np.ones(2 * N, np.float32)[::2], y
    elif case == "mixed":
        x = x.astype(np.float64)
    elif case == "overlap":
        x = y
    elif case == "view":  # a view of the same memory, shifted
        y = np.ones(N + 8, np.float32)
        x, y = y[8:], y[:N]
    elif case == "readonly":
        x.flags.writeable = False
    elif case == "int":
        x, y = x.astype(np.int32), y.astype(np.int32)
    elif case == "list":
        x = list(x)
    before = np.array(y, copy=True)
    assert _blas.axpy(1.0, x, y) is False
    assert np.array_equal(y, before)  # nothing done: the caller's numpy expression runs


def test_disabled_by_environment(monkeypatch):
    monkeypatch.setenv("KILN_BLAS", "0")
    assert _blas._find() is None


@pytest.mark.parametrize("size", [100, N])
def test_plain_sgd_kernel_same_with_and_without_blas(size, monkeypatch):
    rng = np.random.default_rng(1)
    w, g = rng.normal(size=(2, size)).astype(np.float32)
    w1, w2 = w.copy(), w.copy()
    sgd_kernel(np, w1, g, None, 0.1, 0.0, 0.0, 1 / 64, None)
    monkeypatch.setattr(_blas, "_FUNCS", [None])
    sgd_kernel(np, w2, g, None, 0.1, 0.0, 0.0, 1 / 64, None)
    np.testing.assert_allclose(w1, w2, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(w2, w - np.float32(0.1 / 64) * g, rtol=1e-6, atol=1e-7)


@needs_blas
@pytest.mark.parametrize("momentum,wd", [(0.9, 0.0), (0.9, 1e-3), (0.0, 1e-3)])
def test_sgd_kernel_blas_route_matches_numpy_route(momentum, wd, monkeypatch):
    rng = np.random.default_rng(2)
    w, g, m = rng.normal(size=(3, 256, 130)).astype(np.float32)
    runs = []
    for funcs in (_blas._FUNCS[0], None):  # BLAS, then numpy's expressions
        monkeypatch.setattr(_blas, "_FUNCS", [funcs])
        wk, mk = w.copy(), (m.copy() if momentum else None)
        for _ in range(3):
            sgd_kernel(np, wk, g.copy(), mk, 0.05, wd, momentum, 1 / 32, None)
        runs.append((wk, mk))
    (w1, m1), (w2, m2) = runs
    np.testing.assert_allclose(w1, w2, rtol=1e-5, atol=1e-6)
    if momentum:
        np.testing.assert_allclose(m1, m2, rtol=1e-5, atol=1e-6)
    # and the update is MXNet's formula
    expected_w, expected_m = w.astype(np.float64), m.astype(np.float64)
    for _ in range(3):
        step = -0.05 * wd * expected_w - 0.05 * (g / 32)
        if momentum:
            expected_m = momentum * expected_m + step
            expected_w = expected_w + expected_m
        else:
            expected_w = expected_w + step
    np.testing.assert_allclose(w1, expected_w, rtol=1e-5, atol=1e-6)


@needs_blas
def test_suits_rejects_overlap_with_any_operand():
    w = np.ones(N, np.float32)
    assert _blas.suits(w, np.ones(N, np.float32))
    assert not _blas.suits(w, np.ones(N, np.float32), w)


@needs_blas
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpby_matches_numpy(dtype):
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(2, N)).astype(dtype)
    expected = dtype(0.9) * y + dtype(-0.3) * x
    if not _blas.axpby(-0.3, x, 0.9, y):
        pytest.skip("this BLAS has no axpby")
    np.testing.assert_allclose(y, expected, rtol=4 * np.finfo(dtype).eps,
                               atol=4 * np.finfo(dtype).eps)


def test_axpby_declines_what_axpy_declines():
    x, y = np.ones(N, np.float32), np.ones(N + 1, np.float32)
    assert _blas.axpby(1.0, x, 2.0, y) is False
    assert (y == 1).all()
    assert _blas.axpby(1.0, x[:100], 2.0, y[:100]) is False


@needs_blas
def test_momentum_step_same_with_and_without_axpby(monkeypatch):
    rng = np.random.default_rng(4)
    w, g, m = rng.normal(size=(3, 256, 130)).astype(np.float32)
    runs = []
    for fns in (None, [None]):   # axpby if the BLAS has it, then axpy's three passes
        if fns is not None:
            monkeypatch.setattr(_blas, "_AXPBY", fns)
        wk, mk = w.copy(), m.copy()
        for _ in range(3):
            sgd_kernel(np, wk, g, mk, 0.05, 1e-3, 0.9, 1 / 32, None)
        runs.append((wk, mk))
    (w1, m1), (w2, m2) = runs
    np.testing.assert_allclose(w1, w2, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(m1, m2, rtol=1e-6, atol=1e-6)
