"""Object-detection augmenters of MXNet 1.9's ``mx.image``: each ``DetAugmenter`` maps
``(src, label)`` to ``(src, label)``, where src is an (H, W, C) image NDArray and label a
numpy (N, 5+) array of objects (class, xmin, ymin, xmax, ymax, ...) with coordinates
normalized to [0, 1], so geometric augmenters move the boxes with the pixels.

Example::

    >>> aug = DetHorizontalFlipAug(1.0)
    >>> img, lab = aug(kiln.nd.ones((4, 6, 3)), np.array([[0, 0.1, 0.2, 0.5, 0.6]]))
    >>> lab        # [[0. 0.5 0.2 0.9 0.6]]
"""
import json
import math
import random
import warnings

import numpy as np

from .. import ndarray as nd
from ..base import numeric_types
from .augmenters import Augmenter
from .image import copyMakeBorder

__all__ = ["DetAugmenter", "DetBorrowAug", "DetRandomSelectAug", "DetHorizontalFlipAug",
           "DetRandomPadAug"]


class DetAugmenter:
    """Base class: ``__call__(src, label) -> (src, label)``; ``dumps()`` describes it."""

    def __init__(self, **kwargs):
        self._kwargs = kwargs
        for k, v in self._kwargs.items():
            if isinstance(v, nd.NDArray):
                v = v.asnumpy()
            if isinstance(v, np.ndarray):
                self._kwargs[k] = v.tolist()

    def dumps(self):
        """``[name, kwargs]`` as a JSON string."""
        return json.dumps([type(self).__name__.lower(), self._kwargs])

    def __call__(self, src, label):
        raise NotImplementedError("Must override implementation.")


class DetBorrowAug(DetAugmenter):
    """Applies an image-only ``Augmenter`` (colour jitter, normalization...) to src; the
    label passes through.

    Example: ``DetBorrowAug(BrightnessJitterAug(0.3))``.
    """

    def __init__(self, augmenter):
        if not isinstance(augmenter, Augmenter):
            raise TypeError("Borrowing from invalid Augmenter")
        super().__init__(augmenter=augmenter.dumps())
        self.augmenter = augmenter

    def dumps(self):
        return self.augmenter.dumps()

    def __call__(self, src, label):
        return self.augmenter(src), label


class DetRandomSelectAug(DetAugmenter):
    """Applies one augmenter of ``aug_list`` picked at random, or none with probability
    ``skip_prob`` (always none for an empty list).

    Example: ``DetRandomSelectAug([DetHorizontalFlipAug(1.0), DetRandomPadAug()], 0.5)``.
    """

    def __init__(self, aug_list, skip_prob=0):
        super().__init__(skip_prob=skip_prob)
        if not isinstance(aug_list, (list, tuple)):
            aug_list = [aug_list]
        for aug in aug_list:
            if not isinstance(aug, DetAugmenter):
                raise ValueError("Allow DetAugmenter in list only")
        self.aug_list = list(aug_list)
        self.skip_prob = 1 if not aug_list else skip_prob

    def dumps(self):
        return [type(self).__name__.lower(), [x.dumps() for x in self.aug_list]]

    def __call__(self, src, label):
        if random.random() < self.skip_prob:
            return src, label
        random.shuffle(self.aug_list)
        return self.aug_list[0](src, label)


class DetHorizontalFlipAug(DetAugmenter):
    """Flips src left-right with probability ``p``, the boxes with it (x -> 1 - x).

    Example: ``DetHorizontalFlipAug(0.5)``.
    """

    def __init__(self, p):
        super().__init__(p=p)
        self.p = p

    def __call__(self, src, label):
        if random.random() < self.p:
            src = nd.flip(src, axis=1)
            left = 1.0 - label[:, 3]
            label[:, 3] = 1.0 - label[:, 1]
            label[:, 1] = left
        return src, label


def _range(v, low):
    return tuple(v) if isinstance(v, (list, tuple)) else (low, v)


class DetRandomPadAug(DetAugmenter):
    """Pads src with ``pad_val`` onto a larger canvas (area ``area_range`` times the image's,
    aspect ratio w / h in ``aspect_ratio_range``) at a random place, boxes renormalized to
    the canvas; up to ``max_attempts`` proposals, the image unchanged when none fits.

    Example: ``DetRandomPadAug(area_range=(1.0, 3.0), pad_val=(127, 127, 127))``.
    """

    def __init__(self, aspect_ratio_range=(0.75, 1.33), area_range=(1.0, 3.0), max_attempts=50,
                 pad_val=(128, 128, 128)):
        if not isinstance(pad_val, (list, tuple)):
            if not isinstance(pad_val, numeric_types):
                raise TypeError("pad_val must be a number or a tuple of numbers")
            pad_val = (pad_val,)
        aspect_ratio_range = _range(aspect_ratio_range, 1.0)
        area_range = _range(area_range, 1.0)
        super().__init__(aspect_ratio_range=aspect_ratio_range, area_range=area_range,
                         max_attempts=max_attempts, pad_val=pad_val)
        self.pad_val, self.aspect_ratio_range = pad_val, aspect_ratio_range
        self.area_range, self.max_attempts = area_range, max_attempts
        self.enabled = False
        if area_range[1] <= 1.0 or area_range[0] > area_range[1]:
            warnings.warn(f"Skip DetRandomPadAug due to invalid area_range: {area_range}",
                          stacklevel=2)
        elif aspect_ratio_range[0] <= 0 or aspect_ratio_range[0] > aspect_ratio_range[1]:
            warnings.warn(f"Skip DetRandomPadAug due to invalid aspect_ratio_range: "
                          f"{aspect_ratio_range}", stacklevel=2)
        else:
            self.enabled = True

    def __call__(self, src, label):
        height, width = src.shape[:2]
        pad = self._proposal(label, height, width)
        if pad:
            x, y, w, h, label = pad
            # a constant border (MXNet passes OpenCV's BORDER_ISOLATED flag, same pixels)
            src = copyMakeBorder(src, y, h - y - height, x, w - x - width, 0,
                                 values=self.pad_val)
        return src, label

    @staticmethod
    def _update_labels(label, box, height, width):
        out = label.copy()
        out[:, (1, 3)] = (out[:, (1, 3)] * width + box[0]) / box[2]
        out[:, (2, 4)] = (out[:, (2, 4)] * height + box[1]) / box[3]
        return out

    def _proposal(self, label, height, width):
        if not self.enabled or height <= 0 or width <= 0:
            return ()
        min_area = self.area_range[0] * height * width
        max_area = self.area_range[1] * height * width
        for _ in range(self.max_attempts):
            ratio = random.uniform(*self.aspect_ratio_range)
            if ratio <= 0:
                continue
            h = int(round(math.sqrt(min_area / ratio)))
            max_h = int(round(math.sqrt(max_area / ratio)))
            if round(h * ratio) < width:
                h = int((width + 0.499999) / ratio)
            h = min(max(h, height), max_h)
            if h < max_h:
                h = random.randint(h, max_h)
            w = int(round(h * ratio))
            if (h - height) < 2 or (w - width) < 2:
                continue    # a marginal pad does not help
            y = random.randint(0, max(0, h - height))
            x = random.randint(0, max(0, w - width))
            return x, y, w, h, self._update_labels(label, (x, y, w, h), height, width)
        return ()
