"""MXNet 1.9's ``contrib.BilinearResize2D`` and ``contrib.AdaptiveAvgPooling2D`` over NCHW
data: both are separable linear maps over (H, W), registered through
``_linear_sample.register_linear`` (the forward gathers four / a window of taps, the
``_backward_<op>`` scatters them back).
"""
import math

import numpy as np

from ...base import OpError
from .._registry import Aval, Sample
from ._linear_sample import bw_sample, pad_taps, register_linear
from ._samples import rnd

_NO_ONNX = "no ONNX lowering is written (ONNX Resize/AveragePool differ in their rounding)"
_MODES = ("size", "odd_scale", "like", "to_even_down", "to_even_up", "to_odd_down", "to_odd_up")


def _outer(idx_h, w_h, idx_w, w_w, width, n_planes, plane):
    """Taps of every output pixel of every plane from per-axis taps (OH, kh) and (OW, kw)."""
    oh, ow = len(idx_h), len(idx_w)
    idx = (idx_h[:, None, :, None] * width + idx_w[None, :, None, :]).reshape(oh, ow, -1)
    wt = (w_h[:, None, :, None] * w_w[None, :, None, :]).reshape(oh, ow, -1)
    base = (np.arange(n_planes) * plane)[:, None, None, None]
    return base + idx, np.broadcast_to(wt, (n_planes,) + wt.shape)


# ---- BilinearResize2D -------------------------------------------------------------------------
_BR = {"height": 1, "width": 1, "scale_height": None, "scale_width": None, "mode": "size",
       "align_corners": True}


def _br_size(shape, like, height=1, width=1, scale_height=None, scale_width=None, mode="size",
             align_corners=True):
    h, w = shape[2], shape[3]
    if mode not in _MODES:
        raise OpError(f"BilinearResize2D: mode must be one of {_MODES}, got {mode!r}")
    if mode == "size":
        return (int(scale_height * h) if scale_height is not None else int(height),
                int(scale_width * w) if scale_width is not None else int(width))
    if mode == "odd_scale":
        if scale_height is None or scale_width is None:
            raise OpError("BilinearResize2D: mode='odd_scale' needs scale_height and "
                          "scale_width")
        return tuple(int(n * s) if n % 2 == 0 else int((n - 1) * s) + 1
                     for n, s in ((h, scale_height), (w, scale_width)))
    if mode == "like":
        if like is None:
            raise OpError("BilinearResize2D: mode='like' needs the like input")
        return tuple(like.shape[2:4])
    even, up = mode.startswith("to_even"), mode.endswith("up")
    return tuple(n if (n % 2 == 0) == even else n + (1 if up else -1) for n in (h, w))


def _br_infer(data, like=None, **a):
    if len(data.shape) != 4:
        raise OpError(f"BilinearResize2D: data must be (N, C, H, W), got {data.shape}")
    oh, ow = _br_size(data.shape, like, **a)
    if oh < 1 or ow < 1:
        raise OpError(f"BilinearResize2D: output size {(oh, ow)} is empty")
    return Aval(tuple(data.shape[:2]) + (oh, ow), data.dtype)


def _axis_taps(n_in, n_out, align_corners):
    """Two taps (index, weight) per output position, as MXNet's kernel computes them."""
    dst = np.arange(n_out, dtype=np.float64)
    if align_corners:
        src = dst * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
    else:
        src = np.maximum((dst + 0.5) * (n_in / n_out) - 0.5, 0.0)
    i0 = np.floor(src).astype(np.int64)
    i0 = np.minimum(i0, n_in - 1)
    i1 = np.where(i0 < n_in - 1, i0 + 1, i0)
    lam = src - i0
    return np.stack([i0, i1], 1), np.stack([1 - lam, lam], 1)


def _br_plan(data, like=None, **a):
    n, c, h, w = data.shape
    oh, ow = _br_size(data.shape, like, **{**_BR, **a})
    ac = a.get("align_corners", True)
    ih, wh = _axis_taps(h, oh, ac)
    iw, ww = _axis_taps(w, ow, ac)
    idx, wt = _outer(ih, wh, iw, ww, w, n * c, h * w)
    return idx.reshape(n, c, oh, ow, -1), wt.reshape(n, c, oh, ow, -1)


