"""Data gradient of a strided depthwise convolution (``weight (C*m, 1, *K)``), no col2im.

Forward and weight gradient of a depthwise convolution run as the grouped GEMM
(``_conv_gemm``: a ``(1, K) @ (K, N*O)`` product per channel, measured faster than a per-tap
multiply-accumulate, whose short strided inner loops cost more than the im2col copies), and a
stride-1 data gradient is the flipped-weight convolution. What is left is the strided data
gradient, where the GEMM would be an outer product per channel followed by a col2im: here each
kernel offset (tap) is one multiply-add of the output gradient into the shifted input range,
``gx[..., o*s + tap*d - p] += w[c, tap] * gy[..., o]`` over the positions inside the data
(``_conv_gemm.Taps``), in the C-contiguous ``(N, C, *S)`` layout.
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
