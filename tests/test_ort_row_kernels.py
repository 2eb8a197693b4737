"""LayerNorm's forward through onnxruntime's kernel (``_ort_kernels.layer_norm_rows``, large
arrays normalized over the last axis) equals numpy's passes, eager and hybridized."""
import importlib

import numpy as np
import pytest
from kiln import autograd, gluon, nd

norm = importlib.import_module("kiln.ndarray.ops.norm")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_layer_norm_through_onnxruntime_equals_numpy(monkeypatch, dtype):
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
    tol = 2e-5 if dtype == np.float32 else 1e-12
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
