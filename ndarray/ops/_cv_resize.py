"""OpenCV's ``cv::resize`` in numpy, as MXNet calls it: shared by ``nd.image.resize`` (a
registry op, ``image_ops.py``) and ``mx.image`` (``image/_numpy.py`` re-exports it).

Images are (H, W, C) or (N, H, W, C) numpy arrays. Resizing is separable: each axis gets an
(out, in) weight matrix and the image is contracted with both (no loops over pixels).

Interpolation codes are OpenCV's, which MXNet passes straight to ``cv::resize``: 0 nearest,
1 bilinear, 2 bicubic, 3 area, 4 Lanczos (MXNet's docs call 2 "area" and 3 "bicubic", but its
pixels are OpenCV's), 9 auto, 10 random. Integer images use OpenCV's 11-bit fixed-point
weights for bilinear and bicubic, so uint8 results match OpenCV's to the unit.
"""
import random

import numpy as np


def _taps(n_out, n_in, src, coeffs):
    """(out, in) weights from tap positions ``src`` (out, k) and ``coeffs`` (out, k);
    positions outside the input are clamped to the edge (OpenCV's replicated border)."""
    w = np.zeros((n_out, n_in))
    rows = np.repeat(np.arange(n_out), src.shape[1])
    np.add.at(w, (rows, np.clip(src, 0, n_in - 1).ravel()), coeffs.ravel())
    return w


def _nearest_weights(n_out, n_in):
    # INTER_NEAREST: src = floor(dst * in / out)
    src = np.minimum(np.floor(np.arange(n_out) * (n_in / n_out)).astype(np.int64), n_in - 1)
    return _taps(n_out, n_in, src[:, None], np.ones((n_out, 1)))


def _frac(n_out, n_in):
    f = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5   # half-pixel centres
    lo = np.floor(f)
    return lo.astype(np.int64), f - lo


def _linear_weights(n_out, n_in):
    lo, frac = _frac(n_out, n_in)
    frac = np.where(lo < 0, 0.0, frac)                    # OpenCV pins the edges
    lo = np.maximum(lo, 0)
    frac = np.where(lo >= n_in - 1, 0.0, frac)
    return _taps(n_out, n_in, np.stack([lo, lo + 1], 1), np.stack([1 - frac, frac], 1))


def _cubic_weights(n_out, n_in):
    lo, x = _frac(n_out, n_in)
    a = -0.75
    c0 = ((a * (x + 1) - 5 * a) * (x + 1) + 8 * a) * (x + 1) - 4 * a
    c1 = ((a + 2) * x - (a + 3)) * x * x + 1
    c2 = ((a + 2) * (1 - x) - (a + 3)) * (1 - x) * (1 - x) + 1
    coeffs = np.stack([c0, c1, c2, 1 - c0 - c1 - c2], 1)
    return _taps(n_out, n_in, lo[:, None] + np.arange(-1, 3), coeffs)


def _lanczos_weights(n_out, n_in):
    lo, x = _frac(n_out, n_in)
    d = x[:, None] + 3 - np.arange(8)
    coeffs = np.sinc(d) * np.sinc(d / 4)
    coeffs /= coeffs.sum(1, keepdims=True)
    return _taps(n_out, n_in, lo[:, None] + np.arange(-3, 5), coeffs)


def _area_weights(n_out, n_in, linear=None):
    """INTER_AREA: true pixel-area averaging when both axes shrink; otherwise (``linear``)
    OpenCV's bilinear taps with area-shaped fractions, on both axes."""
    scale = n_in / n_out
    if linear if linear is not None else n_out > n_in:
        sx = np.floor(np.arange(n_out) * scale).astype(np.int64)
        fx = (np.arange(n_out) + 1) - (sx + 1) * (n_out / n_in)
        fx = np.where(fx <= 0, 0.0, fx - np.floor(fx))
        fx = np.where(sx >= n_in - 1, 0.0, fx)
        sx = np.minimum(sx, n_in - 1)
        return _taps(n_out, n_in, np.stack([sx, sx + 1], 1), np.stack([1 - fx, fx], 1))
    start = np.arange(n_out)[:, None] * scale
    left = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(left + 1, start + scale) - np.maximum(left, start), 0, None)
    return overlap / scale


