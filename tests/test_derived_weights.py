"""Forms derived from a weight are kept while it is unchanged (ndarray/_derived.py), and the
small-map convolution that keeps one (ndarray/ops/_small_map.py): every kiln write drops the
kept form, a write bypassing kiln fails loudly, and the results equal the reference."""
import gc

import kiln as mx
import numpy as np
import opcheck
import pytest
from kiln import autograd, gluon, nd
from kiln.ndarray import _derived
from kiln.ndarray.ops import _small_map
from kiln.ndarray.ops.conv import _conv_ref


def _built(monkeypatch):
    calls, real = [], _small_map.gathered
    monkeypatch.setattr(_small_map, "gathered", lambda *a: calls.append(1) or real(*a))
    return calls


def _conv(x, w, **kw):
    _derived.mark(w._data)   # as Parameter.data() marks a parameter's array
    return nd.Convolution(x, w, kernel=w.shape[2:], num_filter=w.shape[0], no_bias=True,
                          **kw)


@pytest.mark.parametrize("xs,ws,kw", [
    ((3, 5, 2, 2), (7, 5, 3, 3), dict(pad=(1, 1))),               # every pair joined
    ((2, 4, 1, 1), (6, 4, 3, 3), dict(pad=(1, 1))),               # the center tap
    ((2, 4, 2, 2), (6, 4, 3, 3), dict(pad=(1, 1), stride=(2, 2))),
    ((2, 3, 2, 2), (4, 3, 2, 2), {}),
    ((2, 3, 2), (4, 3, 3), dict(pad=(1,))),                        # 1-D, 2 positions
])
def test_small_maps_equal_the_reference(monkeypatch, xs, ws, kw):
    built = _built(monkeypatch)
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(xs), rng.standard_normal(ws)
    ref = _conv_ref(x, w, kernel=ws[2:], **kw)
    xn, wn = nd.array(x, dtype="float64"), nd.array(w, dtype="float64")
    for _ in range(2):
        np.testing.assert_allclose(_conv(xn, wn, **kw).asnumpy(), ref, rtol=1e-12, atol=1e-12)
    assert len(built) == 1 and not wn._data.flags.writeable


def test_wasteful_maps_keep_their_route(monkeypatch):
    """A stride-2 layer from 4x4 onto 2x2 (64 pairs, 25 joined) is not gathered."""
    built = _built(monkeypatch)
    x, w = nd.ones((2, 3, 4, 4)), nd.ones((4, 3, 3, 3))
    _conv(x, w, pad=(1, 1), stride=(2, 2))
    assert built == [] and w._data.flags.writeable


def test_every_kiln_write_drops_the_kept_form(monkeypatch):
    built = _built(monkeypatch)
    rng = np.random.default_rng(1)
    x = nd.array(rng.standard_normal((2, 3, 2, 2)))
    w = nd.array(rng.standard_normal((4, 3, 3, 3)))
    writes = [lambda: w.__setitem__(slice(None), w * 2),
              lambda: w.__iadd__(1.0),
              lambda: nd.ones(w.shape).copyto(w),
              lambda: nd.sgd_update(w, nd.ones(w.shape), lr=0.5, out=w),
              lambda: w.reshape((-1,)).__setitem__(0, 5.0),        # through a view
              lambda: w[0].__setitem__(slice(None), 3.0)]          # a view made while held
    for k, write in enumerate(writes):
        _conv(x, w, pad=(1, 1))
        assert not w._data.flags.writeable
        write()
        want = _conv_ref(x.asnumpy(), w.asnumpy(), kernel=(3, 3), pad=(1, 1))
        np.testing.assert_allclose(_conv(x, w, pad=(1, 1)).asnumpy(), want, rtol=1e-5,
                                   atol=1e-5)
        assert len(built) == k + 2   # the first call, then one rebuild per write


def test_a_write_bypassing_kiln_fails_loudly():
    w = nd.ones((4, 3, 3, 3))
    _conv(nd.ones((1, 3, 1, 1)), w, pad=(1, 1))
    raw = w._data
    with pytest.raises(ValueError, match="read-only"):
        raw[...] = 0


