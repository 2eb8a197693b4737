"""MXNet's image colour arithmetic on (..., H, W, 3) float arrays, written once over ``xp``:
``nd.image``'s ops (``image_ops.py``) and gluon's vision transforms
(``data/vision/transforms_color.py``) both call these.
"""
import numpy as np

LUMA = np.array([0.299, 0.587, 0.114], np.float32)
EIGVAL = np.array([55.46, 4.794, 1.148], np.float32)
EIGVEC = np.array([[-0.5675, 0.7192, 0.4009], [-0.5808, -0.0045, -0.8140],
                   [-0.5836, -0.6948, 0.4203]], np.float32)


def brightness(xp, x, alpha):
    return x * alpha


def contrast(xp, x, alpha):
    """Blend with the image's mean grey level (one mean per image: the last three axes)."""
    gray = (x * xp.asarray(LUMA, x.dtype)).sum(-1).mean(axis=(-2, -1), keepdims=True)
    return x * alpha + gray[..., None] * (1 - alpha)


def saturation(xp, x, alpha):
    """Blend each pixel with its own grey level."""
    gray = (x * xp.asarray(LUMA, x.dtype)).sum(-1, keepdims=True)
    return x * alpha + gray * (1 - alpha)


def lighting(xp, x, alpha):
    """AlexNet's PCA lighting: add ``eigvec @ (alpha * eigval)`` to every RGB pixel."""
    shift = xp.asarray(EIGVEC, np.float64) @ (xp.asarray(alpha, np.float64) *
                                               xp.asarray(EIGVAL, np.float64))
    return x + shift.astype(x.dtype)


def hue(xp, x, alpha):
    """Shift the hue by ``alpha * 360`` degrees (RGB -> HLS -> RGB, as MXNet's kernel)."""
    rgb = x / 255.0
    vmax, vmin = rgb.max(-1), rgb.min(-1)
    diff = vmax - vmin
    light = (vmax + vmin) / 2
    safe = xp.where(diff > 1e-7, diff, 1.0)
    sat = xp.where(light < 0.5, diff / xp.where(vmax + vmin > 0, vmax + vmin, 1.0),
                   diff / xp.where(2 - vmax - vmin > 0, 2 - vmax - vmin, 1.0))
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    h = xp.where(vmax == r, (g - b) / safe,
                 xp.where(vmax == g, (b - r) / safe + 2, (r - g) / safe + 4)) * 60
    h = xp.where(diff > 1e-7, h, 0.0)
    h = xp.mod(h + alpha * 360.0, 360.0) / 60.0
    p2 = xp.where(light <= 0.5, light * (1 + sat), light + sat - light * sat)
    p1 = 2 * light - p2

    def channel(offset):   # the standard HLS -> RGB ramp, per channel
        t = xp.mod(h + offset, 6.0)
        return xp.where(t < 1, p1 + (p2 - p1) * t,
                        xp.where(t < 3, p2, xp.where(t < 4, p1 + (p2 - p1) * (4 - t), p1)))

    out = xp.stack([channel(2.0), channel(0.0), channel(4.0)], -1)
    out = xp.where((diff > 1e-7)[..., None], out, rgb)
    return (out * 255.0).astype(x.dtype)


def saturate(xp, out, dtype):
    """``out`` cast to ``dtype``; integers clipped to the type and truncated, as MXNet's image
    kernels (``static_cast`` after clamping) do."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        out = xp.clip(out, info.min, info.max)
    return out.astype(dtype)
