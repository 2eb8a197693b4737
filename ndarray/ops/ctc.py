"""Connectionist Temporal Classification: ``ctc_loss`` (MXNet's ``CTCLoss``) and its gradient.

The loss is computed by the CTC forward algorithm in log space, vectorised over the batch (a
Python loop runs over time steps only). The gradient with respect to the unnormalised
activations is ``softmax(data) - posterior``, where the posterior of class ``k`` at time ``t``
comes from the forward (alpha) and backward (beta) variables; it is its own registered op,
``_ctc_loss_grad``, so the backward also works as a graph node of a hybridized block.

MXNet conventions: ``data`` is ``(T, N, C)`` activations *before* softmax; ``label`` is
``(N, L)``. With ``blank_label='first'`` the blank is class 0, labels are 1..C-1 and 0 pads;
with ``'last'`` (what ``gluon.loss.CTCLoss`` uses) the blank is class C-1 and -1 pads. Without
``use_label_lengths`` a label ends at its first padding value. Like MXNet (warp-ctc), a label
that cannot be aligned within the sequence (too long) gives a loss of 0 and a zero gradient.
"""
import itertools

import numpy as np

from .. import ops as F
from .._registry import Aval, Sample, register
from ._samples import rnd

_ATTRS = {"use_data_lengths": False, "use_label_lengths": False, "blank_label": "first"}


# ---- the dynamic programme -------------------------------------------------------------------
def _lse(xp, *terms):
    """Elementwise log-sum-exp of same-shape arrays, exact ``-inf`` when all terms are ``-inf``."""
    m = terms[0]
    for t in terms[1:]:
        m = xp.maximum(m, t)
    dead = m == -np.inf   # (cupy lacks isneginf in older releases)
    m_safe = xp.where(dead, 0.0, m)
    s = sum(xp.exp(t - m_safe) for t in terms)
    return xp.where(dead, -xp.inf, m_safe + xp.log(xp.where(dead, 1.0, s)))


def _shift(xp, a, k, fill):
    """Shift ``a`` (N, S) right by ``k`` along axis 1 (left when ``k < 0``), filling ``fill``."""
    pad = xp.full((a.shape[0], abs(k)), fill, dtype=a.dtype)
    if k > 0:
        return xp.concatenate([pad, a[:, :-k]], axis=1)
    return xp.concatenate([a[:, -k:], pad], axis=1)


def _setup(xp, data, label, data_lengths, label_lengths, use_data_lengths, use_label_lengths,
           blank_label):
    """Log-probabilities, the blank-extended labels and per-sample lengths."""
    T, N, C = data.shape
    dt = np.result_type(data.dtype, np.float32)
    x = data.astype(dt, copy=False)
    x = x - x.max(axis=2, keepdims=True)
    logp = x - xp.log(xp.exp(x).sum(axis=2, keepdims=True))
    blank, pad = (0, 0) if blank_label == "first" else (C - 1, -1)
    lab = xp.asarray(label).astype(np.int64).reshape(N, -1)
    L = lab.shape[1]
    if use_label_lengths:
        if label_lengths is None:
            raise ValueError("use_label_lengths=True needs the label_lengths input")
        llen = xp.asarray(label_lengths).astype(np.int64).reshape(N)
    else:
        is_pad = lab == pad
        llen = xp.where(is_pad.any(axis=1), is_pad.argmax(axis=1), L)
    if use_data_lengths:
        if data_lengths is None:
            raise ValueError("use_data_lengths=True needs the data_lengths input")
        tlen = xp.asarray(data_lengths).astype(np.int64).reshape(N)
    else:
        tlen = xp.full((N,), T, dtype=np.int64)
    S = 2 * L + 1
    ext = xp.full((N, S), blank, dtype=np.int64)
    ext[:, 1::2] = xp.clip(lab, 0, C - 1)   # padding slots lie past 2*llen+1: never read
    # a skip s-2 -> s is allowed onto a label that differs from the label two slots before
    allow = (ext != blank) & (ext != _shift(xp, ext, 2, -1))
    lp = xp.take_along_axis(logp, xp.broadcast_to(ext[None], (T, N, S)), axis=2)
    return logp, lp, ext, allow, llen, tlen


