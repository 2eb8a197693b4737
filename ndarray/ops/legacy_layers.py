"""Two layers of MXNet's symbolic era: ``LRN`` (local response normalization across
channels, AlexNet's) and ``Crop`` (a spatial window of an image).

Example::

    >>> nd.LRN(nd.ones((1, 5, 2, 2)), nsize=3).shape                 # (1, 5, 2, 2)
    >>> nd.Crop(nd.ones((1, 3, 6, 6)), h_w=(4, 4), center_crop=True).shape   # (1, 3, 4, 4)
"""
import numpy as np

from ...base import OpError
from .. import ops as F
from .._registry import REQUIRED, Aval, Sample, register
from ._rules import same
from ._samples import rnd


# ---- LRN ------------------------------------------------------------------------------------
def _window_sum_np(xp, sq, nsize):
    half = (int(nsize) - 1) // 2
    c = sq.shape[1]
    cs = xp.cumsum(xp.concatenate([xp.zeros_like(sq[:, :1]), sq], axis=1), axis=1)
    hi = np.minimum(np.arange(c) + half + 1, c)
    lo = np.maximum(np.arange(c) - half, 0)
    return cs[:, hi] - cs[:, lo]


def _window_sum(x, nsize):
    """Sum over the ``nsize`` channels centred on each channel (zeros beyond the edges),
    written with registry ops so the gradient hybridizes."""
    half = (int(nsize) - 1) // 2
    c = x.shape[1]
    if half == 0:
        return x
    zeros = F.zeros_like(F.slice_axis(x, axis=1, begin=0, end=1))
    padded = F.concat(*([zeros] * half + [x] + [zeros] * half), dim=1)
    out = F.slice_axis(padded, axis=1, begin=0, end=c)
    for o in range(1, 2 * half + 1):
        out = out + F.slice_axis(padded, axis=1, begin=o, end=o + c)
    return out


def _lrn_kernel(xp, data, alpha=1e-4, beta=0.75, knorm=2.0, nsize=REQUIRED):
    s = knorm + alpha / nsize * _window_sum_np(xp, data * data, nsize)
    return (data * s ** -beta).astype(data.dtype)


def _lrn_grad(ins, outs, gouts, alpha=1e-4, beta=0.75, knorm=2.0, nsize=REQUIRED):
    x, g = ins[0], gouts[0]
    s = knorm + _window_sum(x * x, nsize) * (alpha / nsize)
    sb = s ** -beta
    # the channel j's output depends on x_i through s_j when i lies in j's window, which is
    # the same window relation (symmetric), so the adjoint is the same window sum
    inner = _window_sum(g * x * sb / s, nsize)
    return (g * sb - x * inner * (2.0 * alpha * beta / nsize),)


def _lrn_onnx(g, i, a, o, alpha=1e-4, beta=0.75, knorm=2.0, nsize=REQUIRED):
    shape = tuple(a[0].shape)
    x = i[0] if len(shape) == 4 else g.op("Reshape", i[0], g.ints([shape[0], shape[1], -1, 1]))
    y = g.op("LRN", x, alpha=float(alpha), beta=float(beta), bias=float(knorm),
             size=int(nsize))
    # onnxruntime's LRN takes 4-D input only: other ranks go through (N, C, -1, 1)
    return y if len(shape) == 4 else g.op("Reshape", y, g.ints(list(shape)))


lrn = register(
    "lrn", _lrn_kernel, aliases=("LRN",),
    attrs={"alpha": 1e-4, "beta": 0.75, "knorm": 2.0, "nsize": REQUIRED},
    infer=same, grad=_lrn_grad, onnx=_lrn_onnx, second_order=True, amp="fp32",
    ref=lambda data, **a: _lrn_kernel(np, data, **a),
    samples=[Sample(rnd(2, 5, 2, 2), nsize=3), Sample(rnd(1, 4, 3), nsize=5, alpha=0.5,
                                                      beta=0.6, knorm=1.5),
             Sample(rnd(1, 3, 2, 2), nsize=1, alpha=0.1)],
    doc="""Local response normalization across channels (MXNet ``LRN``): ``x / (knorm +
    alpha/nsize * sum of x^2 over the nsize channels centred on x's)^beta``. data (N, C, ...)
    (nsize odd); output like data.

    Example::

        >>> nd.LRN(x, nsize=5, alpha=1e-4, beta=0.75, knorm=2)
    """)


