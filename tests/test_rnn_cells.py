"""Recurrent cells (``gluon.rnn.*Cell``, ``gluon.contrib.rnn``): numpy references for the
RNN/LSTM/GRU formulas, eager against hybridized (a cell stepped, unrolled, and unrolled inside
a hybridized block) for every cell, and MXNet 1.9.1 itself (``_rnn_cell_cases.py`` run in both
interpreters: same parameters through an MXNet-saved file, outputs, states and gradients,
parameter names, reprs). The MXNet part needs ``KILN_MXNET_PYTHON`` or ``.mxnet-venv``.
"""
import json
import os
import re
import subprocess
import textwrap

import kiln as mx
import numpy as np
import pytest
from _rnn_cell_cases import BATCH, BUILDERS, IN, STEPS, VALID, run_case
from kiln import autograd, gluon, nd
from kiln.gluon import rnn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MX_PYTHON = os.environ.get("KILN_MXNET_PYTHON") or os.path.join(ROOT, ".mxnet-venv", "bin",
                                                                 "python")


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _np_step(kind, x, states, w):
    """One step of the numpy reference; ``w``: the four arrays by name."""
    h = states[0]
    i2h = x @ w["i2h_weight"].T + w["i2h_bias"]
    h2h = h @ w["h2h_weight"].T + w["h2h_bias"]
    if kind == "rnn":
        out = np.tanh(i2h + h2h)
        return out, [out]
    if kind == "lstm":
        i, f, g, o = np.split(i2h + h2h, 4, axis=1)
        c = _sigmoid(f) * states[1] + _sigmoid(i) * np.tanh(g)
        out = _sigmoid(o) * np.tanh(c)
        return out, [out, c]
    xr, xz, xn = np.split(i2h, 3, axis=1)
    hr, hz, hn = np.split(h2h, 3, axis=1)
    r, z = _sigmoid(xr + hr), _sigmoid(xz + hz)
    n = np.tanh(xn + r * hn)
    out = (1 - z) * n + z * h
    return out, [out]


CELLS = {"rnn": rnn.RNNCell, "lstm": rnn.LSTMCell, "gru": rnn.GRUCell}


def _random_params(cell, seed=0):
    rs = np.random.RandomState(seed)
    for p in cell.collect_params().values():
        p.set_data(nd.array(rs.uniform(-0.6, 0.6, p.shape)))


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_cell_matches_numpy_reference(kind):
    cell = CELLS[kind](5, input_size=IN)
    cell.initialize()
    _random_params(cell)
    w = {k[len(cell.prefix):]: p.data().asnumpy() for k, p in cell.collect_params().items()}
    rs = np.random.RandomState(1)
    x = rs.uniform(-1, 1, (BATCH, STEPS, IN)).astype(np.float32)
    outs, states = cell.unroll(STEPS, nd.array(x), merge_outputs=True,
                               valid_length=nd.array(VALID))
    ref_states = [np.zeros((BATCH, 5), np.float32) for _ in cell.state_info()]
    ref_outs, last = [], [None] * BATCH
    for t in range(STEPS):
        out, ref_states = _np_step(kind, x[:, t], ref_states, w)
        ref_outs.append(out * (t < np.array(VALID))[:, None])
        for n in range(BATCH):
            if t == VALID[n] - 1:
                last[n] = [s[n] for s in ref_states]
    np.testing.assert_allclose(outs.asnumpy(), np.stack(ref_outs, axis=1), atol=1e-5)
    for i, s in enumerate(states):
        np.testing.assert_allclose(s.asnumpy(), np.stack([v[i] for v in last]), atol=1e-5)
    # one step from given states
    given = [rs.uniform(-1, 1, (BATCH, 5)).astype(np.float32) for _ in cell.state_info()]
    out, new = cell(nd.array(x[:, 0]), [nd.array(s) for s in given])
    ref_out, ref_new = _np_step(kind, x[:, 0], given, w)
    np.testing.assert_allclose(out.asnumpy(), ref_out, atol=1e-5)
    for a, b in zip(new, ref_new):
        np.testing.assert_allclose(a.asnumpy(), b, atol=1e-5)


