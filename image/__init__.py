"""``kiln.image`` (MXNet's ``mx.image``): decode images, resize and crop them, augmenters, and
``ImageIter``. Decoding needs Pillow (``pip install 'kiln[image]'``).

Example::

    >>> img = kiln.image.imread('cat.jpg')                   # (H, W, 3) uint8 NDArray, RGB
    >>> img = kiln.image.resize_short(img, 256)
    >>> img, box = kiln.image.center_crop(img, (224, 224))
"""
# ruff: noqa: F401, F403
from ..base import numeric_types  # noqa: F401  (MXNet's mx.image exports these)
from ..util import is_np_array  # noqa: F401
from .augmenters import *
from .image import *
from .image_iter import ImageIter
from .detection import *
from . import augmenters, detection, image, image_iter

__all__ = (["ImageIter"] + augmenters.__all__ + detection.__all__ + image.__all__)
