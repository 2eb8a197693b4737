"""Behaviour of the nn ops beyond the registry walk: BatchNorm modes and running statistics,
Dropout masks, Embedding gradients, SequenceMask, and cross-checks against torch when present."""
import kiln as kl
import numpy as np
import opcheck
import pytest
from kiln import autograd, nd


def _bn_inputs(shape=(4, 3, 2, 2), axis=1, seed=0):
    rng = np.random.default_rng(seed)
    c = shape[axis]
    x = rng.normal(1.0, 2.0, size=shape)
    return (x, rng.uniform(0.5, 1.5, c), rng.uniform(-1, 1, c), rng.uniform(-1, 1, c),
            rng.uniform(0.5, 2.0, c))


def _arrays(*xs, dtype="float32"):
    return [nd.array(x, dtype=dtype) for x in xs]


def _batch_stats(x, axis):
    red = tuple(a for a in range(x.ndim) if a != axis)
    return x.mean(axis=red), x.var(axis=red)  # biased variance


# ---- BatchNorm ---------------------------------------------------------------------------
@pytest.mark.parametrize("axis", [1, -1])
def test_batch_norm_training_updates_running_stats(axis):
    x, gamma, beta, mm0, mv0 = _bn_inputs(axis=axis)
    xs, g, b, mm, mv = _arrays(x, gamma, beta, mm0, mv0)
    with autograd.train_mode():
        out = nd.BatchNorm(xs, g, b, mm, mv, fix_gamma=False, momentum=0.8, eps=1e-3,
                           axis=axis)
    mean, var = _batch_stats(x, axis % x.ndim)
    np.testing.assert_allclose(mm.asnumpy(), 0.8 * mm0 + 0.2 * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mv.asnumpy(), 0.8 * mv0 + 0.2 * var, rtol=1e-5, atol=1e-6)
    xm = np.moveaxis(x, axis, -1)
    expected = np.moveaxis((xm - mean) / np.sqrt(var + 1e-3) * gamma + beta, -1, axis)
    np.testing.assert_allclose(out.asnumpy(), expected, rtol=1e-4, atol=1e-5)


