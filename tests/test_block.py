"""Block, HybridBlock and containers with small hand-written blocks (no layers needed)."""
import kiln as kl
import numpy as np
import pytest
from kiln import autograd, gluon, init, nd
from kiln.gluon import nn
from kiln.nn.parameter import ParameterError


class Lin(gluon.HybridBlock):
    """Gluon 1.x style: params.get in name_scope, hybrid_forward(F, x, weight, bias)."""

    def __init__(self, units, in_units=0, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.weight = self.params.get("weight", shape=(units, in_units),
                                          allow_deferred_init=True)
            self.bias = self.params.get("bias", shape=(units,), init="zeros")

    def infer_shape(self, x, *args):
        self.weight.shape = (self.weight.shape[0], x.shape[1])

    def hybrid_forward(self, F, x, weight, bias):
        return F.dot(x, weight, transpose_b=True) + bias


class Scale(gluon.HybridBlock):
    """Gluon 2 style: a Parameter attribute and forward(x)."""

    def __init__(self, n):
        super().__init__()
        self.weight = gluon.Parameter("weight", shape=(n,), init=init.Constant(2.0))

    def forward(self, x):
        return x * self.weight.data(x.context)


class NoInfer(gluon.HybridBlock):
    def __init__(self):
        super().__init__()
        self.weight = gluon.Parameter("weight", shape=(3, 0), allow_deferred_init=True)

    def forward(self, x):
        return nd.dot(x, self.weight.data())


class Net(gluon.Block):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential()
            self.features.add(Lin(4, in_units=3), Lin(2))
            self.output = Scale(2)

    def forward(self, x):
        return self.output(self.features(x))


def _net(prefix="model_"):
    net = Net(prefix=prefix)
    net.initialize(init.Xavier())
    return net


def test_registration_order_and_names():
    net = _net()
    assert list(net._children) == ["features", "output"]
    # MXNet 1.9: collect_params() is keyed by full names, save_parameters by structural ones.
    # The Lins are created in Net's name scope (not the HybridSequential's), as in Gluon 1.x.
    names = ["model_lin0_weight", "model_lin0_bias", "model_lin1_weight", "model_lin1_bias",
             "model_scale0_weight"]
    assert list(net.collect_params().keys()) == names
    assert [p.name for p in net.collect_params().values()] == names
    assert list(net._collect_params_with_prefix()) == [
        "features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias",
        "output.weight"]
    assert net.features.prefix == "model_hybridsequential0_"
    assert net.prefix == "model_" and net.name == "model"
    assert list(net.features[0].params.keys()) == ["model_lin0_weight", "model_lin0_bias"]
    params = net.collect_params()
    assert params["output.weight"] is net.output.weight     # structural lookup (kiln)
    assert "output.weight" not in params and "model_scale0_weight" in params
    assert list(net.collect_params(".*weight").keys()) == [
        "model_lin0_weight", "model_lin1_weight", "model_scale0_weight"]
    assert list(net.collect_params("model_scale.*").keys()) == ["model_scale0_weight"]
    assert list(net.collect_params("output.*").keys()) == []   # select sees full names only
    assert repr(net.collect_params("model_lin0_bias")) == (
        f"model_ (\n  {net.features[0].bias!r}\n)")


def test_same_full_name_twice_keyed_by_structure():
    seq = nn.HybridSequential()
    seq.add(Lin(2, prefix="fc_"), Lin(2, prefix="fc_"))
    params = seq.collect_params()
    assert list(params) == ["fc_weight", "fc_bias", "1.weight", "1.bias"]
    assert params["1.weight"] is seq[1].weight and params["fc_weight"] is seq[0].weight


def test_global_prefix_counter():
    a, b = Lin(2), Lin(2)
    ia, ib = int(a.prefix[3:-1]), int(b.prefix[3:-1])
    assert a.prefix.startswith("lin") and ib == ia + 1
    assert a.weight.name == a.prefix + "weight"


def test_replacing_child_with_non_block_raises():
    net = _net()
    with pytest.raises(TypeError, match="Changing attribute type"):
        net.output = None
    with pytest.raises(TypeError):
        net.output = 3
    net.output = Scale(2)          # same type: allowed
    with pytest.raises(TypeError):
        net.output.weight = nd.ones((2,))


def test_hybridblock_rejects_plain_block_child():
    seq = nn.HybridSequential()
    with pytest.raises(ValueError, match="must also be HybridBlock"):
        seq.add(nn.Lambda("relu"))


def test_forward_backward_hybrid_forward_style():
    net = _net()
    x = nd.ones((5, 3))
    with autograd.record():
        y = net(x)
    y.backward()
    assert y.shape == (5, 2)
    assert net.features[1].weight.data().shape == (2, 4)     # deferred, inferred
    assert net.features[0].weight.grad().shape == (4, 3)
    w0 = net.features[0].weight.data().asnumpy()
    w1 = net.features[1].weight.data().asnumpy()
    expected = np.ones((5, 3)) @ w0.T @ w1.T * 2
    np.testing.assert_allclose(y.asnumpy(), expected, rtol=1e-5)


def test_deferred_error_names_parameter():
    blk = NoInfer()
    blk.initialize()
    with pytest.raises(gluon.DeferredInitializationError, match=blk.weight.name) as info:
        blk(nd.ones((2, 3)))
    assert "infer_shape" in str(info.value)


def test_gluon2_parameter_gets_prefix():
    s = Scale(3)
    assert s.weight.name == s.prefix + "weight"
    assert list(s.collect_params().keys()) == [s.prefix + "weight"]
    assert list(s._collect_params_with_prefix()) == ["weight"]
    assert list(s.params.keys()) == [s.prefix + "weight"]
    s.initialize()
    np.testing.assert_allclose(s(nd.ones((2, 3))).asnumpy(), 2.0)


def test_save_load_roundtrip(tmp_path):
    net = _net()
    net(nd.ones((1, 3)))
    f = str(tmp_path / "net.params")
    net.save_parameters(f)
    assert sorted(nd.load(f)) == sorted(net._collect_params_with_prefix())   # structural
    net2 = _net()
    net2.load_parameters(f)
    for a, b in zip(net.collect_params().values(), net2.collect_params().values()):
        np.testing.assert_array_equal(a.data().asnumpy(), b.data().asnumpy())


def _arrays(net, keyfn):
    return {keyfn(k, p): p.data() for k, p in net._collect_params_with_prefix().items()}


@pytest.mark.parametrize("keyfn", [
    lambda k, p: p.name,                                    # 1.x full names
    lambda k, p: p.name[len("model_"):],                    # saved with strip_prefix
    lambda k, p: "other_" + p.name,                         # saved from a parent block
    lambda k, p: "arg:" + p.name,                           # Module checkpoint keys
])
def test_load_prefixed_keys(tmp_path, keyfn):
    net = _net()
    net(nd.ones((1, 3)))
    f = str(tmp_path / "x.params")
    nd.save(f, _arrays(net, keyfn))
    net2 = _net()
    net2.load_parameters(f)
    np.testing.assert_array_equal(net2.features[1].weight.data().asnumpy(),
                                  net.features[1].weight.data().asnumpy())


def test_load_errors(tmp_path):
    net = _net()
    net(nd.ones((1, 3)))
    f = str(tmp_path / "x.params")
    arrays = _arrays(net, lambda k, p: k)
    del arrays["output.weight"]
    nd.save(f, arrays)
    with pytest.raises(ParameterError, match="output.weight.*missing"):
        _net().load_parameters(f)
    _net().load_parameters(f, allow_missing=True)
    arrays = _arrays(net, lambda k, p: k)
    arrays["extra.thing"] = nd.ones((1,))
    nd.save(f, arrays)
    with pytest.raises(ParameterError, match="extra.thing"):
        _net().load_parameters(f)
    _net().load_parameters(f, ignore_extra=True)
    arrays = _arrays(net, lambda k, p: k)
    arrays["output.weight"] = nd.ones((7,))
    nd.save(f, arrays)
    with pytest.raises(ParameterError, match="shape incompatible expected"):
        _net().load_parameters(f)


def test_load_cast_dtype(tmp_path):
    net = _net()
    net(nd.ones((1, 3)))
    f = str(tmp_path / "x.params")
    nd.save(f, {k: v.astype("float64") for k, v in _arrays(net, lambda k, p: k).items()})
    with pytest.raises(ParameterError, match="cast_dtype"):
        _net().load_parameters(f)
    net2 = _net()
    net2.load_parameters(f, cast_dtype=True)
    assert net2.output.weight.data().dtype == np.float32
    net3 = _net()
    net3.load_parameters(f, cast_dtype=True, dtype_source="saved")
    assert net3.output.weight.data().dtype == np.float64


def test_hooks_and_detach():
    s = Scale(2)
    s.initialize()
    calls = []
    pre = s.register_forward_pre_hook(lambda b, args: calls.append(("pre", args[0].shape)))
    post = s.register_forward_hook(lambda b, args, out: calls.append(("post", out.shape)))
    s(nd.ones((1, 2)))
    assert calls == [("pre", (1, 2)), ("post", (1, 2))]
    pre.detach()
    s(nd.ones((3, 2)))
    assert calls[2:] == [("post", (3, 2))]
    with post:
        pass
    s(nd.ones((3, 2)))
    assert len(calls) == 3


def test_apply_order():
    net = _net()
    seen = []
    net.apply(lambda b: seen.append(type(b).__name__))
    assert seen == ["Lin", "Lin", "HybridSequential", "Scale", "Net"]


def test_repr_format():
    net = nn.HybridSequential()
    net.add(nn.Identity(), nn.HybridLambda("relu"))
    assert repr(net) == ("HybridSequential(\n  (0): Identity(\n  \n  )\n"
                         "  (1): HybridLambda(relu)\n)")
    outer = nn.Sequential()
    outer.add(net, nn.Lambda("tanh"))
    assert repr(outer) == ("Sequential(\n  (0): HybridSequential(\n    (0): Identity(\n    \n"
                           "    )\n    (1): HybridLambda(relu)\n  )\n  (1): Lambda(tanh)\n)")
    assert repr(_net()).startswith("Net(\n  (features): HybridSequential(\n    (0): Lin(")


def test_summary(capsys):
    net = nn.HybridSequential()
    net.add(Lin(4, in_units=3), Lin(2, in_units=4))
    net.initialize()
    net.summary(nd.ones((2, 3)))
    out = capsys.readouterr().out
    assert "Layer (type)" in out and "Output Shape" in out
    assert "Lin-1" in out and "Lin-2" in out and "(2, 4)" in out
    assert "Total params: 26" in out and "Trainable params: 26" in out
    assert "Unique parameters in model: 26" in out
    net.hybridize()
    with pytest.raises(ValueError, match="must not be hybridized"):
        net.summary(nd.ones((2, 3)))


def test_hybridize_flags_and_cached_call(monkeypatch):
    net = _net()
    with pytest.raises(TypeError, match="bogus"):
        net.hybridize(bogus=1)
    with pytest.raises(TypeError, match="bogus"):
        net.features.hybridize(static_alloc=True, bogus=1)
    net.hybridize(static_alloc=True, static_shape=True)
    seq = net.features
    assert seq._active and seq[0]._active and net.output._active
    assert seq._hybrid_flags["static_alloc"] and seq[1]._hybrid_flags["static_shape"]
    called = []
    orig = gluon.HybridBlock._call_cached

    def spy(self, *args, **kwargs):
        called.append(type(self).__name__)
        return orig(self, *args, **kwargs)
    monkeypatch.setattr(gluon.HybridBlock, "_call_cached", spy)
    assert net(nd.ones((2, 3))).shape == (2, 2)
    assert called[0] == "HybridSequential" and "Scale" in called
    net.hybridize(active=False)
    called.clear()
    net(nd.ones((2, 3)))
    assert called == []


def test_hybridize_warnings():
    s = Scale(2)
    s.register_forward_hook(lambda *a: None)
    with pytest.warns(UserWarning, match="hook"):
        s.hybridize()
    seq = nn.Sequential()
    seq.add(nn.Identity())
    with pytest.warns(UserWarning, match="HybridSequential"):
        seq.hybridize()


def test_export_before_a_hybridized_call_is_refused(tmp_path):
    with pytest.raises(kl.MXNetError, match="hybridize"):
        Scale(2).export(str(tmp_path / "x"))


def test_cast_zero_grad_and_reset_ctx():
    net = _net()
    x = nd.ones((2, 3))
    with autograd.record():
        y = net(x)
    y.backward()
    net.zero_grad()
    assert all((p.grad().asnumpy() == 0).all() for p in net.collect_params().values())
    net.cast("float64")
    assert net.output.weight.data().dtype == np.float64
    assert net(x.astype("float64")).dtype == np.float64
    net.reset_ctx(kl.cpu(1))
    assert net.output.weight.list_ctx() == [kl.cpu(1)]


def test_share_parameters_and_params_argument():
    a, b = Scale(2), Scale(2)
    b.share_parameters(a.collect_params())
    assert b.weight is a.weight and b.weight.name == a.weight.name
    assert list(b.params.values()) == [a.weight]
    with pytest.warns(UserWarning, match="not in the current model"):
        b.share_parameters({"nothing": a.weight})
    d0 = Lin(3, in_units=2)
    d1 = Lin(3, in_units=2, params=d0.params)
    d2 = Lin(3, in_units=2, params=d0.collect_params())
    assert d1.weight is d0.weight and d2.bias is d0.bias
    seq = nn.HybridSequential()
    seq.add(d0, d1)
    assert len(seq.collect_params()) == 2       # shared parameters listed once
    seq.initialize()                             # and initialized once (no warning)
    x = nd.ones((1, 2))
    np.testing.assert_allclose(d1(x).asnumpy(), d0(x).asnumpy())


def test_sequential_indexing_and_slicing():
    seq = nn.HybridSequential()
    seq.add(nn.Identity(), Scale(2), nn.Identity())
    assert len(seq) == 3 and isinstance(seq[1], Scale)
    sub = seq[1:]
    assert type(sub) is nn.HybridSequential and len(sub) == 2 and sub[0] is seq[1]
    assert [type(b).__name__ for b in seq] == ["Identity", "Scale", "Identity"]
    plain = nn.Sequential()
    plain.add(nn.Lambda(lambda x: x + 1), nn.Lambda("tanh"))
    assert type(plain[:1]) is nn.Sequential
    np.testing.assert_allclose(plain(nd.zeros((2,))).asnumpy(), np.tanh(1.0), rtol=1e-6)


def test_sequential_passes_tuples():
    seq = nn.HybridSequential()
    seq.add(nn.HybridLambda(lambda x: (x, x * 2)), nn.HybridLambda(lambda a, b: a + b))
    np.testing.assert_allclose(seq(nd.ones((2,))).asnumpy(), 3.0)


def test_lambdas_and_concatenate():
    h1 = nn.HybridLambda(lambda F, x: F.relu(x))
    h2 = nn.HybridLambda(lambda x: x * 2)
    x = nd.array([-1.0, 2.0])
    np.testing.assert_allclose(h1(x).asnumpy(), [0, 2])
    np.testing.assert_allclose(h2(x).asnumpy(), [-2, 4])
    with pytest.raises(ValueError, match="not found"):
        nn.Lambda("no_such_function")
    cat = nn.HybridConcatenate(axis=1)
    cat.add(nn.Identity(), nn.HybridLambda(lambda x: x * 3))
    out = cat(nd.ones((2, 2)))
    assert out.shape == (2, 4)
    np.testing.assert_allclose(out.asnumpy()[:, 2:], 3.0)
    cat2 = nn.Concatenate(axis=0)
    cat2.add(nn.Identity(), nn.Identity(), nn.Identity())
    assert cat2(nd.ones((2, 2))).shape == (6, 2)
    assert cat2[1:](nd.ones((2, 2))).shape == (4, 2)


def test_gluon_namespace():
    assert gluon.nn.Block is gluon.Block is kl.nn.Block
    assert gluon.nn.HybridSequential is kl.nn.HybridSequential
    assert gluon.Parameter is kl.nn.Parameter and gluon.Constant is kl.nn.Constant
    assert kl.init is kl.initializer


def test_missing_super_init_is_clear():
    class Bad(gluon.Block):
        def __init__(self):
            self.child = nn.Identity()

    with pytest.raises(AttributeError, match="super"):
        Bad()


def test_symbolblock_imports_keeps_saved_dtype(tmp_path):
    # MXNet 1.9's imports loads with cast_dtype=True, dtype_source='saved'
    net = nn.HybridSequential(prefix="half_")
    with net.name_scope():
        net.add(nn.Dense(3, in_units=4))
    net.initialize()
    net.cast("float16")
    net.hybridize()
    net(nd.ones((2, 4), dtype="float16"))
    net.export(str(tmp_path / "half"))
    sym_file, params_file = (str(tmp_path / "half-symbol.json"),
                             str(tmp_path / "half-0000.params"))
    block = gluon.SymbolBlock.imports(sym_file, ["data"], params_file)
    assert list(block.collect_params()) == ["half_dense0_weight", "half_dense0_bias"]
    assert all(p.data().dtype == np.float16 for p in block.collect_params().values())


def test_export_quantized_in_one_step(tmp_path):
    import onnx
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(16, activation="relu"), gluon.nn.Dense(4))
    net.initialize()
    batches = [np.random.default_rng(k).random((8, 10)).astype(np.float32) for k in range(4)]
    net(nd.array(batches[0]))
    path = str(tmp_path / "q.onnx")
    report = net.export_quantized(path, calibration=batches, mode="dynamic")
    ops = {n.op_type for n in onnx.load(path).graph.node}
    assert any("Integer" in o or "Quant" in o for o in ops), ops
    assert report is not None


