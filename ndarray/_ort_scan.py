"""An LSTM's or GRU's step loops as one onnxruntime ``Scan`` each, over numpy buffers.

The fused RNN op's forward and backward (``ops/_rnn_compute``, ``ops/_rnn_bptt``) run their
step loops here where they can: one ``Scan`` call runs a run of steps, each step's recurrent
product (MLAS) and its gate arithmetic in one subgraph, and writes every per-step array the
backward needs straight into the caller's buffers. In Python each step cost a GEMM call, an
onnxruntime call for the gates and four copies (W4's LSTM, one thread: ~270 us a step, of
which ~130 the GEMM); the Scan step costs ~175 us (docs/architecture.md, "Recurrent
kernels").

* ``lstm_forward(xs, wh, h0, c0, acts, cs, hs, rev)``: ``xs`` (T, N, 4H) the input
  projections with both biases, ``wh`` (4H, R) the recurrent weight as stored; the gates
  use sigmoid(x) = (1 + tanh(x/2)) / 2, one tanh over all four; writes the gates ``acts``,
  cell states ``cs`` and outputs ``hs`` of every step and returns the last (h, c).
* ``lstm_backward(gh, act, ot, tc, dfac, cprev, wh, dh, dc, u, dh0, dc0, rev)``: BPTT over the
  saved gates; writes ``u`` (T, N, 4H), the gradients of the gate pre-activations, and the
  gradients of the first step's states.
* ``gru_forward`` and ``gru_backward``: the same for a GRU (gates r, z, n; the recurrent
  side's gradient written apart, as ``b_hn`` sits inside ``r *``).

``usable(*arrays)`` says whether they can run (the caller checks it first): onnxruntime
present and on (not ``KILN_ORT_KERNELS=0``), numpy float32 or float64 buffers, all
C-contiguous. Every step is computed by one thread, so results do not depend on the thread
count or on how a sequence is cut into runs.

Example::

    >>> if usable(xs, wh, h0, c0, acts, cs, hs):
    ...     h, c = lstm_forward(xs, wh, h0, c0, acts, cs, hs, rev=False)
"""
import numpy as np

from . import _ort_kernels as ok

__all__ = ["lstm_forward", "lstm_backward"]


def _value(name, code, shape):
    from onnx import helper
    return helper.make_tensor_value_info(name, code, shape)


def _scan_model(name, dtype, body_nodes, states, scans, outs, n_scan_in, rev, inits, extra):
    """A model of one Scan over ``body_nodes``: ``states`` (name, shape) loop-carried,
    ``scans`` (name, shape) per-step inputs, ``outs`` (name, shape) per-step outputs; ``extra``
    (name, shape): whole-run inputs the body reads from the outer graph."""
    from onnx import helper
    code = ok._DTYPES[np.dtype(dtype)]
    body = helper.make_graph(
        body_nodes, name + "_body",
        [_value(n + "_in", code, s) for n, s in states] + [_value(n, code, s) for n, s in scans],
        [_value(n + "_out", code, s) for n, s in states]
        + [_value(n + "_t", code, s) for n, s in outs])
    direction = [1 if rev else 0]
    scan = helper.make_node(
        "Scan", [n for n, _ in states] + [n + "_seq" for n, _ in scans],
        [n + "_last" for n, _ in states] + [n + "_seq" for n, _ in outs], body=body,
        num_scan_inputs=n_scan_in, scan_input_directions=direction * n_scan_in,
        scan_output_directions=direction * len(outs))
    from onnx import numpy_helper
    graph = helper.make_graph(
        [scan], name,
        [_value(n, code, s) for n, s in states]
        + [_value(n + "_seq", code, ["t"] + s) for n, s in scans]
        + [_value(n, code, s) for n, s in extra],
        [_value(n + "_last", code, s) for n, s in states]
        + [_value(n + "_seq", code, ["t"] + s) for n, s in outs],
        [numpy_helper.from_array(a, n) for n, a in inits])
    return ok._one_thread_session(graph)