def test_recording_and_non_owning_weights_are_not_kept(monkeypatch):
    built = _built(monkeypatch)
    x = nd.ones((2, 3, 2, 2))
    w = nd.ones((4, 3, 3, 3))
    w.attach_grad()
    with autograd.record():
        _conv(x, w, pad=(1, 1))
    view = nd.ones((8, 3, 3, 3))[:4]                  # a view: derived anew, never held
    _conv(x, view, pad=(1, 1))
    _conv(x, view, pad=(1, 1))
    assert built == [] and w._data.flags.writeable and view._data.flags.writeable


def test_a_freed_weight_leaves_the_cache():
    before = _derived.count()
    w = nd.ones((4, 3, 3, 3))
    _conv(nd.ones((1, 3, 2, 2)), w, pad=(1, 1))
    assert _derived.count() == before + 1
    del w
    gc.collect()
    assert _derived.count() == before


def test_extra_inputs_are_compared_by_value():
    src = np.ones(3)
    _derived.mark(src)
    calls = []

    def build():
        calls.append(1)
        return src * scale
    for scale in (np.ones(3), np.ones(3), np.full(3, 2.0)):
        got = _derived.memo(src, "k", build, extra=(scale,))
        np.testing.assert_array_equal(got, src * scale)
    assert len(calls) == 2


def test_trained_then_evaluated_model_sees_its_new_weights():
    """Inference (weights held), a training step (the trainer's update drops them), inference
    again: the hybridized and eager outputs agree after each step."""
    mx.random.seed(0)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Conv2D(8, 3, padding=1, in_channels=4), gluon.nn.Activation("relu"),
            gluon.nn.Conv2D(4, 3, padding=1, in_channels=8), gluon.nn.Flatten(),
            gluon.nn.Dense(3, in_units=16))
    net.initialize(mx.init.Xavier())
    x = nd.array(np.random.default_rng(2).standard_normal((5, 4, 2, 2)))
    eager = net(x).asnumpy()
    net.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.5,
                                                          "momentum": 0.9})
    loss_fn = gluon.loss.L2Loss()
    for _ in range(3):
        np.testing.assert_allclose(net(x).asnumpy(), eager, rtol=1e-5, atol=1e-6)
        with autograd.record():
            loss = loss_fn(net(x), nd.zeros((5, 3)))
        loss.backward()
        trainer.step(5)
        with autograd.pause():
            net.hybridize(active=False)
            eager = net(x).asnumpy()
            net.hybridize()
        assert not np.allclose(eager, 0)


@pytest.mark.parametrize("m,n", [(8, 256), (32, 1000), (64, 256), (128, 256), (32, 10)])
@pytest.mark.parametrize("bias", [False, True])
def test_dense_product_forms_agree(m, n, bias):
    """``_xp.dense``: the transposed form where it pays, the plain one elsewhere, the same
    values (into a new array and into ``out``)."""
    from kiln.ndarray.ops._xp import dense, dense_transposed_pays
    rng = np.random.default_rng(m + n)
    x, w = rng.standard_normal((m, 40)), rng.standard_normal((n, 40))
    b = rng.standard_normal(n) if bias else None
    want = x @ w.T + (0 if b is None else b)
    np.testing.assert_allclose(dense(np, x, w, b), want, rtol=1e-12, atol=1e-12)
    out = np.empty((m, n))
    assert dense(np, x, w, b, out=out) is out
    np.testing.assert_allclose(out, want, rtol=1e-12, atol=1e-12)
    assert dense_transposed_pays(m, n) == (m <= 64 and n >= 64 and m * n <= 1 << 15)


def test_a_weight_shared_through_dlpack_is_never_held():
    w = nd.ones((4, 3, 3, 3))
    x = nd.ones((1, 3, 1, 1))
    _conv(x, w, pad=(1, 1))
    assert not w._data.flags.writeable
    alias = np.from_dlpack(w)                 # another library's writable view
    assert w._data.flags.writeable
    alias[...] = 2.0
    np.testing.assert_allclose(_conv(x, w, pad=(1, 1)).asnumpy(), 2.0 * 3)
    assert w._data.flags.writeable


def test_only_parameters_arrays_are_held(monkeypatch):
    """An array no parameter owns (a graph's scaled weight, a static_alloc buffer the graph
    writes again) is derived anew each call and stays writable."""
    built = _built(monkeypatch)
    x, w = nd.ones((2, 3, 2, 2)), nd.ones((4, 3, 3, 3))
    for _ in range(2):
        nd.Convolution(x, w, kernel=(3, 3), pad=(1, 1), num_filter=4, no_bias=True)
    assert built == [] and w._data.flags.writeable


