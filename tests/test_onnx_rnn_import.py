"""ONNX LSTM/GRU/RNN nodes import as kiln's fused ``rnn`` op (export/onnx_import_rnn.py).

Round trips of kiln's recurrent layers (outputs, gradients, training), hand-built ONNX nodes
checked against onnxruntime (directions, states, sequence lengths, layout 1), torch.onnx files
against torch, and the attributes that are refused.
"""
import warnings

import kiln
import numpy as np
import pytest
from kiln import autograd, gluon, nd
from kiln.base import FileFormatError
from kiln.nn.symbol_block import SymbolBlock
from onnx import TensorProto, helper, numpy_helper

ort = pytest.importorskip("onnxruntime")

_LAYERS = {"lstm": gluon.rnn.LSTM, "gru": gluon.rnn.GRU, "rnn": gluon.rnn.RNN}
_SIZES = [(5, 2), (3, 4)]   # (T, N): the export's, then other dynamic sizes


def _run_ort(path, feed):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, feed)


def _layer(kind, bidirectional, layers, use_seq, seed=0, C=3, H=4):
    kiln.random.seed(seed)
    net = _LAYERS[kind](H, num_layers=layers, bidirectional=bidirectional, input_size=C,
                        use_sequence_length=use_seq)
    net.initialize(kiln.init.Uniform(0.5))
    return net


def _inputs(net, T, N, use_seq, rng, C=3):
    x = nd.array(rng.normal(size=(T, N, C)).astype(np.float32))
    states = [nd.array(rng.normal(size=(s["shape"][0], N, s["shape"][2])).astype(np.float32))
              for s in net.state_info(N)]
    seq = [nd.array(rng.integers(1, T + 1, size=N).astype(np.float32))] if use_seq else []
    return [x] + states + seq


def _export(net, tmp_path, use_seq, rng):
    args = _inputs(net, *_SIZES[0], use_seq, rng)
    names = ["data"] + [f"state{k}" for k in range(len(args) - 1 - use_seq)] + \
        (["seq"] if use_seq else [])
    dyn = {"data": {0: "T", 1: "N"}, **{n: {1: "N"} for n in names[1:]}}
    if use_seq:
        dyn["seq"] = {0: "N"}
    path = str(tmp_path / "rnn.onnx")
    # the exporter's own check also runs other sizes, drawing sequence lengths within the time
    # axis (the RNN op's value_ranges facet)
    net.export_onnx(path, *args, dynamic_axes=dyn, input_names=names)
    return path, names


def _call(net, args, use_seq):
    x, rest = args[0], args[1:]
    states = rest[:len(rest) - use_seq]
    out = net(x, list(states), rest[-1]) if use_seq else net(x, list(states))
    return [out[0]] + list(out[1])


def _feed(block, names, args):
    by_name = dict(zip(names, args))
    return [by_name[n] for n in block._input_names]


_CASES = [("lstm", True, 2, True), ("lstm", False, 1, False), ("gru", True, 2, True),
          ("gru", False, 2, False), ("rnn", True, 1, True), ("rnn", False, 2, False)]


