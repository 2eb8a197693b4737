"""Gluon 1.x symbolic calls: a block called on ``sym.var('data')`` returns a Symbol named as in
MXNet 1.9 (``<prefix>fwd`` for the layers' ops, ``<prefix><hint><n>`` otherwise), parameters
standing as their ``var()`` (no initialization needed), BatchNorm's statistics as auxiliary
states. The expectations below were printed by real MXNet 1.9.1 running ``build_cases``;
``test_same_as_mxnet`` reruns both interpreters when ``/tmp/mxvenv`` exists.
"""
import inspect
import json
import os
import subprocess
import sys

import kiln as mx
import numpy as np
import pytest
from kiln import autograd
from kiln.gluon import nn

MXNET_PYTHON = "/tmp/mxvenv/bin/python"


def build_cases(mx, nn):
    """Symbols from calling Gluon 1.x blocks on ``sym.var('data')``: name -> (symbol, shapes).

    Every top-level block has an explicit prefix so the names do not depend on how many
    blocks were created before (MXNet's global counters).
    """
    x = mx.sym.var("data")
    cases = {
        "dense_tanh": (nn.Dense(128, activation="tanh", in_units=10, flatten=False,
                                prefix="test_"), (2, 3, 10)),
        "dense": (nn.Dense(7, prefix="d_"), (2, 3, 4)),
        "dense_noflat_nobias": (nn.Dense(7, flatten=False, use_bias=False, prefix="d2_"),
                                (2, 3, 4)),
        "conv2d": (nn.Conv2D(3, (3, 3), strides=2, padding=1, use_bias=False, prefix="c_"),
                   (1, 2, 9, 9)),
        "conv1d_act": (nn.Conv1D(3, 3, activation="sigmoid", prefix="c1_"), (1, 2, 9)),
        "deconv": (nn.Conv2DTranspose(3, 2, prefix="dc_"), (1, 2, 4, 4)),
        "maxpool": (nn.MaxPool2D(prefix="mp_"), (1, 2, 4, 4)),
        "globalpool": (nn.GlobalAvgPool2D(prefix="gp_"), (1, 2, 4, 4)),
        "batchnorm": (nn.BatchNorm(in_channels=3, prefix="bn_"), (2, 3, 4)),
        "layernorm": (nn.LayerNorm(prefix="ln_"), (2, 3, 4)),
        "instancenorm": (nn.InstanceNorm(prefix="in_"), (2, 3, 4)),
        "embedding": (nn.Embedding(10, 4, prefix="emb_"), (2, 3)),
        "leakyrelu": (nn.LeakyReLU(0.1, prefix="lr_"), (2, 3)),
        "selu": (nn.SELU(prefix="selu_"), (2, 3)),
        "swish": (nn.Swish(prefix="sw_"), (2, 3)),
        "flatten": (nn.Flatten(prefix="fl_"), (2, 3, 4)),
        "dropout": (nn.Dropout(0.5, prefix="do_"), (2, 3)),
    }
    net = nn.HybridSequential(prefix="net_")
    with net.name_scope():
        net.add(nn.Conv2D(4, 3, activation="relu"), nn.BatchNorm(), nn.MaxPool2D(),
                nn.Dropout(0.2), nn.Dense(16, activation="relu"), nn.Dense(4))
    net.hybridize()  # a symbolic call ignores hybridization; parameters stay uninitialized
    cases["hybridsequential"] = (net, (5, 3, 8, 8))
    seq = nn.Sequential(prefix="seq_")
    with seq.name_scope():
        seq.add(nn.Dense(3, in_units=4), nn.Activation("relu"))
    cases["sequential"] = (seq, (2, 4))

    class Custom(nn.HybridBlock):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            with self.name_scope():
                self.w = self.params.get("weight", shape=(3,), lr_mult=0.5)
                self.inner = nn.Dense(3, in_units=3)

        def hybrid_forward(self, F, x, w):
            y = F.broadcast_mul(x, w)
            y = self.inner(y) + self.inner(y)   # one child called twice
            z = F.relu(y) - 1
            a = F.FullyConnected(z, w.reshape((1, 3)), no_bias=True, num_hidden=1)
            return F.Group([F.sum(z * 2, axis=1, name="total"), F.exp(a), 1 - z])

    cases["custom"] = (Custom(prefix="custom_"), (2, 3))
    return {k: (blk(x), shape) for k, (blk, shape) in cases.items()}