@pytest.mark.parametrize("flags", [{}, {"static_alloc": True, "static_shape": True}])
def test_hybridized_bn_folded_small_maps_hold_only_parameters(flags):
    """A conv-BN-ReLU network on 2x2 maps, hybridized (BatchNorm folded; with static_alloc its
    scaled weights live in buffers the graph rewrites): repeated calls equal the eager values
    and only parameters are held."""
    mx.random.seed(0)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Conv2D(16, 3, padding=1, in_channels=8, use_bias=False),
            gluon.nn.BatchNorm(in_channels=16), gluon.nn.Activation("relu"),
            gluon.nn.Conv2D(16, 3, padding=1, in_channels=16),
            gluon.nn.BatchNorm(in_channels=16))
    net.initialize(mx.init.Xavier())
    for p in net.collect_params().values():
        if p.name.endswith(("running_mean", "running_var", "gamma", "beta")):
            p.set_data(nd.array(np.random.default_rng(3).uniform(0.5, 1.5, p.shape)))
    x = nd.array(np.random.default_rng(4).standard_normal((3, 8, 2, 2)))
    params = {id(p.data()._data) for p in net.collect_params().values()}
    before = set(_derived._ENTRIES)
    eager = net(x).asnumpy()
    net.hybridize(**flags)
    for _ in range(3):
        np.testing.assert_allclose(net(x).asnumpy(), eager, rtol=1e-4, atol=1e-5)
    held = set(_derived._ENTRIES) - before
    assert held and held <= params


def _small_net():
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Conv2D(16, 3, padding=1), gluon.nn.BatchNorm(), gluon.nn.Activation("relu"),
            gluon.nn.Conv2D(32, 3, padding=1, strides=2), gluon.nn.Activation("relu"),
            gluon.nn.Conv2D(32, 3, padding=1), gluon.nn.Flatten(), gluon.nn.Dense(5))
    return net


def _lifecycle(tmp_path):
    """Outputs of a 2x2-map network through the ways a parameter changes: hybridize,
    load_parameters, a forced re-initialization, writes through data(), Trainer steps, an
    export re-imported, a cast, a kvstore pull."""
    tmp_path.mkdir()
    mx.random.seed(0)
    x = nd.array(np.random.default_rng(0).standard_normal((4, 8, 2, 2)))
    net = _small_net()
    net.initialize(mx.init.Xavier())
    out = [net(x).asnumpy()]
    net.hybridize()
    out += [net(x).asnumpy(), net(x).asnumpy()]
    other = _small_net()
    other.initialize(mx.init.Uniform(1.0))
    other(x)
    other.save_parameters(str(tmp_path / "p.params"))
    net.load_parameters(str(tmp_path / "p.params"))
    out.append(net(x).asnumpy())
    net.initialize(mx.init.Normal(0.5), force_reinit=True)
    out.append(net(x).asnumpy())
    for p in net.collect_params().values():
        if p.name.endswith("weight"):
            p.data()[:] = p.data() * 0.5
    out.append(net(x).asnumpy())
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.1})
    for _ in range(2):
        with autograd.record():
            loss = net(x).sum()
        loss.backward()
        trainer.step(4)
        out.append(net(x).asnumpy())
    net.export(str(tmp_path / "m"))
    block = gluon.SymbolBlock.imports(str(tmp_path / "m-symbol.json"), ["data"],
                                      str(tmp_path / "m-0000.params"))
    out.append(block(x).asnumpy())
    net.cast("float64")
    x64 = x.astype("float64")
    out.append(net(x64).asnumpy())
    kv, w = mx.kv.create("local"), net[0].weight
    kv.init(0, w.data())
    kv.push(0, w.data() * 0 + 0.01)
    kv.pull(0, out=w.data())
    out.append(net(x64).asnumpy())
    return out


def test_a_parameter_lifecycle_gives_what_it_gives_without_kept_forms(tmp_path, monkeypatch):
    kept = _lifecycle(tmp_path / "a")
    monkeypatch.setattr(_derived, "_ON", [False])
    plain = _lifecycle(tmp_path / "b")
    for k, (a, b) in enumerate(zip(kept, plain)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4, err_msg=f"step {k}")


def _mutating(op, sample):
    return bool(op.mutates) and op.kernel is not None


