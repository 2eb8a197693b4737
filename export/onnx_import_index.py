"""ONNX indexing, splitting and triangular operators composed from kiln's registry ops.

Range and EyeLike become constants (their operands are read at import time); Split, TopK,
Trilu, CumSum, Hardmax, GatherElements, GatherND, ScatterND/ScatterElements, DepthToSpace and
ReverseSequence become kiln ops over the data, with the index arithmetic that depends only
on static shapes done once here (so gradients reach the data).

Example: ``CumSum(x, axis=1)`` on ``x`` of shape (2, 3) imports as ``dot(x, U)`` with the
constant upper-triangular ``U`` of ones (3, 3).
"""
import numpy as np
from onnx import helper

from ..base import MXNetError
from .onnx_import_math import const, dtype_of
from .onnx_import_ops import _attrs, _ints, _sub


def _range(imp, n):
    start, limit, delta = (np.asarray(imp.value(i)).reshape(()) for i in n.input[:3])
    count = max(int(np.ceil((limit - start) / delta)), 0)
    imp.check_bytes(count * start.dtype.itemsize, f"Range {n.output[0]!r}")
    return const(imp, n, 0, (start + np.arange(count) * delta).astype(start.dtype))


def _eye_like(imp, n):
    a = _attrs(n)
    shape = imp.shape(n.input[0])
    dt = helper.tensor_dtype_to_np_dtype(a["dtype"]) if "dtype" in a \
        else dtype_of(imp, n.input[0])
    return const(imp, n, 0, np.eye(shape[0], shape[1], int(a.get("k", 0)), dtype=dt))


