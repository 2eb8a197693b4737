"""``kiln.nd.image``: MXNet 1.9's ``mx.nd.image`` namespace (to_tensor, normalize, resize,
crop, the flips and the colour augmentations), the registry ops ``_image_<name>`` of
``ops/image_ops.py`` under their short names.

Example::

    >>> from kiln import nd
    >>> nd.image.to_tensor(nd.zeros((4, 5, 3), dtype='uint8')).shape
    (3, 4, 5)
"""
from ._registry import OPS
from .ops.image_ops import NAMES

globals().update({n: OPS["_image_" + n].func for n in NAMES})
__all__ = list(NAMES)
