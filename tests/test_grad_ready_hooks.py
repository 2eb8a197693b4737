"""autograd.register_grad_ready_hook: called once per variable per backward, as soon as its
gradient is final (last layer first), eagerly and inside hybridized backwards, with the
values the backward leaves in ``.grad``."""
import gc

import kiln
import numpy as np
import pytest
from kiln import autograd, gluon, nd
from kiln.gluon import nn


def _net(hybridize, seed=3):
    kiln.random.seed(seed)
    net = nn.HybridSequential()
    net.add(nn.Dense(8, activation="relu", in_units=4), nn.Dense(6, activation="relu"),
            nn.Dense(3))
    net.initialize(kiln.init.Xavier())
    net(nd.zeros((1, 4)))
    if hybridize:
        net.hybridize()
    return net


def _batch():
    rng = np.random.RandomState(0)
    return nd.array(rng.rand(5, 4)), nd.array([0, 1, 2, 0, 1])


def _hook_all(net, log):
    """Hooks logging (layer index, name, .grad then, whether each other parameter's .grad
    was already written by this backward)."""
    params = list(net.collect_params().values())
    handles = []
    for layer, block in enumerate(net):
        for p in block.collect_params().values():
            def hook(v, layer=layer, name=p.name):
                written = {q.name: q.list_data()[0]._fresh_grad for q in params}
                log.append((layer, name, v.grad.asnumpy().copy(), written))
            handles.append(autograd.register_grad_ready_hook(p.list_data()[0], hook))
    return handles


def _step(net, loss_fn, x, y):
    for p in net.collect_params().values():
        p.list_data()[0]._fresh_grad = False  # as Trainer.step leaves them
    with autograd.record():
        loss = loss_fn(net(x), y)
    loss.backward()


@pytest.mark.parametrize("mode", ["eager", "hybrid", "hybrid+loss"])
def test_hooks_fire_once_per_parameter_last_layer_first(mode):
    net = _net(mode != "eager")
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    if mode == "hybrid+loss":  # the engine's chain path: gradients computed in .grad
        loss_fn.hybridize()
    x, y = _batch()
    log = []
    _hook_all(net, log)
    for _ in range(2):
        log.clear()
        _step(net, loss_fn, x, y)
        params = {p.name: p for p in net.collect_params().values()}
        assert sorted(name for _, name, _, _ in log) == sorted(params)  # once each
        layers = [layer for layer, *_ in log]
        assert layers == sorted(layers, reverse=True), layers  # last layer first
        for _, name, grad, _ in log:
            np.testing.assert_array_equal(grad, params[name].grad().asnumpy())
        # the last layer's first hook ran before the first layer's gradient was written:
        # the backward went on after it
        first = log[0][3]
        assert not any(first[p.name] for p in net[0].collect_params().values()), first


@pytest.mark.parametrize("mode", ["eager", "hybrid", "hybrid+loss"])
def test_gradients_equal_those_without_hooks(mode):
    x, y = _batch()
    got = []
    for hooked in (False, True):
        net = _net(mode != "eager")
        loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
        if mode == "hybrid+loss":
            loss_fn.hybridize()
        handles = _hook_all(net, []) if hooked else []
        net[0].weight.grad_req = "add"  # accumulates over the two backwards
        for p in net.collect_params().values():
            p.zero_grad()
        for _ in range(2):
            _step(net, loss_fn, x, y)
        got.append({p.name.split("_", 1)[1] + str(i): p.grad().asnumpy()
                    for i, p in enumerate(net.collect_params().values())})
        for h in handles:
            h.remove()
    assert got[0].keys() == got[1].keys()
    for k in got[0]:
        np.testing.assert_array_equal(got[0][k], got[1][k], err_msg=k)


def test_shared_variable_reported_after_its_last_use():
    w = nd.array([1.0, 2.0])
    w.attach_grad()
    seen = []
    autograd.register_grad_ready_hook(w, lambda v: seen.append(v.grad.asnumpy().copy()))
    with autograd.record():
        y = (w * w).sum() + (w * 3).sum()
    y.backward()
    assert len(seen) == 1
    np.testing.assert_array_equal(seen[0], [5.0, 7.0])  # 2w + 3, the whole sum


def test_remove_and_collection_leave_no_hooks():
    w = nd.ones((2,))
    w.attach_grad()
    calls = []
    h1 = autograd.register_grad_ready_hook(w, lambda v: calls.append(1))
    autograd.register_grad_ready_hook(w, lambda v: calls.append(2))
    h1.remove()
    h1.remove()  # twice: nothing
    with autograd.record():
        y = (w * 2).sum()
    y.backward()
    assert calls == [2]
    assert id(w) in autograd._READY_HOOKS
    key = id(w)
    del w, y
    gc.collect()
    assert key not in autograd._READY_HOOKS


def test_hook_needs_a_variable():
    with pytest.raises(kiln.base.MXNetError, match="attach_grad"):
        autograd.register_grad_ready_hook(nd.ones(2), lambda v: None)
    w = nd.ones(2)
    w.attach_grad()
    with pytest.raises(TypeError, match="callable"):
        autograd.register_grad_ready_hook(w, 3)


def test_notify_variant_reports_each_target_after_its_line():
    net = _net(True)
    for p in net.collect_params().values():
        autograd.register_grad_ready_hook(p.list_data()[0], lambda v: None)
    x, _ = _batch()
    with autograd.record():
        out = net(x)
    out.backward()
    fns = [f for entry in net._cached_op.entries.values() for t in entry.train.values()
           for f in t._notify.values()]
    assert len(fns) == 1
    src = fns[-1].source
    lines = src.splitlines()
    for k in range(6):  # each gradient reported once, right after the line computing it
        at = [i for i, line in enumerate(lines) if line.strip().startswith(f"_ready({k},")]
        assert len(at) == 1, src
        name = lines[at[0]].split(", ")[1].rstrip(")")
        before = lines[at[0] - 1].split("#")[0].strip()  # computes it, or into .grad
        assert before.startswith(f"{name} =") or f"out={name})" in before, src