def test_batch_norm_inference_uses_running_stats():
    x, gamma, beta, mm0, mv0 = _bn_inputs()
    xs, g, b, mm, mv = _arrays(x, gamma, beta, mm0, mv0)
    out = nd.BatchNorm(xs, g, b, mm, mv, fix_gamma=False)   # predict mode
    bs = (1, 3, 1, 1)
    expected = (x - mm0.reshape(bs)) / np.sqrt(mv0.reshape(bs) + 1e-3) * gamma.reshape(bs) \
        + beta.reshape(bs)
    np.testing.assert_allclose(out.asnumpy(), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(mm.asnumpy(), mm0, rtol=1e-6)
    np.testing.assert_allclose(mv.asnumpy(), mv0, rtol=1e-6)


def test_batch_norm_use_global_stats_in_training():
    x, gamma, beta, mm0, mv0 = _bn_inputs()
    xs, g, b, mm, mv = _arrays(x, gamma, beta, mm0, mv0)
    with autograd.record():
        out = nd.BatchNorm(xs, g, b, mm, mv, use_global_stats=True)
    expected = nd.BatchNorm(xs, g, b, mm, mv)          # predict mode: same statistics
    np.testing.assert_allclose(out.asnumpy(), expected.asnumpy(), rtol=1e-6)
    np.testing.assert_allclose(mm.asnumpy(), mm0, rtol=1e-6)
    np.testing.assert_allclose(mv.asnumpy(), mv0, rtol=1e-6)


def test_batch_norm_fix_gamma_ignores_gamma_and_zero_gradient():
    x, gamma, beta, mm0, mv0 = _bn_inputs()
    xs, g, b, mm, mv = _arrays(x, gamma, beta, mm0, mv0)
    g.attach_grad()
    b.attach_grad()
    with autograd.record():
        out = nd.BatchNorm(xs, g, b, mm, mv)           # fix_gamma=True by default
    out.backward()
    np.testing.assert_array_equal(g.grad.asnumpy(), np.zeros(3, np.float32))
    np.testing.assert_allclose(b.grad.asnumpy(), np.full(3, x.size / 3), rtol=1e-6)
    with autograd.train_mode():
        ones = nd.BatchNorm(xs, nd.ones(3), b, nd.array(mm0), nd.array(mv0), fix_gamma=False)
    np.testing.assert_allclose(out.asnumpy(), ones.asnumpy(), rtol=1e-6)


def test_batch_norm_output_mean_var():
    x, gamma, beta, mm0, mv0 = _bn_inputs(shape=(5, 3))
    xs, g, b, mm, mv = _arrays(x, gamma, beta, mm0, mv0)
    with autograd.train_mode():
        out, mean, invstd = nd.BatchNorm(xs, g, b, mm, mv, output_mean_var=True, eps=1e-3)
    m, v = _batch_stats(x, 1)
    assert out.shape == (5, 3) and mean.shape == (3,) and invstd.shape == (3,)
    np.testing.assert_allclose(mean.asnumpy(), m, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(invstd.asnumpy(), 1 / np.sqrt(v + 1e-3), rtol=1e-5)
    single = nd.BatchNorm(xs, g, b, mm, mv)
    assert isinstance(single, nd.NDArray)


def _train_loss(func, weights):
    """Finite-difference helper: sum(out * w) with the op run in training mode (no recording)."""
    def f(ins):
        with autograd.train_mode():
            out = func(*[nd.array(a, dtype="float64") for a in ins])
        return float((out.asnumpy() * weights).sum())
    return f


@pytest.mark.parametrize("axis,fix_gamma", [(1, False), (1, True), (-1, False)])
def test_batch_norm_training_gradient(axis, fix_gamma):
    x, gamma, beta, mm0, mv0 = _bn_inputs(shape=(3, 4, 2), axis=axis)
    inputs = [x, gamma, beta, mm0, mv0]

    def func(*a):
        # fresh running statistics each call: the forward updates them in place
        return nd.BatchNorm(a[0], a[1], a[2], nd.array(mm0, dtype="float64"),
                            nd.array(mv0, dtype="float64"), fix_gamma=fix_gamma, axis=axis)

    weights = np.random.default_rng(1).uniform(0.5, 1.5, size=x.shape)
    xs = [nd.array(a, dtype="float64") for a in inputs[:3]]
    for a in xs:
        a.attach_grad()
    with autograd.record():
        out = func(*xs)
    out.backward(nd.array(weights, dtype="float64"))
    f = _train_loss(func, weights)
    for k in range(3):
        num = opcheck.numeric_grad(f, [a.copy() for a in inputs[:3]], k)
        np.testing.assert_allclose(xs[k].grad.asnumpy(), num, rtol=1e-4, atol=1e-6)


def test_batch_norm_training_second_order():
    x, gamma, beta, mm0, mv0 = _bn_inputs(shape=(3, 2, 2))
    v = np.random.default_rng(2).uniform(0.5, 1.5, size=x.shape)

    def params():
        return [nd.array(a, dtype="float64") for a in (gamma, beta, mm0, mv0)]

    def first_order_dot(xv):
        xa = nd.array(xv, dtype="float64")
        xa.attach_grad()
        with autograd.record():
            out = nd.BatchNorm(xa, *params(), fix_gamma=False)
            loss = (out * out * out).sum()
        loss.backward()
        return float((xa.grad.asnumpy() * v).sum())

    xa = nd.array(x, dtype="float64")
    xa.attach_grad()
    with autograd.record():
        out = nd.BatchNorm(xa, *params(), fix_gamma=False)
        (gx,) = autograd.grad([(out * out * out).sum()], [xa], create_graph=True)
        s = (gx * nd.array(v, dtype="float64")).sum()
    s.backward()
    num = opcheck.numeric_grad(lambda ins: first_order_dot(ins[0]), [x.copy()], 0)
    np.testing.assert_allclose(xa.grad.asnumpy(), num, rtol=1e-4, atol=1e-5)


# ---- Dropout -----------------------------------------------------------------------------
def test_dropout_identity_in_predict_mode():
    x = nd.array(np.arange(20.0).reshape(4, 5))
    y = nd.Dropout(x, p=0.5)
    np.testing.assert_array_equal(y.asnumpy(), x.asnumpy())
    y[:] = 0                                   # a new array, as MXNet's
    assert x.asnumpy().sum() == 190
    x.attach_grad()
    with autograd.record(train_mode=False):
        y = nd.Dropout(x, p=0.5)
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), np.ones((4, 5)))


