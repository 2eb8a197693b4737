"""Gluon losses against numpy references (values, shapes, weights), autograd gradients against
finite differences, hybridized against eager, and CTC against brute-force path enumeration."""
import itertools
import math

import kiln
import numpy as np
import pytest
from kiln import autograd, gluon, nd
from kiln.gluon import loss as gloss

RNG = np.random.default_rng(0)


def arr(a, dtype=np.float32):
    return nd.array(np.asarray(a), dtype=dtype)


def close(got, want, rtol=1e-5, atol=1e-6):
    got = got.asnumpy() if hasattr(got, "asnumpy") else np.asarray(got)
    want = np.asarray(want)
    assert got.shape == want.shape, f"shape {got.shape} != {want.shape}"
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def batch_mean(x, batch_axis=0):
    axes = tuple(a for a in range(x.ndim) if a != batch_axis % x.ndim)
    return x.mean(axis=axes) if axes else x


def batch_sum(x, batch_axis=0):
    axes = tuple(a for a in range(x.ndim) if a != batch_axis % x.ndim)
    return x.sum(axis=axes) if axes else x


def log_softmax(x, axis=-1):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


P = RNG.standard_normal((4, 3)).astype(np.float32)
Y = RNG.standard_normal((4, 3)).astype(np.float32)
SW = RNG.uniform(0.5, 1.5, (4, 1)).astype(np.float32)


# ---- namespaces and the base class ----------------------------------------------------------
def test_namespaces():
    assert kiln.loss.L2Loss is gluon.loss.L2Loss is kiln.nn.loss.L2Loss
    assert gloss.SigmoidBCELoss is gloss.SigmoidBinaryCrossEntropyLoss
    assert gloss.SoftmaxCELoss is gloss.SoftmaxCrossEntropyLoss
    for name in gloss.__all__:
        assert issubclass(getattr(gloss, name), gluon.HybridBlock)


def test_repr_and_attributes():
    l2 = gloss.L2Loss()
    assert repr(l2) == "L2Loss(batch_axis=0, w=1.0)"
    assert repr(gloss.L1Loss(batch_axis=1)) == "L1Loss(batch_axis=1, w=None)"
    assert gloss.CTCLoss(label_layout="TN")._batch_axis == 1


def test_apply_weighting_helper():
    loss = arr([[1.0, 2.0], [3.0, 4.0]])
    out = gloss._apply_weighting(nd, loss, 2.0, arr([[1.0], [0.5]]))
    close(out, [[2.0, 4.0], [3.0, 4.0]])
    with pytest.raises(TypeError):
        gloss._apply_weighting(nd, loss, arr([1.0]))


def test_invalid_arguments():
    with pytest.raises(ValueError):
        gloss.LogisticLoss(label_format="other")
    with pytest.raises(AssertionError):
        gloss.CTCLoss(layout="NCT")
    with pytest.raises(AssertionError):
        gloss.CTCLoss(label_layout="TT")


# ---- regression losses ----------------------------------------------------------------------
@pytest.mark.parametrize("weight", [1.0, 3.0])
def test_l2(weight):
    d = (P - Y) ** 2
    close(gloss.L2Loss(weight=weight)(arr(P), arr(Y)), batch_mean(weight / 2 * d))
    close(gloss.L2Loss(weight=weight)(arr(P), arr(Y), arr(SW)),
          batch_mean(weight / 2 * d * SW))


def test_l2_label_reshaped_and_batch_axis():
    close(gloss.L2Loss()(arr(P), arr(Y.reshape(12))), batch_mean(0.5 * (P - Y) ** 2))
    close(gloss.L2Loss(batch_axis=1)(arr(P), arr(Y)), batch_mean(0.5 * (P - Y) ** 2, 1))
    x = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    y = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    close(gloss.L2Loss()(arr(x), arr(y)), 0.5 * ((x - y) ** 2).mean(axis=(1, 2)))


