"""The fused RNN's work on a second thread (ndarray/ops/_rnn_threads.py): the forward's
wavefront over unidirectional layers and the backward's weight gradients beside the next step
loop compute exactly what the same op computes on one thread, and a failure on either thread
reaches the caller without leaving the other waiting."""
import numpy as np
import pytest
from kiln import autograd, nd
from kiln.ndarray import _parallel
from kiln.ndarray.ops import _rnn_compute as rc
from kiln.ndarray.ops import _rnn_threads
from kiln.ndarray.ops.rnn import param_size

pytestmark = pytest.mark.skipif(_parallel.workers() < 1, reason="one core: no worker thread")

CASES = [dict(mode="lstm", L=2, T=12), dict(mode="lstm", L=3, T=7),
         dict(mode="lstm", L=2, T=3, seq=True), dict(mode="lstm", L=2, T=6, P=2),
         dict(mode="lstm", L=2, T=6, clip=True), dict(mode="gru", L=2, T=11, seq=True),
         dict(mode="gru", L=3, T=5), dict(mode="rnn_tanh", L=2, T=6),
         dict(mode="rnn_relu", L=4, T=9), dict(mode="lstm", L=2, T=6, D=2)]


def _run(case, dtype):
    """Outputs and every input's gradient of one recorded call."""
    rng = np.random.default_rng(case["T"] * case["L"])
    T, N, C, H, L, D, P = case["T"], 4, 3, 5, case["L"], case.get("D", 1), case.get("P")
    kw = dict(mode=case["mode"], state_size=H, num_layers=L, bidirectional=D == 2,
              state_outputs=True, use_sequence_length=bool(case.get("seq")))
    if P:
        kw["projection_size"] = P
    if case.get("clip"):
        kw["lstm_state_clip_min"], kw["lstm_state_clip_max"] = -0.4, 0.4
    R = P or H
    ins = [rng.uniform(-1, 1, (T, N, C)),
           rng.uniform(-0.6, 0.6, param_size(case["mode"], C, H, L, D, P or 0)),
           rng.uniform(-1, 1, (L * D, N, R))]
    if case["mode"] == "lstm":
        ins.append(rng.uniform(-1, 1, (L * D, N, H)))
    if case.get("seq"):
        ins.append(rng.integers(1, T + 1, N).astype(np.float64))
    xs = [nd.array(a, dtype=dtype) for a in ins]
    grads = xs[:len(ins) - bool(case.get("seq"))]
    for x in grads:
        x.attach_grad()
    with autograd.record():
        res = nd.RNN(*xs, **kw)
    heads = [nd.array(rng.normal(size=r.shape), dtype=dtype) for r in res]
    autograd.backward(list(res), heads)
    return [r.asnumpy() for r in res] + [x.grad.asnumpy() for x in grads]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}{v}" for k, v in c.items()))
def test_beside_equals_one_thread(monkeypatch, case, dtype):
    monkeypatch.setattr(_rnn_threads, "MIN_WORK", 0)   # these small layers too
    started = []
    real = _rnn_threads.Side.start

    def start(self, fn, *args):
        started.append(self.on)
        return real(self, fn, *args)
    monkeypatch.setattr(_rnn_threads.Side, "start", start)
    beside = _run(case, dtype)
    assert started and all(started)   # the work did go to a worker
    monkeypatch.setattr(_rnn_threads, "BESIDE", False)
    inline = _run(case, dtype)
    for a, b in zip(beside, inline):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("failing", [0, 1])
def test_wavefront_failure_reaches_the_caller(failing):
    """A layer failing on either thread: the caller gets that error and returns (the other
    thread, waiting for the failed layer's chunks, is released)."""
    ran = []

    def run_layer(index, sync):
        for c in range(4):
            sync.wait(c)
            if index == failing and c == 2:
                raise ValueError(f"layer {index}")
            ran.append((index, c))
            sync.done(c)
    with pytest.raises(ValueError, match=f"layer {failing}"):
        _rnn_threads.wavefront(np, 3, 4, run_layer)
    assert (failing, 2) not in ran
    assert all(c < 2 for index, c in ran if index > failing)


def test_chunks_cover_the_sequence_in_order():
    for T in (1, rc.CHUNK, rc.CHUNK + 1, 35):
        spans = rc._chunks(T, False)
        assert spans[0][0] == 0 and spans[-1][1] == T
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
        assert rc._chunks(T, True) == spans[::-1]


def test_small_layers_stay_on_the_caller():
    lay = rc.layout((35, 20, 256), dict(mode="lstm", state_size=256, num_layers=2))
    assert rc.layer_work((35, 20, 256), lay) >= _rnn_threads.MIN_WORK   # W4's layers go beside
    assert _rnn_threads.Side(np, 10).on is False
