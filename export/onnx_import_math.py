"""ONNX elementwise and reduction operators that kiln composes from its registry ops.

Each converter ``fn(imp, node)`` builds kiln ops (so gradients flow through imported models):
the activations kiln has under another name or with fixed constants (Selu, Celu, HardSwish,
Gelu...), ONNX's integer Mod/fmod, the Reduce* family beyond kiln's own reductions (L1, L2,
LogSum, LogSumExp, SumSquare), ArgMax/ArgMin (int64, ``select_last_index``), CastLike, Size,
IsInf/IsNaN.

Example: ``ReduceL2(x, axes=[1])`` imports as ``sqrt(sum(square(x), axis=(1,), keepdims=True))``.
"""
import numpy as np

from ..base import MXNetError
from .onnx_import_ops import _attrs, _axes, _sub, _unary
from .onnx_import_ops import _reduce as _ops_reduce
from .onnx_import_values import const, dtype_of  # noqa: F401  (importers take them from here too)


def _cast_like(imp, n):
    return imp.op(n, "cast", [imp.t(n.input[0])], dtype=dtype_of(imp, n.input[1]).name)


def _mod(imp, n):
    a, b = imp.t(n.input[0]), imp.t(n.input[1])
    if not _attrs(n).get("fmod", 0):
        return imp.op(n, "mod", [a, b])
    # fmod: the remainder takes the dividend's sign, a - b * trunc(a / b) (kiln's integer
    # divide truncates, as C)
    q = imp.op(_sub(n, 0), "divide", [a, b])
    if dtype_of(imp, n.input[0]).kind == "f":
        q = imp.op(_sub(n, 1), "trunc", [q])
    return imp.op(n, "subtract", [a, imp.op(_sub(n, 2), "multiply", [b, q])])


def _size(imp, n):
    t = imp.types.get(n.input[0])
    if t is not None and t[1] is not None and None not in t[1]:
        return const(imp, n, 0, np.int64(np.prod(t[1], dtype=np.int64)))
    y = imp.op(_sub(n, 0), "size_array", [imp.t(n.input[0])])
    y = imp.op(_sub(n, 1), "cast", [y], dtype="int64")
    return imp.op(n, "reshape", [y], shape=())


def _shape(imp, n):
    """Shape with dynamic dims (static shapes fold): ``shape_array`` then the start/end."""
    a = _attrs(n)
    y = imp.op(_sub(n, 0) if a else n, "shape_array", [imp.t(n.input[0])])
    y = imp.op(_sub(n, 1), "cast", [y], dtype="int64")
    if not a:
        return y
    r = imp.rank(n.input[0])
    return imp.op(n, "slice", [y], begin=(a.get("start", 0),), end=(a.get("end", r),))


def _arg(kiln):
    def conv(imp, n):
        a = _attrs(n)
        axis, keep = int(a.get("axis", 0)), bool(a.get("keepdims", 1))
        x = imp.t(n.input[0])
        if a.get("select_last_index", 0):
            # the last extreme: the first of the flipped axis, counted from the end
            size = imp.shape(n.input[0])[axis]
            flip = imp.op(_sub(n, 0), "flip", [x], axis=axis)
            y = imp.op(_sub(n, 1), kiln, [flip], axis=axis, keepdims=keep)
            y = imp.op(_sub(n, 2), "subtract", [size - 1, y])
        else:
            y = imp.op(_sub(n, 1), kiln, [x], axis=axis, keepdims=keep)
        return imp.op(n, "cast", [y], dtype="int64")
    return conv


def _reduce(kiln, pre=None, post=None):
    """ReduceX: ``post(kiln(pre(x)))`` with ONNX's axes/keepdims/noop_with_empty_axes."""
    def conv(imp, n):
        a = _attrs(n)
        axes = _axes(imp, n) or None
        x = imp.t(n.input[0])
        if axes is None and a.get("noop_with_empty_axes", 0):
            y = pre(imp, n, x) if pre else x
            return imp.op(n, "identity", [y])
        keep = bool(a.get("keepdims", 1))
        r = imp.rank(n.input[0])
        y = pre(imp, n, x) if pre else x
        y = imp.op(_sub(n, 5), kiln, [y], axis=axes, keepdims=keep)
        if not keep and (axes is None or len({ax % r for ax in axes}) == r):
            y = imp.op(_sub(n, 6), "reshape", [y], shape=())   # ONNX gives a scalar
        return post(imp, n, y) if post else imp.op(n, "identity", [y])
    return conv


