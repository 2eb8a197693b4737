"""Inline expressions for hot ops in generated code, with in-place variants.

The generic compiled line calls an op's kernel (``k12(xp, t3, a0)``). For the ops that dominate
training steps, the code generator instead emits the numpy/cupy expression itself (no Python
call layers), and when an input dies at that node and has the output's shape and dtype, writes
into it (``xp.maximum(t3, 0, out=t3)``): memory planning without an allocator.

Each emitter returns ``(expr, out_expr)`` templates over ``{0}``, ``{1}``... (inputs) and
``{out}`` (the buffer to write), or None to fall back to the kernel call. ``out_expr`` serves
both in-place updates of a dying input (elementwise ops only, see ``NO_ALIAS``) and, under
``hybridize(static_alloc=True)``, buffers allocated once per compiled graph and kept across
calls for intermediates that never leave the function.
"""
import math

import numpy as np

from ..ndarray.ops._xp import ROWS_MIN, dense_transposed_pays, is_plus_zero


def _same(av_in, av_out):
    return av_in is not None and av_out is not None and tuple(av_in.shape) == tuple(
        av_out.shape) and np.dtype(av_in.dtype) == np.dtype(av_out.dtype)


def _ufunc2(name, rows=False):
    """``rows``: outputs of ``_xp.ROWS_MIN`` elements or more call ``_xp.binary_rows`` (a row
    block per core; bound by codegen as ``_rows``), smaller ones the ufunc itself."""
    def emit(ins, attrs, out):
        if any(a is None for a in ins) or len(ins) != 2:
            return None
        if rows and out is not None and math.prod(out.shape) >= ROWS_MIN:
            return (f"_rows(xp, xp.{name}, {{0}}, {{1}})",
                    f"_rows(xp, xp.{name}, {{0}}, {{1}}, out={{out}})")
        return (f"xp.{name}({{0}}, {{1}})", f"xp.{name}({{0}}, {{1}}, out={{out}})")
    return emit


def _ufunc1(name):
    def emit(ins, attrs, out):
        return (f"xp.{name}({{0}})", f"xp.{name}({{0}}, out={{out}})")
    return emit


def _relu(ins, attrs, out):
    # _relu: ndarray/ops/_xp.relu, numpy's fast loop for maximum(x, 0) (bound by codegen)
    return ("_relu(xp, {0})", "_relu(xp, {0}, out={out})")


def _maximum(ins, attrs, out):
    if len(ins) == 2 and ins[0] is not None and is_plus_zero(ins[1]):
        return _relu(ins, attrs, out)  # maximum(x, 0): relu's vectorized numpy loop
    return _ufunc2("maximum")(ins, attrs, out)


def _relu_backward(ins, attrs, out):
    # _relu_bwd: ndarray/ops/_xp.relu_backward (one launch on cupy), bound by codegen
    return ("_relu_bwd(xp, {0}, {1})", "_relu_bwd(xp, {0}, {1}, out={out})")


def _dot(ins, attrs, out):
    a, b = ins
    if a is None or b is None or len(a.shape) != 2 or len(b.shape) != 2:
        return None
    lhs = "{0}.T" if attrs.get("transpose_a") else "{0}"
    rhs = "{1}.T" if attrs.get("transpose_b") else "{1}"
    return (f"xp.matmul({lhs}, {rhs})", f"xp.matmul({lhs}, {rhs}, out={{out}})")


def _fully_connected(ins, attrs, out):
    x, w = ins[0], ins[1]
    if x is None or w is None or len(x.shape) != 2:
        return None
    if dense_transposed_pays(x.shape[0], w.shape[0]):
        # _dense: ndarray/ops/_xp.dense, the product as w @ x.T for few rows (numpy)
        if attrs.get("no_bias") or len(ins) < 3 or ins[2] is None:
            return ("_dense(xp, {0}, {1})", "_dense(xp, {0}, {1}, out={out})")
        return ("_dense(xp, {0}, {1}, {2})", "_dense(xp, {0}, {1}, {2}, out={out})")
    if attrs.get("no_bias") or len(ins) < 3 or ins[2] is None:
        return ("xp.matmul({0}, {1}.T)", "xp.matmul({0}, {1}.T, out={out})")
    # _add_into: ndarray/ops/_xp.add_into, the bias added in the product's own new buffer
    return ("_add_into(xp.matmul({0}, {1}.T), {2})",
            "_add_into(xp.matmul({0}, {1}.T, out={out}), {2})")


