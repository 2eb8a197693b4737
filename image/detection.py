"""Object-detection augmenters of MXNet 1.9's ``mx.image``: each ``DetAugmenter`` maps
``(src, label)`` to ``(src, label)``, where src is an (H, W, C) image NDArray and label a
numpy (N, 5+) array of objects (class, xmin, ymin, xmax, ymax, ...) with coordinates
normalized to [0, 1], so geometric augmenters move the boxes with the pixels.

Example::

    >>> aug = DetHorizontalFlipAug(1.0)
    >>> img, lab = aug(kiln.nd.ones((4, 6, 3)), np.array([[0, 0.1, 0.2, 0.5, 0.6]]))
    >>> lab        # [[0. 0.5 0.2 0.9 0.6]]
"""
import math
import random
import warnings

import numpy as np

from .. import ndarray as nd
from ..base import numeric_types
from .augmenters import (
    Augmenter,
    CastAug,
    ColorJitterAug,
    ColorNormalizeAug,
    ForceResizeAug,
    HueJitterAug,
    LightingAug,
    RandomGrayAug,
    ResizeAug,
    _DescribedAug,
)
from .image import copyMakeBorder, fixed_crop

__all__ = ["DetAugmenter", "DetBorrowAug", "DetRandomSelectAug", "DetHorizontalFlipAug",
           "DetRandomPadAug", "DetRandomCropAug", "CreateMultiRandCropAugmenter",
           "CreateDetAugmenter"]


class DetAugmenter(_DescribedAug):
    """Base class: ``__call__(src, label) -> (src, label)``; ``dumps()`` describes it."""

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
        self.enabled = _ranges_valid("DetRandomPadAug", area_range, aspect_ratio_range, 1.0)

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
        for ratio, min_area, max_area in _attempts(self, height, width):
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


def _areas(boxes):
    """Areas of (N, 4+) corner boxes (zero for inverted ones)."""
    return np.maximum(0, boxes[:, 2] - boxes[:, 0]) * np.maximum(0, boxes[:, 3] - boxes[:, 1])


