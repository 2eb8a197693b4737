"""The convolution, pooling and BatchNorm kernels as they were before the kernel rewrite.

Kept only so that ``benchmarks/conv.py`` can time old and new side by side in one run
(numpy only; not used by kiln itself).
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided


def _pad(x, p, value=0):
    if not any(p):
        return x
    return np.pad(x, [(0, 0), (0, 0)] + [(q, q) for q in p], constant_values=value)


def _windows(x, k, s, d, out):
    nl = x.ndim - len(k)
    st = x.strides
    shape = x.shape[:nl] + tuple(out) + tuple(k)
    strides = (st[:nl] + tuple(a * b for a, b in zip(st[nl:], s))
               + tuple(a * b for a, b in zip(st[nl:], d)))
    return as_strided(x, shape=shape, strides=strides)


def _slices(kidx, s, d, out):
    return tuple(slice(k * dd, k * dd + ss * (o - 1) + 1, ss)
                 for k, dd, ss, o in zip(kidx, d, s, out))


def conv(x, w, s, p, d=None, g=1):
    """Old forward: strided-view im2col + tensordot per group (pads by np.pad)."""
    k = w.shape[2:]
    n = len(k)
    d = d or (1,) * n
    out = tuple((x_ + 2 * q - dd * (kk - 1) - 1) // ss + 1
                for x_, q, dd, kk, ss in zip(x.shape[2:], p, d, k, s))
    cols = _windows(_pad(x, p), k, s, d, out)
    wa, ca = [1] + list(range(2, 2 + n)), [1] + list(range(2 + n, 2 + 2 * n))
    fg, cg = w.shape[0] // g, x.shape[1] // g
    parts = [np.tensordot(w[i * fg:(i + 1) * fg], cols[:, i * cg:(i + 1) * cg], axes=(wa, ca))
             for i in range(g)]
    y = parts[0] if g == 1 else np.concatenate(parts, axis=0)
    return np.ascontiguousarray(np.moveaxis(y, 0, 1))


def conv_dx(gy, w, s, p, xshape, d=None, g=1):
    """Old data gradient: tensordot with the moved weight, then a col2im over padded zeros."""
    k = w.shape[2:]
    n = len(k)
    d = d or (1,) * n
    in_sp = gy.shape[2:]
    full = tuple(max(ss * (i - 1) + dd * (kk - 1) + 1, q + xs)
                 for ss, i, dd, kk, q, xs in zip(s, in_sp, d, k, p, xshape[2:]))
    fg, cg = w.shape[0] // g, xshape[1] // g
    res = []
    for i in range(g):
        wg, xg = w[i * fg:(i + 1) * fg], gy[:, i * fg:(i + 1) * fg]
        cols = np.tensordot(np.moveaxis(wg, 1, -1), xg, axes=([0], [1]))
        r = np.zeros((cg, gy.shape[0]) + full, gy.dtype)
        for kidx in np.ndindex(*k):
            r[(Ellipsis,) + _slices(kidx, s, d, in_sp)] += cols[kidx]
        res.append(r)
    y = res[0] if g == 1 else np.concatenate(res, axis=0)
    y = y[(Ellipsis,) + tuple(slice(q, q + xs) for q, xs in zip(p, xshape[2:]))]
    return np.ascontiguousarray(np.moveaxis(y, 0, 1))


def conv_dw(x, gy, k, s, p, d=None, g=1):
    """Old weight gradient: strided-view im2col + tensordot per group."""
    n = len(k)
    d = d or (1,) * n
    cols = _windows(_pad(x, p), k, s, d, gy.shape[2:])
    ax = [0] + list(range(2, 2 + n))
    fg, cg = gy.shape[1] // g, x.shape[1] // g
    parts = [np.tensordot(gy[:, i * fg:(i + 1) * fg], cols[:, i * cg:(i + 1) * cg],
                          axes=(ax, ax)) for i in range(g)]
    return parts[0] if g == 1 else np.concatenate(parts, axis=0)


# ---- pooling (2-D max, symmetric padding: the cases the benchmark times) -----------------------
def _pool_slabs(x, k, s, p, fill):
    xp = _pad(x, p, fill)
    out = tuple((n + 2 * q - kk) // ss + 1 for n, q, kk, ss in zip(x.shape[2:], p, k, s))
    for j, kidx in enumerate(np.ndindex(*k)):
        yield j, xp[(Ellipsis,) + _slices(kidx, s, (1,) * len(k), out)]


def maxpool(x, k, s, p):
    """Old max pool: np.pad with -inf, then a running maximum over the slabs."""
    res = None
    for _, sl in _pool_slabs(x, k, s, p, -np.inf):
        res = sl.copy() if res is None else np.maximum(res, sl, out=res)
    return res


def maxpool_backward(gy, x, k, s, p):
    """Old max-pool gradient: argmax by boolean assignment, then a masked add per tap."""
    best = idx = None
    for j, sl in _pool_slabs(x, k, s, p, -np.inf):
        if best is None:
            best, idx = sl.copy(), np.zeros(sl.shape, np.int16)
            continue
        idx[sl > best] = j
        np.maximum(best, sl, out=best)
    full = tuple(n + 2 * q for n, q in zip(x.shape[2:], p))
    dx = np.zeros(x.shape[:2] + full, gy.dtype)
    zero = np.zeros((), gy.dtype)
    for j, kidx in enumerate(np.ndindex(*k)):
        dx[(Ellipsis,) + _slices(kidx, s, (1,) * len(k), gy.shape[2:])] += np.where(
            idx == j, gy, zero)
    return np.ascontiguousarray(dx[(Ellipsis,) + tuple(slice(q, q + n) for q, n in
                                                       zip(p, x.shape[2:]))])


# ---- BatchNorm (channel axis 1, batch statistics) ---------------------------------------------
def batchnorm_train(x, gamma, beta, eps=1e-5):
    """Old training forward: mean, centred square, mean, then centre/scale/shift again."""
    red = (0,) + tuple(range(2, x.ndim))
    bs = (1, -1) + (1,) * (x.ndim - 2)
    mean = x.mean(axis=red)
    var = np.square(x - mean.reshape(bs)).mean(axis=red)
    scale = gamma / np.sqrt(var + eps)
    return ((x - mean.reshape(bs)) * scale.reshape(bs) + beta.reshape(bs)).astype(x.dtype)


def batchnorm_backward(gy, x, gamma, eps=1e-5):
    """Old gradient: the registry-op composite (moments recomputed, ~17 passes) in numpy."""
    red = (0,) + tuple(range(2, x.ndim))
    bs = (1, -1) + (1,) * (x.ndim - 2)
    mu = x.mean(axis=red, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(axis=red, keepdims=True)
    s = 1 / np.sqrt(var + eps)
    xhat = xc * s
    gx = gy * gamma.reshape(bs)
    dx = s * (gx - gx.mean(axis=red, keepdims=True)
              - xhat * (gx * xhat).mean(axis=red, keepdims=True))
    return dx, (gy * xhat).sum(axis=red), gy.sum(axis=red)
