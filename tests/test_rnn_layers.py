"""gluon.rnn.RNN/LSTM/GRU: MXNet 1.9.1 files (tests/data/mxnet191_lstm*), hybridize, export,
ONNX, and (when torch is installed) torch.nn.LSTM/GRU with copied weights."""
import json
import os

import kiln as kl
import numpy as np
import pytest
from kiln import autograd, gluon, nd
from kiln.gluon import rnn

DATA = os.path.join(os.path.dirname(__file__), "data")
IO = np.load(os.path.join(DATA, "mxnet191_lstm_io.npz"))


def _mx_lstm():
    return rnn.LSTM(4, num_layers=2, bidirectional=True, input_size=3)


def test_loads_mxnet_parameters_strictly_and_matches_outputs():
    net = _mx_lstm()
    net.load_parameters(os.path.join(DATA, "mxnet191_lstm.params"))   # strict by default
    x = nd.array(IO["x"])
    np.testing.assert_allclose(net(x).asnumpy(), IO["y"], rtol=1e-5, atol=1e-6)
    y, (h, c) = net(x, net.begin_state(2))
    np.testing.assert_allclose(y.asnumpy(), IO["y"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h.asnumpy(), IO["h"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c.asnumpy(), IO["c"], rtol=1e-5, atol=1e-6)


def test_parameter_names_and_save_keys_are_mxnets(tmp_path):
    net = _mx_lstm()
    names = list(net.collect_params().keys())
    assert names[:4] == [f"{net.prefix}l0_i2h_weight", f"{net.prefix}l0_h2h_weight",
                         f"{net.prefix}l0_i2h_bias", f"{net.prefix}l0_h2h_bias"]
    assert f"{net.prefix}r1_h2h_bias" in names
    net.initialize()
    net.save_parameters(str(tmp_path / "p.params"))
    assert sorted(nd.load(str(tmp_path / "p.params"))) == \
        sorted(nd.load(os.path.join(DATA, "mxnet191_lstm.params")))
    one = rnn.GRU(3, input_size=2)
    one.initialize()
    one.save_parameters(str(tmp_path / "g.params"))
    assert "_unfused.0.i2h_weight" in nd.load(str(tmp_path / "g.params"))


def test_mxnet_export_imports():
    blk = kl.gluon.SymbolBlock.imports(os.path.join(DATA, "mxnet191_lstm_export-symbol.json"),
                                       ["data0", "data1", "data2"],
                                       os.path.join(DATA, "mxnet191_lstm_export-0000.params"))
    z = nd.zeros((4, 2, 4))
    np.testing.assert_allclose(blk(nd.array(IO["x"]), z, z).asnumpy(), IO["y"], rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("with_states", [False, True])
def test_export_writes_an_rnn_node_and_imports(tmp_path, with_states):
    net = _mx_lstm()
    net.load_parameters(os.path.join(DATA, "mxnet191_lstm.params"))
    net.hybridize()
    x = nd.array(IO["x"])
    want = net(x, net.begin_state(2)) if with_states else net(x)
    net.export(str(tmp_path / "lstm"))
    sym_file, params_file = (str(tmp_path / "lstm-symbol.json"),
                             str(tmp_path / "lstm-0000.params"))
    with open(sym_file) as f:
        doc = json.load(f)
    ops = [n["op"] for n in doc["nodes"]]
    assert ops.count("RNN") == 1 and "_rnn_param_concat" in ops
    rnn_node = doc["nodes"][ops.index("RNN")]
    assert rnn_node["attrs"]["mode"] == "lstm" and "_hidden" not in rnn_node["attrs"]
    assert len(doc["heads"]) == (3 if with_states else 1)
    blk = kl.gluon.SymbolBlock.imports(sym_file, ["data0", "data1", "data2"], params_file)
    got = blk(x, *net.begin_state(2))
    got = got if isinstance(got, list) else [got]
    want = [want[0]] + list(want[1]) if with_states else [want]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g.asnumpy(), w.asnumpy(), rtol=1e-6, atol=1e-7)


LAYERS = {
    "rnn_relu": lambda: rnn.RNN(3, activation="relu"),
    "rnn_tanh_2l_bi": lambda: rnn.RNN(3, 2, activation="tanh", bidirectional=True),
    "lstm": lambda: rnn.LSTM(3),
    "lstm_2l_bi_ntc": lambda: rnn.LSTM(3, 2, layout="NTC", bidirectional=True),
    "lstm_proj": lambda: rnn.LSTM(3, 2, projection_size=2),
    "gru": lambda: rnn.GRU(3),
    "gru_2l_bi": lambda: rnn.GRU(3, 2, bidirectional=True),
}


def _build(name, seed=0):
    kl.random.seed(seed)
    net = LAYERS[name]()
    net.initialize(kl.init.Uniform(0.5))
    net.cast("float64")
    return net


def _x(net, seed=1):
    shape = (2, 4, 3) if net._layout == "NTC" else (4, 2, 3)
    return nd.array(np.random.RandomState(seed).uniform(-1, 1, shape), dtype="float64")


def _run(net, x, states=None):
    x = x.copy()
    x.attach_grad()
    with autograd.record():
        res = net(x) if states is None else net(x, states)
        outs = [res] if states is None else [res[0]] + list(res[1])
        heads = [nd.array(np.random.RandomState(7 + k).uniform(0.5, 1.5, o.shape),
                          dtype="float64") for k, o in enumerate(outs)]
    autograd.backward(outs, heads)
    grads = {k: p.grad().asnumpy().copy() for k, p in net.collect_params().items()}
    return [o.asnumpy() for o in outs], x.grad.asnumpy(), grads


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("with_states", [False, True])
def test_same_before_and_after_hybridize(name, with_states):
    net = _build(name)
    x = _x(net)
    states = net.begin_state(2, dtype="float64") if with_states else None
    eager = _run(net, x, states)
    net.hybridize()
    hyb = _run(net, x, states)
    for a, b in zip(eager[0], hyb[0]):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hyb[1], eager[1], rtol=1e-10, atol=1e-12)
    assert eager[2].keys() == hyb[2].keys()
    for k in eager[2]:
        assert np.abs(eager[2][k]).sum() > 0, k
        np.testing.assert_allclose(hyb[2][k], eager[2][k], rtol=1e-10, atol=1e-12, err_msg=k)


def test_sequence_length_layer():
    kl.random.seed(0)
    net = rnn.LSTM(3, bidirectional=True, use_sequence_length=True)
    net.initialize(kl.init.Uniform(0.5))
    x = nd.array(np.random.RandomState(1).uniform(-1, 1, (4, 2, 3)))
    lens = nd.array([2, 4])
    y, _ = net(x, net.begin_state(2), lens)
    assert not y.asnumpy()[2:, 0].any()
    cut = net(x[:2, 0:1])
    np.testing.assert_allclose(y.asnumpy()[:2, 0:1], cut.asnumpy(), rtol=1e-5, atol=1e-6)
    net.hybridize()
    y2, _ = net(x, net.begin_state(2), lens)
    np.testing.assert_allclose(y2.asnumpy(), y.asnumpy(), rtol=1e-6, atol=1e-7)


def test_deferred_input_size_repr_and_state_info():
    net = rnn.GRU(5, num_layers=2, bidirectional=True)
    assert repr(net) == "GRU(None -> 5, TNC, num_layers=2, bidirectional)"
    net.initialize()
    net(nd.ones((3, 2, 7)))
    assert net.l0_i2h_weight.shape == (15, 7) and net.l1_i2h_weight.shape == (15, 10)
    assert repr(net) == "GRU(7 -> 5, TNC, num_layers=2, bidirectional)"
    assert net.state_info(4)[0]["shape"] == (4, 4, 5)
    lstm = rnn.LSTM(6, projection_size=2)
    assert [i["shape"] for i in lstm.state_info(3)] == [(1, 3, 2), (1, 3, 6)]
    with pytest.raises(ValueError, match="state shape"):
        lstm.initialize()
        lstm(nd.ones((3, 3, 2)), [nd.zeros((1, 3, 6)), nd.zeros((1, 3, 6))])
    with pytest.raises(ValueError, match="layout"):
        rnn.LSTM(3, layout="CTN")


def test_dropout_between_layers_in_training_only():
    kl.random.seed(0)
    net = rnn.LSTM(8, num_layers=2, dropout=0.5)
    net.initialize(kl.init.Uniform(0.5))
    x = nd.array(np.random.RandomState(1).uniform(-1, 1, (5, 2, 3)))
    a, b = net(x), net(x)
    np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())
    with autograd.record():
        t = net(x)
    assert not np.allclose(t.asnumpy(), a.asnumpy())