# ---- Crop -----------------------------------------------------------------------------------
def _crop_box(shape, like, offset, h_w, center_crop):
    h, w = shape[2], shape[3]
    th, tw = (like[2], like[3]) if like is not None else tuple(int(v) for v in h_w)
    if th < 1 or tw < 1 or th > h or tw > w:
        raise OpError(f"Crop: the window {(th, tw)} must fit the data's {(h, w)} (give h_w or "
                      "a second input)")
    oy, ox = ((h - th) // 2, (w - tw) // 2) if center_crop else tuple(int(v) for v in offset)
    if oy + th > h or ox + tw > w:
        raise OpError(f"Crop: offset {(oy, ox)} + window {(th, tw)} exceeds {(h, w)}")
    return oy, ox, th, tw


def _crop_kernel(xp, *data, num_args=1, offset=(0, 0), h_w=(0, 0), center_crop=False):
    like = data[1].shape if len(data) > 1 else None
    oy, ox, th, tw = _crop_box(data[0].shape, like, offset, h_w, center_crop)
    return data[0][:, :, oy:oy + th, ox:ox + tw].copy()


def _crop_infer(*data, num_args=1, offset=(0, 0), h_w=(0, 0), center_crop=False):
    like = tuple(data[1].shape) if len(data) > 1 else None
    _, _, th, tw = _crop_box(tuple(data[0].shape), like, offset, h_w, center_crop)
    return Aval(tuple(data[0].shape[:2]) + (th, tw), np.dtype(data[0].dtype))


def _crop_grad(ins, outs, gouts, num_args=1, offset=(0, 0), h_w=(0, 0), center_crop=False):
    x = ins[0]
    like = tuple(ins[1].shape) if len(ins) > 1 else None
    oy, ox, th, tw = _crop_box(tuple(x.shape), like, offset, h_w, center_crop)
    h, w = x.shape[2], x.shape[3]
    gx = F.pad(gouts[0], mode="constant",
               pad_width=(0, 0, 0, 0, oy, h - oy - th, ox, w - ox - tw))
    return (gx,) + (None,) * (len(ins) - 1)


def _crop_onnx(g, i, a, o, num_args=1, offset=(0, 0), h_w=(0, 0), center_crop=False):
    like = tuple(a[1].shape) if len(a) > 1 else None
    oy, ox, th, tw = _crop_box(tuple(a[0].shape), like, offset, h_w, center_crop)
    return g.op("Slice", i[0], g.ints([oy, ox]), g.ints([oy + th, ox + tw]), g.ints([2, 3]))


crop_window = register(
    "crop_window", _crop_kernel, inputs=("*data",), aliases=("Crop",),
    attrs={"num_args": 1, "offset": (0, 0), "h_w": (0, 0), "center_crop": False},
    infer=_crop_infer, grad=_crop_grad, onnx=_crop_onnx, second_order=True,
    ref=lambda *d, **a: _crop_kernel(np, *d, **a),
    samples=[Sample(rnd(2, 3, 5, 6), h_w=(3, 4), offset=(1, 2)),
             Sample(rnd(1, 2, 6, 6), h_w=(4, 3), center_crop=True),
             Sample(rnd(1, 2, 5, 5), rnd(1, 1, 2, 3), num_args=2, center_crop=True, wrt=[0])],
    doc="""A spatial window of data (N, C, H, W) (MXNet ``Crop``): size ``h_w`` or, with a
    second input, that input's (H, W); at ``offset`` (y, x) or, with ``center_crop``,
    centred. Output (N, C, h, w).

    Example::

        >>> nd.Crop(nd.ones((1, 3, 6, 6)), h_w=(4, 4), offset=(1, 1)).shape   # (1, 3, 4, 4)
    """)
