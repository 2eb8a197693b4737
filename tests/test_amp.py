"""Mixed precision (kiln.amp): the registry's facets, the dispatch-point casts eagerly and in
hybridized graphs, float32 master weights, and the op lists against MXNet 1.9's."""
import glob
import importlib.util
import os

import kiln as mx
import numpy as np
import pytest
from kiln import amp, autograd, gluon, sym
from kiln.gluon import nn
from kiln.ndarray import _registry

F16, F32 = np.float16, np.float32


@pytest.fixture(autouse=True)
def _amp_off():
    amp.reset()
    yield
    amp.reset()


def _rand(*shape, seed=0):
    return mx.nd.array(np.random.default_rng(seed).standard_normal(shape))


def _mxnet_lists():
    root = os.path.join(os.path.dirname(__file__), "..", ".mxnet-venv", "lib")
    found = glob.glob(os.path.join(root, "python3*", "site-packages", "mxnet", "contrib",
                                   "amp", "lists", "symbol_fp16.py"))
    if not found:
        pytest.skip("MXNet 1.9's AMP lists (the oracle venv) are not installed")
    spec = importlib.util.spec_from_file_location("mx_amp_lists", found[0])
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # a plain file of name lists: no MXNet import
    return mod


# Where kiln departs from MXNet's lists on purpose: op -> why.
DEPARTURES = {
    "up_sampling": "lp16: bilinear UpSampling is a deconvolution (lp16); MXNet's dtype-neutral "
                   "rule fails on float16 data with the float32 bilinear weight",
}


def test_facets_agree_with_mxnet_lists():
    L = _mxnet_lists()
    kinds = {"lp16": L.FP16_FUNCS, None: L.FP16_FP32_FUNCS, "fp32": L.FP32_FUNCS,
             "widest": L.WIDEST_TYPE_CASTS,
             "conditional": [c[0] for c in L.CONDITIONAL_FP32_FUNCS]}
    where = {}
    for kind, names in kinds.items():
        for n in names:
            where.setdefault(n, set()).add(kind)
    checked, wrong = 0, []
    for name, op in _registry.OPS.items():
        want = set().union(*[where.get(n, set()) for n in (name,) + op.aliases])
        if not want or name in DEPARTURES:
            continue  # kiln-only op (or an internal one MXNet does not list)
        got = "conditional" if callable(op.amp) else op.amp
        if got not in want:
            wrong.append(f"{name}: amp={got!r}, MXNet lists it as {sorted(map(str, want))}")
        checked += 1
    assert not wrong, "register(..., amp=...) disagrees with MXNet:\n" + "\n".join(wrong)
    assert checked > 100
    for mx_name, attr, values in L.CONDITIONAL_FP32_FUNCS:
        op = _registry.get(mx_name)
        for v in values:
            assert op.amp(**{**op.attrs, attr: v}) == "fp32", (mx_name, v)
        assert op.amp(**{**op.attrs, attr: "relu" if mx_name == "Activation"
                         else "leaky"}) is None


def test_lists_partition_the_registry():
    lists = [amp.list_lp16_ops(), amp.list_fp32_ops(), amp.list_widest_type_cast(),
             amp.list_lp16_fp32_ops(), [c[0] for c in amp.list_conditional_fp32_ops()]]
    names = [n for lst in lists for n in lst]
    assert len(names) == len(set(names)) == len(_registry.OPS)
    assert {"convolution", "fully_connected", "rnn"} <= set(lists[0])
    assert {"softmax", "layer_norm", "sum", "exp", "ctc_loss"} <= set(lists[1])


def test_eager_casts_follow_the_facets():
    amp.init()
    x, w, b = _rand(2, 3), _rand(4, 3, seed=1), _rand(4, seed=2)
    y = mx.nd.FullyConnected(x, w, b, num_hidden=4)
    assert y.dtype == F16
    ref = (x.asnumpy().astype(F16).astype(np.float64) @ w.asnumpy().astype(F16).T
           + b.asnumpy().astype(F16))
    np.testing.assert_allclose(y.asnumpy(), ref, rtol=2e-3, atol=2e-3)
    assert mx.nd.softmax(y).dtype == F32          # fp32 list
    assert mx.nd.relu(y).dtype == F16             # dtype-neutral
    assert (y + y).dtype == F16 and (y + _rand(2, 4)).dtype == F32   # widest
    assert mx.nd.Activation(y, act_type="softrelu").dtype == F32   # conditional
    assert mx.nd.Activation(y, act_type="tanh").dtype == F16
    idx = mx.nd.array([0, 1], dtype="int32")
    assert mx.nd.amp_cast(idx, dtype="float16").dtype == np.int32   # only floats move


def test_reset_removes_the_hook():
    amp.init()
    assert _registry._amp is not None and amp.is_initialized()
    amp.reset()
    assert _registry._amp is None
    assert mx.nd.FullyConnected(_rand(2, 3), _rand(4, 3), _rand(4), num_hidden=4).dtype == F32


def _net(hybridize):
    mx.random.seed(3)
    net = nn.HybridSequential()
    net.add(nn.Conv2D(4, 3, padding=1), nn.BatchNorm(), nn.Activation("relu"),
            nn.MaxPool2D(2), nn.Dense(8, activation="relu"), nn.Dense(5))
    net.initialize(mx.init.Xavier())
    if hybridize:
        net.hybridize()
    return net