class DetRandomCropAug(DetAugmenter):
    """Crops a random window (area ``area_range`` times the image's, aspect ratio in
    ``aspect_ratio_range``) in which every object it touches keeps more than
    ``min_object_covered`` of its area; objects left with at most ``min_eject_coverage`` of
    their area are dropped and the rest renormalized to the window. Up to ``max_attempts``
    proposals; the image unchanged when none fits.

    Example: ``DetRandomCropAug(min_object_covered=0.3, area_range=(0.1, 1.0))``.
    """

    def __init__(self, min_object_covered=0.1, aspect_ratio_range=(0.75, 1.33),
                 area_range=(0.05, 1.0), min_eject_coverage=0.3, max_attempts=50):
        if not isinstance(aspect_ratio_range, (tuple, list)):
            aspect_ratio_range = (aspect_ratio_range, aspect_ratio_range)
        if not isinstance(area_range, (tuple, list)):
            area_range = (area_range, area_range)
        super().__init__(min_object_covered=min_object_covered,
                         aspect_ratio_range=aspect_ratio_range, area_range=area_range,
                         min_eject_coverage=min_eject_coverage, max_attempts=max_attempts)
        self.min_object_covered, self.min_eject_coverage = min_object_covered, min_eject_coverage
        self.aspect_ratio_range, self.area_range = aspect_ratio_range, area_range
        self.max_attempts = max_attempts
        self.enabled = _ranges_valid("DetRandomCropAug", area_range, aspect_ratio_range, 0)

    def __call__(self, src, label):
        crop = self._proposal(label, src.shape[0], src.shape[1])
        if crop:
            x, y, w, h, label = crop
            src = fixed_crop(src, x, y, w, h, None)
        return src, label

    def _covers(self, label, box, width, height):
        """Every object the window touches keeps more than min_object_covered of itself."""
        x0, y0, x1, y1 = box
        if (x1 - x0) * (y1 - y0) < 2:
            return False
        objs = label[:, 1:5]
        area = _areas(objs)
        objs, area = objs[area * width * height > 2], area[area * width * height > 2]
        if not len(objs):
            return False
        lo = np.maximum(objs[:, :2], [x0 / width, y0 / height])
        hi = np.minimum(objs[:, 2:4], [x1 / width, y1 / height])
        inter = np.where((lo < hi).all(1), np.prod(hi - lo, 1), 0.0)
        cov = inter / area
        cov = cov[cov > 0]
        return cov.size > 0 and cov.min() > self.min_object_covered

    def _relabel(self, label, box, height, width):
        x, y, w, h = box[0] / width, box[1] / height, box[2] / width, box[3] / height
        out = label.copy()
        out[:, 1:5] = np.clip((out[:, 1:5] - [x, y, x, y]) / [w, h, w, h], 0, 1)
        kept = _areas(out[:, 1:5]) * w * h / _areas(label[:, 1:5])
        ok = (out[:, 3] > out[:, 1]) & (out[:, 4] > out[:, 2]) & (kept > self.min_eject_coverage)
        return out[ok] if ok.any() else None

    def _size(self, ratio, height, width, min_area, max_area):
        """A random (w, h) of aspect ``ratio`` and area in range (MXNet's draw), or None."""
        h = int(round(math.sqrt(min_area / ratio)))
        max_h = int(round(math.sqrt(max_area / ratio)))
        if round(max_h * ratio) > width:
            max_h = int((width + 0.4999999) / ratio)
        max_h = min(max_h, height)
        h = min(h, max_h)
        if h < max_h:
            h = random.randint(h, max_h)
        w = int(round(h * ratio))
        for step, bad in ((1, w * h < min_area), (-1, w * h > max_area)):
            if bad:     # nudge the rounding back into range
                h += step
                w = int(round(h * ratio))
        ok = min_area <= w * h <= max_area and 0 <= w <= width and 0 <= h <= height
        return (w, h) if ok else None

    def _proposal(self, label, height, width):
        for ratio, min_area, max_area in _attempts(self, height, width):
            size = self._size(ratio, height, width, min_area, max_area)
            if size is None:
                continue
            w, h = size
            y = random.randint(0, max(0, height - h))
            x = random.randint(0, max(0, width - w))
            if self._covers(label, (x, y, x + w, y + h), width, height):
                new = self._relabel(label, (x, y, w, h), height, width)
                if new is not None:
                    return x, y, w, h, new
        return ()


def CreateMultiRandCropAugmenter(min_object_covered=0.1, aspect_ratio_range=(0.75, 1.33),  # noqa: N802
                                 area_range=(0.05, 1.0), min_eject_coverage=0.3,
                                 max_attempts=50, skip_prob=0):
    """A ``DetRandomSelectAug`` over ``DetRandomCropAug``s: every argument may be a list
    (one crop augmenter per entry; single values are repeated).

    Example: ``CreateMultiRandCropAugmenter(min_object_covered=[0.1, 0.3, 0.5])``.
    """
    params = [p if isinstance(p, list) else [p] for p in
              (min_object_covered, aspect_ratio_range, area_range, min_eject_coverage,
               max_attempts)]
    num = max(len(p) for p in params)
    if any(len(p) not in (1, num) for p in params):
        raise ValueError("CreateMultiRandCropAugmenter: list arguments must have one length")
    params = [p * num if len(p) == 1 else p for p in params]
    augs = [DetRandomCropAug(min_object_covered=moc, aspect_ratio_range=arr, area_range=ar,
                             min_eject_coverage=mec, max_attempts=ma)
            for moc, arr, ar, mec, ma in zip(*params)]
    return DetRandomSelectAug(augs, skip_prob=skip_prob)


_EIGVAL = np.array([55.46, 4.794, 1.148])
_EIGVEC = np.array([[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140],
                    [-0.5836, -0.6948, 0.4203]])


