"""Whole-graph ONNX export/import: checker, onnxruntime, reference evaluator, dynamic batch,
BatchNorm folding, graph cleanliness, error messages and the export->import->export round trip."""
import kiln.symbol as sym
import numpy as np
import onnx
import pytest
from kiln import nd
from kiln.export.onnx import ExportError, export_model, import_symbol
from kiln.export.onnx_builder import MIN_IR
from kiln.export.onnx_verify import session
from onnx.reference import ReferenceEvaluator


def _params(net, shapes, prefix=False):
    args, _, aux = net.infer_shape(**shapes)
    rng = np.random.default_rng(0)
    out = {}
    for n, s in zip(net.list_arguments(), args):
        if n not in shapes:
            out[("arg:" if prefix else "") + n] = nd.array(rng.standard_normal(s).astype("f4"))
    for n, s in zip(net.list_auxiliary_states(), aux):
        out[("aux:" if prefix else "") + n] = nd.array(
            (np.abs(rng.standard_normal(s)) + 0.5).astype("f4"))
    return out


def _cnn():
    x = sym.var("data")
    c = sym.Convolution(x, kernel=(3, 3), num_filter=4, pad=(1, 1), name="conv0")
    b = sym.BatchNorm(c, fix_gamma=False, name="bn0")
    p = sym.Pooling(sym.relu(b, name="relu0"), kernel=(2, 2), stride=(2, 2), name="pool0")
    return sym.FullyConnected(p, num_hidden=3, name="fc")


def _mlp():
    x = sym.var("data")
    h = sym.Activation(sym.FullyConnected(x, num_hidden=8, name="fc1"), act_type="tanh")
    return sym.softmax(sym.FullyConnected(h, num_hidden=4, name="fc2"), axis=-1)


def _kiln(net, params, x):
    feed = {k.split(":")[-1]: v for k, v in params.items()}
    return net.eval(data=nd.array(x), **feed)[0].asnumpy()


@pytest.mark.parametrize("opset", [13, 17])
@pytest.mark.parametrize("which", ["cnn", "mlp"])
def test_export_runs_everywhere(tmp_path, opset, which):
    net, shape = (_cnn(), (2, 3, 8, 8)) if which == "cnn" else (_mlp(), (2, 5))
    params = _params(net, {"data": shape})
    path = export_model(net, params, [shape], onnx_file_path=str(tmp_path / "m.onnx"),
                        opset=opset, dynamic_axes={"data": {0: "batch"}})
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == opset and model.ir_version == MIN_IR[opset]
    inits = {t.name for t in model.graph.initializer}
    assert not inits & {i.name for i in model.graph.input}
    assert not [n for n in model.graph.node if n.op_type == "Identity"]
    assert not [n for n in model.graph.node if n.op_type == "BatchNormalization"]
    for batch in (2, 5):   # dynamic batch
        x = np.random.default_rng(batch).standard_normal((batch,) + shape[1:]).astype("f4")
        want = _kiln(net, params, x)
        got = session(model).run(None, {"data": x})[0]
        ref = ReferenceEvaluator(model).run(None, {"data": x})[0]
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(ref, want, rtol=1e-4, atol=1e-4)


def test_prefixed_params_and_readable_names(tmp_path):
    net = _cnn()
    params = _params(net, {"data": (1, 3, 8, 8)}, prefix=True)
    path = export_model(net, params, [(1, 3, 8, 8)], onnx_file_path=str(tmp_path / "m.onnx"))
    model = onnx.load(path)
    assert {"conv0_weight", "conv0_bias", "fc_weight"} <= {t.name for t in
                                                          model.graph.initializer}
    assert [n.op_type for n in model.graph.node] == ["Conv", "Relu", "MaxPool", "Flatten",
                                                     "Gemm"]
    assert model.graph.output[0].name == "fc_output"


def test_unsupported_op_names_node(tmp_path):
    x = sym.var("data")
    y = sym.FullyConnected(sym.dropout_mask(x), num_hidden=2, name="fc")
    with pytest.raises(ExportError, match="dropout_mask.*no ONNX lowering"):
        export_model(y, _params(y, {"data": (2, 3)}), [(2, 3)],
                     onnx_file_path=str(tmp_path / "m.onnx"))


