"""MXNet 1.9's ``Correlation`` (FlowNet's correlation layer) over two NCHW maps.

For every output position and every displacement (dy, dx) of a (2r + 1)^2 grid (r =
max_displacement // stride2, steps of stride2), the mean over channels and a kernel_size^2
window of data1 * data2 shifted by the displacement (or |data1 - data2| without
``is_multiply``). Both inputs are zero-padded by pad_size first. ``_backward_correlation``
gives both inputs' gradients.
"""
import math

import numpy as np

from ...base import OpError
from .. import ops as F
from .._registry import Aval, Sample, register
from ._samples import rnd

_ATTRS = {"kernel_size": 1, "max_displacement": 1, "stride1": 1, "stride2": 1, "pad_size": 0,
          "is_multiply": True}


def _geom(shape, kernel_size=1, max_displacement=1, stride1=1, stride2=1, pad_size=0, **_):
    n, c, h, w = shape
    k, md, s1, s2, p = (int(v) for v in (kernel_size, max_displacement, stride1, stride2,
                                         pad_size))
    if k % 2 == 0 or k < 1:
        raise OpError(f"Correlation: kernel_size must be odd, got {k}")
    border = md + (k - 1) // 2
    oh = int(math.ceil((h + 2 * p - 2 * border) / s1))
    ow = int(math.ceil((w + 2 * p - 2 * border) / s1))
    r = md // s2
    if oh < 1 or ow < 1:
        raise OpError(f"Correlation: the input {shape} is too small for max_displacement {md}")
    return k, md, s1, s2, p, oh, ow, r


def _infer(data1, data2, **a):
    if len(data1.shape) != 4 or tuple(data1.shape) != tuple(data2.shape):
        raise OpError(f"Correlation: two (N, C, H, W) inputs of one shape expected, got "
                      f"{data1.shape} and {data2.shape}")
    *_, oh, ow, r = _geom(data1.shape, **a)
    return Aval((data1.shape[0], (2 * r + 1) ** 2, oh, ow), data1.dtype)


def _windows(xp, m, k, md, s1, oh, ow, dy=0, dx=0):
    """(N, C, OH, OW, k, k) views: the k x k window of each output position in padded ``m``,
    shifted by (dy, dx)."""
    rows = (np.arange(oh) * s1 + md + dy)[:, None] + np.arange(k)[None, :]
    cols = (np.arange(ow) * s1 + md + dx)[:, None] + np.arange(k)[None, :]
    return m[:, :, rows[:, None, :, None], cols[None, :, None, :]]