def CreateDetAugmenter(data_shape, resize=0, rand_crop=0, rand_pad=0, rand_gray=0,  # noqa: N802
                       rand_mirror=False, mean=None, std=None, brightness=0, contrast=0,
                       saturation=0, pca_noise=0, hue=0, inter_method=2, min_object_covered=0.1,
                       aspect_ratio_range=(0.75, 1.33), area_range=(0.05, 3.0),
                       min_eject_coverage=0.3, max_attempts=50, pad_val=(127, 127, 127)):
    """The standard detection augmenter list for ``data_shape`` (C, H, W): optional resize,
    random crop (probability ``rand_crop``), mirror, random pad (``rand_pad``), a forced
    resize to (W, H), a float cast, colour jitter, hue, PCA lighting noise, random gray and
    normalization (``mean``/``std``: arrays, or True for the ImageNet values).

    Example: ``CreateDetAugmenter((3, 300, 300), rand_crop=0.5, rand_mirror=True, mean=True)``.
    """
    augs = []
    if resize > 0:
        augs.append(DetBorrowAug(ResizeAug(resize, inter_method)))
    if rand_crop > 0:
        augs.append(CreateMultiRandCropAugmenter(min_object_covered, aspect_ratio_range,
                                                 area_range, min_eject_coverage, max_attempts,
                                                 skip_prob=1 - rand_crop))
    if rand_mirror > 0:
        augs.append(DetHorizontalFlipAug(0.5))
    if rand_pad > 0:    # padding late: the image grows
        pad = DetRandomPadAug(aspect_ratio_range, (1.0, area_range[1]), max_attempts, pad_val)
        augs.append(DetRandomSelectAug([pad], 1 - rand_pad))
    augs.append(DetBorrowAug(ForceResizeAug((data_shape[2], data_shape[1]), inter_method)))
    augs.append(DetBorrowAug(CastAug()))
    if brightness or contrast or saturation:
        augs.append(DetBorrowAug(ColorJitterAug(brightness, contrast, saturation)))
    if hue:
        augs.append(DetBorrowAug(HueJitterAug(hue)))
    if pca_noise > 0:
        augs.append(DetBorrowAug(LightingAug(pca_noise, _EIGVAL, _EIGVEC)))
    if rand_gray > 0:
        augs.append(DetBorrowAug(RandomGrayAug(rand_gray)))
    mean = np.array([123.68, 116.28, 103.53]) if mean is True else mean
    std = np.array([58.395, 57.12, 57.375]) if std is True else std
    if mean is not None or std is not None:
        augs.append(DetBorrowAug(ColorNormalizeAug(mean, std)))
    return augs


def _ranges_valid(aug, area_range, aspect_ratio_range, area_floor):
    """Whether a random crop/pad augmenter's ranges can produce a proposal; MXNet warns and
    turns the augmenter off (it then passes images through) when they cannot."""
    if area_range[1] <= area_floor or area_range[0] > area_range[1]:
        warnings.warn(f"Skip {aug} due to invalid area_range: {area_range}", stacklevel=3)
        return False
    if aspect_ratio_range[0] <= 0 or aspect_ratio_range[0] > aspect_ratio_range[1]:
        warnings.warn(f"Skip {aug} due to invalid aspect_ratio_range: {aspect_ratio_range}",
                      stacklevel=3)
        return False
    return True


def _attempts(aug, height, width):
    """``(aspect ratio, min area, max area)`` for each of a crop/pad augmenter's
    ``max_attempts`` random draws (none when it is off or the image is empty)."""
    if not aug.enabled or height <= 0 or width <= 0:
        return
    min_area = aug.area_range[0] * height * width
    max_area = aug.area_range[1] * height * width
    for _ in range(aug.max_attempts):
        ratio = random.uniform(*aug.aspect_ratio_range)
        if ratio > 0:
            yield ratio, min_area, max_area
