"""Fused ops that compiled graphs substitute for common op chains (never written by users; the
eager ``SoftmaxCrossEntropyLoss`` calls ``_log_softmax_pick`` itself, as its graph would).

``-pick(log_softmax(x), label)`` is the core of softmax cross-entropy, the most used loss. As
separate ops it costs a log-softmax, a gather, a negation, and in the backward a scatter into
zeros plus the log-softmax gradient: about twenty array operations where the hand-written version
needs six. ``symbol/passes.fuse`` rewrites the chain into one ``_log_softmax_pick`` (the negation
becomes ``scale=-1``) with ``hidden=True``: the op then also returns what its gradient needs,
the softmax numerator ``e = exp(x - max)``, its sum ``s`` and the flat label positions ``pos``,
so the gradient ``_log_softmax_pick_backward`` is three array operations,
``e * (-scale * g / s)`` with ``-scale * g`` subtracted at ``pos``.

For the loss's usual layout on the CPU (one label per row of a large last axis, float32 or
float64) ``e`` is the softmax itself, computed by onnxruntime's vectorized kernel into the
op's buffer (``ndarray/_ort_kernels.py``; numpy's ``exp`` is a scalar loop), and ``s`` is
ones; the loss is ``log e`` at the labels, a row whose picked probability is tiny recomputed
as log-sum-exp.
"""
import math
import threading

import numpy as np

from ...base import _CHECKS
from .. import ops as F
from .._ort_kernels import softmax_rows
from .._parallel import MIN_SPLIT, split_rows
from .._registry import STATE, Aval, Sample, register
from ._cuda_fused import lsp_backward_rows, lsp_rows
from ._rules import norm_axis
from ._samples import rnd
from .activation import _log_softmax_grad, _softmax_ref
from .indexing import _pick_grad, _pick_infer, _pick_onnx, check_index_range, scatter_add


class _Plan:
    """Axis, shapes and lane bases of one call signature (cached for numpy: a loss sees one).

    ``mbase`` and ``ones`` (numpy, picking along the last axis) serve the fast row max and row
    sum: numpy reduces a short last axis slowly (an inner loop per row), while its vectorized
    argmax plus a gather, and a BLAS product with ones, take a third of the time."""

    __slots__ = ("ax", "n", "after", "flat", "base", "lanes", "mbase", "ones", "out_shape",
                 "kept")

    def __init__(self, xp, shape, dtype, ishape, axis, keepdims):
        self.ax = ax = norm_axis(axis, len(shape), "pick")
        self.n, nd_ = shape[ax], len(shape)
        before, self.after = math.prod(shape[:ax]), math.prod(shape[ax + 1:])
        self.flat = math.prod(ishape) == before * self.after  # one label per lane (the loss)
        self.out_shape = ishape[:ax] + (1,) + ishape[ax:] if keepdims and len(ishape) < nd_ \
            else ishape
        self.kept = shape[:ax] + (1,) + shape[ax + 1:]
        # the flat position of each lane's first element, laid out like the labels
        base = (xp.arange(before) * (self.n * self.after))[:, None] + xp.arange(self.after)
        self.lanes = ishape if self.flat else (before, -1, self.after)
        self.base = base.reshape(ishape if self.flat else (before, 1, self.after))
        fast = xp is np and self.after == 1
        self.mbase = base.reshape(self.kept) if fast else None
        self.ones = np.ones(self.n, dtype) if fast else None


_PLANS = {}  # (shape, dtype, index shape, axis, keepdims, device) -> _Plan


def _plan(xp, data, ishape, axis, keepdims):
    # bases live on the data's device: a cupy plan is cached per GPU
    key = (data.shape, data.dtype.char, ishape, axis, keepdims,
           None if xp is np else data.device.id)
    plan = _PLANS.get(key)
    if plan is None:
        if len(_PLANS) > 64:
            _PLANS.clear()
        plan = _PLANS[key] = _Plan(xp, data.shape, data.dtype, ishape, axis, keepdims)
    return plan


def _label_positions(xp, index, plan, mode):
    """Flat positions in a C-ordered array of the elements ``index`` picks along the axis
    (float labels truncated, out-of-range ones wrapped or clipped), shaped like the output."""
    pos = index.astype(np.int64)  # a new array: updated in place below
    if not pos.flags.c_contiguous:
        pos = xp.ascontiguousarray(pos)
    if mode == "wrap":
        xp.mod(pos, plan.n, out=pos)
    else:  # two ufuncs beat xp.clip on small arrays
        xp.maximum(pos, 0, out=pos)
        xp.minimum(pos, plan.n - 1, out=pos)
    lanes = pos if plan.flat else pos.reshape(plan.lanes)
    if plan.after != 1:
        lanes *= plan.after
    lanes += plan.base
    return pos.reshape(plan.out_shape)


