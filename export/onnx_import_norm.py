"""ONNX normalizations and losses composed from kiln's registry ops.

LayerNormalization over several trailing axes (kiln's ``layer_norm`` takes one), RMSNormalization,
MeanVarianceNormalization, GroupNormalization (opset 18's per-group and 21's per-channel
scale), LRN, NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (weights, ignore_index,
the three reductions). Statistics are computed in the data's type.

Example: ``RMSNormalization(x, scale, axis=-1)`` imports as
``x * rsqrt(mean(square(x), axis=-1, keepdims=True) + eps) * scale``.
"""
from ..base import MXNetError
from .onnx_import_math import dtype_of
from .onnx_import_ops import _attrs, _layer_norm, _sub


def _moments(imp, n, x, axes):
    mean = imp.op(_sub(n, 10), "mean", [x], axis=axes, keepdims=True)
    dev = imp.op(_sub(n, 11), "subtract", [x, mean])
    var = imp.op(_sub(n, 12), "mean", [imp.op(_sub(n, 13), "square", [dev])], axis=axes,
                 keepdims=True)
    return mean, dev, var


def layer_norm_axes(imp, n):
    """LayerNormalization from ``axis`` to the last axis: ``[Y, Mean, InvStdDev]``."""
    a = _attrs(n)
    r = imp.rank(n.input[0])
    axis = int(a.get("axis", -1)) % r
    eps = float(a.get("epsilon", 1e-5))
    x = imp.t(n.input[0])
    mean, dev, var = _moments(imp, n, x, tuple(range(axis, r)))
    inv = imp.op(_sub(n, 14), "rsqrt", [imp.op(_sub(n, 15), "add", [var, eps])])
    y = imp.op(_sub(n, 16), "multiply", [imp.op(_sub(n, 17), "multiply", [dev, inv]),
                                         imp.t(n.input[1])])
    if len(n.input) > 2 and n.input[2]:
        y = imp.op(n, "add", [y, imp.t(n.input[2])])
    else:
        y = imp.op(n, "identity", [y])
    return [y, mean, inv]


def _rms_norm(imp, n):
    a = _attrs(n)
    r = imp.rank(n.input[0])
    axis = int(a.get("axis", -1)) % r
    x = imp.t(n.input[0])
    ms = imp.op(_sub(n, 0), "mean", [imp.op(_sub(n, 1), "square", [x])],
                axis=tuple(range(axis, r)), keepdims=True)
    inv = imp.op(_sub(n, 2), "rsqrt", [imp.op(_sub(n, 3), "add",
                                              [ms, float(a.get("epsilon", 1e-5))])])
    y = imp.op(_sub(n, 4), "multiply", [x, inv])
    return imp.op(n, "multiply", [y, imp.t(n.input[1])])


def _mvn(imp, n):
    axes = tuple(_attrs(n).get("axes", (0, 2, 3)))
    x = imp.t(n.input[0])
    _, dev, var = _moments(imp, n, x, axes)
    std = imp.op(_sub(n, 0), "sqrt", [var])
    return imp.op(n, "divide", [dev, imp.op(_sub(n, 1), "add", [std, 1e-9])])


