"""The fused RNN's backward (BPTT) over raw arrays (``xp`` is numpy or cupy); the forward and
the layouts are in ``_rnn_compute``.

Per layer and direction: one step loop (one recurrent GEMM per step, the gate derivatives from
whole-sequence factors computed once before it) fills the gradients of the gate
pre-activations; then whole-sequence GEMMs give the input, weight and bias gradients. The
weight gradients of a layer and the next layer's factors run on a worker beside the next step
loop (``_rnn_threads.Side``); the last layer's products are shared by the caller and a worker.
"""
import functools

import numpy as np

from .. import _ort_scan
from .._blas import threads as blas_threads
from .._parallel import run_blocks
from . import _rnn_compute as rc
from ._rnn_compute import _blend, batch_blocks, view
from ._rnn_threads import Inline, Side, run_task, wavefront


def backward(xp, data, params, h0, c0, masks, mode, lay, reserve, gout, ghy, gcy, clip):
    """Gradients (data, params, h0, c0 or None) of the outputs given their gradients."""
    T, N = data.shape[:2]
    if (lay.D == 1 and lay.L > 1 and T * N > 0 and (c0 is not None or mode == "gru")
            and rc.scans(xp, mode, lay, masks, clip, batch_blocks(xp, N), reserve, params)):
        return _scan_wave(mode, data, params, h0, c0, lay, reserve, gout, ghy, gcy, clip)
    with blas_threads(rc.THREADS):
        return _backward(xp, data, params, h0, c0, masks, mode, lay, reserve, gout, ghy, gcy,
                         clip)


def _backward(xp, data, params, h0, c0, masks, mode, lay, reserve, gout, ghy, gcy, clip):
    T, N = data.shape[:2]
    dparams = xp.zeros_like(params)
    dh0 = xp.empty_like(h0)
    dc0 = None if c0 is None else xp.empty_like(c0)
    blocks = batch_blocks(xp, N)
    order = [layer * lay.D + d for layer in range(lay.L - 1, -1, -1) for d in range(lay.D)]

    def inputs(k):
        layer = k // lay.D
        return data if layer == 0 else view(reserve, lay.inner[layer - 1])

    def state(k):
        return _BackwardState(xp, inputs(k), params, lay, k, h0[k],
                              None if c0 is None else c0[k], mode, reserve, k % lay.D == 1,
                              clip)
    side = Side(xp, rc.layer_work(data.shape, lay))
    ready = Inline(state, order[0])
    g, dx = gout, None
    for i, k in enumerate(order):
        d, x = k % lay.D, inputs(k)
        st = ready.result()
        if i + 1 < len(order):   # the next state's whole-sequence factors beside this loop
            ready = side.start(state, order[i + 1])
        gk = g[:, :, d * lay.R:(d + 1) * lay.R]
        ends = (None if ghy is None else ghy[k], None if gcy is None else gcy[k],
                dh0[k], None if dc0 is None else dc0[k])
        run_blocks(functools.partial(_backward_loop, xp, st, gk, masks, *ends), blocks)
        if d == 0:
            dx = xp.empty(x.shape, x.dtype)   # the first direction's product writes it
        tasks = _grad_tasks(xp, st, x, params, dparams, lay, k, dx, d == 0)
        if i + 1 < len(order):
            tasks[0]()   # the next loop reads dx; the weight gradients go beside it
            for task in tasks[1:]:
                side.start(task)
        elif side.on:   # the last: the caller and a worker share its products
            run_blocks(functools.partial(run_task, tasks), [(j, j + 1) for j in range(len(tasks))])
        else:
            for task in tasks:
                task()
        if d == lay.D - 1:
            g = dx
    side.join()
    return g, dparams, dh0, dc0


