"""Image transforms (``gluon.data.vision.transforms``), MXNet 1.9 names and numerics.

Transforms are Blocks: call them on an NDArray image (H, W, C) — or a batch (N, H, W, C) where
MXNet allows it — and they return an NDArray. The class hierarchy follows MXNet (``CenterCrop``
and ``RandomResizedCrop`` are Blocks, the rest HybridBlocks). ``Cast``, ``ToTensor`` and
``Normalize`` are written with ``kiln.nd`` ops and hybridize; the others run numpy code, so they
stay eager even when hybridized and refuse to be traced inside another hybridized block (keep
them in a ``Compose``, which puts only the traceable ones in its HybridSequential groups).

Randomness: the flips and colour transforms draw from numpy's global generator; the random
crop draws from Python's ``random`` module, as ``mx.image.random_size_crop`` does. Integer
results are clamped and truncated, as MXNet's image kernels store them. The colour jitter,
lighting, rotation and ``RandomApply`` transforms live in ``transforms_color.py``.

Example::

    >>> t = Compose([Resize(4), ToTensor(), Normalize(0.5, 0.25)])
    >>> t(kl.nd.array(np.zeros((8, 6, 3)), dtype='uint8')).shape
    (3, 4, 4)
"""
import numpy as np

from ...image import _numpy as _image
from ...ndarray import NDArray
from ...ndarray import array as _nd_array
from ...nn import Block, HybridBlock, HybridSequential, Sequential
from ._blocks import _nd, _np, _NumpyHybrid, _saturate, _wh

__all__ = ["Compose", "Cast", "ToTensor", "Normalize", "Resize", "CenterCrop",
           "RandomResizedCrop", "RandomCrop", "CropResize", "RandomFlipLeftRight",
           "RandomFlipTopBottom", "RandomBrightness", "RandomContrast"]


class Compose(Sequential):
    """Applies ``transforms`` in order; runs of HybridBlocks are grouped in a HybridSequential
    (not hybridized here, see the module note).

    Example::

        >>> Compose([CenterCrop(2), ToTensor()])(img).shape  # img: (4, 4, 3) uint8
        (3, 2, 2)
    """

    def __init__(self, transforms):
        super().__init__()
        hybrid = []
        for t in list(transforms) + [None]:
            if isinstance(t, HybridBlock) and not isinstance(t, _NumpyHybrid):
                hybrid.append(t)
                continue
            if len(hybrid) == 1:
                self.add(hybrid[0])
            elif len(hybrid) > 1:
                group = HybridSequential()
                group.add(*hybrid)
                self.add(group)
            hybrid = []
            if t is not None:
                self.add(t)


class Cast(HybridBlock):
    """Casts the input to ``dtype`` (default float32)."""

    def __init__(self, dtype="float32"):
        super().__init__()
        self._dtype = dtype

    def hybrid_forward(self, F, x):
        return F.cast(x, dtype=self._dtype)


class ToTensor(HybridBlock):
    """(H, W, C) or (N, H, W, C) image in [0, 255] -> float32 (C, H, W) or (N, C, H, W) / 255.

    Example::

        >>> ToTensor()(kl.nd.array(np.full((2, 2, 3), 255), dtype='uint8'))[0, 0, 0]
        1.0
    """

    def hybrid_forward(self, F, x):
        if x.ndim not in (3, 4):
            raise ValueError(f"ToTensor expects (H, W, C) or (N, H, W, C) input, got "
                             f"{x.ndim} dimensions")
        x = F.cast(x, dtype="float32") / 255.0
        # HWC -> CWH -> CHW (the same two swaps serve a leading batch axis)
        return F.swapaxes(F.swapaxes(x, -1, -3), -1, -2)


class Normalize(HybridBlock):
    """``(x[c] - mean[c]) / std[c]`` on a (C, H, W) or (N, C, H, W) float tensor; a scalar
    mean/std applies to every channel.

    Example::

        >>> Normalize(mean=(0.5,), std=(0.5,))(kl.nd.ones((1, 2, 2)))[0, 0, 0]
        1.0
    """

    def __init__(self, mean=0.0, std=1.0):
        super().__init__()
        self._mean = mean
        self._std = std

    @staticmethod
    def _per_channel(v, x, what):
        if isinstance(v, (int, float, np.number)):
            return float(v)
        v = np.asarray(v, dtype=np.float32).reshape(-1)
        channels = x.shape[-3] if x.shape else None
        if channels and v.size not in (1, channels):
            raise ValueError(f"Normalize: {what} has {v.size} values but the input has "
                             f"{channels} channels")
        return _nd_array(v.reshape(-1, 1, 1), ctx=getattr(x, "context", None))

    def hybrid_forward(self, F, x):
        if x.ndim not in (3, 4):
            raise ValueError(f"Normalize expects (C, H, W) or (N, C, H, W) input, got "
                             f"{x.ndim} dimensions")
        mean = self._per_channel(self._mean, x, "mean")
        std = self._per_channel(self._std, x, "std")
        x = F.broadcast_sub(x, mean) if isinstance(mean, NDArray) else x - mean
        return F.broadcast_div(x, std) if isinstance(std, NDArray) else x / std