@pytest.mark.parametrize("name", ["rnn_tanh_2l_bi", "lstm_2l_bi_ntc", "gru_2l_bi", "rnn_relu"])
def test_onnx_matches_eager_with_dynamic_axes(tmp_path, name):
    ort = pytest.importorskip("onnxruntime")
    kl.random.seed(0)
    net = LAYERS[name]()
    net.initialize(kl.init.Uniform(0.5))
    x = nd.array(np.random.RandomState(1).uniform(-1, 1, (4, 2, 3)))
    net(x)
    axes = {0: "batch", 1: "seq"} if net._layout == "NTC" else {0: "seq", 1: "batch"}
    path = net.export_onnx(str(tmp_path / "m.onnx"), x, dynamic_axes={"data": axes})
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    x2 = np.random.RandomState(2).uniform(-1, 1, (6, 3, 3)).astype(np.float32)
    got = sess.run(None, {sess.get_inputs()[0].name: x2})[0]
    np.testing.assert_allclose(got, net(nd.array(x2)).asnumpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_matches_torch_with_copied_weights(mode):
    torch = pytest.importorskip("torch")
    kl.random.seed(0)
    net = (rnn.LSTM if mode == "lstm" else rnn.GRU)(4, 2, bidirectional=True)
    net.initialize(kl.init.Uniform(0.5))
    x = np.random.RandomState(1).uniform(-1, 1, (5, 2, 3)).astype(np.float32)
    want = net(nd.array(x)).asnumpy()
    tnet = (torch.nn.LSTM if mode == "lstm" else torch.nn.GRU)(3, 4, 2, bidirectional=True)
    # torch shares MXNet's gate order (LSTM i, f, g, o; GRU r, z, n) and GRU formula
    with torch.no_grad():
        for layer in range(2):
            for d, sfx in (("l", ""), ("r", "_reverse")):
                for g, t in (("i2h", "ih"), ("h2h", "hh")):
                    for kind in ("weight", "bias"):
                        v = getattr(net, f"{d}{layer}_{g}_{kind}").data().asnumpy()
                        getattr(tnet, f"{kind}_{t}_l{layer}{sfx}").copy_(torch.tensor(v))
    got = tnet(torch.tensor(x))[0].detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_hybridized_training_step_runs_the_rnn_forward_once(monkeypatch):
    # The compiled backward reads the forward's saved outputs and reserve; the memory plan once
    # counted a saved zeros_like of an unused state output as a read of the RNN's outputs and
    # ran the whole forward again in the backward.
    from kiln import autograd
    from kiln.ndarray import _registry
    op = _registry.get("rnn")
    calls = []
    kernel = op.kernel

    def counting(*args, **kwargs):
        calls.append(1)
        return kernel(*args, **kwargs)

    monkeypatch.setattr(op, "kernel", counting)

    class Model(kl.gluon.HybridBlock):       # the final states are dropped inside the graph
        def __init__(self):
            super().__init__()
            self.lstm = rnn.LSTM(4, num_layers=2, input_size=3)

        def forward(self, x, h, c):
            out, _states = self.lstm(x, [h, c])
            return out

    net = Model()
    net.initialize()
    net.hybridize()
    x, h, c = nd.ones((5, 2, 3)), nd.zeros((2, 2, 4)), nd.zeros((2, 2, 4))
    for _ in range(2):                       # the second step runs the cached graphs
        calls.clear()
        with autograd.record():
            loss = net(x, h, c).sum()
        loss.backward()
        assert len(calls) == 1


def test_nested_layer_without_states_exports_with_dynamic_batch(tmp_path):
    """Zero states of a layer traced inside a parent come from the input (not constants of the
    traced batch size), so the ONNX export runs at other batch sizes and lengths."""
    import onnxruntime as ort

    class Tagger(gluon.HybridBlock):
        def __init__(self):
            super().__init__()
            self.emb, self.rnn = gluon.nn.Embedding(50, 8), gluon.rnn.LSTM(16, 2)
            self.out = gluon.nn.Dense(5, flatten=False)

        def forward(self, x):
            return self.out(self.rnn(self.emb(x)))
    net = Tagger()
    net.initialize()
    x = nd.array(np.random.default_rng(0).integers(0, 50, (7, 3)))
    eager = net(x).asnumpy()
    net.hybridize()
    np.testing.assert_allclose(net(x).asnumpy(), eager, rtol=1e-6, atol=1e-7)
    path = str(tmp_path / "tagger.onnx")
    net.export_onnx(path, x, dynamic_axes={"data": {0: "T", 1: "N"}})
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feed = sess.get_inputs()[0]
    for shape in [(7, 3), (4, 6)]:
        xi = np.random.default_rng(1).integers(0, 50, shape)
        got = sess.run(None, {feed.name: xi.astype(np.int64 if "int64" in feed.type
                                                    else np.float32)})[0]
        np.testing.assert_allclose(got, net(nd.array(xi)).asnumpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode, layers, bidirectional", [("lstm", 3, True), ("gru", 2, False),
                                                         ("rnn_relu", 2, True)])
def test_unfuse_gives_cells_sharing_the_layer_parameters(mode, layers, bidirectional):
    """``_unfuse()`` (MXNet 1.9.1): a stack of cells over the layer's own parameters, made
    before initialization, computing what the fused layer computes."""
    make = {"lstm": rnn.LSTM, "gru": rnn.GRU,
            "rnn_relu": lambda *a, **k: rnn.RNN(*a, activation="relu", **k)}[mode]
    layer = make(4, num_layers=layers, bidirectional=bidirectional, input_size=3)
    cells = layer._unfuse()
    layer.initialize(kl.init.Uniform(0.5))
    shared = {id(p) for p in layer.collect_params().values()}
    assert {id(p) for p in cells.collect_params().values()} == shared
    x = nd.random.uniform(shape=(5, 2, 3))
    want = layer(x)
    got, _ = cells.unroll(5, x, layout="TNC", merge_outputs=True)
    np.testing.assert_allclose(got.asnumpy(), want.asnumpy(), rtol=1e-5, atol=1e-6)