def describe(mx, nn):
    """What the comparison looks at, as plain JSON-able values."""
    import json
    out = {}
    for name, (s, shape) in build_cases(mx, nn).items():
        args, outs, aux = s.infer_shape(data=shape)
        out[name] = {
            "arguments": s.list_arguments(), "outputs": s.list_outputs(),
            "auxiliary_states": s.list_auxiliary_states(),
            "internals": s.get_internals().list_outputs(),
            "nodes": [n["name"] for n in json.loads(s.tojson())["nodes"]],
            "arg_shapes": [list(a) for a in args], "out_shapes": [list(o) for o in outs],
            "aux_shapes": [list(a) for a in aux],
        }
    return out


# Printed by MXNet 1.9.1 (``describe(mxnet, mxnet.gluon.nn)``, the ``nodes`` entry left out).
EXPECTED = {
    "dense_tanh": dict(
        arguments=["data", "test_weight", "test_bias"],
        outputs=["test_tanh_fwd_output"],
        auxiliary_states=[],
        internals=["data", "test_weight", "test_bias", "test_fwd_output", "test_tanh_fwd_output"],
        arg_shapes=[(2, 3, 10), (128, 10), (128,)],
        out_shapes=[(2, 3, 128)],
        aux_shapes=[],
    ),
    "dense": dict(
        arguments=["data", "d_weight", "d_bias"],
        outputs=["d_fwd_output"],
        auxiliary_states=[],
        internals=["data", "d_weight", "d_bias", "d_fwd_output"],
        arg_shapes=[(2, 3, 4), (7, 12), (7,)],
        out_shapes=[(2, 7)],
        aux_shapes=[],
    ),
    "dense_noflat_nobias": dict(
        arguments=["data", "d2_weight"],
        outputs=["d2_fwd_output"],
        auxiliary_states=[],
        internals=["data", "d2_weight", "d2_fwd_output"],
        arg_shapes=[(2, 3, 4), (7, 4)],
        out_shapes=[(2, 3, 7)],
        aux_shapes=[],
    ),
    "conv2d": dict(
        arguments=["data", "c_weight"],
        outputs=["c_fwd_output"],
        auxiliary_states=[],
        internals=["data", "c_weight", "c_fwd_output"],
        arg_shapes=[(1, 2, 9, 9), (3, 2, 3, 3)],
        out_shapes=[(1, 3, 5, 5)],
        aux_shapes=[],
    ),
    "conv1d_act": dict(
        arguments=["data", "c1_weight", "c1_bias"],
        outputs=["c1_sigmoid_fwd_output"],
        auxiliary_states=[],
        internals=["data", "c1_weight", "c1_bias", "c1_fwd_output", "c1_sigmoid_fwd_output"],
        arg_shapes=[(1, 2, 9), (3, 2, 3), (3,)],
        out_shapes=[(1, 3, 7)],
        aux_shapes=[],
    ),
    "deconv": dict(
        arguments=["data", "dc_weight", "dc_bias"],
        outputs=["dc_fwd_output"],
        auxiliary_states=[],
        internals=["data", "dc_weight", "dc_bias", "dc_fwd_output"],
        arg_shapes=[(1, 2, 4, 4), (2, 3, 2, 2), (3,)],
        out_shapes=[(1, 3, 5, 5)],
        aux_shapes=[],
    ),
    "maxpool": dict(
        arguments=["data"],
        outputs=["mp_fwd_output"],
        auxiliary_states=[],
        internals=["data", "mp_fwd_output"],
        arg_shapes=[(1, 2, 4, 4)],
        out_shapes=[(1, 2, 2, 2)],
        aux_shapes=[],
    ),
    "globalpool": dict(
        arguments=["data"],
        outputs=["gp_fwd_output"],
        auxiliary_states=[],
        internals=["data", "gp_fwd_output"],
        arg_shapes=[(1, 2, 4, 4)],
        out_shapes=[(1, 2, 1, 1)],
        aux_shapes=[],
    ),
    "batchnorm": dict(
        arguments=["data", "bn_gamma", "bn_beta"],
        outputs=["bn_fwd_output"],
        auxiliary_states=["bn_running_mean", "bn_running_var"],
        internals=["data", "bn_gamma", "bn_beta", "bn_running_mean", "bn_running_var",
                   "bn_fwd_output"],
        arg_shapes=[(2, 3, 4), (3,), (3,)],
        out_shapes=[(2, 3, 4)],
        aux_shapes=[(3,), (3,)],
    ),
    "layernorm": dict(
        arguments=["data", "ln_gamma", "ln_beta"],
        outputs=["ln_layernorm0_output"],
        auxiliary_states=[],
        internals=["data", "ln_gamma", "ln_beta", "ln_layernorm0_output"],
        arg_shapes=[(2, 3, 4), (4,), (4,)],
        out_shapes=[(2, 3, 4)],
        aux_shapes=[],
    ),
    "instancenorm": dict(
        arguments=["data", "in_gamma", "in_beta"],
        outputs=["in_fwd_output"],
        auxiliary_states=[],
        internals=["data", "in_gamma", "in_beta", "in_fwd_output"],
        arg_shapes=[(2, 3, 4), (3,), (3,)],
        out_shapes=[(2, 3, 4)],
        aux_shapes=[],
    ),
    "embedding": dict(
        arguments=["data", "emb_weight"],
        outputs=["emb_fwd_output"],
        auxiliary_states=[],
        internals=["data", "emb_weight", "emb_fwd_output"],
        arg_shapes=[(2, 3), (10, 4)],
        out_shapes=[(2, 3, 4)],
        aux_shapes=[],
    ),
    "leakyrelu": dict(
        arguments=["data"],
        outputs=["lr_fwd_output"],
        auxiliary_states=[],
        internals=["data", "lr_fwd_output"],
        arg_shapes=[(2, 3)],
        out_shapes=[(2, 3)],
        aux_shapes=[],
    ),
    "selu": dict(
        arguments=["data"],
        outputs=["selu_fwd_output"],
        auxiliary_states=[],
        internals=["data", "selu_fwd_output"],
        arg_shapes=[(2, 3)],
        out_shapes=[(2, 3)],
        aux_shapes=[],
    ),
    "swish": dict(
        arguments=["data"],
        outputs=["sw__mul0_output"],
        auxiliary_states=[],
        internals=["data", "sw__mulscalar0_output", "sw_fwd_output", "sw__mul0_output"],
        arg_shapes=[(2, 3)],
        out_shapes=[(2, 3)],
        aux_shapes=[],
    ),
    "flatten": dict(
        arguments=["data"],
        outputs=["fl_flatten0_output"],
        auxiliary_states=[],
        internals=["data", "fl_flatten0_output"],
        arg_shapes=[(2, 3, 4)],
        out_shapes=[(2, 12)],
        aux_shapes=[],
    ),
    "dropout": dict(
        arguments=["data"],
        outputs=["do_fwd_output"],
        auxiliary_states=[],
        internals=["data", "do_fwd_output"],
        arg_shapes=[(2, 3)],
        out_shapes=[(2, 3)],
        aux_shapes=[],
    ),
    "hybridsequential": dict(
        arguments=["data", "net_conv0_weight", "net_conv0_bias", "net_batchnorm0_gamma",
                   "net_batchnorm0_beta", "net_dense0_weight", "net_dense0_bias",
                   "net_dense1_weight", "net_dense1_bias"],
        outputs=["net_dense1_fwd_output"],
        auxiliary_states=["net_batchnorm0_running_mean", "net_batchnorm0_running_var"],
        internals=["data", "net_conv0_weight", "net_conv0_bias", "net_conv0_fwd_output",
                   "net_conv0_relu_fwd_output", "net_batchnorm0_gamma", "net_batchnorm0_beta",
                   "net_batchnorm0_running_mean", "net_batchnorm0_running_var",
                   "net_batchnorm0_fwd_output", "net_pool0_fwd_output", "net_dropout0_fwd_output",
                   "net_dense0_weight", "net_dense0_bias", "net_dense0_fwd_output",
                   "net_dense0_relu_fwd_output", "net_dense1_weight", "net_dense1_bias",
                   "net_dense1_fwd_output"],
        arg_shapes=[(5, 3, 8, 8), (4, 3, 3, 3), (4,), (4,), (4,), (16, 36), (16,), (4, 16), (4,)],
        out_shapes=[(5, 4)],
        aux_shapes=[(4,), (4,)],
    ),
    "sequential": dict(
        arguments=["data", "seq_dense0_weight", "seq_dense0_bias"],
        outputs=["seq_relu0_fwd_output"],
        auxiliary_states=[],
        internals=["data", "seq_dense0_weight", "seq_dense0_bias", "seq_dense0_fwd_output",
                   "seq_relu0_fwd_output"],
        arg_shapes=[(2, 4), (3, 4), (3,)],
        out_shapes=[(2, 3)],
        aux_shapes=[],
    ),
    "custom": dict(
        arguments=["data", "custom_weight", "custom_dense0_weight", "custom_dense0_bias"],
        outputs=["custom_total_output", "custom_exp0_output", "custom__rminusscalar0_output"],
        auxiliary_states=[],
        internals=["data", "custom_weight", "custom_broadcast_mul0_output", "custom_dense0_weight",
                   "custom_dense0_bias", "custom_dense0_fwd_output", "custom_dense0_fwd_output",
                   "custom__plus0_output", "custom_relu0_output", "custom__minusscalar0_output",
                   "custom__mulscalar0_output", "custom_total_output", "custom_reshape0_output",
                   "custom_fullyconnected0_output", "custom_exp0_output",
                   "custom__rminusscalar0_output"],
        arg_shapes=[(2, 3), (3,), (3, 3), (3,)],
        out_shapes=[(2,), (2, 1), (2, 3)],
        aux_shapes=[],
    ),
}