def _pre(kiln):
    return lambda imp, n, x: imp.op(_sub(n, 3), kiln, [x])


def _post(kiln):
    return lambda imp, n, y: imp.op(n, kiln, [y])


def _selu(imp, n):
    a = _attrs(n)
    alpha, gamma = float(a.get("alpha", 1.67326319217681884765625)), \
        float(a.get("gamma", 1.05070102214813232421875))
    y = imp.op(_sub(n, 0), "elu", [imp.t(n.input[0])], alpha=alpha)
    return imp.op(n, "multiply", [y, gamma])


def _celu(imp, n):
    alpha = float(_attrs(n).get("alpha", 1.0))
    x = imp.op(_sub(n, 0), "divide", [imp.t(n.input[0]), alpha])
    y = imp.op(_sub(n, 1), "elu", [x], alpha=1.0)
    return imp.op(n, "multiply", [y, alpha])


def _thresholded_relu(imp, n):
    x = imp.t(n.input[0])
    mask = imp.op(_sub(n, 0), "greater", [x, float(_attrs(n).get("alpha", 1.0))])
    return imp.op(n, "multiply", [x, mask])


def _shrink(imp, n):
    a = _attrs(n)
    lambd, bias = float(a.get("lambd", 0.5)), float(a.get("bias", 0.0))
    x = imp.t(n.input[0])
    lo = imp.op(_sub(n, 0), "lesser", [x, -lambd])
    hi = imp.op(_sub(n, 1), "greater", [x, lambd])
    ylo = imp.op(_sub(n, 2), "multiply", [imp.op(_sub(n, 3), "add", [x, bias]), lo])
    yhi = imp.op(_sub(n, 4), "multiply", [imp.op(_sub(n, 5), "subtract", [x, bias]), hi])
    return imp.op(n, "add", [ylo, yhi])


def _hard_swish(imp, n):
    x = imp.t(n.input[0])
    s = imp.op(_sub(n, 0), "hard_sigmoid", [x], alpha=1 / 6, beta=0.5)
    return imp.op(n, "multiply", [x, s])


def _gelu(imp, n):
    approx = _attrs(n).get("approximate", b"none")
    approx = approx.decode() if isinstance(approx, bytes) else approx
    return imp.op(n, "gelu", [imp.t(n.input[0])],
                  approximation="tanh" if approx == "tanh" else "erf")


def _mean(imp, n):
    cur = imp.t(n.input[0])
    for k, i in enumerate(n.input[1:]):
        cur = imp.op(_sub(n, k), "add", [cur, imp.t(i)])
    return imp.op(n, "divide", [cur, float(len(n.input))])


def _is_nan(imp, n):
    x = imp.t(n.input[0])
    return imp.op(n, "cast", [imp.op(_sub(n, 0), "not_equal", [x, x])], dtype="bool")


def _is_inf(imp, n):
    a = _attrs(n)
    pos, neg = a.get("detect_positive", 1), a.get("detect_negative", 1)
    x = imp.t(n.input[0])
    if pos and neg:
        y = imp.op(_sub(n, 0), "equal", [imp.op(_sub(n, 1), "abs", [x]), float("inf")])
    elif pos or neg:
        y = imp.op(_sub(n, 0), "equal", [x, float("inf") if pos else float("-inf")])
    else:
        y = imp.op(_sub(n, 0), "zeros_like", [x])
    return imp.op(n, "cast", [y], dtype="bool")


def _swish(imp, n):
    return imp.op(n, "swish", [imp.t(n.input[0])], beta=float(_attrs(n).get("alpha", 1.0)))