@pytest.mark.parametrize("kind,bidirectional,layers,use_seq", _CASES)
def test_layer_round_trip_matches_kiln_and_onnxruntime(tmp_path, kind, bidirectional, layers,
                                                       use_seq):
    rng = np.random.default_rng(1)
    net = _layer(kind, bidirectional, layers, use_seq)
    path, names = _export(net, tmp_path, use_seq, rng)
    block = SymbolBlock.from_onnx(path)
    assert all(p.name.endswith("_parameters") for p in block.collect_params().values())
    for T, N in _SIZES:
        args = _inputs(net, T, N, use_seq, rng)
        want = _call(net, args, use_seq)
        got = block(*_feed(block, names, args))
        got = got if isinstance(got, (list, tuple)) else [got]
        onnx_out = _run_ort(path, {n: a.asnumpy() for n, a in zip(names, args)})
        assert len(got) == len(want) == len(onnx_out)
        for g, w, o in zip(got, want, onnx_out):
            np.testing.assert_allclose(g.asnumpy(), w.asnumpy(), rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(g.asnumpy(), o, rtol=1e-4, atol=1e-5)


def _flat_layers(net, kind, layers, D):
    """MXNet's flat vector of each layer, from the layer's own parameters."""
    params = {k[len(net.prefix):]: v
              for k, v in net.collect_params().items()}
    flats = []
    for layer in range(layers):
        parts = [params[f"{d}{layer}_{g}_{t}"]
                 for t in ("weight", "bias") for d in "lr"[:D] for g in ("i2h", "h2h")]
        flats.append(parts)
    return flats


@pytest.mark.parametrize("kind,bidirectional,layers,use_seq",
                         [("lstm", True, 2, True), ("gru", False, 2, False),
                          ("rnn", True, 1, False)])
def test_gradients_equal_the_original_layers(tmp_path, kind, bidirectional, layers, use_seq):
    rng = np.random.default_rng(2)
    net = _layer(kind, bidirectional, layers, use_seq, seed=3)
    path, names = _export(net, tmp_path, use_seq, rng)
    block = SymbolBlock.from_onnx(path)
    args = _inputs(net, 4, 3, use_seq, rng)
    heads = None
    for model in (net, block):
        with autograd.record():
            outs = _call(net, args, use_seq) if model is net else \
                list(block(*_feed(block, names, args)))
            if heads is None:
                heads = [nd.array(rng.normal(size=o.shape).astype(np.float32)) for o in outs]
            loss = sum((o * h).sum() for o, h in zip(outs, heads))
        loss.backward()
    imported = {p.name: p for p in block.collect_params().values()}
    assert len(imported) == layers
    for parts in _flat_layers(net, kind, layers, 2 if bidirectional else 1):
        value = np.concatenate([p.data().asnumpy().reshape(-1) for p in parts])
        grad = np.concatenate([p.grad().asnumpy().reshape(-1) for p in parts])
        match = [p for p in imported.values() if p.data().shape == value.shape and
                 np.array_equal(p.data().asnumpy(), value)]
        assert len(match) == 1
        assert np.abs(grad).sum() > 0
        np.testing.assert_allclose(match[0].grad().asnumpy(), grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["standard", "awd"])
def test_language_models_round_trip_with_states(tmp_path, kind):
    """The model zoo's (tiny) LSTM language models: embedding, chained LSTM nodes with state
    inputs and outputs, dynamic sequence and batch axes."""
    from test_model_zoo_lm import _flat, _net, _tokens
    net = _net(kind)
    rng = np.random.default_rng(3)
    states = _flat(net.begin_state(batch_size=2))
    names = ["data"] + [f"state{i}" for i in range(len(states))]
    dyn = {"data": {0: "seq", 1: "batch"}, **{n: {1: "batch"} for n in names[1:]}}
    path = net.export_onnx(str(tmp_path / "lm.onnx"), _tokens(rng, (4, 2)), *states,
                           dynamic_axes=dyn, input_names=names)
    block = SymbolBlock.from_onnx(path)
    for length, batch in [(1, 3), (7, 5)]:
        args = [_tokens(rng, (length, batch))] + [
            nd.array(rng.normal(size=(s.shape[0], batch, s.shape[2])).astype(np.float32))
            for s in states]
        logits, out = net(*args)
        want = [logits] + _flat(out)
        got = block(*_feed(block, names, args))
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.asnumpy(), w.asnumpy(), rtol=1e-5, atol=1e-6)


def test_training_the_imported_block_lowers_the_loss(tmp_path):
    rng = np.random.default_rng(4)
    net = _layer("lstm", True, 2, False, seed=5)
    path, names = _export(net, tmp_path, False, rng)
    block = SymbolBlock.from_onnx(path)
    block.hybridize()
    args = _inputs(net, 6, 3, False, rng)
    target = nd.array(rng.normal(size=(6, 3, 8)).astype(np.float32) * 0.3)
    trainer = gluon.Trainer(block.collect_params(), "adam", {"learning_rate": 0.05})
    losses = []
    for _ in range(8):
        with autograd.record():
            out = block(*_feed(block, names, args))[0]
            loss = ((out - target) ** 2).mean()
        loss.backward()
        trainer.step(1)
        losses.append(float(loss.asscalar()))
    assert np.isfinite(losses).all()
    assert losses[-1] < 0.7 * losses[0]


