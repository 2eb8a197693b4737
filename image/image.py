"""``mx.image``'s functions on (H, W, C) NDArrays: decode, resize, crops, normalization, rotation.

Pixels are computed by numpy (``image/_numpy.py``: OpenCV-compatible resize) and come back as
NDArrays of the input's dtype on its context. Random choices draw from Python's ``random``
module (crops), or numpy's global generator (``random_rotate``), as MXNet does.

Example::

    >>> img = imdecode(open('cat.jpg', 'rb').read())     # (H, W, 3) uint8, RGB
    >>> small = resize_short(img, 64)                     # short edge 64, aspect kept
"""
from numbers import Number

import numpy as np

from .. import ndarray as nd
from ..ndarray.legacy import register_image_decoder
from . import _codec, _numpy

__all__ = ["imread", "imdecode", "imresize", "resize_short", "scale_down", "fixed_crop",
           "center_crop", "random_crop", "random_size_crop", "color_normalize",
           "copyMakeBorder", "imrotate", "random_rotate"]

scale_down = _numpy.scale_down
register_image_decoder(_codec.cv2_imdecode)   # nd.imdecode's codec (the ndarray layer's)


def _np(x):
    return x.asnumpy() if isinstance(x, nd.NDArray) else np.asarray(x)


def _back(a, like):
    ctx = like.context if isinstance(like, nd.NDArray) else None
    return nd.array(a, ctx=ctx, dtype=a.dtype)


def imdecode(buf, flag=1, to_rgb=True, out=None):
    """Decode an image file's bytes to an (H, W, C) uint8 NDArray (``flag=1``: 3 channels, RGB
    unless ``to_rgb=False``; ``flag=0``: grey, C = 1). Needs Pillow (the ``image`` extra).

    Example::

        >>> imdecode(open('cat.png', 'rb').read()).shape
        (240, 320, 3)
    """
    img = nd.array(_codec.decode(buf, flag, to_rgb), dtype="uint8")
    if out is not None:
        out[:] = img
        return out
    return img


def imread(filename, flag=1, to_rgb=True, out=None):
    """Read and decode an image file (see ``imdecode``).

    Example: ``imread('cat.jpg').shape`` -> ``(240, 320, 3)``.
    """
    with open(filename, "rb") as f:
        return imdecode(f.read(), flag, to_rgb, out)


def imresize(src, w, h, interp=1, out=None):
    """Resize ``src`` (H, W, C) to width ``w`` and height ``h`` (OpenCV interpolation codes).

    Example: ``imresize(img, 32, 16).shape`` -> ``(16, 32, 3)``.
    """
    res = _back(_numpy.imresize(_np(src), w, h, interp), src)
    if out is not None:
        out[:] = res
        return out
    return res


