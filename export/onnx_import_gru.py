"""ONNX ``GRU`` with ``linear_before_reset=0``, unrolled over its (static) time axis.

kiln's fused ``rnn`` op is MXNet's GRU, which is ONNX's ``linear_before_reset=1`` (the reset
gate multiplies ``H R_h^T + Rb_h``); ONNX's default resets the state before the product:
``h_t = tanh(X_t W_h^T + (r_t * H_{t-1}) R_h^T + Rb_h + Wb_h)``. Such a node becomes one
small graph per time step (matmuls, sigmoid, tanh) in each direction; ``sequence_lens`` masks
the steps past each sequence's end (the state holds, the output is zero); gradients reach W,
R, B and the data. Needs a static sequence length; layout 0 only, default activations.

Example: ``GRU(X (T, N, I), W, R)`` imports as T chained cells.
"""
from ..base import MXNetError
from .onnx_import_ops import _attrs, _sub


def _opt(n, k):
    return n.input[k] if len(n.input) > k and n.input[k] else None


def _rows(imp, n, k, w, d, g, h):
    """Gate ``g``'s rows of direction ``d`` of a (D, 3H, X) weight -> (H, X)."""
    s = imp.op(_sub(n, k), "slice", [w], begin=(d, g * h, None), end=(d + 1, (g + 1) * h, None))
    return imp.op(_sub(n, k + 1), "reshape", [s], shape=(h, -1))


def _bias(imp, n, k, b, d, j, h):
    s = imp.op(_sub(n, k), "slice", [b], begin=(d, j * h), end=(d + 1, (j + 1) * h))
    return imp.op(_sub(n, k + 1), "reshape", [s], shape=(h,))


def _lin(imp, n, nk, x_t, rows, biases, state):
    """x_t W_g^T + state R_g^T + Wb_g + Rb_g for one gate."""
    y = imp.op(_sub(n, nk()), "dot", [x_t, rows[0]], transpose_b=True)
    y = imp.op(_sub(n, nk()), "add", [y, imp.op(_sub(n, nk()), "dot", [state, rows[1]],
                                                 transpose_b=True)])
    for bias in biases:
        if bias is not None:
            y = imp.op(_sub(n, nk()), "add", [y, bias])
    return y


def gru_unrolled(imp, n):
    a = _attrs(n)
    if int(a.get("layout", 0)) or a.get("activations") or "clip" in a:
        raise MXNetError(f"ONNX import: GRU node {n.name or n.output[0]!r}: "
                         "linear_before_reset=0 with a layout, activations or clip is not "
                         "supported")
    T, N, _ = imp.shape(n.input[0])
    D, G3, _ = imp.shape(n.input[1])
    H = G3 // 3
    dirs = {"forward": [0], "reverse": [1], "bidirectional": [0, 1]}[
        (a.get("direction", b"forward").decode() if isinstance(a.get("direction"), bytes)
         else a.get("direction", "forward"))]
    x, w, r = imp.t(n.input[0]), imp.t(n.input[1]), imp.t(n.input[2])
    b = imp.t(_opt(n, 3)) if _opt(n, 3) else None
    lens = _opt(n, 4)
    k = [1000]

    def nk(step=2):
        k[0] += step
        return k[0]

    steps = [imp.op(_sub(n, nk()), "reshape", [imp.op(_sub(n, nk()), "slice", [x],
                                                      begin=(t, None, None),
                                                      end=(t + 1, None, None))], shape=(N, -1))
             for t in range(T)]
    if lens:
        lens_f = imp.op(_sub(n, nk()), "reshape", [imp.op(_sub(n, nk()), "cast", [
            imp.t(lens)], dtype="float32")], shape=(N, 1))
    ys, hs = [], []
    for d, direction in enumerate(dirs):
        rows = [(_rows(imp, n, nk(), w, d, g, H), _rows(imp, n, nk(), r, d, g, H))
                for g in range(3)]
        biases = [(_bias(imp, n, nk(), b, d, g, H), _bias(imp, n, nk(), b, d, 3 + g, H))
                  if b is not None else (None, None) for g in range(3)]
        if _opt(n, 5):
            h = imp.op(_sub(n, nk()), "reshape", [imp.op(_sub(n, nk()), "slice", [
                imp.t(n.input[5])], begin=(d, None, None), end=(d + 1, None, None))],
                shape=(N, H))
        else:
            h = imp.op(_sub(n, nk()), "zeros_like", [imp.op(_sub(n, nk()), "slice", [steps[0]],
                                                            begin=(None, 0), end=(None, 1))])
            h = imp.op(_sub(n, nk()), "repeat", [h], repeats=H, axis=1)
        out = [None] * T
        for t in (range(T - 1, -1, -1) if direction else range(T)):
            z = imp.op(_sub(n, nk()), "sigmoid", [_lin(imp, n, nk, steps[t], rows[0],
                                                       biases[0], h)])
            rg = imp.op(_sub(n, nk()), "sigmoid", [_lin(imp, n, nk, steps[t], rows[1],
                                                        biases[1], h)])
            reset = imp.op(_sub(n, nk()), "multiply", [rg, h])
            cand = imp.op(_sub(n, nk()), "tanh", [_lin(imp, n, nk, steps[t], rows[2],
                                                       biases[2], reset)])
            keep = imp.op(_sub(n, nk()), "multiply", [z, h])
            new = imp.op(_sub(n, nk()), "add", [keep, imp.op(_sub(n, nk()), "multiply", [
                imp.op(_sub(n, nk()), "subtract", [1.0, z]), cand])])
            if lens:   # steps past a sequence's end keep the state and output zeros
                m = imp.op(_sub(n, nk()), "cast", [imp.op(_sub(n, nk()), "greater",
                                                          [lens_f, float(t)])],
                           dtype="float32")
                new = imp.op(_sub(n, nk()), "add", [
                    imp.op(_sub(n, nk()), "multiply", [m, new]),
                    imp.op(_sub(n, nk()), "multiply", [imp.op(_sub(n, nk()), "subtract",
                                                              [1.0, m]), h])])
                out[t] = imp.op(_sub(n, nk()), "multiply", [m, new])
            else:
                out[t] = new
            h = new
        ys.append(imp.op(_sub(n, nk()), "stack", out, axis=0, num_args=T))   # (T, N, H)
        hs.append(h)
    y = imp.op(_sub(n, nk()), "stack", ys, axis=1, num_args=len(ys))       # (T, D, N, H)
    y_h = imp.op(_sub(n, nk()), "stack", hs, axis=0, num_args=len(hs))     # (D, N, H)
    return [imp.op(n, "identity", [y]), y_h]
