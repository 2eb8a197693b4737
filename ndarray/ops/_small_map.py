"""Convolutions over maps of a few positions as one product by a gathered weight (inference).

On a 2x2 map a padded 3x3 convolution is a linear map from ``C * 4`` inputs to ``F * 4``
outputs in which every (output position, input position) pair has one tap of the kernel; on a
1x1 map only the center tap touches data. Written as that matrix, ``(C*S, F*P)``, the
convolution is a single GEMM ``(N, C*S) @ (C*S, F*P)`` over the data as it lies, with no
columns and no multiply-adds on padding. The matrix costs a pass over the weight to gather, so
it is built once per weight and kept while the weight is unchanged (``_derived.memo``); a call
that records gradients (the weight is about to change) keeps the regular route.

Taken where the pairs are few (``MAX_PAIRS``) and the matrix wastes little on pairs no tap
joins (``MAX_WASTE``): ResNet's 3x3 layers on 2x2 and 1x1 maps (all pairs joined), not a
stride-2 layer from 4x4 onto 2x2 (64 pairs for 25 joined). Measured (ResNet-18 at 32x32,
batch 32, two threads, 2026-12-08): 256x256x3x3 on 2x2 maps 1.32 -> 0.63 ms, 512x512x3x3 on
a 1x1 map 0.88 -> 0.21 ms, with the gathered weight kept. Gathered every call (a training
step) it lost: the gather is a strided pass as costly as the GEMM it shortens.

Example::

    >>> if suits(np, x, w, taps, 1):
    ...     y = forward(x, w, taps)          # (N, F, *taps.small)
"""
import math

import numpy as np

from .. import _derived
from .._registry import STATE

MAX_PAIRS = 16
MAX_WASTE = 1.25


def suits(xp, x, w, taps, g):
    """Whether ``forward`` takes this convolution: numpy, one group, matching float dtypes,
    not recording, a weight ``_derived`` can keep, few pairs, little waste."""
    if xp is not np or g != 1 or STATE.recording or type(x) is not np.ndarray or \
            x.dtype != w.dtype or x.dtype.kind != "f" or not taps.taps:
        return False
    pairs = math.prod(x.shape[2:]) * math.prod(taps.small)
    if pairs > MAX_PAIRS or pairs > MAX_WASTE * _joined(taps):
        return False
    return _derived.keepable(w)


def _joined(taps):
    """(output, input) position pairs some tap joins: each tap joins its output range."""
    return sum(math.prod(s.stop - s.start for s in sm) for _, sm, _, _ in taps.taps)


def gathered(w, taps, big):
    """``w (F, C, *K)`` as the ``(C * prod(big), F * prod(taps.small))`` matrix of the
    convolution over a map of spatial size ``big``."""
    f, c = w.shape[:2]
    mat = np.zeros((c,) + tuple(big) + (f,) + taps.small, w.dtype)
    wk = w.reshape(f, c, -1)
    for kidx, sm, bg, _ in taps.taps:
        tap = wk[:, :, kidx].T   # (C, F)
        for o in np.ndindex(*(s.stop - s.start for s in sm)):
            out_pos = tuple(s.start + k for s, k in zip(sm, o))
            in_pos = tuple(b.start + k * b.step for b, k in zip(bg, o))
            mat[(slice(None),) + in_pos + (slice(None),) + out_pos] = tap
    return mat.reshape(c * math.prod(big), f * math.prod(taps.small))


def forward(x, w, taps):
    """``(N, C, *S) * (F, C, *K) -> (N, F, *taps.small)`` as one GEMM (a new array); the
    caller checked ``suits``."""
    n, big = x.shape[0], tuple(x.shape[2:])
    mat = _derived.memo(w, ("small_map", big, taps.key), lambda: gathered(w, taps, big))
    y = np.matmul(x.reshape(n, mat.shape[0]), mat)   # explicit: an empty batch reshapes too
    return y.reshape((n, w.shape[0]) + taps.small)
