"""The fused recurrent op (MXNet ``RNN``): multi-layer, optionally bidirectional RNN/LSTM/GRU
over a whole (T, N, C) sequence, its dedicated backward (``_rnn_backward``) and MXNet's
``_rnn_param_concat`` (how Gluon joins the layer's parameters into the flat vector).

The computation lives in ``_rnn_compute.py`` (forward) and ``_rnn_bptt.py`` (backward), their
work beside the caller in ``_rnn_threads.py``; this module holds the facets. While autograd
records, the public function asks the op for one hidden output more, the flat ``reserve`` of
everything the backward needs (as ``_log_softmax_pick``'s ``hidden`` outputs in fused.py),
and returns only MXNet's visible outputs: the gradient then reads the reserve instead of
recomputing the forward. Dropout between layers (``p``, training only) is applied by the
public function as separate one-layer calls with ``dropout`` between them.
"""
import numpy as np

from ...base import OpError
from .. import _ort_rnn
from .. import ops as F
from .._registry import REQUIRED, STATE, Aval, Sample, register
from . import _rnn_bptt
from . import _rnn_compute as rc
from ._rnn_compute import layout as _layout
from ._rnn_compute import split_inputs
from ._rnn_onnx import rnn_onnx
from ._samples import rnd
from .shape import _concat_grad, _concat_infer, _concat_kernel

_ATTRS = {"state_size": REQUIRED, "num_layers": REQUIRED, "bidirectional": False,
          "mode": REQUIRED, "p": 0.0, "state_outputs": False, "projection_size": None,
          "lstm_state_clip_min": None, "lstm_state_clip_max": None,
          "lstm_state_clip_nan": False, "use_sequence_length": False, "_hidden": False}


def _n_visible(attrs):
    if not attrs.get("state_outputs"):
        return 1
    return 3 if attrs.get("mode") == "lstm" else 2


def _n_out(attrs):
    return _n_visible(attrs) + (1 if attrs.get("_hidden") else 0)


def _clip(attrs):
    return (attrs.get("lstm_state_clip_min"), attrs.get("lstm_state_clip_max"),
            bool(attrs.get("lstm_state_clip_nan")))


def _rnn_kernel(xp, data, parameters, state, state_cell=None, sequence_length=None, **attrs):
    mode = attrs["mode"]
    cell, seq = split_inputs(mode, attrs.get("use_sequence_length"), state_cell,
                             sequence_length)
    lay = _layout(data.shape, attrs)
    if parameters.size != lay.size:
        raise OpError(f"RNN: parameters has {parameters.size} values, the layout needs "
                      f"{lay.size}")
    T, N, _ = data.shape
    dt = data.dtype
    out = xp.empty((T, N, lay.D * lay.R), dt)
    hy = xp.empty((lay.L * lay.D, N, lay.R), dt)
    cy = xp.empty((lay.L * lay.D, N, lay.H), dt) if mode == "lstm" else None
    masks = rc.step_masks(xp, seq, T, N, dt)
    params = xp.ascontiguousarray(parameters).astype(dt, copy=False)
    reserve = None
    if not attrs.get("_hidden") and _ort_rnn.usable(mode, lay, masks, _clip(attrs), data,
                                                    params, state, cell):
        _ort_rnn.forward(mode, lay, data, params, state, cell, out, hy, cy)  # no reserve
    else:
        reserve = xp.empty((lay.reserve,), dt)
        rc.forward(xp, data, params, state, cell, masks, mode, lay, reserve, out, hy, cy,
                   _clip(attrs))
    outs = [out]
    if attrs.get("state_outputs"):
        outs += [hy] + ([cy] if mode == "lstm" else [])
    if attrs.get("_hidden"):
        outs.append(reserve)
    return outs[0] if len(outs) == 1 else tuple(outs)


