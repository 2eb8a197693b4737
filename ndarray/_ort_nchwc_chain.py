"""A chain of convolutions in onnxruntime's blocked (NCHWc) layout, as one session.

``_ort_nchwc`` runs one convolution per session: its data reordered into channel blocks on
the way in (``ReorderInput``) and back on the way out (``ReorderOutput``), two passes over
the activations that a chain of such layers repeats at every layer. Here a chain (a
MobileNet's depthwise -> pointwise -> depthwise ..., ``_conv_chain`` in
ndarray/ops/conv_chain.py, formed by symbol/conv_chain.py) reorders its input once, every
convolution reads the previous one's blocked result, and only the last is reordered back;
each weight is reordered by kiln on every call as in ``_ort_nchwc`` (aligned, the folded
BatchNorm scale multiplied in), the shift is the kernel's bias, a residual its Sum input.
Pointwise (1x1) convolutions join chains although ``_ort_nchwc`` keeps them off its
one-layer route: with blocked data on both sides they beat kiln's GEMM on maps from 14x14
(MobileNet 1.0 at batch 1, one thread, 2026-12-07: a depthwise + pointwise pair on 112x112
1.47 -> 0.92 ms, 56x56 1.59 -> 1.10, 28x28 1.13 -> 0.90, 14x14 1.06 -> 0.96; on 7x7 with
1024 filters 1.23 -> 1.34, so those stay out; at batch 32 every pair gained, 0.70-0.90x).

Example::

    >>> if suits(x, stages):
    ...     y = forward(x, stages)   # stages: (weight, scale, shift, residual, act, stride, pad)

A stage's residual is an array, None, or ``("h", j)``: the chain's own value ``h_j`` (the
data for ``j = 0``, stage ``j - 1``'s result), added in blocked layout with no reorder.
"""
import math

import numpy as np

from . import _ort_kernels as ok
from . import _ort_nchwc as nc

__all__ = ["stage_fits", "suits", "forward"]

# batch x positions from which a dense stage joins: MobileNetV2's 7x7 stage at batch 1 (49)
# measured the same chained or not (14.2-15.8 against 14.9-15.5 ms for the whole call)
DENSE_MIN_POSITIONS = 14 * 14


def stage_fits(in_shape, w_shape, stride, dilate, pad, group, out_shape):
    """Whether one convolution ``in_shape (N, C, H, W) -> out_shape`` by a weight of
    ``w_shape`` (dense or depthwise) can be a stage of a chain that pays: a block of
    channels and of filters at least (the rest up to a block multiple is zero padding: a
    MobileNetV2's 24-channel stage), undilated, symmetric non-negative pads, and enough
    positions for its kind (depthwise: 7x7 maps at batch 1; dense: 14x14 maps, or 196
    positions a batch with a weight up to ``_ort_nchwc.LARGE_WEIGHT``)."""
    b = nc.block()[0]
    if b == 0 or len(in_shape) != 4 or len(w_shape) != 4 or tuple(dilate) != (1, 1) or \
            min(pad) < 0 or in_shape[0] == 0:
        return False
    n, c = in_shape[:2]
    f = w_shape[0]
    depthwise = group == c == f and w_shape[1] == 1 and group > 1
    if not (group == 1 or depthwise) or c < b or f < b:
        return False   # channels past a block multiple are padded (at least one whole block)
    for size, out, k, s, p in zip(in_shape[2:], out_shape[2:], w_shape[2:], stride, pad):
        if (size + 2 * p - k) // s + 1 != out:
            return False
    per_image = out_shape[2] * out_shape[3]
    if depthwise:
        return n * per_image >= nc.DEPTHWISE_MIN_POSITIONS
    return n * per_image >= DENSE_MIN_POSITIONS and (
        math.prod(w_shape) <= nc.LARGE_WEIGHT or per_image >= nc.LARGE_WEIGHT_MIN_MAP)


def _vector(v, f):
    return type(v) is np.ndarray and v.dtype == np.float32 and v.shape == (f,)


def suits(x, stages):
    """Whether ``forward`` takes these arrays: numpy float32, C-contiguous data and
    residuals, per-filter float32 scale (or None) and shift, activations the kernel has."""
    if not (type(x) is np.ndarray and x.dtype == np.float32 and x.ndim == 4
            and x.flags.c_contiguous and ok.available() and nc.block()[0]):
        return False
    for w, scale, shift, residual, act, _, _ in stages:
        f = w.shape[0]
        if not (type(w) is np.ndarray and w.dtype == np.float32 and w.ndim == 4
                and (scale is None or _vector(scale, f)) and _vector(shift, f)
                and act in nc.ACTIVATIONS):
            return False
        if residual is not None and not isinstance(residual, tuple) and not (
                type(residual) is np.ndarray and residual.dtype == np.float32
                and residual.flags.c_contiguous):
            return False
    return True


def _out_shapes(x_shape, stages):
    shapes, (n, _, h, w) = [], x_shape
    for wt, *_, stride, pad in stages:
        h = (h + 2 * pad[0] - wt.shape[2]) // stride[0] + 1
        w = (w + 2 * pad[1] - wt.shape[3]) // stride[1] + 1
        shapes.append((n, wt.shape[0], h, w))
    return shapes


