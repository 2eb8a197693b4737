"""hybridize's graph cache: one per block, invalidated only by changes to that block or its
descendants, bounded (least recently used out), and warning with what changed."""
import gc
import warnings
import weakref

import numpy as np
import pytest
from kiln import autograd, gluon, nd
from kiln.symbol import cached


def _mlp(**hybridize):
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(4, activation="relu", in_units=3), gluon.nn.Dense(2, in_units=4))
    net.initialize()
    net.hybridize(**hybridize)
    return net


class Scale(gluon.HybridBlock):
    """Any input shape: a new graph per shape."""

    def forward(self, x):
        return x * 2


def _recorded(fn):
    """Run ``fn``; return the messages of the warnings it raised (each one expected)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn()
    return [str(w.message) for w in caught]


def test_creating_unrelated_blocks_does_not_retrace():
    net = _mlp()
    x = nd.ones((2, 3))
    net(x)
    graphs = net._cached_op
    gluon.nn.Dense(5, activation="relu")               # once bumped a global version
    other = _mlp()
    other.add(gluon.nn.Dense(1, in_units=2))           # changes another network
    other[0].cast("float64")
    net(x)
    assert net._cached_op is graphs and graphs.trace_count == 1


def test_a_changed_child_retraces_its_ancestors_only():
    inner = gluon.nn.HybridSequential()
    inner.add(gluon.nn.Dense(4, in_units=3))
    outer = gluon.nn.HybridSequential()
    outer.add(inner)
    outer.initialize()
    outer.hybridize()
    bystander = _mlp()
    x = nd.ones((2, 3))
    assert outer(x).shape == (2, 4)
    bystander(x)
    kept = bystander._cached_op
    extra = gluon.nn.Dense(6, in_units=4)
    extra.initialize()
    inner.add(extra)                                   # a grandchild added
    assert outer._cached_op is None and inner._cached_op is None
    assert outer(x).shape == (2, 6)                    # retraced with the new layer
    assert bystander._cached_op is kept


def test_a_cast_child_drops_its_parents_graphs():
    net = _mlp()
    net(nd.ones((2, 3)))
    net[1].cast("float64")
    assert net._cached_op is None


def test_a_replaced_child_no_longer_clears_its_old_parent():
    holder = gluon.nn.HybridSequential()
    first = gluon.nn.Dense(2, in_units=3)
    holder.register_child(first, "body")
    holder.register_child(gluon.nn.Dense(2, in_units=3), "body")
    assert holder not in first._parents


def test_graphs_per_block_are_bounded_least_recently_used_first():
    block = Scale()
    block.hybridize()
    shapes = [(n, 2) for n in range(1, 13)]
    messages = _recorded(lambda: [block(nd.ones(s)) for s in shapes])
    graphs = block._cached_op
    assert len(graphs.entries) == cached.MAX_GRAPHS == 8
    assert len(graphs.fast) == 8
    kept = sorted(key[1][0][0] for key in graphs.entries)
    assert kept == shapes[4:]
    assert graphs.trace_count == 12 and graphs.evictions == 4
    assert len(messages) == 2, messages                # the 6th trace, the first eviction
    assert "traced 6 times" in messages[0] and "input 0 shape (5, 2) -> (6, 2)" in messages[0]
    assert "Scale block" in messages[1] and "at most 8" in messages[1]
    assert "input 0 shape (8, 2) -> (9, 2)" in messages[1]
    block(nd.ones((12, 2)))                            # kept: no trace
    assert graphs.trace_count == 12


def test_lru_keeps_the_graphs_in_use():
    block = Scale()
    block.hybridize(max_graphs=2)
    a, b, c = nd.ones((1, 2)), nd.ones((2, 2)), nd.ones((3, 2))
    block(a)
    block(b)
    block(a)                                           # a is now the most recently used
    messages = _recorded(lambda: block(c))             # evicts b, not a
    assert len(messages) == 1 and "max_graphs" in messages[0]
    graphs = block._cached_op
    block(a)
    assert graphs.trace_count == 3
    assert _recorded(lambda: block(b)) == []           # evicted: traced again, warned once
    assert graphs.trace_count == 4 and len(graphs.entries) == 2


def test_evicted_graphs_are_freed():
    block = Scale()
    block.hybridize(max_graphs=1)
    block(nd.ones((1, 2)))
    first = weakref.ref(next(iter(block._cached_op.entries.values())))
    _recorded(lambda: block(nd.ones((2, 2))))
    gc.collect()
    assert first() is None


def test_the_warning_names_a_mode_or_dtype_change():
    block = Scale()
    block.hybridize(max_graphs=1)
    block(nd.ones((2, 2)))

    def train():
        with autograd.train_mode():
            block(nd.ones((2, 2)))
    messages = _recorded(train)
    assert len(messages) == 1 and "training mode False -> True" in messages[0]
    block = Scale()
    block.hybridize(max_graphs=1)
    block(nd.ones((2, 2)))
    messages = _recorded(lambda: block(nd.ones((2, 2), dtype="float64")))
    assert "input 0 dtype float32 -> float64" in messages[0]


def test_calls_with_literals_are_bounded_too():
    class Add(gluon.HybridBlock):
        def forward(self, x, y=None):
            return x if y is None else x + y
    add = Add()
    add.hybridize(max_graphs=2)
    x = nd.ones((2, 2))
    messages = _recorded(lambda: [add(x, k) for k in (1.0, 2.0, 3.0)])
    assert len(add._cached_op.entries) == 2
    assert len(messages) == 1 and "input 1 2.0 -> 3.0" in messages[0]


def test_module_default_and_flag_validation(monkeypatch):
    monkeypatch.setattr(cached, "MAX_GRAPHS", 3)
    block = Scale()
    block.hybridize()
    _recorded(lambda: [block(nd.ones((n, 2))) for n in range(1, 6)])
    assert len(block._cached_op.entries) == 3
    for bad in (0, -1, 2.5, True, "8"):
        with pytest.raises(ValueError, match="max_graphs"):
            Scale().hybridize(max_graphs=bad)


def test_results_stay_right_across_evictions():
    block = _mlp(max_graphs=2)
    xs = [nd.array(np.random.RandomState(n).rand(n, 3)) for n in (1, 2, 3, 1, 3, 2)]
    want = [_eager(block, x) for x in xs]
    got = []
    _recorded(lambda: got.extend(block(x).asnumpy() for x in xs))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6)


def _eager(net, x):
    w0, b0, w1, b1 = [p.data().asnumpy() for p in net.collect_params().values()]
    h = np.maximum(x.asnumpy() @ w0.T + b0, 0)
    return h @ w1.T + b1


def test_dropped_hybridized_block_frees_its_last_inputs_at_once():
    """The compiled-graph cache refers to its block weakly: dropping a hybridized block frees
    the last call's inputs and their gradients by reference counting, without waiting for the
    cycle collector (MXNet's test_gluon loops over 512 MB inputs this way)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        net = gluon.nn.Dense(2, in_units=3)
        net.initialize()
        net.hybridize()
        x = nd.ones((4, 3))
        x.attach_grad()
        net(x)
        with autograd.record():
            y = net(x)
        y.backward()
        gone = weakref.ref(x)
        del net, x, y
        assert gone() is None
    finally:
        if was_enabled:
            gc.enable()
