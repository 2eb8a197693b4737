"""Fused ops that compiled graphs substitute for common op chains (never written by users).

``pick(log_softmax(x), label)`` is the core of softmax cross-entropy, the most used loss. As
separate ops it costs a log-softmax, a gather, and in the backward a scatter into zeros plus the
log-softmax gradient: about twenty array operations where the hand-written version needs six.
``symbol/passes.fuse`` rewrites the chain into ``_log_softmax_pick`` whose gradient is one
``_log_softmax_pick_backward``: ``g * (onehot(label) - softmax(x))``.
"""
import numpy as np

from .. import ops as F
from .._registry import Aval, Sample, register
from ._rules import norm_axis
from ._samples import rnd
from .activation import _softmax_core, _softmax_ref
from .indexing import _pick_index, _pick_infer, _pick_kernel, _pick_onnx, lane_positions


def _lsp_kernel(xp, data, index, axis=-1, keepdims=False, mode="clip"):
    logp = _softmax_core(xp, data, norm_axis(axis, data.ndim, "pick"), log=True)
    return _pick_kernel(xp, logp, index, axis=axis, keepdims=keepdims, mode=mode)


def _lsp_grad(ins, outs, gouts, axis=-1, keepdims=False, mode="clip"):
    data, index = ins
    return F._log_softmax_pick_backward(gouts[0], data, index, axis=axis, mode=mode), None


def _lsp_onnx(g, i, a, o, axis=-1, keepdims=False, mode="clip"):
    logp = g.op("LogSoftmax", i[0], axis=norm_axis(axis, len(a[0].shape), "pick"))
    return _pick_onnx(g, [logp, i[1]], a, o, axis=axis, keepdims=keepdims, mode=mode)


def _log_softmax_ref(x, axis):
    return np.log(_softmax_ref(x, axis=axis))


def _lsp_ref(data, index, axis=-1, keepdims=False, mode="clip"):
    logp = np.moveaxis(_log_softmax_ref(data, axis), axis, -1)
    n = logp.shape[-1]
    idx = np.trunc(index).astype(np.int64)
    idx = idx % n if mode == "wrap" else np.clip(idx, 0, n - 1)
    picked = np.take_along_axis(logp, idx.reshape(logp.shape[:-1] + (1,)), -1)[..., 0]
    return np.expand_dims(picked, axis) if keepdims else picked


_ATTRS = {"axis": -1, "keepdims": False, "mode": "clip"}

_log_softmax_pick = register(
    "_log_softmax_pick", _lsp_kernel, inputs=("data", "index"), attrs=dict(_ATTRS),
    infer=_pick_infer, grad=_lsp_grad, onnx=_lsp_onnx, ref=_lsp_ref,
    samples=[Sample(rnd(3, 4) * 3, np.array([0.0, 3.0, 1.0]), wrt=[0]),
             Sample(rnd(4, 3) * 3, np.array([1.0, -1.0, 5.0]), axis=0, keepdims=True,
                    mode="wrap", wrt=[0]),
             Sample(rnd(2, 3, 4), np.array([[0.0, 2.0, 1.0, 1.0], [2.0, 0.0, 0.0, 1.0]]),
                    axis=1, wrt=[0])],
    doc="pick(log_softmax(data, axis), index, axis) in one op (compiled graphs only).\n\n"
        "    >>> nd._log_softmax_pick(nd.array([[0., 0.]]), nd.array([1]))  # [-0.6931]")


def _lspb_kernel(xp, grad, data, index, axis=-1, mode="clip"):
    ax, idx, _ = _pick_index(xp, data, index, axis, mode)
    p = _softmax_core(xp, data, ax)
    g = grad.reshape(idx.shape)
    p *= -g
    p.reshape(-1)[lane_positions(xp, p.shape, idx, ax)] += g  # one position per lane
    return p


def _lspb_ref(grad, data, index, axis=-1, mode="clip"):
    logp = _log_softmax_ref(data, axis)
    n = data.shape[axis]
    idx = np.trunc(index).astype(np.int64)
    idx = idx % n if mode == "wrap" else np.clip(idx, 0, n - 1)
    idx = idx.reshape(logp.shape[:axis % data.ndim] + (1,) + logp.shape[axis % data.ndim + 1:])
    onehot = np.arange(n).reshape((-1,) + (1,) * (data.ndim - axis % data.ndim - 1)) == idx
    return grad.reshape(idx.shape) * (onehot - np.exp(logp))


_log_softmax_pick_backward = register(
    "_log_softmax_pick_backward", _lspb_kernel, inputs=("grad", "data", "index"),
    attrs={"axis": -1, "mode": "clip"},
    infer=lambda grad, data, index, **_: Aval(tuple(data.shape), np.dtype(data.dtype)),
    no_grad="the backward of _log_softmax_pick, used only inside compiled training graphs, "
            "which differentiate once (eager code and create_graph use log_softmax and pick)",
    no_onnx="exists only in compiled training graphs, which are never exported",
    ref=_lspb_ref,
    samples=[Sample(rnd(3), rnd(3, 4) * 3, np.array([0.0, 3.0, 1.0])),
             Sample(rnd(1, 3), rnd(4, 3) * 3, np.array([1.0, -1.0, 5.0]), axis=0,
                    mode="wrap")],
    doc="Gradient of _log_softmax_pick: grad * (onehot(index) - softmax(data)) (internal).")
