"""Dense 2-D convolutions by onnxruntime's ``Conv`` kernel (MLAS), the weight fed each call.

``_conv_gemm.conv_forward`` (the numpy executor's convolution, and through it the stride-1
data gradient) hands a float32 NCHW convolution here where onnxruntime measured faster than
kiln's im2col GEMM: small weights over many output positions. Without a constant weight
onnxruntime cannot pre-pack it or move to its blocked NCHWc kernels; it prepares the weight
every call, which is what loses on large weights and small maps. Measured one layer at a time
(ResNet-18 at 32x32, batch 32, two threads, 2026-12-07): the stem 0.99 against 1.71 ms, the
64-channel 8x8 layers 0.97 against 1.45, but 4x4 and smaller maps 1.5-11x slower (0.58 ->
6.64 ms for 512x512 on 1x1 maps). Whole networks, fresh processes alternating: ResNet-18
inference 32.7-34.0 -> 28.5-30.8 ms at 32x32 batch 32, 119-122 -> 104-110 ms at 224x224
batch 4; the training steps 2-4% faster.

Convolutions whose channels fit onnxruntime's NCHWc blocks go to ``_ort_nchwc`` first (its
blocked kernels with a weight kiln reorders: faster again); this route takes the rest.

The session is cached per geometry (channels, filters, kernel, stride, dilation, pads, bias);
the output is a new array written through I/O binding. ``KILN_ORT_KERNELS=0`` turns it off.

Example::

    >>> if suits(x, w, taps, 1):
    ...     y = forward(x, w, taps, bias)      # (N, F, *taps.small)
"""
import math

import numpy as np

from . import _ort_kernels as ok

MAX_WEIGHT = 48 << 10   # weight elements: ResNet's 64x64x3x3 (36,864) in, 64x128x3x3 out
MIN_POSITIONS = 64      # output positions per image: ResNet's 8x8 maps in, 4x4 out


def suits(x, w, taps, g):
    """Whether ``forward`` takes this convolution: numpy float32 NCHW data, one group, not
    a 1x1 stride-1 product (kiln's is one GEMM with no columns: onnxruntime's Conv measured
    2-3% slower on the MobileNets at batch 1 with them), a weight of at most ``MAX_WEIGHT``
    elements, at least ``MIN_POSITIONS`` output positions per image, non-negative pads, an
    output size onnxruntime computes the same (a data gradient's flipped convolution may ask
    for another), a non-empty batch."""
    if not (type(x) is np.ndarray and type(w) is np.ndarray and x.dtype == np.float32
            and w.dtype == np.float32 and x.ndim == 4 and g == 1 and taps.taps
            and not taps.pointwise
            and w.size <= MAX_WEIGHT and x.shape[0] > 0 and min(taps.pad) >= 0
            and math.prod(taps.small) >= MIN_POSITIONS
            and x.flags.c_contiguous and w.flags.c_contiguous):
        return False
    for size, out, k, s, d, p in zip(x.shape[2:], taps.small, taps.kernel, taps.stride,
                                     taps.dilate, taps.pad):
        if (size + 2 * p - d * (k - 1) - 1) // s + 1 != out:
            return False
    return ok.available()


def _model(c, f, kernel, stride, dilate, pad, bias):
    from onnx import TensorProto, helper
    ins = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", c, "h", "w"]),
           helper.make_tensor_value_info("w", TensorProto.FLOAT, [f, c] + list(kernel))]
    if bias:
        ins.append(helper.make_tensor_value_info("b", TensorProto.FLOAT, [f]))
    node = helper.make_node("Conv", [i.name for i in ins], ["y"], kernel_shape=list(kernel),
                            strides=list(stride), dilations=list(dilate),
                            pads=list(pad) + list(pad))
    graph = helper.make_graph([node], "kiln_conv", ins,
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    return ok._session_of(graph)


def forward(x, w, taps, bias=None):
    """``x (N, C, H, W) * w (F, C, kh, kw) (+ bias (F,))`` -> a new ``(N, F, *taps.small)``;
    the caller checked ``suits``."""
    n, c = x.shape[:2]
    f = w.shape[0]
    key = ("conv", c, f, taps.kernel, taps.stride, taps.dilate, taps.pad, bias is not None)
    sess = ok.cached_session(key, lambda: _model(c, f, taps.kernel, taps.stride, taps.dilate,
                                                  taps.pad, bias is not None))
    bias = None if bias is None else np.ascontiguousarray(bias, np.float32)
    return ok.run_new(sess, {"x": x, "w": w, "b": bias}, (n, f) + taps.small)
