"""Predict-mode conv + BatchNorm + residual add + ReLU as one ``_conv_affine_act``
(symbol/fold_bn.py, ndarray/ops/conv_fused.py): results and gradients equal the eager ones,
and the epilogue folds exactly where only the fused op reads the value."""
from contextlib import nullcontext

import kiln as kl
import numpy as np
import pytest
from kiln import autograd, gluon, nd
from kiln.ndarray._registry import OPS
from kiln.ndarray.ops import _conv_gemm as cg
from kiln.ndarray.ops.conv import _conv_ref
from kiln.symbol.graph import topo_order


class Block(gluon.HybridBlock):
    """ResNet V1's basic block; ``leak``: the pre-activation sum is also an output."""

    def __init__(self, cin, cout, stride, leak=False):
        super().__init__()
        self.leak = leak
        self.body = gluon.nn.HybridSequential()
        self.body.add(gluon.nn.Conv2D(cout, 3, stride, 1, use_bias=False, in_channels=cin),
                      gluon.nn.BatchNorm(in_channels=cout), gluon.nn.Activation("relu"),
                      gluon.nn.Conv2D(cout, 3, 1, 1, in_channels=cout),
                      gluon.nn.BatchNorm(in_channels=cout, scale=False))
        self.down = gluon.nn.HybridSequential()
        self.down.add(gluon.nn.Conv2D(cout, 1, stride, use_bias=False, in_channels=cin),
                      gluon.nn.BatchNorm(in_channels=cout))

    def forward(self, x):
        s = self.down(x) + self.body(x)
        y = nd.relu(s)
        return (y, s) if self.leak else y


def _block(shape, stride, leak=False):
    kl.random.seed(0)
    net = Block(shape[1], 8, stride, leak)
    net.initialize()
    rng = np.random.default_rng(1)
    for name, p in net.collect_params().items():
        if "running_var" in name or "gamma" in name:
            p.set_data(nd.array(rng.uniform(0.5, 1.5, p.shape)))
        elif "running_mean" in name or "beta" in name:
            p.set_data(nd.array(rng.uniform(-0.5, 0.5, p.shape)))
    return net, nd.array(np.random.default_rng(0).standard_normal(shape))


def _fused_nodes(net):
    entry = list(net._cached_op.entries.values())[-1]
    return [n for n in topo_order(entry.graph) if n.kind == "op"]


def _run(net, x, record):
    x = x.copy()
    x.attach_grad()
    for _ in range(2):  # the second call runs the cached graphs
        with autograd.record(train_mode=False) if record else nullcontext():
            out = net(x)
        y = out[0] if isinstance(out, tuple) else out
        if record:
            y.backward(nd.array(np.cos(np.arange(y.size)).reshape(y.shape)))
    grads = [p.grad().asnumpy() for p in net.collect_params().values()
             if record and p.grad_req != "null"]
    outs = out if isinstance(out, tuple) else (out,)
    return [o.asnumpy() for o in outs], (x.grad.asnumpy() if record else None), grads


@pytest.mark.parametrize("shape,stride", [((2, 4, 6, 6), 1), ((2, 4, 5, 5), 2),
                                          ((3, 4, 1, 1), 1)])
@pytest.mark.parametrize("record", [False, True])
def test_block_equals_eager(shape, stride, record):
    y0, gx0, g0 = _run(*_block(shape, stride), record)
    y1, gx1, g1 = _hybrid_run(shape, stride, record)
    np.testing.assert_allclose(y1[0], y0[0], rtol=1e-5, atol=1e-5)
    if record:
        np.testing.assert_allclose(gx1, gx0, rtol=1e-4, atol=1e-5)
        for a, b in zip(g1, g0):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def _hybrid_run(shape, stride, record):
    net, x = _block(shape, stride)
    net.hybridize()
    res = _run(net, x, record)
    ops = _fused_nodes(net)
    names = [n.op.name for n in ops]
    assert "batch_norm" not in names and "activation" not in names and "relu" not in names
    fused = [n for n in ops if n.op.name == "_conv_affine_act"]
    assert len(fused) == 3
    # the block's sum and its ReLU joined the body's second convolution
    assert [(n.attrs.get("act_type"), len(n.inputs)) for n in fused].count(("relu", 5)) == 1
    return res


