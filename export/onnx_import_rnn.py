"""ONNX ``LSTM``, ``GRU`` and ``RNN`` nodes -> kiln's fused ``rnn`` op (MXNet ``RNN``).

Each ONNX node becomes one single-layer ``rnn`` call (kiln's multi-layer exports are chains of
single-layer nodes, so each layer imports as its own call). W (D, G*H, C), R (D, G*H, H) and
B (D, 2*G*H) are joined into MXNet's flat parameter vector (per direction the i2h weight and
the h2h weight, then per direction the i2h bias and the h2h bias) with the gates put back in
MXNet's order (ONNX LSTM i, o, f, c -> MXNet i, f, g, o; GRU z, r, h -> r, z, n). When all three
are initializers the vector is one parameter, reordered at import time; otherwise (weights
computed in the graph) it is built with graph ops, so gradients reach the tensors it comes
from.

The outputs keep ONNX's layout: Y is (T, D, N, H) ((N, T, D, H) with ``layout=1``), Y_h and
Y_c (D, N, H), so the ops that follow the node in the ONNX graph work unchanged. Supported:
``direction`` forward, reverse (a ``sequence_reverse`` on each side of a forward call) and
bidirectional; ``sequence_lens`` (-> ``use_sequence_length``); ``initial_h``/``initial_c``
(zeros from the input's batch size when absent); ``layout`` 0 and 1. Refused with
``FileFormatError`` naming the node: activations other than ONNX's defaults (an RNN may use
Relu), GRU/RNN ``clip`` (ONNX clips the gates' pre-activations, kiln's LSTM clips the cell
state). Cells that are not MXNet's are unrolled instead: GRU ``linear_before_reset=0``
(onnx_import_gru.py), LSTM with non-zero peepholes, ``input_forget=1`` or ``clip``
(onnx_import_lstm.py).
"""
import numpy as np
from onnx import helper

from ..base import MXNetError
from ..symbol.graph import Node
from .onnx_import_gru import gru_unrolled
from .onnx_import_lstm import lstm_unrolled
from .onnx_import_ops import _attrs

_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
# MXNet's gate j is ONNX's gate _FROM_ONNX[op][j]
_FROM_ONNX = {"LSTM": [0, 2, 3, 1], "GRU": [1, 0, 2], "RNN": [0]}
_DEFAULT_ACTS = {"LSTM": ("sigmoid", "tanh", "tanh"), "GRU": ("sigmoid", "tanh")}


class _Name:
    """A stand-in node name for the kiln ops that one ONNX node becomes."""

    def __init__(self, n, tag):
        base = n.name or next((o for o in n.output if o), n.op_type)
        self.name = f"{base}_{tag}"
        self.output = [self.name]


