"""Pooling window loops without a padded copy (numpy or cupy via ``xp``).

Each kernel offset (tap) touches the output range whose input position lies inside the data
(``_conv_gemm.Taps`` with the pooling's begin padding; the end padding is whatever runs past
the data). Padding never holds a value: for a sum it would add 0, for a maximum it would be
``-inf``, so skipping it gives the same result without ``np.pad`` copies or cropping. (The
max-pool forward over short output rows is the exception: there the whole-row slabs of one
padded copy measured faster than the ragged ranges.)

Max-pool routing: the window argmax is one small-int array built by running comparisons
(branch-free ufuncs, no boolean indexing or masked copies); numpy then sends every output
gradient to its input pixel with one ``np.add.at`` over flat input indices (overlapping windows
add up there, in window order), instead of a masked add per tap.
"""
import math

import numpy as np

from . import _im2col as im
from ._conv_gemm import taps_for

_ALL = (slice(None), slice(None))


def pool_taps(geo):
    """Taps of a pooling geometry (``im2col.PoolGeom``); dilation 1."""
    ones = (1,) * len(geo.kernel)
    return taps_for(tuple(geo.size), tuple(geo.out), tuple(geo.kernel), tuple(geo.stride), ones,
                    tuple(geo.begin))


def window_sum(xp, data, geo):
    """Sum over each window, ``(N, C, *out)``; padding adds nothing."""
    taps = pool_taps(geo)
    acc = xp.zeros(data.shape[:2] + geo.out, data.dtype)
    for _, sm, bg, _ in taps.taps:
        acc[_ALL + sm] += data[_ALL + bg]
    return acc


def window_max(xp, data, geo, lowest):
    """Maximum over each window, ``(N, C, *out)``; a window of padding only gives ``lowest``."""
    if geo.out[-1] < _ROW_MAX:  # short rows: whole-row slabs of a padded copy beat the
        return _padded_max(xp, data, geo, lowest)   # ragged in-data ranges (measured)
    taps = pool_taps(geo)
    full = [t for t in taps.taps if t[3]]
    if full:  # a tap that covers every window starts the maximum (no fill pass)
        res = xp.array(data[_ALL + full[0][2]], copy=True)
    else:
        res = xp.full(data.shape[:2] + geo.out, lowest, data.dtype)
    for t in taps.taps:
        if full and t is full[0]:
            continue
        r = res[_ALL + t[1]]
        xp.maximum(r, data[_ALL + t[2]], out=r)
    return res


def _padded_max(xp, data, geo, lowest):
    xpad = im.pad(xp, data, geo.begin, geo.end, lowest)
    ones = (1,) * len(geo.kernel)
    res = None
    for kidx in np.ndindex(*geo.kernel):
        sl = xpad[(Ellipsis,) + im.offset_slices(kidx, geo.stride, ones, geo.out)]
        res = xp.array(sl, copy=True) if res is None else xp.maximum(res, sl, out=res)
    return res


# output rows shorter than this, over at least _LANES_MIN (sample, channel) pairs: run the
# argmax with (sample, channel) innermost, where every ufunc call has long contiguous loops
_ROW_MAX, _LANES_MIN = 16, 256


def window_argmax(xp, data, geo, lowest):
    """Flat kernel offset of each window's first maximum, ``(N, C, *out)`` small ints."""
    taps = pool_taps(geo)
    itype = np.int16 if math.prod(geo.kernel) < 2 ** 15 else np.int64
    lanes = math.prod(data.shape[:2])
    if geo.out[-1] >= _ROW_MAX or lanes < _LANES_MIN:
        return _argmax_taps(xp, data, taps, geo.out, lowest, itype, True)
    # short rows: an inner loop per row dominates; transpose to (*S, N*C) once instead
    flat = data.reshape((lanes,) + tuple(geo.size))
    last = xp.ascontiguousarray(xp.moveaxis(flat, 0, -1))
    idx = _argmax_taps(xp, last, taps, geo.out, lowest, itype, False)
    first = xp.ascontiguousarray(xp.moveaxis(idx, -1, 0))
    return first.reshape(tuple(data.shape[:2]) + tuple(geo.out))


