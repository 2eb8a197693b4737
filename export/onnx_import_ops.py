"""Per-operator ONNX -> kiln converters used by ``onnx_import``.

A converter ``fn(imp, node)`` returns the kiln entry (or list of entries) for the node's
outputs, building registry ops with ``imp.op(node, kiln_name, inputs, **attrs)``.
"""
import math

import numpy as np
from onnx import helper, numpy_helper

from ..base import MXNetError
from ..ndarray._registry import param_shapes
from .onnx_builder import TRAINABLE_BN_KEY, TRAINABLE_BN_VALUE
from .onnx_import_values import const, dtype_of

_INT_BIG = 2 ** 62


def _attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _ints(v):
    return tuple(int(x) for x in np.asarray(v).reshape(-1))


def _unary(kiln, **fixed):
    return lambda imp, n: imp.op(n, kiln, [imp.t(n.input[0])], **fixed)


def _binary(kiln):
    return lambda imp, n: imp.op(n, kiln, [imp.t(n.input[0], True), imp.t(n.input[1], True)])


def _logical(kiln, arity=2):
    """Comparisons and logic: kiln's ops give the inputs' dtype (MXNet), ONNX gives bool."""
    def conv(imp, n):
        y = imp.op(_sub(n, 0), kiln, [imp.t(i, arity == 2) for i in n.input[:arity]])
        return imp.op(n, "cast", [y], dtype="bool")
    return conv


def _variadic(kiln):
    def conv(imp, n):
        cur = imp.t(n.input[0])
        for k, i in enumerate(n.input[1:]):
            cur = imp.op(n if k == len(n.input) - 2 else _sub(n, k), kiln, [cur, imp.t(i)])
        return cur
    return conv


class _sub:
    """A stand-in node name for intermediate ops of one ONNX node."""

    def __init__(self, n, k):
        self.name, self.output = f"{n.name or n.output[0]}_{k}", [f"{n.output[0]}_{k}"]


def _gemm(imp, n):
    a = _attrs(n)
    ta, tb = int(a.get("transA", 0)), int(a.get("transB", 0))
    alpha, beta = float(a.get("alpha", 1.0)), float(a.get("beta", 1.0))
    bshape = imp.inits[n.input[1]].shape if n.input[1] in imp.inits else imp.shape(n.input[1])
    has_c = len(n.input) > 2 and n.input[2]
    if not ta and tb and alpha == 1.0 and beta == 1.0:
        c = imp.t(n.input[2]) if has_c else None
        return imp.op(n, "fully_connected", [imp.t(n.input[0]), imp.t(n.input[1]), c],
                      num_hidden=bshape[0], no_bias=not has_c, flatten=True)
    y = imp.op(_sub(n, 0) if has_c else n, "dot", [imp.t(n.input[0]), imp.t(n.input[1])],
               transpose_a=bool(ta), transpose_b=bool(tb))
    if alpha != 1.0:
        y = imp.op(_sub(n, 1), "multiply", [y, alpha])
    if not has_c:
        return y
    c = imp.t(n.input[2])
    if beta != 1.0:
        c = imp.op(_sub(n, 2), "multiply", [c, beta])
    return imp.op(n, "add", [y, c])


def _bn(imp, n):
    a = _attrs(n)
    if a.get("training_mode", 0):
        return _bn_training(imp, n, a)
    ins = [imp.t(n.input[0]), imp.t(n.input[1]), imp.t(n.input[2]), imp.mark_aux(n.input[3]),
           imp.mark_aux(n.input[4])]
    # kiln's unfolded exports (fold_batchnorm=False) ask for BatchNorm that fine-tunes
    trainable = any(p.key == TRAINABLE_BN_KEY and p.value == TRAINABLE_BN_VALUE
                    for p in imp.model.metadata_props)
    return imp.op(n, "batch_norm", ins, eps=float(a.get("epsilon", 1e-5)),
                  momentum=float(a.get("momentum", 0.9)), fix_gamma=False,
                  use_global_stats=not trainable)


