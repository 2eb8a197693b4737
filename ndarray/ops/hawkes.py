"""MXNet 1.9's ``contrib.hawkesll``: the log likelihood of marked, self-exciting Hawkes
processes with exponential kernels, and ``contrib.backward_hawkesll``, its gradient.

Each of the K marks is an independent process with intensity
``lambda_k(t) = lda_k + alpha_k * beta_k * sum_{t_i < t, y_i = k} exp(-beta_k (t - t_i))``.
The points of sample n are given as inter-arrival times ``lags[n, :valid_length[n]]`` with
marks ``marks[n, :]``, observed on ``(0, max_time[n]]``; ``state`` (N, K) carries the decayed
count of earlier points (``s_k = sum exp(-beta_k (t - t_i))``).

Example::

    >>> ll, state = nd.contrib.hawkesll(lda, alpha, beta, state, lags, marks, valid_length,
    ...                                 max_time)          # ll: (N,), state: (N, K)
"""
import numpy as np

from .. import ops as F
from .._registry import Aval, Sample, register
from ._samples import rnd

_HAWKES_INPUTS = ("lda", "alpha", "beta", "state", "lags", "marks", "valid_length", "max_time")


def _scan(xp, lda, alpha, beta, state, lags, marks, valid_length, max_time, grads=False):
    """One pass over the points (vectorised over the batch; each row's mark picks its column).
    With ``grads`` it also carries the derivatives forward: the compensator and the state are
    linear in the state and smooth in beta, so d state/d beta and d state/d state0 follow the
    same recursion (MXNet's backward kernel carries the first of them the same way)."""
    f = np.float64
    n, t_len = lags.shape
    k = lda.shape[1]
    mu, a, b = lda.astype(f), alpha.astype(f), beta.astype(f)
    s = state.astype(f).copy()
    last, t, ll = xp.zeros((n, k)), xp.zeros(n), xp.zeros(n)
    rows = xp.arange(n)
    marks = xp.clip(marks.astype(np.int64), 0, k - 1)  # padding past valid_length may be junk
    vlen = valid_length.astype(f)
    if grads:
        g_mu, g_a, g_b, g_s0 = (xp.zeros((n, k)) for _ in range(4))
        ds_b, ds_s0 = xp.zeros((n, k)), xp.ones((n, k))   # d s / d beta, d s / d state0
    for j in range(t_len):
        live = j < vlen
        c = marks[:, j]
        t = t + xp.where(live, lags[:, j].astype(f), 0.0)
        d = t - last[rows, c]
        ac, bc, sc, mc = a[c], b[c], s[rows, c], mu[rows, c]
        ed = xp.exp(-bc * d)
        lam = mc + ac * bc * sc * ed
        with np.errstate(divide="ignore", invalid="ignore"):  # dead rows may meet log(0)
            ll = ll + xp.where(live, xp.log(lam) - mc * d - ac * sc * (1 - ed), 0.0)
        if grads:
            dsb, dss = ds_b[rows, c], ds_s0[rows, c]
            g_mu[rows, c] += xp.where(live, 1 / lam - d, 0.0)
            g_a[rows, c] += xp.where(live, bc * sc * ed / lam - sc * (1 - ed), 0.0)
            g_b[rows, c] += xp.where(live, ac * ed * (sc * (1 - bc * d) + bc * dsb) / lam
                                     - ac * (dsb * (1 - ed) + sc * d * ed), 0.0)
            g_s0[rows, c] += xp.where(live, ac * bc * ed * dss / lam - ac * (1 - ed) * dss, 0.0)
            ds_b[rows, c] = xp.where(live, ed * (dsb - d * sc), dsb)
            ds_s0[rows, c] = xp.where(live, ed * dss, dss)
        s[rows, c] = xp.where(live, 1 + sc * ed, sc)
        last[rows, c] = xp.where(live, t, last[rows, c])
    # the compensator of the gap after each mark's last point, up to max_time
    d = max_time.astype(f)[:, None] - last
    ed = xp.exp(-b * d)
    ll = ll - (mu * d + a * s * (1 - ed)).sum(axis=1)
    if not grads:
        return ll, ed * s
    g_mu -= d
    g_a -= s * (1 - ed)
    g_b -= a * (ds_b * (1 - ed) + s * d * ed)
    g_s0 -= a * (1 - ed) * ds_s0
    # the returned state is ed * s: its own derivatives in beta and state0
    return g_mu, g_a, g_b, g_s0, ed * (ds_b - d * s), ed * ds_s0


def _hawkes_kernel(xp, lda, alpha, beta, state, lags, marks, valid_length, max_time):
    ll, out_state = _scan(xp, lda, alpha, beta, state, lags, marks, valid_length, max_time)
    return ll.astype(lda.dtype), out_state.astype(lda.dtype)


def _hawkes_infer(lda, alpha, beta, state, lags, marks, valid_length, max_time):
    n, k = lda.shape
    dt = np.dtype(lda.dtype)
    return Aval((n,), dt), Aval((n, k), dt)