def _group_norm(imp, n):
    a = _attrs(n)
    g = int(a["num_groups"])
    eps = float(a.get("epsilon", 1e-5))
    shape = imp.shape(n.input[0])
    N, C = shape[:2]
    x = imp.op(_sub(n, 0), "reshape", [imp.t(n.input[0])], shape=(N, g, -1))
    _, dev, var = _moments(imp, n, x, (2,))
    inv = imp.op(_sub(n, 1), "rsqrt", [imp.op(_sub(n, 2), "add", [var, eps])])
    y = imp.op(_sub(n, 3), "reshape", [imp.op(_sub(n, 4), "multiply", [dev, inv])],
               shape=tuple(shape))
    per_group = imp.shape(n.input[1])[0] == g and g != C   # opset 18: one scale per group
    ch = (1, C) + (1,) * (len(shape) - 2)
    s, b = imp.t(n.input[1]), imp.t(n.input[2])
    if per_group:
        s = imp.op(_sub(n, 5), "repeat", [s], repeats=C // g, axis=0)
        b = imp.op(_sub(n, 6), "repeat", [b], repeats=C // g, axis=0)
    s = imp.op(_sub(n, 7), "reshape", [s], shape=ch)
    b = imp.op(_sub(n, 8), "reshape", [b], shape=ch)
    return imp.op(n, "add", [imp.op(_sub(n, 9), "multiply", [y, s]), b])


def _lrn(imp, n):
    """sum of squares over a channel window: a pooling over the channels moved last."""
    a = _attrs(n)
    size = int(a["size"])
    alpha, beta, bias = float(a.get("alpha", 1e-4)), float(a.get("beta", 0.75)), \
        float(a.get("bias", 1.0))
    shape = imp.shape(n.input[0])
    x = imp.t(n.input[0])
    sq = imp.op(_sub(n, 0), "square", [x])
    lo, hi = (size - 1) // 2, size // 2
    flat = imp.op(_sub(n, 1), "reshape", [sq], shape=(shape[0], 1, shape[1], -1))
    pad = imp.op(_sub(n, 2), "pad", [flat], mode="constant", pad_width=(0, 0, 0, 0, lo, hi,
                                                                          0, 0),
                 constant_value=0.0)
    s = imp.op(_sub(n, 3), "pooling", [pad], kernel=(size, 1), pool_type="sum",
               stride=(1, 1), pad=(0, 0), pooling_convention="valid")
    s = imp.op(_sub(n, 4), "reshape", [s], shape=tuple(shape))
    den = imp.op(_sub(n, 5), "add", [imp.op(_sub(n, 6), "multiply", [s, alpha / size]), bias])
    return imp.op(n, "divide", [x, imp.op(_sub(n, 7), "power", [den, beta])])


def _nll(imp, n, logp, target, weight, a, dt):
    """ONNX's NLL over log-probabilities ``logp`` (N, C, ...) and ``target`` (N, ...)."""
    red = a.get("reduction", b"mean")
    red = red.decode() if isinstance(red, bytes) else red
    t = imp.op(_sub(n, 20), "cast", [imp.t(target)], dtype="int64")
    ignore = a.get("ignore_index")
    if ignore is not None:
        keep = imp.op(_sub(n, 21), "not_equal", [t, int(ignore)])
        t = imp.op(_sub(n, 22), "multiply", [t, keep])   # ignored targets read class 0
    picked = imp.op(_sub(n, 23), "pick", [logp, t], axis=1, keepdims=False)
    if weight:
        w = imp.op(_sub(n, 24), "take", [imp.t(weight), t], axis=0, mode="clip")
    else:
        w = imp.op(_sub(n, 24), "ones_like", [picked])
    if ignore is not None:
        w = imp.op(_sub(n, 25), "multiply", [w, imp.op(_sub(n, 26), "cast", [keep],
                                                       dtype=dt)])
    loss = imp.op(_sub(n, 27), "negative", [imp.op(_sub(n, 28), "multiply", [picked, w])])
    if red == "none":
        return imp.op(n, "identity", [loss])
    total = imp.op(_sub(n, 29), "reshape", [imp.op(_sub(n, 30), "sum", [loss])], shape=())
    if red == "sum":
        return imp.op(n, "identity", [total])
    if red != "mean":
        raise MXNetError(f"ONNX import: {n.op_type} reduction {red!r} is not an ONNX value")
    wsum = imp.op(_sub(n, 31), "reshape", [imp.op(_sub(n, 32), "sum", [w])], shape=())
    return imp.op(n, "divide", [total, wsum])


def _nll_loss(imp, n):
    weight = n.input[2] if len(n.input) > 2 and n.input[2] else None
    return _nll(imp, n, imp.t(n.input[0]), n.input[1], weight, _attrs(n),
                dtype_of(imp, n.input[0]).name)


def _sce_loss(imp, n):
    logp = imp.op(_sub(n, 0), "log_softmax", [imp.t(n.input[0])], axis=1)
    weight = n.input[2] if len(n.input) > 2 and n.input[2] else None
    loss = _nll(imp, n, logp, n.input[1], weight, _attrs(n), dtype_of(imp, n.input[0]).name)
    return [loss, logp]


def _layer_norm_any(imp, n):
    r = imp.rank(n.input[0])
    if int(_attrs(n).get("axis", -1)) % r == r - 1:
        return _layer_norm(imp, n)
    return layer_norm_axes(imp, n)


CONVERTERS = {"LayerNormalization": _layer_norm_any, "RMSNormalization": _rms_norm,
              "MeanVarianceNormalization": _mvn, "GroupNormalization": _group_norm, "LRN": _lrn,
              "NegativeLogLikelihoodLoss": _nll_loss, "SoftmaxCrossEntropyLoss": _sce_loss}