def _bn_training(imp, n, a):
    """BatchNormalization-14/15 ``training_mode=1``: normalized with the batch's statistics
    (population variance over every axis but 1); outputs 1 and 2 are the running mean and
    variance, ``running * momentum + batch * (1 - momentum)``. Built from registry ops, so
    gradients flow into the scale, bias and input as in a training graph."""
    x = imp.t(n.input[0])
    r = imp.rank(n.input[0])
    axes = (0,) + tuple(range(2, r))
    eps, mom = float(a.get("epsilon", 1e-5)), float(a.get("momentum", 0.9))
    keep = (1, -1) + (1,) * (r - 2)   # (C,) parameters broadcast along axis 1
    mean = imp.op(_sub(n, 0), "mean", [x], axis=axes, keepdims=True)
    dev = imp.op(_sub(n, 1), "subtract", [x, mean])
    var = imp.op(_sub(n, 2), "mean", [imp.op(_sub(n, 3), "square", [dev])], axis=axes,
                 keepdims=True)
    inv = imp.op(_sub(n, 4), "rsqrt", [imp.op(_sub(n, 5), "add", [var, eps])])
    scale, bias = (imp.op(_sub(n, 6 + k), "reshape", [imp.t(n.input[1 + k])], shape=keep)
                   for k in range(2))
    y = imp.op(n, "add", [imp.op(_sub(n, 8), "multiply", [
        imp.op(_sub(n, 9), "multiply", [dev, inv]), scale]), bias])
    outs = [y]
    for k, (stat, src) in enumerate(((mean, n.input[3]), (var, n.input[4]))):
        if len(n.output) <= 1 + k or not n.output[1 + k]:
            break
        batch = imp.op(_sub(n, 10 + 3 * k), "reshape", [stat], shape=(-1,))
        outs.append(imp.op(_sub(n, 11 + 3 * k), "add", [
            imp.op(_sub(n, 12 + 3 * k), "multiply", [imp.t(src), mom]),
            imp.op(_sub(n, 16 + 3 * k), "multiply", [batch, 1.0 - mom])]))
    return outs


def _global_pool(kind):
    return lambda imp, n: imp.op(n, "pooling", [imp.t(n.input[0])], kernel=(1, 1),
                                 pool_type=kind, global_pool=True)


def _flatten(imp, n):
    axis = int(_attrs(n).get("axis", 1))
    if axis == 1:
        return imp.op(n, "flatten", [imp.t(n.input[0])])
    r = imp.rank(n.input[0])
    axis %= max(r, 1)
    if axis == 0:
        return imp.op(n, "reshape", [imp.t(n.input[0])], shape=(1, -1))
    shape = imp.shape(n.input[0])
    return imp.op(n, "reshape", [imp.t(n.input[0])], shape=(-1, math.prod(shape[axis:])))


def _reshape(imp, n):
    if n.input[1] in imp.symdims:
        from .onnx_import_shape import reshape_codes
        shape = reshape_codes(imp, n.input[1], n.input[0])
        return imp.op(n, "reshape", [imp.t(n.input[0])], shape=shape)
    shape = _ints(imp.value(n.input[1]))
    if _attrs(n).get("allowzero", 0) and 0 in shape:
        # a literal zero dim (kiln's reshape reads 0 as "copy"): the input is empty too, so
        # the result is an empty constant of the literal shape
        if -1 in shape or np.prod(imp.shape(n.input[0])) != 0:
            raise MXNetError(f"ONNX import: Reshape {n.output[0]!r} with allowzero=1: shape "
                             f"{shape} does not fit the input {imp.shape(n.input[0])}")
        return const(imp, n, 0, np.zeros(shape, dtype_of(imp, n.input[0])))
    return imp.op(n, "reshape", [imp.t(n.input[0])], shape=shape)


def _axes(imp, n, pos=1):
    a = _attrs(n)
    if "axes" in a:
        return tuple(a["axes"])
    if len(n.input) > pos and n.input[pos]:
        return _ints(imp.value(n.input[pos]))
    return None


def _reduce(kiln):
    def conv(imp, n):
        a = _attrs(n)
        axes = _axes(imp, n) or None   # an empty axes input is the same as none
        if axes is None and a.get("noop_with_empty_axes", 0):
            return imp.op(n, "identity", [imp.t(n.input[0])])
        keep = bool(a.get("keepdims", 1))
        r = imp.rank(n.input[0])
        if keep or (axes is not None and len({ax % r for ax in axes}) < r):
            return imp.op(n, kiln, [imp.t(n.input[0])], axis=axes, keepdims=keep)
        # reducing every axis: kiln (as MXNet) keeps shape (1,), ONNX gives a scalar
        y = imp.op(_sub(n, 0), kiln, [imp.t(n.input[0])], axis=axes, keepdims=False)
        return imp.op(n, "reshape", [y], shape=())
    return conv