def _alpha(xp, lp, allow, tlen):
    """Forward variables (T, N, S): log-prob of label prefixes ending in slot s at time t."""
    T, N, S = lp.shape
    ninf = -np.inf
    slot = xp.arange(S)[None]
    alphas = xp.empty_like(lp)
    alpha = xp.where(slot < 2, lp[0], ninf)
    alphas[0] = alpha
    for t in range(1, T):
        skip = xp.where(allow, _shift(xp, alpha, 2, ninf), ninf)
        new = _lse(xp, alpha, _shift(xp, alpha, 1, ninf), skip) + lp[t]
        alpha = xp.where((t < tlen)[:, None], new, alpha)   # frozen past the sequence's end
        alphas[t] = alpha
    return alphas


def _log_likelihood(xp, alphas, llen):
    """log p(label | data) per sample from the last forward variables."""
    last = alphas[-1]
    end = (2 * llen)[:, None]
    a1 = xp.take_along_axis(last, end, axis=1)[:, 0]
    a2 = xp.take_along_axis(last, xp.maximum(end - 1, 0), axis=1)[:, 0]
    return _lse(xp, a1, xp.where(llen > 0, a2, -np.inf))


def _beta(xp, lp, allow, llen, tlen):
    """Backward variables (T, N, S), including the emission at time t."""
    T, N, S = lp.shape
    ninf = -np.inf
    slot = xp.arange(S)[None]
    end = (2 * llen)[:, None]
    is_end = (slot == end) | ((slot == end - 1) & (llen[:, None] > 0))
    allow_next = _shift(xp, allow, -2, False)   # skip s -> s+2 allowed onto slot s+2
    betas = xp.empty_like(lp)
    beta = xp.full((N, S), ninf, dtype=lp.dtype)
    for t in range(T - 1, -1, -1):
        skip = xp.where(allow_next, _shift(xp, beta, -2, ninf), ninf)
        rec = _lse(xp, beta, _shift(xp, beta, -1, ninf), skip) + lp[t]
        init = xp.where(is_end, lp[t], ninf)
        tt = tlen[:, None]
        beta = xp.where(t == tt - 1, init, xp.where(t < tt - 1, rec, ninf))
        betas[t] = beta
    return betas


def _ctc_kernel(xp, data, label, data_lengths=None, label_lengths=None, **attrs):
    _, lp, _, allow, llen, tlen = _setup(xp, data, label, data_lengths, label_lengths, **attrs)
    ll = _log_likelihood(xp, _alpha(xp, lp, allow, tlen), llen)
    return xp.where(xp.isfinite(ll), -ll, 0.0).astype(data.dtype)


def _ctc_grad_kernel(xp, data, label, data_lengths=None, label_lengths=None, **attrs):
    logp, lp, ext, allow, llen, tlen = _setup(xp, data, label, data_lengths, label_lengths,
                                              **attrs)
    T, N, C = data.shape
    blank = 0 if attrs["blank_label"] == "first" else C - 1
    alphas = _alpha(xp, lp, allow, tlen)
    ll = _log_likelihood(xp, alphas, llen)
    ok = xp.isfinite(ll)
    ll = xp.where(ok, ll, 0.0)
    gamma = alphas + _beta(xp, lp, allow, llen, tlen) - lp   # log p(paths through (t, s))
    post = xp.exp(gamma - ll[None, :, None])
    # Expected class counts: blank slots (even) go to the blank column; label slots (odd) are
    # scattered by a one-hot of the labels, (N, L, C) rather than (N, S, C).
    onehot = (ext[:, 1::2, None] == xp.arange(C)[None, None]).astype(post.dtype)
    occupancy = xp.einsum("tnl,nlc->tnc", post[:, :, 1::2], onehot)
    occupancy[:, :, blank] += post[:, :, 0::2].sum(axis=2)
    live = (xp.arange(T)[:, None] < tlen[None]) & ok[None]
    # where, not a product: frames past a sequence's length may hold NaN/inf padding, and
    # MXNet gives them a zero gradient
    grad = xp.where(live[:, :, None], xp.exp(logp) - occupancy, 0.0)
    return grad.astype(data.dtype)