class Resize(_NumpyHybrid):
    """Resizes (H, W, C) or (N, H, W, C) images to ``size``: an int (square, or the short edge
    with ``keep_ratio=True``) or (width, height). ``interpolation``: 0 nearest, 1 bilinear...

    Example::

        >>> Resize((6, 4))(kl.nd.zeros((8, 8, 3))).shape
        (4, 6, 3)
    """

    def __init__(self, size, keep_ratio=False, interpolation=1):
        super().__init__()
        self._keep = keep_ratio
        self._size = size
        self._interpolation = interpolation

    def _out_hw(self, h, w):
        size = self._size
        if isinstance(size, (int, np.integer)) or len(size) == 1:
            s = int(size if isinstance(size, (int, np.integer)) else size[0])
            if not self._keep:
                return s, s
            # MXNet's integer arithmetic: the short edge becomes s.
            return (h * s // w, s) if h > w else (s, w * s // h)
        return int(size[1]), int(size[0])

    def _apply(self, img):
        if img.ndim not in (3, 4):
            raise ValueError(f"Resize expects (H, W, C) or (N, H, W, C) input, got shape "
                             f"{img.shape}")
        oh, ow = self._out_hw(img.shape[-3], img.shape[-2])
        return _image.imresize(img, ow, oh, self._interpolation)


class CropResize(_NumpyHybrid):
    """Crops the (width x height) box at (x, y), then optionally resizes it to ``size``."""

    def __init__(self, x, y, width, height, size=None, interpolation=None):
        super().__init__()
        self._box = (x, y, width, height)
        self._size = size
        self._interpolation = interpolation

    def _apply(self, img):
        x, y, w, h = self._box
        out = img[..., y:y + h, x:x + w, :]
        if self._size:
            ow, oh = _wh(self._size)
            interp = 1 if self._interpolation is None else self._interpolation
            out = _image.imresize(out, ow, oh, interp)
        return out


class CenterCrop(Block):
    """Crops the centre of an (H, W, C) image to ``size`` (int or (w, h)); upsamples when the
    image is smaller.

    Example::

        >>> CenterCrop(2)(kl.nd.array(np.arange(16).reshape(4, 4, 1))).asnumpy()[..., 0]
        array([[ 5.,  6.], [ 9., 10.]], dtype=float32)
    """

    def __init__(self, size, interpolation=1):
        super().__init__()
        self._args = (_wh(size), interpolation)

    def forward(self, x):
        return _nd(_image.center_crop(_np(x), *self._args)[0], x)


class RandomResizedCrop(Block):
    """A random crop (area fraction in ``scale``, aspect ratio in ``ratio``) resized to
    ``size`` (int or (w, h))."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0), interpolation=1):
        super().__init__()
        self._args = (_wh(size), scale, ratio, interpolation)

    def forward(self, x):
        return _nd(_image.random_size_crop(_np(x), *self._args)[0], x)


class RandomCrop(_NumpyHybrid):
    """A random ``size`` (int or (w, h)) crop of an (H, W, C) image, after optional constant
    padding ``pad`` (int: all four sides; or a numpy pad-width spec) with ``pad_value``.
    Upsamples when the image is smaller than ``size``; positions come from Python's
    ``random`` like ``mx.image.random_crop``."""

    def __init__(self, size, pad=None, pad_value=0, interpolation=1):
        super().__init__()
        self._args = (_wh(size), interpolation)
        if isinstance(pad, (int, np.integer)):
            pad = ((pad, pad), (pad, pad), (0, 0))
        self._pad = pad
        self._pad_value = pad_value

    def _apply(self, img):
        if self._pad:
            img = np.pad(img, self._pad, mode="constant", constant_values=self._pad_value)
        return _image.random_crop(img, *self._args)[0]


class RandomFlipLeftRight(_NumpyHybrid):
    """Flips an (H, W, C) image horizontally with probability ``p`` (numpy's generator)."""

    def __init__(self, p=0.5):
        super().__init__()
        self._p = p

    def _apply(self, img):
        return np.ascontiguousarray(img[..., ::-1, :]) if np.random.rand() < self._p else img


class RandomFlipTopBottom(_NumpyHybrid):
    """Flips an (H, W, C) image vertically with probability ``p`` (numpy's generator)."""

    def __init__(self, p=0.5):
        super().__init__()
        self._p = p

    def _apply(self, img):
        return np.ascontiguousarray(img[..., ::-1, :, :]) if np.random.rand() < self._p else img


class RandomBrightness(_NumpyHybrid):
    """Multiplies the image by a factor drawn from [max(0, 1 - b), 1 + b]."""

    def __init__(self, brightness):
        super().__init__()
        self._args = (max(0, 1 - brightness), 1 + brightness)

    def _apply(self, img):
        alpha = np.random.uniform(*self._args)
        return _saturate(img.astype(np.float32) * alpha, img.dtype)


class RandomContrast(_NumpyHybrid):
    """Blends an (H, W, 3) image with its mean grey level by a factor drawn from
    [max(0, 1 - c), 1 + c]."""

    def __init__(self, contrast):
        super().__init__()
        self._args = (max(0, 1 - contrast), 1 + contrast)

    def _apply(self, img):
        alpha = np.random.uniform(*self._args)
        coef = np.array([0.299, 0.587, 0.114], dtype=np.float32)
        gray = float((img.astype(np.float32) * coef).sum(-1).mean())
        return _saturate(img.astype(np.float32) * alpha + gray * (1 - alpha), img.dtype)


# The transforms of the rest of MXNet 1.9's list (colour jitter, lighting, rotation,
# RandomApply) live in transforms_color.py; they are part of this namespace.
from .transforms_color import (  # noqa: E402
    RandomApply,
    RandomColorJitter,
    RandomHue,
    RandomLighting,
    RandomRotation,
    RandomSaturation,
    Rotate,
)

__all__ += ["RandomSaturation", "RandomHue", "RandomColorJitter", "RandomLighting", "Rotate",
            "RandomRotation", "RandomApply"]
