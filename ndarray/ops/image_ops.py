"""MXNet 1.9's ``nd.image`` / ``sym.image`` ops (registered as MXNet's ``_image_<name>``).

Layouts are MXNet's: ``to_tensor``, ``resize``, ``crop``, the flips and the colour ops take
(H, W, C) or (N, H, W, C) images; ``normalize`` takes (C, H, W) or (N, C, H, W) tensors. The
colour arithmetic (``_color.py``) and OpenCV's resize (``_cv_resize.py``) are shared with
``gluon.data.vision.transforms`` and ``mx.image``. The ``random_*`` ops draw their factors from
``kiln.random`` (so ``mx.random.seed`` repeats them); integer images are clamped and truncated
back to their dtype after each step, as MXNet's kernels do.
"""
import numpy as np

from ...base import OpError
from .. import ops as F
from .. import rng as _krandom
from .._registry import REQUIRED, Aval, Sample, register
from . import _color
from ._boxes import device, host
from ._cv_resize import imresize
from ._samples import rnd

_NO_ONNX = "an image preprocessing op of MXNet's nd.image; no ONNX lowering is written"
_RANDOM_NO_GRAD = "random augmentation: MXNet defines no gradient"


def _image_shape(x, op):
    if len(x.shape) not in (3, 4):
        raise OpError(f"image.{op}: expects (H, W, C) or (N, H, W, C) input, got {x.shape}")
    return tuple(x.shape)


def _as_float(data):
    """Integer images computed in float32 (MXNet's kernels); float ones in their own dtype."""
    return data if data.dtype.kind == "f" else data.astype(np.float32)


def _img(*shape, salt=0):
    return rnd(*shape, lo=0.0, hi=255.0, salt=salt)


# ---- to_tensor, normalize ---------------------------------------------------------------------
def _to_tensor_infer(data):
    s = _image_shape(data, "to_tensor")
    return Aval(s[:-3] + (s[-1], s[-3], s[-2]), np.dtype(np.float32))


def _to_tensor_kernel(xp, data):
    _image_shape(data, "to_tensor")
    return xp.moveaxis(data.astype(np.float32) / np.float32(255.0), -1, -3)


def _to_tensor_grad(ins, outs, gouts):
    g = F.swapaxes(F.swapaxes(gouts[0], -3, -1), -3, -2)   # CHW -> WHC -> HWC
    return (F.cast(g / 255.0, dtype=np.dtype(ins[0].dtype).name),)


_to_tensor = register(
    "_image_to_tensor", _to_tensor_kernel, attrs={}, infer=_to_tensor_infer,
    grad=_to_tensor_grad, no_onnx=_NO_ONNX,
    ref=lambda d: np.moveaxis(d.astype(np.float32) / 255.0, -1, -3),
    # float32 output whatever the input: finite differences in float64 cannot see it;
    # tests/test_image_ops.py checks the gradient (a transpose over 255) exactly
    samples=[Sample(_img(3, 4, 3), grad=False), Sample(_img(2, 3, 2, 1), grad=False)],
    doc="""(H, W, C) or (N, H, W, C) image in [0, 255] -> float32 (C, H, W) or (N, C, H, W)
    divided by 255.

    Example::

        >>> nd.image.to_tensor(nd.ones((4, 5, 3), dtype='uint8') * 255).shape   # (3, 4, 5)
    """)


def _per_channel(v, c, what):
    v = np.asarray(v if isinstance(v, (list, tuple)) else [v], np.float64).reshape(-1)
    if v.size == 1:
        return np.repeat(v, c)
    if v.size < c:   # MXNet's default (0, 0, 0, 0) serves up to four channels
        raise OpError(f"image.normalize: {what} has {v.size} values, the input {c} channels")
    return v[:c]


def _normalize_infer(data, mean=(0.0,), std=(1.0,)):
    if len(data.shape) not in (3, 4):
        raise OpError(f"image.normalize: expects (C, H, W) or (N, C, H, W), got {data.shape}")
    return Aval(tuple(data.shape), data.dtype)


def _mean_std(data, mean, std):
    c = data.shape[-3]
    return (_per_channel(mean, c, "mean").reshape(c, 1, 1),
            _per_channel(std, c, "std").reshape(c, 1, 1))


def _normalize_kernel(xp, data, mean=(0.0,), std=(1.0,)):
    _normalize_infer(data, mean, std)
    m, s = _mean_std(data, mean, std)
    return ((data - xp.asarray(m, data.dtype)) / xp.asarray(s, data.dtype)).astype(data.dtype)


def _normalize_grad(ins, outs, gouts, mean=(0.0,), std=(1.0,)):
    _, s = _mean_std(ins[0], mean, std)
    return (gouts[0] * (1.0 / s).astype(np.dtype(ins[0].dtype)),)


