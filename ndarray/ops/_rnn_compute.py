"""The fused RNN's forward pass over raw arrays (``xp`` is numpy or cupy), and the layouts
it shares with the backward (``_rnn_bptt``).

Per layer and direction the forward does one GEMM for the input projection of the whole
sequence (an inner unidirectional layer: one per chunk of ``CHUNK`` steps, so the layer can
start before the layer below has finished, ``_rnn_threads.wavefront``), then one recurrent
GEMM per step with the gate nonlinearities applied to the (N, G*H) block in place.
Everything the backward needs (gate activations, states, projected and GRU candidate terms,
the inputs of inner layers) is written into one flat ``reserve`` array, so the backward
(BPTT with the same structure: one GEMM per step, then three GEMMs over the whole sequence
for the input and weight gradients) recomputes nothing.

Layouts follow MXNet: ``parameters`` holds every weight first (per layer, per direction:
i2h (G*H, in), h2h (G*H, R), h2r (P, H) with a projection), then every bias (i2h, h2h);
gates are LSTM i, f, g, o; GRU r, z, n with ``n = tanh(x_n + r * (W_hn h + b_hn))``.
"""
import functools
import os

import numpy as np

from ...base import OpError
from .. import _ort_scan, _parallel
from .._blas import threads as blas_threads
from .._parallel import run_blocks
from ._rnn_threads import wavefront

GATES = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}


class Layout:
    """Offsets of the weights in the flat parameters and of the saved arrays in the reserve.

    ``w[k]`` for k = layer * dirs + direction: ``(i2h, h2h, h2r or None, bi, bh)``, each an
    ``(offset, shape)``; ``r[k]``: name -> (offset, shape) in the reserve; ``inner[l]``: the
    output of layer l < L-1 (the next layer's input)."""

    def __init__(self, mode, T, N, C, H, L, D, P):
        G = GATES[mode]
        R = P or H
        self.G, self.H, self.R, self.L, self.D, self.P = G, H, R, L, D, P
        self.w, off = [], 0
        for layer in range(L):
            ni = C if layer == 0 else D * R
            for _ in range(D):
                wi, off = (off, (G * H, ni)), off + G * H * ni
                wh, off = (off, (G * H, R)), off + G * H * R
                wr = None
                if P:
                    wr, off = (off, (P, H)), off + P * H
                self.w.append([wi, wh, wr])
        for k in range(L * D):
            self.w[k] += [(off, (G * H,)), (off + G * H, (G * H,))]
            off += 2 * G * H
        self.size = off
        self.r, roff = [], 0
        names = [("act", G * H), ("h", R)]
        if mode == "lstm":
            names.append(("c", H))
        if P:
            names.append(("hp", H))
        if mode == "gru":
            names.append(("hn", H))
        for _ in range(L * D):
            d = {}
            for nm, width in names:
                d[nm] = (roff, (T, N, width))
                roff += T * N * width
            self.r.append(d)
        self.inner = []
        for _ in range(L - 1):
            self.inner.append((roff, (T, N, D * R)))
            roff += T * N * D * R
        self.reserve = roff


def split_inputs(mode, use_sequence_length, state_cell, sequence_length):
    """(state_cell, sequence_length) of a call: MXNet passes a GRU's or RNN's sequence lengths
    as the fourth input, where an LSTM has its cell state."""
    if mode != "lstm" and sequence_length is None and state_cell is not None:
        state_cell, sequence_length = None, state_cell
    if not use_sequence_length:
        sequence_length = None
    return state_cell, sequence_length


def layout(shape, attrs):
    """The Layout of a call with data of ``shape`` and the op's attributes."""
    T, N, C = shape
    mode = attrs["mode"]
    if mode not in GATES:
        raise OpError(f"RNN: mode must be one of {sorted(GATES)}, got {mode!r}")
    P = attrs.get("projection_size") or 0
    if P and mode != "lstm":
        raise OpError("RNN: projection_size needs mode='lstm'")
    return Layout(mode, T, N, C, int(attrs["state_size"]), int(attrs["num_layers"]),
                  2 if attrs.get("bidirectional") else 1, int(P))


