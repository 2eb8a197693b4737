"""MXNet 1.9's colour, lighting and rotation transforms, and ``RandomApply``
(re-exported by ``transforms``).

Numerics follow MXNet's image kernels: factors are drawn once per call (numpy's global
generator; MXNet's own generator gives other draws), uint8 results are clamped and truncated,
hue is shifted in HLS space by ``factor * 360`` degrees. One deliberate difference:
MXNet 1.9's saturation kernel blends with ``0.114 * B`` instead of the grey level (a bug);
kiln blends with the grey level ``0.299 R + 0.587 G + 0.114 B``.

Example::

    >>> t = RandomColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
    >>> t(kl.nd.array(np.full((4, 4, 3), 128), dtype='uint8')).shape
    (4, 4, 3)
"""
import random

import numpy as np

from ... import image
from ...ndarray.ops import _color
from ...nn import Block, Sequential
from ._blocks import _NumpyHybrid, _saturate

__all__ = ["RandomSaturation", "RandomHue", "RandomColorJitter", "RandomLighting", "Rotate",
           "RandomRotation", "RandomApply"]

# The colour arithmetic is nd.image's (ndarray/ops/_color.py): one implementation for both.
_EIGVAL, _EIGVEC = _color.EIGVAL, _color.EIGVEC


def _brightness(x, alpha):
    return _color.brightness(np, x, alpha)


def _contrast(x, alpha):
    return _color.contrast(np, x, alpha)


def _saturation(x, alpha):
    return _color.saturation(np, x, alpha)


def _hue(x, alpha):
    return _color.hue(np, x, alpha)


def _factor(amount):
    return np.random.uniform(max(0.0, 1.0 - amount), 1.0 + amount)


class RandomSaturation(_NumpyHybrid):
    """Blends each pixel of an (H, W, 3) image with its grey level by a factor drawn from
    [max(0, 1 - saturation), 1 + saturation].

    Example: ``RandomSaturation(0.5)(img)`` keeps the shape and dtype of ``img``.
    """

    def __init__(self, saturation):
        super().__init__()
        self._amount = saturation

    def _apply(self, img):
        return _saturate(_saturation(img.astype(np.float32), _factor(self._amount)), img.dtype)


class RandomHue(_NumpyHybrid):
    """Rotates the hue of an (H, W, 3) RGB image by ``factor * 360`` degrees, the factor drawn
    from [max(0, 1 - hue), 1 + hue] (so at most ``hue * 360`` degrees either way).

    Example: ``RandomHue(0.1)(img)`` shifts the hue by at most 36 degrees.
    """

    def __init__(self, hue):
        super().__init__()
        self._amount = hue

    def _apply(self, img):
        return _saturate(_hue(img.astype(np.float32), _factor(self._amount)), img.dtype)


class RandomColorJitter(_NumpyHybrid):
    """Brightness, contrast and saturation factors from [max(0, 1 - v), 1 + v] and a hue shift
    of ``uniform(-hue, hue) * 360`` degrees, applied in that order (those that are > 0).

    Example: ``RandomColorJitter(brightness=0.2, hue=0.05)(img)``.
    """

    def __init__(self, brightness=0, contrast=0, saturation=0, hue=0):
        super().__init__()
        self._args = (brightness, contrast, saturation, hue)

    def _apply(self, img):
        brightness, contrast, saturation, hue = self._args
        x = img.astype(np.float32)
        for amount, fn in ((brightness, _brightness), (contrast, _contrast),
                           (saturation, _saturation)):
            if amount > 0:   # each step stores in the image's dtype, as MXNet's kernel
                x = _saturate(fn(x, _factor(amount)), img.dtype).astype(np.float32)
        if hue > 0:
            x = _hue(x, np.random.uniform(-hue, hue))
        return _saturate(x, img.dtype)


class RandomLighting(_NumpyHybrid):
    """AlexNet's PCA lighting noise: adds ``eigvec @ (a * eigval)`` to every RGB pixel, with
    ``a`` ~ N(0, alpha) per component and ImageNet's eigen-decomposition.

    Example: ``RandomLighting(0.1)(img.astype('float32'))``.
    """

    def __init__(self, alpha):
        super().__init__()
        self._alpha = alpha

    def _apply(self, img):
        a = np.random.normal(0, self._alpha, size=3).astype(np.float32)
        return _saturate(img.astype(np.float32) + _EIGVEC @ (a * _EIGVAL), img.dtype)


class Rotate(Block):
    """Rotates float32 (C, H, W) or (N, C, H, W) images by ``rotation_degrees`` about their
    centre (``mx.image.imrotate``); use it after ``ToTensor``.

    Example: ``Rotate(90)(kl.nd.ones((3, 8, 8)))`` has shape (3, 8, 8).
    """

    def __init__(self, rotation_degrees, zoom_in=False, zoom_out=False):
        super().__init__()
        self._args = (rotation_degrees, zoom_in, zoom_out)

    def forward(self, x):
        if x.dtype != np.float32:
            raise TypeError("This transformation only supports float32. "
                            "Consider calling it after ToTensor")
        return image.imrotate(x, *self._args)


class RandomRotation(Block):
    """Rotates by an angle drawn from ``angle_limits`` (numpy's generator), with probability
    ``rotate_with_proba``; float32 (C, H, W) or (N, C, H, W) input.

    Example: ``RandomRotation((-15, 15))(kl.nd.ones((3, 8, 8)))``.
    """

    def __init__(self, angle_limits, zoom_in=False, zoom_out=False, rotate_with_proba=1.0):
        super().__init__()
        lower, upper = angle_limits
        if lower >= upper:
            raise ValueError("`angle_limits` must be an ordered tuple")
        if not 0 <= rotate_with_proba <= 1:
            raise ValueError("Probability of rotating the image should be between 0 and 1")
        self._args = (angle_limits, zoom_in, zoom_out)
        self._rotate_with_proba = rotate_with_proba

    def forward(self, x):
        if np.random.random() > self._rotate_with_proba:
            return x
        if x.dtype != np.float32:
            raise TypeError("This transformation only supports float32. "
                            "Consider calling it after ToTensor")
        return image.random_rotate(x, *self._args)


class RandomApply(Sequential):
    """Applies ``transforms`` (a Block, e.g. a ``Compose``) with probability ``p`` (Python's
    ``random``, as MXNet).

    Example: ``RandomApply(Compose([RandomHue(0.1)]), p=0.3)(img)``.
    """

    def __init__(self, transforms, p=0.5):
        super().__init__()
        self.transforms = transforms
        self.p = p

    def forward(self, x):
        if self.p < random.random():
            return x
        return self.transforms(x)