def _lsp_kernel(xp, data, index, axis=-1, keepdims=False, mode="clip", scale=1.0,
                hidden=False):
    if _CHECKS[0] and mode != "wrap":  # checked mode: labels out of range raise (as pick)
        check_index_range(index, data.shape[norm_axis(axis, data.ndim, "pick")], axis)
    if xp is not np:  # one CUDA kernel for the usual layout (launches dominate on the GPU)
        res = lsp_rows(xp, data, index, axis, keepdims, mode, scale)
        if res is not None:
            return res if hidden else res[0]
    if not data.flags.c_contiguous:  # the flat positions address C order
        data = xp.ascontiguousarray(data)
    plan = _plan(xp, data, index.shape, axis, keepdims)
    if plan.mbase is not None and plan.flat and data.size >= MIN_SPLIT:  # any thread count
        out, e, s, pos = _lsp_split(data, index, plan, mode, scale)
        return (out, e, s, pos) if hidden else out
    if plan.mbase is not None:
        am = data.argmax(axis=-1, keepdims=True)  # NaN rows pick a NaN, as max does
        am += plan.mbase
        z = xp.subtract(data, data.reshape(-1)[am])
    else:
        z = xp.subtract(data, data.max(axis=plan.ax, keepdims=True))
    pos = _label_positions(xp, index, plan, mode)
    picked = z.reshape(-1)[pos]  # a new array of the output's shape
    e = xp.exp(z, out=z)
    s = e.dot(plan.ones).reshape(plan.kept) if plan.ones is not None else \
        e.sum(axis=plan.ax, keepdims=True)
    lse = xp.log(s)
    if plan.flat:
        lse = lse.reshape(plan.out_shape)
    if scale == -1.0:  # the loss: log-sum-exp minus the label's shifted logit
        out = xp.subtract(lse, picked, out=picked)
    else:
        out = xp.subtract(picked, lse, out=picked)
        if scale != 1.0:
            out *= scale
    return (out, e, s, pos) if hidden else out


def _lsp_split(data, index, plan, mode, scale):
    """The CPU kernel for one label per row of a large last axis (the loss): onnxruntime's
    softmax where it applies, else numpy with the rows cut into one block per core
    (``split_rows``): the max, the shifted exp and its row sum of each block run beside the
    others."""
    n = plan.n
    rows = data.size // n
    x = data.reshape(rows, n)
    pos = _label_positions(np, index, plan, mode)
    e = np.empty_like(data)
    z = e.reshape(rows, n)
    s = np.empty(plan.kept, data.dtype)
    s_rows, picked = s.reshape(rows), np.empty(rows, data.dtype)
    flat_pos = pos.reshape(rows)

    if softmax_rows(x, z):  # onnxruntime's vectorized softmax: e is normalized, s is 1
        s.fill(1)
        return _lsp_from_softmax(x, z, flat_pos, plan, scale) + (e, s, pos)

    def block(lo, hi):
        am = x[lo:hi].argmax(axis=1)  # NaN rows pick a NaN, as max does
        m = x[lo:hi][np.arange(hi - lo), am]
        zb = z[lo:hi]
        np.subtract(x[lo:hi], m[:, None], out=zb)
        picked[lo:hi] = zb.reshape(-1)[flat_pos[lo:hi] - lo * n]
        np.exp(zb, out=zb)
        np.add.reduce(zb, axis=1, out=s_rows[lo:hi])  # per row: the same sums in any block
    split_rows(block, rows, data.size)
    lse = np.log(s_rows).reshape(plan.out_shape)
    picked = picked.reshape(plan.out_shape)
    if scale == -1.0:
        out = np.subtract(lse, picked, out=picked)
    else:
        out = np.subtract(picked, lse, out=picked)
        if scale != 1.0:
            out *= scale
    return out, e, s, pos


# picked probabilities below this are recomputed as log-sum-exp: a softmax output near
# float32's denormals has lost its relative precision (and 0 would give an infinite loss)
_TINY = 1e-30


def _lsp_from_softmax(x, p, flat_pos, plan, scale):
    """The loss from the normalized softmax ``p`` of the rows ``x``: log p at the labels, rows
    whose picked probability is tiny recomputed from x (few or none)."""
    rows, n = x.shape
    picked = p.reshape(-1)[flat_pos]  # a new (rows,) array
    low = picked < _TINY
    np.maximum(picked, _TINY, out=picked)
    logp = np.log(picked, out=picked)
    for r in np.flatnonzero(low):
        row = x[r]
        m = row.max()
        logp[r] = (row[flat_pos[r] - r * n] - m) - np.log(np.exp(row - m).sum())
    if scale != 1.0:
        logp *= scale
    return (logp.reshape(plan.out_shape),)