def _str(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def _label(n):
    return f"{n.op_type} node {n.name or next((o for o in n.output if o), '')!r}"


def _what(n):
    return f"ONNX import: {_label(n)}"


def _mode(n, a, D):
    """kiln's ``mode`` for the node's activations (only ONNX's defaults, or Relu for RNN)."""
    acts = [_str(s).lower() for s in a.get("activations", [])]
    if n.op_type == "RNN":
        acts = acts or ["tanh"] * D
        if len(acts) == 1 and D == 2:
            acts = acts * 2
        if len(acts) == D and len(set(acts)) == 1 and acts[0] in ("tanh", "relu"):
            return "rnn_" + acts[0]
        raise MXNetError(f"{_what(n)}: activations {acts} are not supported (kiln's RNN is "
                         f"Tanh or Relu, the same in both directions)")
    default = list(_DEFAULT_ACTS[n.op_type])
    if acts and acts not in (default, default * D):
        raise MXNetError(f"{_what(n)}: activations {acts} are not supported (only ONNX's "
                         f"defaults {default})")
    return n.op_type.lower()


def _check_attrs(n, a):
    if "clip" in a:
        raise MXNetError(f"{_what(n)}: 'clip' is not supported (ONNX clips the gates' "
                         f"pre-activations; kiln's RNN can only clip the LSTM cell state)")
    if n.op_type == "GRU" and int(a.get("linear_before_reset", 0)) != 1:
        raise MXNetError(f"{_what(n)}: linear_before_reset=0 is not supported (MXNet's and "
                         f"kiln's GRU apply the reset gate after the recurrent linear "
                         f"transformation: linear_before_reset=1)")
    layout = int(a.get("layout", 0))
    if layout not in (0, 1):
        raise MXNetError(f"{_what(n)}: layout must be 0 or 1, got {layout}")
    direction = _str(a.get("direction", "forward"))
    if direction not in ("forward", "reverse", "bidirectional"):
        raise MXNetError(f"{_what(n)}: unknown direction {direction!r}")
    return direction, layout


def _shape(imp, name):
    if name in imp.inits:
        return tuple(imp.inits[name].shape)
    return imp.shape(name)


def _check_shapes(n, a, imp, names, D, G):
    """(H, C) after checking W, R and B against each other, the direction and hidden_size."""
    w, r, b = names
    ws, rs = _shape(imp, w), _shape(imp, r)
    if len(rs) != 3 or len(ws) != 3:
        raise MXNetError(f"{_what(n)}: W and R must be 3-D, got {ws} and {rs}")
    H = int(a.get("hidden_size", rs[2]))
    if H <= 0 or ws[:2] != (D, G * H) or rs != (D, G * H, H) or ws[2] <= 0:
        raise MXNetError(f"{_what(n)}: W {ws} and R {rs} do not fit {D} direction(s) of "
                         f"hidden size {H} ({G} gate(s))")
    if b and _shape(imp, b) != (D, 2 * G * H):
        raise MXNetError(f"{_what(n)}: B must have shape {(D, 2 * G * H)}, got "
                         f"{_shape(imp, b)}")
    return H, ws[2]


def _peephole_zero(imp, name):
    v = imp.value(name, required=False)
    return v is not None and not np.any(v)


def _flat_var(imp, n, names, D, G, H):
    """One parameter: W, R and B initializers in MXNet's flat layout (gates reordered)."""
    w, r, b = (imp.inits.get(k) if k else None for k in names)
    dt = w.dtype
    if b is None:
        imp.check_bytes(D * 2 * G * H * dt.itemsize, f"{_label(n)}'s zero B")
        b = np.zeros((D, 2 * G * H), dt)
    perm = _FROM_ONNX[n.op_type]

    def gates(m):
        return m.reshape((G, H) + m.shape[1:])[perm].reshape(-1)
    weights = [gates(m[d]) for d in range(D) for m in (w, r)]
    biases = [gates(b[d, k * G * H:(k + 1) * G * H]) for d in range(D) for k in (0, 1)]
    flat = np.concatenate([p.astype(dt, copy=False) for p in weights + biases])
    name = _Name(n, "parameters").name.replace("/", ".").replace(":", "_")
    while name in imp.params or name in imp.entries:
        name += "_"
    node = Node("var", name=name, meta={"shape": flat.shape, "dtype": flat.dtype})
    imp.params[name] = flat
    return (node, 0)


def _flat_graph(imp, n, names, D, G, H):
    """MXNet's flat vector built with graph ops from W, R and B tensors."""
    perm = Node("const", value=np.asarray(_FROM_ONNX[n.op_type], np.int64),
                name=_Name(n, "gate_order").name)
    k = iter(range(10 ** 6))

    def ops(op, ins, **attrs):
        return imp.op(_Name(n, f"{op}{next(k)}"), op, ins, **attrs)

    def pieces(entry, blocks):
        # (D, blocks * G * H, X) -> [direction][block] flat vectors in MXNet's gate order
        x = ops("reshape", [entry], shape=(D, blocks, G, -1))
        x = ops("take", [x, (perm, 0)], axis=2)
        x = ops("reshape", [x], shape=(D, blocks, -1))
        return [[ops("reshape", [ops("slice", [x], begin=(d, j, None),
                                     end=(d + 1, j + 1, None))], shape=(-1,))
                 for j in range(blocks)] for d in range(D)]
    w = pieces(imp.t(names[0]), 1)
    r = pieces(imp.t(names[1]), 1)
    if names[2]:
        b = pieces(imp.t(names[2]), 2)
    else:
        t = imp.types.get(names[0])
        dt = np.dtype(helper.tensor_dtype_to_np_dtype(t[0]) if t else np.float32)
        imp.check_bytes(G * H * dt.itemsize, f"{_label(n)}'s zero B")
        zero = (Node("const", value=np.zeros(G * H, dt), name=_Name(n, "zero_bias").name), 0)
        b = [[zero, zero] for _ in range(D)]
    parts = [p for d in range(D) for p in (w[d][0], r[d][0])] + \
        [p for d in range(D) for p in b[d]]
    return ops("concat", parts, dim=0, num_args=len(parts))


def _zero_state(imp, n, x, D, H, tag):
    """(D, N, H) zeros shaped from the (T, N, C) input, so the batch axis stays dynamic."""
    first = imp.op(_Name(n, f"{tag}_first"), "slice_axis", [x], axis=0, begin=0, end=1)
    zero = imp.op(_Name(n, f"{tag}_zeros"), "zeros_like", [first])
    col = imp.op(_Name(n, f"{tag}_col"), "sum", [zero], axis=2, keepdims=True)
    return imp.op(_Name(n, tag), "tile", [col], reps=(D, 1, H))


def _state(imp, n, name, x, D, H, layout, tag):
    if not name:
        return _zero_state(imp, n, x, D, H, tag)
    s = imp.t(name)
    if layout:   # (N, D, H) -> (D, N, H)
        s = imp.op(_Name(n, f"{tag}_tnc"), "transpose", [s], axes=(1, 0, 2))
    return s


def convert_rnn(imp, n):
    """Convert one ONNX LSTM/GRU/RNN node; returns its output entries (Y, Y_h[, Y_c])."""
    if n.op_type == "GRU" and int(_attrs(n).get("linear_before_reset", 0)) == 0:
        return gru_unrolled(imp, n)   # ONNX's default GRU is not MXNet's cell
    a = _attrs(n)
    ins = list(n.input) + [""] * 8
    if n.op_type == "LSTM" and ("clip" in a or int(a.get("input_forget", 0)) or
                                (ins[7] and not _peephole_zero(imp, ins[7]))):
        return lstm_unrolled(imp, n)   # cells MXNet's LSTM cannot say
    direction, layout = _check_attrs(n, a)
    D = 2 if direction == "bidirectional" else 1
    mode = _mode(n, a, D)
    G = _GATES[n.op_type]
    if not ins[0] or not ins[1] or not ins[2]:
        raise MXNetError(f"{_what(n)}: X, W and R are required")
    lstm = n.op_type == "LSTM"
    if imp.rank(ins[0]) != 3:
        raise MXNetError(f"{_what(n)}: X must be 3-D")
    names = tuple(ins[1:4])
    H, _ = _check_shapes(n, a, imp, names, D, G)
    if all(k in imp.inits for k in names if k):
        params = _flat_var(imp, n, names, D, G, H)
    else:
        params = _flat_graph(imp, n, names, D, G, H)
    x = imp.t(ins[0])
    if layout:   # (N, T, C) -> (T, N, C)
        x = imp.op(_Name(n, "tnc"), "transpose", [x], axes=(1, 0, 2))
    seq = imp.t(ins[4]) if ins[4] else None
    use_seq = seq is not None
    h0 = _state(imp, n, ins[5], x, D, H, layout, "h0")
    c0 = _state(imp, n, ins[6], x, D, H, layout, "c0") if lstm else None
    if direction == "reverse":
        x = imp.op(_Name(n, "reversed"), "sequence_reverse", [x, seq],
                   use_sequence_length=use_seq)
    outs = list(n.output) + [""] * 3
    want_states = bool(outs[1] or (lstm and outs[2]))
    rnn = imp.op(_Name(n, "rnn"), "rnn", [x, params, h0, c0, seq], state_size=H,
                 num_layers=1, bidirectional=D == 2, mode=mode, state_outputs=want_states,
                 use_sequence_length=use_seq)
    y = rnn
    if direction == "reverse":
        y = imp.op(_Name(n, "unreversed"), "sequence_reverse", [y, seq],
                   use_sequence_length=use_seq)
    y = imp.op(_Name(n, "split_dirs"), "reshape", [y], shape=(0, 0, D, H))   # (T, N, D, H)
    y = imp.op(n if outs[0] else _Name(n, "Y"), "transpose", [y],
               axes=(1, 0, 2, 3) if layout else (0, 2, 1, 3))
    result = [y]
    if want_states:
        for k in range(1, 3 if lstm else 2):
            s = (rnn[0], k)
            if layout and outs[k]:
                s = imp.op(_Name(n, f"Y_{k}"), "transpose", [s], axes=(1, 0, 2))
            result.append(s)
    return result


CONVERTERS = {"LSTM": convert_rnn, "GRU": convert_rnn, "RNN": convert_rnn}