def test_eager_hybridblock_call_takes_the_short_path_unless_hooks_or_np(monkeypatch):
    """An eager HybridBlock call (a loss on a hybridized network's output) goes straight to
    ``_call_eager``; hooks, ``kiln.np`` inputs and deferred initialization still work, through
    ``Block.__call__`` where they need it."""
    from kiln.nn.block import Block
    x = nd.array(np.random.default_rng(0).standard_normal((4, 3)))
    label = nd.array([0.0, 1.0, 2.0, 1.0])
    loss = gluon.loss.SoftmaxCrossEntropyLoss()
    expected = loss(x, label).asnumpy()
    dense = nn.Dense(2)   # deferred: the first eager call infers the input size
    dense.initialize()
    real = Block.__call__
    calls = []
    monkeypatch.setattr(Block, "__call__", lambda self, *a, **k: calls.append(self) or
                        real(self, *a, **k))
    np.testing.assert_allclose(loss(x, label).asnumpy(), expected)
    assert dense(x).shape == (4, 2)
    assert calls == []
    seen = []
    loss.register_forward_hook(lambda block, args, out: seen.append(out.shape))
    loss(x, label)
    assert calls == [loss] and seen == [(4,)]
    assert type(dense(x.as_np_ndarray())).__name__ == "ndarray"   # np in, np out
    assert calls[-1] is dense
