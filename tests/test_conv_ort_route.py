"""Convolutions with small weights over many output positions run onnxruntime's Conv kernel
(ndarray/_ort_conv.py): the same values as kiln's im2col GEMM to float32 rounding, eagerly,
fused with BatchNorm/ReLU in inference graphs, in training (forward and the stride-1 data
gradient), and the shapes it loses on stay on the GEMM."""
import numpy as np
import pytest
from kiln import autograd, gluon, nd
from kiln.ndarray import _ort_conv, _ort_nchwc


@pytest.fixture
def ort_calls(monkeypatch):
    calls = []
    real = _ort_conv.forward
    monkeypatch.setattr(_ort_conv, "forward", lambda x, w, *a: calls.append(w.shape) or
                        real(x, w, *a))
    return calls


def _gemm_only(monkeypatch):
    monkeypatch.setattr(_ort_conv, "suits", lambda *a: False)
    monkeypatch.setattr(_ort_nchwc, "suits", lambda *a: False)


def _conv(x, w, b, **kw):
    return nd.Convolution(nd.array(x, dtype=x.dtype), nd.array(w, dtype=w.dtype),
                          None if b is None else nd.array(b, dtype=b.dtype),
                          num_filter=w.shape[0], no_bias=b is None, **kw)


@pytest.mark.parametrize("shape,wshape,kw", [
    ((4, 3, 20, 20), (8, 3, 7, 7), dict(kernel=(7, 7), stride=(2, 2), pad=(3, 3))),
    ((3, 16, 8, 8), (16, 16, 3, 3), dict(kernel=(3, 3), pad=(1, 1))),
    ((2, 8, 12, 10), (6, 8, 3, 3), dict(kernel=(3, 3), dilate=(2, 2), pad=(2, 1))),
    ((2, 4, 16, 16), (8, 4, 3, 3), dict(kernel=(3, 3), stride=(2, 2), pad=(1, 1))),
])
@pytest.mark.parametrize("bias", [False, True])
def test_values_equal_the_gemm_route(shape, wshape, kw, bias, ort_calls, monkeypatch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    w = (rng.standard_normal(wshape) * 0.2).astype(np.float32)
    b = rng.standard_normal(wshape[0]).astype(np.float32) if bias else None
    got = _conv(x, w, b, **kw).asnumpy()
    assert ort_calls == [wshape]
    _gemm_only(monkeypatch)
    want = _conv(x, w, b, **kw).asnumpy()
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case", ["large weight", "small map", "float64", "groups",
                                  "negative pad", "empty batch", "pointwise"])
def test_what_it_loses_on_stays_on_the_gemm(case, ort_calls):
    rng = np.random.default_rng(1)
    shape, wshape, kw, dtype = (2, 8, 8, 8), (8, 8, 3, 3), dict(kernel=(3, 3), pad=(1, 1)), \
        np.float32
    if case == "large weight":
        shape, wshape = (2, 64, 8, 8), (128, 64, 3, 3)   # 73,728 elements
    elif case == "small map":
        shape = (2, 8, 4, 4)                              # 16 positions per image
    elif case == "float64":
        dtype = np.float64
    elif case == "groups":
        wshape, kw = (8, 4, 3, 3), dict(kw, num_group=2)
    elif case == "empty batch":
        shape = (0, 8, 8, 8)
    elif case == "pointwise":   # 1x1 stride 1: kiln's product needs no columns
        shape, wshape, kw = (2, 8, 16, 16), (8, 8, 1, 1), dict(kernel=(1, 1))
    x = rng.standard_normal(shape).astype(dtype)
    w = rng.standard_normal(wshape).astype(dtype)
    if case == "negative pad":   # a deconvolution's flipped convolution pads negatively
        y = nd.Deconvolution(nd.array(x), nd.array(w), kernel=(3, 3), pad=(4, 4),
                             num_filter=8, no_bias=True)
        assert y.shape == (2, 8, 2, 2)
    else:
        _conv(x, w, None, **kw)
    assert ort_calls == []


def _block():
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Conv2D(16, 3, padding=1, use_bias=False, in_channels=16),
            gluon.nn.BatchNorm(in_channels=16), gluon.nn.Activation("relu"),
            gluon.nn.Conv2D(8, 3, padding=1, in_channels=16))
    net.initialize()
    return net


def test_resnet_block_inference_and_training_match_the_gemm_route(ort_calls, monkeypatch):
    """A conv-BN-ReLU stack: hybridized inference (BatchNorm folded, the fused epilogue on
    onnxruntime's output) and a training step's loss and gradients, against the GEMM."""
    rng = np.random.default_rng(2)
    x = nd.array(rng.standard_normal((4, 16, 8, 8)).astype(np.float32))
    values = [(rng.uniform(0.5, 1.5, p.shape) if p.name.endswith("var") else
               rng.standard_normal(p.shape) * 0.2).astype(np.float32)
              for p in _block().collect_params().values()]
    results = []
    for route in ("ort", "gemm"):
        if route == "gemm":
            _gemm_only(monkeypatch)
        net = _block()
        for p, v in zip(net.collect_params().values(), values):
            p.set_data(nd.array(v))
        net.hybridize()
        infer = net(x).asnumpy()
        xg = x.copy()
        xg.attach_grad()
        with autograd.record():
            loss = (net(xg) ** 2).sum()
        loss.backward()
        results.append((infer, loss.asnumpy(), xg.grad.asnumpy(),
                        net[0].weight.grad().asnumpy()))
    assert ort_calls   # the first pass ran onnxruntime's kernel
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-4)