def _rnn_infer(data, parameters, state, state_cell=None, sequence_length=None, **attrs):
    mode = attrs["mode"]
    cell, seq = split_inputs(mode, attrs.get("use_sequence_length"), state_cell,
                             sequence_length)
    if len(data.shape) != 3:
        raise OpError(f"RNN: data must be (T, N, C), got shape {tuple(data.shape)}")
    lay = _layout(tuple(data.shape), attrs)
    T, N, _ = data.shape
    if tuple(parameters.shape) != (lay.size,):
        raise OpError(f"RNN: parameters must have shape ({lay.size},), got "
                      f"{tuple(parameters.shape)}")
    want = (lay.L * lay.D, N, lay.R)
    if tuple(state.shape) != want:
        raise OpError(f"RNN: state must have shape {want}, got {tuple(state.shape)}")
    if mode == "lstm" and (cell is None or tuple(cell.shape) != want[:2] + (lay.H,)):
        raise OpError(f"RNN: lstm needs state_cell of shape {want[:2] + (lay.H,)}")
    if attrs.get("use_sequence_length") and (seq is None or tuple(seq.shape) != (N,)):
        raise OpError(f"RNN: use_sequence_length needs sequence_length of shape ({N},)")
    dt = np.dtype(data.dtype)
    outs = [Aval((T, N, lay.D * lay.R), dt)]
    if attrs.get("state_outputs"):
        outs.append(Aval(want, dt))
        if mode == "lstm":
            outs.append(Aval(want[:2] + (lay.H,), dt))
    if attrs.get("_hidden"):
        outs.append(Aval((lay.reserve,), dt))
    return outs[0] if len(outs) == 1 else tuple(outs)


def _rnn_param_shapes(data, **attrs):
    """``parameters (size,)``, ``state (L*D, N, R)``, for an LSTM ``state_cell (L*D, N, H)``
    and with ``use_sequence_length`` ``sequence_length (N,)``, for data (T, N, C): what a bind
    given only the data's shape infers."""
    if len(data.shape) != 3:
        return {}
    lay = _layout(tuple(data.shape), attrs)
    want = (lay.L * lay.D, int(data.shape[1]), lay.R)
    shapes = {"parameters": (lay.size,), "state": want}
    if attrs.get("mode") == "lstm":
        shapes["state_cell"] = want[:2] + (lay.H,)
    if attrs.get("use_sequence_length"):
        shapes["sequence_length"] = (int(data.shape[1]),)
    return shapes


def _rnn_grad(ins, outs, gouts, **attrs):
    data, parameters, state, state_cell, sequence_length = ins
    mode = attrs["mode"]
    cell, seq = split_inputs(mode, attrs.get("use_sequence_length"), state_cell,
                             sequence_length)
    if outs is None or not attrs.get("_hidden"):  # a node without the reserve: recompute
        outs = _RNN_FUNC(data, parameters, state, state_cell, sequence_length,
                         **dict(attrs, _hidden=True))
    nv = _n_visible(attrs)
    ghy = gouts[1] if nv > 1 else None
    gcy = gouts[2] if nv > 2 else None
    battrs = {k: v for k, v in attrs.items() if k != "_hidden"}
    res = F._rnn_backward(data, parameters, state, outs[0], outs[-1], gouts[0], cell, seq,
                          ghy, gcy, **battrs)
    dcell = res[3] if mode == "lstm" else None
    grads = [res[0], res[1], res[2], None, None]
    if mode == "lstm":
        grads[3] = dcell
    return tuple(grads)


def _rnn_ref(data, parameters, state, state_cell=None, sequence_length=None, **attrs):
    """A plain per-step numpy loop, independent of the fused kernel."""
    from ._rnn_ref import rnn_reference
    return rnn_reference(data, parameters, state, state_cell, sequence_length, **attrs)


def param_size(mode, C, H, L=1, D=1, P=0):
    """Length of the flat parameter vector: input size C, state size H, L layers, D
    directions, projection P (0: none). Example: ``param_size("lstm", 3, 4)`` is 144."""
    return rc.Layout(mode, 1, 1, C, H, L, D, P).size


