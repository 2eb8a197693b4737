"""The on-disk compile cache (symbol/compile_cache.py): a graph compiled in another process (or
after the block dropped its graphs) is loaded, not optimized and generated again; it computes
exactly what a cold compile does; bad entries are logged and recompiled; different graphs never
share an entry."""
import logging
import os

import numpy as np
import pytest
from kiln import autograd, gluon, nd
from kiln.symbol import cached, compile_cache, passes


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "compile-cache"
    monkeypatch.setenv(compile_cache.ENV, str(folder))
    return folder


def _net(**flags):
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Conv2D(4, 3, in_channels=2), gluon.nn.BatchNorm(in_channels=4),
            gluon.nn.Activation("relu"), gluon.nn.Dense(5, in_units=4 * 4 * 4))
    net.initialize()
    net.hybridize(**flags)
    return net


def _data(n=3, dtype=np.float32):
    rng = np.random.default_rng(0)
    return nd.array(rng.standard_normal((n, 2, 6, 6)).astype(dtype), dtype=dtype), \
        nd.array(np.arange(n) % 5, dtype=dtype)


def _step(net, x, y):
    """Loss, prediction-mode output and every parameter's gradient after one recorded step."""
    with autograd.record():
        loss = gluon.loss.SoftmaxCrossEntropyLoss()(net(x), y)
    loss.backward()
    grads = {k: p.grad().asnumpy().copy() for k, p in net.collect_params().items()
             if p.grad_req != "null"}
    return loss.asnumpy(), net(x).asnumpy(), grads


def _entries(folder):
    return sorted(p.name for p in folder.rglob("*.json"))


def _fresh_graphs(net, **flags):
    net.hybridize(**flags)  # drops the compiled graphs: the next call traces again


@pytest.mark.parametrize("flags", [{}, {"static_alloc": True}])
def test_a_cache_hit_computes_what_a_cold_compile_does(cache_dir, monkeypatch, flags):
    net = _net(**flags)
    x, y = _data()
    saved = {k: p.data().asnumpy().copy() for k, p in net.collect_params().items()}
    cold = _step(net, x, y)
    written = _entries(cache_dir)
    assert any(n.endswith(".forward_train.json") for n in written)
    assert any(n.endswith(".forward.json") for n in written)
    for k, p in net.collect_params().items():  # undo the running statistics' update
        p.set_data(nd.array(saved[k]))
    _fresh_graphs(net, **flags)

    def no_optimize(*a, **k):
        raise AssertionError("a cache hit optimized the graph again")
    monkeypatch.setattr(passes, "optimize", no_optimize)
    warm = _step(net, x, y)
    assert _entries(cache_dir) == written
    np.testing.assert_array_equal(warm[0], cold[0])
    np.testing.assert_array_equal(warm[1], cold[1])
    assert warm[2].keys() == cold[2].keys()
    for k in cold[2]:
        np.testing.assert_array_equal(warm[2][k], cold[2][k], err_msg=k)


def test_a_loaded_function_still_names_the_failing_node(cache_dir):
    net = _net()
    x, _ = _data()
    for _ in range(2):  # one call site: nodes record the user's line, which is in the key
        _fresh_graphs(net)
        net(x)
    fn = next(iter(net._cached_op.entries.values())).forward
    assert fn.plan is None and fn.replan is not None  # loaded, not generated
    node = next(iter(fn.line_nodes.values()))
    assert node.block and node.where() != "?"