def test_example_input_shape_mismatch(tmp_path):
    net = _mlp()
    with pytest.raises(ExportError, match="example input 'data' has shape"):
        export_model(net, _params(net, {"data": (2, 5)}), [(2, 5)],
                     onnx_file_path=str(tmp_path / "m.onnx"),
                     example_inputs=[np.zeros((3, 5), "f4")])


def test_verification_names_diverging_node(tmp_path, monkeypatch):
    from kiln.ndarray import _registry
    op = _registry.OPS["activation"]
    monkeypatch.setattr(op, "onnx", lambda g, i, a, o, **_: g.op("Sigmoid", i[0]))
    net = _mlp()
    with pytest.raises(ExportError, match="max \\|diff\\|.*first diverging node.*activation"):
        export_model(net, _params(net, {"data": (2, 5)}), [(2, 5)],
                     onnx_file_path=str(tmp_path / "m.onnx"))


def test_round_trip(tmp_path):
    net = _cnn()
    params = _params(net, {"data": (2, 3, 8, 8)})
    p1 = export_model(net, params, [(2, 3, 8, 8)], onnx_file_path=str(tmp_path / "a.onnx"))
    s2, arg, aux = import_symbol(p1)
    p2 = export_model(s2, {**arg, **aux}, [(2, 3, 8, 8)],
                      onnx_file_path=str(tmp_path / "b.onnx"))
    x = np.random.default_rng(3).standard_normal((2, 3, 8, 8)).astype("f4")
    a = session(onnx.load(p1)).run(None, {"data": x})[0]
    b = session(onnx.load(p2)).run(None, {"data": x})[0]
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(s2.eval(data=nd.array(x), **arg, **aux)[0].asnumpy(), a,
                               rtol=1e-5, atol=1e-5)


