"""MXNet's legacy output layer ``SoftmaxOutput`` and its backward op.

Forward it is a softmax; backward it IGNORES the head gradient and returns the gradient of the
cross entropy, ``(softmax - onehot(label)) * scale``, as MXNet 1.9 does (Module-era code ends a
network with it and calls ``backward()`` without a head gradient). The label gets a zero
gradient. The shapes line up one of three ways:

* ``label.shape == data.shape``: probability labels, ``grad = (out - label) * grad_scale``
  (no ignore, no normalization);
* ``multi_output``: data (N, K, d...), label (N, d...), softmax over axis 1;
* otherwise label ``data.shape[:-1]``, softmax over the last axis (``preserve_shape``, or
  2-D data). Without ``preserve_shape``, data of more axes with class labels is refused: MXNet
  softmaxes the rows of ``data.reshape(N, -1)`` but its backward reads only the first N labels,
  a silently wrong gradient (probability labels like data are fine there).

``normalization`` divides the gradient by: ``'null'`` 1 (``multi_output``: ``prod(d...)``),
``'batch'`` ``label.size``, ``'valid'`` the number of labels not ignored (at least 1).
"""
import numpy as np

from ...base import OpError
from .. import ops as F
from .._registry import Aval, Sample, register
from ._samples import rnd

_ATTRS = {"grad_scale": 1.0, "ignore_label": -1.0, "multi_output": False, "use_ignore": False,
          "preserve_shape": False, "normalization": "null", "out_grad": False,
          "smooth_alpha": 0.0}
_NORMS = ("null", "batch", "valid")


def _label_shape(shape, multi_output=False, **_):
    """The class-index label shape that data of ``shape`` needs."""
    return (shape[0],) + tuple(shape[2:]) if multi_output else tuple(shape[:-1])


def _param_shapes(data, **attrs):
    """The label's shape for ``sym.infer_shape``: class indices where the layout takes them."""
    shape, attrs = tuple(data.shape), {**_ATTRS, **attrs}
    if len(shape) > 2 and not (attrs["multi_output"] or attrs["preserve_shape"]):
        return {"label": shape}  # only probabilities fit (see _check)
    return {"label": _label_shape(shape, **attrs)}


def _check(data, label, attrs):
    attrs = {**_ATTRS, **attrs}
    ds, ls = tuple(data.shape), tuple(label.shape)
    if len(ds) < 2:
        raise OpError(f"SoftmaxOutput: data needs at least 2 axes, got shape {ds}")
    if attrs.get("normalization", "null") not in _NORMS:
        raise OpError(f"SoftmaxOutput: normalization must be one of {_NORMS}, "
                      f"got {attrs['normalization']!r}")
    want = _label_shape(ds, **attrs)
    if ls not in (want, ds):
        raise OpError(f"SoftmaxOutput: label shape {ls} does not fit data {ds}: expected {want} "
                      f"(class indices) or {ds} (probabilities)")
    if ls != ds and len(ds) > 2 and not (attrs["multi_output"] or attrs["preserve_shape"]):
        raise OpError(f"SoftmaxOutput: class labels {ls} for data {ds} of more than 2 axes "
                      "need multi_output=True (softmax over axis 1) or preserve_shape=True "
                      "(over the last axis)")


def _softmax(xp, x, axis):
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _forward(xp, data, label, **attrs):
    _check(data, label, attrs)
    attrs = {**_ATTRS, **attrs}
    if attrs["multi_output"]:
        return _softmax(xp, data, 1)
    if attrs["preserve_shape"]:
        return _softmax(xp, data, -1)
    return _softmax(xp, data.reshape(data.shape[0], -1), 1).reshape(data.shape)


def _onnx(g, i, a, o, **attrs):
    attrs = {**_ATTRS, **attrs}
    shape = tuple(a[0].shape)
    if attrs["multi_output"]:
        return g.op("Softmax", i[0], axis=1)
    if attrs["preserve_shape"] or len(shape) == 2:
        return g.op("Softmax", i[0], axis=len(shape) - 1)
    flat = g.op("Reshape", i[0], g.ints([shape[0], -1]))
    return g.op("Reshape", g.op("Softmax", flat, axis=1), g.ints(shape))


def _grad(ins, outs, gouts, **attrs):
    attrs = {**_ATTRS, **attrs}
    head = gouts[0] if attrs["out_grad"] else None
    return _softmax_output_backward(outs[0], ins[1], head, **attrs), F.zeros_like(ins[1])


def _ref(data, label, **attrs):
    return _forward(np, data, label, **attrs)


