"""The fused softmax cross-entropy of compiled graphs: ``-pick(log_softmax(x), label)`` becomes
one ``_log_softmax_pick`` (negation folded in as ``scale=-1``) whose hidden outputs feed its
gradient, so the compiled backward never recomputes the softmax. Hybridized == eager."""
import numpy as np
import pytest
from kiln import autograd, gluon, nd
from kiln.gluon.nn import HybridLambda
from kiln.ndarray.ops import fused


def _eager_and_hybrid(make_block, x, label, dtype=np.float64, head=None):
    """(loss, gradient) eagerly and hybridized (static_alloc), on ``dtype`` inputs."""
    results = []
    for hybrid in (False, True):
        block = make_block()
        if hybrid:
            block.hybridize(static_alloc=True)
        xs = nd.array(x, dtype=dtype)
        xs.attach_grad()
        for _ in range(2):  # the second call runs the cached graphs
            with autograd.record():
                loss = block(xs, nd.array(label))
            loss.backward(None if head is None else nd.array(head, dtype=dtype))
        results.append((block, loss.asnumpy(), xs.grad.asnumpy()))
    return results


def _assert_same(results, rtol=1e-6, atol=1e-7):
    (_, l0, g0), (_, l1, g1) = results
    assert l1.dtype == l0.dtype and l1.shape == l0.shape
    np.testing.assert_allclose(l1, l0, rtol=rtol, atol=atol)
    np.testing.assert_allclose(g1, g0, rtol=rtol, atol=atol)


def _rng():
    return np.random.default_rng(7)


@pytest.mark.parametrize("kwargs,shape,label_shape", [
    ({}, (6, 5), (6,)),
    ({"axis": 0, "batch_axis": 1}, (5, 6), (6,)),
    ({"axis": 1}, (3, 4, 5), (3, 5)),
    ({"axis": -1}, (2, 3, 4), (2, 3)),
    ({"weight": 0.5}, (6, 5), (6,)),
])
def test_hybridized_softmax_ce_equals_eager(kwargs, shape, label_shape):
    rng = _rng()
    x = rng.normal(size=shape) * 3
    n = shape[kwargs.get("axis", -1)]
    label = rng.integers(0, n, size=label_shape).astype(np.float32)
    res = _eager_and_hybrid(lambda: gluon.loss.SoftmaxCrossEntropyLoss(**kwargs), x, label,
                            head=rng.uniform(0.5, 1.5, size=shape[kwargs.get("batch_axis", 0)]))
    _assert_same(res)
    code = res[1][0].generated_code()
    assert "_log_softmax_pick" in code


def test_negation_and_mean_fold_into_the_fused_op():
    rng = _rng()
    x, label = rng.normal(size=(8, 10)), rng.integers(0, 10, size=8).astype(np.float32)
    res = _eager_and_hybrid(gluon.loss.SoftmaxCrossEntropyLoss, x, label)
    _assert_same(res)
    block = res[1][0]
    entry = block._last_entry()
    train = list(entry.train.values())[0]
    fwd, bwd = train.forward.source, train.backward.source
    assert "negative" not in fwd and "negative" not in bwd
    # forward: one kernel line returning the loss and the three hidden outputs
    assert sum(" = k" in line for line in fwd.splitlines()) == 1
    assert train.saved_count == 3
    # backward: only the gradient op, from the saved outputs (no softmax recomputed)
    calls = [line for line in bwd.splitlines() if " = k" in line]
    assert len(calls) == 1 and "_log_softmax_pick_backward" in calls[0]
    assert "_log_softmax_pick" in entry.print_graph()
    assert "'scale': -1.0" in entry.print_graph()


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("mode", ["clip", "wrap"])
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_pick_of_log_softmax_hybridized_equals_eager(keepdims, mode, axis):
    rng = _rng()
    x = rng.normal(size=(3, 4, 5)) * 2
    lshape = tuple(d for k, d in enumerate(x.shape) if k != axis % 3)
    label = rng.integers(-3, 9, size=lshape).astype(np.float32)  # out of range: clip / wrap

    def make():
        return HybridLambda(lambda F, p, y: -F.pick(F.log_softmax(p, axis=axis), y, axis=axis,
                                                    keepdims=keepdims, mode=mode))
    res = _eager_and_hybrid(make, x, label, head=rng.uniform(0.5, 1.5, size=(
        lshape[:axis % 3] + (1,) + lshape[axis % 3:] if keepdims else lshape)))
    _assert_same(res)
    assert "_log_softmax_pick" in res[1][0].generated_code()


