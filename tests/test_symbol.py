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
    with pytest.warns(UserWarning, match="Cannot decide shape"):
        assert net.infer_shape() == (None, None, None)   # MXNet's answer, with a warning
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


def test_viz_summary_and_plot(capsys):
    net = small_net()
    mx.viz.print_summary(net, shape={"data": (1, 3, 8, 8)})
    text = capsys.readouterr().out
    assert "(Convolution)" in text and "Total params:" in text
    dot = mx.viz.plot_network(net, shape={"data": (1, 3, 8, 8)})
    src = getattr(dot, "source", "")
    assert src.startswith('digraph "plot"') and "1x4x8x8" in src


# ---- MXNet 1.9 call conventions of kiln.sym and the executor ----
def _run(net, grads=True, **arrays):
    args = {k: nd.array(v) for k, v in arrays.items()}
    g = {k: nd.zeros(v.shape) for k, v in arrays.items()} if grads else None
    ex = net.bind(mx.cpu(), args=args, args_grad=g)
    ex.forward(is_train=True)
    return ex


def test_scalar_operands_become_scalar_inputs():
    e, x = sym.var("e"), sym.var("x")
    xv = np.array([[-1.0, 2.5], [4.0, 0.5]], np.float32)
    for f in (sym.pow, sym.power):
        y = f(2, e)
        assert y.list_arguments() == ["e"]
        ex = _run(y, e=xv)
        np.testing.assert_allclose(ex.outputs[0].asnumpy(), 2.0 ** xv, rtol=1e-6)
        ex.backward(nd.ones((2, 2)))
        np.testing.assert_allclose(ex.grad_dict["e"].asnumpy(), np.log(2) * 2.0 ** xv,
                                   rtol=1e-5)
    y = sym.maximum(x, 1) + sym.maximum(3, x) + sym.minimum(1, x) + sym.minimum(x, 2) \
        + sym.power(x, 2)
    assert y.list_arguments() == ["x"]
    ref = (np.maximum(xv, 1) + np.maximum(3, xv) + np.minimum(1, xv) + np.minimum(xv, 2)
           + xv ** 2)
    np.testing.assert_allclose(_run(y, x=xv).outputs[0].asnumpy(), ref, rtol=1e-6)
    # two numbers give a number, as MXNet's Python wrappers do
    assert sym.pow(2, 3) == 8 and sym.maximum(2, 5) == 5 and sym.minimum(2, 5) == 2


def test_scalar_operands_export_as_mxnet_scalar_ops():
    x = sym.var("x")
    net = sym.maximum(sym.power(2, sym.power(x, 3)), 0.5)
    ops = {n["op"] for n in json.loads(net.tojson())["nodes"]}
    assert {"_rpower_scalar", "_power_scalar", "_maximum_scalar"} <= ops


def test_number_in_a_generated_ops_input_slot_raises():
    x = sym.var("x")
    # MXNet asserts that inputs of generated ops are Symbols; kiln raises an error that is
    # both an AssertionError (as MXNet) and a TypeError
    for f in (sym.broadcast_add, sym.elemwise_mul, sym.broadcast_maximum):
        with pytest.raises(AssertionError, match="rhs must be a Symbol"):
            f(x, 2.0)
        with pytest.raises(TypeError):
            f(lhs=x, rhs=2.0)
    with pytest.raises(TypeError, match="not supported"):
        sym.maximum(x, "a")
    # None means "not given": the input becomes a variable
    assert sym.broadcast_add(x, None, name="b").list_arguments() == ["x", "b_rhs"]


def test_positionals_fill_inputs_then_attributes():
    x = sym.var("x")
    s = sym.sum(x, 1, True)
    assert s.attr("axis") == "1" and s.attr("keepdims") == "True"
    assert s.infer_shape(x=(2, 3))[1] == [(2, 1)]
    with pytest.raises(TypeError, match="multiple values"):
        sym.sum(x, 1, axis=0)
    fc = sym.FullyConnected(x, None, None, 4, name="fc")  # inputs, then num_hidden
    assert fc.list_arguments() == ["x", "fc_weight", "fc_bias"]


