"""Weight gradients beside the rest of a compiled backward (``memory_plan._gradients_beside``):
a convolution's weight gradient, which nothing else in the backward reads, runs on a worker
thread while the calling thread, on one BLAS thread (``codegen.solo``), computes the data
gradients; the results are those of the plain backward and of eager autograd."""
import threading

import numpy as np
import pytest
from kiln import autograd, gluon, nd
from kiln.ndarray import _blas, _parallel
from kiln.symbol import codegen, memory_plan


def _net():
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Conv2D(6, 3, padding=1, in_channels=3), gluon.nn.BatchNorm(in_channels=6),
            gluon.nn.Activation("relu"), gluon.nn.Conv2D(8, 3, strides=2, in_channels=6),
            gluon.nn.Activation("relu"), gluon.nn.Dense(5, in_units=8 * 3 * 3))
    net.initialize()
    rng = np.random.default_rng(3)
    for p in net.collect_params().values():
        p.set_data(nd.array(rng.uniform(-0.5, 0.5, p.shape)))
    return net


def _grads(hybrid, flags=None, steps=2):
    net = _net()
    if hybrid:
        net.hybridize(**(flags or {}))
    x = nd.array(np.random.default_rng(0).standard_normal((4, 3, 8, 8)))
    y = nd.array(np.arange(4) % 5)
    for _ in range(steps):  # the second call runs the cached graphs
        with autograd.record():
            loss = gluon.loss.SoftmaxCrossEntropyLoss()(net(x), y)
        loss.backward()
    return net, [p.grad().asnumpy() for p in net.collect_params().values()
                 if p.grad_req != "null"]


def _sources(net):
    entry = list(net._cached_op.entries.values())[-1]
    return [f.source for train in entry.train.values()
            for f in [train.backward, *train._into.values()]]


@pytest.mark.parametrize("threads", ["1", "2"])
@pytest.mark.parametrize("flags", [{}, {"static_alloc": True}], ids=["plain", "static"])
def test_weight_gradients_beside_equal_eager(monkeypatch, threads, flags):
    monkeypatch.setenv("KILN_THREADS", threads)
    monkeypatch.setattr(memory_plan, "GRADS_BESIDE_MIN_MACS", 0)  # the small net qualifies
    _, eager = _grads(False)
    net, hybrid = _grads(True, flags)
    sources = _sources(net)
    assert sources and all("with _solo(xp):" in s for s in sources)
    beside = [line for s in sources for line in s.splitlines() if "_beside(" in line]
    assert sum("_conv_weight_grad" in line for line in beside) == 2 * len(sources)
    assert len(eager) == len(hybrid) == 8
    for k, (h, e) in enumerate(zip(hybrid, eager)):
        np.testing.assert_allclose(h, e, rtol=1e-5, atol=1e-6, err_msg=str(k))


def test_small_backwards_stay_on_the_calling_thread():
    # two 3x3 convolutions over a batch of 4 8x8 maps: a thread handoff would cost more
    net, _ = _grads(True)
    assert not any("_beside(" in s or "_solo(" in s for s in _sources(net))


def test_the_switch_turns_it_off(monkeypatch):
    monkeypatch.setattr(memory_plan, "GRADS_BESIDE_MIN_MACS", 0)
    monkeypatch.setattr(memory_plan, "PARALLEL_GRADS", False)
    net, _ = _grads(True)
    assert not any("_beside(" in s for s in _sources(net))


def test_the_work_estimate_is_the_weight_gradients_multiply_adds(monkeypatch):
    # conv 1: gy (4, 6, 8, 8) x filter (3, 3, 3); conv 2: gy (4, 8, 3, 3) x filter (6, 3, 3)
    expected = 4 * 6 * 64 * 27 + 4 * 8 * 9 * 54
    monkeypatch.setattr(memory_plan, "GRADS_BESIDE_MIN_MACS", expected)
    net, _ = _grads(True)
    assert all("_beside(" in s for s in _sources(net))
    monkeypatch.setattr(memory_plan, "GRADS_BESIDE_MIN_MACS", expected + 1)
    net, _ = _grads(True)
    assert not any("_beside(" in s for s in _sources(net))


def test_unstarted_work_runs_on_the_caller(monkeypatch):
    monkeypatch.setenv("KILN_THREADS", "2")   # one worker
    release, started = threading.Event(), threading.Event()

    def busy():
        started.set()
        release.wait(10)
    blocker = _parallel.background(busy)
    assert started.wait(10)
    try:
        job = codegen.run_beside(np, lambda: threading.get_ident())
        assert job.result() == threading.get_ident()   # the worker was busy: taken back
    finally:
        release.set()
    blocker.result()
    job = codegen.run_beside(np, lambda: 7)
    assert job.result() == 7


def test_a_beside_error_reaches_the_caller(monkeypatch):
    monkeypatch.setenv("KILN_THREADS", "2")
    job = codegen.run_beside(np, lambda: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        job.result()


def test_solo_keeps_the_calling_thread_on_one_core(monkeypatch):
    monkeypatch.setenv("KILN_THREADS", "2")
    with _blas.threads(2):
        with codegen.solo(np):
            assert _parallel.is_reserved()
            with _blas.threads(4):   # an inner scope cannot raise the count
                inner = _blas._THREADS[0]
                assert inner is None or inner[0]() == 1
        assert not _parallel.is_reserved()
    monkeypatch.setenv("KILN_THREADS", "1")   # no workers: nothing to make room for
    with codegen.solo(np):
        assert not _parallel.is_reserved()


def test_gradient_ready_hooks_keep_their_order(monkeypatch):
    """With gradient-ready hooks the backward runs on the calling thread: each hook fires
    right after its gradient's line, last layer first, as documented."""
    monkeypatch.setenv("KILN_THREADS", "2")
    monkeypatch.setattr(memory_plan, "GRADS_BESIDE_MIN_MACS", 0)
    net = _net()
    net.hybridize()
    x = nd.array(np.random.default_rng(0).standard_normal((4, 3, 8, 8)))
    y = nd.array(np.arange(4) % 5)
    with autograd.record():   # a first step (predict mode would fold the random statistics)
        gluon.loss.SoftmaxCrossEntropyLoss()(net(x), y).backward()
    order = []
    layers = [(k, p) for k, block in enumerate(net) for p in block.collect_params().values()
              if p.grad_req != "null"]
    for k, p in layers:
        autograd.register_grad_ready_hook(p.list_data()[0], lambda v, k=k: order.append(k))
    with autograd.record():
        loss = gluon.loss.SoftmaxCrossEntropyLoss()(net(x), y)
    loss.backward()
    assert sorted(order) == sorted(k for k, _ in layers)
    assert order == sorted(order, reverse=True), order
    entry = list(net._cached_op.entries.values())[-1]
    notified = [f for train in entry.train.values() for f in train._notify.values()]
    assert notified and not any("_beside(" in f.source for f in notified)