@pytest.fixture(scope="module")
def described():
    return describe(mx, nn)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_names_and_shapes_as_mxnet(described, case):
    got = {k: v for k, v in described[case].items() if k != "nodes"}
    for key in ("arg_shapes", "out_shapes", "aux_shapes"):
        got[key] = [tuple(s) for s in got[key]]
    assert got == EXPECTED[case]


def test_nodes_in_json_follow_the_internals(described):
    for case, d in described.items():
        assert [n for n in d["nodes"]] == [n[:-len("_output")] if n.endswith("_output") else n
                                          for n in d["internals"]], case


def test_dense_tanh_output_name():
    # tests/compat test_dense, as MXNet's test_gluon.py writes it
    model = nn.Dense(128, activation="tanh", in_units=10, flatten=False, prefix="test_")
    outputs = model(mx.sym.Variable("data"))
    assert outputs.list_outputs() == ["test_tanh_fwd_output"]
    assert outputs.infer_shape(data=(2, 3, 10))[1] == [(2, 3, 128)]


def test_parameter_variables_carry_mxnet_attributes():
    model = nn.Dense(128, activation="tanh", in_units=10, flatten=False, prefix="test_")
    out = model(mx.sym.var("data"))
    attrs = out.attr_dict()
    # as MXNet 1.9.1 prints them
    assert attrs["test_weight"] == {"__storage_type__": "0", "__dtype__": "0",
                                    "__wd_mult__": "1.0", "wd_mult": "1.0",
                                    "__lr_mult__": "1.0", "lr_mult": "1.0",
                                    "__shape__": "(128, 10)"}
    assert attrs["test_bias"]["__init__"] == "zeros"
    assert attrs["test_tanh_fwd"] == {"act_type": "tanh"}
    bn = nn.BatchNorm(prefix="bn_")(mx.sym.var("data"))
    assert bn.attr_dict()["bn_running_var"]["__shape__"] == "(0,)"
    assert bn.attr_dict()["bn_running_var"]["__init__"] == "ones"
    assert model.weight.var() is model.weight.var()


