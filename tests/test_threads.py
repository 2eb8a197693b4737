"""Hybridized blocks called from several threads at once.

Under ``static_alloc`` a compiled graph keeps its intermediate buffers across calls; two threads
running the same graph must not write into each other's buffers (they once got wrong results,
silently, a few calls in a hundred).
"""
import sys
import threading
import time

import numpy as np
import pytest
from kiln import autograd, gluon, nd
from kiln.symbol.cached import CachedGraph

THREADS = 2
CALLS = 150


@pytest.fixture
def fast_switching():
    """Switch threads every microsecond, so the calls interleave inside the compiled graph."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def _net(static_alloc):
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(256, activation="relu", in_units=32),
            gluon.nn.Dense(256, activation="tanh", in_units=256),
            gluon.nn.Dense(8, in_units=256))
    net.initialize()
    net.hybridize(static_alloc=static_alloc)
    return net


def _inputs():
    rng = np.random.RandomState(0)
    return [rng.uniform(-1, 1, (64, 32)).astype(np.float32) * (k + 1) for k in range(THREADS)]


def _run_threads(work):
    """Run ``work(k)`` in THREADS threads started together; return their error lists."""
    barrier = threading.Barrier(THREADS)
    errors = [[] for _ in range(THREADS)]

    def target(k):
        barrier.wait()
        errors[k] = work(k)

    threads = [threading.Thread(target=target, args=(k,)) for k in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def _predict(net, x):
    return net(nd.array(x)).asnumpy()


@pytest.mark.usefixtures("fast_switching")
def test_static_alloc_predictions_are_right_in_two_threads():
    net = _net(static_alloc=True)
    xs = _inputs()
    want = [_predict(net, x) for x in xs]  # also traces and compiles before the threads start

    def work(k):
        return [i for i in range(CALLS) if not np.array_equal(_predict(net, xs[k]), want[k])]

    errors = _run_threads(work)
    assert errors == [[]] * THREADS, f"wrong results at calls {errors}"


def _input_grad(net, x):
    x = nd.array(x)
    x.attach_grad()
    with autograd.record():
        y = net(x)
    y.backward()
    return x.grad.asnumpy()


@pytest.mark.usefixtures("fast_switching")
def test_static_alloc_backward_is_right_in_two_threads():
    net = _net(static_alloc=True)
    net.collect_params().setattr("grad_req", "null")  # shared .grad arrays would race anyway
    xs = _inputs()
    want = [_input_grad(net, x) for x in xs]

    def work(k):
        return [i for i in range(CALLS) if not np.array_equal(_input_grad(net, xs[k]), want[k])]

    errors = _run_threads(work)
    assert errors == [[]] * THREADS, f"wrong gradients at calls {errors}"


class _SlowTrace(gluon.HybridBlock):
    def forward(self, x):
        time.sleep(0.2)  # runs while tracing only: the other thread arrives meanwhile
        return x * 2


def test_a_signature_first_called_in_two_threads_is_traced_once():
    graph = CachedGraph(_SlowTrace(), {})
    xs = _inputs()
    errors = _run_threads(lambda k: [] if np.array_equal(graph(nd.array(xs[k])).asnumpy(),
                                                         xs[k] * 2) else [k])
    assert errors == [[]] * THREADS
    assert graph.trace_count == 1