class _Unrolled(gluon.HybridBlock):
    """A block whose forward unrolls ``cell``: hybridized, the whole sequence is one graph."""

    def __init__(self, cell, merge=True):
        super().__init__()
        self.cell = cell
        self._merge = merge

    def forward(self, x, valid_length=None):
        return self.cell.unroll(STEPS, x, merge_outputs=self._merge, valid_length=valid_length)


def _flat(outs):
    if isinstance(outs, (list, tuple)):
        return [a for o in outs for a in _flat(o)]
    return [outs]


def _run(fn, x, params, train):
    """Outputs, input gradient and parameter gradients of ``fn(x)`` (one scalar loss)."""
    x = x.copy()
    x.attach_grad()
    with autograd.record(train_mode=train):
        flat = _flat(fn(x))
        loss = 0
        for i, o in enumerate(flat):
            head = np.random.RandomState(20 + i).uniform(-1, 1, o.shape)
            loss = loss + (o * nd.array(head)).sum()
    loss.backward()
    return ([o.asnumpy() for o in flat], x.grad.asnumpy(),
            {k: p.grad().asnumpy() for k, p in params.items() if p.grad_req != "null"})


def _assert_same(a, b):
    (outs_a, xg_a, pg_a), (outs_b, xg_b, pg_b) = a, b
    assert len(outs_a) == len(outs_b)
    for u, v in zip(outs_a, outs_b):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(xg_a, xg_b, rtol=1e-5, atol=1e-6)
    assert pg_a.keys() == pg_b.keys()
    for k in pg_a:
        np.testing.assert_allclose(pg_a[k], pg_b[k], rtol=1e-5, atol=1e-6, err_msg=k)


def _cell(name):
    build, size, predict = BUILDERS[name]
    cell = build(mx)
    cell.initialize(mx.init.Uniform(0.3))
    x = nd.array(np.random.RandomState(3).uniform(-1, 1, (BATCH, STEPS, size)))
    cell.unroll(STEPS, x)  # deferred shapes
    _random_params(cell)
    return cell, x, not predict


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_hybridize_unroll_and_step_equal_eager(name):
    cell, x, train = _cell(name)
    params = cell.collect_params()
    valid = nd.array(VALID)

    def unroll(c):
        return lambda x: c.unroll(STEPS, x, merge_outputs=True, valid_length=valid)

    def step(c):
        return lambda x: c(x[:, 0], [s + 0.5 for s in c.begin_state(batch_size=BATCH)])

    eager = [_run(unroll(cell), x, params, train)]
    if name != "bi":
        eager.append(_run(step(cell), x, params, train))
    cell.hybridize()
    hybrid = [_run(unroll(cell), x, params, train)]
    if name != "bi":
        hybrid.append(_run(step(cell), x, params, train))
    for a, b in zip(eager, hybrid):
        _assert_same(a, b)
    if name != "seq":  # a Block, which a HybridBlock cannot hold (as in MXNet)
        cell.hybridize(False)
        for merge in (True, False):
            block = _Unrolled(cell, merge)

            def call(x, block=block):
                return block(x, valid)
            a = _run(call, x, params, train)
            block.hybridize()
            _assert_same(a, _run(call, x, params, train))
            _assert_same(a, _run(call, x, params, train))  # the cached graph


@pytest.mark.parametrize("name", ["dropout", "zoneout", "vardrop"])
def test_random_cells_train_mode(name):
    """In training the masks are drawn: outputs differ from predict mode, zoneout keeps
    some previous values, and variational dropout drops the same units at every step."""
    cell, x, _ = _cell(name)
    mx.random.seed(0)
    with autograd.record(train_mode=True):
        out, _ = cell.unroll(STEPS, x, merge_outputs=True)
    pred, _ = cell.unroll(STEPS, x, merge_outputs=True)
    assert not np.allclose(out.asnumpy(), pred.asnumpy())
    if name == "vardrop":
        zero = out.asnumpy() == 0
        assert zero.any() and (zero == zero[:, :1]).all()
    cell.hybridize()  # stepped eagerly around the compiled base cell: still runs
    with autograd.record(train_mode=True):
        out2, _ = cell.unroll(STEPS, x, merge_outputs=True)
    assert out2.shape == out.shape