def test_var_attributes():
    s = mx.sym.var("w", shape=(3, 4), lr_mult=2.0, init="zeros", dtype="float32")
    # MXNet 1.9.1: {'__init__': 'zeros', '__dtype__': '0', '__lr_mult__': '2.0',
    #               'lr_mult': '2.0', '__shape__': '(3, 4)'}
    assert s.list_attr() == {"__init__": "zeros", "__dtype__": "0", "__lr_mult__": "2.0",
                             "lr_mult": "2.0", "__shape__": "(3, 4)"}
    assert s.attr("lr_mult") == "2.0"
    assert mx.sym.var("w").list_attr() == {}
    s = mx.sym.var("w", dtype="float16", init=mx.init.Xavier(magnitude=2))
    assert s.list_attr() == {"__init__": '["xavier", {"rnd_type": "uniform", "factor_type": '
                                         '"avg", "magnitude": 2}]', "__dtype__": "2"}
    node = json.loads(mx.sym.var("w", shape=(2, 0), lr_mult=0.5).tojson())["nodes"][0]
    assert node["attrs"] == {"__shape__": "(2, 0)", "__lr_mult__": "0.5"}


def test_same_names_on_every_call_and_after_initialize():
    net = nn.HybridSequential(prefix="net_")
    with net.name_scope():
        net.add(nn.Dense(4, activation="relu"), nn.BatchNorm(), nn.Dense(2))
    first = net(mx.sym.var("data")).get_internals().list_outputs()
    net.initialize()
    net(mx.nd.ones((3, 5)))
    net.hybridize()
    assert net(mx.sym.var("data")).get_internals().list_outputs() == first


