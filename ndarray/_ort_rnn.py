"""Inference of the fused RNN op (LSTM, GRU) by onnxruntime's own LSTM and GRU kernels.

Without autograd recording the RNN op needs no reserve (the gate activations and states its
backward reads), and onnxruntime's LSTM/GRU kernels run the whole stack in one call: the
recurrent product of each step on every core (MLAS), the gates in its vectorized loops. On
W4's shapes (T 35, N 20, 256 -> 256) one LSTM layer took 4.3 ms there against 10.1 ms by the
op's Scan path (which writes the reserve, one thread), 2026-12-07.

The weights are MXNet's flat vector (per layer and direction i2h (G*H, in), h2h (G*H, H),
then the biases) with the gates reordered for ONNX, as the exporter does
(``ops/_rnn_onnx.py``): LSTM i, f, g, o -> i, o, f, c; GRU r, z, n -> z, r, h with
``linear_before_reset=1``, MXNet's GRU formula. float32 only, no projection, no sequence
lengths, no state clipping (ONNX's ``clip`` bounds the gates' inputs, not the cell state):
the op's own loops cover the rest.

Example::

    >>> if usable(mode, lay, masks, clip, data, params, h0, c0):
    ...     forward(mode, lay, data, params, h0, c0, out, hy, cy)
"""
import numpy as np

from . import _ort_kernels as ok

_ONNX = {"lstm": ("LSTM", [0, 3, 1, 2]), "gru": ("GRU", [1, 0, 2])}


def usable(mode, lay, masks, clip, *arrays):
    """Whether ``forward`` applies: an LSTM or GRU without projection, sequence lengths or
    clipping, over non-empty C-contiguous float32 numpy arrays (``None`` entries skipped;
    onnxruntime fails on empty sequences or batches)."""
    return (mode in _ONNX and not lay.P and masks is None and clip[0] is None
            and clip[1] is None and arrays[0].size > 0 and ok.available()
            and all(a is None or (type(a) is np.ndarray and a.dtype == np.float32
                                  and a.flags.c_contiguous) for a in arrays))


def _value(name, shape):
    from onnx import TensorProto, helper
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _model(mode, L, D, H, C):
    """One LSTM/GRU node per layer; inputs ``x``, then per layer ``w{l}, r{l}, b{l}, h{l}``
    (and ``c{l}``); outputs ``y`` (T, N, D*H), then per layer ``hy{l}`` (and ``cy{l}``)."""
    from onnx import helper, numpy_helper
    op_type, _ = _ONNX[mode]
    G = 4 if mode == "lstm" else 3
    extra = {"linear_before_reset": 1} if mode == "gru" else {}
    inputs, outputs, nodes = [_value("x", ["t", "n", C])], [], []
    x = "x"
    for layer in range(L):
        ni = C if layer == 0 else D * H
        names = [f"w{layer}", f"r{layer}", f"b{layer}", f"h{layer}"]
        shapes = [[D, G * H, ni], [D, G * H, H], [D, 2 * G * H], [D, "n", H]]
        if mode == "lstm":
            names.append(f"c{layer}")
            shapes.append([D, "n", H])
        inputs += [_value(n, s) for n, s in zip(names, shapes)]
        outs = [f"y4_{layer}", f"hy{layer}"] + ([f"cy{layer}"] if mode == "lstm" else [])
        node_ins = [x, names[0], names[1], names[2], "", names[3]] + names[4:]
        nodes.append(helper.make_node(op_type, node_ins, outs, hidden_size=H,
                                      direction="bidirectional" if D == 2 else "forward",
                                      **extra))
        # (T, D, N, H) -> (T, N, D*H): the next layer's input, or the output
        nodes.append(helper.make_node("Transpose", [outs[0]], [f"yt{layer}"], perm=[0, 2, 1, 3]))
        x = "y" if layer == L - 1 else f"y{layer}"
        nodes.append(helper.make_node("Reshape", [f"yt{layer}", "flat"], [x]))
        outputs += [_value(n, [D, "n", H]) for n in outs[1:]]
    flat = numpy_helper.from_array(np.array([0, 0, -1], np.int64), "flat")
    graph = helper.make_graph(nodes, "kiln_rnn_" + mode, inputs,
                              [_value("y", ["t", "n", D * H])] + outputs, [flat])
    return ok._session_of(graph)


def _gates(w, perm, G):
    """``w`` (G*H, ...) with its row blocks in ONNX's gate order (a new array)."""
    rows = w.shape[0] // G
    return w.reshape((G, rows) + w.shape[1:])[perm].reshape(w.shape)


def _view(flat, spec):
    off, shape = spec
    return flat[off:off + int(np.prod(shape))].reshape(shape)


def _weights(params, lay, layer, perm):
    """ONNX's W (D, G*H, in), R (D, G*H, H) and B (D, 2*G*H) of ``layer``."""
    ks = range(layer * lay.D, (layer + 1) * lay.D)
    w = [[_gates(_view(params, lay.w[k][j]), perm, lay.G) for j in (0, 1, 3, 4)] for k in ks]
    if len(w) == 1:   # one direction: a leading axis, no second copy
        p = w[0]
        return p[0][None], p[1][None], np.concatenate([p[2], p[3]])[None]
    return (np.stack([p[0] for p in w]), np.stack([p[1] for p in w]),
            np.stack([np.concatenate([p[2], p[3]]) for p in w]))


def forward(mode, lay, data, params, h0, c0, out, hy, cy):
    """Fill ``out`` (T, N, D*H), ``hy`` (L*D, N, H) and ``cy`` (an LSTM's) from ``data``
    (T, N, C), the flat ``params`` and the initial states ``h0``/``c0`` (L*D, N, H)."""
    L, D, H = lay.L, lay.D, lay.H
    C = data.shape[2]
    sess = ok.cached_session(("rnn_infer", mode, L, D, H, C),
                             lambda: _model(mode, L, D, H, C))
    perm = _ONNX[mode][1]
    if mode == "lstm" and c0 is None:
        c0 = np.zeros(hy.shape[:2] + (H,), np.float32)
    io = sess.io_binding()
    io.bind_cpu_input("x", data)
    keep = []   # the bound arrays (converted weights, state slices) must outlive the run
    for layer in range(L):
        w, r, b = _weights(params, lay, layer, perm)
        sl = slice(layer * D, (layer + 1) * D)
        feeds = [("w", w), ("r", r), ("b", b), ("h", h0[sl])]
        if mode == "lstm":
            feeds.append(("c", c0[sl]))
        for name, arr in feeds:
            keep.append(np.ascontiguousarray(arr))
            io.bind_cpu_input(f"{name}{layer}", keep[-1])
        for name, dst in (("hy", hy), ("cy", cy)):
            if dst is not None:
                part = dst[sl]
                io.bind_output(f"{name}{layer}", "cpu", 0, part.dtype, list(part.shape),
                               part.ctypes.data)
    io.bind_output("y", "cpu", 0, out.dtype, list(out.shape), out.ctypes.data)
    sess.run_with_iobinding(io)
    return out
