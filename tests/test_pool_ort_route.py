"""Max pooling's gradient with the windows' argmax from onnxruntime (``pool._route_ort``)
equals numpy's own routing, ties (the first maximum wins, as MXNet) and overlapping windows
included, in 1-D, 2-D and 3-D and every pooling convention."""
import importlib

import numpy as np
import pytest
from kiln import nd

pool = importlib.import_module("kiln.ndarray.ops.pool")

CASES = [((32, 64, 16, 16), dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1))),
         ((4, 8, 33, 35), dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                               pooling_convention="full")),
         ((4, 8, 33, 35), dict(kernel=(3, 3), stride=(1, 1), pooling_convention="same")),
         ((2, 16, 40, 40), dict(kernel=(2, 2), stride=(2, 2))),
         ((2, 8, 14, 14, 14), dict(kernel=(3, 3, 3), stride=(2, 2, 2), pad=(1, 1, 1))),
         ((8, 64, 100), dict(kernel=(4,), stride=(3,), pad=(2,)))]


@pytest.mark.parametrize("shape,kw", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_onnxruntime_argmax_routes_as_numpy(monkeypatch, shape, kw, dtype):
    from kiln.ndarray import _ort_kernels
    if not _ort_kernels.available():
        pytest.skip("onnxruntime kernels off")
    rng = np.random.default_rng(3)
    x = rng.normal(size=shape).astype(dtype)
    x.reshape(-1)[: x.size // 3] = np.round(x.reshape(-1)[: x.size // 3])  # many ties
    xs = nd.array(x, dtype=dtype)
    y = nd.Pooling(xs, pool_type="max", **kw)
    g = nd.array(rng.normal(size=y.shape), dtype=dtype)
    calls = []
    real = pool.maxpool_indices

    def counted(*a):
        res = real(*a)
        calls.append(res is not None)
        return res
    monkeypatch.setattr(pool, "maxpool_indices", counted)
    fast = nd._pooling_backward(g, xs, pool_type="max", **kw).asnumpy()
    assert calls == [True]
    monkeypatch.setattr(pool, "ORT_MIN_SIZE", 1 << 40)
    slow = nd._pooling_backward(g, xs, pool_type="max", **kw).asnumpy()
    assert fast.dtype == slow.dtype == dtype
    np.testing.assert_array_equal(fast, slow)


def test_windows_of_nan_or_minus_inf_keep_numpys_routing(monkeypatch):
    """onnxruntime sends an all-NaN or all -inf window's gradient to its first in-data pixel,
    numpy's routing to its first kernel offset: such inputs keep numpy's routing."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(32, 64, 16, 16)).astype(np.float32)
    x[0, 0, :4, :4] = np.nan
    x[0, 1, :4, :4] = -np.inf
    kw = dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1))
    xs = nd.array(x)
    g = nd.ones(nd.Pooling(xs, pool_type="max", **kw).shape)
    fast = nd._pooling_backward(g, xs, pool_type="max", **kw).asnumpy()
    monkeypatch.setattr(pool, "ORT_MIN_SIZE", 1 << 40)
    np.testing.assert_array_equal(fast, nd._pooling_backward(g, xs, pool_type="max",
                                                             **kw).asnumpy())


@pytest.mark.parametrize("shape,kw", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pooling_forward_by_onnxruntime_is_numpys_bit_for_bit(monkeypatch, shape, kw,
                                                                   dtype):
    from kiln.ndarray import _ort_kernels
    if not _ort_kernels.available():
        pytest.skip("onnxruntime kernels off")
    rng = np.random.default_rng(5)
    x = nd.array(rng.normal(size=shape).astype(dtype), dtype=dtype)
    calls = []
    real = pool._max_ort

    def counted(*a):   # only results onnxruntime gave and the kernel used
        res = real(*a)
        calls.append(res is not None)
        return res
    monkeypatch.setattr(pool, "_max_ort", counted)
    fast = nd.Pooling(x, pool_type="max", **kw).asnumpy()
    assert calls == [True]
    monkeypatch.setattr(pool, "ORT_MIN_SIZE", 1 << 40)
    slow = nd.Pooling(x, pool_type="max", **kw).asnumpy()
    assert fast.dtype == slow.dtype == dtype and fast.shape == slow.shape
    np.testing.assert_array_equal(fast, slow)


def test_max_pooling_forward_of_nan_or_inf_stays_in_numpy(monkeypatch):
    """numpy's maximum propagates NaN; such inputs (and infinities) keep numpy's kernel."""
    rng = np.random.default_rng(6)
    x = rng.normal(size=(32, 64, 16, 16)).astype(np.float32)
    x[0, 0, 3, 3] = np.nan
    x[1, 2, 5, 5] = np.inf
    calls = []
    real = pool.maxpool
    monkeypatch.setattr(pool, "maxpool", lambda *a: calls.append(1) or real(*a))
    y = nd.Pooling(nd.array(x), kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                   pool_type="max").asnumpy()
    assert calls == [] and np.isnan(y[0, 0, 1:3, 1:3]).all() and y[1, 2, 2, 2] == np.inf
