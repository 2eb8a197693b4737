"""The engine's chain path (autograd._chain_backward: hybridized calls feeding each other) gives
exactly what the general engine gives, and declines the tapes it does not handle."""
import kiln
import numpy as np
import pytest
from kiln import autograd, gluon, nd


def _net(seed=0):
    kiln.random.seed(seed)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(5, activation="tanh", in_units=4),
            gluon.nn.Dense(3, in_units=5))
    net.initialize(kiln.init.Xavier())
    net.cast("float64")
    net.hybridize(static_alloc=True)
    return net


def _step(net, loss_fn, x, y, head=None, grad_x=False, retain=False):
    if grad_x:
        x.attach_grad()
    with autograd.record():
        loss = loss_fn(net(x), y)
    loss.backward(head, retain_graph=retain)
    if retain:
        loss.backward(head)
    grads = {k: p.grad().asnumpy().copy() for k, p in net._collect_params_with_prefix().items()}
    if grad_x:
        grads["x"] = x.grad.asnumpy().copy()
    return loss.asnumpy(), grads


CASES = {
    "plain": {},
    "head gradient of another dtype": {"head": nd.array([1.0, 2.0, 0.5], dtype="float32")},
    "input gradient": {"grad_x": True},
    "retain_graph, twice": {"retain": True},
}


@pytest.mark.parametrize("eager_loss", [False, True])
@pytest.mark.parametrize("req", ["write", "add"])
@pytest.mark.parametrize("case", list(CASES))
def test_chain_path_equals_general_engine(case, req, eager_loss, monkeypatch):
    """Also with the loss eager: its one fused op heads the chain (its gradient first)."""
    rng = np.random.default_rng(0)
    x = nd.array(rng.normal(size=(3, 4)), dtype="float64")
    y = nd.array([0, 2, 1], dtype="float64")
    results, taken = [], []
    for chain in (True, False):
        net = _net()
        for p in net.collect_params().values():
            p.grad_req = req
        loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
        if not eager_loss:
            loss_fn.hybridize()
        real = autograd._chain_backward

        def spy(*a, _real=real, _chain=chain):
            ok = _chain and _real(*a)
            taken.append(ok)
            return ok
        monkeypatch.setattr(autograd, "_chain_backward", spy)
        for _ in range(2):      # twice: 'add' accumulates
            out = _step(net, loss_fn, x.copy(), y, **CASES[case])
        results.append(out)
    assert taken[:2] == [True, True]
    (la, ga), (lb, gb) = results
    np.testing.assert_array_equal(la, lb)
    assert ga.keys() == gb.keys()
    for k in ga:
        np.testing.assert_allclose(ga[k], gb[k], rtol=1e-12, atol=1e-14, err_msg=k)


def test_chain_path_declines_other_tapes():
    rng = np.random.default_rng(1)
    x = nd.array(rng.normal(size=(3, 4)), dtype="float64")
    net = _net()
    calls = []
    real = autograd._chain_backward

    def spy(*a):
        ok = real(*a)
        calls.append(ok)
        return ok
    autograd._chain_backward = spy
    try:
        with autograd.record():
            out = net(x)
            loss = (out * out).sum()          # eager ops after the hybridized call
        loss.backward()
        with autograd.record():
            loss = net(x) + net(x)            # two calls joined by an eager add
        loss.backward()
        square = gluon.nn.Dense(4, in_units=4)      # one block called twice: the same
        square.initialize()                          # parameters in both calls
        square.cast("float64")
        square.hybridize()
        with autograd.record():
            loss = square(square(x))
        loss.backward()
    finally:
        autograd._chain_backward = real
    assert calls == [False, False, False]


@pytest.mark.parametrize("chain", [True, False])
def test_backward_releases_saved_arrays(chain, monkeypatch):
    """Without retain_graph each hybridized call drops its inputs and saved arrays (the loss's
    saved exp is as large as the logits): in the chain path the loss's before the network's
    backward runs, and in both paths none stays reachable from a loss kept for a metric."""
    rng = np.random.default_rng(0)
    x = nd.array(rng.normal(size=(3, 4)), dtype="float64")
    y = nd.array([0, 2, 1], dtype="float64")
    net = _net()
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    loss_fn.hybridize()
    if not chain:
        monkeypatch.setattr(autograd, "_chain_backward", lambda *a: False)
    with autograd.record():
        loss = loss_fn(net(x), y)
    loss_node = loss._node
    net_node = loss_node.args[0]._node
    assert loss_node.op.saved and net_node.op.saved
    seen = []
    real = type(net_node.op).grad_raw

    def spy(op, ins, *heads, last=False):
        if op is net_node.op:
            seen.append((loss_node.args, loss_node.op.saved))
        return real(op, ins, *heads, last=last)
    monkeypatch.setattr(type(net_node.op), "grad_raw", spy)
    monkeypatch.setattr(type(net_node.op), "grad_into",
                        lambda op, ins, head, mask, buffers, last=False: spy(op, ins, head))
    loss.backward()
    if chain:
        assert seen == [((), ())]
    assert loss_node.op.saved == () and net_node.op.saved == ()
    assert loss_node.args == () and net_node.args == ()