def test_backward_ignores_extra_out_grads():
    x = sym.var("x")
    ex = _run(x * 3, x=np.ones((2, 2), np.float32))
    ex.backward([nd.ones((2, 2)), nd.ones((5,))])
    np.testing.assert_allclose(ex.grad_dict["x"].asnumpy(), np.full((2, 2), 3.0))


def test_backward_after_inference_forward():
    x = sym.var("x")
    net = sym.BatchNorm(x * 2, fix_gamma=False, eps=1e-3, name="bn")
    ex = net.simple_bind(mx.cpu(), x=(3, 2))
    ex.arg_dict["x"][:] = np.arange(6).reshape(3, 2)
    ex.arg_dict["bn_gamma"][:] = 3.0
    ex.aux_dict["bn_moving_var"][:] = 1.0
    out = ex.forward()[0]  # is_train=False: the moving statistics normalise
    scale = 3.0 / np.sqrt(1.0 + 1e-3)
    np.testing.assert_allclose(out.asnumpy(), 2 * np.arange(6).reshape(3, 2) * scale, rtol=1e-5)
    ex.backward(nd.ones((3, 2)))
    np.testing.assert_allclose(ex.grad_dict["x"].asnumpy(), np.full((3, 2), 2 * scale),
                               rtol=1e-5)
    # a second backward after the same forward works; "add" accumulates
    ex2 = (x * 2).simple_bind(mx.cpu(), grad_req="add", x=(3, 4))
    ex2.forward()
    ex2.backward(nd.ones((3, 4)))
    ex2.backward(nd.ones((3, 4)))
    np.testing.assert_allclose(ex2.grad_dict["x"].asnumpy(), np.full((3, 4), 4.0))


def test_simple_bind_honours_variable_dtype():
    x = sym.var("x", dtype=np.int32)
    y = sym.Cast(x, dtype=np.float16)
    ex = y.simple_bind(mx.cpu(), x=(2, 3))
    assert ex.arg_dict["x"].dtype == np.int32 and ex.grad_dict["x"].dtype == np.int32
    ex.arg_dict["x"][:] = np.arange(6).reshape(2, 3)
    assert ex.forward()[0].dtype == np.float16
    # type_dict wins over the Variable's dtype
    ex = y.simple_bind(mx.cpu(), type_dict={"x": np.float64}, x=(2, 3))
    assert ex.arg_dict["x"].dtype == np.float64
    assert y.infer_type()[0] == [np.int32]
    # parameters follow the data's dtype, as in MXNet's type inference
    fc = sym.FullyConnected(sym.var("d", dtype=np.float64), num_hidden=2, name="fc")
    ex = fc.simple_bind(mx.cpu(), d=(2, 3))
    assert [a.dtype for a in ex.arg_arrays] == [np.float64] * 3


def test_op_call_takes_lr_and_wd_mult_like_mxnet():
    fc = mx.sym.FullyConnected(mx.sym.var("data"), name="fc1", num_hidden=10, lr_mult=0,
                               wd_mult=0.5)
    attrs = fc.attr_dict()
    for name in ("fc1", "fc1_weight", "fc1_bias"):  # the auto-created variables too (MXNet)
        assert attrs[name]["__lr_mult__"] == "0" and attrs[name]["__wd_mult__"] == "0.5"
    assert '"__lr_mult__": "0"' in fc.tojson()


def test_compose_copy_and_executor_surface():
    """MXNet's Symbol call (compose), copy, outputs allocated at bind and kept by forward,
    debug_str and get_optimized_symbol."""
    import copy

    from kiln import sym as S
    net = S.FullyConnected(S.var("data"), num_hidden=4, name="fc")
    pre = S.Activation(S.var("x"), act_type="relu", name="pre")
    composed = net(data=pre)
    assert composed.list_arguments() == ["x", "fc_weight", "fc_bias"]
    assert net.list_arguments() == ["data", "fc_weight", "fc_bias"]   # unchanged
    assert net(S.var("y")).list_arguments()[0] == "y"                  # positional
    with pytest.raises(MXNetError, match="not variables"):
        net(nothing=S.var("z"))
    assert copy.copy(net).list_outputs() == copy.deepcopy(net).list_outputs() == ["fc_output"]
    ex = composed.simple_bind(mx.cpu(), x=(2, 3))
    held = ex.outputs[0]
    assert held.shape == (2, 4)
    xv = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
    w = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    ex.arg_dict["fc_weight"][:] = w
    ex.forward(x=nd.array(xv))
    np.testing.assert_allclose(held.asnumpy(), np.maximum(xv, 0) @ w.T, rtol=1e-5)
    ex.backward(nd.ones((2, 4)))
    np.testing.assert_allclose(ex.grad_dict["fc_bias"].asnumpy(), [2, 2, 2, 2])
    assert "Op:" in ex.debug_str() and ex.get_optimized_symbol() is composed


