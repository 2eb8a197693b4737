"""The fused ``RNN`` op against MXNet 1.9.1 (fixtures written by tests/data/mxnet191_lstm_make.py)
and its own facets beyond the registry walk (reserve, dropout, errors, ONNX)."""
import json
import os

import kiln as kl
import numpy as np
import pytest
from _rnn_ort_paths import assert_ort_path_equals_numpy
from kiln import autograd, nd
from kiln.base import ExportError, OpError
from kiln.ndarray.ops.rnn import param_size

DATA = os.path.join(os.path.dirname(__file__), "data")
FIX = np.load(os.path.join(DATA, "mxnet191_lstm_op.npz"))
CASES = json.loads(str(FIX["cases"]))


def _ids(c):
    s = f"{c['mode']}-L{c['L']}-D{c['D']}"
    return s + "".join(f"-{k}" for k in ("seq", "P", "clip") if k in c)


def _call(case, k, dtype=np.float64, cpu_mxnet=False):
    names = ["data", "params", "state"] + (["cell"] if case["mode"] == "lstm" else [])
    xs = {n: nd.array(FIX[f"{k}/in:{n}"], dtype=dtype) for n in names}
    ins = [xs[n] for n in names]
    kw = dict(mode=case["mode"], state_size=3, num_layers=case["L"],
              bidirectional=case["D"] == 2, state_outputs=True)
    if case.get("P"):
        kw["projection_size"] = case["P"]
    if "clip" in case and not cpu_mxnet:
        kw["lstm_state_clip_min"], kw["lstm_state_clip_max"] = case["clip"]
    if case.get("seq") and not cpu_mxnet:
        ins.append(nd.array(FIX[f"{k}/in:seq"], dtype=dtype))
        kw["use_sequence_length"] = True
    for x in xs.values():
        x.attach_grad()
    with autograd.record():
        res = nd.RNN(*ins, **kw)
    return xs, res


@pytest.mark.parametrize("k", range(len(CASES)), ids=[_ids(c) for c in CASES])
def test_matches_mxnet(k):
    """MXNet 1.9.1's CPU kernel ignores sequence_length and the state clip (only its cuDNN
    kernel applies them): those cases compare the call without them. kiln applies both
    (tests below, and the registry walk against ops/_rnn_ref.py)."""
    case = CASES[k]
    xs, res = _call(case, k, cpu_mxnet=True)
    heads = []
    for j, r in enumerate(res):
        np.testing.assert_allclose(r.asnumpy(), FIX[f"{k}/out{j}"], rtol=1e-5, atol=1e-5,
                                   err_msg=f"output {j}")
        heads.append(nd.array(FIX[f"{k}/head{j}"], dtype=np.float64))
    if f"{k}/grad:data" not in FIX:   # MXNet cannot train an LSTM with projection on the CPU
        return
    autograd.backward(res, heads)
    for n, x in xs.items():
        np.testing.assert_allclose(x.grad.asnumpy(), FIX[f"{k}/grad:{n}"], rtol=1e-4,
                                   atol=1e-5, err_msg=f"gradient of {n}")


