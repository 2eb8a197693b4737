"""Depthwise convolution kernels (``weight (C*m, 1, *K)``) that need no column buffer.

* ``forward_flat``: the stride-1 2-D forward (MobileNet's 3x3 depthwise layers, and through
  the flipped weight their stride-1 data gradient). Per tap one multiply-add over flattened
  padded rows: long contiguous runs, channels walked in cache-sized blocks. A per-tap
  multiply-add over 2-D shifted views was slower than the im2col GEMM (an inner loop per short
  output row); flattened, it beats it by skipping the 9x column buffer.
* ``data_grad``: the strided data gradient, where the GEMM would be an outer product per
  channel and a col2im: per tap ``gx[..., o*s + tap*d - p] += w[c, tap] * gy[..., o]`` over
  the positions inside the data (``_conv_gemm.Taps``), in the ``(N, C, *S)`` layout.

Everything else depthwise (strided forward, weight gradient, 1-D/3-D) runs as the grouped GEMM
of ``_conv_gemm``: a ``(1, K) @ (K, N*O)`` product per channel, measured faster than per-tap
multiply-adds there (a strided forward on flattened stride-phase planes lost to the GEMM by
1.2-2x: splitting the phases costs one more copy of the data).
"""
_ALL = slice(None)


def is_depthwise(w, g):
    """True when every group has one input channel: ``weight (g*m, 1, *K)``."""
    return g > 1 and w.shape[1] == 1


def data_grad(xp, gy, w, taps, big, c):
    """Adjoint of the depthwise convolution in ``x``: ``gy (N, C*m, *O)`` -> ``(N, C, *big)``."""
    n = gy.shape[0]
    m = w.shape[0] // c
    nsp = len(taps.small)
    gx = xp.zeros((n, c) + tuple(big), gy.dtype)
    # the multiplier m as its own axis: (N, C, m, *O) against weights (1, C, m, 1...)
    g = gy.reshape((n, c, m) + taps.small)
    w3 = w.reshape(c, m, -1)
    for kf, sm, bg, _ in taps.taps:
        part = g[(_ALL, _ALL, _ALL) + sm] * w3[:, :, kf].reshape((1, c, m) + (1,) * nsp)
        gx[(_ALL, _ALL) + bg] += part[:, :, 0] if m == 1 else part.sum(axis=2)
    return gx


def flat_ok(x, w, taps, g):
    """Whether ``forward_flat`` applies: 2-D, stride 1, one filter per channel, no negative
    padding."""
    return (x.ndim == 4 and g == x.shape[1] and w.shape[0] == g and w.shape[1] == 1
            and taps.stride == (1, 1) and min(taps.pad) >= 0)


# channels per block: the block's output and scratch stay in cache across the taps
_BLOCK_BYTES = 1 << 20


def forward_flat(xp, x, w, taps):
    """Stride-1 depthwise 2-D convolution as per-tap multiply-adds on flattened rows.

    The data is copied once into a zero-padded ``(N, C, Hp + 1, Wp)`` buffer; tap ``(i, j)``
    is then the flat window ``[i*d*Wp + j*d, ... + OH*Wp)`` of every channel, so each
    multiply-add runs over one long contiguous run instead of ``OH`` short rows. The output
    is computed ``Wp`` wide and cropped to ``OW`` at the end.
    """
    n, c, h, wd = x.shape
    (ph, pw), (dh, dw), (kh, kw) = taps.pad, taps.dilate, taps.kernel
    oh, ow = taps.small
    hp, wp = max(h + 2 * ph, oh + dh * (kh - 1)), max(wd + 2 * pw, ow + dw * (kw - 1))
    xpad = xp.zeros((n, c, hp + 1, wp), x.dtype)
    xpad[:, :, ph:ph + h, pw:pw + wd] = x
    xf = xpad.reshape(n, c, (hp + 1) * wp)
    length = oh * wp
    y = xp.empty((n, c, length), x.dtype)
    tmp = xp.empty_like(y)
    w2 = w.reshape(c, kh * kw).astype(x.dtype, copy=False)
    block = max(1, _BLOCK_BYTES // max(1, 2 * n * length * x.itemsize))
    for c0 in range(0, c, block):
        cs = slice(c0, min(c, c0 + block))
        yb, tb, xb = y[:, cs], tmp[:, cs], xf[:, cs]
        for t in range(kh * kw):
            i, j = divmod(t, kw)
            off = i * dh * wp + j * dw
            wt = w2[cs, t].reshape(1, -1, 1)
            if t == 0:
                xp.multiply(xb[:, :, off:off + length], wt, out=yb)
            else:
                xp.multiply(xb[:, :, off:off + length], wt, out=tb)
                yb += tb
    return xp.ascontiguousarray(y.reshape(n, c, oh, wp)[:, :, :, :ow])