def test_deferred_input_size_state_info_and_begin_state():
    cell = rnn.LSTMCell(4)
    assert repr(cell) == "LSTMCell(None -> 16)"
    assert cell.state_info(2) == [{"shape": (2, 4), "__layout__": "NC"}] * 2
    cell.initialize()
    states = cell.begin_state(batch_size=2, func=nd.ones, dtype="float64")
    assert [s.shape for s in states] == [(2, 4), (2, 4)] and states[0].dtype == np.float64
    cell(nd.ones((2, 3, 2)), cell.begin_state(2))  # the input is flattened: 6 features
    assert cell.i2h_weight.shape == (16, 6) and repr(cell) == "LSTMCell(6 -> 16)"
    lstm = rnn.LSTMCell(3, i2h_bias_initializer="lstmbias")
    lstm.initialize()
    lstm(nd.ones((1, 2)), lstm.begin_state(1))
    assert lstm.i2h_bias.data().asnumpy().tolist() == [0] * 3 + [1] * 3 + [0] * 6


def test_modifiers_stack_and_bidirectional_rules():
    base = rnn.GRUCell(3, prefix="gru_")
    cell = rnn.ZoneoutCell(base, 0.1, 0.2)
    assert cell.prefix == "gru_zoneout" and list(cell.params.keys())[0] == "gru_i2h_weight"
    with pytest.raises(AssertionError):
        base.begin_state(2)  # the base cell is reached through its modifier only
    assert len(cell.begin_state(batch_size=2)) == 1
    with pytest.raises(AssertionError):
        rnn.ResidualCell(base)  # one cell cannot be modified twice
    bi = rnn.BidirectionalCell(rnn.RNNCell(2), rnn.RNNCell(2))
    with pytest.raises(NotImplementedError):
        bi(nd.ones((1, 2)), bi.begin_state(batch_size=1))
    stack = rnn.HybridSequentialRNNCell()
    stack.add(rnn.LSTMCell(2))
    stack.add(rnn.RNNCell(3))
    assert len(stack) == 2 and isinstance(stack[1], rnn.RNNCell)
    assert [s["shape"] for s in stack.state_info(4)] == [(4, 2), (4, 2), (4, 3)]
    stack.initialize()
    out, states = stack.unroll(3, [nd.ones((4, 5))] * 3, layout="TNC")
    assert isinstance(out, list) and len(out) == 3 and out[0].shape == (4, 3)
    assert gluon.contrib.rnn.LSTMPCell is rnn.LSTMPCell


def test_save_load_structural_names(tmp_path):
    cell, x, _ = _cell("bi")
    keys = sorted(cell._collect_params_with_prefix())
    assert keys[0] == "l_cell.h2h_bias" and keys[-1] == "r_cell.i2h_weight"
    cell.save_parameters(str(tmp_path / "bi.params"))
    other = BUILDERS["bi"][0](mx)
    other.load_parameters(str(tmp_path / "bi.params"))
    a, _ = cell.unroll(STEPS, x, merge_outputs=True)
    b, _ = other.unroll(STEPS, x, merge_outputs=True)
    np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())


# ---- MXNet 1.9.1 -------------------------------------------------------------------------

_MX_SCRIPT = """
import json, sys, traceback
import numpy as np
sys.path.insert(0, sys.argv[1])
import mxnet as mx
from _rnn_cell_cases import BUILDERS, run_case
out, meta = {}, {}
for name in BUILDERS:
    try:
        res, names = run_case(mx, name, name + ".params", True)
    except Exception:
        meta[name] = {"error": traceback.format_exc()[-2000:]}
        continue
    out.update({name + "/" + k: v for k, v in res.items()})
    meta[name] = {"names": names, "repr": repr(BUILDERS[name][0](mx))}
np.savez("mx.npz", **out)
json.dump(meta, open("meta.json", "w"))
"""