def _lstm_forward_model(H, R, dtype, rev):
    from onnx import helper
    half = np.full(4 * H, 0.5, dtype)
    half[2 * H:3 * H] = 1.0
    shift = np.full(4 * H, 0.5, dtype)
    shift[2 * H:3 * H] = 0.0
    mk = helper.make_node
    nodes = [mk("Gemm", ["h_in", "wh"], ["hw"], transB=1),
             mk("Add", ["hw", "x"], ["pre"]),
             mk("Mul", ["pre", "half"], ["pre_half"]),
             mk("Tanh", ["pre_half"], ["t"]),
             mk("Mul", ["t", "half"], ["ts"]),
             mk("Add", ["ts", "shift"], ["act"]),
             mk("Split", ["act", "sizes"], ["i", "f", "g", "o"], axis=1),
             mk("Mul", ["f", "c_in"], ["fc"]),
             mk("Mul", ["i", "g"], ["ig"]),
             mk("Add", ["fc", "ig"], ["c_out"]),
             mk("Tanh", ["c_out"], ["tc"]),
             mk("Mul", ["o", "tc"], ["h_out"]),
             mk("Identity", ["act"], ["act_t"]),
             mk("Identity", ["c_out"], ["c_t"]),
             mk("Identity", ["h_out"], ["h_t"])]
    inits = [("half", half), ("shift", shift), ("sizes", np.full(4, H, np.int64))]
    return _scan_model("kiln_lstm_forward", dtype, nodes, [("h", ["n", R]), ("c", ["n", H])],
                       [("x", ["n", 4 * H])],
                       [("act", ["n", 4 * H]), ("c", ["n", H]), ("h", ["n", R])], 1, rev,
                       inits, [("wh", [4 * H, R])])


def _lstm_backward_model(H, R, dtype, rev):
    """dh_t = dh_in + gh; dct = dh * ot + dc_in; u = [dct g, dct c_prev, dct i, dh tanh(c)] *
    dfac (each gate's derivative); dc_out = dct f; dh_out = u @ wh (dh the state, gh the
    output's gradient; outer names must not repeat inside: SSA)."""
    from onnx import helper
    mk = helper.make_node
    nodes = [mk("Add", ["dh_in", "gh"], ["dh_t"]),
             mk("Mul", ["dh_t", "ot"], ["dho"]),
             mk("Add", ["dho", "dc_in"], ["dct"]),
             mk("Split", ["act", "sizes"], ["i", "f", "g", "o"], axis=1),
             mk("Mul", ["dct", "g"], ["ui"]),
             mk("Mul", ["dct", "cprev"], ["uf"]),
             mk("Mul", ["dct", "i"], ["ug"]),
             mk("Mul", ["dh_t", "tc"], ["uo"]),
             mk("Concat", ["ui", "uf", "ug", "uo"], ["ucat"], axis=1),
             mk("Mul", ["ucat", "dfac"], ["u_t"]),
             mk("Mul", ["dct", "f"], ["dc_out"]),
             mk("MatMul", ["u_t", "wh"], ["dh_out"])]
    inits = [("sizes", np.full(4, H, np.int64))]
    # the Scan's "direction" is the forward's reversed: BPTT walks the steps backwards
    return _scan_model("kiln_lstm_backward", dtype, nodes, [("dh", ["n", R]), ("dc", ["n", H])],
                       [("gh", ["n", R]), ("act", ["n", 4 * H]), ("ot", ["n", H]),
                        ("tc", ["n", H]), ("dfac", ["n", 4 * H]), ("cprev", ["n", H])],
                       [("u", ["n", 4 * H])], 6, not rev, inits, [("wh", [4 * H, R])])


def _run(key, build, inputs, outputs):
    sess = ok.cached_session(key, build)
    io = sess.io_binding()
    for name, arr in inputs:
        io.bind_cpu_input(name, arr)
    for name, arr in outputs:
        io.bind_output(name, "cpu", 0, arr.dtype, list(arr.shape), arr.ctypes.data)
    sess.run_with_iobinding(io)