def test_symbol_runs_like_the_block():
    net = nn.HybridSequential(prefix="net_")
    with net.name_scope():
        net.add(nn.Conv2D(4, 3, activation="relu"), nn.BatchNorm(), nn.MaxPool2D(),
                nn.Dropout(0.5), nn.Dense(10))
    net.initialize()
    x = mx.nd.random.uniform(shape=(2, 3, 8, 8))
    expected = net(x).asnumpy()
    sym = net(mx.sym.var("data"))
    block = nn.SymbolBlock(sym, mx.sym.var("data"), params=net.collect_params())
    np.testing.assert_allclose(block(x).asnumpy(), expected, rtol=1e-5, atol=1e-6)
    # the graph leaves the mode open: BatchNorm uses batch statistics when training
    with autograd.record():
        a = net(x)
    with autograd.record():
        b = block(x)
    assert a.shape == b.shape
    block.hybridize()
    block(x)


def test_hybridize_unaffected_by_a_symbolic_call():
    net = nn.Dense(3, in_units=4, prefix="fc_")
    net.initialize()
    net(mx.sym.var("data"))
    net.hybridize()
    x = mx.nd.ones((2, 4))
    out = net(x)
    assert isinstance(out, mx.nd.NDArray) and out.shape == (2, 3)
    assert "fc_fwd" not in net.print_graph()  # hybridize keeps kiln's own node names


def test_gluon2_forward_block():
    class Scale(nn.HybridBlock):
        def __init__(self):
            super().__init__(prefix="scale_")
            self.weight = mx.gluon.Parameter("weight", shape=(3, 3))

        def forward(self, x):
            return mx.nd.dot(x, self.weight.data()) * 2

    out = Scale()(mx.sym.var("data"))
    assert out.list_arguments() == ["data", "scale_weight"]
    assert out.get_internals().list_outputs() == [
        "data", "scale_weight", "scale_dot0_output", "scale__mulscalar0_output"]
    assert out.infer_shape(data=(2, 3))[1] == [(2, 3)]