def test_float32_matches_mxnet():
    xs, res = _call(CASES[2], 2, dtype=np.float32)   # lstm, 2 layers, bidirectional
    assert res[0].dtype == np.float32
    np.testing.assert_allclose(res[0].asnumpy(), FIX["2/out0"], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_recording_adds_no_visible_output_and_reuses_the_reserve(dtype):
    x, p = nd.ones((4, 2, 3), dtype=dtype), nd.ones(param_size("lstm", 3, 4), dtype=dtype) * 0.1
    h = c = nd.zeros((1, 2, 4), dtype=dtype)
    plain = nd.RNN(x, p, h, c, state_size=4, num_layers=1, mode="lstm")
    x.attach_grad()
    with autograd.record():
        out = nd.RNN(x, p, h, c, state_size=4, num_layers=1, mode="lstm")
    assert isinstance(out, nd.NDArray) and out.shape == (4, 2, 4)
    if dtype == np.float32:   # inference runs onnxruntime's LSTM kernel (no reserve to write)
        np.testing.assert_allclose(out.asnumpy(), plain.asnumpy(), rtol=1e-6, atol=1e-7)
    else:                     # the same loops, recording or not
        np.testing.assert_array_equal(out.asnumpy(), plain.asnumpy())
    assert out._node.n_out == 2   # the hidden reserve rides on the tape node
    out.backward()
    assert np.abs(x.grad.asnumpy()).sum() > 0


def test_dropout_between_layers_only_in_training():
    rs = np.random.RandomState(0)
    n = param_size("lstm", 3, 4, 2)
    x, p = nd.array(rs.uniform(-1, 1, (5, 2, 3))), nd.array(rs.uniform(-0.5, 0.5, (n,)))
    h = nd.zeros((2, 2, 4))
    kw = dict(state_size=4, num_layers=2, mode="lstm", p=0.5, state_outputs=True)
    a = nd.RNN(x, p, h, h, **kw)
    b = nd.RNN(x, p, h, h, **dict(kw, p=0.0))
    np.testing.assert_array_equal(a[0].asnumpy(), b[0].asnumpy())   # predict: no dropout
    kl.random.seed(3)
    p.attach_grad()
    with autograd.record():
        t = nd.RNN(x, p, h, h, **kw)
    assert not np.allclose(t[0].asnumpy(), b[0].asnumpy())
    assert [o.shape for o in t] == [(5, 2, 4), (2, 2, 4), (2, 2, 4)]
    t[0].backward()
    assert np.isfinite(p.grad.asnumpy()).all()


@pytest.mark.parametrize("k", [i for i, c in enumerate(CASES) if c.get("seq")],
                         ids=[_ids(c) for c in CASES if c.get("seq")])
def test_sequence_length_equals_the_truncated_sequence(k):
    """Each sample's outputs and final states are those of its sequence cut at its length
    (both directions: the reverse one starts at the last valid step); later outputs are 0."""
    case = CASES[k]
    _, res = _call(case, k)
    lens = FIX[f"{k}/in:seq"].astype(int)
    names = ["data", "params", "state"] + (["cell"] if case["mode"] == "lstm" else [])
    for b, n in enumerate(lens):
        ins = [FIX[f"{k}/in:{nm}"] for nm in names]
        ins[0] = ins[0][:n, b:b + 1]
        ins[2:] = [a[:, b:b + 1] for a in ins[2:]]
        one = nd.RNN(*[nd.array(a, dtype=np.float64) for a in ins], mode=case["mode"],
                     state_size=3, num_layers=case["L"], bidirectional=case["D"] == 2,
                     state_outputs=True)
        np.testing.assert_allclose(res[0].asnumpy()[:n, b], one[0].asnumpy()[:, 0], atol=1e-12)
        assert not res[0].asnumpy()[n:, b].any()
        for r, o in zip(res[1:], one[1:]):
            np.testing.assert_allclose(r.asnumpy()[:, b], o.asnumpy()[:, 0], atol=1e-12)


def test_gru_sequence_length_as_fourth_input():
    """MXNet passes a GRU's sequence lengths where an LSTM has its cell state."""
    k = next(i for i, c in enumerate(CASES) if c["mode"] == "gru" and c.get("seq"))
    _, want = _call(CASES[k], k)
    ins = [nd.array(FIX[f"{k}/in:{n}"], dtype=np.float64) for n in ("data", "params", "state")]
    res = nd.RNN(*ins, nd.array(FIX[f"{k}/in:seq"], dtype=np.float64), mode="gru",
                 state_size=3, num_layers=1, bidirectional=True, state_outputs=True,
                 use_sequence_length=True)
    np.testing.assert_array_equal(res[0].asnumpy(), want[0].asnumpy())


def test_state_clip_bounds_the_cell_state():
    k = next(i for i, c in enumerate(CASES) if "clip" in c)
    _, res = _call(CASES[k], k)
    _, free = _call(CASES[k], k, cpu_mxnet=True)
    lo, hi = CASES[k]["clip"]
    assert free[2].asnumpy().max() > hi   # the sample does reach the bound
    assert lo <= res[2].asnumpy().min() and res[2].asnumpy().max() <= hi


def test_errors():
    x = nd.ones((4, 2, 3))
    with pytest.raises(OpError, match="parameters"):
        nd.RNN(x, nd.ones(7), nd.zeros((1, 2, 4)), state_size=4, num_layers=1, mode="gru")
    with pytest.raises(OpError, match="mode"):
        nd.RNN(x, nd.ones(7), nd.zeros((1, 2, 4)), state_size=4, num_layers=1, mode="elman")
    with pytest.raises(TypeError, match="state_size"):
        nd.RNN(x, nd.ones(7), nd.zeros((1, 2, 4)), num_layers=1, mode="gru")


def test_symbolic_infer_shape():
    s = kl.sym.RNN(kl.sym.var("data"), kl.sym.var("p"), kl.sym.var("h"), state_size=5,
                   num_layers=2, mode="gru", bidirectional=True, state_outputs=True)
    _, outs, _ = s.infer_shape(data=(7, 3, 4), p=(param_size("gru", 4, 5, 2, 2),), h=(4, 3, 5))
    assert outs == [(7, 3, 10), (4, 3, 5)]


def test_onnx_refuses_projection():
    from kiln.export.onnx_builder import one_op_model
    k = next(i for i, c in enumerate(CASES) if c.get("P"))
    ins = [FIX[f"{k}/in:{n}"].astype(np.float32) for n in ("data", "params", "state", "cell")]
    with pytest.raises(ExportError, match="projection"):
        one_op_model(nd.RNN.op, ins, dict(mode="lstm", state_size=3, num_layers=2,
                                          bidirectional=True, projection_size=2), opset=17)


@pytest.mark.parametrize("dtype,bidirectional", [(np.float32, False), (np.float32, True),
                                                 (np.float64, False)])
def test_lstm_steps_through_onnxruntime_equal_numpy(monkeypatch, dtype, bidirectional):
    """The LSTM's forward and backward step loops as onnxruntime Scans (the default for plain
    LSTMs on the CPU) compute what the numpy loops do: outputs, states and gradients."""
    rng = np.random.default_rng(3)
    T, N, C, H, L = 6, 5, 4, 7, 2
    D = 2 if bidirectional else 1
    size = param_size("lstm", C, H, L, D)
    arrays = [rng.normal(size=(T, N, C)), rng.normal(0, 0.5, size=size),
              rng.normal(size=(L * D, N, H)), rng.normal(size=(L * D, N, H))]
    heads = [rng.normal(size=(T, N, D * H)), rng.normal(size=(L * D, N, H)),
             rng.normal(size=(L * D, N, H))]
    from kiln.ndarray.ops import _rnn_bptt, _rnn_compute
    # a unidirectional stack's backward is one wavefront (_scan_wave) of chunked Scans
    backward = (_rnn_bptt, "_lstm_loop_scan", L * D) if bidirectional else (
        _rnn_bptt, "_scan_wave", 1)
    assert_ort_path_equals_numpy(monkeypatch, "lstm", [(_rnn_compute, "_lstm_steps_scan", L * D),
                                                       backward],
                                 arrays, heads, H, L, bidirectional, dtype)