@pytest.fixture(scope="module")
def mxnet_results(tmp_path_factory):
    if not os.path.exists(MX_PYTHON):
        pytest.skip("no MXNet 1.9.1 interpreter (KILN_MXNET_PYTHON or .mxnet-venv)")
    where = tmp_path_factory.mktemp("mx_rnn_cells")
    proc = subprocess.run([MX_PYTHON, "-c", textwrap.dedent(_MX_SCRIPT),
                           os.path.dirname(os.path.abspath(__file__))], cwd=where, text=True,
                          capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(where / "meta.json") as f:
        meta = json.load(f)
    return where, np.load(where / "mx.npz"), meta


def _numbered(names):
    return [re.sub(r"\d+", "#", n) for n in names]


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_matches_mxnet(name, mxnet_results):
    where, ref, meta = mxnet_results
    assert "error" not in meta[name], meta[name].get("error")
    res, names = run_case(mx, name, str(where / f"{name}.params"), False)  # MXNet's file
    want = {k[len(name) + 1:] for k in ref.files if k.startswith(name + "/")}
    assert set(res) == want
    for key in sorted(want):
        np.testing.assert_allclose(res[key], ref[f"{name}/{key}"], rtol=1e-4, atol=1e-5,
                                   err_msg=key)
    assert _numbered(names) == _numbered(meta[name]["names"])
    assert _numbered([repr(BUILDERS[name][0](mx))]) == _numbered([meta[name]["repr"]])



class _Stepped(gluon.HybridBlock):
    """Steps ``cell`` by hand, without reset(): values a modifier keeps across steps must
    not leak from one trace into the next."""

    def __init__(self, cell):
        super().__init__()
        self.cell = cell

    def forward(self, x):
        states = self.cell.begin_state(batch_size=x.shape[0], dtype=x.dtype)
        outs = []
        for t in range(x.shape[1]):
            out, states = self.cell(x[:, t], states)
            outs.append(out)
        return nd.stack(*outs, axis=1)


@pytest.mark.parametrize("name", ["zoneout", "vardrop"])
def test_modifier_values_stay_in_their_trace(name):
    net = _Stepped(BUILDERS[name][0](mx))
    net.initialize()
    net.hybridize()
    for batch in (2, 3, 2):  # a retrace, then the first graph again
        with autograd.record(train_mode=True):
            out = net(nd.ones((batch, STEPS, IN)))
        out.backward()
        assert out.shape == (batch, STEPS, 5) and np.isfinite(out.asnumpy()).all()
    if name == "vardrop":  # one output mask for the whole sequence, inside the graph too
        zero = out.asnumpy() == 0
        assert zero.any() and (zero == zero[:, :1]).all()


@pytest.mark.parametrize("name", ["lstm", "hseq", "bi", "residual", "vardrop"])
@pytest.mark.parametrize("layout", ["NTC", "TNC"])
def test_symbolic_unroll_evaluates_like_eager(name, layout):
    """Gluon 1.x: ``cell.unroll(T, sym.var('data'))`` builds a graph without shapes; the
    begin states are zeros sized from the data when it runs."""
    cell, x, _ = _cell(name)
    if layout == "TNC":
        x = nd.transpose(x, axes=(1, 0, 2))
    valid = nd.array(VALID)
    ref, ref_states = cell.unroll(STEPS, x, layout=layout, merge_outputs=True,
                                  valid_length=valid)
    out, states = cell.unroll(STEPS, mx.sym.var("data"), layout=layout, merge_outputs=True,
                              valid_length=mx.sym.var("vl"))
    params = {k: p.data() for k, p in cell.collect_params().items()}
    got = mx.sym.Group([out] + list(states)).eval(data=x, vl=valid, **params)
    for a, b in zip(got, [ref] + list(ref_states)):
        np.testing.assert_allclose(a.asnumpy(), b.asnumpy(), rtol=1e-5, atol=1e-6)


def test_symbolic_unroll_arguments_as_mxnet():
    cell = rnn.LSTMCell(4, prefix="l_")
    outs, _ = cell.unroll(3, mx.sym.var("data"))
    assert isinstance(outs, list) and len(outs) == 3
    # MXNet 1.9.1: the same arguments and step output names
    assert mx.sym.Group(outs).list_arguments() == ["data", "l_i2h_weight", "l_i2h_bias",
                                                   "l_h2h_weight", "l_h2h_bias"]
    assert mx.sym.Group(outs).list_outputs() == ["l_t0_out_output", "l_t1_out_output",
                                                 "l_t2_out_output"]
    assert mx.sym.Group(outs).infer_shape(data=(2, 3, 5))[1] == [(2, 4)] * 3


def test_symbolic_unroll_with_known_shapes_stays_symbolic_and_names_bidirectional_steps():
    """Data of known shape and a symbolic valid_length: the zero begin states are symbols too
    (MXNet's F = symbol), so the graph binds in a Module; a BidirectionalCell names its step
    outputs ``<output_prefix>t<i>`` as MXNet 1.9.1 does."""
    cell = rnn.RNNCell(5)
    data = mx.sym.var("data", shape=(4, 6, 2))
    outs, states = cell.unroll(6, data, valid_length=mx.sym.var("vl", shape=(4,)),
                               merge_outputs=True, layout="NTC")
    mod = mx.mod.Module(states[0], data_names=("data", "vl"), label_names=None)
    mod.bind(data_shapes=[("data", (4, 6, 2)), ("vl", (4,))], label_shapes=None)
    mod.init_params()
    x, vl = nd.random.normal(shape=(4, 6, 2)), nd.array([3, 6, 1, 2])
    mod.forward(mx.io.DataBatch([x, vl]))
    params = {k: v for k, v in mod.get_params()[0].items()}
    eager = rnn.RNNCell(5, prefix=cell.prefix)
    eager.initialize()
    for k, p in eager.collect_params().items():
        p.set_data(params[k])
    _, want = eager.unroll(6, x, valid_length=vl, merge_outputs=True)
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), want[0].asnumpy(), rtol=1e-5)

    bi = rnn.BidirectionalCell(rnn.LSTMCell(3, prefix="l_"), rnn.LSTMCell(3, prefix="r_"),
                               output_prefix="both_")
    steps, _ = bi.unroll(2, [mx.sym.var("t0"), mx.sym.var("t1")])
    assert mx.sym.Group(steps).list_outputs() == ["both_t0_output", "both_t1_output"]


