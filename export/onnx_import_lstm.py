"""ONNX ``LSTM`` forms kiln's fused ``rnn`` op cannot say, unrolled over the (static) time axis.

MXNet's LSTM (kiln's ``rnn`` op) has no peepholes, couples no gates and clips only the cell
state. An ONNX LSTM with non-zero peepholes ``P`` (``P_i . C_{t-1}`` added to the input and
forget gates, ``P_o . C_t`` to the output gate), ``input_forget=1`` (``f_t = 1 - i_t``) or
``clip`` (every gate's pre-activation clipped to ``[-clip, clip]``) becomes one small graph per
time step and direction (matmuls, sigmoid, tanh), ONNX's gate order i, o, f, c read straight
from W, R, B and P. ``sequence_lens`` masks the steps past each sequence's end (the states
hold, Y is zero); gradients reach W, R, B, P and the data. Needs a static sequence length;
layout 0 and ONNX's default activations (the fused path's limits stay as they are).

Example: ``LSTM(X (T, N, I), W, R, B, sequence_lens, initial_h, initial_c, P)`` imports as T
chained cells per direction.
"""
from ..base import MXNetError
from .onnx_import_gru import _bias, _lin, _opt, _rows
from .onnx_import_ops import _attrs, _sub

_I, _O, _F, _C = range(4)   # ONNX's gate blocks in W, R and B


def _state0(imp, n, name, d, N, H, nk, first):
    """Direction ``d``'s initial state (N, H): the input's slice, else zeros."""
    if name:
        s = imp.op(_sub(n, nk()), "slice", [imp.t(name)], begin=(d, None, None),
                   end=(d + 1, None, None))
        return imp.op(_sub(n, nk()), "reshape", [s], shape=(N, H))
    z = imp.op(_sub(n, nk()), "zeros_like", [imp.op(_sub(n, nk()), "slice", [first],
                                                    begin=(None, 0), end=(None, 1))])
    return imp.op(_sub(n, nk()), "repeat", [z], repeats=H, axis=1)


def _cell(op, act, lin, peep, c, coupled):
    """One LSTM step from the gates' linear parts ``lin[g]``: (h_t, c_t)."""
    def gate(g, cell, kind="sigmoid"):
        pre = lin[g]
        if cell is not None and peep[g] is not None:   # P's blocks: i, o, f
            pre = op("add", [pre, op("multiply", [peep[g], cell])])
        return act(kind, pre)
    i = gate(_I, c)
    f = op("subtract", [1.0, i]) if coupled else gate(_F, c)
    new_c = op("add", [op("multiply", [f, c]), op("multiply", [i, gate(_C, None, "tanh")])])
    o = gate(_O, new_c)
    return op("multiply", [o, op("tanh", [new_c])]), new_c


def lstm_unrolled(imp, n):
    """Convert one ONNX LSTM node step by step; returns (Y, Y_h, Y_c)."""
    a = _attrs(n)
    if int(a.get("layout", 0)) or a.get("activations"):
        raise MXNetError(f"ONNX import: LSTM node {n.name or n.output[0]!r}: peepholes, clip "
                         "or input_forget with a layout or activations are not supported")
    T, N, _ = imp.shape(n.input[0])
    D, G4, _ = imp.shape(n.input[1])
    H = G4 // 4
    direction = a.get("direction", "forward")
    direction = direction.decode() if isinstance(direction, bytes) else direction
    dirs = {"forward": [0], "reverse": [1], "bidirectional": [0, 1]}[direction]
    clip = a.get("clip")
    coupled = bool(int(a.get("input_forget", 0)))
    x, w, r = imp.t(n.input[0]), imp.t(n.input[1]), imp.t(n.input[2])
    b, p = (imp.t(_opt(n, k)) if _opt(n, k) else None for k in (3, 7))
    lens = _opt(n, 4)
    k = [3000]

    def nk(step=2):
        k[0] += step
        return k[0]

    def op(name, ins, **attrs):
        return imp.op(_sub(n, nk()), name, ins, **attrs)

    def act(kind, pre):
        if clip is not None:
            pre = op("clip", [pre], a_min=-float(clip), a_max=float(clip))
        return op(kind, [pre])

    steps = [op("reshape", [op("slice", [x], begin=(t, None, None), end=(t + 1, None, None))],
                shape=(N, -1)) for t in range(T)]
    if lens:
        lens_f = op("reshape", [op("cast", [imp.t(lens)], dtype="float32")], shape=(N, 1))
    ys, hs, cs = [], [], []
    for d, backward in enumerate(dirs):
        rows = [(_rows(imp, n, nk(), w, d, g, H), _rows(imp, n, nk(), r, d, g, H))
                for g in range(4)]
        biases = [(_bias(imp, n, nk(), b, d, g, H), _bias(imp, n, nk(), b, d, 4 + g, H))
                  if b is not None else (None, None) for g in range(4)]
        peep = [_bias(imp, n, nk(), p, d, g, H) if p is not None else None for g in range(3)]
        h = _state0(imp, n, _opt(n, 5), d, N, H, nk, steps[0])
        c = _state0(imp, n, _opt(n, 6), d, N, H, nk, steps[0])
        out = [None] * T
        for t in (range(T - 1, -1, -1) if backward else range(T)):
            lin = [None if coupled and g == _F else
                   _lin(imp, n, nk, steps[t], rows[g], biases[g], h) for g in range(4)]
            new_h, new_c = _cell(op, act, lin, peep, c, coupled)
            if lens:   # steps past a sequence's end keep the states and output zeros
                m = op("cast", [op("greater", [lens_f, float(t)])], dtype="float32")
                stay = op("subtract", [1.0, m])
                new_h = op("add", [op("multiply", [m, new_h]), op("multiply", [stay, h])])
                new_c = op("add", [op("multiply", [m, new_c]), op("multiply", [stay, c])])
                out[t] = op("multiply", [m, new_h])
            else:
                out[t] = new_h
            h, c = new_h, new_c
        ys.append(op("stack", out, axis=0, num_args=T))   # (T, N, H)
        hs.append(h)
        cs.append(c)
    y = op("stack", ys, axis=1, num_args=len(ys))         # (T, D, N, H)
    return [imp.op(n, "identity", [y]), op("stack", hs, axis=0, num_args=len(hs)),
            op("stack", cs, axis=0, num_args=len(cs))]