# ---- hand-built nodes against onnxruntime ---------------------------------------------------
def _node_model(op_type, T, N, C, H, direction="forward", layout=0, states=True, seq=False,
                outputs=("Y", "Y_h", "Y_c"), rng=None, **attrs):
    """One ONNX LSTM/GRU/RNN node with random W, R, B initializers."""
    G = {"LSTM": 4, "GRU": 3, "RNN": 1}[op_type]
    D = 2 if direction == "bidirectional" else 1
    inits = [numpy_helper.from_array(rng.normal(size=s).astype(np.float32) * 0.5, n)
             for n, s in (("W", (D, G * H, C)), ("R", (D, G * H, H)), ("B", (D, 2 * G * H)))]
    x_shape = (N, T, C) if layout else (T, N, C)
    s_shape = (N, D, H) if layout else (D, N, H)
    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, x_shape)]
    names = ["X", "W", "R", "B", "", "", ""]
    if seq:
        inputs.append(helper.make_tensor_value_info("lens", TensorProto.INT32, (N,)))
        names[4] = "lens"
    if states:
        inputs.append(helper.make_tensor_value_info("h0", TensorProto.FLOAT, s_shape))
        names[5] = "h0"
        if op_type == "LSTM":
            inputs.append(helper.make_tensor_value_info("c0", TensorProto.FLOAT, s_shape))
            names[6] = "c0"
    names = names[:7 if op_type == "LSTM" else 6]
    while names[-1] == "":
        names.pop()
    outs = list(outputs)[:3 if op_type == "LSTM" else 2]
    node = helper.make_node(op_type, names, outs, name="rec", hidden_size=H,
                            direction=direction, layout=layout, **attrs)
    y_shape = (N, T, D, H) if layout else (T, D, N, H)
    graph = helper.make_graph([node], "g", inputs,
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT,
                                                             y_shape if k == 0 else s_shape)
                               for k, o in enumerate(outs) if o], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])


def _node_feed(model, rng, T):
    feed = {}
    for vi in model.graph.input:
        shape = [d.dim_value for d in vi.type.tensor_type.shape.dim]
        if vi.name == "lens":
            feed[vi.name] = rng.integers(1, T + 1, size=shape).astype(np.int32)
        else:
            feed[vi.name] = rng.normal(size=shape).astype(np.float32)
    return feed


_NODES = [("LSTM", "reverse", 0, True, False), ("LSTM", "reverse", 0, True, True),
          ("LSTM", "forward", 1, True, True), ("LSTM", "bidirectional", 0, False, True),
          ("LSTM", "bidirectional", 1, True, False), ("GRU", "reverse", 0, True, True),
          ("GRU", "bidirectional", 1, False, False), ("RNN", "reverse", 0, True, True),
          ("RNN", "bidirectional", 0, True, False)]


@pytest.mark.parametrize("op_type,direction,layout,states,seq", _NODES)
def test_hand_built_node_matches_onnxruntime(tmp_path, op_type, direction, layout, states, seq):
    T, N = 5, 3
    extra = {"linear_before_reset": 1} if op_type == "GRU" else {}
    model = _node_model(op_type, T, N, 3, 4, direction, layout, states, seq,
                        rng=np.random.default_rng(5), **extra)
    path = tmp_path / "node.onnx"
    path.write_bytes(model.SerializeToString())
    feed = _node_feed(model, np.random.default_rng(6), T)
    if layout:   # onnxruntime runs layout 0 only: the same node in layout 0, transposed
        model0 = _node_model(op_type, T, N, 3, 4, direction, 0, states, seq,
                             rng=np.random.default_rng(5), **extra)
        path0 = tmp_path / "node0.onnx"
        path0.write_bytes(model0.SerializeToString())
        feed0 = {k: v if k == "lens" else v.transpose(1, 0, 2) for k, v in feed.items()}
        want = [v.transpose(2, 0, 1, 3) if v.ndim == 4 else v.transpose(1, 0, 2)
                for v in _run_ort(path0, feed0)]
    else:
        want = _run_ort(path, feed)
    block = SymbolBlock.from_onnx(str(path))
    got = block(*[nd.array(feed[n]) for n in block._input_names])
    got = got if isinstance(got, (list, tuple)) else [got]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g.asnumpy(), w, rtol=1e-4, atol=1e-5)


def test_relu_rnn_and_partial_outputs_match_onnxruntime(tmp_path):
    rng = np.random.default_rng(6)
    for outputs in (("", "Y_h"), ("Y", "")):
        model = _node_model("RNN", 4, 2, 3, 5, "bidirectional", rng=rng, outputs=outputs,
                            activations=["Relu", "Relu"])
        path = tmp_path / "relu.onnx"
        path.write_bytes(model.SerializeToString())
        feed = _node_feed(model, rng, 4)
        (want,) = _run_ort(path, feed)
        block = SymbolBlock.from_onnx(str(path))
        got = block(*[nd.array(feed[n]) for n in block._input_names])
        np.testing.assert_allclose(got.asnumpy(), want, rtol=1e-4, atol=1e-5)