def test_unnegated_and_reused_results_are_not_folded():
    rng = _rng()
    x, label = rng.normal(size=(4, 6)), np.array([0.0, 5.0, 2.0, 3.0], np.float32)

    def make():  # the picked value is read twice: the negation must stay a separate op
        return HybridLambda(lambda F, p, y: (lambda v: v * 2 - v * v)(
            F.pick(F.log_softmax(p), y)))
    res = _eager_and_hybrid(make, x, label)
    _assert_same(res)
    assert "'scale': 1.0" in res[1][0].print_graph()


@pytest.mark.parametrize("dtype", [np.float16, np.float32])
def test_low_precision_losses_match_eager(dtype):
    rng = _rng()
    x, label = rng.normal(size=(6, 5)), rng.integers(0, 5, size=6).astype(np.float32)
    res = _eager_and_hybrid(gluon.loss.SoftmaxCrossEntropyLoss, x, label, dtype=dtype)
    tol = 2e-3 if dtype == np.float16 else 1e-5
    _assert_same(res, rtol=tol, atol=tol)
    assert res[1][1].dtype == dtype and res[1][2].dtype == dtype


def test_dense_labels_are_not_fused():
    rng = _rng()
    x = rng.normal(size=(4, 3))
    label = np.eye(3)[[0, 2, 1, 1]].astype(np.float32)
    res = _eager_and_hybrid(lambda: gluon.loss.SoftmaxCrossEntropyLoss(sparse_label=False),
                            x, label)
    _assert_same(res)
    assert "_log_softmax_pick" not in res[1][0].generated_code()


def test_export_keeps_standard_ops(tmp_path):
    rng = _rng()
    lf = gluon.loss.SoftmaxCrossEntropyLoss()
    lf.hybridize()
    x, label = nd.array(rng.normal(size=(4, 3))), nd.array([0, 2, 1, 1])
    x.attach_grad()
    with autograd.record():
        lf(x, label).backward()
    assert "_log_softmax_pick" in lf.generated_code()
    lf.export(str(tmp_path / "loss"))
    sym_file = str(tmp_path / "loss-symbol.json")
    with open(sym_file) as f:
        text = f.read()
    assert "_log_softmax_pick" not in text and "pick" in text and "log_softmax" in text


def test_hidden_outputs_eagerly():
    rng = _rng()
    x = rng.normal(size=(3, 4))
    label = np.array([1.0, 7.0, -2.0])
    loss, e, s, pos = nd._log_softmax_pick(nd.array(x), nd.array(label), hidden=True,
                                           scale=-1.0)
    np.testing.assert_array_equal(pos.asnumpy(), [1, 4 + 3, 8 + 0])  # clipped, flat
    np.testing.assert_allclose(e.asnumpy() / s.asnumpy(), np.exp(x) / np.exp(x).sum(
        1, keepdims=True), rtol=1e-6)
    picked = (x - np.log(np.exp(x).sum(1)[:, None]))[np.arange(3), [1, 3, 0]]
    np.testing.assert_allclose(loss.asnumpy(), -picked, rtol=1e-6)
    plain = nd._log_softmax_pick(nd.array(x), nd.array(label), scale=-1.0)
    np.testing.assert_array_equal(plain.asnumpy(), loss.asnumpy())


