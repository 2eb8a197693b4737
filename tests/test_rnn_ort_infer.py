"""The RNN op's inference path (no autograd recording, float32 LSTM/GRU) runs onnxruntime's
LSTM and GRU kernels (ndarray/_ort_rnn.py); recording runs the op's own loops, which write the
reserve the backward reads. Both give the same outputs and states, and the cases the ONNX
kernels cannot take stay on the loops."""
import numpy as np
import pytest
from kiln import autograd, nd
from kiln.ndarray import _ort_rnn
from kiln.ndarray.ops._rnn_compute import layout


def _inputs(mode, T, N, C, H, L, D, seed=0, dtype=np.float32, **attrs):
    rng = np.random.default_rng(seed)
    lay = layout((T, N, C), dict(mode=mode, state_size=H, num_layers=L,
                                 bidirectional=D == 2, **attrs))
    x = nd.array(rng.uniform(-1, 1, (T, N, C)), dtype=dtype)
    p = nd.array(rng.uniform(-0.4, 0.4, lay.size), dtype=dtype)
    h = nd.array(rng.uniform(-0.5, 0.5, (L * D, N, lay.R)), dtype=dtype)
    c = nd.array(rng.uniform(-0.5, 0.5, (L * D, N, H)), dtype=dtype) if mode == "lstm" else None
    return x, p, h, c


def _call(mode, x, p, h, c, H, L, D, **attrs):
    args = (x, p, h) + ((c,) if c is not None else ())
    return nd.RNN(*args, state_size=H, num_layers=L, bidirectional=D == 2, mode=mode,
                  state_outputs=True, **attrs)


@pytest.fixture
def ort_calls(monkeypatch):
    calls = []
    real = _ort_rnn.forward
    monkeypatch.setattr(_ort_rnn, "forward", lambda *a: calls.append(a[0]) or real(*a))
    return calls


@pytest.mark.parametrize("mode", ["lstm", "gru"])
@pytest.mark.parametrize("L,D", [(1, 1), (2, 1), (2, 2), (3, 2)])
def test_inference_equals_the_recorded_loops(mode, L, D, ort_calls):
    T, N, C, H = 6, 3, 5, 7
    x, p, h, c = _inputs(mode, T, N, C, H, L, D)
    plain = _call(mode, x, p, h, c, H, L, D)
    assert ort_calls == [mode]
    with autograd.record():
        recorded = _call(mode, x, p, h, c, H, L, D)
    assert ort_calls == [mode]   # recording: the op's own loops (they write the reserve)
    assert len(plain) == len(recorded) == (3 if mode == "lstm" else 2)
    for a, b in zip(plain, recorded):
        assert a.shape == b.shape and a.dtype == b.dtype == np.float32
        np.testing.assert_allclose(a.asnumpy(), b.asnumpy(), rtol=2e-6, atol=2e-7)


def test_gluon_layers_predict_through_onnxruntime(ort_calls):
    from kiln.gluon import rnn
    for layer in (rnn.LSTM(8, num_layers=2, layout="NTC", input_size=4),
                  rnn.GRU(8, bidirectional=True, input_size=4)):
        layer.initialize()
        x = nd.array(np.random.default_rng(1).uniform(-1, 1, (3, 5, 4)))
        if layer._layout == "TNC":
            x = x.transpose((1, 0, 2))
        y = layer(x)
        with autograd.record():
            z = layer(x)
        np.testing.assert_allclose(y.asnumpy(), z.asnumpy(), rtol=2e-6, atol=2e-7)
    assert ort_calls == ["lstm", "gru"]


@pytest.mark.parametrize("case", ["float64", "projection", "clip", "lengths", "rnn_tanh",
                                  "empty"])
def test_what_the_onnx_kernels_cannot_take_stays_on_the_loops(case, ort_calls):
    mode, attrs, dtype, T = "lstm", {}, np.float32, 4
    if case == "float64":
        dtype = np.float64
    elif case == "projection":
        attrs = {"projection_size": 3}
    elif case == "clip":
        attrs = {"lstm_state_clip_min": -0.2, "lstm_state_clip_max": 0.2}
    elif case == "rnn_tanh":
        mode = "rnn_tanh"
    elif case == "empty":
        T = 0
    x, p, h, c = _inputs(mode, T, 2, 3, 5, 1, 1, dtype=dtype, **attrs)
    extra = {}
    if case == "lengths":
        extra = {"use_sequence_length": True}
    args = (x, p, h) + ((c,) if c is not None else ())
    if case == "lengths":
        args += (nd.array([4, 2], dtype=dtype),)
    out = nd.RNN(*args, state_size=5, num_layers=1, mode=mode, state_outputs=True,
                 **attrs, **extra)
    assert ort_calls == []
    with autograd.record():
        again = nd.RNN(*args, state_size=5, num_layers=1, mode=mode, state_outputs=True,
                       **attrs, **extra)
    for a, b in zip(out, again):
        np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())