def _samples():
    T, N, C, H = 3, 2, 3, 2
    out = []
    for mode in ("lstm", "gru", "rnn_tanh", "rnn_relu"):
        for L, D in ((1, 1), (2, 2)):
            n = param_size(mode, C, H, L, D)
            ins = [rnd(T, N, C), rnd(n, salt=5) * 0.8, rnd(L * D, N, H, salt=6)]
            if mode == "lstm":
                ins.append(rnd(L * D, N, H, salt=7))
            out.append(Sample(*ins, mode=mode, state_size=H, num_layers=L,
                              bidirectional=D == 2, state_outputs=True))
    n = param_size("lstm", C, H, 1, 2)
    out.append(Sample(rnd(T, N, C), rnd(n, salt=5), rnd(2, N, H, salt=6),
                      rnd(2, N, H, salt=7), np.array([2.0, 3.0]), mode="lstm", state_size=H,
                      num_layers=1, bidirectional=True, state_outputs=True,
                      use_sequence_length=True, wrt=[0, 1, 2, 3]))
    n = param_size("gru", C, H, 2, 1)
    out.append(Sample(rnd(T, N, C), rnd(n, salt=5), rnd(2, N, H, salt=6),
                      np.array([1.0, 3.0]), mode="gru", state_size=H, num_layers=2,
                      state_outputs=True, use_sequence_length=True, wrt=[0, 1, 2]))
    n = param_size("lstm", C, H, 2, 1, 1)
    out.append(Sample(rnd(T, N, C), rnd(n, salt=5), rnd(2, N, 1, salt=6), rnd(2, N, H, salt=7),
                      mode="lstm", state_size=H, num_layers=2, projection_size=1,
                      state_outputs=True, onnx=False))
    n = param_size("lstm", C, H)
    out.append(Sample(rnd(T, N, C) * 3, rnd(n, salt=5) * 2, rnd(1, N, H, salt=6),
                      rnd(1, N, H, salt=7), mode="lstm", state_size=H, num_layers=1,
                      lstm_state_clip_min=-0.3, lstm_state_clip_max=0.35, onnx=False))
    n = param_size("rnn_tanh", C, H)
    out.append(Sample(rnd(T, N, C), rnd(n, salt=5), rnd(1, N, H, salt=6), mode="rnn_tanh",
                      state_size=H, num_layers=1))
    return out


def _rnn_value_ranges(data, parameters, state, state_cell=None, sequence_length=None,
                      use_sequence_length=False, mode="lstm", **_):
    """Each sequence length lies in 1..T; a GRU's or RNN's may sit in the fourth input."""
    if not use_sequence_length or data is None:
        return {}
    length_slot = ("state_cell" if mode != "lstm" and sequence_length is None
                   and state_cell is not None else "sequence_length")
    return {length_slot: (1, int(data.shape[0]) + 1)}


_rnn_op_func = register(
    "rnn", _rnn_kernel, inputs=("data", "parameters", "state", "state_cell?",
                                "sequence_length?"),
    attrs=dict(_ATTRS), num_outputs=_n_out, infer=_rnn_infer, grad=_rnn_grad, onnx=rnn_onnx,
    ref=_rnn_ref, samples=_samples(), aliases=("RNN",), value_ranges=_rnn_value_ranges,
    param_shapes=_rnn_param_shapes, serial=True, amp="lp16")
_RNN = _rnn_op_func.op
_RNN_FUNC = _rnn_op_func