@pytest.mark.parametrize("retain", [False, True])
def test_last_backward_writes_loss_gradient_into_saved_exp(retain, monkeypatch):
    """The chain path's last run of the fused softmax-CE backward writes the logits' gradient
    into the saved exp(x - max) (no second logits-sized array); with retain_graph it leaves
    the saved arrays intact, and the second backward gives the same gradients."""
    rng = np.random.default_rng(0)
    x = nd.array(rng.normal(size=(3, 4)), dtype="float64")
    y = nd.array([0, 2, 1], dtype="float64")
    net = _net()
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    loss_fn.hybridize()
    with autograd.record():
        loss = loss_fn(net(x), y)
    loss_node = loss._node
    net_node = loss_node.args[0]._node
    exps = [a for a in loss_node.op.saved if a.shape == (3, 3)]
    assert len(exps) == 1
    e, e0 = exps[0], exps[0].copy()
    heads = []
    real = type(net_node.op).grad_into

    def spy(op, ins, head, mask, buffers, last=False):
        heads.append(head)
        return real(op, ins, head, mask, buffers, last=last)
    monkeypatch.setattr(type(net_node.op), "grad_into", spy)
    loss.backward(retain_graph=retain)
    first = {k: p.grad().asnumpy().copy() for k, p in net.collect_params().items()}
    assert np.shares_memory(heads[0], e) is not retain
    if retain:
        np.testing.assert_array_equal(e, e0)
        loss.backward()
        for k, p in net.collect_params().items():
            np.testing.assert_array_equal(p.grad().asnumpy(), first[k])
    monkeypatch.setattr(autograd, "_chain_backward", lambda *a: False)
    _, general = _step(_net(), loss_fn, x, y)
    for k, p in net._collect_params_with_prefix().items():
        np.testing.assert_allclose(p.grad().asnumpy(), general[k], rtol=1e-12)


_RAW_OPS = sorted(name for name, op in __import__("kiln.ndarray._registry", fromlist=["OPS"])
                  .OPS.items() if op.raw_grad is not None)


@pytest.mark.parametrize("name", _RAW_OPS)
def test_raw_grad_facet_equals_the_registry_gradient(name):
    """An op's ``raw_grad`` (the chain path's start at an eager loss) gives its ``grad``'s
    numbers on raw arrays, for every sample (with hidden outputs where the op has them)."""
    from kiln.ndarray import _registry
    op = _registry.OPS[name]
    checked = 0
    for sample in op.samples:
        variants = [dict(sample.attrs)]
        if "hidden" in op.attrs:
            variants.append({**sample.attrs, "hidden": True})
        for attrs in variants:
            ins = [np.asarray(a, np.float64) if isinstance(a, np.ndarray) else a
                   for a in sample.inputs]
            outs = op.kernel(np, *ins, **attrs)
            outs = list(outs) if isinstance(outs, tuple) else [outs]
            head = np.random.default_rng(checked).standard_normal(outs[0].shape)
            raw = op.raw_grad(np, ins, outs, head, **attrs)
            if raw is None:
                continue
            nd_ins = [nd.array(a, dtype="float64") if isinstance(a, np.ndarray) else a
                      for a in ins]
            nd_outs = [nd.array(o, dtype=o.dtype) for o in outs]
            gouts = [nd.array(head, dtype=head.dtype)] + [nd.zeros_like(o) for o in nd_outs[1:]]
            want = op.grad(nd_ins, nd_outs, gouts, **attrs)
            for r, w in zip(raw, want):
                if w is None:
                    assert r is None
                else:
                    np.testing.assert_allclose(r, w.asnumpy(), rtol=1e-12, atol=1e-12)
            checked += 1
    assert checked, f"{name}: raw_grad applied to no sample"
