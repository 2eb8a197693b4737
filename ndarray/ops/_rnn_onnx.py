"""ONNX lowering of the fused ``RNN``: one ONNX ``LSTM``/``GRU``/``RNN`` node per layer.

The flat parameters are sliced into each layer's W (D, G*H, in), R (D, G*H, H) and
B (D, 2*G*H) with the gates reordered (MXNet LSTM i, f, g, o -> ONNX i, o, f, c; GRU r, z, n ->
ONNX z, r, h, with ``linear_before_reset=1``, which is MXNet's GRU formula). Y (T, D, N, H)
becomes (T, N, D*H) by a transpose and a reshape that copies T and N from the input, so the
sequence and batch axes stay dynamic.
"""
import numpy as np

from ...base import ExportError
from ._rnn_compute import layout as _layout
from ._rnn_compute import split_inputs

_ONNX = {"lstm": ("LSTM", [0, 3, 1, 2]), "gru": ("GRU", [1, 0, 2]),
         "rnn_tanh": ("RNN", [0]), "rnn_relu": ("RNN", [0])}


def _slice_param(g, params, spec, perm, G, dt):
    """The weight or bias at ``spec`` in the flat vector, gates reordered, with a leading 1."""
    off, shape = spec
    n = int(np.prod(shape))
    flat = g.op("Slice", params, g.ints([off]), g.ints([off + n]), g.ints([0]))
    rows = shape[0] // G
    w = g.op("Reshape", flat, g.ints([G, rows] + list(shape[1:])))
    if perm != list(range(G)):
        w = g.op("Gather", w, g.ints(perm), axis=0)
    return g.op("Reshape", w, g.ints([1, shape[0]] + list(shape[1:])))


def _cat(g, parts):
    return parts[0] if len(parts) == 1 else g.op("Concat", *parts, axis=0)


def rnn_onnx(g, i, a, o, **attrs):
    mode = attrs["mode"]
    if attrs.get("projection_size"):
        raise ExportError("RNN: ONNX's LSTM has no projection (projection_size)")
    if attrs.get("lstm_state_clip_min") is not None or \
            attrs.get("lstm_state_clip_max") is not None:
        raise ExportError("RNN: ONNX's LSTM clips gates, not the cell state "
                          "(lstm_state_clip_min/max)")
    names = list(i) + [None] * (5 - len(i))
    cell, seq = split_inputs(mode, attrs.get("use_sequence_length"), names[3], names[4])
    lay = _layout(tuple(a[0].shape), attrs)
    dt = np.dtype(a[0].dtype)
    op_type, perm = _ONNX[mode]
    G, H, D = lay.G, lay.H, lay.D
    seq_lens = None
    if seq is not None:
        seq_lens = g.op("Cast", seq, to=g.onnx_dtype(np.int32))
    extra = {}
    if mode == "gru":
        extra["linear_before_reset"] = 1
    elif mode.startswith("rnn"):
        extra["activations"] = ["Tanh" if mode == "rnn_tanh" else "Relu"] * D
    x, hys, cys = names[0], [], []
    for layer in range(lay.L):
        ks = range(layer * D, (layer + 1) * D)
        W = _cat(g, [_slice_param(g, names[1], lay.w[k][0], perm, G, dt) for k in ks])
        R = _cat(g, [_slice_param(g, names[1], lay.w[k][1], perm, G, dt) for k in ks])
        B = _cat(g, [g.op("Concat", _slice_param(g, names[1], lay.w[k][3], perm, G, dt),
                      _slice_param(g, names[1], lay.w[k][4], perm, G, dt), axis=1)
                 for k in ks])
        h0 = g.op("Slice", names[2], g.ints([layer * D]), g.ints([(layer + 1) * D]),
                  g.ints([0]))
        ins = [x, W, R, B, seq_lens, h0]
        if mode == "lstm":
            ins.append(g.op("Slice", cell, g.ints([layer * D]), g.ints([(layer + 1) * D]),
                            g.ints([0])))
        n_out = 3 if mode == "lstm" else 2
        res = g.op(op_type, *ins, outputs=n_out, hidden_size=H,
                   direction="bidirectional" if D == 2 else "forward", **extra)
        y = g.op("Transpose", res[0], perm=[0, 2, 1, 3])        # (T, N, D, H)
        x = g.op("Reshape", y, g.ints([0, 0, -1]))
        hys.append(res[1])
        if mode == "lstm":
            cys.append(res[2])
    outs = [x]
    if attrs.get("state_outputs"):
        outs.append(hys[0] if len(hys) == 1 else g.op("Concat", *hys, axis=0))
        if mode == "lstm":
            outs.append(cys[0] if len(cys) == 1 else g.op("Concat", *cys, axis=0))
    if attrs.get("_hidden"):
        raise ExportError("RNN with the hidden reserve exists only in training graphs")
    return outs[0] if len(outs) == 1 else outs