def test_several_picks_per_lane_scatter_repeated_labels():
    # an index keeping the axis with several picks (internal use of pick): repeated labels add
    rng = _rng()
    x = rng.normal(size=(2, 4))
    index = np.array([[1.0, 1.0, 3.0], [0.0, 2.0, 2.0]])
    xs = nd.array(x, dtype=np.float64)
    xs.attach_grad()
    with autograd.record():
        out = nd._log_softmax_pick(xs, nd.array(index), scale=-2.0)
    out.backward(nd.array(np.arange(6.0).reshape(2, 3), dtype=np.float64))
    logp = x - np.log(np.exp(x).sum(1, keepdims=True))
    idx = index.astype(int)
    np.testing.assert_allclose(out.asnumpy(), -2 * np.take_along_axis(logp, idx, 1),
                               rtol=1e-12)
    g = np.arange(6.0).reshape(2, 3)
    want = 2 * g.sum(1, keepdims=True) * np.exp(logp)
    for r in range(2):
        for c in range(3):
            want[r, idx[r, c]] -= 2 * g[r, c]
    np.testing.assert_allclose(xs.grad.asnumpy(), want, rtol=1e-12)


def test_non_contiguous_data_and_labels():
    rng = _rng()
    x = np.asfortranarray(rng.normal(size=(5, 4)))
    label = np.asfortranarray(rng.integers(0, 4, size=(5, 2)).astype(np.float64))[:, 0]
    got = fused._lsp_kernel(np, x, label, scale=-1.0)
    logp = x - np.log(np.exp(x).sum(1, keepdims=True))
    np.testing.assert_allclose(got, -logp[np.arange(5), label.astype(int)], rtol=1e-12)