def _scan_wave(mode, data, params, h0, c0, lay, reserve, gout, ghy, gcy, clip):
    """A unidirectional LSTM or GRU stack's backward as a wavefront (``_rnn_threads.wavefront``, top
    layer first): each layer's BPTT runs as Scans over time chunks from the last, and a
    layer's input gradient is computed chunk by chunk right after them, so the layer below
    starts one chunk later instead of after the whole loop and its input-gradient GEMM; the
    loops run numpy's BLAS on one thread. The weight gradients (and the data gradient) of
    every layer follow one after the other on numpy's BLAS threads: whole-sequence GEMMs,
    which two BLAS threads run faster than two one-thread GEMMs side by side (five of W4's:
    6.5 against 9.2 ms). The chunks are fixed by T (``_rnn_compute._chunks``), so the numbers
    do not depend on the threads."""
    T, N = data.shape[:2]
    L, GH = lay.L, lay.G * lay.H
    dparams = np.zeros_like(params)
    dh0, dc0 = np.empty_like(h0), None if c0 is None else np.empty_like(c0)
    gs = [np.ascontiguousarray(gout)] + [np.empty((T, N, lay.R), data.dtype)
                                         for _ in range(L - 1)]
    states = [None] * L

    def run(i, sync):   # wavefront position i: layer L-1-i, its output gradient gs[i]
        k = L - 1 - i
        x = data if k == 0 else view(reserve, lay.inner[k - 1])
        st = states[i] = _BackwardState(np, x, params, lay, k, h0[k],
                                        None if c0 is None else c0[k], mode, reserve, False,
                                        clip)
        dh = np.zeros_like(h0[k]) if ghy is None else np.array(ghy[k], order="C")
        dc = None
        if mode == "lstm":
            dc = np.zeros_like(c0[k]) if gcy is None else np.array(gcy[k], order="C")
        wi = view(params, lay.w[k][0])
        for c, (t0, t1) in enumerate(rc._chunks(T, True)):
            if sync is not None:
                sync.wait(c)
            dh, dc = _chunk_scan(st, gs[i], dh, dc, t0, t1)
            if k > 0:   # the layer below's output gradient for these steps
                np.dot(st.dX[t0:t1].reshape(-1, GH), wi,
                       out=gs[i + 1][t0:t1].reshape(-1, lay.R))
            if sync is not None:
                sync.done(c)
        dh0[k] = dh
        if dc0 is not None:
            dc0[k] = dc
    with blas_threads(rc.THREADS):
        wavefront(np, L, len(rc._chunks(T, True)), run, rc.layer_work(data.shape, lay))
    dx = np.empty(data.shape, data.dtype)
    for i, st in enumerate(states):
        k = L - 1 - i
        x = data if k == 0 else view(reserve, lay.inner[k - 1])
        tasks = _grad_tasks(np, st, x, params, dparams, lay, k, dx, True)
        for task in tasks if k == 0 else tasks[1:]:   # inner layers' input gradients are done
            task()
    return dx, dparams, dh0, dc0


class _BackwardState:
    """One layer-direction's backward, shared by its batch blocks: the saved forward arrays,
    the whole-sequence factors, and the pre-activation gradients the loops fill (dX, dH),
    which the weight gradients then read as whole-sequence GEMMs."""

    def __init__(self, xp, x, params, lay, k, h0, c0, mode, reserve, rev, clip):
        T, N = x.shape[:2]
        H, R, G = lay.H, lay.R, lay.G
        self.mode, self.rev, self.H = mode, rev, H
        _, wh, wr, _, bh = (None if s is None else view(params, s) for s in lay.w[k])
        self.wh, self.wr = wh, wr
        self.rs = rs = {nm: view(reserve, s) for nm, s in lay.r[k].items()}
        self.act = rs["act"]
        self.dX = xp.empty((T, N, G * H), x.dtype)  # gradient of the input-side pre-acts
        self.dH = self.dX if mode != "gru" else xp.empty_like(self.dX)  # recurrent side
        hs = rs["h"]
        self.hprev = hprev = xp.empty((T, N, R), x.dtype)  # the state each step started from
        if rev:
            hprev[:T - 1], hprev[T - 1] = hs[1:], h0
        else:
            hprev[1:], hprev[0] = hs[:T - 1], h0
        self.lstm = self.dhs = self.gru = None
        if mode == "gru":
            self.gru = _gru_backward_prep(xp, self.act, rs["hn"], hprev, H)
        if mode == "lstm":
            self.lstm = _lstm_backward_prep(xp, self.act, rs, c0, rev, clip, H)
            self.dhs = None if wr is None else xp.empty((T, N, R), x.dtype)