# ---- facets ----------------------------------------------------------------------------------
def _ctc_infer(data, label, data_lengths=None, label_lengths=None, **_):
    return Aval((int(data.shape[1]),), np.dtype(data.dtype))


def _ctc_grad_infer(data, label, data_lengths=None, label_lengths=None, **_):
    return Aval(tuple(data.shape), np.dtype(data.dtype))


def _ctc_grad(ins, outs, gouts, **attrs):
    data, label, dlen, llen = ins
    scale = F.reshape(gouts[0], shape=(1, -1, 1))
    return (scale * _ctc_loss_grad(data, label, dlen, llen, **attrs), None, None, None)


def _ref_bruteforce(data, label, data_lengths=None, label_lengths=None, use_data_lengths=False,
                    use_label_lengths=False, blank_label="first"):
    """Sum over every path of length T_n that collapses onto the label (tiny inputs only)."""
    T, N, C = data.shape
    blank, pad = (0, 0) if blank_label == "first" else (C - 1, -1)
    out = np.zeros(N)
    for n in range(N):
        x = data[:, n].astype(np.float64)
        prob = np.exp(x - x.max(1, keepdims=True))
        prob /= prob.sum(1, keepdims=True)
        lab = [int(v) for v in np.asarray(label)[n]]
        if use_label_lengths:
            lab = lab[:int(label_lengths[n])]
        elif pad in lab:
            lab = lab[:lab.index(pad)]
        tn = int(data_lengths[n]) if use_data_lengths else T
        total = 0.0
        for path in itertools.product(range(C), repeat=tn):
            collapsed = [k for i, k in enumerate(path) if k != blank and
                         (i == 0 or k != path[i - 1])]
            if collapsed == lab:
                total += np.prod(prob[np.arange(tn), path])
        out[n] = -np.log(total) if total > 0 else 0.0
    return out


_SAMPLES = [
    Sample(rnd(4, 2, 3), np.array([[0.0, 1.0], [1.0, -1.0]]), blank_label="last", wrt=[0]),
    Sample(rnd(4, 2, 3, salt=5), np.array([[1.0, 1.0], [2.0, 0.0]]), wrt=[0]),
    Sample(rnd(4, 3, 3, salt=6), np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]),
           np.array([4.0, 3.0, 2.0]), np.array([1.0, 2.0, 0.0]), use_data_lengths=True,
           use_label_lengths=True, blank_label="last", wrt=[0]),
    Sample(rnd(5, 2, 4, salt=7), np.array([[2.0, 2.0, 1.0], [3.0, 1.0, 0.0]]), wrt=[0]),
]

ctc_loss = register(
    "ctc_loss", _ctc_kernel, inputs=("data", "label", "data_lengths?", "label_lengths?"),
    attrs=dict(_ATTRS), infer=_ctc_infer, grad=_ctc_grad, ref=_ref_bruteforce,
    samples=_SAMPLES,
    no_onnx="ONNX has no CTC operator; a Loop lowering of the dynamic programme is not written",
    aliases=("CTCLoss", "_contrib_CTCLoss", "_contrib_ctc_loss"),
    doc="""CTC loss of unnormalised activations ``data`` (T, N, C) against ``label`` (N, L).

    Returns shape (N,): ``-log p(label | softmax(data))`` per sample. ``blank_label`` is
    ``'first'`` (blank 0, labels padded with 0) or ``'last'`` (blank C-1, padded with -1).
    ``data_lengths``/``label_lengths`` (N,) are read when ``use_data_lengths`` /
    ``use_label_lengths`` are set.

    Example::

        >>> nd.ctc_loss(nd.zeros((3, 1, 3)), nd.array([[0, 1]]), blank_label='last').shape
        (1,)
    """, amp="fp32")

_ctc_loss_grad = register(
    "_ctc_loss_grad", _ctc_grad_kernel,
    inputs=("data", "label", "data_lengths?", "label_lengths?"), attrs=dict(_ATTRS),
    infer=_ctc_grad_infer, samples=_SAMPLES[:3],
    no_grad="second-order CTC gradients are not supported",
    no_onnx="backward-only op: never exported",
    no_ref="checked through ctc_loss's finite-difference gradient test",
    doc="Gradient of ``ctc_loss`` (per sample) with respect to ``data``, shape (T, N, C).")
