"""Ops that are linear in their data given a sampling plan (ROI pooling and alignment,
resizing, adaptive pooling), registered as a pair by ``register_linear``.

A *plan* ``plan(data, *aux, **attrs) -> (idx, w)`` gives, for every output element, K flat
positions into ``data`` and their weights (both of shape out_shape + (K,); unused taps have
weight 0). The forward op gathers ``sum_k w * data.flat[idx]``; ``_backward_<name>(grad_out,
data, *aux)`` scatters ``grad_out * w`` back (the transpose). The backward op's own gradient
(w.r.t. grad_out) is the forward op again, so second order comes for free. The plan runs on
the host in numpy: it is index arithmetic over ROI boxes and output positions, not over the
data (only ROIPooling's argmax reads the data's values).
"""
import numpy as np

from .. import ops as F
from .._registry import Aval, Sample, register
from ._boxes import host
from ._samples import rnd


def bilinear_taps(y, x, h, w):
    """MXNet's ROIAlign interpolation at points (y, x) (arrays of one shape) of an (h, w)
    map: (idx (..., 4) flat positions, wt (..., 4) weights); points beyond one pixel outside
    the map get weight 0, points in that margin clamp to the border."""
    y, x = np.asarray(y, np.float64), np.asarray(x, np.float64)
    out = (y < -1.0) | (y > h) | (x < -1.0) | (x > w)
    y, x = np.maximum(y, 0), np.maximum(x, 0)
    y0, x0 = np.floor(y).astype(np.int64), np.floor(x).astype(np.int64)
    ytop, xtop = y0 >= h - 1, x0 >= w - 1
    y0, x0 = np.where(ytop, h - 1, y0), np.where(xtop, w - 1, x0)
    y1, x1 = np.where(ytop, h - 1, y0 + 1), np.where(xtop, w - 1, x0 + 1)
    ly, lx = np.where(ytop, 0.0, y - y0), np.where(xtop, 0.0, x - x0)
    hy, hx = 1 - ly, 1 - lx
    idx = np.stack([y0 * w + x0, y0 * w + x1, y1 * w + x0, y1 * w + x1], -1)
    wt = np.stack([hy * hx, hy * lx, ly * hx, ly * lx], -1)
    return idx, np.where(out[..., None], 0.0, wt)


def pad_taps(groups, shape):
    """Stack per-output lists of (idx, w) 1-D arrays of varying length into out_shape + (K,)
    arrays (K the longest; the padding has weight 0)."""
    k = max([len(i) for i, _ in groups] + [1])
    idx = np.zeros((len(groups), k), np.int64)
    wt = np.zeros((len(groups), k))
    for r, (i, w) in enumerate(groups):
        idx[r, :len(i)], wt[r, :len(w)] = i, w
    return idx.reshape(tuple(shape) + (k,)), wt.reshape(tuple(shape) + (k,))


def _gather(xp, data, idx, wt):
    flat = data.reshape(-1)
    return (flat[xp.asarray(idx)] * xp.asarray(wt, dtype=data.dtype)).sum(-1)


def _scatter(xp, g, data, idx, wt):
    vals = (g[..., None] * xp.asarray(wt, dtype=g.dtype)).reshape(-1)
    out = xp.bincount(xp.asarray(idx).reshape(-1), weights=vals, minlength=data.size)
    return out.reshape(data.shape).astype(data.dtype)


def register_linear(name, plan, *, inputs, attrs, infer, samples, no_onnx, bw_samples,
                    aux_grad_reason, reads_values=False, **facets):
    """Register ``name`` (forward) and ``_backward_<name>`` from ``plan``; the aux inputs
    (``inputs[1:]``) get no gradient (``aux_grad_reason`` says why). ``reads_values``: the
    plan depends on the data's values (argmax), so the backward op has no gradient of its
    own. Returns both ops' functions (assign them to module-level names: the namespace
    generator binds ops by name)."""
    bw_name = "_backward_" + name
    aux = inputs[1:]

    def plan_of(data, rest, a):
        return plan(data, *[None if x is None else host(x) for x in rest], **a)

    def kernel(xp, data, *rest, **a):
        infer(data, *rest, **a)
        return _gather(xp, data, *plan_of(data, rest, a))

    def bw_kernel(xp, g, data, *rest, **a):
        return _scatter(xp, g, data, *plan_of(data, rest, a))

    def grad(ins, outs, gouts, **a):
        return (getattr(F, bw_name)(gouts[0], *ins, **a),) + (None,) * len(aux)

    def bw_grad(ins, outs, gouts, **a):
        # the transpose of the transpose: the forward op, whose plan reads only shapes
        return (getattr(F, name)(gouts[0], *ins[2:], **a), None) + (None,) * len(aux)

    fwd = register(name, kernel, inputs=inputs, attrs=dict(attrs), infer=infer, grad=grad,
                   no_onnx=no_onnx, samples=samples,
                   no_ref=facets.pop("no_ref", "checked against MXNet 1.9.1 in "
                                                 "tests/test_vision_ops.py"), **facets)
    bw = register(bw_name, bw_kernel, inputs=("grad_out",) + tuple(inputs), attrs=dict(attrs),
             infer=lambda g, data, *rest, **a: Aval(tuple(data.shape), np.dtype(g.dtype)),
             grad=None if reads_values else bw_grad,
             no_grad="the routing depends on the data's argmax: no second order is written"
             if reads_values else None, no_onnx=no_onnx, samples=bw_samples,
             no_ref=f"the transpose of {name}: checked through {name}'s gradient test",
             doc=f"The gradient of ``{name}`` w.r.t. its data ({aux_grad_reason}).")
    return fwd, bw


def bw_sample(fwd_sample, out_shape, salt=9):
    """A backward-op sample from a forward sample: a random head gradient of out_shape."""
    return Sample(rnd(*out_shape, salt=salt), *fwd_sample.inputs, wrt=[0], **fwd_sample.attrs)