def usable(*arrays):
    """Whether the Scans can run over these arrays: numpy, C-contiguous, one dtype (float32
    or float64), onnxruntime's kernels on (``_ort_kernels.available``)."""
    dtype = arrays[0].dtype
    return (dtype in ok._DTYPES and ok.available()
            and all(type(a) is np.ndarray and a.dtype == dtype and a.flags.c_contiguous
                    for a in arrays))


def lstm_forward(xs, wh, h0, c0, acts, cs, hs, rev):
    """Run the LSTM's steps over ``xs`` (see the module docstring); the last step's (h, c).
    The caller checks ``usable`` first."""
    G, R = wh.shape
    H, dtype = G // 4, xs.dtype
    hT, cT = np.empty_like(h0), np.empty_like(c0)
    _run(("lstm_scan_fwd", H, R, dtype, rev), lambda: _lstm_forward_model(H, R, dtype, rev),
         [("h", h0), ("c", c0), ("x_seq", xs), ("wh", wh)],
         [("h_last", hT), ("c_last", cT), ("act_seq", acts), ("c_seq", cs), ("h_seq", hs)])
    return hT, cT


def lstm_backward(gh, act, ot, tc, dfac, cprev, wh, dh, dc, u, dh0, dc0, rev):
    """BPTT over an LSTM layer's steps (see the module docstring); the caller checks
    ``usable`` first."""
    G, R = wh.shape
    H, dtype = G // 4, gh.dtype
    _run(("lstm_scan_bwd", H, R, dtype, rev), lambda: _lstm_backward_model(H, R, dtype, rev),
         [("dh", dh), ("dc", dc), ("gh_seq", gh), ("act_seq", act), ("ot_seq", ot),
          ("tc_seq", tc), ("dfac_seq", dfac), ("cprev_seq", cprev), ("wh", wh)],
         [("dh_last", dh0), ("dc_last", dc0), ("u_seq", u)])


def _gru_forward_model(H, dtype, rev):
    """r, z = sigmoid(x_rz + hw_rz + b_rz) (as (1 + tanh(v/2)) / 2, the numpy loop's form),
    hn = hw_n + b_hn, n = tanh(x_n + r hn), h = n + z (h_prev - n); per step: act = [r, z, n],
    hn and h."""
    from onnx import helper
    mk = helper.make_node
    half = np.full(2 * H, 0.5, dtype)
    nodes = [mk("Gemm", ["h_in", "wh"], ["hw"], transB=1),
             mk("Add", ["hw", "bh"], ["hwb"]),
             mk("Split", ["hwb", "sizes"], ["h_rz", "hn"], axis=1),
             mk("Split", ["x", "sizes"], ["x_rz", "x_n"], axis=1),
             mk("Add", ["x_rz", "h_rz"], ["rz_pre"]),
             mk("Mul", ["rz_pre", "half"], ["rz_half"]),
             mk("Tanh", ["rz_half"], ["rz_t"]),
             mk("Mul", ["rz_t", "half"], ["rz_t2"]),
             mk("Add", ["rz_t2", "half"], ["rz"]),
             mk("Split", ["rz", "halves"], ["r", "z"], axis=1),
             mk("Mul", ["r", "hn"], ["rhn"]),
             mk("Add", ["x_n", "rhn"], ["n_pre"]),
             mk("Tanh", ["n_pre"], ["n"]),
             mk("Sub", ["h_in", "n"], ["hd"]),
             mk("Mul", ["z", "hd"], ["zhd"]),
             mk("Add", ["n", "zhd"], ["h_out"]),
             mk("Concat", ["rz", "n"], ["act_t"], axis=1),
             mk("Identity", ["hn"], ["hn_t"]),
             mk("Identity", ["h_out"], ["h_t"])]
    inits = [("half", half), ("sizes", np.array([2 * H, H], np.int64)),
             ("halves", np.array([H, H], np.int64))]
    return _scan_model("kiln_gru_forward", dtype, nodes, [("h", ["n", H])],
                       [("x", ["n", 3 * H])],
                       [("act", ["n", 3 * H]), ("hn", ["n", H]), ("h", ["n", H])], 1, rev,
                       inits, [("wh", [3 * H, H]), ("bh", [3 * H])])