def view(flat, spec):
    off, shape = spec
    return flat[off:off + int(np.prod(shape))].reshape(shape)


def _sig_inplace(xp, a):
    # sigmoid(x) = (1 + tanh(x/2)) / 2: no exp overflow (warnings are errors), one pass each
    a *= 0.5
    xp.tanh(a, out=a)
    a *= 0.5
    a += 0.5


def step_masks(xp, seq, T, N, dtype):
    """(T, N, 1) masks of the valid steps (None without sequence lengths)."""
    if seq is None:
        return None
    lens = seq.astype(np.int64).reshape(1, N)
    return (xp.arange(T).reshape(T, 1) < lens).astype(dtype).reshape(T, N, 1)


def _clip(xp, c, lo, hi, nan):
    if lo is None and hi is None:   # MXNet ignores lstm_state_clip_nan without a range
        return
    if nan:
        xp.nan_to_num(c, copy=False, nan=lo if lo is not None else hi)
    xp.clip(c, -np.inf if lo is None else lo, np.inf if hi is None else hi, out=c)


# numpy's BLAS threads inside the op. Its GEMMs are small: per step (N, R) x (R, G*H), per
# sequence (T*N, in) x (in, G*H); waking OpenBLAS's workers for each costs more than it saves,
# and on a shared machine a descheduled worker stalls every call (W4's op, forward + backward
# under load: 298 ms with the step loops on one thread against 514 ms on two, interleaved;
# the whole op on one thread 85 ms against 104 ms for the loops only; docs/architecture.md,
# "Recurrent kernels"). The cores are used instead by running batch blocks side by side.
THREADS = 1
BLOCK_ROWS = 8  # the smallest batch block worth a thread of its own
# Off by default: on the 2-vCPU reference machine W4's step ran faster in one block (p10
# 193-236 against 240-255 ms, fresh processes interleaved): a step's GEMM reads the whole
# weight whatever the rows, so two half blocks cost about what one whole block does.
# ``KILN_RNN_BLOCKS=1`` turns the batch blocks on.
BLOCKS = os.environ.get("KILN_RNN_BLOCKS") == "1"