def test_l1():
    close(gloss.L1Loss()(arr(P), arr(Y)), batch_mean(np.abs(P - Y)))
    close(gloss.L1Loss(weight=2.0)(arr(P), arr(Y), arr(SW)), batch_mean(2 * np.abs(P - Y) * SW))


@pytest.mark.parametrize("rho", [1, 0.5])
def test_huber(rho):
    d = np.abs(P - Y)
    want = np.where(d > rho, d - 0.5 * rho, 0.5 / rho * d ** 2)
    close(gloss.HuberLoss(rho=rho)(arr(P), arr(Y)), batch_mean(want))
    close(gloss.HuberLoss(rho=rho, weight=0.5)(arr(P), arr(Y), arr(SW)),
          batch_mean(0.5 * want * SW))


# ---- margin losses --------------------------------------------------------------------------
SIGNS = np.sign(Y)


@pytest.mark.parametrize("margin", [1, 0.3])
def test_hinge_and_squared_hinge(margin):
    h = np.maximum(0, margin - P * SIGNS)
    close(gloss.HingeLoss(margin=margin)(arr(P), arr(SIGNS)), batch_mean(h))
    close(gloss.SquaredHingeLoss(margin=margin)(arr(P), arr(SIGNS)), batch_mean(h ** 2))
    close(gloss.HingeLoss(margin=margin, weight=2.)(arr(P), arr(SIGNS), arr(SW)),
          batch_mean(2 * h * SW))


def test_triplet():
    pos = RNG.standard_normal((4, 3)).astype(np.float32)
    neg = RNG.standard_normal((4, 3)).astype(np.float32)
    raw = ((pos - P) ** 2).sum(1) - ((neg - P) ** 2).sum(1)
    for margin in (1, 3.0):
        close(gloss.TripletLoss(margin=margin)(arr(P), arr(pos), arr(neg)),
              np.maximum(raw + margin, 0), rtol=1e-5, atol=1e-5)
    sw = np.array([1.0, 2.0, 0.5, 0.0], np.float32)
    close(gloss.TripletLoss(weight=2.)(arr(P), arr(pos), arr(neg), arr(sw)),
          2 * np.maximum(raw + 1, 0) * sw, atol=1e-5)


# ---- classification losses ------------------------------------------------------------------
Z = (RNG.uniform(size=(4, 3)) > 0.5).astype(np.float32)


def test_sigmoid_bce_from_logits():
    want = -(Z * np.log(sigmoid(P)) + (1 - Z) * np.log(1 - sigmoid(P)))
    close(gloss.SigmoidBinaryCrossEntropyLoss()(arr(P), arr(Z)), batch_mean(want))
    close(gloss.SigmoidBCELoss(weight=2.)(arr(P), arr(Z), arr(SW)), batch_mean(2 * want * SW))


def test_sigmoid_bce_extreme_logits_are_finite():
    x = np.array([[-100.0, 100.0, 0.0]], np.float32)
    z = np.array([[1.0, 0.0, 1.0]], np.float32)
    close(gloss.SigmoidBCELoss()(arr(x), arr(z)), [(100 + 100 + math.log(2)) / 3], rtol=1e-5)


def test_sigmoid_bce_pos_weight():
    pw = np.array([[0.5, 2.0, 3.0]], np.float32)
    want = -(pw * Z * np.log(sigmoid(P)) + (1 - Z) * np.log(1 - sigmoid(P)))
    close(gloss.SigmoidBCELoss()(arr(P), arr(Z), None, arr(pw)), batch_mean(want))
    close(gloss.SigmoidBCELoss()(arr(P), arr(Z), pos_weight=arr(pw)), batch_mean(want))
    prob = sigmoid(P)
    eps = 1e-12
    want = -(pw * Z * np.log(prob + eps) + (1 - Z) * np.log(1 - prob + eps))
    close(gloss.SigmoidBCELoss(from_sigmoid=True)(arr(prob), arr(Z), arr(SW), arr(pw)),
          batch_mean(want * SW), rtol=1e-4)


