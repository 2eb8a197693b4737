"""2-D convolutions (dense, depthwise) by onnxruntime's blocked NCHWc kernels, the weight
reordered by kiln.

onnxruntime moves a convolution to its NCHWc kernels (direct convolutions over channel blocks
of 16 on AVX-512, 8 on AVX2, the block kept in registers) only when the weight is a constant
of the model: its graph optimizer then reorders the weight once. The kernels themselves are
operators of the ``com.microsoft.nchwc`` domain that take the reordered weight as an input, so
kiln feeds them directly: ``ReorderInput`` (NCHW -> blocked), ``Conv`` over the weight that
kiln reordered with one numpy copy, ``ReorderOutput`` (-> NCHW), one session per geometry.
Where the channel counts fit the block this replaces the im2col GEMM (which copies every input
element ``kh*kw`` times) and onnxruntime's plain ``Conv`` with a fed weight (``_ort_conv``, an
im2col GEMM as well). The weight's reorder costs a pass over the weight each call, so a weight
must serve at least ``MIN_POSITIONS`` output positions (batch x map).

Measured one layer at a time (ResNet-18 at 32x32, batch 32, two threads, 2026-12-07, Xeon
2-vCPU): 64x64x3x3 on 8x8 maps 0.97 -> 0.61 ms, 128x128x3x3 on 4x4 maps 1.34 -> 0.55,
64->128 3x3/2 0.73 -> 0.31; 256x256x3x3 on 2x2 maps (128 positions) was slower (1.09 ->
1.31: the reorder of its 590K weights). The layout is what onnxruntime's optimizer writes
for a constant weight (``optimized_model_filepath``): ``(F/B, C/B, kh, kw, B_c, B_f)`` for
blocked input, ``(F/B, C, kh, kw, B_f)`` for an NCHW input of fewer than ``B`` channels (a
network's stem) and for depthwise weights ``(C, 1, kh, kw)`` (MobileNets: their depthwise
layers 2-3.5x faster than kiln's kernels from 28x28 maps up; ``_conv_layout`` keeps NCHW
data NCHW where these kernels take the depthwise layers). ``block()`` finds ``B`` once per
process by running a small convolution in each candidate layout against a direct sum (plain,
depthwise, and with the fused epilogue): a build of onnxruntime without these kernels, or with
another layout, turns the route off instead of computing wrong numbers.

Example::

    >>> if suits(x, w, taps, 1):
    ...     y = forward(x, w, taps, bias)      # (N, F, *taps.small)
"""
import math

import numpy as np

from . import _derived
from . import _ort_kernels as ok
from ._registry import STATE

MIN_POSITIONS = 512   # batch x output positions: 4x4 maps at batch 32 in, 2x2 out
LARGE_WEIGHT = 160 << 10   # weights past this need maps of LARGE_WEIGHT_MIN_MAP positions
LARGE_WEIGHT_MIN_MAP = 14 * 14
STEM_TAPS = 49        # the NCHW-input variant only for kernels this large (7x7)
DEPTHWISE_MIN_POSITIONS = 49   # 7x7 maps at batch 1
DOMAIN = "com.microsoft.nchwc"
_BLOCK = []           # [(block size or 0, whether NCHW input of < B channels works)]


def suits(x, w, taps, g):
    """Whether ``forward`` takes this convolution: numpy float32 NCHW data, one group or
    depthwise (one filter per channel), a 2-D undilated kernel larger than 1x1, non-negative
    pads, the output size onnxruntime computes, enough output positions (``_positions_pay``),
    channel counts the kernels take (``_channels_fit``), and the kernels present."""
    if not (type(x) is np.ndarray and type(w) is np.ndarray and x.dtype == np.float32
            and w.dtype == np.float32 and x.ndim == 4 and taps.taps
            and math.prod(taps.kernel) > 1 and x.shape[0] > 0 and min(taps.pad) >= 0
            and taps.dilate == (1, 1) and x.flags.c_contiguous):
        return False
    depthwise = g > 1 and g == x.shape[1] == w.shape[0] and w.shape[1] == 1
    if not (g == 1 or depthwise) or not _positions_pay(x, w, taps, depthwise):
        return False
    for size, out, k, s, p in zip(x.shape[2:], taps.small, taps.kernel, taps.stride,
                                  taps.pad):
        if (size + 2 * p - k) // s + 1 != out:
            return False
    return _channels_fit(x.shape[1], w.shape[0], taps, depthwise)


def _positions_pay(x, w, taps, depthwise):
    """Whether the kernels beat kiln's route for this many output positions.

    Measured per layer against kiln's route (2026-12-07): 128x128x3x3 over 512 positions
    (4x4 maps) gained (0.70x); weights past ``LARGE_WEIGHT`` gained only on maps of 14x14 and
    more (256x256x3x3 at 14x14 0.84x, 128->256 3x3/2 onto 14x14 0.84x) and lost on smaller
    ones whatever the batch (256x256 on 4x4 1.17-1.2x, 512x512 on 7x7 1.16-1.29x, on 4x4
    1.43x); depthwise 3x3 layers gained 2-3.5x from 28x28 maps up and 1.6-5x on one thread
    down to 7x7 maps."""
    per_image = math.prod(taps.small)
    if depthwise:
        return x.shape[0] * per_image >= DEPTHWISE_MIN_POSITIONS
    return x.shape[0] * per_image >= MIN_POSITIONS and (
        w.size <= LARGE_WEIGHT or per_image >= LARGE_WEIGHT_MIN_MAP or _kept(w))


