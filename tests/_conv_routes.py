"""Shared by the tests of the convolution routes (onnxruntime's Conv, its NCHWc kernels):
a conv-BN-ReLU stack run hybridized, inference and one training step, on one route."""
import numpy as np
from kiln import autograd, gluon, nd


def conv_bn_stack(channels, out_channels):
    """Conv2D(3x3) - BatchNorm - ReLU - Conv2D(3x3), initialized."""
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Conv2D(channels, 3, padding=1, use_bias=False, in_channels=channels),
            gluon.nn.BatchNorm(in_channels=channels), gluon.nn.Activation("relu"),
            gluon.nn.Conv2D(out_channels, 3, padding=1, in_channels=channels))
    net.initialize()
    return net


def random_values(net, rng):
    """Parameter values for ``net``: positive variances, small weights."""
    return [(rng.uniform(0.5, 1.5, p.shape) if p.name.endswith("var") else
             rng.standard_normal(p.shape) * 0.2).astype(np.float32)
            for p in net.collect_params().values()]


def infer_and_train(net, values, x):
    """``net`` set to ``values`` and hybridized: its inference output, then one recorded
    step's loss (sum of squares), data gradient and first layer's weight gradient."""
    for p, v in zip(net.collect_params().values(), values):
        p.set_data(nd.array(v))
    net.hybridize()
    infer = net(x).asnumpy()
    xg = x.copy()
    xg.attach_grad()
    with autograd.record():
        loss = (net(xg) ** 2).sum()
    loss.backward()
    return infer, loss.asnumpy(), xg.grad.asnumpy(), net[0].weight.grad().asnumpy()


def assert_same(results_a, results_b, tol=2e-4):
    for a, b in zip(results_a, results_b):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def record_calls(monkeypatch, module, name):
    """Patch ``module.name`` to record the weight shape of each call; returns the list."""
    calls = []
    real = getattr(module, name)
    monkeypatch.setattr(module, name, lambda x, w, *a, **k: calls.append(w.shape) or
                        real(x, w, *a, **k))
    return calls


def gemm_only(monkeypatch):
    """Turn both onnxruntime convolution routes off: kiln's im2col GEMM runs."""
    from kiln.ndarray import _ort_conv, _ort_nchwc
    monkeypatch.setattr(_ort_conv, "suits", lambda *a: False)
    monkeypatch.setattr(_ort_nchwc, "suits", lambda *a: False)


def conv(x, w, b, **kw):
    """``nd.Convolution`` of numpy ``x``, ``w`` and bias ``b`` (or None), dtypes kept."""
    return nd.Convolution(nd.array(x, dtype=x.dtype), nd.array(w, dtype=w.dtype),
                          None if b is None else nd.array(b, dtype=b.dtype),
                          num_filter=w.shape[0], no_bias=b is None, **kw)


def assert_route_equals_gemm(monkeypatch, calls, x, w, b, **kw):
    """The convolution runs the recorded route once, and equals kiln's GEMM to float32
    rounding."""
    got = conv(x, w, b, **kw).asnumpy()
    assert calls == [w.shape]
    gemm_only(monkeypatch)
    want = conv(x, w, b, **kw).asnumpy()
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
