"""BatchNorm forward and backward in few passes over the data (numpy or cupy via ``xp``).

The data is viewed as ``(A, C, B)`` (axes before the channel, the channel, axes after): a
per-channel statistic is one ``einsum`` over that view, a single pass with vectorized
accumulation even when ``B`` is tiny (the 1x1 maps of a ResNet's last stage), where
``mean(axis=(0, 2, 3))`` takes an inner loop per row. Every array op then works in place on the
one centred array that becomes the output:

* forward (batch statistics): sum, centre (the output array), sum of squares, scale, shift;
  five passes, where the composite form took ten;
* backward: ``dx = k1 * gy + k2 * (x - mean) + k3`` with per-channel ``k`` from four sums
  (x, (x - mean)^2, gy, gy * (x - mean)); nine passes where the registry-op gradient took ~17.
"""
import math


def as3(x, ax):
    """``x`` viewed as ``(A, C, B)`` around axis ``ax`` (a copy only if it must)."""
    a = math.prod(x.shape[:ax])
    return x.reshape(a, x.shape[ax], -1) if x.size else x.reshape(a, x.shape[ax], 0)


def channel_sum(xp, x3, y3=None):
    """Per-channel sum of ``x3`` (or of ``x3 * y3``): one pass."""
    if y3 is None:
        return xp.einsum("acb->c", x3)
    return xp.einsum("acb,acb->c", x3, y3)


def centred(xp, x3):
    """``(mean, x - mean, biased variance)`` over ``(A, B)``: three passes."""
    n = x3.shape[0] * x3.shape[2]
    mean = channel_sum(xp, x3) / n
    xc = x3 - mean[:, None]
    return mean, xc, channel_sum(xp, xc, xc) / n


def normalize(xp, xc, scale, shift):
    """``xc * scale + shift`` per channel, in place on ``xc``: two passes."""
    xc *= scale[:, None]
    xc += shift[:, None]
    return xc


def backward(xp, gy, x, gamma, eps, fix_gamma, ax, acc):
    """``(dx, dgamma, dbeta)`` of batch-statistics BatchNorm (dx in x's dtype)."""
    x3 = as3(x.astype(acc, copy=False), ax)
    g3 = as3(gy.astype(acc, copy=False), ax)
    n = x3.shape[0] * x3.shape[2]
    _, xc, var = centred(xp, x3)
    invstd = 1.0 / xp.sqrt(var + eps)
    sg, sgx = channel_sum(xp, g3), channel_sum(xp, g3, xc)
    gam = invstd if fix_gamma else gamma.astype(acc) * invstd
    # dx = gam * invstd * (gy - mean(gy) - xhat * mean(gy * xhat)), xhat = xc * invstd
    k2 = -gam * invstd * invstd * sgx / n
    dx = normalize(xp, xc, k2, -gam * sg / n)
    dx += g3 * gam[:, None]
    dgamma = xp.zeros_like(gamma) if fix_gamma else (sgx * invstd).astype(gamma.dtype)
    return dx.reshape(x.shape).astype(x.dtype, copy=False), dgamma, sg.astype(gamma.dtype)