def _lsp_infer(data, index, axis=-1, keepdims=False, mode="clip", scale=1.0, hidden=False):
    out = _pick_infer(data, index, axis, keepdims, mode)
    if not hidden:
        return out
    ax = norm_axis(axis, len(data.shape), "pick")
    dt = np.dtype(data.dtype)
    kept = tuple(1 if k == ax else d for k, d in enumerate(data.shape))
    return out, Aval(tuple(data.shape), dt), Aval(kept, dt), Aval(out.shape, np.dtype(np.int64))


def _lsp_grad(ins, outs, gouts, axis=-1, keepdims=False, mode="clip", scale=1.0,
              hidden=False):
    data, index = ins
    hidden_known = outs is not None and len(outs) >= 4
    if STATE.recording and (not hidden_known or not hasattr(data, "_trace_node")):
        # create_graph, eagerly: differentiable ops (the fused backward has none)
        return _lsp_grad_composed(data, index, gouts[0], axis, mode, scale), None
    if not hidden_known:  # called without the hidden outputs
        outs = F._log_softmax_pick(data, index, axis=axis, keepdims=keepdims, mode=mode,
                                   hidden=True)
    _, e, s, pos = outs
    return F._log_softmax_pick_backward(gouts[0], e, s, pos, axis=axis, scale=scale), None


def _lsp_raw_grad(xp, ins, outs, head, axis=-1, keepdims=False, mode="clip", scale=1.0,
                  hidden=False):
    """``_lsp_grad`` on raw arrays from the hidden outputs (None without them)."""
    if outs is None or len(outs) < 4:
        return None
    _, e, s, pos = outs
    return _lspb_kernel(xp, head, e, s, pos, axis=axis, scale=scale), None


def _lsp_grad_composed(data, index, grad, axis, mode, scale):
    """The gradient as ``log_softmax`` and ``pick`` differentiate it, in ops that have
    gradients themselves (second order through an eager softmax cross-entropy)."""
    logp = F.log_softmax(data, axis=axis)
    g = grad if scale == 1.0 else grad * scale
    g_logp = _pick_grad([logp, index], None, [g], axis=axis, mode=mode)[0]
    return _log_softmax_grad([data], [logp], [g_logp], axis=axis)[0]


def _lsp_onnx(g, i, a, o, axis=-1, keepdims=False, mode="clip", scale=1.0, hidden=False):
    if hidden:
        from ...base import ExportError
        raise ExportError("_log_softmax_pick with hidden outputs exists only in compiled "
                          "training graphs (exports keep log_softmax and pick)")
    logp = g.op("LogSoftmax", i[0], axis=norm_axis(axis, len(a[0].shape), "pick"))
    out = _pick_onnx(g, [logp, i[1]], a, o, axis=axis, keepdims=keepdims, mode=mode)
    if float(scale) != 1.0:
        out = g.op("Mul", out, g.const(np.asarray(scale, dtype=np.dtype(o[0].dtype))))
    return out


def _log_softmax_ref(x, axis):
    return np.log(_softmax_ref(x, axis=axis))


def _lsp_ref(data, index, axis=-1, keepdims=False, mode="clip", scale=1.0, hidden=False):
    logp = np.moveaxis(_log_softmax_ref(data, axis), axis, -1)
    n = logp.shape[-1]
    idx = np.trunc(index).astype(np.int64)
    idx = idx % n if mode == "wrap" else np.clip(idx, 0, n - 1)
    picked = np.take_along_axis(logp, idx.reshape(logp.shape[:-1] + (1,)), -1)[..., 0]
    return scale * (np.expand_dims(picked, axis) if keepdims else picked)


_ATTRS = {"axis": -1, "keepdims": False, "mode": "clip", "scale": 1.0, "hidden": False}

_log_softmax_pick = register(
    "_log_softmax_pick", _lsp_kernel, inputs=("data", "index"), attrs=dict(_ATTRS),
    num_outputs=lambda attrs: 4 if attrs.get("hidden") else 1,
    infer=_lsp_infer, grad=_lsp_grad, onnx=_lsp_onnx, ref=_lsp_ref, raw_grad=_lsp_raw_grad,
    samples=[Sample(rnd(3, 4) * 3, np.array([0.0, 3.0, 1.0]), wrt=[0]),
             Sample(rnd(4, 3) * 3, np.array([1.0, -1.0, 5.0]), axis=0, keepdims=True,
                    mode="wrap", wrt=[0]),
             Sample(rnd(2, 3, 4), np.array([[0.0, 2.0, 1.0, 1.0], [2.0, 0.0, 0.0, 1.0]]),
                    axis=1, scale=-1.0, wrt=[0]),
             Sample(rnd(3, 4) * 3, np.array([2.0, 0.0, 1.0]), keepdims=True, scale=-0.5,
                    wrt=[0])],
    doc="scale * pick(log_softmax(data, axis), index, axis) in one op (compiled graphs, the\n"
        "    eager SoftmaxCELoss).\n\n"
        "    ``hidden=True`` also returns the gradient's inputs: exp(data - max) (data's shape),\n"
        "    its sum along axis (axis kept) and the flat label positions (output's shape);\n"
        "    large rows on the CPU: the softmax itself and ones.\n\n"
        "    >>> nd._log_softmax_pick(nd.array([[0., 0.]]), nd.array([1]))  # [-0.6931]",
        amp="fp32")