def test_dropout_rate_and_scaling_in_training():
    kl.random.seed(3)
    x = nd.ones((200, 100))
    with autograd.train_mode():
        y = nd.Dropout(x, p=0.3).asnumpy()
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.7, rtol=1e-6)
    always = nd.Dropout(x, p=0.3, mode="always").asnumpy()   # also outside training
    assert abs((always != 0).mean() - 0.7) < 0.01


def test_dropout_axes_share_the_mask():
    kl.random.seed(0)
    x = nd.ones((6, 5, 7))
    with autograd.train_mode():
        y = nd.Dropout(x, p=0.5, axes=(1,)).asnumpy()
    assert (y == y[:, :1, :]).all()
    assert 0 < (y != 0).mean() < 1


def test_dropout_reproducible_for_a_seed_and_gradient_is_the_mask():
    x = nd.array(np.random.default_rng(0).uniform(1, 2, size=(5, 6)))
    outs = []
    for _ in range(2):
        kl.random.seed(42)
        x.attach_grad()
        with autograd.record():
            y = nd.Dropout(x, p=0.4)
        y.backward()
        outs.append((y.asnumpy(), x.grad.asnumpy()))
    np.testing.assert_array_equal(outs[0][0], outs[1][0])
    np.testing.assert_allclose(outs[0][1], (outs[0][0] != 0) / 0.6, rtol=1e-6)


def test_dropout_is_a_registry_op_with_one_visible_output():
    from kiln.ndarray._registry import get
    op = get("Dropout")
    assert nd.Dropout.op is op and nd.dropout is nd.Dropout and op.func is nd.Dropout
    assert list(op.attrs) == ["p", "mode", "axes", "cudnn_off"]
    s = kl.sym.Dropout(kl.sym.var("x"), p=0.2, name="drop")
    assert s.list_outputs() == ["drop_output"]
    assert s.infer_shape(x=(2, 3))[1] == [(2, 3)]
    with pytest.raises(Exception, match="mode"):
        nd.Dropout(nd.ones((2, 2)), p=0.5, mode="sometimes")


def test_dropout_always_mode_gradient_is_its_mask_in_predict_mode():
    kl.random.seed(5)
    x = nd.array(np.random.default_rng(1).uniform(1, 2, size=(20, 30)))
    x.attach_grad()
    with autograd.record(train_mode=False):
        y = nd.Dropout(x, p=0.5, mode="always", axes=(0,))
    y.backward()
    mask = y.asnumpy() / x.asnumpy()
    assert (mask == mask[:1]).all() and set(np.unique(mask)) <= {0.0, 2.0}
    np.testing.assert_allclose(x.grad.asnumpy(), mask, rtol=1e-6)


def test_dropout_p1_drops_everything_and_p0_keeps_everything():
    x = nd.ones((3, 4))
    with autograd.train_mode():
        assert (nd.Dropout(x, p=1.0).asnumpy() == 0).all()   # MXNet gives 0 * inf = NaN
        np.testing.assert_array_equal(nd.Dropout(x, p=0.0).asnumpy(), x.asnumpy())


def test_dropout_out_argument():
    x, out = nd.ones((2, 3)), nd.zeros((2, 3))
    assert nd.Dropout(x, p=0.5, out=out) is out
    np.testing.assert_array_equal(out.asnumpy(), x.asnumpy())