class _NetWithLoss(gluon.HybridBlock):
    """A network and its loss in one hybridized block: the fused loss's input is computed
    inside the same graph (its hidden outputs are saved, the loss value is not)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.net = gluon.nn.Dense(5, in_units=4)
        self.loss = gluon.loss.SoftmaxCrossEntropyLoss()

    def forward(self, x, label):
        return self.loss(self.net(x), label)


@pytest.mark.parametrize("x_needs_grad", [False, True])
def test_loss_inside_the_hybridized_network(x_needs_grad):
    x = _rng().normal(size=(6, 4))
    label = np.array([0, 4, 2, 1, 3, 0], np.float32)
    results = []
    for hybrid in (False, True):
        block = _NetWithLoss()
        block.initialize()
        block.net.weight.set_data(nd.array(np.arange(20).reshape(5, 4) / 20.0))
        if hybrid:
            block.hybridize(static_alloc=True)
        xs = nd.array(x)
        if x_needs_grad:
            xs.attach_grad()
        for _ in range(2):
            with autograd.record():
                loss = block(xs, nd.array(label))
            loss.backward()
        grads = [block.net.weight.grad().asnumpy(), block.net.bias.grad().asnumpy()]
        if x_needs_grad:
            grads.append(xs.grad.asnumpy())
        results.append((loss.asnumpy(), grads))
    (l0, g0), (l1, g1) = results
    np.testing.assert_allclose(l1, l0, rtol=1e-6, atol=1e-7)
    for a, b in zip(g1, g0):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def _lsp_both(monkeypatch, x, label, scale=-1.0):
    """The fused loss and its gradient (head 0.05 per row) through onnxruntime's softmax and
    through the numpy kernel, on the same inputs."""
    res = []
    for use_ort in (True, False):
        with monkeypatch.context() as m:
            if not use_ort:
                m.setattr(fused, "softmax_rows", lambda x, out: False)
            out, e, s, pos = fused._lsp_kernel(np, x, label, scale=scale, hidden=True)
            g = fused._lspb_kernel(np, np.full(out.shape, 0.05, x.dtype), e, s, pos,
                                   scale=scale)
        res.append((out, g, s))
    return res


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_rows_through_onnxruntime_softmax_equal_numpy(monkeypatch, dtype):
    from kiln.ndarray import _ort_kernels
    if not _ort_kernels.available():
        pytest.skip("onnxruntime kernels off")
    rng = _rng()
    x = (rng.normal(size=(70, 10000)) * 4).astype(dtype)  # above MIN_SPLIT: the split kernel
    label = rng.integers(0, 10000, size=70).astype(np.float32)
    x[3, int(label[3])] -= 300.0   # the label's probability underflows: recomputed exactly
    x[5] = -1e4
    x[5, 17] = 50.0
    label[5] = 17                  # a certain row: loss 0
    (l0, g0, s0), (l1, g1, s1) = _lsp_both(monkeypatch, x, label)
    assert np.all(s0 == 1) and not np.all(s1 == 1)  # the onnxruntime path really ran
    assert l0.dtype == l1.dtype == dtype and np.isfinite(l0).all()
    assert l0[3] > 250
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(l0, l1, rtol=tol, atol=tol)
    np.testing.assert_allclose(g0, g1, rtol=tol, atol=tol * 1e-3)
    x64 = x.astype(np.float64)
    m = x64.max(axis=1)
    ref = m + np.log(np.exp(x64 - m[:, None]).sum(axis=1)) - x64[np.arange(70), label.astype(int)]
    np.testing.assert_allclose(l0, ref, rtol=tol, atol=tol)


def test_large_rows_unscaled_and_in_a_hybridized_loss(monkeypatch):
    rng = _rng()
    x = rng.normal(size=(3, 20, 10000)).astype(np.float32)
    label = rng.integers(0, 10000, size=(3, 20)).astype(np.float32)
    (l0, g0, _), (l1, g1, _) = _lsp_both(monkeypatch, x.reshape(60, 10000),
                                         label.reshape(60), scale=0.5)
    np.testing.assert_allclose(l0, l1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g0, g1, rtol=1e-5, atol=1e-9)
    res = _eager_and_hybrid(lambda: gluon.loss.SoftmaxCrossEntropyLoss(), x, label,
                            dtype=np.float32)
    _assert_same(res, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_softmax_through_onnxruntime_equals_numpy(monkeypatch, dtype):
    """nd.softmax over the last axis of a large array (attention scores) takes onnxruntime's
    kernel; values and gradients equal numpy's, eager and hybridized; other axes, small
    arrays and non-contiguous inputs keep numpy's passes."""
    import importlib

    from kiln.ndarray import _ort_kernels
    activation = importlib.import_module("kiln.ndarray.ops.activation")   # not the op
    if not _ort_kernels.available():
        pytest.skip("onnxruntime kernels off")
    rng = _rng()
    x = (rng.normal(size=(16, 64, 64)) * 3).astype(dtype)
    x[0, 0] = -1e4
    x[0, 0, 5] = 30.0
    head = rng.normal(size=x.shape).astype(dtype)
    calls = []
    real = activation.softmax_rows

    def counted(a, out):
        calls.append(a.shape)
        return real(a, out)
    monkeypatch.setattr(activation, "softmax_rows", counted)

    def run(hybrid):
        net = nd_softmax_net() if hybrid else None
        xs = nd.array(x, dtype=dtype)
        xs.attach_grad()
        with autograd.record():
            y = net(xs) if hybrid else nd.softmax(xs)
        y.backward(nd.array(head, dtype=dtype))
        return y.asnumpy(), xs.grad.asnumpy()
    fast = [run(False), run(True)]
    assert calls and all(c == (16 * 64, 64) for c in calls)
    monkeypatch.setattr(activation, "ORT_MIN_SIZE", 1 << 40)
    slow = run(False)
    tol = 1e-6 if dtype == np.float32 else 1e-13
    for y, g in fast:
        np.testing.assert_allclose(y, slow[0], rtol=tol, atol=tol)
        np.testing.assert_allclose(g, slow[1], rtol=1e-5 if dtype == np.float32 else 1e-12,
                                   atol=tol)
    calls.clear()
    monkeypatch.setattr(activation, "ORT_MIN_SIZE", 1 << 15)
    nd.softmax(nd.array(x), axis=1).wait_to_read()
    nd.softmax(nd.array(x[:, :, :32])).wait_to_read()   # 32768 elements: the smallest taken
    nd.softmax(nd.array(x[:2])).wait_to_read()          # below the size: numpy
    assert calls == [(16 * 64, 32)]