@pytest.mark.parametrize("damage", ["truncate", "garbage", "flip", "empty"])
def test_a_corrupt_entry_is_logged_and_recompiled(cache_dir, caplog, damage):
    net = _net()
    x, y = _data()
    saved = {k: p.data().asnumpy().copy() for k, p in net.collect_params().items()}
    cold = _step(net, x, y)
    for path in cache_dir.rglob("*.json"):
        raw = path.read_bytes()
        path.write_bytes({"truncate": raw[:len(raw) // 2], "garbage": b"\x00\xffnot json",
                          "flip": raw.replace(b"def ", b"dex ", 1),  # valid JSON
                          "empty": b""}[damage])
    for k, p in net.collect_params().items():
        p.set_data(nd.array(saved[k]))
    _fresh_graphs(net)
    with caplog.at_level(logging.WARNING, logger="kiln.compile_cache"):
        again = _step(net, x, y)
    assert any("ignored" in r.getMessage() for r in caplog.records)
    np.testing.assert_array_equal(again[0], cold[0])
    for k in cold[2]:
        np.testing.assert_array_equal(again[2][k], cold[2][k], err_msg=k)
    # the bad entries were replaced by good ones
    caplog.clear()
    _fresh_graphs(net)
    with caplog.at_level(logging.WARNING, logger="kiln.compile_cache"):
        _step(net, x, y)
    assert not caplog.records


def _key(net, x, training):
    net._cached_op.clear() if net._cached_op is not None else None
    with autograd.record(train_mode=training):
        net(x)
    return next(iter(net._cached_op.entries.values())).cache_key


def test_different_graphs_never_share_an_entry(cache_dir):
    x, _ = _data()
    first = _net()
    keys = [_key(first, x, True), _key(_net(), x, False), _key(_net(), _data(4)[0], True),
            _key(_net(static_alloc=True), x, True)]
    net64 = _net()
    net64.cast("float64")
    keys.append(_key(net64, _data(dtype=np.float64)[0], True))
    wider = gluon.nn.HybridSequential()
    wider.add(gluon.nn.Conv2D(4, 3, in_channels=2, padding=1), gluon.nn.BatchNorm(in_channels=4),
              gluon.nn.Activation("relu"), gluon.nn.Dense(5, in_units=4 * 6 * 6))
    wider.initialize()
    wider.hybridize()
    keys.append(_key(wider, x, True))
    assert None not in keys and len(set(keys)) == len(keys)
    # the same graph traced again: the same entry (a new network in this process has other
    # parameter names, which are in the key; a new process names them alike)
    assert _key(first, x, True) == keys[0]


def test_the_cache_is_off_when_told(monkeypatch, tmp_path):
    monkeypatch.setenv(compile_cache.ENV, "0")
    net = _net()
    net(_data()[0])
    assert next(iter(net._cached_op.entries.values())).cache_key is None
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("value", ["1", "on", "TRUE"])
def test_switching_the_cache_on_keeps_the_default_folder(monkeypatch, tmp_path, value):
    """``KILN_COMPILE_CACHE=1`` means on, not a folder named "1" under the working folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv(compile_cache.ENV, value)
    assert compile_cache.directory() == os.path.join(str(tmp_path), "kiln", "compile")
    monkeypatch.setenv(compile_cache.ENV, str(tmp_path / "mine"))
    assert compile_cache.directory() == str(tmp_path / "mine")


def test_values_round_trip_through_the_encoding():
    for v in [None, True, 3, -2.5, float("inf"), float("nan"), "a", (1, (2, 3)), [1, 2], ()]:
        back = compile_cache.decode(compile_cache.encode(v))
        assert repr(back) == repr(v) and type(back) is type(v)
    with pytest.raises(compile_cache.Uncacheable):
        compile_cache.encode(object())


_ = cached


_SCRIPT = """
import numpy as np
import kiln
from kiln import autograd, gluon, nd
from kiln.symbol import passes
kiln.random.seed(0)
calls = []
optimize = passes.optimize
passes.optimize = lambda *a, **k: calls.append(1) or optimize(*a, **k)
net = gluon.nn.HybridSequential()
net.add(gluon.nn.Dense(4, activation="relu", in_units=3), gluon.nn.Dense(2, in_units=4))
net.initialize()
net.hybridize()
x = nd.array(np.arange(6, dtype=np.float32).reshape(2, 3))
with autograd.record():
    loss = net(x).sum()
loss.backward()
print(len(calls), float(loss.asnumpy().sum()), float(net[0].weight.grad().asnumpy().sum()))
"""


def test_a_second_process_loads_what_the_first_compiled(cache_dir, tmp_path, monkeypatch):
    import subprocess
    import sys
    monkeypatch.chdir(tmp_path)
    runs = [subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True,
                           check=True, env=dict(os.environ, PYTHONWARNINGS="error"))
            .stdout.split() for _ in range(2)]
    assert int(runs[0][0]) > 0 and int(runs[1][0]) == 0  # the second optimized nothing
    assert runs[0][1:] == runs[1][1:]