_CLS = np.array([0.0, 2.0, 1.0])
_SAMPLES = [
    Sample(rnd(3, 4) * 2, _CLS, grad=False),
    Sample(rnd(2, 3, 4) * 2, np.array([[0.0, 1.0, 2.0, 2.0], [1.0, 1.0, 0.0, 2.0]]),
           multi_output=True, grad=False),
    Sample(rnd(2, 3, 4) * 2, np.array([[0.0, 1.0, 3.0], [3.0, 1.0, 0.0]]), preserve_shape=True,
           grad=False),
    Sample(rnd(2, 3, 2) * 2, _softmax(np, rnd(2, 6, salt=8), 1).reshape(2, 3, 2), grad=False),
    Sample(rnd(3, 4) * 2, _softmax(np, rnd(3, 4, salt=9), 1), grad=False),
]

softmax_output = register(
    "softmax_output", _forward, inputs=("data", "label"), attrs=dict(_ATTRS),
    infer=lambda data, label, **attrs: (_check(data, label, attrs),
                                        Aval(tuple(data.shape), np.dtype(data.dtype)))[1],
    grad=_grad, save_outputs=True, onnx=_onnx, ref=_ref, samples=_SAMPLES,
    aliases=("SoftmaxOutput", "Softmax"), amp="fp32",
    # sym.infer_shape sizes an unbound label as MXNet does (class indices)
    param_shapes=_param_shapes,
    doc="""Softmax forward; backward the cross-entropy gradient ``(out - onehot(label))`` times
    ``grad_scale`` / normalization, ignoring the head gradient (MXNet ``SoftmaxOutput``).

    data (N, K) with label (N,) class indices, or label like data (probabilities);
    ``multi_output``: data (N, K, d...), label (N, d...); ``preserve_shape``: softmax over the
    last axis. ``use_ignore`` zeroes the gradient of rows labelled ``ignore_label``;
    ``smooth_alpha`` smooths the one-hot target (``1 - alpha`` on the label, ``alpha / (K-1)``
    elsewhere). ``out_grad=True`` multiplies the gradient by the head gradient (MXNet 1.9
    multiplies by the output instead, against its own documentation). Output: like data.

    Example::

        >>> x = nd.array([[1, 2, 3]]); x.attach_grad()
        >>> with autograd.record():
        ...     y = nd.SoftmaxOutput(x, nd.array([2]))
        >>> y.backward(); x.grad            # softmax(x) - [0, 0, 1]
    """)


# ---- the backward op -------------------------------------------------------------------------
def _rows(xp, out, label, multi_output):
    """The output as (rows, K) against the flat labels, and how to put a (rows, K) back."""
    if multi_output:
        n, k = out.shape[:2]
        o = xp.moveaxis(out.reshape(n, k, -1), 1, 2)
        inner = o.shape[1]
        return o.reshape(-1, k), lambda g: xp.moveaxis(g.reshape(n, inner, k), 2, 1).reshape(
            out.shape), inner
    return out.reshape(label.size, -1), lambda g: g.reshape(out.shape), 1


def _backward_kernel(xp, out, label, head=None, **attrs):
    attrs = {**_ATTRS, **attrs}
    scale = float(attrs["grad_scale"])
    if tuple(label.shape) == tuple(out.shape):
        g = (out - label.astype(out.dtype)) * out.dtype.type(scale)
    else:
        o, back, inner = _rows(xp, out, label, attrs["multi_output"])
        k = o.shape[1]
        idx = label.reshape(-1).astype(np.int64)
        hit = idx[:, None] == xp.arange(k)[None]
        alpha = float(attrs["smooth_alpha"])
        target = xp.where(hit, 1.0 - alpha, alpha / max(k - 1, 1)) if alpha else hit
        g = o - target.astype(out.dtype)
        keep = xp.ones(idx.shape, bool)
        if attrs["use_ignore"]:
            keep = idx != int(attrs["ignore_label"])
            g = g * keep[:, None]
        norm = {"null": inner, "batch": idx.size,
                "valid": max(int(keep.sum()), 1)}[attrs["normalization"]]
        g = back(g * out.dtype.type(scale / norm))
    if head is not None:
        g = g * head
    return g.astype(out.dtype)


_softmax_output_backward = register(
    "_softmax_output_backward", _backward_kernel, inputs=("output", "label", "head?"),
    attrs=dict(_ATTRS),
    infer=lambda out, label, head=None, **attrs: (_check(out, label, attrs),
                                                  Aval(tuple(out.shape), np.dtype(out.dtype)))[1],
    samples=[Sample(_softmax(np, rnd(3, 4), 1), _CLS, None, use_ignore=True, ignore_label=2,
                    normalization="valid"),
             Sample(_softmax(np, rnd(2, 3, 4), 1), np.array([[0.0, 1, 2, 2], [1, 1, 0, 2]]),
                    rnd(2, 3, 4, salt=3), multi_output=True, out_grad=True, smooth_alpha=0.1)],
    no_grad="the gradient of SoftmaxOutput's gradient is not defined by MXNet",
    no_onnx="backward-only op: never exported",
    no_ref="checked against MXNet 1.9 in tests/test_output_ops.py",
    doc="Gradient of ``SoftmaxOutput`` with respect to its data, from its output and label.")