def test_docstring_examples_run():
    import doctest

    from kiln.nn.rnn import (
        _cell_base,
        _cell_basic,
        _cell_contrib,
        _cell_modifiers,
        _cell_stack,
        rnn_cell,
    )
    globs = dict(vars(rnn), nd=nd, kiln=mx)
    for module in (_cell_base, _cell_basic, _cell_stack, _cell_modifiers, _cell_contrib,
                   rnn_cell, gluon.contrib):
        result = doctest.testmod(module, extraglobs=globs, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0 and result.attempted > 0, module.__name__


class _UserCell(rnn.HybridRecurrentCell):
    """A cell written by a user against the Gluon 1.x base: ``h = tanh(W x + h)``."""

    def __init__(self, hidden, **kwargs):
        super().__init__(**kwargs)
        self._hidden = hidden
        self.weight = self.params.get("weight", shape=(hidden, IN))

    def state_info(self, batch_size=0):
        return [{"shape": (batch_size, self._hidden), "__layout__": "NC"}]

    def hybrid_forward(self, F, x, states, weight):
        h = F.tanh(F.FullyConnected(x, weight, no_bias=True, num_hidden=self._hidden)
                   + states[0])
        return h, [h]


def test_user_cell_on_the_base_class():
    cell = _UserCell(3, prefix="mine_")
    cell.initialize()
    assert list(cell.collect_params().keys()) == ["mine_weight"]
    names = [s.name for _ in range(2) for s in cell.begin_state(batch_size=2, func=mx.sym.var)]
    assert names == ["mine_begin_state_0", "mine_begin_state_1"]  # the counter runs on
    x = nd.array(np.random.RandomState(0).uniform(-1, 1, (BATCH, STEPS, IN)))
    w = cell.weight.data().asnumpy()
    h = np.zeros((BATCH, 3), np.float32)
    for t in range(STEPS):
        h = np.tanh(x.asnumpy()[:, t] @ w.T + h)
    params = cell.collect_params()
    a = _run(lambda x: cell.unroll(STEPS, x, merge_outputs=True), x, params, True)
    np.testing.assert_allclose(a[0][-1], h, atol=1e-5)
    cell.hybridize()
    _assert_same(a, _run(lambda x: cell.unroll(STEPS, x, merge_outputs=True), x, params, True))
