"""Work beside the calling thread: ``_parallel.split_rows``/``background``, the BLAS thread
scopes shared by several threads, the loss kernel split by rows, and compiled backwards that
run a weight's gradient beside an RNN's step loop (``memory_plan._overlap_schedule``)."""
import threading

import numpy as np
import pytest
from kiln import autograd, gluon, nd
from kiln.ndarray import _blas, _parallel
from kiln.ndarray.ops import fused


@pytest.mark.parametrize("threads", ["1", "2", "4"])
def test_split_rows_covers_every_row_once(monkeypatch, threads):
    monkeypatch.setenv("KILN_THREADS", threads)
    hits = np.zeros(1001, np.int64)
    lock = threading.Lock()

    def block(lo, hi):
        with lock:
            hits[lo:hi] += 1
    _parallel.split_rows(block, len(hits), size=1 << 30)
    assert (hits == 1).all()


def test_split_rows_small_work_runs_inline():
    seen = []
    _parallel.split_rows(lambda lo, hi: seen.append((lo, hi, threading.get_ident())), 100, 10)
    assert seen == [(0, 100, threading.get_ident())]


def test_split_rows_reraises_a_worker_error(monkeypatch):
    monkeypatch.setenv("KILN_THREADS", "2")

    def block(lo, hi):
        if lo > 0:
            raise ValueError("block failed")
    with pytest.raises(ValueError, match="block failed"):
        _parallel.split_rows(block, 10, size=1 << 30)


def test_background_returns_and_reraises(monkeypatch):
    for threads in ("1", "2"):
        monkeypatch.setenv("KILN_THREADS", threads)
        assert _parallel.background(lambda a, b=0: a + b, 2, b=3).result() == 5
        job = _parallel.background(lambda: 1 / 0)
        with pytest.raises(ZeroDivisionError):
            job.result()


def test_work_started_inside_a_worker_runs_inline(monkeypatch):
    # a worker waiting on work queued behind itself would wait forever
    monkeypatch.setenv("KILN_THREADS", "2")

    def nested():
        out = []
        _parallel.split_rows(lambda lo, hi: out.append((lo, hi)), 10, size=1 << 30)
        return out, _parallel.workers()
    assert _parallel.background(nested).result() == ([(0, 10)], 0)


def test_blas_scopes_of_two_threads_restore_the_count():
    if _blas._find_threads() is None:
        pytest.skip("numpy's BLAS has no thread-count symbols here")
    get = _blas._find_threads()[0]
    before = get()
    entered, release = threading.Event(), threading.Event()

    def other():
        with _blas.threads(1):
            entered.set()
            release.wait(10)
    t = threading.Thread(target=other)
    t.start()
    entered.wait(10)
    with _blas.threads(1):
        assert get() == 1
    assert get() == 1  # the other thread's scope is still open
    release.set()
    t.join()
    assert get() == before


@pytest.mark.parametrize("scale", [-1.0, 1.0, 0.5])
def test_loss_kernel_is_the_same_on_any_thread_count(monkeypatch, scale):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((7, 11, 7000)).astype(np.float32)  # above MIN_SPLIT elements
    assert x.size >= _parallel.MIN_SPLIT
    x[2, 3, 5] = np.nan
    label = rng.integers(-3, 7003, (7, 11)).astype(np.float32)
    head = rng.standard_normal((7, 11)).astype(np.float32)
    results = []
    for threads in ("1", "2"):
        monkeypatch.setenv("KILN_THREADS", threads)
        out = fused._lsp_kernel(np, x, label, scale=scale, hidden=True)
        grad = fused._lspb_kernel(np, head, *out[1:], scale=scale)
        results.append(out + (grad,))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
    ref = fused._lsp_ref(np.nan_to_num(x).astype(np.float64), label, scale=scale)
    ok = np.ones(ref.shape, bool)
    ok[2, 3] = False  # the row holding a NaN gives NaN
    assert np.isnan(results[0][0][2, 3])
    np.testing.assert_allclose(results[0][0][ok], ref[ok], rtol=2e-5, atol=2e-5)


class _LM(gluon.HybridBlock):
    def __init__(self):
        super().__init__()
        self.rnn = gluon.rnn.LSTM(6, 2, input_size=5)
        self.decoder = gluon.nn.Dense(9, flatten=False, in_units=6)

    def forward(self, x):
        return self.decoder(self.rnn(x))


def _lm_grads(hybrid, x, threads, monkeypatch):
    monkeypatch.setenv("KILN_THREADS", threads)
    net = _LM()
    net.initialize()
    for p in net.collect_params().values():
        p.set_data(nd.array(np.random.default_rng(p.shape[0]).uniform(-0.5, 0.5, p.shape)))
    if hybrid:
        net.hybridize()
    for _ in range(2):  # the second call runs the cached graphs
        with autograd.record():
            y = net(nd.array(x))
        y.backward(nd.array(np.cos(np.arange(y.size)).reshape(y.shape)))
    return net, [(k, p.grad().asnumpy()) for k, p in net.collect_params().items()]


@pytest.mark.parametrize("threads", ["1", "2"])
def test_weight_gradient_beside_the_rnn_backward_is_right(monkeypatch, threads):
    from kiln.symbol import memory_plan
    monkeypatch.setattr(memory_plan, "OVERLAP", True)   # off by default (see its comment)
    x = np.random.default_rng(0).standard_normal((4, 3, 5))
    _, eager = _lm_grads(False, x, threads, monkeypatch)
    net, hybrid = _lm_grads(True, x, threads, monkeypatch)
    sources = [c.source for c in _compiled(net)]
    assert any("_beside(" in s for s in sources), "the decoder's dW was not run beside"
    assert any("with _reserved():" in s for s in sources)  # the RNN backward: one block
    assert len(eager) == len(hybrid) == 10
    for (k, h), (_, e) in zip(hybrid, eager):
        np.testing.assert_allclose(h, e, rtol=1e-5, atol=1e-6, err_msg=k)