def _kept(w):
    """Whether the weight's reorder is kept across calls (``reordered``): the large-weight
    rule is the price of reordering on every call."""
    return not STATE.recording and _derived.keepable(w)


def _channels_fit(c, f, taps, depthwise):
    """Filters a multiple of the block; channels a multiple of it, or fewer than one block
    under a 7x7 kernel (the NCHW-input variant: 3x3 kernels over 3 channels lost 1.1-1.4x,
    7x7 ones gained 0.62x); 1x1 kernels never reach here (they lost 1.07-1.7x: one GEMM
    without columns is already kiln's)."""
    b, stem = block()
    if b == 0 or f % b:
        return False
    return c % b == 0 or (not depthwise and stem and c < b
                          and math.prod(taps.kernel) >= STEM_TAPS)


def block():
    """``(B, stem)``: the NCHWc block size of this machine's onnxruntime (0: no kernels or
    an unknown layout) and whether its NCHW-input variant (fewer than ``B`` channels)
    works; probed once."""
    if not _BLOCK:
        _BLOCK.append(_probe())
    return _BLOCK[0]


def _probe():
    if not ok.available():
        return 0, False
    rng = np.random.default_rng(0)
    for b in (16, 8):
        if _agrees(rng, 2 * b, 2 * b, b):
            # every variant the route uses, or none: the fused epilogue and depthwise weights
            if _agrees(rng, 2 * b, 2 * b, b, fused=True) and \
                    _agrees(rng, 2 * b, 2 * b, b, depthwise=True):
                return b, _agrees(rng, 3, 2 * b, b)
            return 0, False
    return 0, False


def _agrees(rng, c, f, b, depthwise=False, fused=False):
    """Whether a 3x3 convolution of ``c -> f`` channels in block size ``b`` (depthwise: one
    filter per channel; fused: with scale, shift, residual and ReLU6) gives the direct sum's
    values."""
    x = rng.standard_normal((2, c, 5, 6)).astype(np.float32)
    w = rng.standard_normal((f, 1 if depthwise else c, 3, 3)).astype(np.float32)
    windows = np.lib.stride_tricks.sliding_window_view(
        np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1))), (3, 3), axis=(2, 3))
    w64 = w.astype(np.float64)
    ref = np.einsum("nchwij,cij->nchw", windows, w64[:, 0]) if depthwise else \
        np.einsum("nchwij,fcij->nfhw", windows, w64)
    extra = {}
    if fused:
        extra = dict(scale=rng.uniform(0.5, 2, f).astype(np.float32),
                     bias=rng.standard_normal(f).astype(np.float32),
                     residual=rng.standard_normal(ref.shape).astype(np.float32), act="relu6")
        ref = np.clip(ref * extra["scale"][:, None, None] + extra["bias"][:, None, None]
                      + extra["residual"], 0, 6)
    try:
        y = _run(x, w, (1, 1), (1, 1), (5, 6), b, **extra)
    except Exception:   # noqa: BLE001  (no such kernel in this build: the route stays off)
        return False
    return y.shape == ref.shape and bool(np.allclose(y, ref, rtol=1e-4, atol=1e-3))


# kiln's fused activations as the kernels' own (applied after the bias and the sum)
ACTIVATIONS = {None: {}, "relu": {"activation": "Relu"},
               "relu6": {"activation": "Clip", "activation_params": [0.0, 6.0]}}


