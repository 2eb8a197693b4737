"""Pointwise (1x1, stride 1, unpadded, one group) convolution forward, written channels-last.

``y (N*H*W, F) = x (N*H*W, C) @ W.T (C, F)``: when the data is already channels-last (an NCHW
view of NHWC memory, ``_depthwise.is_channels_last``) the whole batch is one GEMM over
``N*H*W`` rows, read in place; NCHW data is one GEMM per sample with the sample's ``(C, H*W)``
handed to BLAS transposed (no copy). The result is an NCHW view of a new NHWC array, the
layout the channels-last depthwise kernel reads without a transpose; the bias is added over
contiguous ``(F,)`` rows. Measured against ``W (F, C) @ x (C, H*W)`` (the NCHW product of
``_conv_gemm``): as fast for MobileNets' 28x28 and smaller maps at batch 1, and at batch 32
one GEMM instead of 32 (``benchmarks/mobilenet.py``).

Example::

    >>> y = forward(x, w, b)   # x (N, C, H, W), w (F, C, 1, 1), b (F,) -> y (N, F, H, W)
    >>> y.transpose(0, 2, 3, 1).flags.c_contiguous
    True
"""
import numpy as np

from ._depthwise import is_channels_last


def forward(x, w, bias=None):
    """``x (N, C, H, W)`` (NCHW or channels-last), ``w (F, C, 1, 1)``, ``bias (F,)`` or None ->
    ``(N, F, H, W)`` channels-last: a new array aliasing no input (numpy only)."""
    n, c, h, wd = x.shape
    f = w.shape[0]
    wt = w.reshape(f, c).T                      # (C, F): BLAS reads it transposed
    y = np.empty((n, h, wd, f), x.dtype)
    if is_channels_last(x):
        np.matmul(x.transpose(0, 2, 3, 1).reshape(n * h * wd, c), wt,
                  out=y.reshape(n * h * wd, f))
    else:
        x3 = x.reshape(n, c, h * wd)
        y3 = y.reshape(n, h * wd, f)
        for s in range(n):
            np.matmul(x3[s].T, wt, out=y3[s])
    if bias is not None:
        y += bias.astype(x.dtype, copy=False)
    return y.transpose(0, 3, 1, 2)