def nd_softmax_net():
    class Soft(gluon.HybridBlock):
        def hybrid_forward(self, F, x):
            return F.softmax(x)
    net = Soft()
    net.hybridize()
    return net


@pytest.mark.parametrize("shape", [(8, 10), (64, 20000)])  # the second: onnxruntime's softmax
def test_eager_softmax_ce_is_the_fused_op_and_equals_hybridized_bitwise(shape):
    rng = _rng()
    x = rng.normal(size=shape) * 3
    label = rng.integers(0, shape[1], size=shape[0]).astype(np.float32)
    head = rng.uniform(0.5, 1.5, size=shape[0])
    res = _eager_and_hybrid(gluon.loss.SoftmaxCrossEntropyLoss, x, label, dtype=np.float32,
                            head=head)
    (_, l0, g0), (_, l1, g1) = res
    np.testing.assert_array_equal(l0, l1)
    np.testing.assert_array_equal(g0, g1)
    xs = nd.array(x, dtype=np.float32)
    xs.attach_grad()
    with autograd.record():
        loss = gluon.loss.SoftmaxCrossEntropyLoss()(xs, nd.array(label))
    # the eager tape: one fused node (its hidden outputs kept for the gradient), not
    # pick/log_softmax and a mean over the kept axis
    assert loss._node.op.name == "_log_softmax_pick" and loss.shape == (shape[0],)
    logp = x - np.log(np.exp(x - x.max(1, keepdims=True)).sum(1, keepdims=True)) - \
        x.max(1, keepdims=True)
    np.testing.assert_allclose(l0, -logp[np.arange(shape[0]), label.astype(int)], rtol=1e-5)


def test_second_order_through_the_eager_softmax_ce():
    """``create_graph``: the fused op's gradient is written with log_softmax and pick, whose
    own gradients exist; the result equals the unfused chain's."""
    rng = _rng()
    x_np = rng.normal(size=(5, 7))
    label = nd.array(rng.integers(0, 7, size=5).astype(np.float64))
    results = []
    for fused_loss in (True, False):
        x = nd.array(x_np, dtype=np.float64)
        x.attach_grad()
        with autograd.record():
            if fused_loss:
                loss = gluon.loss.SoftmaxCrossEntropyLoss()(x, label)
            else:
                loss = nd.mean(-nd.pick(nd.log_softmax(x), label, keepdims=True), axis=0,
                               exclude=True)
            (gx,) = autograd.grad(loss, [x], create_graph=True)
            z = (gx * gx * nd.arange(7, dtype=np.float64)).sum()
        z.backward()
        results.append((gx.asnumpy(), x.grad.asnumpy()))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-10, atol=1e-14)
    assert np.abs(results[0][1]).max() > 1e-3  # a real second-order term


def test_gradient_overwrites_the_saved_exp_only_while_donated():
    """``donating`` lets the loss gradient reuse the saved ``exp`` inside its scope only, and
    restores the enclosing scope on exit (nested scopes, errors)."""
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    label = np.array([0.0, 2.0, 1.0, 1.0], np.float32)
    _, e, s, pos = fused._lsp_kernel(np, x, label, scale=-1.0, hidden=True)
    head = np.ones(4, np.float32)
    kept = e.copy()
    outside = fused._lspb_kernel(np, head, e, s, pos, scale=-1.0)
    assert outside is not e and np.array_equal(e, kept)
    with fused.donating([e]):
        with fused.donating([]):
            assert fused._lspb_kernel(np, head, e, s, pos, scale=-1.0) is not e
        inside = fused._lspb_kernel(np, head, e, s, pos, scale=-1.0)
    assert inside is e and np.allclose(inside, outside)
    with pytest.raises(RuntimeError, match="inside"), fused.donating([e]):
        raise RuntimeError("inside the scope")
    assert fused._lspb_kernel(np, head, e, s, pos, scale=-1.0) is not e