def _backward_loop(xp, st, gk, masks, ghy, gcy, dh0, dc0, lo, hi):
    """BPTT over the batch rows lo:hi: fills st.dX, st.dH there and dh0/dc0's rows."""
    bs = slice(lo, hi)
    T, N = gk.shape[0], hi - lo
    H, mode = st.H, st.mode
    act, dX, dH = st.act[:, bs], st.dX[:, bs], st.dH[:, bs]
    masks = None if masks is None else masks[:, bs]
    dh = xp.zeros((N, st.wh.shape[1]), gk.dtype) if ghy is None else ghy[bs].copy()
    dc = None
    if mode == "lstm":
        dc = xp.zeros((N, H), gk.dtype) if gcy is None else gcy[bs].copy()
        lstm = tuple(None if a is None else a[:, bs] for a in st.lstm)
        dhs = None if st.dhs is None else st.dhs[:, bs]
    gru = None if st.gru is None else tuple(a[:, bs] for a in st.gru)
    if mode == "lstm" and _lstm_loop_scan(st, gk, masks, dh, dc, dh0, dc0, lo, hi):
        return
    if mode == "gru" and _gru_loop_scan(st, gk, masks, dh, dh0, lo, hi):
        return
    for t in (range(T) if st.rev else range(T - 1, -1, -1)):
        m = None if masks is None else masks[t]
        dh = dh + (gk[t, bs] if m is None else gk[t, bs] * m)
        a = act[t]
        if mode == "lstm":
            dc = _lstm_step_backward(xp, a, dX[t], dh, dc, t, lstm, st.wr, dhs, m, H)
        elif mode == "gru":
            _gru_step_backward(xp, a, dX[t], dH[t], dh, t, gru, H)
        else:
            dpre = dX[t]
            hcur = act[t]
            if mode == "rnn_tanh":
                xp.multiply(dh, 1 - hcur * hcur, out=dpre)
            else:
                xp.multiply(dh, hcur > 0, out=dpre)
        if m is not None and mode != "lstm":
            dX[t] *= m
            if mode == "gru":
                dH[t] *= m
        dnew = dH[t].dot(st.wh)
        if mode == "gru":
            dnew += dh * a[:, H:2 * H]   # z: the state's direct share
        dh = dnew if m is None else dh + m * (dnew - dh)
    dh0[bs] = dh
    if dc0 is not None:
        dc0[bs] = dc


def _chunk_scan(st, g, dh, dc, t0, t1):
    """BPTT over steps t0:t1 of a layer (the forward's direction) as one Scan: fills
    st.dX (and st.dH, a GRU's) there; returns the states' gradients before step t0."""
    if st.mode == "lstm":
        tc, ot, dfac, cprev, _ = st.lstm
        nh, nc = np.empty_like(dh), np.empty_like(dc)
        _ort_scan.lstm_backward(g[t0:t1], st.act[t0:t1], ot[t0:t1], tc[t0:t1], dfac[t0:t1],
                                cprev[t0:t1], st.wh, dh, dc, st.dX[t0:t1], nh, nc, st.rev)
        return nh, nc
    fn, fr, fz = st.gru
    return _ort_scan.gru_backward(g[t0:t1], st.act[t0:t1], fn[t0:t1], fr[t0:t1], fz[t0:t1],
                                  st.wh, dh, st.dX[t0:t1], st.dH[t0:t1], st.rev), None


def _lstm_loop_scan(st, gk, masks, dh, dc, dh0, dc0, lo, hi):
    """The LSTM's BPTT loop as one onnxruntime Scan (``_ort_scan.lstm_backward``) where it
    applies (every batch row, no projection, masks or clip, numpy buffers): fills st.dX,
    dh0 and dc0; False (nothing done) elsewhere."""
    if masks is not None or st.wr is not None or lo != 0 or hi != gk.shape[1]:
        return False
    tc, ot, dfac, cprev, inside = st.lstm
    if inside is not None or gk.shape[0] == 0 or gk.shape[1] == 0 or dc0 is None:
        return False
    gh = np.ascontiguousarray(gk)
    if not _ort_scan.usable(gh, st.act, ot, tc, dfac, cprev, st.wh, dh, dc, st.dX, dh0, dc0):
        return False
    dh0[...], dc0[...] = _chunk_scan(st, gh, dh, dc, 0, gh.shape[0])
    return True


def _gru_loop_scan(st, gk, masks, dh, dh0, lo, hi):
    """The GRU's BPTT loop as one onnxruntime Scan (``_ort_scan.gru_backward``) where it
    applies (every batch row, no masks, numpy buffers): fills st.dX, st.dH and dh0; False
    (nothing done) elsewhere."""
    if masks is not None or lo != 0 or hi != gk.shape[1] or gk.shape[0] * gk.shape[1] == 0:
        return False
    gh = np.ascontiguousarray(gk)
    if not _ort_scan.usable(gh, st.act, *st.gru, st.wh, dh, st.dX, st.dH, dh0):
        return False
    dh0[...] = _chunk_scan(st, gh, dh, None, 0, gh.shape[0])[0]
    return True


