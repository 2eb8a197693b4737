"""Truncated BPTT as MXNet 1.9 does it: an output of a graph that a backward already freed is a
constant to graphs recorded afterwards (d2l's RNN loops feed the old state to the next batch and
discard ``state.detach()``'s result). A graph recorded before the free still raises."""
import kiln as mx
import numpy as np
import pytest
from kiln import autograd, nd
from kiln.base import MXNetError
from kiln.gluon import nn


def var(v):
    x = nd.array(v)
    x.attach_grad()
    return x


def test_output_of_a_freed_graph_is_a_constant():
    x = var([1.0, 2.0])
    with autograd.record():
        s = x * 3
        loss = s.sum()
    loss.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), [3, 3])
    with autograd.record():
        y = (s * x).sum()              # s counts as a constant: dy/dx = s (MXNet: the same)
    y.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), [3, 6])
    with autograd.record():
        y = (s * x).sum()
    (g,) = autograd.grad(y, [x])
    np.testing.assert_allclose(g.asnumpy(), [3, 6])


def test_second_backward_from_the_same_head_still_raises():
    x = var([1.0, 2.0])
    with autograd.record():
        s = x * 2
        loss = s.sum()
    loss.backward()
    with pytest.raises(MXNetError, match="already been freed"):
        loss.backward()
    with pytest.raises(MXNetError, match="already been freed"):
        s.backward()


def test_graph_recorded_before_the_free_raises():
    x = var([1.0, 2.0])
    with autograd.record():
        s = x * 2
        l1 = s.sum()
        l2 = (s * x).sum()             # shares s's node, which l1's backward frees
    l1.backward()
    with pytest.raises(MXNetError, match="already been freed"):
        l2.backward()


def test_retained_graph_is_still_differentiated_through():
    x = var([1.0, 2.0])
    with autograd.record():
        s = x * 2
        loss = s.sum()
    loss.backward(retain_graph=True)
    with autograd.record():
        y = (s * 3).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), [6, 6])


def test_head_reaching_only_constants_raises_as_mxnet():
    x = var([1.0, 2.0])
    with autograd.record():
        s = x * 2
        loss = s.sum()
    loss.backward()
    with autograd.record():
        y = (s * 3).sum()
    with pytest.raises(MXNetError, match="cannot differentiate"):
        y.backward()


def test_d2l_rnn_loop_eager():
    # MXNet 1.9.1 prints W.grad 1, 0.5, 0.25 and state 0.5, 0.25, 0.125
    w = var([[0.5]])
    state = nd.ones((1, 1))
    got = []
    for _ in range(3):
        with autograd.record():
            state.detach()             # result discarded, as in d2l
            state = nd.dot(state, w)
            loss = state.sum()
        loss.backward()
        got.append((w.grad.asscalar(), state.asscalar()))
    np.testing.assert_allclose(got, [(1, 0.5), (0.5, 0.25), (0.25, 0.125)])


class Step(nn.HybridBlock):
    """One RNN step: h' = tanh(W x + U h)."""

    def __init__(self):
        super().__init__()
        self.i2h = nn.Dense(3, in_units=2, use_bias=False)
        self.h2h = nn.Dense(3, in_units=3)

    def forward(self, x, h):
        return nd.tanh(self.i2h(x) + self.h2h(h))


def _run_loop(hybridize, detach):
    mx.random.seed(0)
    net = Step()
    net.initialize(mx.init.Uniform(0.5))
    if hybridize:
        net.hybridize()
    xs = nd.array(np.random.RandomState(1).rand(4, 5, 2))
    h = nd.zeros((5, 3))
    grads = []
    for t in range(4):
        with autograd.record():
            if detach:
                h = h.detach()
            h = net(xs[t], h)
            loss = (h * h).sum()
        loss.backward()
        grads.append([p.grad().asnumpy().copy() for p in net.collect_params().values()])
    return grads


@pytest.mark.parametrize("hybridize", [False, True])
def test_rnn_loop_with_block_matches_explicit_detach(hybridize):
    want = _run_loop(False, detach=True)
    got = _run_loop(hybridize, detach=False)
    for g, w in zip(got, want):
        for a, b in zip(g, w):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_hybridized_chain_treats_freed_input_as_constant():
    # MXNet 1.9.1: the second backward gives the weight gradient [[h0, h1], [h0, h1]]
    net = nn.Dense(2, in_units=2)
    net.initialize()
    net.hybridize()
    x = var([[1.0, 2.0]])
    with autograd.record():
        h = net(x)
        loss = h.sum()
    loss.backward()
    xg = x.grad.asnumpy().copy()
    with autograd.record():
        h2 = net(h)
        loss2 = h2.sum()
    loss2.backward()
    hv = h.asnumpy()[0]
    np.testing.assert_allclose(net.weight.grad().asnumpy(), [hv, hv], rtol=1e-6)
    np.testing.assert_allclose(x.grad.asnumpy(), xg)  # not reached: x's graph was freed


class SumLoss(nn.HybridBlock):
    def forward(self, h):
        return (h * h).sum()


def test_chain_path_of_hybridized_calls_stops_at_a_freed_input():
    want = _run_loop(False, detach=True)
    mx.random.seed(0)
    net, loss_fn = Step(), SumLoss()
    net.initialize(mx.init.Uniform(0.5))
    net.hybridize()
    loss_fn.hybridize()
    xs = nd.array(np.random.RandomState(1).rand(4, 5, 2))
    h = nd.zeros((5, 3))
    for t in range(4):
        with autograd.record():
            h = net(xs[t], h)
            loss = loss_fn(h)
        loss.backward()
        for a, b in zip([p.grad().asnumpy() for p in net.collect_params().values()], want[t]):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