def _argmax_taps(xp, data, taps, out, lowest, itype, channels_first):
    """The running argmax over ``data (N, C, *S)`` or, not ``channels_first``, ``(*S, L)``."""
    if channels_first:
        shape = tuple(data.shape[:2]) + tuple(out)

        def ix(sl):
            return _ALL + sl
    else:
        shape = tuple(out) + (data.shape[-1],)

        def ix(sl):
            return sl
    best = xp.full(shape, lowest, data.dtype)
    idx = xp.zeros(shape, itype)
    for kf, sm, bg, _ in taps.taps:
        b, sl, i = best[ix(sm)], data[ix(bg)], idx[ix(sm)]
        # strictly greater: an earlier equal maximum keeps the gradient (MXNet). Offsets grow
        # tap by tap, so "take kf where greater" is max(idx, greater * kf): branch-free ufuncs
        # where a masked copy stalls on a random mask
        xp.maximum(i, (sl > b) * itype(kf), out=i)
        xp.maximum(b, sl, out=b)
    return idx


def spread(xp, g, shape, geo):
    """Adjoint of ``window_sum``: add each window's ``g`` back over its inputs."""
    taps = pool_taps(geo)
    dx = xp.zeros(shape, g.dtype)
    for _, sm, bg, _ in taps.taps:
        dx[_ALL + bg] += g[_ALL + sm]
    return dx


def route(xp, gy, idx, shape, geo):
    """Adjoint of max pooling: ``gy`` goes to the input pixel at each window's argmax."""
    if xp is not np:
        return _route_per_tap(xp, gy, idx, shape, geo)
    full = tuple(n + b + e for n, b, e in zip(geo.size, geo.begin, geo.end))
    # flat index into the padded (N*C, *full) grid: window start + the argmax's offset in it
    pstr = np.cumprod((1,) + full[:0:-1])[::-1]          # row-major strides of ``full``
    nc = math.prod(shape[:2])
    lin = (np.arange(nc, dtype=np.int64) * math.prod(full)).reshape(shape[:2] +
                                                                       (1,) * len(full))
    for a, (o, s, st) in enumerate(zip(geo.out, geo.stride, pstr)):
        ax = np.arange(o, dtype=np.int64) * (s * int(st))
        lin = lin + ax.reshape((1, 1) + tuple(o if i == a else 1 for i in range(len(full))))
    koff = np.zeros(math.prod(geo.kernel), np.int64)
    for j, kidx in enumerate(np.ndindex(*geo.kernel)):
        koff[j] = sum(k * int(st) for k, st in zip(kidx, pstr))
    lin = lin + koff[idx]
    acc = scatter_windows(lin, gy, nc * math.prod(full)).reshape(tuple(shape[:2]) + full)
    inner = tuple(slice(b, b + n) for b, n in zip(geo.begin, geo.size))
    return acc[_ALL + inner].astype(gy.dtype)


def scatter_windows(flat_index, gy, size):
    """A ``(size,)`` array holding, at each flat input index, the sum of the window gradients
    ``gy`` routed there (``flat_index`` shaped like ``gy``): ``np.add.at`` in window order
    (sample, channel, output position), MXNet's order and dtype (float16 sums in float32).
    A float64 ``bincount`` plus the cast back took 2.7x as long ((32, 64, 16, 16) 3x3/2
    pooling: 0.77 -> 0.28 ms, 2026-12-08)."""
    acc = np.zeros(size, np.promote_types(gy.dtype, np.float32))
    np.add.at(acc, flat_index.ravel(), gy.ravel())
    return acc


def _route_per_tap(xp, gy, idx, shape, geo):
    """The same routing as masked adds per tap (cupy: numpy's add.at route is numpy's own)."""
    taps = pool_taps(geo)
    dx = xp.zeros(shape, gy.dtype)
    zero = xp.zeros((), gy.dtype)
    for kf, sm, bg, _ in taps.taps:
        dx[_ALL + bg] += xp.where(idx[_ALL + sm] == kf, gy[_ALL + sm], zero)
    return dx