def batch_blocks(xp, N):
    """The batch rows ``(lo, hi)`` the step loops run as independent blocks, side by side on
    the cores (``_parallel.run_blocks``). Fixed by N, the machine's cores and the graph (one
    block inside ``_parallel.reserved()``: a worker is busy beside this op, and blocks run one
    after the other cost more than one whole block: a step's GEMM reads the whole weight
    whatever the rows), never by timing or KILN_THREADS, so a program computes the same
    numbers every run; cupy runs one block (its kernels are parallel)."""
    one = not BLOCKS or xp is not np or _parallel.cores() < 2 or _parallel.is_reserved()
    nb = 1 if one else max(1, min(4, N // BLOCK_ROWS))
    return [(N * k // nb, N * (k + 1) // nb) for k in range(nb)]


def forward(xp, data, params, h0, c0, masks, mode, lay, reserve, out, hy, cy, clip):
    """Fill ``out`` (T, N, D*R), ``hy``/``cy`` (L*D, N, R/H) and the reserve."""
    blocks = batch_blocks(xp, data.shape[1])
    scan = scans(xp, mode, lay, masks, clip, blocks, reserve, params)
    weights = [_layer_weights(xp, params, lay, k, mode, data.dtype, scan)
               for k in range(lay.L * lay.D)]

    wave = lay.D == 1 and lay.L > 1 and len(blocks) == 1
    first = None
    if wave and scan:
        # the first layer's whole-sequence projection, before the wavefront starts: nothing
        # runs beside it, so numpy's BLAS may use every thread (the loops then take one each)
        first = xp.empty_like(view(reserve, lay.r[0]["act"]))
        _input_projection(xp, data, weights[0][0], weights[0][3], first)

    def layer(index, d, bs, sync=None):
        k = index * lay.D + d
        x = data if index == 0 else view(reserve, lay.inner[index - 1])
        dst = out if index == lay.L - 1 else view(reserve, lay.inner[index])
        _layer_forward(xp, x[:, bs], weights[k], lay, k, h0[k, bs],
                       None if c0 is None else c0[k, bs],
                       None if masks is None else masks[:, bs], mode,
                       _reserve_views(reserve, lay, k, bs),
                       dst[:, bs, d * lay.R:(d + 1) * lay.R], hy[k, bs],
                       None if cy is None else cy[k, bs], d == 1, clip,
                       index > 0 and lay.D == 1, sync, scan, first if k == 0 else None)

    def block(lo, hi):
        for index in range(lay.L):
            for d in range(lay.D):
                layer(index, d, slice(lo, hi))
    with blas_threads(THREADS):
        if wave:
            wavefront(xp, lay.L, len(_chunks(data.shape[0], False)),
                       lambda index, sync: layer(index, 0, slice(None), sync),
                       layer_work(data.shape, lay))
        else:
            run_blocks(block, blocks)
    return out


def scans(xp, mode, lay, masks, clip, blocks, reserve, params):
    """Whether the step loops run as onnxruntime Scans (``_ort_scan``): LSTMs without a
    projection and GRUs, without sequence lengths or clipping, the whole batch in one block,
    numpy float32/float64 buffers."""
    return (mode in ("lstm", "gru") and not lay.P and masks is None and clip[0] is None
            and clip[1] is None and len(blocks) == 1 and reserve.size > 0
            and _ort_scan.usable(reserve, params))


def layer_work(shape, lay):
    """Multiply-adds of one layer's pass (its input and recurrent products), for (T, N, C)
    data: what decides whether a worker is worth a handoff (``_rnn_threads.Side``)."""
    T, N, C = shape
    return T * N * lay.G * lay.H * (max(C, lay.D * lay.R) + lay.R)


CHUNK = 5   # time steps per chunk of an inner layer's input projection (see wavefront)


def _chunks(T, rev):
    """The (t0, t1) time chunks of an inner unidirectional layer, in the order it runs them.
    Fixed by T alone: a chunk's projection GEMM rounds differently from the whole sequence's,
    so every path (wavefront or not, batch blocks) cuts the same way."""
    spans = [(t0, min(T, t0 + CHUNK)) for t0 in range(0, T, CHUNK)]
    return spans[::-1] if rev else spans


def _reserve_views(reserve, lay, k, bs):
    return {nm: view(reserve, spec)[:, bs] for nm, spec in lay.r[k].items()}


def _layer_weights(xp, params, lay, k, mode, dtype, scan=False):
    """``(wi, whx, wrT, bsum, bh)`` of layer-direction k as the forward's loops use them:
    for numpy's loop an LSTM's i, f, o rows halved and ``whx`` the recurrent weight
    transposed, (R, G*H); for the Scans (``scan``) the weights as stored, ``whx`` (G*H, R)
    (the Scan halves the pre-activations itself and multiplies by the transposed weight:
    no copies of the weights each call)."""
    G, H = lay.G, lay.H
    wi, wh, wr, bi, bh = (None if s is None else view(params, s) for s in lay.w[k])
    if mode == "lstm" and not scan:
        # sigmoid(x) = (1 + tanh(x/2)) / 2: halving the i, f, o rows of the weights and biases
        # once lets one tanh over the whole (N, 4H) gate block serve all four gates per step
        scale = xp.full((G * H, 1), 0.5, dtype)
        scale[2 * H:3 * H] = 1.0
        wi, wh, bsum = wi * scale, wh * scale, (bi + bh) * scale[:, 0]
    else:
        bsum = bi + bh if mode != "gru" else bi   # a GRU adds b_h with the recurrent product
    wrT = None if wr is None else xp.ascontiguousarray(wr.T)
    return wi, wh if scan else xp.ascontiguousarray(wh.T), wrT, bsum, bh


def _input_projection(xp, x, wi, bsum, act):
    """act = x @ wi.T + bsum over the whole sequence, one GEMM (act may be a batch block)."""
    T, N, ni = x.shape
    if act.flags.c_contiguous:
        xw = act.reshape(T * N, act.shape[-1])
        xp.dot(x.reshape(T * N, ni), wi.T, out=xw)
    else:   # a batch block of the reserve: rows are strided by the other blocks'
        act[...] = xp.dot(x.reshape(T * N, ni), wi.T).reshape(act.shape)
    act += bsum


def _layer_forward(xp, x, weights, lay, k, h0, c0, masks, mode, rs, o, hy, cy, rev, clip,
                   chunked=False, sync=None, scan=False, projected=None):
    """One layer-direction over the sequence. ``chunked``: project the input chunk by chunk
    (``_chunks``; an inner unidirectional layer, whose input a wavefront writes chunk by
    chunk), ``sync``: the wavefront's handoff (``_rnn_threads.Sync``), ``scan``: the steps
    as onnxruntime Scans (``_lstm_steps_scan``, ``_gru_steps_scan``; ``weights`` as
    ``_layer_weights`` gives them for the Scans), ``projected``: the input's projection,
    computed already (the Scans' first layer of a wavefront)."""
    T = x.shape[0]
    wi, whx, wrT, bsum, bh = weights
    act = rs["act"]
    proj = xp.empty_like(act) if scan else act   # the Scan reads one and writes the other
    if projected is not None:
        proj = projected
    elif not chunked:
        _input_projection(xp, x, wi, bsum, proj)
    if not chunked and sync is None:
        segments = [(range(T - 1, -1, -1) if rev else range(T), None, None)]
    else:
        segments = []
        for c, (t0, t1) in enumerate(_chunks(T, rev)):
            before = functools.partial(_chunk_input, xp, x, wi, bsum, proj, t0, t1,
                                       chunked, sync, c)
            after = None if sync is None else functools.partial(sync.done, c)
            segments.append((range(t1 - 1, t0 - 1, -1) if rev else range(t0, t1), before,
                             after))
    if scan and mode == "lstm":
        _lstm_steps_scan(proj, rs, h0, c0, whx, o, hy, cy, segments)
        return
    if scan:
        _gru_steps_scan(proj, rs, h0, whx, bh, o, hy, segments)
        return
    _numpy_steps(xp, weights, lay, h0, c0, masks, mode, rs, o, hy, cy, clip, segments)


def _chunk_input(xp, x, wi, bsum, act, t0, t1, chunked, sync, c):
    if sync is not None:
        sync.wait(c)
    if chunked:
        _input_projection(xp, x[t0:t1], wi, bsum, act[t0:t1])


def _steps(segments):
    """Every step index of ``segments`` ((steps, before, after) in order) in turn, calling each
    run's ``before`` ahead of its first step and ``after`` once its last step is done (None:
    nothing): the step loops' one walk over the wavefront's chunks."""
    for ts, before, after in segments:
        if before is not None:
            before()
        yield from ts
        if after is not None:
            after()


def _numpy_steps(xp, weights, lay, h0, c0, masks, mode, rs, o, hy, cy, clip, segments):
    """The step loop in numpy ops (every mode and option); ``segments``: (steps, before,
    after) in order, before/after called around each run of steps (None: nothing)."""
    H, G = lay.H, lay.G
    _, whT, wrT, _, bh = weights
    act, hs = rs["act"], rs["h"]
    h, c = h0, c0
    hw = xp.empty((h0.shape[0], G * H), act.dtype)
    for t in _steps(segments):
        a, ht = act[t], hs[t]
        m = None if masks is None else masks[t]
        xp.dot(h, whT, out=hw)
        if mode == "lstm":
            c = _lstm_step(xp, a, hw, c, rs, t, ht, wrT, m, clip, H)
        elif mode == "gru":
            _gru_step(xp, a, hw, bh, rs["hn"][t], h, ht, H)
        else:
            a += hw
            if mode == "rnn_tanh":
                xp.tanh(a, out=a)
            else:
                xp.maximum(a, 0, out=a)
            ht[...] = a
        if m is not None:
            _blend(ht, h, m)
            xp.multiply(ht, m, out=o[t])
        else:
            o[t] = ht
        h = ht
    hy[...] = h
    if cy is not None:
        cy[...] = c


def _lstm_step(xp, a, hw, c, rs, t, ht, wrT, m, clip, H):
    """One LSTM step in numpy: gates from a + hw (i, f, o rows pre-halved), the new cell
    state written to rs["c"][t] (returned), h to ht."""
    a += hw
    xp.tanh(a, out=a)
    for sl in (a[:, :2 * H], a[:, 3 * H:]):
        sl *= 0.5
        sl += 0.5
    ct = rs["c"][t]
    xp.multiply(a[:, H:2 * H], c, out=ct)
    ct += a[:, :H] * a[:, 2 * H:3 * H]
    _clip(xp, ct, *clip)
    if m is not None:
        _blend(ct, c, m)
    hp = ht if wrT is None else rs["hp"][t]
    xp.tanh(ct, out=hp)
    hp *= a[:, 3 * H:]
    if wrT is not None:
        xp.dot(hp, wrT, out=ht)
    return ct


def _gru_step(xp, a, hw, bh, hn, h, ht, H):
    """One GRU step in numpy: n = tanh(x_n + r * (W_hn h + b_hn)), h' = n + z (h - n)."""
    hw += bh
    hn[...] = hw[:, 2 * H:]
    a[:, :2 * H] += hw[:, :2 * H]
    _sig_inplace(xp, a[:, :2 * H])
    n = a[:, 2 * H:]
    n += a[:, :H] * hn
    xp.tanh(n, out=n)
    xp.subtract(h, n, out=ht)
    ht *= a[:, H:2 * H]
    ht += n


def _lstm_steps_scan(proj, rs, h0, c0, wh, o, hy, cy, segments):
    """The LSTM's steps as one onnxruntime Scan per run of steps (``_ort_scan``): the
    recurrent GEMM and the gates of a step in one subgraph, every per-step array written
    straight into the reserve; a run's last states start the next run (the caller checked
    ``_ort_scan.usable``; ``wh`` (4H, R) and ``proj`` as stored, not halved)."""
    h, c = np.ascontiguousarray(h0), np.ascontiguousarray(c0)
    for ts, before, after in segments:
        if before is not None:
            before()
        t0, t1 = min(ts), max(ts) + 1
        rev = ts[0] > ts[-1]
        h, c = _ort_scan.lstm_forward(proj[t0:t1], wh, h, c, rs["act"][t0:t1],
                                      rs["c"][t0:t1], rs["h"][t0:t1], rev)
        o[t0:t1] = rs["h"][t0:t1]
        if after is not None:
            after()
    hy[...] = h
    cy[...] = c


def _gru_steps_scan(proj, rs, h0, wh, bh, o, hy, segments):
    """The GRU's steps as one onnxruntime Scan per run of steps, as ``_lstm_steps_scan``."""
    h, bh = np.ascontiguousarray(h0), np.ascontiguousarray(bh)
    for ts, before, after in segments:
        if before is not None:
            before()
        t0, t1 = min(ts), max(ts) + 1
        h = _ort_scan.gru_forward(proj[t0:t1], wh, bh, h, rs["act"][t0:t1], rs["hn"][t0:t1],
                                  rs["h"][t0:t1], ts[0] > ts[-1])
        o[t0:t1] = rs["h"][t0:t1]
        if after is not None:
            after()
    hy[...] = h


def _blend(new, old, m):
    """new = old + m * (new - old) in place: a finished sample keeps its state."""
    new -= old
    new *= m
    new += old