def _shifts(r, s2):
    return [((i // (2 * r + 1) - r) * s2, (i % (2 * r + 1) - r) * s2)
            for i in range((2 * r + 1) ** 2)]


def _pad(xp, x, p):
    return xp.pad(x, ((0, 0), (0, 0), (p, p), (p, p))) if p else x


def _kernel(xp, data1, data2, **a):
    a = {**_ATTRS, **a}
    _infer(data1, data2, **a)
    k, md, s1, s2, p, oh, ow, r = _geom(data1.shape, **a)
    d1, d2 = _pad(xp, data1, p), _pad(xp, data2, p)
    w1 = _windows(xp, d1, k, md, s1, oh, ow)
    scale = 1.0 / (k * k * data1.shape[1])
    outs = []
    for dy, dx in _shifts(r, s2):
        w2 = _windows(xp, d2, k, md, s1, oh, ow, dy, dx)
        v = w1 * w2 if a["is_multiply"] else xp.abs(w1 - w2)
        outs.append(v.sum(axis=(1, 4, 5)) * scale)
    return xp.stack(outs, 1).astype(data1.dtype)


def _scatter_windows(xp, vals, shape, k, md, s1, oh, ow, dy=0, dx=0):
    """The adjoint of ``_windows``: add (N, C, OH, OW, k, k) values back into a padded map."""
    rows = (np.arange(oh) * s1 + md + dy)[:, None] + np.arange(k)[None, :]
    cols = (np.arange(ow) * s1 + md + dx)[:, None] + np.arange(k)[None, :]
    flat = (rows[:, None, :, None] * shape[3] + cols[None, :, None, :]).reshape(-1)
    n, c = shape[:2]
    out = xp.zeros((n * c, shape[2] * shape[3]), dtype=vals.dtype)
    v = vals.reshape(n * c, -1)
    for i in range(n * c):   # bincount per plane: windows overlap
        out[i] = xp.bincount(xp.asarray(flat), weights=v[i], minlength=out.shape[1])
    return out.reshape(shape)


def _bw_kernel(xp, g, data1, data2, **a):
    a = {**_ATTRS, **a}
    k, md, s1, s2, p, oh, ow, r = _geom(data1.shape, **a)
    d1, d2 = _pad(xp, data1, p), _pad(xp, data2, p)
    w1 = _windows(xp, d1, k, md, s1, oh, ow)
    scale = 1.0 / (k * k * data1.shape[1])
    g1 = xp.zeros(w1.shape, dtype=g.dtype)
    g2 = xp.zeros(d2.shape, dtype=g.dtype)
    for i, (dy, dx) in enumerate(_shifts(r, s2)):
        w2 = _windows(xp, d2, k, md, s1, oh, ow, dy, dx)
        gi = (g[:, i] * scale)[:, None, :, :, None, None]
        if a["is_multiply"]:
            da, db = gi * w2, gi * w1
        else:
            # MXNet's subgradient of |w1 - w2|: +1 where w1 >= w2 (ties included), else -1
            sgn = xp.where(w1 >= w2, 1, -1).astype(g.dtype)
            da, db = gi * sgn, -gi * sgn
        g1 = g1 + da
        g2 = g2 + _scatter_windows(xp, db, d2.shape, k, md, s1, oh, ow, dy, dx)
    g1 = _scatter_windows(xp, g1, d1.shape, k, md, s1, oh, ow)
    h, w = data1.shape[2:]
    return (g1[:, :, p:p + h, p:p + w].astype(data1.dtype),
            g2[:, :, p:p + h, p:p + w].astype(data2.dtype))


_SAMPLES = [Sample(rnd(2, 3, 5, 6), rnd(2, 3, 5, 6, salt=5)),
            Sample(rnd(1, 2, 6, 6), rnd(1, 2, 6, 6, salt=6), kernel_size=3, max_displacement=2,
                   stride1=2, stride2=2, pad_size=2),
            Sample(rnd(1, 2, 5, 5), rnd(1, 2, 5, 5, salt=7), max_displacement=2, pad_size=1,
                   is_multiply=False)]

correlation = register(
    "correlation", _kernel, inputs=("data1", "data2"), attrs=dict(_ATTRS), infer=_infer,
    grad=lambda i, o, g, **a: F._backward_correlation(g[0], i[0], i[1], **a),
    no_onnx="a sum of shifted products; no ONNX lowering is written",
    ref=lambda d1, d2, **a: _kernel(np, d1, d2, **a), samples=_SAMPLES,
    aliases=("Correlation",), amp="widest",
    doc="""FlowNet correlation of two (N, C, H, W) maps (MXNet ``Correlation``): output
    (N, (2r + 1)^2, OH, OW), r = max_displacement // stride2, OH = ceil((H + 2 pad_size -
    2 (max_displacement + (kernel_size - 1) / 2)) / stride1); channel (i, j) of the grid is
    the displacement ((i - r) stride2, (j - r) stride2).

    Example::

        >>> nd.Correlation(a, b, max_displacement=2, pad_size=2).shape   # (N, 25, H, W)
    """)

_backward_correlation = register(
    "_backward_correlation", _bw_kernel, inputs=("grad_out", "data1", "data2"),
    attrs=dict(_ATTRS), num_outputs=2,
    infer=lambda g, d1, d2, **a: (Aval(tuple(d1.shape), d1.dtype),
                                  Aval(tuple(d2.shape), d2.dtype)),
    no_grad="second-order gradients of Correlation are not written",
    no_onnx="the gradient of Correlation; no ONNX lowering is written",
    no_ref="checked through correlation's gradient test",
    samples=[Sample(rnd(2, 9, 3, 4, salt=8), *_SAMPLES[0].inputs, wrt=[0])],
    doc="The gradients of ``correlation`` w.r.t. both inputs.")
