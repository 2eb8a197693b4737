"""Predict-mode BatchNorm folded into the convolution before it (symbol/fold_bn.py): outputs and
gradients equal the eager ones, and the fold happens exactly where it is valid."""
import kiln as kl
import numpy as np
import pytest
from kiln import autograd, gluon, nd


class ConvBN(gluon.HybridBlock):
    def __init__(self, conv, bn_kwargs=None, share=False):
        super().__init__()
        self.conv, self.bn, self.share = conv, gluon.nn.BatchNorm(**(bn_kwargs or {})), share

    def forward(self, x):
        y = self.conv(x)
        out = nd.relu(self.bn(y)) if not self.share else self.bn(y) + y
        return out


def _net(conv, shape, bn_kwargs=None, share=False, dtype="float32"):
    kl.random.seed(0)  # both nets of a comparison start from the same weights
    net = ConvBN(conv, bn_kwargs, share)
    net.initialize()
    net.cast(dtype)
    x = nd.array(np.random.default_rng(0).standard_normal(shape), dtype=dtype)
    net(x)
    rng = np.random.default_rng(1)
    for name, p in net.bn.collect_params().items():
        low, high = {"gamma": (0.5, 1.5), "beta": (-0.5, 0.5), "running_mean": (-0.3, 0.3),
                     "running_var": (0.5, 2.0)}[name.split("_", 1)[-1] if "running" in name
                                                 else name.rsplit("_", 1)[-1]]
        p.set_data(nd.array(rng.uniform(low, high, p.shape), dtype=dtype))
    return net, x


def _run(net, x, hybrid, train_mode=False):
    if hybrid:
        net.hybridize()
    x = x.copy()
    x.attach_grad()
    for _ in range(2):  # the second call runs the cached graphs
        with autograd.record(train_mode=train_mode):
            y = net(x)
        y.backward(nd.array(np.cos(np.arange(y.size)).reshape(y.shape), dtype=y.dtype))
    grads = [p.grad().asnumpy() for p in net.collect_params().values() if p.grad_req != "null"]
    return y.asnumpy(), x.grad.asnumpy(), grads


def _ops(net):
    entry = list(net._cached_op.entries.values())[-1]
    return {n.op.name for n in _topo(entry.graph)}


def _topo(targets):
    from kiln.symbol.graph import topo_order
    return [n for n in topo_order(targets) if n.kind == "op"]


CONVS = {
    "2d": (lambda: gluon.nn.Conv2D(6, 3, padding=1, in_channels=4), (2, 4, 5, 5)),
    "2d-no-bias-strided": (lambda: gluon.nn.Conv2D(6, 3, strides=2, use_bias=False,
                                                   in_channels=4), (2, 4, 7, 7)),
    "grouped": (lambda: gluon.nn.Conv2D(6, 1, groups=2, in_channels=4), (2, 4, 3, 3)),
    "1d": (lambda: gluon.nn.Conv1D(5, 3, in_channels=3), (2, 3, 9)),
}


@pytest.mark.parametrize("kind", sorted(CONVS))
@pytest.mark.parametrize("fix_gamma", [False, True])
def test_folded_equals_eager(kind, fix_gamma):
    make, shape = CONVS[kind]
    results = []
    for hybrid in (False, True):
        net, x = _net(make(), shape, {"scale": not fix_gamma, "epsilon": 1e-3})
        results.append(_run(net, x, hybrid))
    assert "batch_norm" not in _ops(net), "the BatchNorm was not folded"
    (y0, gx0, g0), (y1, gx1, g1) = results
    np.testing.assert_allclose(y1, y0, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gx1, gx0, rtol=1e-4, atol=1e-5)
    for a, b in zip(g1, g0):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", ["training", "shared-conv-output", "float16"])
def test_not_folded_where_invalid(case):
    make, shape = CONVS["2d"]
    net, x = _net(make(), shape, share=case == "shared-conv-output",
                  dtype="float16" if case == "float16" else "float32")
    eager = _run(net, x, False, train_mode=case == "training")
    net2, x2 = _net(make(), shape, share=case == "shared-conv-output",
                    dtype="float16" if case == "float16" else "float32")
    hybrid = _run(net2, x2, True, train_mode=case == "training")
    assert "batch_norm" in _ops(net2)
    tol = 2e-2 if case == "float16" else 1e-4
    np.testing.assert_allclose(hybrid[0], eager[0], rtol=tol, atol=tol)


def test_global_stats_in_training_mode_fold():
    make, shape = CONVS["2d"]
    results = []
    for hybrid in (False, True):
        net, x = _net(make(), shape, {"use_global_stats": True, "scale": True})
        results.append(_run(net, x, hybrid, train_mode=True))
    assert "batch_norm" not in _ops(net)
    for a, b in zip(results[1][2], results[0][2]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_float16_predict_mode_gradient_keeps_the_data_dtype():
    """float16 data with float32 BatchNorm statistics: the data gradient handed back to the
    convolution is float16 (it was float32, and the convolution's backward refused it)."""
    make, shape = CONVS["2d"]
    net, x = _net(make(), shape, dtype="float16")
    _, gx, grads = _run(net, x, False)
    assert gx.dtype == np.float16 and all(np.isfinite(g).all() for g in grads)


class ConvBNReLU6(gluon.HybridBlock):
    """MobileNetV2's conv -> BatchNorm -> ReLU6 (``clip(x, 0, 6)``)."""

    def __init__(self, conv):
        super().__init__()
        self.conv, self.bn = conv, gluon.nn.BatchNorm()

    def forward(self, x):
        return nd.clip(self.bn(self.conv(x)), 0, 6)


def test_relu6_folds_with_clip_gradients():
    results = []
    for hybrid in (False, True):
        kl.random.seed(0)
        net = ConvBNReLU6(gluon.nn.Conv2D(6, 3, padding=1, in_channels=4))
        net.initialize()
        # a spread of pre-activations: some clipped at 0, some at 6, some between
        x = nd.array(np.random.default_rng(0).standard_normal((2, 4, 5, 5)) * 8)
        net(x)
        results.append(_run(net, x, hybrid))
    ops = _ops(net)
    assert "clip" not in ops and "batch_norm" not in ops, ops
    (y0, gx0, g0), (y1, gx1, g1) = results
    assert (y0 == 0).any() and (y0 == 6).any() and ((y0 > 0) & (y0 < 6)).any()
    np.testing.assert_allclose(y1, y0, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(gx1, gx0, rtol=1e-4, atol=1e-4)
    for a, b in zip(g1, g0):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