def test_weights_computed_in_the_graph_get_gradients(tmp_path):
    """W, R and B made by graph ops (not initializers): the flat vector is built in the graph."""
    rng = np.random.default_rng(7)
    model = _node_model("LSTM", 4, 2, 3, 4, "bidirectional", rng=rng)
    g = model.graph
    for init in g.initializer:
        init.name = init.name + "_src"
    g.node.insert(0, helper.make_node("Mul", ["W_src", "two"], ["W"]))
    g.node.insert(1, helper.make_node("Identity", ["R_src"], ["R"]))
    g.node.insert(2, helper.make_node("Identity", ["B_src"], ["B"]))
    g.initializer.append(numpy_helper.from_array(np.array(2.0, np.float32), "two"))
    path = tmp_path / "computed.onnx"
    path.write_bytes(model.SerializeToString())
    feed = _node_feed(model, rng, 4)
    want = _run_ort(path, feed)
    block = SymbolBlock.from_onnx(str(path))
    assert sorted(p.name for p in block.collect_params().values()) == ["B_src", "R_src",
                                                                       "W_src"]
    args = [nd.array(feed[n]) for n in block._input_names]
    with autograd.record():
        got = block(*args)
        loss = sum(o.sum() for o in got)
    loss.backward()
    for g_, w in zip(got, want):
        np.testing.assert_allclose(g_.asnumpy(), w, rtol=1e-4, atol=1e-5)
    for p in block.collect_params().values():
        assert np.abs(p.grad().asnumpy()).sum() > 0, p.name