def rnn(data, parameters, state, state_cell=None, sequence_length=None, state_size=REQUIRED,
        num_layers=REQUIRED, bidirectional=False, mode=REQUIRED, p=0.0, state_outputs=False,
        projection_size=None, lstm_state_clip_min=None, lstm_state_clip_max=None,
        lstm_state_clip_nan=False, use_sequence_length=False, out=None, **kwargs):
    """Multi-layer (bidirectional) RNN, LSTM or GRU over a whole sequence (MXNet ``RNN``).

    data (T, N, C); parameters: the flat vector of MXNet's layout (every layer's and
    direction's i2h and h2h (and h2r) weights, then every i2h and h2h bias; gates LSTM
    i, f, g, o and GRU r, z, n); state (L*D, N, R) with D = 2 if bidirectional, R =
    projection_size or state_size; state_cell (L*D, N, H) for ``mode='lstm'``;
    sequence_length (N,) with ``use_sequence_length`` (steps past a sample's length output
    zeros and leave its state alone). Output: (T, N, D*R); with ``state_outputs`` also
    [out, hy (L*D, N, R)] and cy (L*D, N, H) for an LSTM. ``p`` is dropout between layers,
    applied in training mode only.

    Example::

        >>> out, hy, cy = nd.RNN(nd.ones((5, 2, 3)), nd.zeros(144), nd.zeros((1, 2, 4)),
        ...                      nd.zeros((1, 2, 4)), state_size=4, num_layers=1,
        ...                      mode="lstm", state_outputs=True)   # out: (5, 2, 4)
    """
    for k, v in (("state_size", state_size), ("num_layers", num_layers), ("mode", mode)):
        if v is REQUIRED:
            raise TypeError(f"rnn() missing required attribute {k!r}")
    attrs = {"state_size": state_size, "num_layers": num_layers,
             "bidirectional": bidirectional, "mode": mode, "p": p,
             "state_outputs": state_outputs, "projection_size": projection_size,
             "lstm_state_clip_min": lstm_state_clip_min,
             "lstm_state_clip_max": lstm_state_clip_max,
             "lstm_state_clip_nan": lstm_state_clip_nan,
             "use_sequence_length": use_sequence_length}
    if float(p) > 0 and int(num_layers) > 1 and STATE.training:
        res = _layerwise(data, parameters, state, state_cell, sequence_length, attrs, kwargs)
    else:
        hidden = bool(STATE.recording)
        res = _rnn_op_func(data, parameters, state, state_cell, sequence_length,
                           _hidden=hidden, **attrs, **kwargs)
        if hidden:
            res = res[:-1]
    if isinstance(res, (list, tuple)):
        res = list(res) if len(res) > 1 else res[0]
    if out is not None:
        if isinstance(res, list):
            for o, r in zip(out, res):
                o[:] = r
        else:
            out[:] = res
        return out
    return res


def _layerwise(data, parameters, state, state_cell, sequence_length, attrs, kwargs):
    """Training with dropout between layers: one single-layer call per layer, dropout between."""
    mode, L = attrs["mode"], int(attrs["num_layers"])
    D = 2 if attrs["bidirectional"] else 1
    cell, seq = split_inputs(mode, attrs["use_sequence_length"], state_cell, sequence_length)
    lay = _layout(tuple(data.shape), attrs)
    x, hys, cys = data, [], []
    one = dict(attrs, num_layers=1, p=0.0, state_outputs=True)
    for k in range(L):
        pk = F.concat(*_layer_params(parameters, lay, k), dim=0)
        hk = F.slice_axis(state, axis=0, begin=k * D, end=(k + 1) * D)
        ck = None if cell is None else F.slice_axis(cell, axis=0, begin=k * D,
                                                    end=(k + 1) * D)
        res = rnn(x, pk, hk, ck, seq, **one, **kwargs)
        x, hys = res[0], hys + [res[1]]
        if mode == "lstm":
            cys.append(res[2])
        if k < L - 1:
            x = F.dropout(x, p=attrs["p"])
    outs = [x]
    if attrs["state_outputs"]:
        outs.append(F.concat(*hys, dim=0))
        if mode == "lstm":
            outs.append(F.concat(*cys, dim=0))
    return outs


def _layer_params(parameters, lay, layer):
    """Layer ``layer``'s flat parameters (its weights, then its biases), sliced from the whole."""
    ks = range(layer * lay.D, (layer + 1) * lay.D)
    parts = []
    for idx in ((0, 1, 2), (3, 4)):
        for k in ks:
            for j in idx:
                spec = lay.w[k][j]
                if spec is not None:
                    off, shape = spec
                    parts.append(F.slice_axis(parameters, axis=0, begin=off,
                                              end=off + int(np.prod(shape))))
    return parts