_DONATED = threading.local()  # .ids: the saved arrays the running backward may overwrite


class donating:
    """``with donating(arrays):`` while a compiled backward runs for the last time (its tape
    freed right after), the gradient of ``_log_softmax_pick`` may be written into the saved
    ``e`` among ``arrays``, which only that gradient reads: no second logits-sized array.
    (A slotted class, not a generator context manager: it wraps every training step's
    backward.)"""

    __slots__ = ("ids", "prev")

    def __init__(self, arrays):
        self.ids = {id(a) for a in arrays}

    def __enter__(self):
        self.prev = getattr(_DONATED, "ids", None)
        _DONATED.ids = self.ids
        return self

    def __exit__(self, *exc):
        _DONATED.ids = self.prev
        return False


def _donated(e):
    ids = getattr(_DONATED, "ids", None)
    return ids is not None and id(e) in ids and e.flags.c_contiguous and e.flags.writeable


def _lspb_kernel(xp, grad, e, s, pos, axis=-1, scale=1.0):
    if xp is not np:
        res = lsp_backward_rows(xp, grad, e, s, pos, scale)
        if res is not None:
            return res
    h = grad.reshape(pos.shape)
    if scale != -1.0:
        h = h * (-scale)
    if pos.size == s.size:  # one label per lane (the loss)
        factor = xp.divide(h.reshape(s.shape), s)
        res = e if _donated(e) else xp.empty_like(e)
        if xp is np and s.shape[-1] == 1 and e.flags.c_contiguous and e.size >= MIN_SPLIT:
            # rows per core
            rows = s.size
            e2, r2, f2 = e.reshape(rows, -1), res.reshape(rows, -1), factor.reshape(rows, 1)
            split_rows(lambda lo, hi: np.multiply(e2[lo:hi], f2[lo:hi], out=r2[lo:hi]),
                       rows, e.size)
        else:
            xp.multiply(e, factor, out=res)
        res.reshape(-1)[pos] -= h  # res is C-ordered (new, or e): the flat view writes through
        return res
    h_sum = h.sum(axis=norm_axis(axis, e.ndim, "pick"), keepdims=True)
    res = xp.multiply(e, xp.divide(h_sum, s))
    scatter_add(xp, res.reshape(-1), pos.reshape(-1), -h.reshape(-1))  # labels may repeat
    return res


def _lspb_ref(grad, e, s, pos, axis=-1, scale=1.0):
    onehot = np.zeros(e.size)
    onehot[pos.reshape(-1)] = 1.0
    return scale * grad.reshape(s.shape) * (onehot.reshape(e.shape) - e / s)


def _lspb_sample(x, index, grad_shape, axis=-1, mode="clip", scale=1.0, keepdims=False):
    """Backward inputs consistent with a forward call (the registry tests need real ones)."""
    outs = _lsp_kernel(np, x, index, axis=axis, keepdims=keepdims, mode=mode, hidden=True)
    return Sample(rnd(*grad_shape, salt=3), *outs[1:], axis=axis, scale=scale)


_log_softmax_pick_backward = register(
    "_log_softmax_pick_backward", _lspb_kernel, inputs=("grad", "e", "s", "pos"),
    attrs={"axis": -1, "scale": 1.0},
    infer=lambda grad, e, s, pos, **_: Aval(tuple(e.shape), np.dtype(e.dtype)),
    no_grad="the backward of _log_softmax_pick, which differentiates once (under create_graph "
            "_log_softmax_pick's gradient is written with log_softmax and pick instead)",
    no_onnx="exists only in compiled training graphs, which are never exported",
    ref=_lspb_ref,
    samples=[_lspb_sample(rnd(3, 4) * 3, np.array([0.0, 3.0, 1.0]), (3,)),
             _lspb_sample(rnd(4, 3) * 3, np.array([1.0, -1.0, 5.0]), (1, 3), axis=0,
                          mode="wrap", scale=-1.0, keepdims=True),
             _lspb_sample(rnd(2, 3, 4), np.array([[0.0, 2.0, 1.0, 1.0], [2.0, 0.0, 0.0, 1.0]]),
                          (2, 4), axis=1, scale=-2.0)],
    doc="Gradient of _log_softmax_pick from its hidden outputs (internal): "
        "scale * grad * (onehot(pos) - e / s).")