def test_infer_shape_partial_carries_unknown_dims():
    """A 0 in a given shape is an unknown dimension (MXNet): partial inference carries it
    through the ops that can and infers the parameters from the known ones (MXNet's result
    for FullyConnected on data (0, 3))."""
    net = sym.FullyConnected(sym.var("data"), num_hidden=4, name="fc")
    assert net.infer_shape_partial(data=(0, 3)) == ([(0, 3), (4, 3), (4,)], [(0, 4)], [])
    assert net.infer_shape_partial() == ([(), (), ()], [()], [])
    with pytest.warns(UserWarning, match="data"):   # complete inference needs every dimension
        assert net.infer_shape(data=(0, 3)) == (None, None, None)


def test_parameter_shapes_flow_back_through_elementwise_ops():
    """A parameter reached through shape-keeping ops (a cast to float16, an activation) still
    gets its shape from the consuming op; a transpose in between keeps it unknown."""
    w = sym.var("w")
    conv = sym.Convolution(sym.cast(sym.var("data", shape=(1, 0, 0, 0)), dtype="float16"),
                           sym.cast(w, dtype="float16"), num_filter=8, kernel=(3, 3),
                           no_bias=True)
    args = dict(zip(conv.list_arguments(), conv.infer_shape_partial()[0]))
    assert args == {"data": (1, 0, 0, 0), "w": (8, 0, 3, 3)}
    fc = sym.FullyConnected(sym.var("x"), sym.relu(sym.cast(w, dtype="float32")),
                            num_hidden=4, no_bias=True)
    assert fc.infer_shape(x=(2, 3))[0] == [(2, 3), (4, 3)]
    turned = sym.FullyConnected(sym.var("x"), sym.transpose(w), num_hidden=4, no_bias=True)
    assert turned.infer_shape_partial(x=(2, 3))[0] == [(2, 3), ()]


def test_executor_reshape_shares_unchanged_arrays():
    """Executor.reshape (MXNet's): parameters and their gradients are shared, new input
    shapes get new arrays; growing needs allow_up_sizing, other arguments partial_shaping."""
    net = sym.FullyConnected(sym.var("data"), num_hidden=4, name="fc")
    ex = net.simple_bind(mx.cpu(), data=(2, 3))
    ex.arg_dict["fc_weight"][:] = 0.5
    with pytest.raises(MXNetError, match="allow_up_sizing"):
        ex.reshape(data=(5, 3))
    big = ex.reshape(allow_up_sizing=True, data=(5, 3))
    assert big.arg_dict["fc_weight"] is ex.arg_dict["fc_weight"]
    assert big.outputs[0].shape == (5, 4) and ex.reshape(data=(1, 3)).outputs[0].shape == (1, 4)
    big.forward(is_train=True, data=nd.ones((5, 3)))
    big.backward(nd.ones((5, 4)))
    assert big.grad_dict["fc_weight"] is ex.grad_dict["fc_weight"]
    np.testing.assert_allclose(ex.grad_dict["fc_bias"].asnumpy(), [5, 5, 5, 5])
    np.testing.assert_allclose(big.outputs[0].asnumpy(), np.full((5, 4), 1.5))


@pytest.mark.parametrize("make, dtype", [
    (lambda: sym.zeros((0, 4)), "float32"), (lambda: sym.ones((2, 3), dtype="float16"), "float16"),
    (lambda: sym.full((2,), 3), "float32"), (lambda: sym.random.uniform(shape=(2,)), "float32")])
def test_creation_ops_write_a_concrete_dtype(make, dtype):
    # MXNet 1.9's _zeros/_ones/_full refuse dtype "None" when loading a symbol file
    attrs = json.loads(make().tojson())["nodes"][-1]["attrs"]
    assert attrs["dtype"] == dtype
