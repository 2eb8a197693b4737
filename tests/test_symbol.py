"""The Symbol API (kiln.sym), MXNet JSON in and out, the executor and kiln.viz."""
import json

import kiln as mx
import numpy as np
import pytest
from kiln import gluon, nd, sym
from kiln.base import MXNetError


def small_net():
    data = sym.var("data")
    conv = sym.Convolution(data, kernel=(3, 3), num_filter=4, pad=(1, 1), name="conv0")
    bn = sym.BatchNorm(conv, fix_gamma=False, name="bn0")
    act = sym.Activation(bn, act_type="relu", name="relu0")
    pool = sym.Pooling(act, kernel=(2, 2), stride=(2, 2), pool_type="max", name="pool0")
    return sym.FullyConnected(sym.Flatten(pool), num_hidden=3, name="fc0")


def test_lists_and_internals():
    net = small_net()
    assert net.list_arguments() == ["data", "conv0_weight", "conv0_bias", "bn0_gamma",
                                    "bn0_beta", "fc0_weight", "fc0_bias"]
    assert net.list_auxiliary_states() == ["bn0_moving_mean", "bn0_moving_var"]
    assert net.list_outputs() == ["fc0_output"]
    assert net.list_inputs()[:2] == ["data", "conv0_weight"]
    internals = net.get_internals()
    assert "relu0_output" in internals.list_outputs()
    relu = internals["relu0_output"]
    assert relu.name == "relu0"
    assert net.get_children().list_outputs()[0].startswith("flatten")
    group = sym.Group([relu, net])
    assert len(group.list_outputs()) == 2 and group[1].name == "fc0"


def test_infer_shape_and_type():
    net = small_net()
    args, outs, aux = net.infer_shape(data=(2, 3, 8, 8))
    assert args[1] == (4, 3, 3, 3) and args[5] == (3, 64)
    assert outs == [(2, 3)] and aux == [(4,), (4,)]
    partial = sym.FullyConnected(sym.var("x"), num_hidden=2).infer_shape_partial()
    assert partial[1] == [()]
    with pytest.raises(MXNetError):
        net.infer_shape()
    types = net.infer_type(data=np.float32)
    assert types[1] == [np.float32]


def test_attributes():
    v = sym.var("w", shape=(2, 3), lr_mult=2.0, attr={"mood": "good"})
    assert v.attr("mood") == "good"
    net = small_net()
    assert net.attr_dict()["conv0"]["num_filter"] == "4"
    assert net.get_internals()["pool0_output"].list_attr()["pool_type"] == "max"


def _values(net, shape, seed=0):
    rng = np.random.default_rng(seed)
    args, _, aux = net.infer_shape(data=shape)
    vals = {n: nd.array(rng.uniform(0.5, 1.0, s))
            for n, s in zip(net.list_arguments() + net.list_auxiliary_states(), args + aux)}
    return vals


def test_json_round_trip_and_eval(tmp_path):
    net = small_net() * 2 + 1
    vals = _values(net, (2, 3, 8, 8))
    expected = net.eval(**vals)[0].asnumpy()
    doc = json.loads(net.tojson())
    assert doc["attrs"]["mxnet_version"] == ["int", 10901]
    ops = [n["op"] for n in doc["nodes"]]
    assert {"Convolution", "BatchNorm", "Activation", "Pooling", "Flatten", "FullyConnected",
            "_mul_scalar", "_plus_scalar"} <= set(ops)
    assert len(doc["node_row_ptr"]) == len(doc["nodes"]) + 1
    path = tmp_path / "net-symbol.json"
    net.save(str(path))
    back = sym.load(str(path))
    assert back.list_arguments() == net.list_arguments()
    assert back.list_auxiliary_states() == net.list_auxiliary_states()
    np.testing.assert_allclose(back.eval(**vals)[0].asnumpy(), expected, rtol=1e-6)


# A graph as MXNet 1.x writes it (old files use "attr"/"param" instead of "attrs").
MXNET_JSON = {
    "nodes": [
        {"op": "null", "name": "data", "inputs": []},
        {"op": "null", "name": "conv_weight", "attr": {"__shape__": "(2, 1, 3, 3)"},
         "inputs": []},
        {"op": "Convolution", "name": "conv",
         "param": {"kernel": "(3, 3)", "num_filter": "2", "no_bias": "True",
                   "pad": "(1, 1)", "cudnn_tune": "limited_workspace", "workspace": "1024"},
         "inputs": [[0, 0, 0], [1, 0, 0]]},
        {"op": "null", "name": "bn_gamma", "inputs": []},
        {"op": "null", "name": "bn_beta", "inputs": []},
        {"op": "null", "name": "bn_moving_mean", "inputs": []},
        {"op": "null", "name": "bn_moving_var", "inputs": []},
        {"op": "BatchNorm", "name": "bn", "attrs": {"eps": "1e-05", "fix_gamma": "False",
                                                    "momentum": "0.9"},
         "inputs": [[2, 0, 0], [3, 0, 0], [4, 0, 0], [5, 0, 1], [6, 0, 1]]},
        {"op": "Activation", "name": "act", "attrs": {"act_type": "relu"},
         "inputs": [[7, 0, 0]]},
        {"op": "elemwise_add", "name": "add", "inputs": [[8, 0, 0], [2, 0, 0]]},
        {"op": "_plus_scalar", "name": "plus", "attrs": {"scalar": "1.5"},
         "inputs": [[9, 0, 0]]},
        {"op": "Pooling", "name": "gap", "attrs": {"global_pool": "True", "kernel": "(1, 1)",
                                                    "pool_type": "avg"},
         "inputs": [[10, 0, 0]]},
        {"op": "Flatten", "name": "flat", "inputs": [[11, 0, 0]]},
    ],
    "arg_nodes": [0, 1, 3, 4, 5, 6],
    "node_row_ptr": list(range(14)),
    "heads": [[12, 0, 0]],
    "attrs": {"mxnet_version": ["int", 10901]},
}