@pytest.mark.parametrize("op, sample", opcheck.cases(_mutating))
def test_ops_updating_inputs_in_place_thaw_them_first(op, sample):
    """Every registry op with a ``mutates`` facet (BatchNorm's moving statistics, the update
    ops' weights and states) writes its held inputs as it writes plain ones: the registry's
    wrapper thaws them first, eagerly and from a compiled graph's direct kernel call alike."""
    attrs = dict(sample.attrs)
    try:
        mutated = set(op.mutated(attrs))
    except Exception:   # noqa: BLE001 - a facet that needs attributes the sample leaves out
        pytest.skip("mutated inputs depend on attributes this sample does not give")
    results = []
    for hold in (False, True):
        inputs = opcheck.to_nd(sample.inputs, np.float32)
        if hold:
            for k in mutated:
                if k < len(inputs) and isinstance(inputs[k], nd.NDArray):
                    _derived.mark(inputs[k]._data)
                    assert _derived.hold(inputs[k]._data)
        outs = opcheck.as_list(op.func(*inputs, **attrs))
        results.append([a.asnumpy() for a in inputs if isinstance(a, nd.NDArray)] +
                       [o.asnumpy() for o in outs if isinstance(o, nd.NDArray)])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_an_empty_batch_on_a_small_map():
    w = nd.ones((4, 3, 3, 3))
    for _ in range(2):   # built, then kept
        assert _conv(nd.zeros((0, 3, 2, 2)), w, pad=(1, 1)).shape == (0, 4, 2, 2)


def _one_tap_net():
    """Two hybridized 3x3 convolutions for 1x1 maps (each multiplies its weight's centre); fed
    16 samples, their data gradients take the GEMM route, which reads the kept tap too."""
    mx.random.seed(0)
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Conv2D(64, 3, padding=1, in_channels=8),
            gluon.nn.Conv2D(64, 3, padding=1, in_channels=64))
    net.initialize(mx.init.Xavier())
    net.hybridize()
    return net


def test_training_step_copies_a_one_tap_weight_once(monkeypatch):
    """A 3x3 convolution on 1x1 maps multiplies the weight's centre tap; in a training step
    the forward and the data gradient share one copy of it (kept until the optimizer writes
    the weight), and the steps equal those with nothing kept."""
    import importlib
    cg = importlib.import_module("kiln.ndarray.ops._conv_gemm")
    copies, real = [], cg._frozen
    monkeypatch.setattr(cg, "_frozen", lambda a: copies.append(a.shape) or real(a))

    def run(keep):
        monkeypatch.setattr(_derived, "_ON", [keep])
        net = _one_tap_net()
        trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1,
                                                             "momentum": 0.9})
        x = nd.array(np.random.default_rng(1).standard_normal((16, 8, 1, 1)))
        x.attach_grad()
        counts = []
        for _ in range(3):
            before = len(copies)
            with autograd.record():
                loss = (net(x) ** 2).sum()
            loss.backward()
            trainer.step(16)
            counts.append(len(copies) - before)
        return [p.data().asnumpy() for p in net.collect_params().values()], x.grad.asnumpy(), \
            counts

    kept_params, kept_grad, kept_counts = run(True)
    plain_params, plain_grad, plain_counts = run(False)
    assert kept_counts == [2, 2, 2]           # one copy per weight per step
    assert all(c > 2 for c in plain_counts)   # forward and data gradient each copy
    for a, b in zip(kept_params, plain_params):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(kept_grad, plain_grad)


@pytest.mark.parametrize("name", sorted(mx.optimizer.Optimizer.opt_registry))
def test_every_optimizer_updates_a_weight_held_for_a_derived_form(name):
    """A training step holds a convolution's weight read-only while its one-tap copy is kept
    (3x3 kernels on 1x1 maps); every optimizer's update, those written with raw array writes
    included, gets the weight writable (Updater and update_multi_precision thaw it) and
    changes it."""
    net = _one_tap_net()
    trainer = gluon.Trainer(net.collect_params(), name, {"learning_rate": 0.01})
    x = nd.array(np.random.default_rng(2).standard_normal((16, 8, 1, 1)))
    before = [p.data().asnumpy() for p in net.collect_params().values()]
    for _ in range(2):
        with autograd.record():
            loss = (net(x) ** 2).sum()
        loss.backward()
        assert _derived.count() > 0   # the weights are held by their kept one-tap copies
        trainer.step(16)
    after = [p.data().asnumpy() for p in net.collect_params().values()]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