def _squeeze(imp, n):
    return imp.op(n, "squeeze", [imp.t(n.input[0])], axis=_axes(imp, n))


def _unsqueeze(imp, n):
    axes = _axes(imp, n)
    r = imp.rank(n.input[0]) + len(axes)
    axes = sorted(a % r for a in axes)
    cur = imp.t(n.input[0])
    for k, ax in enumerate(axes):
        cur = imp.op(n if k == len(axes) - 1 else _sub(n, k), "expand_dims", [cur], axis=ax)
    return cur


def _slice(imp, n):
    a = _attrs(n)
    r = imp.rank(n.input[0])
    if "starts" in a:   # Slice-1: starts, ends and axes are attributes
        starts, ends = tuple(a["starts"]), tuple(a["ends"])
        axes = tuple(a.get("axes", range(len(starts))))
        steps = (1,) * len(starts)
    else:
        starts, ends = _ints(imp.value(n.input[1])), _ints(imp.value(n.input[2]))
        axes = _ints(imp.value(n.input[3])) if len(n.input) > 3 and n.input[3] else \
            range(len(starts))
        steps = _ints(imp.value(n.input[4])) if len(n.input) > 4 and n.input[4] else \
            (1,) * len(starts)
    begin, end, step = [None] * r, [None] * r, [None] * r
    for ax, b, e, s in zip(axes, starts, ends, steps):
        ax %= r
        begin[ax] = b
        end[ax] = None if (s > 0 and e >= _INT_BIG) or (s < 0 and e <= -_INT_BIG) else e
        step[ax] = s
    return imp.op(n, "slice", [imp.t(n.input[0])], begin=tuple(begin), end=tuple(end),
                  step=tuple(step))


def _clip(imp, n):
    a = _attrs(n)
    lo = a.get("min", -np.inf)
    hi = a.get("max", np.inf)
    bounds = [n.input[k] if len(n.input) > k and n.input[k] else None for k in (1, 2)]
    if any(b is not None and imp.value(b, required=False) is None for b in bounds):
        # a bound computed at run time: max(x, min) then min(., max), as ONNX's definition
        y = imp.t(n.input[0])
        for k, (b, kiln) in enumerate(zip(bounds, ("maximum", "minimum"))):
            if b is not None:
                last = bounds[1] is None or k == 1
                y = imp.op(n if last else _sub(n, k), kiln, [y, imp.t(b, True)])
        return y
    if bounds[0] is not None:
        lo = float(imp.value(bounds[0]))
    if bounds[1] is not None:
        hi = float(imp.value(bounds[1]))
    t = imp.types.get(n.input[0])
    dt = np.dtype(helper.tensor_dtype_to_np_dtype(t[0])) if t is not None and t[0] else None
    if dt is None or dt.kind == "f":
        return imp.op(n, "clip", [imp.t(n.input[0])], a_min=float(lo), a_max=float(hi))
    # kiln's clip of integers gives float64 (float bounds): cast back to the input's type
    y = imp.op(_sub(n, 0), "clip", [imp.t(n.input[0])], a_min=float(lo), a_max=float(hi))
    return imp.op(n, "cast", [y], dtype=dt.name)


def _pad(imp, n):
    a = _attrs(n)
    if "pads" in a:   # Pad-1/2: pads and value are attributes
        pads, value = tuple(a["pads"]), float(a.get("value", 0.0))
    else:
        pads = _ints(imp.value(n.input[1]))
        value = float(imp.value(n.input[2])) if len(n.input) > 2 and n.input[2] else 0.0
    half = len(pads) // 2
    if len(n.input) > 3 and n.input[3]:
        raise MXNetError("ONNX import: Pad with axes is not supported")
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    width = tuple(v for b, e in zip(pads[:half], pads[half:]) for v in (b, e))
    return imp.op(n, "pad", [imp.t(n.input[0])], mode=mode, pad_width=width,
                  constant_value=value)