def test_reads_mxnet_written_json_and_params(tmp_path):
    sym_file = tmp_path / "m-symbol.json"
    sym_file.write_text(json.dumps(MXNET_JSON))
    rng = np.random.default_rng(0)
    params = {"arg:conv_weight": nd.array(rng.normal(size=(2, 1, 3, 3))),
              "arg:bn_gamma": nd.array([1.5, 0.5]), "arg:bn_beta": nd.array([0.1, -0.1]),
              "aux:bn_moving_mean": nd.array([0.2, -0.3]),
              "aux:bn_moving_var": nd.array([1.2, 0.8])}
    nd.save(str(tmp_path / "m-0000.params"), params)
    block = gluon.SymbolBlock.imports(str(sym_file), ["data"], str(tmp_path / "m-0000.params"))
    assert block.collect_params()["bn_moving_mean"].grad_req == "null"
    x = rng.normal(size=(2, 1, 5, 5)).astype(np.float32)
    out = block(nd.array(x)).asnumpy()
    # numpy reference of the same graph
    w = params["arg:conv_weight"].asnumpy()
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    conv = np.zeros((2, 2, 5, 5), np.float32)
    for i in range(5):
        for j in range(5):
            conv[:, :, i, j] = np.einsum("nchw,ochw->no", xp[:, :, i:i + 3, j:j + 3], w)
    g, b = np.array([1.5, 0.5]), np.array([0.1, -0.1])
    m, v = np.array([0.2, -0.3]), np.array([1.2, 0.8])
    bn = (conv - m[:, None, None]) / np.sqrt(v[:, None, None] + 1e-5) * g[:, None, None] \
        + b[:, None, None]
    ref = (np.maximum(bn, 0) + conv + 1.5).mean(axis=(2, 3))
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


def test_unsupported_ops_are_listed():
    doc = json.loads(json.dumps(MXNET_JSON))
    doc["nodes"][8]["op"] = "_contrib_Quantize"
    doc["nodes"][10]["op"] = "_contrib_Mystery"
    with pytest.raises(MXNetError, match="_contrib_Mystery.*_contrib_Quantize"):
        sym.load_json(json.dumps(doc))


def test_bad_json_raises_clearly(tmp_path):
    with pytest.raises(MXNetError, match="not an MXNet symbol JSON"):
        sym.load_json("{not json")
    with pytest.raises(MXNetError, match="does not exist"):
        sym.load(str(tmp_path / "missing.json"))


def test_executor_forward_backward():
    x = sym.var("data")
    net = sym.sum(sym.FullyConnected(x, num_hidden=4, name="fc") ** 2)
    ex = net.simple_bind(mx.cpu(), data=(2, 3))
    ex.arg_dict["fc_weight"][:] = 0.5
    ex.arg_dict["fc_bias"][:] = 0.0
    data = np.arange(6, dtype=np.float32).reshape(2, 3)
    ex.forward(is_train=True, data=nd.array(data))
    y = data @ np.full((3, 4), 0.5, np.float32)
    np.testing.assert_allclose(ex.outputs[0].asnumpy(), [(y ** 2).sum()], rtol=1e-6)
    ex.backward()
    np.testing.assert_allclose(ex.grad_dict["fc_bias"].asnumpy(), (2 * y).sum(0), rtol=1e-6)
    np.testing.assert_allclose(ex.grad_dict["fc_weight"].asnumpy(), 2 * y.T @ data, rtol=1e-6)
    args = {n: a for n, a in ex.arg_dict.items()}
    ex2 = net.bind(mx.cpu(), args=args, grad_req="null")
    np.testing.assert_allclose(ex2.forward()[0].asnumpy(), ex.outputs[0].asnumpy())


def test_viz_summary_and_plot():
    net = small_net()
    text = mx.viz.print_summary(net, shape={"data": (1, 3, 8, 8)})
    assert "conv0(convolution)" in text and "Total params: 323" in text
    dot = mx.viz.plot_network(net, shape={"data": (1, 3, 8, 8)})
    src = getattr(dot, "source", "")
    assert src.startswith('digraph "plot"') and "1x4x8x8" in src
