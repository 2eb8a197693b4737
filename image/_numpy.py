"""Numpy image helpers: MXNet's crops over OpenCV's ``cv::resize`` (as MXNet calls it), which
lives in ``ndarray/ops/_cv_resize.py`` so that ``nd.image.resize`` shares it.

Images are (H, W, C) or (N, H, W, C) numpy arrays; interpolation codes are OpenCV's (0 nearest,
1 bilinear, 2 bicubic, 3 area, 4 Lanczos, 9 auto, 10 random).
"""
import random

import numpy as np

from ..ndarray.ops._cv_resize import _interp_method, imresize  # noqa: F401  (shared)

__all__ = ["imresize", "center_crop", "fixed_crop", "random_crop", "random_size_crop",
           "scale_down"]


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