def _layer_norm(imp, n):
    a = _attrs(n)
    r = imp.rank(n.input[0])
    axis = int(a.get("axis", -1)) % r
    if axis != r - 1:
        raise MXNetError("ONNX import: LayerNormalization over several axes")
    beta = imp.t(n.input[2]) if len(n.input) > 2 and n.input[2] else None
    if beta is None:
        from ..symbol.graph import Node
        (c,) = param_shapes("layer_norm", imp.shape(n.input[0]), axis=-1)["beta"]
        imp.check_bytes(4 * c, f"LayerNormalization {n.name!r}'s zero beta")
        beta = (Node("const", value=np.zeros(c, np.float32)), 0)
    eps = float(a.get("epsilon", 1e-5))
    y = imp.op(n, "layer_norm", [imp.t(n.input[0]), imp.t(n.input[1]), beta], axis=-1, eps=eps)
    if not any(o in imp.consumed for o in n.output[1:] if o):
        return y
    # Mean and InvStdDev (the statistics over the last axis, kept as size-1 axes)
    x = imp.t(n.input[0])
    mean = imp.op(_sub(n, 0), "mean", [x], axis=-1, keepdims=True)
    dev = imp.op(_sub(n, 1), "subtract", [x, mean])
    var = imp.op(_sub(n, 2), "mean", [imp.op(_sub(n, 3), "square", [dev])], axis=-1,
                 keepdims=True)
    return [y, mean, imp.op(_sub(n, 4), "rsqrt", [imp.op(_sub(n, 5), "add", [var, eps])])]


def _dropout(imp, n):
    """Inference (no ``training_mode`` or a constant False): the identity, and a mask of ones
    (bool). Training mode (Dropout-12, a constant True or a run-time bool): elements kept
    where a fresh ``uniform_like`` draw is >= ``ratio``, scaled by ``1 / (1 - ratio)``; a
    run-time ``training_mode`` selects between that and the identity with ``where``. The
    draws are kiln's (the ``seed`` attribute is not reproduced)."""
    x = imp.t(n.input[0])
    train = False   # None: given at run time
    if len(n.input) > 2 and n.input[2]:
        v = imp.value(n.input[2], required=False)
        train = None if v is None else bool(np.asarray(v).reshape(-1)[0])
    want_mask = len(n.output) > 1 and n.output[1] in imp.consumed
    if train is False:
        y = imp.op(n, "identity", [x])
        if not want_mask:
            return y
        ones = imp.op(_sub(n, 0), "ones_like", [x])
        return [y, imp.op(_sub(n, 1), "cast", [ones], dtype="bool")]
    ratio = 0.5
    if len(n.input) > 1 and n.input[1]:
        rv = imp.value(n.input[1], required=False)
        ratio = float(np.asarray(rv).reshape(-1)[0]) if rv is not None else imp.t(n.input[1])
    u = imp.op(_sub(n, 2), "random_uniform_like", [x])
    keep = imp.op(_sub(n, 3), "greater_equal", [u, ratio])   # 1.0 / 0.0 in x's dtype
    kept = imp.op(_sub(n, 4), "multiply", [x, keep])
    if isinstance(ratio, float):
        scale = 1.0 / (1.0 - ratio) if ratio < 1 else 0.0
        dropped = imp.op(_sub(n, 5), "multiply", [kept, scale])
    else:   # a run-time ratio
        dropped = imp.op(_sub(n, 5), "divide", [kept, imp.op(_sub(n, 6), "subtract", [
            imp.op(_sub(n, 7), "ones_like", [ratio]), ratio])])
    if train is None:   # training_mode given at run time
        t = imp.t(n.input[2])
        y = imp.op(n, "where", [t, dropped, x])
        keep = imp.op(_sub(n, 10), "where", [t, keep, imp.op(_sub(n, 11), "ones_like", [x])])
    else:
        y = imp.op(n, "identity", [dropped])
    if not want_mask:
        return y
    return [y, imp.op(_sub(n, 12), "cast", [keep], dtype="bool")]


def _cast(imp, n):
    dt = helper.tensor_dtype_to_np_dtype(_attrs(n)["to"])
    return imp.op(n, "cast", [imp.t(n.input[0])], dtype=np.dtype(dt).name)


def _expand(imp, n):
    target = _ints(imp.value(n.input[1]))
    shape = np.broadcast_shapes(imp.shape(n.input[0]), target)
    return imp.op(n, "broadcast_to", [imp.t(n.input[0])], shape=tuple(shape))