def test_dropout_hybridized_graphs_and_export():
    import json
    net = kl.gluon.nn.HybridSequential(prefix="net_")
    with net.name_scope():
        net.add(kl.gluon.nn.Dense(4, in_units=3), kl.gluon.nn.Dropout(0.5, axes=(1,)))
    net.initialize()
    x = nd.ones((5, 3))
    y_eager = net(x).asnumpy()
    net.hybridize()
    np.testing.assert_allclose(net(x).asnumpy(), y_eager, rtol=1e-6)
    graph = net._cached_op.entries
    ops = {n.op.name for e in graph.values() for n in _topo(e.graph) if n.kind == "op"}
    assert "dropout" in ops                     # predict-mode graph: MXNet's Dropout node
    kl.random.seed(3)
    with autograd.train_mode():
        e = net(x).asnumpy()
    net2 = kl.gluon.nn.HybridSequential()
    net2.add(kl.gluon.nn.Dense(4, in_units=3), kl.gluon.nn.Dropout(0.5, axes=(1,)))
    net2.initialize()
    net2[0].weight.set_data(net[0].weight.data())
    kl.random.seed(3)
    with autograd.train_mode():
        np.testing.assert_array_equal(net2(x).asnumpy(), e)      # eager == hybridized
    sym = net(kl.sym.var("data"))
    doc = json.loads(sym.tojson())
    node = [n for n in doc["nodes"] if n["op"] == "Dropout"][0]
    assert node["name"] == "net_dropout0_fwd"
    assert node["attrs"] == {"p": "0.5", "mode": "training", "axes": "(1,)",
                             "cudnn_off": "False"}
    back = kl.sym.load_json(sym.tojson())
    assert [n.op.name for n in _topo(back._entries) if n.kind == "op"][-1] == "dropout"


def test_dropout_always_hybridized_gradient_and_export(tmp_path):
    import json
    s = kl.sym.Dropout(kl.sym.var("x"), p=0.5, mode="always", axes=(1,))
    block = kl.gluon.SymbolBlock(s, [kl.sym.var("x")])
    block.hybridize()
    x = nd.array(np.random.default_rng(2).uniform(1, 2, size=(30, 4)))
    x.attach_grad()
    with autograd.record(train_mode=False):   # predict mode still drops: the same mask twice
        y = block(x)
    y.backward()
    mask = y.asnumpy() / x.asnumpy()
    assert 0 < (mask != 0).mean() < 1 and (mask == mask[:, :1]).all()
    np.testing.assert_allclose(x.grad.asnumpy(), mask, rtol=1e-6)
    block.export(str(tmp_path / "always"))
    doc = json.loads((tmp_path / "always-symbol.json").read_text())
    assert [n["op"] for n in doc["nodes"]] == ["null", "Dropout"]
    assert doc["nodes"][1]["attrs"] == {"p": "0.5", "mode": "always", "axes": "(1,)",
                                        "cudnn_off": "False"}
    assert doc["node_row_ptr"] == [0, 1, 3]          # MXNet counts the hidden mask output


def _topo(entries):
    from kiln.symbol.graph import topo_order
    return topo_order(entries)


# ---- Embedding, SequenceMask, FullyConnected ---------------------------------------------
def test_embedding_gradient_accumulates_repeated_indices():
    w = nd.array(np.arange(12.0).reshape(4, 3))
    w.attach_grad()
    idx = nd.array([[1, 3, 1], [1, 0, 3]])
    with autograd.record():
        out = nd.Embedding(idx, w, input_dim=4, output_dim=3)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out.asnumpy()[0, 1], [9, 10, 11])
    out.backward()
    np.testing.assert_array_equal(w.grad.asnumpy()[:, 0], [1, 3, 0, 2])


