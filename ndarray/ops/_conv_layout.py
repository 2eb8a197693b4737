"""Channels-last forward paths for MobileNet-style convolutions (numpy float32 only).

Depthwise 3x3 layers on small maps run faster channels-last (``_depthwise``
``forward_channels_last``: a contiguous inner loop over the channels instead of a short row per
channel), and a pointwise convolution costs the same GEMM in either layout, reading either.
So the depthwise convolutions of small maps, and the pointwise ones with many filters there
(the expansions a depthwise layer reads), write channels-last; a depthwise layer whose data is
channels-last stays so: the chain never transposes between layers. What travels between ops
is an ordinary ``(N, C, H, W)`` array whose memory is NHWC (``arr.transpose(0, 2, 3, 1)`` is
C-contiguous); every other op reads it through its strides (numpy's elementwise ops keep the
layout, so a ReLU6 or a residual add in between does too).

Large NCHW maps (56x56 at stride 1, 112x112) stay NCHW (few channels: the inner loop over
them would be short) but still
come here for an epilogue in cache: the depthwise blocked kernel and, at batch > 1, the
pointwise product run the caller's epilogue (``_conv_gemm.conv_forward``'s
``epilogue(y, lo, hi)``: the fused BatchNorm scale/shift and ReLU) on each finished sample.

Where onnxruntime's NCHWc kernels are present (``_ort_nchwc``), a depthwise layer of NCHW
data goes to them instead (2-3.5x this module's kernels from 28x28 maps up) and expansions
write NCHW, so a chain stays NCHW; channels-last data keeps the paths here.

``forward`` returns None where no path here applies: float64, other dtypes, groups that are
neither 1 nor depthwise, 1-D/3-D; those, and the pointwise product of NCHW data at batch 1
into NCHW, run ``_conv_gemm`` (the reference the tests compare against).
"""
import numpy as np

from .. import _ort_nchwc
from . import _conv_gemm as cg
from . import _depthwise as dw
from . import _pointwise as pw

# output positions per sample at or below which NCHW data is switched to channels-last
# (MobileNets: 28x28 and smaller; measured in benchmarks/mobilenet.py)
SMALL_MAP = 28 * 28
# filters at or above which a small-map pointwise convolution writes channels-last: with
# fewer (MobileNetV2's projections to 24-96 channels) the epilogue's rows over the channels
# are short, and no depthwise layer reads the result (measured, benchmarks/mobilenet.py)
CHANNELS_LAST_MIN = 128
# Where onnxruntime's NCHWc kernels are present they take the depthwise layers of NCHW data
# (``_ort_nchwc``: 2-3.5x kiln's kernels from 28x28 maps up, and faster on 7x7 too), so no
# expansion writes channels-last; an NCHW pointwise product at batch > 1 on a map smaller than
# ``_conv_gemm``'s per-sample bound is then its one GEMM over the transposed batch, not one
# per sample: MobileNet 1.0's 7x7 layers at batch 32, 1024->1024 33.4 -> 23.3 ms, 512->1024
# 18.3 -> 13.0 (2026-12-07).
ENABLED = True  # benchmarks/mobilenet.py times both settings in one process
_F32 = np.dtype(np.float32)


def _float32(x, w, bias):
    return (x.dtype == _F32 and w.dtype == _F32
            and (bias is None or bias.dtype == _F32))


def _depthwise_channels_last(x, taps):
    """The map read decides (measured): up to 28x28, or 56x56 at stride 2 with 128+
    channels, channels-last wins even after transposing NCHW data in; larger maps with 32-144
    channels run NCHW faster (the inner loop over the channels would be short)."""
    hw = x.shape[2] * x.shape[3]
    strided = taps.stride != (1, 1) and hw <= 4 * SMALL_MAP and x.shape[1] >= CHANNELS_LAST_MIN
    return hw <= SMALL_MAP or strided or dw.is_channels_last(x)


def forward(xp, x, w, taps, g, bias=None, epilogue=None):
    """``(N, C, H, W) * (F, C/g, kh, kw) (+ bias) -> (N, F, OH, OW)``, channels-last or NCHW
    as the module says, or None.
    ``epilogue(y, lo, hi)``: as ``_conv_gemm.conv_forward``'s, run on each finished batch
    block of the result."""
    if not ENABLED or xp is not np or x.ndim != 4 or x.size == 0 or not _float32(x, w, bias):
        return None
    if g == 1 and taps.pointwise and w.shape[0] > 1:
        nchwc = _ort_nchwc.block()[0] > 0
        positions = taps.small[0] * taps.small[1]
        if not nchwc and positions <= SMALL_MAP and w.shape[0] >= CHANNELS_LAST_MIN:
            return pw.forward(x, w, bias, epilogue)   # an expansion: a depthwise reads it
        if dw.is_channels_last(x) or (x.shape[0] > 1 and not (
                nchwc and positions < cg.PER_SAMPLE_MIN)):
            return pw.forward_nchw(x, w, bias, epilogue)   # per sample, epilogue in cache
    elif dw.blocked_ok(xp, x, w, taps, g) and x.shape[1] > 1:
        if not dw.is_channels_last(x) and _ort_nchwc.suits(x, w, taps, g):
            return None   # onnxruntime's NCHWc kernel (_conv_gemm.conv_forward)
        if _depthwise_channels_last(x, taps):
            return dw.forward_channels_last(x, w, taps, bias, epilogue)
        return dw.forward_blocked(x, w, taps, bias, epilogue)
    return None