_br_samples = [Sample(rnd(2, 2, 3, 4), height=5, width=7),
               Sample(rnd(1, 2, 5, 4), height=3, width=2, align_corners=False),
               Sample(rnd(1, 1, 4, 5), scale_height=1.5, scale_width=0.6),
               Sample(rnd(1, 2, 3, 4), rnd(1, 1, 6, 5, salt=3), mode="like", wrt=[0]),
               Sample(rnd(1, 1, 5, 4), scale_height=2.0, scale_width=1.5, mode="odd_scale",
                      align_corners=False),
               Sample(rnd(1, 1, 3, 4), mode="to_odd_up")]

bilinear_resize_2d, _backward_bilinear_resize_2d = register_linear(
    "bilinear_resize_2d", _br_plan, inputs=("data", "like?"), attrs=_BR, infer=_br_infer,
    samples=_br_samples, no_onnx=_NO_ONNX,
    aux_grad_reason="``like`` gives only its shape: no gradient, as MXNet",
    bw_samples=[bw_sample(_br_samples[0], (2, 2, 5, 7)),
                bw_sample(_br_samples[3], (1, 2, 6, 5))],
    aliases=("BilinearResize2D", "_contrib_BilinearResize2D"), amp=None,
    doc="""Bilinear resize of NCHW data (MXNet ``contrib.BilinearResize2D``). ``mode``:
    'size' (``height``/``width``, or ``scale_height``/``scale_width`` times the input's),
    'odd_scale' (even sizes scaled, odd sizes n -> (n - 1) * scale + 1), 'like' (the
    spatial size of the second input ``like``), 'to_even_down', 'to_even_up',
    'to_odd_down', 'to_odd_up' (the nearest even/odd size). ``align_corners`` maps corner
    pixels onto corner pixels; otherwise pixel centres are aligned. Output (N, C, OH, OW).

    Example::

        >>> nd.contrib.BilinearResize2D(nd.ones((1, 3, 4, 4)), height=8, width=8).shape
        (1, 3, 8, 8)
    """)


# ---- AdaptiveAvgPooling2D ---------------------------------------------------------------------
def _out_hw(output_size):
    if output_size is None or output_size == ():
        return 1, 1
    if isinstance(output_size, int):
        return output_size, output_size
    s = tuple(int(v) for v in output_size)
    return (s[0], s[0]) if len(s) == 1 else s


def _ap_infer(data, output_size=()):
    if len(data.shape) != 4:
        raise OpError(f"AdaptiveAvgPooling2D: data must be (N, C, H, W), got {data.shape}")
    return Aval(tuple(data.shape[:2]) + _out_hw(output_size), data.dtype)


def _windows(n_in, n_out):
    """Per output position: the input positions [floor(i n / o), ceil((i + 1) n / o)) and
    their equal weights, padded to one width."""
    groups = []
    for i in range(n_out):
        lo, hi = (i * n_in) // n_out, int(math.ceil((i + 1) * n_in / n_out))
        groups.append((np.arange(lo, hi), np.full(hi - lo, 1.0 / (hi - lo))))
    return pad_taps(groups, (n_out,))


def _ap_plan(data, output_size=()):
    n, c, h, w = data.shape
    oh, ow = _out_hw(output_size)
    idx, wt = _outer(*_windows(h, oh), *_windows(w, ow), w, n * c, h * w)
    return idx.reshape(n, c, oh, ow, -1), wt.reshape(n, c, oh, ow, -1)


_ap_samples = [Sample(rnd(2, 2, 5, 7), output_size=(2, 3)), Sample(rnd(1, 3, 4, 4)),
               Sample(rnd(1, 1, 3, 5), output_size=4)]

adaptive_avg_pooling_2d, _backward_adaptive_avg_pooling_2d = register_linear(
    "adaptive_avg_pooling_2d", _ap_plan, inputs=("data",), attrs={"output_size": ()},
    infer=_ap_infer, samples=_ap_samples, no_onnx=_NO_ONNX, aux_grad_reason="no aux inputs",
    bw_samples=[bw_sample(_ap_samples[0], (2, 2, 2, 3))],
    aliases=("AdaptiveAvgPooling2D", "_contrib_AdaptiveAvgPooling2D"), amp=None,
    doc="""Adaptive average pooling of NCHW data to ``output_size`` (an int, (h, w), or empty
    for 1 x 1) (MXNet ``contrib.AdaptiveAvgPooling2D``): output (i, j) averages input rows
    [floor(i H / h), ceil((i + 1) H / h)) and the columns likewise.

    Example::

        >>> nd.contrib.AdaptiveAvgPooling2D(nd.ones((1, 3, 7, 7)), output_size=(2, 2)).shape
        (1, 3, 2, 2)
    """)