_WEIGHTS = {0: _nearest_weights, 1: _linear_weights, 2: _cubic_weights, 3: _area_weights,
            4: _lanczos_weights}
_FIXED = (1, 2, 4)   # OpenCV's fixed-point paths for integer images


def _interp_method(interp, sizes=()):
    """MXNet's ``_get_interp_method``: resolve 9 (auto) and 10 (random)."""
    if interp == 9:
        if sizes:
            oh, ow, nh, nw = sizes
            if nh > oh and nw > ow:
                return 2
            if nh < oh and nw < ow:
                return 3
            return 1
        return 2
    if interp == 10:
        return random.randint(0, 4)
    if interp not in (0, 1, 2, 3, 4):
        raise ValueError(f"Unknown interp method {interp}")
    return interp


def _contract(wh, ww, x):
    # (h, H) x (..., H, W, C) -> (..., h, W, C), then along W.
    out = np.moveaxis(np.tensordot(wh, x, axes=([1], [x.ndim - 3])), 0, -3)
    return np.moveaxis(np.tensordot(ww, out, axes=([1], [out.ndim - 2])), 0, -2)


def _fixed_resize(img, wh, ww, interp):
    """OpenCV's integer path: 11-bit weights, a horizontal pass in int, then the vertical pass
    with its own rounding (bilinear: the SIMD-exact ``>> 4``, ``>> 16`` form)."""
    qh = np.rint(wh.astype(np.float32) * 2048).astype(np.int64)
    qw = np.rint(ww.astype(np.float32) * 2048).astype(np.int64)
    x = img.astype(np.int64)
    hor = np.moveaxis(np.tensordot(qw, x, axes=([1], [x.ndim - 2])), 0, -2)
    if interp == 1:
        hor = hor >> 4
        out = 0
        for k in range(2):   # the two taps of each output row, each product shifted alone
            tap = _nth_tap(qh, k)
            out = out + ((tap[1][:, None, None] *
                          np.take(hor, tap[0], axis=hor.ndim - 3)) >> 16)
        return (out + 2) >> 2
    return (np.moveaxis(np.tensordot(qh, hor, axes=([1], [hor.ndim - 3])), 0, -3)
            + (1 << 21)) >> 22


def _nth_tap(q, k):
    """(source rows, weights) of the k-th nonzero tap of each row of ``q`` (the second tap
    repeats the first with weight 0 where a row has one)."""
    nz = [np.flatnonzero(r) for r in q]
    rows = np.array([r[min(k, len(r) - 1)] for r in nz])
    wts = np.array([q[i, r[k]] if k < len(r) else 0 for i, r in enumerate(nz)])
    return rows, wts


def imresize(img, w, h, interp=1):
    """Resize (H, W, C) or (N, H, W, C) ``img`` to width ``w`` and height ``h``.

    Integer images are rounded and saturated to their dtype, like OpenCV.

    Example::

        >>> imresize(np.zeros((4, 6, 3), np.uint8), 3, 2).shape
        (2, 3, 3)
    """
    in_h, in_w = img.shape[-3], img.shape[-2]
    interp = _interp_method(interp, (in_h, in_w, h, w))
    if in_h == h and in_w == w:
        return img.copy()
    if interp == 3:
        linear = h > in_h or w > in_w
        wh, ww = _area_weights(h, in_h, linear), _area_weights(w, in_w, linear)
        interp = 1 if linear else 3   # OpenCV runs that case through its bilinear code
    else:
        wh, ww = _WEIGHTS[interp](h, in_h), _WEIGHTS[interp](w, in_w)
    integer = np.issubdtype(img.dtype, np.integer)
    if integer and interp in _FIXED:
        out = _fixed_resize(img, wh, ww, interp)
    else:
        out = _contract(wh, ww, img.astype(np.float64))
    if integer:
        info = np.iinfo(img.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    return out.astype(img.dtype)