rnn.op = _RNN
rnn.__module__ = "kiln.ndarray"
_RNN.func = rnn
_RNN.doc = rnn.__doc__


# ---- the backward ----------------------------------------------------------------------------
def _bwd_kernel(xp, data, parameters, state, output, reserve, gout, state_cell=None,
                sequence_length=None, ghy=None, gcy=None, **attrs):
    mode = attrs["mode"]
    lay = _layout(data.shape, attrs)
    T, N, _ = data.shape
    masks = rc.step_masks(xp, sequence_length, T, N, data.dtype)
    params = xp.ascontiguousarray(parameters)
    gout = xp.ascontiguousarray(gout)
    dx, dp, dh0, dc0 = _rnn_bptt.backward(xp, data, params, state, state_cell, masks, mode, lay,
                                   reserve, gout, ghy, gcy, _clip(attrs))
    return (dx, dp, dh0, dc0) if mode == "lstm" else (dx, dp, dh0)


def _bwd_infer(data, parameters, state, output, reserve, gout, state_cell=None,
               sequence_length=None, ghy=None, gcy=None, **attrs):
    dt = np.dtype(data.dtype)
    res = [Aval(tuple(data.shape), dt), Aval(tuple(parameters.shape), dt),
           Aval(tuple(state.shape), dt)]
    if attrs["mode"] == "lstm":
        res.append(Aval(tuple(state_cell.shape), dt))
    return tuple(res)


def _bwd_sample(sample):
    """Backward inputs consistent with a forward call of a forward sample."""
    ins = list(sample.inputs) + [None] * (5 - len(sample.inputs))
    attrs = dict(sample.attrs, _hidden=True)
    outs = _rnn_kernel(np, *ins, **attrs)
    cell, seq = split_inputs(attrs["mode"], attrs.get("use_sequence_length"), ins[3], ins[4])
    nv = _n_visible(attrs)
    g = [rnd(*o.shape, salt=9 + k) for k, o in enumerate(outs[:nv])]
    battrs = {k: v for k, v in sample.attrs.items() if k not in ("wrt", "_hidden")}
    return Sample(ins[0], ins[1], ins[2], outs[0], outs[-1], g[0], cell, seq,
                  g[1] if nv > 1 else None, g[2] if nv > 2 else None, **battrs)


_BATTRS = {k: v for k, v in _ATTRS.items() if k != "_hidden"}

_rnn_backward = register(
    "_rnn_backward", _bwd_kernel,
    inputs=("data", "parameters", "state", "output", "reserve", "gout", "state_cell?",
            "sequence_length?", "ghy?", "gcy?"),
    attrs=dict(_BATTRS), num_outputs=lambda attrs: 4 if attrs.get("mode") == "lstm" else 3,
    infer=_bwd_infer, serial=True,
    no_grad="the backward of rnn, read from the forward's reserve; compiled graphs and eager "
            "code differentiate the forward once (no second order through RNN)",
    no_onnx="exists only in training graphs, which are never exported",
    no_ref="checked through rnn's gradient against float64 finite differences",
    samples=[_bwd_sample(s) for s in _samples()[:2]],
    doc="Gradients (data, parameters, state[, state_cell]) of rnn from its reserve "
        "(internal).")


# ---- MXNet's parameter concatenation ---------------------------------------------------------
def _param_concat_onnx(g, i, a, o, dim=1, num_args=None):
    return g.op("Concat", *i, axis=int(dim))


_rnn_param_concat = register(
    "_rnn_param_concat", _concat_kernel, inputs=("*data",), attrs={"dim": 1, "num_args": None},
    infer=_concat_infer, grad=_concat_grad, onnx=_param_concat_onnx,
    samples=[Sample(rnd(4), rnd(6), dim=0)],
    ref=lambda *xs, dim=1, num_args=None: np.concatenate(xs, axis=dim),
    doc="Concatenate flat parameter vectors (MXNet's ``_rnn_param_concat``, as ``concat``).")