def test_import_bn_aux_and_unsupported(tmp_path):
    from onnx import TensorProto, helper, numpy_helper
    c = np.arange(3, dtype="f4") + 1
    inits = [numpy_helper.from_array(v, n) for v, n in
             ((c, "s"), (c * 0, "b"), (c * 0.1, "m"), (c, "v"))]
    node = helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"])
    vi = helper.make_tensor_value_info
    graph = helper.make_graph([node], "g", [vi("x", TensorProto.FLOAT, [2, 3])],
                              [vi("y", TensorProto.FLOAT, [2, 3])], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    s, arg, aux = import_symbol(model)
    assert set(aux) == {"m", "v"} and set(arg) == {"s", "b"}
    # op types whose output shape depends on the data: the first one met is named, with why
    bad = helper.make_graph([helper.make_node("Unique", ["x"], ["h"]),
                             helper.make_node("NonZero", ["x"], ["y"])], "g",
                            [vi("x", TensorProto.FLOAT, [2, 2])],
                            [vi("h", TensorProto.FLOAT, [None]),
                             vi("y", TensorProto.INT64, [2, None])])
    with pytest.raises(Exception, match="Unique node 'h': its output shape depends on"):
        import_symbol(helper.make_model(bad, opset_imports=[helper.make_opsetid("", 17)]))
    # op types it does not convert at all: all listed, sorted
    bad = helper.make_graph([helper.make_node("Einsum", ["x", "x"], ["h"], equation="ij,jk"),
                             helper.make_node("Det", ["x"], ["y"])], "g",
                            [vi("x", TensorProto.FLOAT, [2, 2])],
                            [vi("h", TensorProto.FLOAT, [2, 2]), vi("y", TensorProto.FLOAT, [])])
    with pytest.raises(Exception, match=r"unsupported operator\(s\) \['Det', 'Einsum'\]"):
        import_symbol(helper.make_model(bad, opset_imports=[helper.make_opsetid("", 17)]))


def test_resnet_block_is_minimal(tmp_path):
    x = sym.var("data")
    h = sym.relu(sym.BatchNorm(sym.Convolution(x, kernel=(3, 3), pad=(1, 1), num_filter=3,
                                               no_bias=True, name="c1"), name="b1"))
    h = sym.BatchNorm(sym.Convolution(h, kernel=(3, 3), pad=(1, 1), num_filter=3,
                                      no_bias=True, name="c2"), name="b2")
    y = sym.relu(h + x)
    path = export_model(y, _params(y, {"data": (1, 3, 6, 6)}), [(1, 3, 6, 6)],
                        onnx_file_path=str(tmp_path / "r.onnx"), large_model=True)
    model = onnx.load(path)
    assert [n.op_type for n in model.graph.node] == ["Conv", "Relu", "Conv", "Add", "Relu"]
    assert (tmp_path / "r.onnx.data").exists()


def test_dynamic_reshape_and_cleanup(tmp_path):
    x = sym.var("data")
    c = sym.Convolution(x, kernel=(1, 1), num_filter=4, name="c")
    r = sym.reshape(c, shape=(0, 4, -1))
    t = sym.transpose(sym.transpose(r, axes=(0, 2, 1)), axes=(0, 2, 1))
    r2 = sym.reshape(sym.reshape(t, shape=(-1, 8)), shape=(0, -1))
    y = sym.FullyConnected(r2, num_hidden=5, flatten=False, name="fc")
    params = _params(y, {"data": (2, 3, 4, 4)})
    path = export_model(y, params, [(2, 3, 4, 4)], onnx_file_path=str(tmp_path / "m.onnx"),
                        dynamic_axes={"data": {0: "batch"}})
    model = onnx.load(path)
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("Reshape") == 1 and "Transpose" not in ops and "Identity" not in ops
    x4 = np.random.default_rng(0).standard_normal((4, 3, 4, 4)).astype("f4")
    np.testing.assert_allclose(session(model).run(None, {"data": x4})[0],
                               _kiln(y, params, x4), rtol=1e-4, atol=1e-4)


def test_files_names_and_opset_range(tmp_path):
    net = _mlp()
    params = _params(net, {"data": (2, 5)}, prefix=True)
    net.save(str(tmp_path / "net-symbol.json"))
    nd.save(str(tmp_path / "net-0000.params"), params)
    path = export_model(str(tmp_path / "net-symbol.json"), str(tmp_path / "net-0000.params"),
                        [(2, 5)], onnx_file_path=str(tmp_path / "m.onnx"),
                        input_names=["x"], output_names=["probs"],
                        dynamic_axes={"x": {0: "batch"}})
    model = onnx.load(path)
    assert [i.name for i in model.graph.input] == ["x"]
    assert [o.name for o in model.graph.output] == ["probs"]
    assert model.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    with pytest.raises(ExportError, match="opset 12"):
        export_model(net, params, [(2, 5)], onnx_file_path=str(tmp_path / "m.onnx"), opset=12)


def test_import_dynamic_shape_pattern():
    from onnx import TensorProto, helper, numpy_helper
    vi = helper.make_tensor_value_info
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
             helper.make_node("Unsqueeze", ["n", "zero1"], ["n1"]),
             helper.make_node("Concat", ["n1", "minus1"], ["shape"], axis=0),
             helper.make_node("Reshape", ["x", "shape"], ["y"])]
    inits = [numpy_helper.from_array(np.array(0, np.int64), "zero"),
             numpy_helper.from_array(np.array([0], np.int64), "zero1"),
             numpy_helper.from_array(np.array([-1], np.int64), "minus1")]
    graph = helper.make_graph(nodes, "g", [vi("x", TensorProto.FLOAT, ["N", 3, 4])],
                              [vi("y", TensorProto.FLOAT, ["N", 12])], initializer=inits)
    s, arg, aux = import_symbol(helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17)]))
    for n in (2, 5):
        x = np.arange(n * 12, dtype="f4").reshape(n, 3, 4)
        np.testing.assert_array_equal(s.eval(x=nd.array(x))[0].asnumpy(), x.reshape(n, 12))


def _op_mix():
    x = sym.var("data")
    a = sym.LayerNorm(sym.FullyConnected(x, num_hidden=6, flatten=False, name="fc"), name="ln")
    b = sym.concat(sym.slice(a, begin=(None, 0, 0), end=(None, 2, 6)),
                   sym.exp(sym.slice_axis(a, axis=1, begin=1, end=3)), dim=1)
    c = sym.mean(b, axis=1, keepdims=True) + sym.sqrt(sym.abs(b) + 1.0) ** 2.0
    d = sym.clip(sym.squeeze(sym.expand_dims(c, axis=1), axis=1), a_min=-1.0, a_max=3.0)
    e = sym.pad(sym.reshape(d, shape=(0, 1, 4, 6)), mode="constant",
                pad_width=(0, 0, 0, 0, 1, 1, 1, 1), constant_value=0.5)
    f = sym.Pooling(e, kernel=(2, 2), pool_type="avg", stride=(2, 2))
    return sym.Group([sym.log_softmax(sym.flatten(sym.erf(f)), axis=-1), sym.sigmoid(a)])