def test_sigmoid_bce_from_sigmoid():
    prob = sigmoid(P)
    want = -(Z * np.log(prob + 1e-12) + (1 - Z) * np.log(1 - prob + 1e-12))
    close(gloss.SigmoidBCELoss(from_sigmoid=True)(arr(prob), arr(Z)), batch_mean(want),
          rtol=1e-4)


@pytest.mark.parametrize("fmt", ["signed", "binary"])
def test_logistic(fmt):
    lab = SIGNS if fmt == "signed" else (SIGNS + 1) / 2
    want = np.log1p(np.exp(-P * SIGNS))
    close(gloss.LogisticLoss(label_format=fmt)(arr(P), arr(lab)), batch_mean(want))
    close(gloss.LogisticLoss(weight=3., label_format=fmt)(arr(P), arr(lab), arr(SW)),
          batch_mean(3 * want * SW))


def test_softmax_ce_sparse():
    lab = np.array([0, 2, 1, 2], np.float32)
    want = -log_softmax(P)[np.arange(4), lab.astype(int)]
    close(gloss.SoftmaxCrossEntropyLoss()(arr(P), arr(lab)), want)
    close(gloss.SoftmaxCELoss()(arr(P), arr(lab.reshape(4, 1))), want)
    close(gloss.SoftmaxCELoss(weight=2.)(arr(P), arr(lab), arr(SW)), 2 * want * SW[:, 0])
    close(gloss.SoftmaxCELoss(from_logits=True)(arr(log_softmax(P)), arr(lab)), want)


def test_softmax_ce_dense_and_axis():
    q = np.exp(log_softmax(Y))
    want = -(log_softmax(P) * q).sum(1)
    close(gloss.SoftmaxCELoss(sparse_label=False)(arr(P), arr(q)), want)
    x = RNG.standard_normal((2, 4, 3)).astype(np.float32)   # classes on axis 1
    lab = np.array([[0, 3, 1], [2, 2, 0]], np.float32)
    lsm = log_softmax(x, axis=1)
    picked = np.take_along_axis(lsm, lab.astype(int)[:, None, :], axis=1)[:, 0]
    close(gloss.SoftmaxCELoss(axis=1)(arr(x), arr(lab)), -picked.mean(1))


def test_kl_div_sums_over_non_batch_axes():
    q = np.exp(log_softmax(Y))
    lp = log_softmax(P)
    want = (q * (np.log(q + 1e-12) - lp)).sum(1)
    close(gloss.KLDivLoss()(arr(lp), arr(q)), want)
    close(gloss.KLDivLoss(from_logits=False)(arr(P), arr(q)), want)
    close(gloss.KLDivLoss(weight=2.)(arr(lp), arr(q), arr(SW)), 2 * want * SW[:, 0])
    # one-hot target: equals the dense softmax cross-entropy summed over classes
    onehot = np.eye(3, dtype=np.float32)[[0, 2, 1, 1]]
    close(gloss.KLDivLoss(from_logits=False)(arr(P), arr(onehot)),
          gloss.SoftmaxCELoss()(arr(P), arr([0, 2, 1, 1])).asnumpy(), rtol=1e-5)


def test_kl_div_matches_mxnet_issue_18506_numbers():
    # MXNet's own numbers: SoftmaxCE gives 1.4076059; 1.9's KLDivLoss (summing) agrees
    o = arr([[1.0, 2.0, 3.0]])
    close(gloss.SoftmaxCrossEntropyLoss()(o, arr([1.0])), [1.4076059], rtol=1e-6)
    close(gloss.KLDivLoss(from_logits=False)(o, arr([[0.0, 1.0, 0.0]])), [1.4076059],
          rtol=1e-6)