def _sum(ins, attrs, out):
    x = ins[0]
    axis = attrs.get("axis")
    if x is None or attrs.get("exclude") or out is None or not out.shape:
        return None
    keep = bool(attrs.get("keepdims"))
    if axis is None or axis == ():
        return None  # full reductions return shape (1,): let the kernel do it
    axes = tuple(a % len(x.shape) for a in (axis if isinstance(axis, tuple) else (axis,)))
    if not keep and len(axes) >= len(x.shape):
        return None  # numpy would return a scalar where MXNet returns shape (1,)
    # the array method: numpy's xp.sum wrapper costs microseconds per call on small arrays
    return (f"{{0}}.sum(axis={axes}, keepdims={keep})",
            f"{{0}}.sum(axis={axes}, keepdims={keep}, out={{out}})")


_ACT = {"relu": ("_relu(xp, {0})", "_relu(xp, {0}, out={out})"),
        "tanh": ("xp.tanh({0})", "xp.tanh({0}, out={out})")}


def _activation(ins, attrs, out):
    return _ACT.get(attrs.get("act_type"))


def _clip(ins, attrs, out):
    # floats only (integer data with float bounds is the kernel's business); in place where
    # the input dies: MobileNets' ReLU6 then writes into the convolution's own output
    lo, hi = attrs.get("a_min"), attrs.get("a_max")
    if ins[0] is None or np.dtype(out.dtype).kind != "f" or not all(
            isinstance(v, (int, float)) and np.isfinite(v) for v in (lo, hi)):
        return None
    return (f"xp.clip({{0}}, {float(lo)!r}, {float(hi)!r})",
            f"xp.clip({{0}}, {float(lo)!r}, {float(hi)!r}, out={{out}})")


def _compare(name):
    def emit(ins, attrs, out):
        if len(ins) != 2 or ins[0] is None:
            return None
        return (f"xp.{name}({{0}}, {{1}}).astype('{out.dtype.name}')", None)
    return emit


def _reshape(ins, attrs, out):
    if ins[0] is None or out is None:
        return None
    return (f"{{0}}.reshape({tuple(out.shape)})", None)


EMITTERS = {
    "activation": _activation, "greater": _compare("greater"), "lesser": _compare("less"),
    "greater_equal": _compare("greater_equal"), "lesser_equal": _compare("less_equal"),
    "add": _ufunc2("add", True), "subtract": _ufunc2("subtract", True),
    "multiply": _ufunc2("multiply", True),
    "maximum": _maximum, "minimum": _ufunc2("minimum"), "clip": _clip,
    "exp": _ufunc1("exp"), "tanh": _ufunc1("tanh"), "negative": _ufunc1("negative"),
    "sqrt": _ufunc1("sqrt"), "square": _ufunc1("square"), "abs": _ufunc1("abs"),
    "sign": _ufunc1("sign"), "relu": _relu, "dot": _dot, "fully_connected": _fully_connected,
    "sum": _sum, "reshape": _reshape, "_relu_backward": _relu_backward,
}

# ops whose inline expression returns a view of input 0 (codegen tracks what it may alias)
VIEWS = {"reshape"}


def emit(node, in_avals):
    """Templates for ``node`` or None (use the kernel)."""
    fn = EMITTERS.get(node.op.name)
    if fn is None or node.num_outputs != 1 or node.avals is None:
        return None
    out = node.avals[0]
    # a float result of integer/bool inputs, or mixed dtypes: let the kernel decide the dtype
    if any(a is not None and np.dtype(a.dtype) != np.dtype(out.dtype) for a in in_avals
           if hasattr(a, "dtype")):
        return None
    return fn(in_avals, node.attrs, out)


# elementwise ops: cheap enough to recompute in the backward rather than save (cached.py)
ELEMENTWISE = {"activation", "relu", "sign", "exp", "negative", "sqrt", "square", "abs", "tanh",
               "greater", "lesser", "greater_equal", "lesser_equal", "maximum", "minimum"}

# ops whose output buffer must not alias an input (matmul and reductions read while writing)
NO_ALIAS = {"dot", "fully_connected", "sum"}


def can_overwrite(node, in_aval, out_aval):
    return node.op.name not in NO_ALIAS and _same(in_aval, out_aval)