_normalize = register(
    "_image_normalize", _normalize_kernel, attrs={"mean": (0.0, 0.0, 0.0, 0.0),
                                                  "std": (1.0, 1.0, 1.0, 1.0)},
    infer=_normalize_infer, grad=_normalize_grad, no_onnx=_NO_ONNX,
    ref=lambda d, mean=(0.0,) * 4, std=(1.0,) * 4: (d - _mean_std(d, mean, std)[0]) /
    _mean_std(d, mean, std)[1],
    samples=[Sample(rnd(3, 2, 4), mean=(0.5, 0.2, 0.1), std=(2.0, 0.5, 1.5)),
             Sample(rnd(2, 3, 2, 2), mean=0.5, std=2.0), Sample(rnd(1, 2, 2))],
    doc="""``(x[c] - mean[c]) / std[c]`` on a (C, H, W) or (N, C, H, W) tensor; one value of
    mean/std serves every channel.

    Example::

        >>> nd.image.normalize(nd.ones((3, 2, 2)), mean=(.5, .2, .1), std=(2, 2, 2))[:, 0, 0]
    """)


# ---- resize, crop, flips ----------------------------------------------------------------------
def resize_hw(h, w, size, keep_ratio=False):
    """MXNet's output (height, width) for an int or (w, h) ``size`` (the short edge becomes an
    int size with ``keep_ratio``, in MXNet's integer arithmetic)."""
    if isinstance(size, (int, np.integer)) or len(size) == 1:
        s = int(size if isinstance(size, (int, np.integer)) else size[0])
        if not keep_ratio:
            return s, s
        return (h * s // w, s) if h > w else (s, w * s // h)
    if len(size) != 2:
        raise OpError(f"image.resize: size must be an int or (width, height), got {size}")
    return int(size[1]), int(size[0])


def _resize_infer(data, size=(), keep_ratio=False, interp=1):
    s = _image_shape(data, "resize")
    oh, ow = resize_hw(s[-3], s[-2], size, keep_ratio)
    return Aval(s[:-3] + (oh, ow, s[-1]), data.dtype)


def _resize_kernel(xp, data, size=(), keep_ratio=False, interp=1):
    out = _resize_infer(data, size, keep_ratio, interp)
    h, w = out.shape[-3], out.shape[-2]
    return device(xp, imresize(host(data), w, h, interp))


_resize = register(
    "_image_resize", _resize_kernel, attrs={"size": (), "keep_ratio": False, "interp": 1},
    infer=_resize_infer, no_grad="MXNet defines no gradient for image.resize",
    no_onnx=_NO_ONNX, ref=lambda d, **a: _resize_kernel(np, d, **a),
    samples=[Sample(_img(4, 6, 3), size=(3, 2)), Sample(_img(2, 4, 6, 1), size=3,
                                                         keep_ratio=True, interp=0)],
    doc="""Resize (H, W, C) or (N, H, W, C) images with OpenCV's interpolation ``interp`` to
    ``size``: (width, height), or an int (square; the short edge with ``keep_ratio``).

    Example::

        >>> nd.image.resize(nd.zeros((8, 8, 3)), size=(6, 4)).shape    # (4, 6, 3)
    """)


def _crop_box(shape, x, y, width, height):
    h, w = shape[-3], shape[-2]
    if not (0 <= x and 0 <= y and width > 0 and height > 0 and x + width <= w
            and y + height <= h):
        raise OpError(f"image.crop: box x={x} y={y} width={width} height={height} is outside "
                      f"the {w}x{h} image")
    nd_ = len(shape)
    begin = (None,) * (nd_ - 3) + (y, x, None)
    end = (None,) * (nd_ - 3) + (y + height, x + width, None)
    return begin, end


def _crop_infer(data, x=REQUIRED, y=REQUIRED, width=REQUIRED, height=REQUIRED):
    s = _image_shape(data, "crop")
    _crop_box(s, x, y, width, height)
    return Aval(s[:-3] + (height, width, s[-1]), data.dtype)


def _crop_kernel(xp, data, x=REQUIRED, y=REQUIRED, width=REQUIRED, height=REQUIRED):
    _crop_infer(data, x, y, width, height)
    return data[..., y:y + height, x:x + width, :].copy()


def _crop_grad(ins, outs, gouts, x, y, width, height):
    begin, end = _crop_box(ins[0].shape, x, y, width, height)
    return F.slice.op.grad(ins, outs, gouts, begin=begin, end=end)


_crop = register(
    "_image_crop", _crop_kernel, attrs={"x": REQUIRED, "y": REQUIRED, "width": REQUIRED,
                                        "height": REQUIRED},
    infer=_crop_infer, grad=_crop_grad, no_onnx=_NO_ONNX,
    ref=lambda d, x, y, width, height: d[..., y:y + height, x:x + width, :],
    samples=[Sample(rnd(4, 5, 3), x=1, y=2, width=3, height=2),
             Sample(rnd(2, 3, 3, 1), x=0, y=0, width=2, height=3)],
    doc="""Crop (H, W, C) or (N, H, W, C) images to the box at (x, y) of width x height.

    Example::

        >>> nd.image.crop(nd.zeros((8, 8, 3)), x=1, y=2, width=4, height=3).shape  # (3, 4, 3)
    """)


def _flip(name, axis, what):
    def kernel(xp, data):
        _image_shape(data, name)
        return xp.flip(data, axis=axis).copy()

    return register(
        f"_image_{name}", kernel, attrs={},
        infer=lambda d: Aval(_image_shape(d, name), d.dtype),
        grad=lambda i, o, g: (F.flip(g[0], axis=axis),), no_onnx=_NO_ONNX,
        ref=lambda d: np.flip(d, axis=axis),
        samples=[Sample(rnd(3, 4, 2)), Sample(rnd(2, 3, 2, 1))],
        doc=f"""Flip (H, W, C) or (N, H, W, C) images {what}.

        Example: ``nd.image.{name}(img)`` keeps the shape of img.""")


_flip_left_right = _flip("flip_left_right", -2, "left to right (the width axis)")
_flip_top_bottom = _flip("flip_top_bottom", -3, "top to bottom (the height axis)")


# ---- adjust_lighting ---------------------------------------------------------------------------
def _lighting_infer(data, alpha=REQUIRED):
    s = _image_shape(data, "adjust_lighting")
    if s[-1] != 3 or len(tuple(alpha)) != 3:
        raise OpError(f"image.adjust_lighting: needs RGB images (..., 3) and 3 alphas, got "
                      f"{s} and {alpha}")
    return Aval(s, data.dtype)


def _lighting_kernel(xp, data, alpha=REQUIRED):
    _lighting_infer(data, alpha)
    return _color.saturate(xp, _color.lighting(xp, _as_float(data), alpha), data.dtype)


_adjust_lighting = register(
    "_image_adjust_lighting", _lighting_kernel, attrs={"alpha": REQUIRED},
    infer=_lighting_infer, grad=lambda i, o, g, alpha: (g[0],), no_onnx=_NO_ONNX,
    ref=lambda d, alpha: d + _color.EIGVEC.astype(np.float64) @ (np.asarray(alpha) *
                                                               _color.EIGVAL),
    samples=[Sample(_img(2, 3, 3), alpha=(0.1, 0.2, 0.3)),
             Sample(_img(2, 2, 2, 3), alpha=(-0.5, 0.0, 1.0))],
    doc="""AlexNet's PCA lighting: add ``eigvec @ (alpha * eigval)`` (ImageNet's RGB
    eigen-decomposition) to every pixel of (H, W, 3) or (N, H, W, 3) images.

    Example::

        >>> nd.image.adjust_lighting(nd.ones((2, 2, 3)) * 100, alpha=(.1, .2, .3))[0, 0]
    """)


# ---- random ops ------------------------------------------------------------------------------
def _uniform(xp, lo, hi):
    return float(lo) + (float(hi) - float(lo)) * float(_krandom.generator(xp).random())


def _random_flip(name, axis):
    def kernel(xp, data):
        _image_shape(data, name)
        flip = float(_krandom.generator(xp).random()) < 0.5
        return xp.flip(data, axis=axis).copy() if flip else data.copy()

    return register(
        f"_image_random_{name}", kernel, attrs={}, random=True,
        infer=lambda d: Aval(_image_shape(d, name), d.dtype), no_grad=_RANDOM_NO_GRAD,
        no_onnx=_NO_ONNX, no_ref="random: either the input or its flip (tests/test_image_ops.py)",
        samples=[Sample(rnd(3, 4, 2))],
        doc=f"""``image.{name}`` with probability 0.5 (drawn from kiln.random).

        Example: ``nd.image.random_{name}(img)``.""")


_random_flip_left_right = _random_flip("flip_left_right", -2)
_random_flip_top_bottom = _random_flip("flip_top_bottom", -3)


def _factor_op(name, fn, doc):
    def kernel(xp, data, min_factor=REQUIRED, max_factor=REQUIRED):
        _image_shape(data, name)
        alpha = _uniform(xp, min_factor, max_factor)
        return _color.saturate(xp, fn(xp, _as_float(data), alpha), data.dtype)

    def ref(data, min_factor, max_factor):
        return fn(np, data, min_factor)    # the samples fix the factor (min == max)

    return register(
        f"_image_{name}", kernel, attrs={"min_factor": REQUIRED, "max_factor": REQUIRED},
        random=True, infer=lambda d, **a: Aval(_image_shape(d, name), d.dtype),
        no_grad=_RANDOM_NO_GRAD, no_onnx=_NO_ONNX, ref=ref, doc=doc,
        samples=[Sample(_img(3, 4, 3), min_factor=0.5, max_factor=0.5),
                 Sample(_img(2, 2, 3, 3), min_factor=1.3, max_factor=1.3)])


_random_brightness = _factor_op("random_brightness", _color.brightness, """Multiply
    (H, W, C) or (N, H, W, C) images by a factor drawn from [min_factor, max_factor].

    Example: ``nd.image.random_brightness(img, min_factor=0.5, max_factor=1.5)``.""")
_random_contrast = _factor_op("random_contrast", _color.contrast, """Blend RGB images with
    their mean grey level by a factor drawn from [min_factor, max_factor].

    Example: ``nd.image.random_contrast(img, min_factor=0.5, max_factor=1.5)``.""")
_random_saturation = _factor_op("random_saturation", _color.saturation, """Blend each RGB
    pixel with its grey level (0.299 R + 0.587 G + 0.114 B) by a factor drawn from
    [min_factor, max_factor]. (MXNet 1.9.1's kernel takes only 0.114 B as the grey level,
    a bug; kiln uses the luma it documents, as gluon's RandomSaturation does.)

    Example: ``nd.image.random_saturation(img, min_factor=0.5, max_factor=1.5)``.""")
_random_hue = _factor_op("random_hue", _color.hue, """Rotate the hue of RGB images by
    ``alpha * 360`` degrees, alpha drawn from [min_factor, max_factor].

    Example: ``nd.image.random_hue(img, min_factor=-0.1, max_factor=0.1)``.""")


def _jitter(xp, data, brightness, contrast, saturation, hue, draw):
    x = data.astype(np.float32)
    for amount, fn in ((brightness, _color.brightness), (contrast, _color.contrast),
                       (saturation, _color.saturation)):
        if amount > 0:   # each step stores in the image's dtype, as MXNet's kernel
            x = _color.saturate(xp, fn(xp, x, draw(max(0.0, 1 - amount), 1 + amount)),
                                data.dtype).astype(np.float32)
    if hue > 0:
        x = _color.hue(xp, x, draw(-hue, hue))
    return _color.saturate(xp, x, data.dtype)


def _jitter_kernel(xp, data, brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0):
    _image_shape(data, "random_color_jitter")
    return _jitter(xp, data, brightness, contrast, saturation, hue,
                   lambda lo, hi: _uniform(xp, lo, hi))


_random_color_jitter = register(
    "_image_random_color_jitter", _jitter_kernel,
    attrs={"brightness": 0.0, "contrast": 0.0, "saturation": 0.0, "hue": 0.0}, random=True,
    infer=lambda d, **a: Aval(_image_shape(d, "random_color_jitter"), d.dtype),
    no_grad=_RANDOM_NO_GRAD, no_onnx=_NO_ONNX,
    no_ref="random factors: tests/test_image_ops.py checks the range it spans",
    samples=[Sample(_img(3, 4, 3), brightness=0.3, contrast=0.2, saturation=0.1, hue=0.05)],
    doc="""Brightness, contrast and saturation factors from [max(0, 1 - v), 1 + v] and a hue
    shift of uniform(-hue, hue) * 360 degrees, in that order (those > 0), on RGB images.

    Example: ``nd.image.random_color_jitter(img, brightness=0.2, hue=0.05)``.""")


def _random_lighting_kernel(xp, data, alpha_std=0.05):
    _lighting_infer(data, (0, 0, 0))
    a = host(_krandom.generator(xp).standard_normal(3)) * float(alpha_std)
    return _lighting_kernel(xp, data, alpha=tuple(float(v) for v in a))


_random_lighting = register(
    "_image_random_lighting", _random_lighting_kernel, attrs={"alpha_std": 0.05},
    random=True, infer=lambda d, **a: _lighting_infer(d, (0, 0, 0)), no_grad=_RANDOM_NO_GRAD,
    no_onnx=_NO_ONNX, ref=lambda d, alpha_std: d, samples=[Sample(_img(2, 3, 3), alpha_std=0.0)],
    doc="""``adjust_lighting`` with alpha ~ N(0, alpha_std) per component.

    Example: ``nd.image.random_lighting(img, alpha_std=0.1)``.""")

NAMES = ("to_tensor", "normalize", "resize", "crop", "flip_left_right", "flip_top_bottom",
         "random_flip_left_right", "random_flip_top_bottom", "random_brightness",
         "random_contrast", "random_saturation", "random_hue", "random_color_jitter",
         "adjust_lighting", "random_lighting")
