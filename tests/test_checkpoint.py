"""``HybridBlock.checkpoint()``: a hybridized training step recomputes a checkpointed block in
its backward (symbol/remat.py) with the same gradients, fewer saved arrays and a smaller
forward; random ops and BatchNorm statistics are not recomputed."""
import kiln as kl
import numpy as np
import pytest
from kiln import autograd, gluon, nd


def _mlp(extra=None):
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(32, activation="tanh"))
    if extra is not None:
        net.add(extra)
    net.add(gluon.nn.Dense(32, activation="relu"), gluon.nn.Dense(4))
    return net


def _step(make, checkpoint, steps=2):
    kl.random.seed(0)
    net = make()
    net.initialize()
    x = nd.array(np.random.default_rng(0).standard_normal((16, 12)).astype(np.float32))
    net(x)
    for path in checkpoint:
        (net if path == "" else net[path]).checkpoint()
    net.hybridize()
    for _ in range(steps):
        kl.random.seed(1)
        with autograd.record():
            loss = (net(x) ** 2).mean()
        loss.backward()
    grads = [p.grad().asnumpy() for p in net.collect_params().values() if p.grad_req != "null"]
    train = list(list(net._cached_op.entries.values())[-1].train.values())[0]
    return net, grads, train


def _backward_source(train):
    return "".join(f.source for f in train._into.values()) or train.backward.source


@pytest.mark.parametrize("checkpoint", [[0], [0, 1], [""]], ids=["one", "two", "root"])
def test_same_gradients_fewer_saved_arrays(checkpoint):
    _, plain, t0 = _step(_mlp, [])
    net, ck, t1 = _step(_mlp, checkpoint)
    for a, b in zip(ck, plain):
        np.testing.assert_array_equal(a, b)
    assert t1.saved_count < t0.saved_count
    assert t1.forward.peak_temporaries < t0.forward.peak_temporaries
    assert "_remat" in _backward_source(t1)


def test_dropout_inside_is_not_drawn_again():
    make = lambda: _mlp(gluon.nn.Dropout(0.5))  # noqa: E731
    _, plain, _ = _step(make, [])
    _, ck, train = _step(make, [1])
    for a, b in zip(ck, plain):
        np.testing.assert_array_equal(a, b)
    assert "dropout" not in "".join(line for line in _backward_source(train).splitlines()
                                    if "_remat" in line)


def test_batchnorm_recomputed_statistics_updated_once():
    make = lambda: _mlp(gluon.nn.BatchNorm(in_channels=32))  # noqa: E731
    plain_net, plain, _ = _step(make, [], steps=1)
    ck_net, ck, train = _step(make, [1, 2], steps=1)
    # recomputed in the backward, updating copies of the statistics
    assert "_remat_state" in _backward_source(train)
    for a, b in zip(ck, plain):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(ck_net[1].running_mean.data().asnumpy(),
                                  plain_net[1].running_mean.data().asnumpy())


def test_checkpoint_drops_compiled_graphs_and_can_be_undone():
    net, _, before = _step(_mlp, [])
    x = nd.ones((16, 12))
    net[0].checkpoint()
    assert net._cached_op is None  # the parent's graphs include the block: dropped
    with autograd.record():
        net(x).sum().backward()
    train = list(list(net._cached_op.entries.values())[-1].train.values())[0]
    assert train.saved_count < before.saved_count
    net[0].checkpoint(False)
    with autograd.record():
        net(x).sum().backward()
    train = list(list(net._cached_op.entries.values())[-1].train.values())[0]
    assert train.saved_count == before.saved_count


def _eager(checkpoint):
    kl.random.seed(0)
    net = gluon.nn.HybridSequential()
    inner = gluon.nn.HybridSequential()
    inner.add(gluon.nn.Dense(32, activation="tanh"), gluon.nn.Dropout(0.5),
              gluon.nn.BatchNorm(in_channels=32))
    net.add(inner, gluon.nn.Dense(4))
    net.initialize()
    x = nd.array(np.random.default_rng(0).standard_normal((16, 12)).astype(np.float32))
    net(x)
    if checkpoint:
        inner.checkpoint()
    kl.random.seed(1)
    x.attach_grad()
    with autograd.record():
        hidden = inner(x)
        y = net[1](hidden)
    y.backward(nd.array(np.cos(np.arange(y.size)).reshape(y.shape)))
    grads = [p.grad().asnumpy() for p in net.collect_params().values() if p.grad_req != "null"]
    return grads + [x.grad.asnumpy(), inner[2].running_mean.data().asnumpy()], hidden


def test_eager_checkpoint_recomputes_with_the_same_draws():
    plain, _ = _eager(False)
    ck, hidden = _eager(True)
    assert type(hidden._node.op.fn).__name__ == "Recompute"  # one tape node for the block
    for a, b in zip(ck, plain):
        np.testing.assert_array_equal(a, b)