def _grads(net, x, y):
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    with autograd.record():
        out = net(x)
        loss = loss_fn(out, y)
    loss.backward()
    # structural names: two instances of the network number their layers differently
    return out, {k: p.grad().asnumpy() for k, p in net._collect_params_with_prefix().items()
                 if p.grad_req != "null"}


@pytest.mark.parametrize("hybridize", [False, True])
def test_master_weights_and_gradients(hybridize):
    x, y = _rand(2, 3, 6, 6), mx.nd.array([1, 3])
    _, ref = _grads(_net(hybridize), x, y)       # float32 throughout
    amp.init()
    net = _net(hybridize)
    out, grads = _grads(net, x, y)
    assert out.dtype == F16
    for k, p in net.collect_params().items():
        assert p.data().dtype == F32, k          # parameters stay float32
    scale = max(np.abs(g).max() for g in ref.values())
    for k, g in grads.items():
        assert g.dtype == F32, k                 # and so do their gradients
        # float16 rounding: errors relative to the network's largest gradient (a bias before
        # BatchNorm has a zero gradient, which float16 noise alone makes nonzero)
        np.testing.assert_allclose(g, ref[k], rtol=0.05, atol=1e-2 * scale, err_msg=k)


def test_hybridized_graph_matches_eager():
    amp.init()
    x, y = _rand(2, 3, 6, 6), mx.nd.array([1, 3])
    out_e, g_e = _grads(_net(False), x, y)
    net = _net(True)
    out_h, g_h = _grads(net, x, y)
    np.testing.assert_allclose(out_h.asnumpy(), out_e.asnumpy(), rtol=1e-3, atol=1e-3)
    for k in g_e:
        np.testing.assert_allclose(g_h[k], g_e[k], rtol=1e-3, atol=1e-4, err_msg=k)
    graph = net.print_graph()
    assert "amp_cast" in graph and "float16" in graph


def test_bfloat16_and_misuse_are_refused():
    with pytest.raises(TypeError, match="bfloat16"):
        amp.init("bfloat16")
    with pytest.raises(TypeError, match="float16"):
        amp.init("float64")
    net = _net(False)
    trainer = gluon.Trainer(net.collect_params(), "sgd")
    with pytest.raises(RuntimeError, match="amp.init"):
        amp.init_trainer(trainer)
    amp.init()
    with pytest.raises(TypeError, match="Trainer"):
        amp.init_trainer(mx.optimizer.SGD())
    with pytest.raises(RuntimeError, match="init_trainer"):
        with amp.scale_loss(mx.nd.ones((1,)), trainer):
            pass
    with pytest.warns(UserWarning, match="initialized already"):
        amp.init(fp32_ops=["exp"])
    with pytest.raises(ValueError, match="no_such_op"):
        amp.reset()
        amp.init(fp32_ops=["no_such_op"])


def test_list_overrides_replace_a_kind():
    amp.init(target_precision_ops=["dot"], fp32_ops=["FullyConnected"])
    x, w = _rand(2, 3), _rand(4, 3)
    assert mx.nd.FullyConnected(x.astype("float16"), w, no_bias=True,
                                num_hidden=4).dtype == F32
    assert mx.nd.dot(x, w, transpose_b=True).dtype == F16
    assert mx.nd.Convolution(_rand(1, 1, 3, 3), _rand(1, 1, 1, 1), no_bias=True,
                             kernel=(1, 1), num_filter=1).dtype == F32   # lp16 list replaced


def test_convert_symbol_inserts_casts_and_multicast():
    data, w = sym.var("data"), sym.var("w")
    out = sym.softmax(sym.FullyConnected(data, w, num_hidden=4, no_bias=True) + data.sum())
    conv = amp.convert_symbol(out)
    ops = [n.op.name for n in conv._nodes() if n.kind == "op"]
    # dtypes unknown (sym.var): FC's two inputs and sum's and softmax's get amp_cast, the
    # widest add an amp_multicast decided when the graph runs, as MXNet's convert_symbol does
    assert ops.count("amp_cast") == 4 and ops.count("amp_multicast") == 1
    assert "amp_cast" not in [n.op.name for n in out._nodes() if n.kind == "op"]
    x, wv = _rand(2, 3), _rand(4, 3, seed=1)
    got = conv.eval(data=x, w=wv)[0]
    ref = mx.nd.softmax(mx.nd.FullyConnected(x, wv, num_hidden=4, no_bias=True) + x.sum())
    assert got.dtype == F32
    np.testing.assert_allclose(got.asnumpy(), ref.asnumpy(), rtol=2e-2, atol=2e-3)
    excl = amp.convert_symbol(out, excluded_sym_names=[out.name])   # softmax stays as is
    assert [n.op.name for n in excl._nodes() if n.kind == "op"].count("amp_cast") == 3


def test_graphs_traced_before_init_are_retraced():
    """The mixed-precision policy is part of a hybridized block's cache key: a block called
    before amp.init() runs float32, after it float16 casts, after reset() float32 again."""
    net = nn.HybridSequential()
    net.add(nn.Dense(4))
    net.initialize()
    net.hybridize()
    x = mx.nd.array(_rand(2, 3))
    before = net(x)
    assert before.dtype == np.float32
    amp.init()
    during = net(x)
    assert during.dtype == np.float16
    np.testing.assert_allclose(during.asnumpy(), before.asnumpy(), rtol=2e-3, atol=2e-3)
    amp.reset()
    assert net(x).dtype == np.float32
