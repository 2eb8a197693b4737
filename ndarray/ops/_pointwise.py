"""Pointwise (1x1, stride 1, unpadded, one group) convolution forward, written channels-last.

``y (N*H*W, F) = x (N*H*W, C) @ W.T (C, F)``: when the data is already channels-last (an NCHW
view of NHWC memory, ``_depthwise.is_channels_last``) a block of samples is one GEMM over its
``n*H*W`` rows, read in place; NCHW data is one GEMM per sample with the sample's ``(C, H*W)``
handed to BLAS transposed (no copy). The result is an NCHW view of a new NHWC array, the
layout the channels-last depthwise kernel reads without a transpose; the bias (and the
caller's epilogue) is applied over contiguous ``(F,)`` rows of each block while it is in
cache. Measured against ``W (F, C) @ x (C, H*W)`` (the NCHW product of ``_conv_gemm``): the
same GEMM time at batch 1 (benchmarks/mobilenet.py).

Example::

    >>> y = forward(x, w, b)   # x (N, C, H, W), w (F, C, 1, 1), b (F,) -> y (N, F, H, W)
    >>> y.transpose(0, 2, 3, 1).flags.c_contiguous
    True
"""
import numpy as np

from ._depthwise import is_channels_last

# output bytes per batch block of the channels-last product: larger GEMMs than one 7x7 or
# 14x14 sample, while the block is still mostly in cache for the bias and the epilogue
BLOCK_BYTES = 1 << 21


def forward(x, w, bias=None, epilogue=None):
    """``x (N, C, H, W)`` (NCHW or channels-last), ``w (F, C, 1, 1)``, ``bias (F,)`` or None ->
    ``(N, F, H, W)`` channels-last: a new array aliasing no input (numpy only).
    ``epilogue(y, lo, hi)``: in-place work on the samples ``lo:hi`` of the result, run on each
    batch block right after its product (``_conv_gemm.conv_forward``'s protocol)."""
    n, c, h, wd = x.shape
    f, p = w.shape[0], h * wd
    wt = w.reshape(f, c).T                      # (C, F): BLAS reads it transposed
    y = np.empty((n, p, f), x.dtype)
    yv = y.reshape(n, h, wd, f).transpose(0, 3, 1, 2)
    b1 = None if bias is None else bias.astype(x.dtype, copy=False)
    if is_channels_last(x):   # consecutive samples are consecutive rows: blocks of samples
        xr = x.transpose(0, 2, 3, 1).reshape(n, p, c)
        step = max(1, BLOCK_BYTES // max(1, p * f * x.itemsize))
    else:                     # NCHW: one sample's (C, P) read transposed
        xr = x.reshape(n, c, p).transpose(0, 2, 1)
        step = 1
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        yb = y[lo:hi]
        if hi - lo == 1:
            np.matmul(xr[lo], wt, out=yb[0])
        else:
            np.matmul(xr[lo:hi].reshape((hi - lo) * p, c), wt, out=yb.reshape(-1, f))
        if b1 is not None:
            yb += b1
        if epilogue is not None:
            epilogue(yv[lo:hi], lo, hi)
    return yv


def forward_nchw(x, w, bias=None, epilogue=None):
    """``x (N, C, H, W)`` (NCHW or channels-last) -> ``(N, F, H, W)`` NCHW, one
    ``W (F, C) @ x[n] (C, H*W)`` GEMM per sample (channels-last data read transposed), with the
    bias and the epilogue applied to the sample while it is in cache. For large maps at batch
    > 1 (the batched product left them to passes over the whole output, 154 MB for
    MobileNetV2's first expansion at batch 32) and for few filters (the bottleneck
    projections: an NCHW epilogue runs long rows, a channels-last one a row per position)."""
    n, c, h, wd = x.shape
    f, p = w.shape[0], h * wd
    w2 = w.reshape(f, c)
    if is_channels_last(x):
        x3 = x.transpose(0, 2, 3, 1).reshape(n, p, c).transpose(0, 2, 1)
    else:
        x3 = x.reshape(n, c, p)
    y = np.empty((n, f, h, wd), x.dtype)
    y3 = y.reshape(n, f, p)
    b2 = None if bias is None else bias.astype(x.dtype, copy=False).reshape(f, 1)
    for s in range(n):
        np.matmul(w2, x3[s], out=y3[s])
        if b2 is not None:
            y3[s] += b2
        if epilogue is not None:
            epilogue(y[s:s + 1], s, s + 1)
    return y