def _compiled(net):
    """The compiled backwards of ``net``'s last traced signature (plain and into .grad)."""
    entry = list(net._cached_op.entries.values())[-1]
    return [f for train in entry.train.values() for f in [train.backward, *train._into.values()]]


# ---- the fused RNN's batch blocks (ndarray/ops/_rnn_compute.batch_blocks) ----------------------
RNN_CASES = [dict(mode="lstm", L=2, D=1), dict(mode="lstm", L=1, D=2, P=3, clip=True),
             dict(mode="gru", L=2, D=2), dict(mode="rnn_tanh", L=1, D=1),
             dict(mode="rnn_relu", L=2, D=1)]


def _rnn_call(case, N, dtype, seq=True):
    from kiln.ndarray.ops.rnn import param_size
    rng = np.random.default_rng(N)
    T, C, H, L, D, P = 5, 4, 3, case["L"], case["D"], case.get("P")
    kw = dict(mode=case["mode"], state_size=H, num_layers=L, bidirectional=D == 2,
              state_outputs=True, use_sequence_length=seq)
    if P:
        kw["projection_size"] = P
    if case.get("clip"):
        kw["lstm_state_clip_min"], kw["lstm_state_clip_max"] = -0.3, 0.3
    R = P or H
    size = param_size(case["mode"], C, H, L, D, P or 0)
    ins = [rng.uniform(-1, 1, (T, N, C)), rng.uniform(-0.6, 0.6, size),
           rng.uniform(-1, 1, (L * D, N, R))]
    if case["mode"] == "lstm":
        ins.append(rng.uniform(-1, 1, (L * D, N, H)))
    if seq:
        ins.append(rng.integers(1, T + 1, N).astype(np.float64))
    xs = [nd.array(a, dtype=dtype) for a in ins]
    for x in xs[:4]:
        x.attach_grad()
    with autograd.record():
        res = nd.RNN(*xs, **kw)
    heads = [nd.array(np.sin(np.arange(r.size)).reshape(r.shape), dtype=dtype) for r in res]
    autograd.backward(list(res), heads)
    return [r.asnumpy() for r in res] + [x.grad.asnumpy() for x in xs[:len(ins) - seq]]


@pytest.mark.parametrize("case", RNN_CASES, ids=lambda c: "-".join(map(str, c.values())))
@pytest.mark.parametrize("N", [17, 33])   # two and four batch blocks
def test_rnn_batch_blocks_equal_one_block(monkeypatch, case, N):
    from kiln.ndarray.ops import _rnn_compute
    monkeypatch.setattr(_rnn_compute, "BLOCKS", True)   # off by default (see its comment)
    if _parallel.cores() < 2:
        pytest.skip("one core: the RNN runs one block")
    assert len(_rnn_compute.batch_blocks(np, N)) == N // 8
    with _parallel.reserved():    # a worker is busy beside the op: one block
        assert _rnn_compute.batch_blocks(np, N) == [(0, N)]
    blocked = _rnn_call(case, N, np.float64)
    monkeypatch.setattr(_rnn_compute, "BLOCK_ROWS", 1000)  # one block: the plain loops
    whole = _rnn_call(case, N, np.float64)
    for a, b in zip(blocked, whole):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", RNN_CASES[:3], ids=lambda c: "-".join(map(str, c.values())))
def test_rnn_is_the_same_on_any_thread_count(monkeypatch, case):
    from kiln.ndarray.ops import _rnn_compute
    monkeypatch.setattr(_rnn_compute, "BLOCKS", True)
    runs = []
    for threads in ("1", "2", "3"):
        monkeypatch.setenv("KILN_THREADS", threads)
        runs.append(_rnn_call(case, 26, np.float32))
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("threads", ["1", "2"])
def test_bias_added_in_row_blocks_equals_numpy(monkeypatch, threads):
    from kiln.ndarray.ops._xp import add_into
    monkeypatch.setenv("KILN_THREADS", threads)
    rng = np.random.default_rng(1)
    a = rng.standard_normal((97, 6000)).astype(np.float32)   # above MIN_SPLIT elements
    b = rng.standard_normal(6000).astype(np.float32)
    want = a + b
    assert add_into(a, b) is a
    np.testing.assert_array_equal(a, want)


def test_onnxruntime_kernels_keep_to_one_thread_while_reserved(monkeypatch):
    """Inside ``reserved()`` (a compiled backward whose weight gradients run on a worker)
    onnxruntime's kernel sessions run on one thread, a session of their own: a pool thread
    would wait for, then take, the worker's core. The numbers are the same."""
    from kiln.ndarray import _ort_kernels as ok
    if not ok.available():
        pytest.skip("onnxruntime kernels off")
    monkeypatch.setenv("KILN_THREADS", "2")
    monkeypatch.setattr(ok, "_SESSIONS", {})
    x = np.random.default_rng(0).standard_normal((2, 3, 8, 8)).astype(np.float32)
    outside = ok.maxpool(x, (3, 3), (2, 2), (1, 1), (1, 1))
    with _parallel.reserved():
        assert ok.session_threads() == 1
        inside = ok.maxpool(x, (3, 3), (2, 2), (1, 1), (1, 1))
    np.testing.assert_array_equal(inside, outside)
    threads = sorted(sess.get_session_options().intra_op_num_threads
                     for sess in ok._SESSIONS.values())
    assert threads == [1, 2] and sorted(k[1] for k in ok._SESSIONS) == [1, 2]
