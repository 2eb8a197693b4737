"""Gradients of a hybridized network reach ``.grad`` alike on both executors, loss eager or
hybridized, grad_req 'write' or 'add'.

With the loss eager the general autograd engine runs the network's compiled backward: the
gradients of parameters that only the network reads are computed right into their ``.grad``
arrays (onnxruntime's I/O binding, the numpy code generator's ``out_mask``), as autograd's
chain path does when the loss is hybridized too. The reference is the same network run
eagerly (not hybridized).
"""
import kiln
import numpy as np
import pytest
from kiln import autograd, gluon, nd
from kiln.gluon import nn

pytest.importorskip("onnxruntime")
RTOL, ATOL = 2e-4, 2e-5
BACKENDS = {"eager": None, "numpy": "numpy", "onnxruntime": "onnxruntime"}


def _net(backend, grad_req):
    """A small MLP with BatchNorm; ``grad_req``: one for all, or a list, one per parameter."""
    kiln.random.seed(1)
    net = nn.HybridSequential()
    net.add(nn.Dense(16, activation="relu"), nn.BatchNorm(), nn.Dense(10))
    net.initialize(kiln.init.Xavier())
    x = _data()[0]
    net(x)  # deferred shapes
    reqs = grad_req if isinstance(grad_req, list) else [grad_req] * len(_trained(net))
    for p, req in zip(_trained(net), reqs):
        p.grad_req = req
    if backend is not None:
        opts = {"training": "onnxruntime"} if backend == "onnxruntime" else None
        net.hybridize(backend=None if backend == "numpy" else backend, backend_opts=opts)
    return net


def _trained(net):
    return [p for p in net.collect_params().values() if p.grad_req != "null"]


def _data():
    rng = np.random.default_rng(0)
    return (nd.array(rng.standard_normal((8, 20)).astype(np.float32)),
            nd.array(rng.integers(0, 10, 8).astype(np.float32)))


def _grads(backend, grad_req, loss_kind, steps=2, regularize=False):
    """The parameters' ``.grad`` after ``steps`` backwards (no optimizer step: with 'add' they
    accumulate), and whether each weight's ``.grad`` array stayed the same array."""
    net = _net(backend, grad_req)
    x, y = _data()
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    if loss_kind == "hybridized" and backend is not None:
        loss_fn.hybridize(backend=None if backend == "numpy" else backend,
                          backend_opts={"training": "onnxruntime"}
                          if backend == "onnxruntime" else None)
    params = _trained(net)
    first = [p.grad()._data for p in params]
    for _ in range(steps):
        with autograd.record():
            loss = loss_fn(net(x), y)
            if regularize:  # the first weight is read by an eager op too: two contributions
                w = net[0].weight.data()
                loss = loss + 0.1 * (w * w).sum()
        loss.backward()
    grads = [p.grad().asnumpy() for p in params]
    kept = [a is p.grad()._data for a, p in zip(first, params)]
    return grads, kept


def _close(got, want, what):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL, err_msg=what)


@pytest.mark.parametrize("loss_kind", ["eager", "hybridized"])
@pytest.mark.parametrize("grad_req", ["write", "add"])
def test_gradients_equal_numpy_executor(loss_kind, grad_req):
    want, _ = _grads(None, grad_req, loss_kind)
    for backend in ("numpy", "onnxruntime"):
        got, kept = _grads(BACKENDS[backend], grad_req, loss_kind)
        _close(got, want, f"{backend} {grad_req} loss {loss_kind}")
        if grad_req == "write":  # computed right into .grad, no new array per step
            assert all(kept), (backend, loss_kind, kept)
    if grad_req == "add":  # two backwards without a step: twice one backward
        once, _ = _grads(None, "write", loss_kind, steps=1)
        _close(want, [2 * g for g in once], "add accumulates")


def test_eager_loss_uses_the_in_place_backward():
    """The eager-loss backward asked the compiled backward for the gradients in .grad."""
    net = _net("onnxruntime", "write")
    x, y = _data()
    with autograd.record():
        loss = gluon.loss.SoftmaxCrossEntropyLoss()(net(x), y)
    loss.backward()
    trains = [t for e in net._cached_op.entries.values() for t in e.train.values()]
    assert any(t._into for t in trains)


@pytest.mark.parametrize("loss_kind", ["eager", "hybridized"])
def test_mixed_grad_reqs(loss_kind):
    """'add' on some parameters, 'write' on the others: the backward writes some gradients
    into .grad and returns the others as new arrays, which are added."""
    reqs = ["add", "write"] * 3
    want, _ = _grads(None, reqs, loss_kind)
    for backend in ("numpy", "onnxruntime"):
        got, kept = _grads(BACKENDS[backend], reqs, loss_kind)
        _close(got, want, f"{backend} mixed loss {loss_kind}")
        assert all(k for k, r in zip(kept, reqs) if r == "write"), (backend, kept)


@pytest.mark.parametrize("grad_req", ["write", "add"])
@pytest.mark.parametrize("backend", ["numpy", "onnxruntime"])
def test_a_parameter_read_outside_the_network_sums_both_gradients(backend, grad_req):
    """A weight read by an eager op as well: its gradient is the sum of both contributions
    (not written in place and then overwritten)."""
    want, _ = _grads(None, grad_req, "eager", regularize=True)
    got, _ = _grads(BACKENDS[backend], grad_req, "eager", regularize=True)
    _close(got, want, f"{backend} {grad_req} regularized")


def test_in_place_engine_off_gives_the_same_gradients(monkeypatch):
    want, _ = _grads("onnxruntime", "write", "eager")
    monkeypatch.setattr(autograd, "IN_PLACE_ENGINE", False)
    got, kept = _grads("onnxruntime", "write", "eager")
    _close(got, want, "engine in place off")


@pytest.mark.parametrize("backend", ["numpy", "onnxruntime"])
def test_gradient_ready_hooks_see_the_in_place_gradients(backend):
    """Hooks on every parameter, loss eager: each fires once, with the final gradient."""
    net = _net(BACKENDS[backend], "write")
    x, y = _data()
    seen = {}
    for p in _trained(net):
        autograd.register_grad_ready_hook(
            p.list_data()[0], lambda v, name=p.name: seen.setdefault(name, []).append(
                v.grad.asnumpy().copy()))
    with autograd.record():
        loss = gluon.loss.SoftmaxCrossEntropyLoss()(net(x), y)
    loss.backward()
    want, _ = _grads(None, "write", "eager", steps=1)
    assert sorted(seen) == sorted(p.name for p in _trained(net))
    _close([seen[p.name][0] for p in _trained(net)], want, f"{backend} hooks")
    assert all(len(v) == 1 for v in seen.values())