@pytest.mark.parametrize("from_logits", [True, False])
def test_poisson_nll(from_logits):
    pred = RNG.uniform(0.2, 2.0, (4, 3)).astype(np.float32)
    target = RNG.integers(0, 5, (4, 3)).astype(np.float32)
    if from_logits:
        want = np.exp(pred) - target * pred
    else:
        want = pred - target * np.log(pred + 1e-8)
    out = gloss.PoissonNLLLoss(from_logits=from_logits)(arr(pred), arr(target))
    close(out, [want.mean()])
    out = gloss.PoissonNLLLoss(weight=2., from_logits=from_logits)(arr(pred), arr(target),
                                                                   arr(SW))
    close(out, [(2 * want * SW).mean()])


def test_poisson_nll_compute_full_target_zero_is_finite():
    pred = np.array([[0.5, 1.0, 2.0, 0.1]], np.float32)
    target = np.array([[0.0, 1.0, 3.0, 7.0]], np.float32)
    base = np.exp(pred) - target * pred
    t = np.maximum(target, 1)
    stirling = (t * np.log(t) - t + 0.5 * np.log(2 * np.pi * t)) * (target > 1)
    out = gloss.PoissonNLLLoss(compute_full=True)(arr(pred), arr(target))
    assert np.isfinite(out.asnumpy()).all()
    close(out, [(base + stirling).mean()], rtol=1e-5)


def test_cosine_embedding():
    a = RNG.standard_normal((4, 3)).astype(np.float32)
    b = RNG.standard_normal((4, 3)).astype(np.float32)
    lab = np.array([1, -1, 1, -1], np.float32)
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    for margin in (0, 0.2):
        want = np.where(lab == 1, 1 - cos, np.maximum(0, cos - margin))[:, None]
        close(gloss.CosineEmbeddingLoss(margin=margin)(arr(a), arr(b), arr(lab)), want)
    want = np.where(lab == 1, 1 - cos, np.maximum(0, cos))[:, None]
    close(gloss.CosineEmbeddingLoss(weight=2.)(arr(a), arr(b), arr(lab), arr(SW)),
          2 * want * SW)


def test_sdml():
    x1 = RNG.standard_normal((4, 3)).astype(np.float32)
    x2 = RNG.standard_normal((4, 3)).astype(np.float32)
    s = 0.3
    dist = ((x1[:, None] - x2[None]) ** 2).sum(2)
    lp = log_softmax(-dist, axis=1)
    lab = np.eye(4) * (1 - s) + (1 - np.eye(4)) * s / 3
    want = (lab * (np.log(lab + 1e-12) - lp)).sum(1)
    close(gloss.SDMLLoss(smoothing_parameter=s)(arr(x1), arr(x2)), want, rtol=1e-5)


# ---- hybridize, dtypes and Gluon 1.x subclasses ---------------------------------------------
CASES = [
    (lambda: gloss.L2Loss(), (P, Y)),
    (lambda: gloss.L1Loss(weight=2.), (P, Y, SW)),
    (lambda: gloss.HuberLoss(rho=0.5), (P, Y)),
    (lambda: gloss.SigmoidBCELoss(), (P, Z, SW)),
    (lambda: gloss.SoftmaxCELoss(), (P, np.array([0, 2, 1, 2], np.float32))),
    (lambda: gloss.SoftmaxCELoss(sparse_label=False), (P, np.exp(log_softmax(Y)))),
    (lambda: gloss.KLDivLoss(from_logits=False), (P, np.exp(log_softmax(Y)))),
    (lambda: gloss.HingeLoss(), (P, SIGNS)),
    (lambda: gloss.SquaredHingeLoss(), (P, SIGNS)),
    (lambda: gloss.LogisticLoss(), (P, SIGNS)),
    (lambda: gloss.TripletLoss(), (P, Y, Z)),
    (lambda: gloss.PoissonNLLLoss(compute_full=True), (P, np.abs(Y) * 3)),
    (lambda: gloss.CosineEmbeddingLoss(), (P, Y, np.array([1, -1, 1, -1], np.float32))),
    (lambda: gloss.SDMLLoss(), (P, Y)),
]


