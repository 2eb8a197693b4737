"""Per-layer convolution times of a hybridized MobileNet, channels-last paths on and off.

Wraps ``_conv_core`` (the convolution under both ``Convolution`` and ``_conv_affine_act``) with
a timer keyed by layer kind and shape, and calls the network with ``_conv_layout.ENABLED``
alternately on and off (the order flipped every round); CPU time per call
(``time.process_time``), summed over the layers of one shape. Used by
``benchmarks/mobilenet.py --layers``.
"""
import collections
import time

import numpy as np


def _kind(geo, g):
    k, s = geo.k[0], geo.s[0]
    return ("pointwise" if geo.k == (1, 1) else "depthwise" if g > 1 else "conv") + \
        f" {k}x{k}" + (f"/{s}" if s > 1 else "")


def profile(infer, rounds):
    """``infer``: a zero-argument kiln call. Returns rows ``(kind, in shape, filters, ms on,
    ms off)`` per call, slowest first, and the whole calls' medians ``(on, off)``."""
    from kiln.ndarray.ops import _conv_layout, conv, conv_fused
    times = collections.defaultdict(float)
    orig = conv._conv_core

    def timed(xp, x, w, geo, g, bias=None, epilogue=None):
        t = time.process_time()
        y = orig(xp, x, w, geo, g, bias, epilogue)
        times[(_kind(geo, g), tuple(x.shape[1:]), w.shape[0], _conv_layout.ENABLED)] += \
            time.process_time() - t
        return y

    conv._conv_core = conv_fused._conv_core = timed
    try:
        whole = {True: [], False: []}
        for on in (True, False):
            _conv_layout.ENABLED = on
            infer()
        times.clear()
        for r in range(rounds):
            for on in ((True, False) if r % 2 else (False, True)):
                _conv_layout.ENABLED = on
                t = time.process_time()
                infer()
                whole[on].append(time.process_time() - t)
    finally:
        conv._conv_core = conv_fused._conv_core = orig
        _conv_layout.ENABLED = True
    rows = [(k[0], k[1], k[2], 1e3 * times[k[:3] + (True,)] / rounds,
             1e3 * times[k[:3] + (False,)] / rounds) for k in times if k[3]]
    rows.sort(key=lambda r: -r[4])
    return rows, (1e3 * np.median(whole[True]), 1e3 * np.median(whole[False]))