def _bit_shift(imp, n):
    """Shifts as products with powers of two, computed in int64 (uint64 in its own type) and
    cast back, so a left shift wraps as the narrow product does and a right shift is the
    floor division (arithmetic for signed types). A shift outside [0, width) gives 0, or -1
    for a negative value shifted right (opset 28's signed shifts)."""
    x, s = imp.t(n.input[0]), imp.t(n.input[1])
    dt = dtype_of(imp, n.input[0])
    wide = "uint64" if dt == np.uint64 else "int64"
    width = dt.itemsize * 8
    s = imp.op(_sub(n, 3), "cast", [s], dtype=wide)
    ok = imp.op(_sub(n, 4), "multiply", [imp.op(_sub(n, 5), "greater_equal", [s, 0]),
                                         imp.op(_sub(n, 6), "lesser", [s, width])])
    two = imp.op(_sub(n, 0), "full_like", [s], fill_value=2)
    p = imp.op(_sub(n, 2), "power", [two, imp.op(_sub(n, 7), "multiply", [s, ok])])
    xw = imp.op(_sub(n, 8), "cast", [x], dtype=wide)
    left = _attrs(n).get("direction", b"") in (b"LEFT", "LEFT")
    y = imp.op(_sub(n, 9), "multiply" if left else "floor_divide", [xw, p])
    if not left:   # past the width: the sign fill (-1 for negative values, else 0)
        fill = imp.op(_sub(n, 10), "negative", [imp.op(_sub(n, 11), "lesser", [xw, 0])])
        y = imp.op(_sub(n, 12), "add", [imp.op(_sub(n, 13), "multiply", [y, ok]), imp.op(
            _sub(n, 14), "multiply", [fill, imp.op(_sub(n, 15), "subtract", [1, ok])])])
    else:
        y = imp.op(_sub(n, 12), "multiply", [y, ok])
    return imp.op(n, "cast", [y], dtype=dt.name)


def _logsum_post(imp, n, y):
    return imp.op(n, "log", [y])


def _pow(imp, n):
    """ONNX's Pow gives the base's type (kiln's power promotes as numpy)."""
    bt, et = dtype_of(imp, n.input[0]), dtype_of(imp, n.input[1])
    if bt == et:
        return imp.op(n, "power", [imp.t(n.input[0], True), imp.t(n.input[1], True)])
    if bt.kind == "f":
        e = imp.op(_sub(n, 0), "cast", [imp.t(n.input[1])], dtype=bt.name)
        return imp.op(n, "power", [imp.t(n.input[0]), e])
    b = imp.op(_sub(n, 0), "cast", [imp.t(n.input[0])], dtype="float64")
    e = imp.op(_sub(n, 1), "cast", [imp.t(n.input[1])], dtype="float64")
    return imp.op(n, "cast", [imp.op(_sub(n, 2), "power", [b, e])], dtype=bt.name)


CONVERTERS = {
    "Pow": _pow,
    "CastLike": _cast_like, "Mod": _mod, "Size": _size, "Shape": _shape,
    "ArgMax": _arg("argmax"), "ArgMin": _arg("argmin"),
    "ReduceL1": _reduce("sum", _pre("abs")),
    "ReduceL2": _reduce("sum", _pre("square"), _post("sqrt")),
    "ReduceSumSquare": _reduce("sum", _pre("square")),
    "ReduceLogSum": _reduce("sum", None, _logsum_post),
    "ReduceLogSumExp": _reduce("logsumexp"),
    "Selu": _selu, "Celu": _celu, "ThresholdedRelu": _thresholded_relu, "Shrink": _shrink,
    "HardSwish": _hard_swish, "Gelu": _gelu, "Mish": _unary("mish"), "Swish": _swish,
    "Mean": _mean, "IsNaN": _is_nan, "IsInf": _is_inf, "BitShift": _bit_shift,
    "Tan": _unary("tan"), "Sinh": _unary("sinh"), "Cosh": _unary("cosh"),
    "Asin": _unary("arcsin"), "Acos": _unary("arccos"), "Atan": _unary("arctan"),
    "Asinh": _unary("arcsinh"), "Acosh": _unary("arccosh"), "Atanh": _unary("arctanh"),
    "Round": _unary("rint"),
}