def _gru_backward_model(H, dtype, rev):
    """dh_t = dh_in + gh; dn = dh_t fn; dr = dn fr; dz = dh_t fz (fn, fr, fz the
    whole-sequence factors of ``_rnn_bptt._gru_backward_prep``); per step the input-side
    pre-activation gradients dx = [dr, dz, dn] and the recurrent side's dhr = [dr, dz, dn r];
    dh_out = dhr @ wh + dh_t z."""
    from onnx import helper
    mk = helper.make_node
    nodes = [mk("Add", ["dh_in", "gh"], ["dh_t"]),
             mk("Mul", ["dh_t", "fn"], ["dn"]),
             mk("Split", ["act", "thirds"], ["r", "z", "n"], axis=1),
             mk("Mul", ["dn", "fr"], ["dr"]),
             mk("Mul", ["dh_t", "fz"], ["dz"]),
             mk("Mul", ["dn", "r"], ["dnr"]),
             mk("Concat", ["dr", "dz", "dn"], ["dx_t"], axis=1),
             mk("Concat", ["dr", "dz", "dnr"], ["dhr_t"], axis=1),
             mk("MatMul", ["dhr_t", "wh"], ["dprev"]),
             mk("Mul", ["dh_t", "z"], ["direct"]),
             mk("Add", ["dprev", "direct"], ["dh_out"])]
    inits = [("thirds", np.full(3, H, np.int64))]
    return _scan_model("kiln_gru_backward", dtype, nodes, [("dh", ["n", H])],
                       [("gh", ["n", H]), ("act", ["n", 3 * H]), ("fn", ["n", H]),
                        ("fr", ["n", H]), ("fz", ["n", H])],
                       [("dx", ["n", 3 * H]), ("dhr", ["n", 3 * H])], 5, not rev, inits,
                       [("wh", [3 * H, H])])


def gru_forward(xs, wh, bh, h0, acts, hns, hs, rev):
    """Run a GRU's steps over ``xs`` (T, N, 3H), the input projections with b_i; ``wh``
    (3H, H) the recurrent weight as stored, ``bh`` (3H,) its bias; writes the gates
    ``acts`` ([r, z, n]), ``hns`` (W_hn h + b_hn) and outputs ``hs`` of every step and
    returns the last h. The caller checks ``usable`` first."""
    H, dtype = wh.shape[1], xs.dtype
    hT = np.empty_like(h0)
    _run(("gru_scan_fwd", H, dtype, rev), lambda: _gru_forward_model(H, dtype, rev),
         [("h", h0), ("x_seq", xs), ("wh", wh), ("bh", bh)],
         [("h_last", hT), ("act_seq", acts), ("hn_seq", hns), ("h_seq", hs)])
    return hT


def gru_backward(gh, act, fn, fr, fz, wh, dh, dx, dhr, rev):
    """BPTT over a GRU layer's steps: writes ``dx`` and ``dhr`` (T, N, 3H), the input- and
    recurrent-side gradients of the gate pre-activations; returns the gradient of the first
    step's state. The caller checks ``usable`` first."""
    H, dtype = wh.shape[1], gh.dtype
    dh0 = np.empty_like(dh)
    _run(("gru_scan_bwd", H, dtype, rev), lambda: _gru_backward_model(H, dtype, rev),
         [("dh", dh), ("gh_seq", gh), ("act_seq", act), ("fn_seq", fn), ("fr_seq", fr),
          ("fz_seq", fz), ("wh", wh)],
         [("dh_last", dh0), ("dx_seq", dx), ("dhr_seq", dhr)])
    return dh0