@pytest.mark.parametrize("make,inputs", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_hybridized_matches_eager(make, inputs):
    results = []
    for hybrid in (False, True):
        loss = make()
        if hybrid:
            loss.hybridize()
        xs = [arr(a, np.float64) for a in inputs]
        xs[0].attach_grad()
        with autograd.record():
            out = loss(*xs)
        out.backward()
        results.append((out.asnumpy(), xs[0].grad.asnumpy()))
    (eo, eg), (ho, hg) = results
    np.testing.assert_allclose(ho, eo, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(hg, eg, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("make,inputs", CASES[:6], ids=lambda c: getattr(c, "__name__", ""))
def test_dtype_follows_input(make, inputs):
    for dt in (np.float32, np.float64):
        out = make()(*[arr(a, dt) for a in inputs])
        assert out.dtype == dt


def test_gluon1_subclass_super_hybrid_forward():
    class Doubled(gloss.L1Loss):
        def hybrid_forward(self, F, pred, label, sample_weight=None):
            return 2 * super().hybrid_forward(F, pred, label, sample_weight)

    class Custom(gloss.Loss):
        def __init__(self, **kw):
            super().__init__(weight=None, batch_axis=0, **kw)

        def hybrid_forward(self, F, pred, label):
            return F.mean(F.abs(pred - label), axis=self._batch_axis, exclude=True)

    want = batch_mean(np.abs(P - Y))
    close(Doubled()(arr(P), arr(Y)), 2 * want)
    close(Custom()(arr(P), arr(Y)), want)
    net = Doubled()
    net.hybridize()
    close(net(arr(P), arr(Y)), 2 * want)


# ---- gradients against finite differences ---------------------------------------------------
def numeric_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        orig = x[idx]
        x[idx] = orig + eps
        fp = f(x)
        x[idx] = orig - eps
        fm = f(x)
        x[idx] = orig
        g[idx] = (fp - fm) / (2 * eps)
    return g


def check_loss_grad(loss, pred, *rest, rtol=1e-5, atol=1e-7):
    pred = np.asarray(pred, np.float64).copy()
    rest_nd = [None if r is None else arr(r, np.float64) for r in rest]
    head = RNG.uniform(0.5, 1.5, size=loss(arr(pred, np.float64), *rest_nd).shape)
    x = arr(pred, np.float64)
    x.attach_grad()
    with autograd.record():
        out = loss(x, *rest_nd)
    out.backward(arr(head, np.float64))

    def f(p):
        return float((loss(arr(p, np.float64), *rest_nd).asnumpy() * head).sum())

    np.testing.assert_allclose(x.grad.asnumpy(), numeric_grad(f, pred), rtol=rtol, atol=atol)


@pytest.mark.parametrize("make,rest", [
    (lambda: gloss.L2Loss(weight=3.), (Y, SW)),
    (lambda: gloss.SigmoidBCELoss(), (Z, None, np.array([[0.5, 2.0, 3.0]]))),
    (lambda: gloss.SoftmaxCELoss(), (np.array([0, 2, 1, 2.]), SW)),
    (lambda: gloss.SoftmaxCELoss(sparse_label=False), (np.exp(log_softmax(Y)),)),
    (lambda: gloss.KLDivLoss(from_logits=False, axis=0), (np.exp(log_softmax(Y, axis=0)),)),
    (lambda: gloss.LogisticLoss(), (SIGNS,)),
    (lambda: gloss.PoissonNLLLoss(from_logits=False), (np.abs(Y) * 3,)),
    (lambda: gloss.CosineEmbeddingLoss(margin=-0.5), (Y, np.array([1, -1, 1, -1.]))),
])
def test_gradients(make, rest):
    pred = np.abs(P) + 0.1 if "Poisson" in repr(make()) else P
    check_loss_grad(make(), pred, *rest)


# ---- CTC ------------------------------------------------------------------------------------
def ctc_bruteforce(scores_ntc, labels, pred_lengths=None):
    """-log of the summed probability of every path collapsing onto each label (blank last)."""
    n, t, c = scores_ntc.shape
    out = []
    for i in range(n):
        prob = np.exp(log_softmax(scores_ntc[i].astype(np.float64)))
        ti = t if pred_lengths is None else int(pred_lengths[i])
        target = [int(v) for v in labels[i] if v >= 0]
        total = 0.0
        for path in itertools.product(range(c), repeat=ti):
            merged = [k for j, k in enumerate(path) if j == 0 or k != path[j - 1]]
            if [k for k in merged if k != c - 1] == target:
                total += np.prod(prob[np.arange(ti), list(path)])
        out.append(-np.log(total))
    return np.array(out)


SCORES = RNG.standard_normal((3, 5, 4))
LABELS = np.array([[0, 1, -1], [2, 2, -1], [1, 0, 2]], np.float64)


def test_ctc_matches_bruteforce():
    want = ctc_bruteforce(SCORES, LABELS)
    close(gloss.CTCLoss()(arr(SCORES), arr(LABELS)), want, rtol=1e-5)
    close(gloss.CTCLoss(layout="TNC")(arr(SCORES.transpose(1, 0, 2)), arr(LABELS)), want,
          rtol=1e-5)
    close(gloss.CTCLoss(label_layout="TN")(arr(SCORES), arr(LABELS.T)), want, rtol=1e-5)
    close(gloss.CTCLoss(weight=2.)(arr(SCORES), arr(LABELS), None, None, arr([1., 0.5, 2.])),
          want * [2, 1, 4], rtol=1e-5)


def test_ctc_lengths():
    plen = np.array([5, 3, 4.0])
    llen = np.array([2, 1, 2.0])
    labels = np.array([[0, 1, 0], [2, 0, 1], [1, 0, 3]], np.float64)   # beyond length: ignored
    trunc = np.where(np.arange(3)[None] < llen[:, None], labels, -1)
    close(gloss.CTCLoss()(arr(SCORES), arr(labels), arr(plen), arr(llen)),
          ctc_bruteforce(SCORES, trunc, plen), rtol=1e-5)
    close(gloss.CTCLoss()(arr(SCORES), arr(trunc), arr(plen)),
          ctc_bruteforce(SCORES, trunc, plen), rtol=1e-5)
    # padded time steps do not change the loss
    noisy = SCORES.copy()
    noisy[1, 3:] = 50.0
    close(gloss.CTCLoss()(arr(noisy), arr(trunc), arr(plen)),
          ctc_bruteforce(SCORES, trunc, plen), rtol=1e-5)


def test_ctc_empty_and_infeasible_labels():
    scores = RNG.standard_normal((2, 3, 3))
    labels = np.array([[-1, -1, -1, -1], [0, 0, 1, -1]], np.float64)   # "001" needs 4 steps
    out = gloss.CTCLoss()(arr(scores), arr(labels)).asnumpy()
    blank_p = np.exp(log_softmax(scores[0]))[:, 2]
    np.testing.assert_allclose(out[0], -np.log(blank_p).sum(), rtol=1e-5)
    assert out[1] == 0.0   # MXNet (warp-ctc) reports 0 for a label that cannot fit
    x = arr(scores, np.float64)
    x.attach_grad()
    with autograd.record():
        loss = gloss.CTCLoss()(x, arr(labels))
    loss.backward()
    assert np.isfinite(x.grad.asnumpy()).all() and not x.grad.asnumpy()[1].any()


def test_ctc_legacy_op_blank_first():
    # nd.ctc_loss with MXNet's default blank_label='first': blank 0, labels 1.., padded with 0
    # np.roll: new class 0 is the old blank (class C-1), new class k+1 the old class k
    tnc = np.roll(SCORES.transpose(1, 0, 2), 1, axis=2)
    labels = np.where(LABELS >= 0, LABELS + 1, 0)
    close(nd.ctc_loss(arr(tnc), arr(labels)), ctc_bruteforce(SCORES, LABELS), rtol=1e-5)
    close(nd.ctc_loss(arr(tnc), arr(labels), blank_label="first"),
          ctc_bruteforce(SCORES, LABELS), rtol=1e-5)
    assert nd.CTCLoss is nd.ctc_loss


def test_ctc_gradient_finite_differences():
    plen = np.array([5, 4, 5.0])
    check_loss_grad(gloss.CTCLoss(), SCORES, LABELS, plen, rtol=1e-5, atol=1e-7)
    check_loss_grad(gloss.CTCLoss(layout="TNC"), SCORES.transpose(1, 0, 2), LABELS)


def test_ctc_hybridized():
    results = []
    for hybrid in (False, True):
        loss = gloss.CTCLoss()
        if hybrid:
            loss.hybridize()
        x = arr(SCORES, np.float64)
        x.attach_grad()
        with autograd.record():
            out = loss(x, arr(LABELS), arr([5, 4, 5.0]))
        out.backward()
        results.append((out.asnumpy(), x.grad.asnumpy()))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-10)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-10, atol=1e-12)


# ---- against torch, where available ----------------------------------------------------------
def test_ctc_against_torch():
    torch = pytest.importorskip("torch")
    scores = RNG.standard_normal((3, 12, 6))
    labels = np.array([[0, 1, 1, 3, -1], [4, 2, -1, -1, -1], [1, 2, 3, 4, 0]], np.float64)
    plen = np.array([12, 9, 10])
    llen = (labels >= 0).sum(1)
    lp = torch.log_softmax(torch.tensor(scores.transpose(1, 0, 2)), dim=2)
    # torch puts the blank where it is told: class C-1 here, as kiln's CTCLoss does
    want = torch.nn.functional.ctc_loss(
        lp, torch.tensor(np.maximum(labels, 0), dtype=torch.long), torch.tensor(plen),
        torch.tensor(llen), blank=5, reduction="none")
    close(gloss.CTCLoss()(arr(scores, np.float64), arr(labels), arr(plen)), want.numpy(),
          rtol=1e-8)


def test_losses_against_torch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    p, y = torch.tensor(P, dtype=torch.float64), torch.tensor(Y, dtype=torch.float64)
    p64, y64 = arr(P, np.float64), arr(Y, np.float64)
    close(gloss.L1Loss()(p64, y64), tf.l1_loss(p, y, reduction="none").mean(1).numpy())
    close(gloss.L2Loss(weight=2.)(p64, y64), tf.mse_loss(p, y, reduction="none").mean(1).numpy())
    close(gloss.HuberLoss()(p64, y64),
          tf.smooth_l1_loss(p, y, reduction="none", beta=1.0).mean(1).numpy())
    z = torch.tensor(Z, dtype=torch.float64)
    close(gloss.SigmoidBCELoss()(p64, arr(Z, np.float64)),
          tf.binary_cross_entropy_with_logits(p, z, reduction="none").mean(1).numpy())
    lab = np.array([0, 2, 1, 2])
    close(gloss.SoftmaxCELoss()(p64, arr(lab, np.float64)),
          tf.cross_entropy(p, torch.tensor(lab), reduction="none").numpy())
    q = torch.softmax(y, 1)
    close(gloss.KLDivLoss()(arr(torch.log_softmax(p, 1).numpy(), np.float64),
                            arr(q.numpy(), np.float64)),
          tf.kl_div(torch.log_softmax(p, 1), q, reduction="none").sum(1).numpy())
    s = torch.tensor(SIGNS, dtype=torch.float64)
    close(gloss.LogisticLoss()(p64, arr(SIGNS, np.float64)),
          tf.soft_margin_loss(p, s, reduction="none").mean(1).numpy())
    close(gloss.PoissonNLLLoss()(p64, arr(np.abs(Y), np.float64)),
          [tf.poisson_nll_loss(p, y.abs(), log_input=True).item()])
    cl = torch.tensor([1.0, -1, 1, -1], dtype=torch.float64)
    close(gloss.CosineEmbeddingLoss(margin=0.1)(p64, y64, arr(cl.numpy(), np.float64)),
          tf.cosine_embedding_loss(p, y, cl, margin=0.1, reduction="none").numpy()[:, None])