def _bits(imp, n, k, name, width):
    """The ``width`` bits of integer tensor ``name`` (two's complement), int64 0/1 each."""
    x = imp.op(_sub(n, k), "cast", [imp.t(name)], dtype="int64")
    return [imp.op(_sub(n, k + 2 * b + 2), "mod", [imp.op(_sub(n, k + 2 * b + 1), "floor_divide",
                                                          [x, 2 ** b]), 2])
            for b in range(width)]


def _bitwise(kind):
    """BitwiseAnd/Or/Xor/Not on integers, bit by bit in int64 (kiln has no bitwise ops);
    bool operands use the logical ops."""
    def conv(imp, n):
        dt = dtype_of(imp, n.input[0])
        if dt == np.bool_:
            logical = {"and": "logical_and", "or": "logical_or", "xor": "logical_xor",
                       "not": "logical_not"}[kind]
            y = imp.op(_sub(n, 0), logical, [imp.t(i) for i in n.input])
            return imp.op(n, "cast", [y], dtype="bool")
        width = dt.itemsize * 8
        if width > 32:
            raise MXNetError(f"ONNX import: Bitwise{kind.title()} on {dt} is not supported")
        a = _bits(imp, n, 1000, n.input[0], width)
        b = _bits(imp, n, 2000, n.input[1], width) if kind != "not" else None
        total = None
        for j in range(width):
            if kind == "and":
                bit = imp.op(_sub(n, 3000 + j), "multiply", [a[j], b[j]])
            elif kind == "or":
                bit = imp.op(_sub(n, 3000 + j), "maximum", [a[j], b[j]])
            elif kind == "xor":
                bit = imp.op(_sub(n, 3000 + j), "mod", [imp.op(_sub(n, 3100 + j), "add",
                                                               [a[j], b[j]]), 2])
            else:
                bit = imp.op(_sub(n, 3000 + j), "subtract", [1, a[j]])
            weight = -(2 ** j) if (dt.kind == "i" and j == width - 1) else 2 ** j
            term = imp.op(_sub(n, 3200 + j), "multiply", [bit, weight])
            total = term if total is None else imp.op(_sub(n, 3300 + j), "add", [total, term])
        return imp.op(n, "cast", [total], dtype=dt.name)
    return conv


def _empty_ok(base, fill):
    """A reduction over a zero-size axis gives the reduction's identity (ONNX), which
    numpy's max/min refuse: a constant of the output shape."""
    def conv(imp, n):
        shape = imp.shape(n.input[0], required=False)
        axes = _axes(imp, n)
        if shape is None or 0 not in shape:
            return base(imp, n)
        r = len(shape)
        axes = sorted({ax % r for ax in axes}) if axes else list(range(r))
        if not any(shape[ax] == 0 for ax in axes):
            return base(imp, n)
        keep = bool(_attrs(n).get("keepdims", 1))
        out = [1 if d in axes else s for d, s in enumerate(shape)] if keep else \
            [s for d, s in enumerate(shape) if d not in axes]
        return const(imp, n, 0, np.full(out, fill, dtype_of(imp, n.input[0])))
    return conv


def _prelu(imp, n):
    """max(x, 0) + min(x, 0) * slope, the slope broadcast to x as ONNX does."""
    x = imp.t(n.input[0])
    pos = imp.op(_sub(n, 0), "maximum", [x, 0.0])
    neg = imp.op(_sub(n, 1), "minimum", [x, 0.0])
    return imp.op(n, "add", [pos, imp.op(_sub(n, 2), "multiply", [neg, imp.t(n.input[1])])])


CONVERTERS.update({"ReduceMax": _empty_ok(_ops_reduce("max"), -np.inf),
                   "ReduceMin": _empty_ok(_ops_reduce("min"), np.inf),
                   "ReduceLogSumExp": _empty_ok(CONVERTERS["ReduceLogSumExp"], -np.inf),
                   "PRelu": _prelu})
CONVERTERS.update({"BitwiseAnd": _bitwise("and"), "BitwiseOr": _bitwise("or"),
                   "BitwiseXor": _bitwise("xor"), "BitwiseNot": _bitwise("not")})