def _model(c, geometry, channels_out):
    from onnx import TensorProto, helper
    f32 = TensorProto.FLOAT
    ins = [helper.make_tensor_value_info("x", f32, ["n", c, "h", "w"])]
    nodes = [helper.make_node("ReorderInput", ["x"], ["h0"], domain=nc.DOMAIN)]
    for k, (w_shape, real_f, stride, pad, act, residual) in enumerate(geometry):
        f = w_shape[0]   # a block multiple: the weight is padded
        ins += [helper.make_tensor_value_info(f"w{k}", f32, list(w_shape)),
                helper.make_tensor_value_info(f"b{k}", f32, [f])]
        conv_in = [f"h{k}", f"w{k}", f"b{k}"]
        if residual is True:   # reordered with its channels padded to the block
            ins.append(helper.make_tensor_value_info(f"r{k}", f32,
                                                     ["n", real_f, f"p{k}", f"q{k}"]))
            nodes.append(helper.make_node("ReorderInput", [f"r{k}"], [f"rb{k}"],
                                          domain=nc.DOMAIN))
            conv_in.append(f"rb{k}")
        elif residual is not False:   # the chain's own blocked value h_j
            conv_in.append(f"h{residual}")
        group = f if w_shape[1] == 1 else 1
        nodes.append(helper.make_node(
            "Conv", conv_in, [f"h{k + 1}"], domain=nc.DOMAIN, kernel_shape=list(w_shape[2:]),
            strides=list(stride), group=group, pads=list(pad) * 2, **nc.ACTIVATIONS[act]))
    nodes.append(helper.make_node("ReorderOutput", [f"h{len(geometry)}"], ["y"],
                                  domain=nc.DOMAIN, channels=channels_out))
    graph = helper.make_graph(nodes, "kiln_nchwc_chain", ins,
                              [helper.make_tensor_value_info("y", f32, None)])
    return ok._session_of(graph, (nc.DOMAIN,))


def _up(n, b):
    return -(-n // b) * b


def _padded(w, scale, shift, c, b):
    """The stage's weight shape, scale and shift with zero filters (and, dense, zero input
    channels) up to block multiples (padded outputs are act(0) = 0, as the padded inputs),
    and a function making the padded weight (None: the weight fits as it is)."""
    f = w.shape[0]
    fp = _up(f, b)
    cp = 1 if w.shape[1] == 1 and c > 1 else _up(c, b)
    if (fp, cp) == w.shape[:2]:
        return w.shape, scale, shift, None

    def pad():
        wp = np.zeros((fp, cp) + w.shape[2:], np.float32)
        wp[:f, :w.shape[1]] = w
        return wp
    sp = None if scale is None else np.concatenate([scale, np.zeros(fp - f, np.float32)])
    return (fp, cp) + w.shape[2:], sp, np.concatenate([shift, np.zeros(fp - f, np.float32)]), pad


def forward(x, stages):
    """``stages`` applied in turn to ``x (N, C, H, W)``: each ``(weight (F, C or 1, kh, kw),
    scale (F,) or None, shift (F,), residual (the stage's output shape) or None, act,
    stride, pad)`` computes ``act(conv(h, weight) * scale + shift + residual)``; returns
    the last stage's output as a new aligned array. The caller checked ``suits``."""
    b = nc.block()[0]
    inputs, geometry, c = {"x": x}, [], x.shape[1]
    for k, (w, scale, shift, residual, act, stride, pad) in enumerate(stages):
        wshape, scale, shift, pad_weight = _padded(w, scale, shift, c, b)
        inputs.update({f"w{k}": nc.reordered(w, b, scale, pad_weight), f"b{k}": shift})
        if isinstance(residual, np.ndarray):
            inputs[f"r{k}"] = residual
        geometry.append((wshape, w.shape[0], tuple(stride), tuple(pad), act,
                         _residual_kind(residual)))
        c = w.shape[0]
    geometry = tuple(geometry)
    sess = ok.cached_session(("nchwc_chain", b, x.shape[1], geometry),
                             lambda: _model(x.shape[1], geometry, c))
    shapes = _out_shapes(x.shape, stages)
    y = ok.aligned_empty(shapes[-1])
    n = x.shape[0]
    step = _samples_per_run(x, shapes)
    if step >= n:
        return ok.run_into(sess, inputs, y)
    for lo in range(0, n, step):   # one thread: a few samples a run, the blocks in cache
        part = {k: (v[lo:lo + step] if k == "x" or k[0] == "r" else v)
                for k, v in inputs.items()}
        ok.run_into(sess, part, y[lo:lo + step])
    return y


def _residual_kind(residual):
    """None: False; an array: True; the chain's own ``("h", j)``: ``j``."""
    if residual is None:
        return False
    return residual[1] if isinstance(residual, tuple) else True


def _samples_per_run(x, shapes):
    """``_ort_nchwc``'s one-thread chunking, sized by the largest tensor of the chain."""
    per_sample = max([x[0].nbytes] + [math.prod(s[1:]) * 4 for s in shapes]) if len(x) else 0
    if per_sample < nc.CHUNK_MIN_SAMPLE_BYTES or ok.session_threads() != 1:
        return x.shape[0]
    return max(1, nc.CHUNK_BYTES // per_sample)