def _hawkes_grad(ins, outs, gouts):
    g = F._contrib_backward_hawkesll(gouts[0], gouts[1], *ins)
    return tuple(g) + (None,) * 4


def _samples():
    lda = np.array([[1.5, 2.0], [1.0, 0.5], [0.7, 1.2]])
    alpha, beta = np.array([0.2, 0.3]), np.array([1.0, 2.0])
    state = np.array([[0.1, 0.2], [0.0, 0.3], [0.5, 0.0]])
    lags = np.array([[1.0, 2.0, 0.5], [0.3, 0.4, 0.5], [0.2, 0.1, 0.9]])
    marks = np.array([[0, 1, 0], [1, 1, 0], [0, 0, 1]], np.int32)
    vlen, max_time = np.array([3.0, 2.0, 0.0]), np.array([5.0, 4.0, 1.0])
    args = (lda, alpha, beta, state, lags, marks, vlen, max_time)
    return [Sample(*args, wrt=[0, 1, 2, 3]),
            Sample(lda[:2] + rnd(2, 2, lo=0, hi=0.5), alpha, beta, state[:2], lags[:2],
                   marks[:2], np.array([1.0, 3.0]), np.array([2.0, 3.0]), wrt=[0, 1, 2, 3])]


_contrib_hawkesll = register(
    "_contrib_hawkesll", _hawkes_kernel, inputs=_HAWKES_INPUTS, num_outputs=2,
    infer=_hawkes_infer, grad=_hawkes_grad, amp="fp32",
    no_onnx="a data-dependent scan over ragged sequences; no lowering written (ONNX Loop would"
            " do)",
    ref=lambda *a: _hawkes_kernel(np, *a), samples=_samples(),
    doc="""Log likelihood of K independent univariate Hawkes processes (MXNet
    ``contrib.hawkesll``). lda (N, K) background intensities, alpha (K,) branching ratios,
    beta (K,) decays, state (N, K) the memory ``s_k(0)``, lags (N, T) inter-arrival times,
    marks (N, T) process ids (integers), valid_length (N,) points per row, max_time (N,) the
    observation period. Outputs: the log likelihood (N,) and the memory at max_time (N, K).

    Gradients reach lda, alpha, beta and state, through both outputs (MXNet's backward
    differentiates only the likelihood and leaves state's gradient unwritten).

    Example::

        >>> ll, s = nd.contrib.hawkesll(nd.array([[1.5]]), nd.array([.2]), nd.array([1.]),
        ...     nd.zeros((1, 1)), nd.array([[1., 2.]]), nd.zeros((1, 2), dtype='int32'),
        ...     nd.array([2.]), nd.array([5.]))
    """)


def _hawkes_backward_kernel(xp, g_ll, g_state, lda, alpha, beta, state, lags, marks,
                            valid_length, max_time):
    g_mu, g_a, g_b, g_s0, dos_b, dos_s0 = _scan(xp, lda, alpha, beta, state, lags, marks,
                                                valid_length, max_time, grads=True)
    gl, gs = g_ll.astype(np.float64)[:, None], g_state.astype(np.float64)
    dt = lda.dtype
    return ((gl * g_mu).astype(dt), (gl * g_a).sum(axis=0).astype(dt),
            (gl * g_b + gs * dos_b).sum(axis=0).astype(dt), (gl * g_s0 + gs * dos_s0).astype(dt))


def _hawkes_backward_infer(g_ll, g_state, lda, alpha, beta, state, *_):
    dt = np.dtype(lda.dtype)
    return (Aval(tuple(lda.shape), dt), Aval(tuple(alpha.shape), dt),
            Aval(tuple(beta.shape), dt), Aval(tuple(state.shape), dt))


_contrib_backward_hawkesll = register(
    "_contrib_backward_hawkesll", _hawkes_backward_kernel,
    inputs=("out_grad", "out_grad_state") + _HAWKES_INPUTS, num_outputs=4,
    infer=_hawkes_backward_infer, amp="fp32",
    no_grad="second derivatives of the Hawkes likelihood are not provided (nor in MXNet)",
    no_onnx="a data-dependent scan over ragged sequences, as hawkesll",
    ref=lambda *a: _hawkes_backward_kernel(np, *a),
    samples=[Sample(np.array([1.0, -2.0, 0.5]), rnd(3, 2), *_samples()[0].inputs)],
    doc="""The gradient of ``contrib.hawkesll`` (MXNet ``contrib.backward_hawkesll``): given
    the head gradients of its two outputs, out_grad (N,) and out_grad_state (N, K), and its
    eight inputs, returns the gradients of lda (N, K), alpha (K,), beta (K,) and state (N, K)
    (lags, marks, valid_length and max_time are data: no gradient).

    Example::

        >>> g_lda, g_alpha, g_beta, g_state = nd.contrib.backward_hawkesll(
        ...     nd.ones((N,)), nd.zeros((N, K)), lda, alpha, beta, state, lags, marks,
        ...     valid_length, max_time)
    """)