def _tile(imp, n):
    return imp.op(n, "tile", [imp.t(n.input[0])], reps=_ints(imp.value(n.input[1])))


def _constant_of_shape(imp, n):
    """ConstantOfShape of ``Shape(x)`` with dynamic dims: ``zeros_like(x)`` (+ the value)."""
    value = _attrs(n).get("value")
    value = np.zeros(1, np.float32) if value is None else numpy_helper.to_array(value)
    if n.input[0] not in imp.symdims:   # a shape given as a (bound) graph input
        from ..symbol.graph import Node
        shape = _ints(imp.value(n.input[0]))
        imp.check_bytes(int(np.prod(shape)) * value.dtype.itemsize, f"ConstantOfShape {shape}")
        full = np.full(shape, value.reshape(-1)[0], value.dtype)
        return (Node("const", value=full, name=f"{n.output[0]}_value"), 0)
    items = imp.symdims.get(n.input[0])
    srcs = {it[1] for it in items or () if not isinstance(it, int)}
    if len(srcs) != 1 or any(isinstance(it, int) or it[2] != k for k, it in enumerate(items)) \
            or len(items) != imp.rank(next(iter(srcs))) or value.size != 1:
        raise MXNetError("ONNX import: ConstantOfShape needs a constant shape or the whole "
                         "Shape of one tensor")
    src = next(iter(srcs))
    y = imp.op(_sub(n, 0), "zeros_like", [imp.t(src)])
    if imp.types.get(src, (None,))[0] != helper.np_dtype_to_tensor_dtype(value.dtype):
        y = imp.op(_sub(n, 1), "cast", [y], dtype=value.dtype.name)
    v = value.reshape(-1)[0].item()
    return imp.op(n, "add", [y, v]) if v else imp.op(n, "identity", [y])


def _flat2d(imp, n, axis):
    """Before opset 13, Softmax/LogSoftmax see the input as 2-D, ``[:axis]`` x
    ``[axis:]``: reshape codes (a dynamic batch is kept at axis 0 or 1), None at the last."""
    r = imp.rank(n.input[0])
    axis %= max(r, 1)
    if axis == r - 1:
        return None
    if axis <= 1:
        return (1, -1) if axis == 0 else (0, -1)
    t = imp.types.get(n.input[0])
    if t is None or t[1] is None or None in t[1][axis:]:
        raise MXNetError(f"ONNX import: {n.op_type} {n.name or n.output[0]!r} (opset "
                         f"{imp.opset}) at axis {axis} needs static dims from that axis on")
    return (-1, math.prod(t[1][axis:]))


def _softmax(kiln):
    def conv(imp, n):
        axis = int(_attrs(n).get("axis", -1 if imp.opset >= 13 else 1))
        x = imp.t(n.input[0])
        codes = _flat2d(imp, n, axis) if imp.opset < 13 else None
        if codes is None:
            return imp.op(n, kiln, [x], axis=axis)
        flat = imp.op(_sub(n, 0), "reshape", [x], shape=codes)
        y = imp.op(_sub(n, 1), kiln, [flat], axis=-1)
        return imp.op(n, "reshape_like", [y, x])
    return conv


def _gather(imp, n):
    """take(mode='raise') on indices in [-n, n) made non-negative: out of range raises, as
    in onnxruntime (constant indices at import time)."""
    axis = int(_attrs(n).get("axis", 0))
    t = imp.types.get(n.input[0])
    size = None
    if t is not None and t[1] is not None:
        size = t[1][axis % len(t[1])]
    idx = imp.value(n.input[1], required=False)
    if idx is not None:
        idx = np.asarray(idx).astype(np.int64)
        if size is not None:
            if idx.size and (idx.min() < -size or idx.max() >= size):
                raise MXNetError(f"ONNX import: Gather {n.name or n.output[0]!r}: indices "
                                 f"out of range [{-size}, {size - 1}]: {idx.min()}..{idx.max()}")
            idx = np.where(idx < 0, idx + size, idx)
        elif idx.size and idx.min() < 0:
            raise MXNetError(f"ONNX import: Gather {n.name or n.output[0]!r}: negative indices "
                             "need a static size along the axis")
        from ..symbol.graph import Node
        ind = (Node("const", value=idx, name=f"{n.output[0]}_indices"), 0)
    elif size is None:
        raise MXNetError(f"ONNX import: Gather {n.name or n.output[0]!r} needs a static size "
                         "along its axis (for negative indices)")
    else:
        ind = imp.t(n.input[1])
        neg = imp.op(_sub(n, 0), "lesser", [ind, 0])
        ind = imp.op(_sub(n, 2), "add", [ind, imp.op(_sub(n, 1), "multiply", [neg, size])])
    return imp.op(n, "take", [imp.t(n.input[0]), ind], axis=axis, mode="raise")