def _grad_tasks(xp, st, x, params, dparams, lay, k, dx, dx_first):
    """The input, weight and bias gradients of layer-direction k from the loops' dX/dH as
    independent tasks (the input gradient first: the next layer's loop reads it), each a
    whole-sequence GEMM over every batch row, written straight into its gradient (k's
    weights are its own; ``dx_first``: no other direction wrote dx yet): no temporaries, as
    the tasks may run at the same time. (A GEMM split in two column halves ran both halves
    ~1.6x slower than the whole: strided operands, 2026-12-07.)"""
    T, N, ni = x.shape
    R, G, H = lay.R, lay.G, lay.H
    wi = view(params, lay.w[k][0])
    dwi, dwh, dwr, dbi, dbh = (None if s is None else view(dparams, s) for s in lay.w[k])
    dX2, dH2 = st.dX.reshape(T * N, G * H), st.dH.reshape(T * N, G * H)

    def input_grad():
        if dx_first:
            xp.dot(dX2, wi, out=dx.reshape(T * N, ni))
        else:
            dx[...] += dX2.dot(wi).reshape(T, N, ni)

    def input_weight():
        xp.dot(dX2.T, x.reshape(T * N, ni), out=dwi)

    def recurrent_weight():
        xp.dot(dH2.T, st.hprev.reshape(T * N, R), out=dwh)

    def rest():
        if st.dhs is not None:
            xp.dot(st.dhs.reshape(T * N, R).T, st.rs["hp"].reshape(T * N, H), out=dwr)
        dbi[...] = dX2.sum(axis=0)
        dbh[...] = dH2.sum(axis=0)
    return [input_grad, input_weight, recurrent_weight, rest]


def _gru_backward_prep(xp, act, hn, hprev, H):
    """Whole-sequence factors of the GRU's backward (r, z, n the gates, hn = W_hn h + b_hn):
    dn/dh = (1 - z)(1 - n^2), dr_pre/dn = hn r (1 - r), dz_pre/dh = (h_prev - n) z (1 - z)."""
    r, z, n = act[:, :, :H], act[:, :, H:2 * H], act[:, :, 2 * H:]
    fn = xp.multiply(n, n)
    xp.subtract(1, fn, out=fn)
    fn *= 1 - z
    fr = xp.subtract(1, r)
    fr *= r
    fr *= hn
    fz = xp.subtract(1, z)
    fz *= z
    fz *= hprev - n
    return fn, fr, fz


def _gru_step_backward(xp, a, dpre, dhr, dh, t, prep, H):
    """Fill step t's pre-activation gradients: dpre (input side), dhr (recurrent side)."""
    fn, fr, fz = prep
    dn = dpre[:, 2 * H:]
    xp.multiply(dh, fn[t], out=dn)
    xp.multiply(dn, a[:, :H], out=dhr[:, 2 * H:])      # through r * (W_hn h + b_hn)
    xp.multiply(dn, fr[t], out=dpre[:, :H])
    xp.multiply(dh, fz[t], out=dpre[:, H:2 * H])
    dhr[:, :2 * H] = dpre[:, :2 * H]


def _lstm_backward_prep(xp, act, rs, c0, rev, clip, H):
    """Whole-sequence factors of the LSTM's backward, computed once instead of per step:
    tanh(c), o * tanh'(c), each gate's derivative, the previous cell state, the clip mask."""
    cs = rs["c"]
    tc = xp.tanh(cs)
    ot = xp.multiply(tc, tc)
    xp.subtract(1, ot, out=ot)
    ot *= act[:, :, 3 * H:]
    dfac = xp.subtract(1, act)
    dfac *= act                                   # sigmoid' = s (1 - s)
    g = act[:, :, 2 * H:3 * H]
    xp.multiply(g, g, out=dfac[:, :, 2 * H:3 * H])
    xp.subtract(1, dfac[:, :, 2 * H:3 * H], out=dfac[:, :, 2 * H:3 * H])   # tanh' = 1 - g^2
    cprev = xp.empty_like(cs)
    if rev:
        cprev[:-1], cprev[-1] = cs[1:], c0
    else:
        cprev[1:], cprev[0] = cs[:-1], c0
    inside = None if clip[0] is None and clip[1] is None else _inside(cs, clip)
    return tc, ot, dfac, cprev, inside


def _lstm_step_backward(xp, a, u, dh, dc, t, prep, wr, dhs, m, H):
    """Fill u (N, 4H), the gradient of step t's gate pre-activations; return dc_{t-1}."""
    tc, ot, dfac, cprev, inside = prep
    if wr is not None:
        dhs[t] = dh
        dh = dh.dot(wr)
    dct = xp.multiply(dh, ot[t])
    dct += dc
    if inside is not None:
        dct *= inside[t]
    xp.multiply(dct, a[:, 2 * H:3 * H], out=u[:, :H])
    xp.multiply(dct, cprev[t], out=u[:, H:2 * H])
    xp.multiply(dct, a[:, :H], out=u[:, 2 * H:3 * H])
    xp.multiply(dh, tc[t], out=u[:, 3 * H:])
    u *= dfac[t]
    dct *= a[:, H:2 * H]
    if m is None:
        return dct
    u *= m
    _blend(dct, dc, m)
    return dct


def _inside(c, clip):
    """1 where the clip left the cell state unchanged (its gradient passes), else 0."""
    keep = c == c
    if clip[0] is not None:
        keep &= c > clip[0]
    if clip[1] is not None:
        keep &= c < clip[1]
    return keep
