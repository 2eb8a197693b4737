"""LayerNorm's forward through onnxruntime's kernel (``_ort_kernels.layer_norm_rows``, large
float32 arrays normalized over the last axis) equals numpy's passes, eager and hybridized;
float64 keeps numpy's two exact passes."""
import importlib

import numpy as np
import pytest
from kiln import autograd, gluon, nd

norm = importlib.import_module("kiln.ndarray.ops.norm")


def test_large_layer_norm_through_onnxruntime_equals_numpy(monkeypatch):
    dtype = np.float32
    from kiln.ndarray import _ort_kernels
    if not _ort_kernels.available():
        pytest.skip("onnxruntime kernels off")
    rng = np.random.default_rng(11)
    x = (rng.normal(size=(8, 64, 96)) * 3 + 1).astype(dtype)
    gamma, beta = rng.normal(size=96).astype(dtype), rng.normal(size=96).astype(dtype)
    head = rng.normal(size=x.shape).astype(dtype)
    calls = []
    real = norm.layer_norm_rows

    def counted(a, *rest):
        calls.append(a.shape)
        return real(a, *rest)
    monkeypatch.setattr(norm, "layer_norm_rows", counted)

    def run(hybrid):
        net = gluon.nn.LayerNorm(in_channels=96, epsilon=1e-5)
        net.initialize()
        net.gamma.set_data(nd.array(gamma, dtype=dtype))
        net.beta.set_data(nd.array(beta, dtype=dtype))
        net.cast(np.dtype(dtype).name)
        if hybrid:
            net.hybridize()
        xs = nd.array(x, dtype=dtype)
        xs.attach_grad()
        with autograd.record():
            y = net(xs)
        y.backward(nd.array(head, dtype=dtype))
        return [y.asnumpy(), xs.grad.asnumpy(), net.gamma.grad().asnumpy()]
    fast = [run(False), run(True)]
    assert calls and all(c == (8 * 64, 96) for c in calls)
    monkeypatch.setattr(norm, "ORT_MIN_SIZE", 1 << 40)
    slow = run(False)
    tol = 2e-5
    for got in fast:
        for a, b in zip(got, slow):
            assert a.dtype == b.dtype
            np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    calls.clear()
    monkeypatch.setattr(norm, "ORT_MIN_SIZE", 1 << 15)
    g, b = nd.array(gamma[:64], dtype=dtype), nd.array(beta[:64], dtype=dtype)
    nd.LayerNorm(nd.array(x[:, :, :64], dtype=dtype), g, b, axis=1).wait_to_read()  # axis 1
    nd.LayerNorm(nd.array(x[:1], dtype=dtype), nd.array(gamma, dtype=dtype),
                 nd.array(beta, dtype=dtype)).wait_to_read()                       # small
    assert calls == []


def test_float64_and_offset_data_keep_an_accurate_layer_norm(monkeypatch):
    """float64 takes numpy's two passes (exact to rounding even around 1e6); float32 around
    1e4 through onnxruntime is no worse than numpy's float32 passes."""
    rng = np.random.default_rng(12)
    calls = []
    real = norm.layer_norm_rows
    monkeypatch.setattr(norm, "layer_norm_rows", lambda *a: calls.append(1) or real(*a))
    for dtype, off, tol in ((np.float64, 1e6, 1e-12), (np.float32, 1e4, 2e-3)):
        x = (rng.normal(size=(512, 128)) + off).astype(dtype)
        g, b = np.ones(128, dtype), np.zeros(128, dtype)
        out = nd.LayerNorm(nd.array(x, dtype=dtype), nd.array(g, dtype=dtype),
                           nd.array(b, dtype=dtype)).asnumpy()
        x64 = x.astype(np.float64)
        centered = x64 - x64.mean(1, keepdims=True)
        ref = centered / np.sqrt((centered ** 2).mean(1, keepdims=True) + 1e-5)
        np.testing.assert_allclose(out, ref, atol=tol, rtol=0)
    assert len(calls) == 1   # the float32 call only