def _leaky(imp, n):
    return imp.op(n, "leaky_relu", [imp.t(n.input[0])], act_type="leaky",
                  slope=float(_attrs(n).get("alpha", 0.01)))


CONVERTERS = {
    "Gemm": _gemm,
    "MatMul": _binary("matmul"), "Add": _binary("add"), "Sub": _binary("subtract"),
    "Mul": _binary("multiply"), "Div": _binary("divide"), "Pow": _binary("power"),
    "Max": _variadic("maximum"), "Min": _variadic("minimum"), "Sum": _variadic("add"),
    "Equal": _logical("equal"), "Greater": _logical("greater"), "Less": _logical("lesser"),
    "GreaterOrEqual": _logical("greater_equal"), "LessOrEqual": _logical("lesser_equal"),
    "And": _logical("logical_and"), "Or": _logical("logical_or"),
    "Xor": _logical("logical_xor"), "Not": _logical("logical_not", 1),
    "Relu": _unary("relu"), "Sigmoid": _unary("sigmoid"), "Tanh": _unary("tanh"),
    "Exp": _unary("exp"), "Log": _unary("log"), "Sqrt": _unary("sqrt"), "Abs": _unary("abs"),
    "Neg": _unary("negative"), "Erf": _unary("erf"), "Reciprocal": _unary("reciprocal"),
    "Floor": _unary("floor"), "Ceil": _unary("ceil"), "Sin": _unary("sin"),
    "Cos": _unary("cos"), "Softplus": _unary("softrelu"), "Softsign": _unary("softsign"),
    "Sign": _unary("sign"), "Identity": _unary("identity"),
    "Dropout": _dropout,
    "Elu": lambda imp, n: imp.op(n, "elu", [imp.t(n.input[0])],
                                 alpha=float(_attrs(n).get("alpha", 1.0))),
    "HardSigmoid": lambda imp, n: imp.op(n, "hard_sigmoid", [imp.t(n.input[0])],
                                         alpha=float(_attrs(n).get("alpha", 0.2)),
                                         beta=float(_attrs(n).get("beta", 0.5))),
    "LeakyRelu": _leaky,
    "PRelu": lambda imp, n: imp.op(n, "leaky_relu", [imp.t(n.input[0]), imp.t(n.input[1])],
                                   act_type="prelu"),
    "BatchNormalization": _bn,
    "GlobalMaxPool": _global_pool("max"), "GlobalAveragePool": _global_pool("avg"),
    "Flatten": _flatten, "Reshape": _reshape,
    "Transpose": lambda imp, n: imp.op(n, "transpose", [imp.t(n.input[0])],
                                       axes=tuple(_attrs(n).get("perm", ())) or None),
    "Concat": lambda imp, n: imp.op(n, "concat", [imp.t(i) for i in n.input],
                                    dim=int(_attrs(n)["axis"]), num_args=len(n.input)),
    "Softmax": _softmax("softmax"), "LogSoftmax": _softmax("log_softmax"), "Clip": _clip,
    "Pad": _pad, "Slice": _slice,
    "Gather": _gather,
    "Squeeze": _squeeze, "Unsqueeze": _unsqueeze, "ReduceMean": _reduce("mean"),
    "ReduceSum": _reduce("sum"), "ReduceMax": _reduce("max"), "ReduceMin": _reduce("min"),
    "ReduceProd": _reduce("prod"), "LayerNormalization": _layer_norm, "Cast": _cast,
    "Expand": _expand, "Tile": _tile, "ConstantOfShape": _constant_of_shape,
    "Where": lambda imp, n: imp.op(n, "where", [imp.t(i) for i in n.input]),
    "InstanceNormalization": lambda imp, n: imp.op(
        n, "instance_norm", [imp.t(i) for i in n.input],
        eps=float(_attrs(n).get("epsilon", 1e-5))),
}