def reorder(w, b, scale=None):
    """``w (F, C, kh, kw)`` in the kernels' blocked order, as a new ``(F, C, kh, kw)``;
    ``scale (F,)``: each filter multiplied by its scale in the same pass."""
    f, c = w.shape[:2]
    k = w.shape[2:]
    if c % b == 0:
        blocks = w.reshape((f // b, b, c // b, b) + k).transpose(0, 2, 4, 5, 3, 1)
    else:
        blocks = w.reshape((f // b, b, c) + k).transpose(0, 2, 3, 4, 1)
    out = ok.aligned_empty(blocks.shape, w.dtype)   # MLAS reads it fastest aligned
    if scale is None:
        np.copyto(out, blocks)
    else:
        np.multiply(blocks, scale.reshape((f // b,) + (1,) * (blocks.ndim - 2) + (b,)), out=out)
    return out.reshape(w.shape)


def reordered(w, b, scale=None, padded=None):
    """``reorder(w, b, scale)`` (of ``padded()``, a zero-padded copy of ``w``, where given:
    the chains' block multiples), kept for ``w`` while it is unchanged (``_derived``) unless
    gradients are being recorded (the weight is about to change)."""
    def build():
        return reorder(w if padded is None else padded(), b, scale)
    if STATE.recording:
        return build()
    return _derived.memo(w, ("nchwc", b, padded is None), build, extra=(scale,))


def fuses(scale, shift, residual, act, out_shape):
    """Whether ``forward`` can apply ``act(y * scale + shift + residual)`` inside the kernel
    (float32 per-filter vectors, a C-contiguous float32 residual of the output's shape)."""
    def vector(v):
        return type(v) is np.ndarray and v.dtype == np.float32 and v.shape == out_shape[1:2]
    return (act in ACTIVATIONS and (scale is None or vector(scale)) and vector(shift)
            and (residual is None or (type(residual) is np.ndarray
                                      and residual.dtype == np.float32
                                      and residual.shape == tuple(out_shape)
                                      and residual.flags.c_contiguous)))


def _model(c, wshape, stride, pad, b, bias, residual, act):
    from onnx import TensorProto, helper
    f, kernel = wshape[0], list(wshape[2:])
    group = c // wshape[1]   # 1, or c: depthwise
    blocked = c % b == 0
    ins = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", c, "h", "w"]),
           helper.make_tensor_value_info("w", TensorProto.FLOAT, list(wshape))]
    nodes = [helper.make_node("ReorderInput", ["x"], ["xb"], domain=DOMAIN)] if blocked else []
    if bias:
        ins.append(helper.make_tensor_value_info("b", TensorProto.FLOAT, [f]))
    if residual:   # the kernel adds its Sum input in the blocked layout
        ins.append(helper.make_tensor_value_info("r", TensorProto.FLOAT, ["n", f, "p", "q"]))
        nodes.append(helper.make_node("ReorderInput", ["r"], ["rb"], domain=DOMAIN))
    conv_in = ["xb" if blocked else "x", "w", "b" if bias else "", "rb" if residual else ""]
    while not conv_in[-1]:
        conv_in.pop()
    nodes += [helper.make_node("Conv", conv_in, ["yb"], domain=DOMAIN,
                               kernel_shape=kernel, strides=list(stride), group=group,
                               pads=list(pad) + list(pad), **ACTIVATIONS[act]),
              helper.make_node("ReorderOutput", ["yb"], ["y"], domain=DOMAIN, channels=f)]
    graph = helper.make_graph(nodes, "kiln_nchwc_conv", ins,
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    return ok._session_of(graph, (DOMAIN,))


def _run(x, w, stride, pad, small, b, bias=None, scale=None, residual=None,
         act=None):
    n, c = x.shape[:2]
    f = w.shape[0]
    flags = (bias is not None, residual is not None, act)
    sess = ok.cached_session(("nchwc", b, c, w.shape, stride, pad) + flags,
                             lambda: _model(c, w.shape, stride, pad, b, *flags))
    inputs = {"x": x, "w": reordered(w, b, scale), "r": residual,
              "b": None if bias is None else np.ascontiguousarray(bias, np.float32)}
    y = ok.aligned_empty((n, f) + tuple(small))   # the next layer's aligned input
    step = _samples_per_run(x)
    if step >= n:
        return ok.run_into(sess, inputs, y)
    for lo in range(0, n, step):   # a few samples a run: the blocked copies stay in cache
        part = dict(inputs, x=x[lo:lo + step],
                    r=None if residual is None else residual[lo:lo + step])
        ok.run_into(sess, part, y[lo:lo + step])
    return y


# On one thread, a batch whose samples are large runs a few samples at a time, so that the
# blocked copies (ReorderInput's, the kernel's output before ReorderOutput) stay in cache:
# MobileNetV2's 96x112x112 stride-2 depthwise layer at batch 32 44.4 -> 28.6 ms, 144x56x56
# 28.9 -> 21.6, MobileNet's 32x112x112 24.5 -> 20.1; on two threads the runs are too short to
# share (15.5 -> 17.2 ms for 144x56x56), and below 1 MB a sample the run's overhead wins.
CHUNK_MIN_SAMPLE_BYTES = 1 << 20
CHUNK_BYTES = 4 << 20


def _samples_per_run(x):
    per_sample = x[0].nbytes if x.shape[0] else 0
    if per_sample < CHUNK_MIN_SAMPLE_BYTES or ok.session_threads() != 1:
        return x.shape[0]
    return max(1, CHUNK_BYTES // per_sample)


def forward(x, w, taps, bias=None, scale=None, residual=None, act=None):
    """``act((x (N, C, H, W) * w (F, C, kh, kw)) * scale + bias + residual)`` -> a new
    ``(N, F, *taps.small)``: ``scale``/``bias`` ``(F,)``, ``residual`` the output's shape,
    ``act`` a key of ``ACTIVATIONS``, each optional; the caller checked ``suits`` (and
    ``fuses`` for ``scale``, ``residual``, ``act``). The scale goes into the weight's reorder."""
    return _run(x, w, taps.stride, taps.pad, taps.small, block()[0], bias, scale,
                residual, act)