def test_imported_block_exports_again(tmp_path):
    """import_to_gluon of a reverse LSTM with sequence lengths, hybridized, exports to ONNX
    again (ReverseSequence around a forward LSTM) and onnxruntime agrees with the file it came
    from."""
    model = _node_model("LSTM", 5, 3, 3, 4, "reverse", 0, True, True,
                        rng=np.random.default_rng(12))
    path = tmp_path / "rev.onnx"
    path.write_bytes(model.SerializeToString())
    feed = _node_feed(model, np.random.default_rng(13), 5)
    want = _run_ort(path, feed)
    block = kiln.onnx.import_to_gluon(str(path), kiln.cpu())
    block.hybridize()
    args = [nd.array(feed[n], dtype=feed[n].dtype) for n in block._input_names]
    got = block(*args)
    again = block.export_onnx(str(tmp_path / "again.onnx"), *args,
                              input_names=block._input_names)
    for g, w, o in zip(got, want, _run_ort(again, feed)):
        np.testing.assert_allclose(g.asnumpy(), w, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(o, w, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("direction,seq", [("forward", False), ("bidirectional", True),
                                           ("reverse", True)])
def test_gru_without_linear_before_reset_is_unrolled(tmp_path, direction, seq):
    """ONNX's default GRU (reset before the recurrent product) is not MXNet's cell: it
    imports as unrolled steps, matching onnxruntime."""
    T = 4
    model = _node_model("GRU", T, 2, 3, 4, direction, seq=seq, rng=np.random.default_rng(9))
    path = tmp_path / "gru.onnx"
    path.write_bytes(model.SerializeToString())
    feed = _node_feed(model, np.random.default_rng(10), T)
    block = SymbolBlock.from_onnx(str(path))
    got = block(*[nd.array(feed[n], dtype=feed[n].dtype) for n in block._input_names])
    for g, w in zip(got, _run_ort(path, feed)):
        np.testing.assert_allclose(g.asnumpy(), w, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("op_type,attrs,words", [
    ("LSTM", {"clip": 3.0, "layout": 1}, "clip or input_forget with a layout"),
    ("LSTM", {"activations": ["Sigmoid", "Tanh", "Relu"]}, "activations"),
    ("GRU", {"layout": 1}, "linear_before_reset=0 with a layout"),
    ("RNN", {"activations": ["Sigmoid"]}, "activations"),
])
def test_unsupported_attributes_raise_naming_the_node(tmp_path, op_type, attrs, words):
    rng = np.random.default_rng(8)
    model = _node_model(op_type, 3, 2, 3, 4, rng=rng, **attrs)
    path = tmp_path / "bad.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(FileFormatError, match=f"{op_type} node 'rec'.*{words}"):
        SymbolBlock.from_onnx(str(path))


@pytest.mark.parametrize("scale", [0.0, 1.0])
def test_peepholes_import(tmp_path, scale):
    """Zero peepholes: the fused rnn op; others: unrolled cells (onnx_import_lstm.py)."""
    rng = np.random.default_rng(14)
    model = _node_model("LSTM", 4, 2, 3, 4, "bidirectional", rng=rng)
    model.graph.node[0].input.append("P")
    model.graph.initializer.append(numpy_helper.from_array(
        rng.normal(size=(2, 12)).astype(np.float32) * scale, "P"))
    path = tmp_path / "peep.onnx"
    path.write_bytes(model.SerializeToString())
    feed = _node_feed(model, rng, 4)
    block = SymbolBlock.from_onnx(str(path))
    got = block(*[nd.array(feed[n]) for n in block._input_names])
    for g, w in zip(got, _run_ort(path, feed)):
        np.testing.assert_allclose(g.asnumpy(), w, rtol=1e-4, atol=1e-5)


def test_inconsistent_weight_shapes_raise(tmp_path):
    rng = np.random.default_rng(9)
    model = _node_model("LSTM", 3, 2, 3, 4, rng=rng)
    (size,) = [a for a in model.graph.node[0].attribute if a.name == "hidden_size"]
    size.i = 5   # no longer fits W and R
    path = tmp_path / "bad.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(FileFormatError, match="LSTM node 'rec'"):
        SymbolBlock.from_onnx(str(path))


# ---- torch.onnx files ------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_torch_exported_files_match_torch(tmp_path, kind):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    mod = getattr(torch.nn, kind)(3, 5, num_layers=2, bidirectional=True)
    mod.eval()
    x = torch.randn(6, 2, 3)
    h0 = torch.randn(4, 2, 5)
    states = (h0, torch.randn(4, 2, 5)) if kind == "LSTM" else h0
    path = str(tmp_path / "torch.onnx")
    names = ["x", "h0", "c0"] if kind == "LSTM" else ["x", "h0"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(mod, (x, states), path, input_names=names, dynamo=False,
                          dynamic_axes={n: {1: "N"} for n in names})
    block = SymbolBlock.from_onnx(path)
    for N in (2, 3):
        x = torch.randn(6, N, 3)
        states = tuple(torch.randn(4, N, 5) for _ in names[1:])
        with torch.no_grad():
            y, hs = mod(x, states if kind == "LSTM" else states[0])
        want = [y] + (list(hs) if kind == "LSTM" else [hs])
        arrays = dict(zip(names, [x] + list(states)))
        got = block(*[nd.array(arrays[n].numpy()) for n in block._input_names])
        assert len(got) == len(want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g.asnumpy(), w.numpy(), rtol=1e-4, atol=1e-5)


def test_fuzzed_recurrent_models_raise_only_file_format_errors():
    """Damaged LSTM/GRU files (the loaders' fuzzers on a recurrent seed) raise FileFormatError
    and stay under the fuzzers' allocation limit."""
    from kiln.export.onnx import import_symbol
    from test_fuzz_loaders import OnnxMutator, mutated, run_cases
    rng = np.random.default_rng(10)
    model = _node_model("LSTM", 3, 2, 3, 4, "bidirectional", rng=rng, seq=True)
    gru = _node_model("GRU", 3, 2, 3, 4, "reverse", rng=rng, linear_before_reset=1)
    node = gru.graph.node[0]
    node.input[:] = ["X", "W_gru", "R_gru", "B_gru"]
    node.output[:] = ["Y_gru"]
    model.graph.node.append(node)
    for init in gru.graph.initializer:
        init.name += "_gru"
    model.graph.initializer.extend(gru.graph.initializer)
    model.graph.output.append(helper.make_tensor_value_info("Y_gru", TensorProto.FLOAT,
                                                            (3, 1, 2, 4)))
    seed = model.SerializeToString()
    import_symbol(seed)   # the seed loads
    edit = OnnxMutator(11)
    n = run_cases(import_symbol, mutated(seed, 150, 12))
    n += run_cases(import_symbol, (edit(seed) for _ in range(250)))
    assert n == 400