@pytest.mark.parametrize("axis", [0, 1])
def test_sequence_mask_axes(axis):
    x = np.arange(24.0).reshape(4, 3, 2) if axis == 0 else np.arange(24.0).reshape(3, 4, 2)
    lengths = np.array([1.0, 4, 2])
    out = nd.SequenceMask(nd.array(x), nd.array(lengths), use_sequence_length=True,
                          value=-1, axis=axis).asnumpy()
    for b, n in enumerate(lengths.astype(int)):
        seq_out = out[:, b] if axis == 0 else out[b]
        seq_in = x[:, b] if axis == 0 else x[b]
        np.testing.assert_array_equal(seq_out[:n], seq_in[:n])
        assert (seq_out[n:] == -1).all()
    same = nd.SequenceMask(nd.array(x), nd.array(lengths), axis=axis)
    np.testing.assert_array_equal(same.asnumpy(), x)


def test_fully_connected_shapes():
    x, w = nd.ones((2, 3, 4)), nd.ones((5, 12))
    assert nd.FullyConnected(x, w, num_hidden=5, no_bias=True).shape == (2, 5)
    y = nd.FullyConnected(x, nd.ones((5, 4)), nd.ones(5), num_hidden=5, flatten=False)
    assert y.shape == (2, 3, 5)
    np.testing.assert_allclose(y.asnumpy(), np.full((2, 3, 5), 5.0))


# ---- ONNX lowerings at the lowest opset (composed LayerNorm, transposed BatchNorm) -------
@pytest.mark.parametrize("name,inputs,attrs", [
    ("layer_norm", [(2, 3, 4), (4,), (4,)], {}),
    ("layer_norm", [(2, 3, 4), (3,), (3,)], {"axis": 1, "output_mean_var": True}),
    ("group_norm", [(2, 4, 3), (2,), (2,)], {"num_groups": 2, "output_mean_var": True}),
    ("instance_norm", [(2, 3, 4), (3,), (3,)], {}),
    ("l2_normalization", [(2, 3, 4)], {"mode": "spatial"}),
    ("batch_norm", [(2, 3, 3), (3,), (3,), (3,), (3,)], {"axis": 2, "fix_gamma": False}),
])
@pytest.mark.parametrize("opset", [13, 17])
def test_norm_onnx_opsets(name, inputs, attrs, opset):
    from kiln.ndarray._registry import OPS, Sample
    rng = np.random.default_rng(0)
    arrays = [rng.uniform(0.5, 1.5, size=s) for s in inputs]
    opcheck.check_onnx(OPS[name], Sample(*arrays, **attrs), opset=opset)


# ---- torch cross-checks ------------------------------------------------------------------
def test_norms_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 4, 3, 3))
    g4, b4 = rng.uniform(0.5, 1.5, 4), rng.uniform(-1, 1, 4)
    tx = torch.tensor(x)
    g3, b3 = rng.uniform(0.5, 1.5, 3), rng.uniform(-1, 1, 3)
    ln = nd.LayerNorm(nd.array(x), nd.array(g3), nd.array(b3), eps=1e-5).asnumpy()
    t_ln = torch.nn.functional.layer_norm(tx, (3,), weight=torch.tensor(g3),
                                          bias=torch.tensor(b3), eps=1e-5)
    np.testing.assert_allclose(ln, t_ln.numpy(), rtol=1e-4, atol=1e-5)
    inorm = nd.InstanceNorm(nd.array(x), nd.array(g4), nd.array(b4), eps=1e-3).asnumpy()
    t_in = torch.nn.functional.instance_norm(tx, weight=torch.tensor(g4),
                                             bias=torch.tensor(b4), eps=1e-3)
    np.testing.assert_allclose(inorm, t_in.numpy(), rtol=1e-4, atol=1e-5)
    # MXNet's GroupNorm has per-group gamma: expand it per channel for torch
    g2, b2 = rng.uniform(0.5, 1.5, 2), rng.uniform(-1, 1, 2)
    gn = nd.GroupNorm(nd.array(x), nd.array(g2), nd.array(b2), num_groups=2).asnumpy()
    t_gn = torch.nn.functional.group_norm(tx, 2, torch.tensor(np.repeat(g2, 2)),
                                          torch.tensor(np.repeat(b2, 2)), eps=1e-5)
    np.testing.assert_allclose(gn, t_gn.numpy(), rtol=1e-4, atol=1e-5)
