"""Numpy image helpers for the vision transforms: OpenCV-compatible resize and MXNet's crops.

Images are (H, W, C) or (N, H, W, C) numpy arrays. Resizing is separable: each axis gets an
(out, in) weight matrix and the image is contracted with both (no loops over pixels).

Interpolation codes follow OpenCV/MXNet: 0 nearest, 1 bilinear, 2 area, 3 bicubic, 4 Lanczos,
9 auto, 10 random. Bicubic and Lanczos are approximated by bilinear; area is exact for
shrinking and bilinear for enlarging (as OpenCV nearly is).
"""
import random

import numpy as np

__all__ = ["imresize", "center_crop", "fixed_crop", "random_crop", "random_size_crop",
           "scale_down"]


def _nearest_weights(n_out, n_in):
    # OpenCV INTER_NEAREST: src = floor(dst * in / out)
    src = np.minimum(np.floor(np.arange(n_out) * (n_in / n_out)).astype(np.int64), n_in - 1)
    w = np.zeros((n_out, n_in))
    w[np.arange(n_out), src] = 1.0
    return w


def _linear_weights(n_out, n_in):
    # OpenCV INTER_LINEAR: half-pixel centres, edge pixels clamped.
    f = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    lo = np.floor(f)
    frac = f - lo
    lo = lo.astype(np.int64)
    frac = np.where(lo < 0, 0.0, frac)
    lo = np.maximum(lo, 0)
    frac = np.where(lo >= n_in - 1, 0.0, frac)
    lo = np.minimum(lo, n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    w = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    np.add.at(w, (rows, lo), 1.0 - frac)
    np.add.at(w, (rows, hi), frac)
    return w


def _area_weights(n_out, n_in):
    if n_out > n_in:
        return _linear_weights(n_out, n_in)
    scale = n_in / n_out
    start = np.arange(n_out)[:, None] * scale
    left = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(left + 1, start + scale) - np.maximum(left, start), 0, None)
    return overlap / scale


_WEIGHTS = {0: _nearest_weights, 1: _linear_weights, 2: _area_weights}


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


def imresize(img, w, h, interp=1):
    """Resize (H, W, C) or (N, H, W, C) ``img`` to width ``w`` and height ``h``.

    Integer images are rounded and saturated to their dtype, like OpenCV.

    Example::

        >>> imresize(np.zeros((4, 6, 3), np.uint8), 3, 2).shape
        (2, 3, 3)
    """
    interp = _interp_method(interp, (img.shape[-3], img.shape[-2], h, w))
    make = _WEIGHTS.get(interp, _linear_weights)
    wh = make(h, img.shape[-3])
    ww = make(w, img.shape[-2])
    x = img.astype(np.float64)
    # (h, H) x (..., H, W, C) -> (..., h, W, C), then along W.
    out = np.moveaxis(np.tensordot(wh, x, axes=([1], [x.ndim - 3])), 0, -3)
    out = np.moveaxis(np.tensordot(ww, out, axes=([1], [out.ndim - 2])), 0, -2)
    if np.issubdtype(img.dtype, np.integer):
        info = np.iinfo(img.dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    return out.astype(img.dtype)


def scale_down(src_size, size):
    """Shrink the (w, h) ``size`` so it fits in ``src_size`` keeping its aspect ratio."""
    w, h = size
    sw, sh = src_size
    if sh < h:
        w, h = float(w * sh) / h, sh
    if sw < w:
        w, h = sw, float(h * sw) / w
    return int(w), int(h)


def fixed_crop(src, x0, y0, w, h, size=None, interp=2):
    """Crop ``src`` (H, W, C) at (x0, y0) to (w, h), then resize to ``size`` = (w, h)."""
    out = src[y0:y0 + h, x0:x0 + w]
    if size is not None and (w, h) != tuple(size):
        sizes = (h, w, size[1], size[0])
        out = imresize(out, size[0], size[1], interp=_interp_method(interp, sizes))
    return out


def center_crop(src, size, interp=2):
    """Crop the centre of ``src`` to ``size`` = (w, h), upsampling when the image is smaller.

    Returns ``(image, (x0, y0, w, h))`` like ``mx.image.center_crop``.
    """
    h, w = src.shape[0], src.shape[1]
    new_w, new_h = scale_down((w, h), size)
    x0 = int((w - new_w) / 2)
    y0 = int((h - new_h) / 2)
    out = fixed_crop(src, x0, y0, new_w, new_h, size, interp)
    return out, (x0, y0, new_w, new_h)


def random_crop(src, size, interp=2):
    """A random crop of ``size`` = (w, h) (shrunk to fit, then resized back to ``size``), as
    ``mx.image.random_crop``; returns ``(image, (x0, y0, w, h))``."""
    h, w = src.shape[0], src.shape[1]
    new_w, new_h = scale_down((w, h), size)
    x0 = random.randint(0, w - new_w)
    y0 = random.randint(0, h - new_h)
    return fixed_crop(src, x0, y0, new_w, new_h, size, interp), (x0, y0, new_w, new_h)


def random_size_crop(src, size, area, ratio, interp=2):
    """A random crop of area fraction in ``area`` and aspect ratio in ``ratio``, resized to
    ``size`` (``mx.image.random_size_crop``; draws from Python's ``random`` module as MXNet
    does). Falls back to ``center_crop`` after 10 failed draws.
    """
    h, w = src.shape[0], src.shape[1]
    src_area = h * w
    if isinstance(area, (int, float)):
        area = (area, 1.0)
    for _ in range(10):
        target_area = random.uniform(area[0], area[1]) * src_area
        log_ratio = (np.log(ratio[0]), np.log(ratio[1]))
        new_ratio = np.exp(random.uniform(*log_ratio))
        new_w = int(round(np.sqrt(target_area * new_ratio)))
        new_h = int(round(np.sqrt(target_area / new_ratio)))
        if new_w <= w and new_h <= h:
            x0 = random.randint(0, w - new_w)
            y0 = random.randint(0, h - new_h)
            out = fixed_crop(src, x0, y0, new_w, new_h, size, interp)
            return out, (x0, y0, new_w, new_h)
    return center_crop(src, size, interp)