@pytest.mark.parametrize("opset", [13, 18])
def test_op_mix_round_trip_and_groups(tmp_path, opset):
    net = _op_mix()
    params = _params(net, {"data": (2, 3, 5)})
    p1 = export_model(net, params, [(2, 3, 5)], onnx_file_path=str(tmp_path / "a.onnx"),
                      opset=opset, dynamic_axes={"data": {0: "batch"}})
    m1 = onnx.load(p1)
    assert len(m1.graph.output) == 2
    assert not {"Unsqueeze", "Squeeze", "Identity"} & {n.op_type for n in m1.graph.node}
    s2, arg, aux = import_symbol(p1)
    p2 = export_model(s2, {**arg, **aux}, [(2, 3, 5)], onnx_file_path=str(tmp_path / "b.onnx"),
                      opset=opset)
    x = np.random.default_rng(1).standard_normal((2, 3, 5)).astype("f4")
    for a, b in zip(session(m1).run(None, {"data": x}), session(onnx.load(p2)).run(None,
                                                                                  {"data": x})):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_from_onnx_gives_a_trainable_symbolblock(tmp_path):
    from kiln import autograd, gluon, nd
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Conv2D(3, 3, padding=1), gluon.nn.BatchNorm(), gluon.nn.Activation("relu"),
            gluon.nn.GlobalAvgPool2D(), gluon.nn.Dense(4))
    net.initialize()
    x = nd.array(np.random.default_rng(0).normal(size=(2, 2, 5, 5)))
    net(x)
    path = net.export_onnx(str(tmp_path / "a.onnx"), x)
    block = gluon.SymbolBlock.from_onnx(path)
    np.testing.assert_allclose(block(x).asnumpy(), net(x).asnumpy(), rtol=1e-5, atol=1e-5)
    again = block.export_onnx(str(tmp_path / "b.onnx"), x)   # export -> import -> export
    import onnxruntime as ort
    out = ort.InferenceSession(again).run(None, {"data": x.asnumpy()})[0]
    np.testing.assert_allclose(out, net(x).asnumpy(), rtol=1e-5, atol=1e-5)
    trainer = gluon.Trainer(block.collect_params(), "sgd", {"learning_rate": 0.5})
    before = block(x).asnumpy()
    with autograd.record():
        loss = (block(x) ** 2).sum()
    loss.backward()
    trainer.step(1)
    assert np.abs(block(x).asnumpy() - before).max() > 1e-4


def test_verification_draws_sequence_lengths_within_the_time_axis(tmp_path):
    # The check at other sizes used to feed random normal values as sequence lengths, which
    # onnxruntime rejects: the op's value_ranges facet keeps them in 1..T.
    from kiln import gluon
    from kiln.export import onnx_verify
    from kiln.ndarray import _registry
    net = gluon.rnn.GRU(4, input_size=3, use_sequence_length=True)
    net.initialize()
    x, h0, seq = nd.ones((5, 2, 3)), nd.zeros((1, 2, 4)), nd.array([5, 2])
    dyn = {"data": {0: "T", 1: "N"}, "h0": {1: "N"}, "seq": {0: "N"}}
    net.export_onnx(str(tmp_path / "gru.onnx"), x, h0, seq, dynamic_axes=dyn,
                    input_names=["data", "h0", "seq"])
    data = _registry.Aval((7, 3, 3), np.float32)
    assert _registry.value_ranges(_registry.get("RNN"), [data, None, None, None, None],
                                  {"use_sequence_length": True, "mode": "lstm"}) == {4: (1, 8)}
    assert _registry.value_ranges(_registry.get("RNN"), [data] + [None] * 4, {}) == {}
    drawn = onnx_verify.random_inputs({"seq": (1000,)}, {"seq": np.float32}, ranges={"seq": (1, 8)})
    assert drawn["seq"].min() >= 1 and drawn["seq"].max() <= 7
