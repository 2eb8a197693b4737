"""A plain numpy reference of MXNet's fused ``RNN``: one sample, one step, one cell at a time.

Deliberately naive (no shared code with ``_rnn_compute``): the registry tests check the fused
kernel against it. Layout and gate order as MXNet (see ops/rnn.py).
"""
import numpy as np

_G = {"rnn_relu": 1, "rnn_tanh": 1, "lstm": 4, "gru": 3}


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def _unpack(params, mode, C, H, L, D, P):
    G, R, off, ws = _G[mode], P or H, 0, []

    def take(shape):
        nonlocal off
        n = int(np.prod(shape))
        a = params[off:off + n].reshape(shape)
        off += n
        return a
    for layer in range(L):
        ni = C if layer == 0 else D * R
        for _ in range(D):
            ws.append({"wi": take((G * H, ni)), "wh": take((G * H, R)),
                       "wr": take((P, H)) if P else None})
    for w in ws:
        w["bi"], w["bh"] = take((G * H,)), take((G * H,))
    return ws


def _cell(mode, w, x, h, c, H, clip):
    gi = w["wi"] @ x + w["bi"]
    gh = w["wh"] @ h + w["bh"]
    if mode == "rnn_tanh":
        return np.tanh(gi + gh), None
    if mode == "rnn_relu":
        return np.maximum(gi + gh, 0), None
    if mode == "gru":
        r = _sig(gi[:H] + gh[:H])
        z = _sig(gi[H:2 * H] + gh[H:2 * H])
        n = np.tanh(gi[2 * H:] + r * gh[2 * H:])
        return (1 - z) * n + z * h, None
    a = gi + gh
    i, f, g, o = _sig(a[:H]), _sig(a[H:2 * H]), np.tanh(a[2 * H:3 * H]), _sig(a[3 * H:])
    c = f * c + i * g
    if clip[0] is not None or clip[1] is not None:
        c = np.clip(c, -np.inf if clip[0] is None else clip[0],
                    np.inf if clip[1] is None else clip[1])
    h = o * np.tanh(c)
    if w["wr"] is not None:
        h = w["wr"] @ h
    return h, c


def rnn_reference(data, parameters, state, state_cell, sequence_length, *, mode, state_size,
                  num_layers, bidirectional=False, state_outputs=False, projection_size=None,
                  lstm_state_clip_min=None, lstm_state_clip_max=None,
                  use_sequence_length=False, **_):
    if mode != "lstm" and sequence_length is None and state_cell is not None:
        state_cell, sequence_length = None, state_cell
    T, N, C = data.shape
    H, L, D, P = int(state_size), int(num_layers), 2 if bidirectional else 1, \
        int(projection_size or 0)
    R = P or H
    ws = _unpack(parameters, mode, C, H, L, D, P)
    lens = [T] * N if not use_sequence_length else [int(v) for v in sequence_length]
    clip = (lstm_state_clip_min, lstm_state_clip_max)
    x = data
    hy = np.zeros((L * D, N, R))
    cy = np.zeros((L * D, N, H))
    for layer in range(L):
        out = np.zeros((T, N, D * R))
        for d in range(D):
            k = layer * D + d
            for b in range(N):
                h = state[k, b]
                c = state_cell[k, b] if mode == "lstm" else None
                steps = range(lens[b] - 1, -1, -1) if d else range(lens[b])
                for t in steps:
                    h, c = _cell(mode, ws[k], x[t, b], h, c, H, clip)
                    out[t, b, d * R:(d + 1) * R] = h
                hy[k, b] = h
                if c is not None:
                    cy[k, b] = c
        x = out
    res = [x]
    if state_outputs:
        res.append(hy)
        if mode == "lstm":
            res.append(cy)
    return res[0] if len(res) == 1 else res