def test_forward_hooks_run_on_the_called_block():
    seen = []
    net = nn.Dense(2, prefix="h_")
    net.register_forward_hook(lambda blk, args, out: seen.append(out.name))
    net(mx.sym.var("data"))
    assert seen == ["h_fwd"]


def test_save_load_and_print_summary(tmp_path, capsys):
    net = nn.HybridSequential(prefix="net_")
    with net.name_scope():
        net.add(nn.Conv2D(10, (3, 3)), nn.BatchNorm(), nn.Dense(5))
    sym = net(mx.sym.var("data"))
    path = str(tmp_path / "net-symbol.json")
    sym.save(path)
    loaded = mx.sym.load(path)
    assert loaded.list_arguments() == sym.list_arguments()
    assert loaded.list_auxiliary_states() == ["net_batchnorm0_running_mean",
                                              "net_batchnorm0_running_var"]
    assert loaded.infer_shape(data=(1, 1, 6, 6))[1] == [(1, 5)]
    capsys.readouterr()
    mx.viz.print_summary(sym, shape={"data": (1, 1, 6, 6)})
    text = capsys.readouterr().out
    for name in ("net_conv0_fwd", "net_batchnorm0_fwd", "net_dense0_fwd"):
        assert name in text


def _run(python, tmp_path, which):
    script = tmp_path / "describe_cases.py"
    script.write_text(
        "import json, sys\n"
        + inspect.getsource(build_cases) + "\n" + inspect.getsource(describe) + "\n"
        + ("import mxnet as mx\nfrom mxnet.gluon import nn\n" if which == "mxnet"
           else "import kiln as mx\nfrom kiln.gluon import nn\n")
        + "print(json.dumps(describe(mx, nn)))\n")
    env = dict(os.environ, MXNET_ENGINE_TYPE="NaiveEngine")
    res = subprocess.run([python, str(script)], capture_output=True, text=True, env=env,
                         timeout=300, cwd=str(tmp_path))
    assert res.returncode == 0, res.stderr[-2000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not os.path.exists(MXNET_PYTHON), reason="no MXNet at /tmp/mxvenv")
def test_same_as_mxnet(tmp_path):
    theirs = _run(MXNET_PYTHON, tmp_path, "mxnet")
    ours = _run(sys.executable, tmp_path, "kiln")
    assert ours == theirs


@pytest.mark.skipif(not os.path.exists(MXNET_PYTHON), reason="no MXNet at /tmp/mxvenv")
def test_mxnet_loads_the_json(tmp_path):
    net = nn.HybridSequential(prefix="net_")
    with net.name_scope():
        net.add(nn.Conv2D(4, 3, activation="relu"), nn.BatchNorm(), nn.Dense(3))
    sym = net(mx.sym.var("data"))
    path = tmp_path / "net-symbol.json"
    sym.save(str(path))
    code = ("import json, sys, mxnet as mx\n"
            f"s = mx.sym.load({str(path)!r})\n"
            "a, o, x = s.infer_shape(data=(1, 2, 6, 6))\n"
            "print(json.dumps([s.list_arguments(), s.list_outputs(),"
            " s.list_auxiliary_states(), o]))\n")
    # run outside the repository: its random.py would shadow the standard library's
    res = subprocess.run([MXNET_PYTHON, "-c", code], capture_output=True, text=True,
                         timeout=300, cwd=str(tmp_path))
    assert res.returncode == 0, res.stderr[-2000:]
    args, outs, aux, shapes = json.loads(res.stdout.strip().splitlines()[-1])
    assert args == sym.list_arguments()
    assert outs == sym.list_outputs() == ["net_dense0_fwd_output"]
    assert aux == sym.list_auxiliary_states()
    assert shapes == [[1, 3]]