def test_sum_read_twice_keeps_its_relu():
    """The block's sum is also an output: the add still folds in as the residual (the
    convolution's result has no other reader), the ReLU after it must not."""
    net, x = _block((2, 4, 5, 5), 1, leak=True)
    y0, _, _ = _run(net, x, False)
    net.hybridize()
    y1, _, _ = _run(net, x, False)
    nodes = _fused_nodes(net)
    assert [n.op.name for n in nodes].count("relu") == 1
    fused = [n for n in nodes if n.op.name == "_conv_affine_act"]
    assert not any(n.attrs.get("act_type") for n in fused if len(n.inputs) > 4)
    for a, b in zip(y1, y0):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("size,kernel,stride,pad", [
    ((3,), (6,), (5,), (4,)),            # taps 0, 1, 4, 5
    ((2, 2), (3, 3), (2, 2), (1, 1)),    # the 2x2 taps of ResNet's 2x2 -> 1x1 stage
    ((1, 3), (3, 3), (1, 1), (1, 1)),    # one row of taps
])
def test_partial_taps_equal_reference(size, kernel, stride, pad):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3) + size).astype(np.float32)
    w = rng.standard_normal((4, 3) + kernel).astype(np.float32)
    y = nd.Convolution(nd.array(x), nd.array(w), kernel=kernel, stride=stride, pad=pad,
                       num_filter=4, no_bias=True).asnumpy()
    ref = _conv_ref(x.astype(np.float64), w.astype(np.float64), kernel=kernel, stride=stride,
                    pad=pad)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    taps = cg.taps_for(size, y.shape[2:], kernel, stride, (1,) * len(size), pad)
    assert not taps.all


@pytest.mark.parametrize("shape,w_shape,attrs", [
    ((5, 3, 7, 6), (4, 3, 3, 3), dict(pad=(1, 1))),
    ((4, 6, 2, 2), (8, 6, 3, 3), dict(stride=(2, 2), pad=(1, 1))),   # a 2x2 box of taps
    ((3, 4, 9), (2, 4, 3), dict(stride=(2,), dilate=(2,))),
    ((2, 2, 4, 5, 3), (3, 2, 2, 3, 2), dict(stride=(2, 1, 1), pad=(1, 1, 0))),
])
def test_batch_blocks_equal_reference(monkeypatch, shape, w_shape, attrs):
    """The forward cut into batch blocks on worker threads (forced here: the tests' shapes are
    below the work it needs) equals the reference, with the fused epilogue too."""
    monkeypatch.setattr(cg, "SPLIT_MIN_MACS", 0)
    monkeypatch.setattr(cg._small_map, "MAX_PAIRS", 0)   # the 2x2 case: the im2col route
    monkeypatch.setenv("KILN_THREADS", "2")
    calls = []
    blocks = cg._forward_blocks
    monkeypatch.setattr(cg, "_forward_blocks", lambda *a: calls.append(1) or blocks(*a))
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(shape), rng.standard_normal(w_shape)
    kernel, f = w_shape[2:], w_shape[0]
    s, b = rng.uniform(0.5, 1.5, f), rng.standard_normal(f)
    y = nd.Convolution(nd.array(x), nd.array(w), nd.array(b), kernel=kernel, num_filter=f,
                       **attrs).asnumpy()
    ref = _conv_ref(x, w, b, kernel=kernel, **attrs)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    assert len(calls) == 1
    r = rng.standard_normal(ref.shape)
    y = OPS["_conv_affine_act"].func(*map(nd.array, (x, w, s, b, r)), kernel=kernel,
                                     num_filter=f, act_type="relu", **attrs).asnumpy()
    ref = np.maximum((ref - b.reshape((1, -1) + (1,) * len(kernel))) * s.reshape(
        (1, -1) + (1,) * len(kernel)) + b.reshape((1, -1) + (1,) * len(kernel)) + r, 0)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)
    assert len(calls) == 2


def test_scaled_side_is_the_smaller_one():
    """The fold scales the weight where it is smaller than the output (the literal scale 1),
    else the output: the block at 6x6, batch 2 has both."""
    net, x = _block((2, 4, 6, 6), 1)
    net.hybridize()
    net(x)
    scales = [n.inputs[2] for n in _fused_nodes(net) if n.op.name == "_conv_affine_act"]
    assert sorted(isinstance(s, float) for s in scales) == [False, True, True]