def _split(imp, n):
    a = _attrs(n)
    axis = int(a.get("axis", 0))
    size = imp.shape(n.input[0])[axis]
    if "split" in a:
        parts = list(a["split"])
    elif len(n.input) > 1 and n.input[1]:
        parts = list(_ints(imp.value(n.input[1])))
    else:
        k = int(a.get("num_outputs", len(n.output)))
        step = -(-size // k)   # opset 18: the last part may be smaller
        parts = [min(step, size - i * step) for i in range(k)]
    bounds = np.cumsum([0] + parts)
    if bounds[-1] != size:
        raise MXNetError(f"ONNX import: Split {n.output[0]!r}: parts {parts} do not add up to "
                         f"the axis size {size}")
    x = imp.t(n.input[0])
    r = imp.rank(n.input[0])
    outs = []
    for k, (b, e) in enumerate(zip(bounds[:-1], bounds[1:])):
        begin, end = [None] * r, [None] * r
        begin[axis % r], end[axis % r] = int(b), int(e)
        outs.append(imp.op(_Out(n, k), "slice", [x], begin=tuple(begin), end=tuple(end)))
    return outs


class _Out:
    """The name of a multi-output node's k-th output for the kiln op that makes it."""

    def __init__(self, n, k):
        self.name, self.output = n.output[k] or f"{n.output[0]}_{k}", [n.output[k] or
                                                                      f"{n.output[0]}_{k}"]


def _topk(imp, n):
    a = _attrs(n)
    k = int(np.asarray(imp.value(n.input[1])).reshape(-1)[0]) if len(n.input) > 1 \
        else int(a["k"])
    axis = int(a.get("axis", -1))
    largest = bool(a.get("largest", 1))
    x = imp.t(n.input[0])
    # a stable sort of the (negated) data: ties keep the lower index first, as ONNX asks
    key = imp.op(_sub(n, 0), "negative", [x]) if largest else x
    idx = imp.op(_sub(n, 1), "argsort", [key], axis=axis, is_ascend=True, dtype="int64")
    r = imp.rank(n.input[0])
    begin, end = [None] * r, [None] * r
    begin[axis % r], end[axis % r] = 0, k
    idx = imp.op(_Out(n, 1), "slice", [idx], begin=tuple(begin), end=tuple(end))
    vals = _take_along(imp, n, x, idx, axis, imp.shape(n.input[0]),
                       tuple(k if d == axis % r else s
                             for d, s in enumerate(imp.shape(n.input[0]))))
    return [vals, idx]


def _grid(shape, axis, idx):
    """The full index tuple (stacked on axis 0) of a take-along-axis, with ``idx`` a
    placeholder for the indices along ``axis``."""
    grids = np.indices(shape)
    return [None if d == axis else grids[d] for d in range(len(shape))]


def _take_along(imp, n, x, idx, axis, xshape, ishape):
    """``x`` gathered at ``idx`` (int64, shape ``ishape``) along ``axis``: ``gather_nd``
    with the other coordinates as constants."""
    r = len(xshape)
    axis %= r
    parts = []
    for d, g in enumerate(_grid(ishape, axis, idx)):
        if g is None:
            parts.append(imp.op(_sub(n, 20 + d), "expand_dims", [idx], axis=0))
        else:
            parts.append(const(imp, n, 20 + d, g[None].astype(np.int64)))
    full = imp.op(_sub(n, 30), "concat", parts, dim=0, num_args=len(parts))
    return imp.op(_Out(n, 0), "gather_nd", [x, full])


def _nonneg(imp, n, name, size):
    """Indices tensor ``name`` as int64 with negative values wrapped by ``size``."""
    idx = imp.op(_sub(n, 40), "cast", [imp.t(name)], dtype="int64")
    neg = imp.op(_sub(n, 41), "lesser", [idx, 0])
    return imp.op(_sub(n, 42), "add", [idx, imp.op(_sub(n, 43), "multiply", [neg, size])])


def _gather_elements(imp, n):
    axis = int(_attrs(n).get("axis", 0))
    xshape, ishape = imp.shape(n.input[0]), imp.shape(n.input[1])
    idx = _nonneg(imp, n, n.input[1], xshape[axis])
    y = _take_along(imp, n, imp.t(n.input[0]), idx, axis, xshape, ishape)
    return imp.op(n, "identity", [y])


def _gather_nd(imp, n):
    if int(_attrs(n).get("batch_dims", 0)):
        raise MXNetError("ONNX import: GatherND with batch_dims is not supported")
    r = imp.rank(n.input[1])
    idx = imp.op(_sub(n, 0), "cast", [imp.t(n.input[1])], dtype="int64")
    # ONNX puts the coordinates on the last axis, MXNet's gather_nd on the first
    idx = imp.op(_sub(n, 1), "transpose", [idx], axes=(r - 1,) + tuple(range(r - 1)))
    return imp.op(n, "gather_nd", [imp.t(n.input[0]), idx])


def _trilu(imp, n):
    upper = bool(_attrs(n).get("upper", 1))
    k = int(np.asarray(imp.value(n.input[1])).reshape(-1)[0]) \
        if len(n.input) > 1 and n.input[1] else 0
    shape = imp.shape(n.input[0])
    rows, cols = shape[-2:]
    mask = np.triu(np.ones((rows, cols), bool), k) if upper \
        else np.tril(np.ones((rows, cols), bool), k)
    x = imp.t(n.input[0])
    zero = imp.op(_sub(n, 0), "zeros_like", [x])
    return imp.op(n, "where", [const(imp, n, 0, np.broadcast_to(mask, shape).copy()), x, zero])


def _cumsum(imp, n):
    a = _attrs(n)
    axis = int(np.asarray(imp.value(n.input[1])).reshape(-1)[0])
    shape = imp.shape(n.input[0])
    r = len(shape)
    axis %= r
    size = shape[axis]
    i, j = np.indices((size, size))
    keep = (i >= j) if a.get("reverse", 0) else (i <= j)
    if a.get("exclusive", 0):
        keep &= i != j
    tri = keep.astype(dtype_of(imp, n.input[0]))
    x = imp.t(n.input[0])
    perm = tuple(d for d in range(r) if d != axis) + (axis,)
    if axis != r - 1:
        x = imp.op(_sub(n, 0), "transpose", [x], axes=perm)
    y = imp.op(_sub(n, 1) if axis != r - 1 else n, "dot", [x, const(imp, n, 0, tri)])
    if axis == r - 1:
        return y
    return imp.op(n, "transpose", [y], axes=tuple(int(v) for v in np.argsort(perm)))


def _hardmax(imp, n):
    axis = int(_attrs(n).get("axis", -1 if imp.opset >= 13 else 1))
    shape = imp.shape(n.input[0])
    r = len(shape)
    axis %= r
    x = imp.t(n.input[0])
    if imp.opset < 13:   # the input seen as 2-D, [:axis] x [axis:]
        x = imp.op(_sub(n, 0), "reshape", [x], shape=(int(np.prod(shape[:axis])), -1))
        axis, r = 1, 2
    perm = tuple(d for d in range(r) if d != axis) + (axis,)
    xt = imp.op(_sub(n, 1), "transpose", [x], axes=perm) if axis != r - 1 else x
    am = imp.op(_sub(n, 2), "argmax", [xt], axis=-1)
    depth = _last_dim(imp, n, shape, axis)
    oh = imp.op(_sub(n, 3), "one_hot", [am], depth=depth, dtype=dtype_of(imp, n.input[0]).name)
    if axis != r - 1:
        oh = imp.op(_sub(n, 4), "transpose", [oh], axes=tuple(int(v) for v in np.argsort(perm)))
    return imp.op(n, "reshape", [oh], shape=tuple(shape))


def _last_dim(imp, n, shape, axis):
    if imp.opset >= 13:
        return shape[axis]
    a = int(_attrs(n).get("axis", 1)) % len(shape)
    return int(np.prod(shape[a:]))


def _lp_norm(imp, n):
    a = _attrs(n)
    axis, p = int(a.get("axis", -1)), int(a.get("p", 2))
    x = imp.t(n.input[0])
    norm = imp.op(_sub(n, 0), "norm", [x], ord=p, axis=axis, keepdims=True)
    # an all-zero slice stays zero (onnx's reference), not 0/0: its norm is replaced by 1
    norm = imp.op(_sub(n, 1), "add", [norm, imp.op(_sub(n, 2), "equal", [norm, 0.0])])
    return imp.op(n, "divide", [x, norm])


def _scatter_nd(imp, n):
    """``data`` with ``updates`` written at ``indices``: a where over a constant-free mask
    built by scattering ones (kiln's scatter_nd makes a new tensor of a given shape)."""
    red = _attrs(n).get("reduction", b"none")
    if red not in (b"none", "none"):
        raise MXNetError(f"ONNX import: ScatterND reduction {red!r} is not supported")
    shape = imp.shape(n.input[0])
    r = imp.rank(n.input[1])
    idx = imp.op(_sub(n, 0), "cast", [imp.t(n.input[1])], dtype="int64")
    idx = imp.op(_sub(n, 1), "transpose", [idx], axes=(r - 1,) + tuple(range(r - 1)))
    upd = imp.t(n.input[2])
    scattered = imp.op(_sub(n, 2), "scatter_nd", [upd, idx], shape=tuple(shape))
    ones = imp.op(_sub(n, 3), "ones_like", [upd])
    mask = imp.op(_sub(n, 4), "scatter_nd", [ones, idx], shape=tuple(shape))
    mask = imp.op(_sub(n, 5), "cast", [mask], dtype="bool")
    return imp.op(n, "where", [mask, scattered, imp.t(n.input[0])])


def _scatter_elements(imp, n):
    red = _attrs(n).get("reduction", b"none")
    if red not in (b"none", "none"):
        raise MXNetError(f"ONNX import: ScatterElements reduction {red!r} is not supported")
    axis = int(_attrs(n).get("axis", 0))
    xshape, ishape = imp.shape(n.input[0]), imp.shape(n.input[1])
    r = len(xshape)
    idx = _nonneg(imp, n, n.input[1], xshape[axis % r])
    parts = []
    for d, g in enumerate(_grid(ishape, axis % r, idx)):
        if g is None:
            parts.append(imp.op(_sub(n, 20 + d), "expand_dims", [idx], axis=0))
        else:
            parts.append(const(imp, n, 20 + d, g[None].astype(np.int64)))
    full = imp.op(_sub(n, 30), "concat", parts, dim=0, num_args=len(parts))
    upd = imp.t(n.input[2])
    scattered = imp.op(_sub(n, 31), "scatter_nd", [upd, full], shape=tuple(xshape))
    ones = imp.op(_sub(n, 32), "ones_like", [upd])
    mask = imp.op(_sub(n, 33), "scatter_nd", [ones, full], shape=tuple(xshape))
    mask = imp.op(_sub(n, 34), "cast", [mask], dtype="bool")
    return imp.op(n, "where", [mask, scattered, imp.t(n.input[0])])


def _depth_to_space(imp, n):
    a = _attrs(n)
    b = int(a["blocksize"])
    mode = a.get("mode", b"DCR")
    N, C, H, W = imp.shape(n.input[0])
    x = imp.t(n.input[0])
    if mode in (b"DCR", "DCR"):
        y = imp.op(_sub(n, 0), "reshape", [x], shape=(N, b, b, C // b // b, H, W))
        perm = (0, 3, 4, 1, 5, 2)
    else:
        y = imp.op(_sub(n, 0), "reshape", [x], shape=(N, C // b // b, b, b, H, W))
        perm = (0, 1, 4, 2, 5, 3)
    y = imp.op(_sub(n, 1), "transpose", [y], axes=perm)
    return imp.op(n, "reshape", [y], shape=(N, C // b // b, H * b, W * b))


def _space_to_depth(imp, n):
    a = _attrs(n)
    b = int(a["blocksize"])
    mode = a.get("mode", "DCR")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    N, C, H, W = imp.shape(n.input[0])
    y = imp.op(_sub(n, 0), "reshape", [imp.t(n.input[0])], shape=(N, C, H // b, b, W // b, b))
    # DCR (the default): output channels block-major; CRD: channel-major
    y = imp.op(_sub(n, 1), "transpose", [y], axes=(0, 3, 5, 1, 2, 4) if mode != "CRD"
               else (0, 1, 3, 5, 2, 4))
    return imp.op(n, "reshape", [y], shape=(N, C * b * b, H // b, W // b))


def _reverse_sequence(imp, n):
    a = _attrs(n)
    t_axis, b_axis = int(a.get("time_axis", 0)), int(a.get("batch_axis", 1))
    x = imp.t(n.input[0])
    lens = imp.t(n.input[1])
    if (t_axis, b_axis) == (1, 0):
        x = imp.op(_sub(n, 0), "swapaxes", [x], dim1=0, dim2=1)
    y = imp.op(_sub(n, 1), "sequence_reverse", [x, lens], use_sequence_length=True, axis=0)
    if (t_axis, b_axis) == (1, 0):
        y = imp.op(_sub(n, 2), "swapaxes", [y], dim1=0, dim2=1)
    return imp.op(n, "identity", [y])


def _cumprod(imp, n):
    """Running products along the axis, one multiply per position (static axis size)."""
    a = _attrs(n)
    axis = int(np.asarray(imp.value(n.input[1])).reshape(-1)[0])
    shape = imp.shape(n.input[0])
    r = len(shape)
    axis %= r
    size = shape[axis]
    x = imp.t(n.input[0])
    order = range(size - 1, -1, -1) if a.get("reverse", 0) else range(size)
    parts, acc = {}, None
    for k, i in enumerate(order):
        begin, end = [None] * r, [None] * r
        begin[axis], end[axis] = i, i + 1
        s = imp.op(_sub(n, 10 + 3 * k), "slice", [x], begin=tuple(begin), end=tuple(end))
        if a.get("exclusive", 0):
            parts[i] = acc if acc is not None else imp.op(_sub(n, 11 + 3 * k), "ones_like", [s])
            acc = s if acc is None else imp.op(_sub(n, 12 + 3 * k), "multiply", [acc, s])
        else:
            acc = s if acc is None else imp.op(_sub(n, 12 + 3 * k), "multiply", [acc, s])
            parts[i] = acc
    return imp.op(n, "concat", [parts[i] for i in range(size)], dim=axis, num_args=size)


def _one_hot(imp, n):
    depth = int(np.asarray(imp.value(n.input[1])).reshape(-1)[0])
    values = np.asarray(imp.value(n.input[2])).reshape(-1)
    axis = int(_attrs(n).get("axis", -1))
    r = imp.rank(n.input[0]) + 1
    idx = _nonneg(imp, n, n.input[0], depth)
    y = imp.op(_sub(n, 0), "one_hot", [idx], depth=depth, on_value=values[1].item(),
               off_value=values[0].item(), dtype=values.dtype.name)
    axis %= r
    if axis == r - 1:
        return imp.op(n, "identity", [y])
    perm = tuple(range(axis)) + (r - 1,) + tuple(range(axis, r - 1))
    return imp.op(n, "transpose", [y], axes=perm)


CONVERTERS = {
    "CumProd": _cumprod, "OneHot": _one_hot,
    "Range": _range, "EyeLike": _eye_like, "Split": _split, "TopK": _topk,
    "GatherElements": _gather_elements, "GatherND": _gather_nd, "Trilu": _trilu,
    "CumSum": _cumsum, "Hardmax": _hardmax, "LpNormalization": _lp_norm,
    "ScatterND": _scatter_nd, "ScatterElements": _scatter_elements,
    "Scatter": _scatter_elements, "DepthToSpace": _depth_to_space,
    "SpaceToDepth": _space_to_depth, "ReverseSequence": _reverse_sequence,
}