def resize_short(src, size, interp=2):
    """Resize so the shorter edge is ``size``, keeping the aspect ratio (integer arithmetic).

    Example: ``resize_short(nd.zeros((20, 40, 3)), 10).shape`` -> ``(10, 20, 3)``.
    """
    h, w = src.shape[0], src.shape[1]
    new_h, new_w = (size * h // w, size) if h > w else (size, size * w // h)
    interp = _numpy._interp_method(interp, (h, w, new_h, new_w))
    return imresize(src, new_w, new_h, interp)


def fixed_crop(src, x0, y0, w, h, size=None, interp=2):
    """Crop the (w, h) box at (x0, y0), then resize it to ``size`` = (w, h) if given.

    Example: ``fixed_crop(img, 0, 0, 8, 8).shape`` -> ``(8, 8, 3)``.
    """
    return _back(_numpy.fixed_crop(_np(src), x0, y0, w, h, size, interp), src)


def center_crop(src, size, interp=2):
    """The centre crop of ``size`` = (w, h); returns ``(image, (x0, y0, w, h))``.

    Example: ``center_crop(nd.zeros((10, 10, 3)), (4, 4))[1]`` -> ``(3, 3, 4, 4)``.
    """
    out, box = _numpy.center_crop(_np(src), size, interp)
    return _back(out, src), box


def random_crop(src, size, interp=2):
    """A random crop of ``size`` = (w, h) (Python's ``random``); returns ``(image, box)``.

    Example: ``random_crop(nd.zeros((10, 10, 3)), (4, 4))[0].shape`` -> ``(4, 4, 3)``.
    """
    out, box = _numpy.random_crop(_np(src), size, interp)
    return _back(out, src), box


def random_size_crop(src, size, area, ratio, interp=2, **kwargs):
    """A random crop with area fraction in ``area`` and aspect ratio in ``ratio``, resized to
    ``size``; returns ``(image, box)``. ``min_area`` is the old name of ``area``.

    Example: ``random_size_crop(img, (8, 8), 0.5, (0.75, 1.33))[0].shape`` -> ``(8, 8, 3)``.
    """
    area = kwargs.pop("min_area", area)
    if kwargs:
        raise TypeError(f"random_size_crop: unexpected arguments {sorted(kwargs)}")
    out, box = _numpy.random_size_crop(_np(src), size, area, ratio, interp)
    return _back(out, src), box


def color_normalize(src, mean, std=None):
    """``(src - mean) / std`` (either may be None), in place where ``src`` allows, as MXNet.

    Example: ``color_normalize(nd.ones((2, 2, 3)), nd.array([1, 1, 1]))`` is all zeros.
    """
    if mean is not None:
        src -= mean
    if std is not None:
        src /= std
    return src


def copyMakeBorder(src, top, bot, left, right, type=0, value=0, values=None):  # noqa: N802
    """Pad an (H, W, C) image: ``type`` 0 constant (``value``, or per-channel ``values``),
    1 replicate, 2 reflect, 4 reflect-101 (OpenCV's border codes).

    Example: ``copyMakeBorder(nd.zeros((2, 2, 3)), 1, 1, 1, 1).shape`` -> ``(4, 4, 3)``.
    """
    a = _np(src)
    widths = ((top, bot), (left, right), (0, 0))
    if type == 0:
        fill = np.asarray(values if values is not None else value, dtype=a.dtype)
        out = np.empty((a.shape[0] + top + bot, a.shape[1] + left + right, a.shape[2]), a.dtype)
        out[...] = fill
        out[top:top + a.shape[0], left:left + a.shape[1]] = a
    else:
        modes = {1: "edge", 2: "symmetric", 4: "reflect"}
        if type not in modes:
            raise ValueError(f"copyMakeBorder: unsupported border type {type}")
        out = np.pad(a, widths, mode=modes[type])
    return _back(out, src)


def _bilinear_sample(src, gx, gy):
    """MXNet's BilinearSampler on (N, C, H, W): sample at normalized (-1..1) coordinates,
    zero outside the image."""
    n, c, h, w = src.shape
    x = (gx + 1) * (w - 1) / 2
    y = (gy + 1) * (h - 1) / 2
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    out = np.zeros_like(src)
    batch = np.arange(n)[:, None, None]
    for dx in (0, 1):
        for dy in (0, 1):
            xi, yi = x0 + dx, y0 + dy
            wgt = (1 - np.abs(x - xi)) * (1 - np.abs(y - yi))
            ok = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
            vals = src[batch, :, np.clip(yi, 0, h - 1), np.clip(xi, 0, w - 1)]  # (N,H,W,C)
            out += np.moveaxis(vals * (wgt * ok)[..., None], -1, 1).astype(src.dtype)
    return out


def _zoom(h, w, rad, zoom_in, zoom_out):
    if not (zoom_in or zoom_out):
        return np.ones_like(rad)
    rho, ang = np.sqrt(h * h + w * w), np.arctan(h / w)
    max_x = np.maximum(np.abs(rho * np.cos(ang + np.abs(rad))),
                       np.abs(rho * np.cos(ang - np.abs(rad))))
    max_y = np.maximum(np.abs(rho * np.sin(ang + np.abs(rad))),
                       np.abs(rho * np.sin(ang - np.abs(rad))))
    if zoom_out:
        return np.maximum(max_x / w, max_y / h)
    return np.minimum(w / max_x, h / max_y)


def imrotate(src, rotation_degrees, zoom_in=False, zoom_out=False):
    """Rotate float32 (C, H, W) or (N, C, H, W) images by ``rotation_degrees`` (one angle, or
    one per image) about their centre; uncovered pixels are 0. ``zoom_in`` scales so no
    empty corner shows, ``zoom_out`` so the whole rotated image fits.

    Example: ``imrotate(nd.ones((3, 8, 8)), 90).shape`` -> ``(3, 8, 8)``.
    """
    if zoom_in and zoom_out:
        raise ValueError("`zoom_in` and `zoom_out` cannot be both True")
    if src.dtype != np.float32:
        raise TypeError("Only `float32` images are supported by this function")
    a = _np(src)
    single = a.ndim == 3
    if single:
        if not isinstance(rotation_degrees, Number):
            raise TypeError("When a single image is passed the rotation angle is required to "
                            "be a scalar.")
        a = a[None]
    elif a.ndim != 4:
        raise ValueError("Only 3D and 4D are supported by this function")
    deg = np.broadcast_to(np.asarray(_np(rotation_degrees), np.float64).reshape(-1), (len(a),))
    if np.ndim(_np(rotation_degrees)) and np.size(_np(rotation_degrees)) != len(a):
        raise ValueError("The number of images must be equal to the number of rotation angles")
    rad = (np.pi * deg / 180)[:, None, None]
    h, w = a.shape[2], a.shape[3]
    hs, ws = (h - 1) / 2, (w - 1) / 2
    ym, xm = np.meshgrid(np.arange(h) - hs, np.arange(w) - ws, indexing="ij")
    scale = _zoom(float(h), float(w), rad, zoom_in, zoom_out)
    gx = (xm * np.cos(rad) - ym * np.sin(rad)) / ws * scale
    gy = (xm * np.sin(rad) + ym * np.cos(rad)) / hs * scale
    out = _bilinear_sample(a, gx, gy)
    return _back(out[0] if single else out, src)


def random_rotate(src, angle_limits, zoom_in=False, zoom_out=False):
    """``imrotate`` by angles drawn uniformly from ``angle_limits`` (numpy's generator): one
    for a (C, H, W) image, one per image for a batch.

    Example: ``random_rotate(nd.ones((3, 8, 8)), (-10, 10)).shape`` -> ``(3, 8, 8)``.
    """
    if src.ndim == 3:
        deg = np.random.uniform(*angle_limits)
    else:
        deg = np.random.uniform(*angle_limits, size=src.shape[0])
    return imrotate(src, deg, zoom_in=zoom_in, zoom_out=zoom_out)
