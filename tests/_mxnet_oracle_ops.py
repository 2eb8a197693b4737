"""Operator cases for the MXNet differential battery (see ``_mxnet_oracle.py``).

Each ``add_*`` function appends cases to a :class:`_mxnet_oracle.Suite`. Inputs keep away from
kinks, ties and domain edges so that MXNet and kiln can only differ by a real disagreement.
"""
import numpy as np
from _mxnet_oracle import head

SLICE = lambda *a: {"slice": list(a)}  # noqa: E731
TUP = lambda *a: {"tuple": list(a)}  # noqa: E731
ELL = {"ellipsis": 1}

# unary op -> input range (lo, hi); "away" ranges are sign-symmetric and avoid 0
UNARY = {
    "abs": (-2, 2), "arccos": (-0.9, 0.9), "arccosh": (1.2, 3), "arcsin": (-0.9, 0.9),
    "arcsinh": (-2, 2), "arctan": (-2, 2), "arctanh": (-0.9, 0.9), "cbrt": (0.2, 2),
    "ceil": (-2, 2), "cos": (-2, 2), "cosh": (-2, 2), "degrees": (-2, 2), "erf": (-2, 2),
    "exp": (-2, 2), "expm1": (-2, 2), "fix": (-2, 2), "floor": (-2, 2), "log": (0.1, 3),
    "log10": (0.1, 3), "log1p": (-0.5, 2), "log2": (0.1, 3), "negative": (-2, 2),
    "radians": (-2, 2), "rcbrt": (0.2, 2), "reciprocal": (0.2, 2), "relu": (-2, 2),
    "rint": (-2, 2), "round": (-2, 2), "rsqrt": (0.2, 2), "sigmoid": (-3, 3), "sign": (-2, 2),
    "sin": (-2, 2), "sinh": (-2, 2), "softsign": (-2, 2), "sqrt": (0.1, 3),
    "square": (-2, 2), "tan": (-1.2, 1.2), "tanh": (-2, 2), "trunc": (-2, 2),
    "identity": (-2, 2), "stop_gradient": (-2, 2), "BlockGrad": (-2, 2), "logical_not": (-1, 1),
    "softmax": (-2, 2), "log_softmax": (-2, 2), "softmin": (-2, 2),
}
INT_UNARY = ("abs", "negative", "square", "sign", "relu", "ceil", "floor", "round", "logical_not",
             "sqrt", "exp", "identity", "rint", "fix", "trunc", "log", "tanh", "sin")

BINARY = ("add", "subtract", "multiply", "divide", "maximum", "minimum", "power", "equal",
          "not_equal", "greater", "greater_equal", "lesser", "lesser_equal", "logical_and",
          "logical_or", "logical_xor", "true_divide")
BROADCAST = ("broadcast_add", "broadcast_plus", "broadcast_sub", "broadcast_minus",
             "broadcast_mul", "broadcast_div", "broadcast_mod", "broadcast_power",
             "broadcast_maximum", "broadcast_minimum", "broadcast_equal", "broadcast_not_equal",
             "broadcast_greater", "broadcast_greater_equal", "broadcast_lesser",
             "broadcast_lesser_equal", "broadcast_logical_and", "broadcast_logical_or",
             "broadcast_logical_xor")
SAME_SHAPE = ("elemwise_add", "elemwise_sub", "elemwise_mul", "elemwise_div", "_plus", "_add",
              "_minus", "_sub", "_mul", "_div", "_mod", "_power", "_maximum", "_minimum",
              "_equal", "_not_equal", "_greater", "_greater_equal", "_lesser", "_lesser_equal",
              "_logical_and", "_logical_or", "_logical_xor")


def _positive_for(name):
    return "power" in name


def add_unary(s):
    for name, (lo, hi) in UNARY.items():
        s.op(f"nd.{name}", s.arr((3, 4), lo=lo, hi=hi), _grad=True)
        if name not in ("softmax", "log_softmax", "softmin"):
            s.op(f"nd.{name}", s.arr((2, 3), "float64", lo=lo, hi=hi), _grad=True)
    for name in INT_UNARY:
        s.op(f"nd.{name}", s.arr((2, 3), "int32", lo=-3, hi=4) if name not in ("sqrt", "log")
             else s.arr((2, 3), "int32", lo=1, hi=9))
    for name in ("exp", "sigmoid", "tanh", "sqrt", "relu", "softmax", "log"):
        s.op(f"nd.{name}", s.arr((2, 3), "float16", 0.2, 2), _grad=True, _tol=(2e-3, 2e-3))
    s.op("nd.hard_sigmoid", s.arr((3, 4), lo=-4, hi=4), _grad=True)
    s.op("nd.hard_sigmoid", s.arr((3, 4), lo=-4, hi=4), alpha=0.3, beta=0.4, _grad=True)
    s.op("nd.SoftmaxActivation", s.arr((2, 3, 4)), mode="channel", _grad=True)
    s.op("nd.SoftmaxActivation", s.arr((3, 4)), _grad=True)
    # MXNet 1.9.1 bug (not in MXNET-NOTES yet): mode="instance" on a 3-D input normalizes over
    # the last axis forward but its backward sums over axis 1; hold kiln to the right gradient
    x = s.rng.uniform(-2, 2, (2, 3, 4)).astype(np.float32)
    y = np.exp(x) / np.exp(x).sum(-1, keepdims=True)
    h = head(x.shape)
    ref = s.arr(values=x)
    right = s.arr(values=y * (h - (h * y).sum(-1, keepdims=True)))
    s.op("nd.SoftmaxActivation", ref, mode="instance", _grad=True,
         _expect={f"grad:{ref['$']}": right["$"]})
    for act in ("relu", "sigmoid", "tanh", "softrelu", "softsign"):
        s.op("nd.Activation", s.arr((2, 5)), act_type=act, _grad=True)
    s.op("nd.clip", s.arr((3, 4), lo=-3, hi=3), a_min=-1.0, a_max=1.5, _grad=True)
    s.op("nd.clip", s.arr((3, 4), "int32", lo=-5, hi=5), a_min=-2, a_max=3)
    s.op("nd.cast", s.arr((2, 3), lo=-3, hi=3), dtype="int32")
    s.op("nd.Cast", s.arr((2, 3)), dtype="float64", _grad=True)
    s.op("nd.cast", s.arr((2, 3), "int32", lo=-3, hi=3), dtype="float32")
    s.op("nd.amp_cast", s.arr((2, 3)), dtype="float16")


def add_binary(s):
    for name in BINARY:
        pos = _positive_for(name) or name in ("divide", "true_divide", "mod")
        lo, hi = (0.5, 2) if pos else (-2, 2)
        s.op(f"nd.{name}", s.arr((2, 3, 4), lo=lo, hi=hi), s.arr((2, 3, 4), lo=lo, hi=hi),
             _grad=not name.startswith(("equal", "not", "greater", "lesser", "logical")))
        s.op(f"nd.{name}", s.arr((2, 3, 4), lo=lo, hi=hi), s.arr((1, 3, 1), lo=lo, hi=hi),
             _grad=True)
        s.op(f"nd.{name}", s.arr((2, 3), lo=lo, hi=hi), 1.5)
        s.op(f"nd.{name}", 1.5, s.arr((2, 3), lo=lo, hi=hi))
        s.op(f"nd.{name}", s.arr((2, 3), "int32", lo=1, hi=6), s.arr((2, 3), "int32", lo=1, hi=4))
    for name in BROADCAST:
        lo = 0.5 if "power" in name or "div" in name or "mod" in name else -2
        s.op(f"nd.{name}", s.arr((2, 1, 4), lo=lo), s.arr((3, 1), lo=lo), _grad=True)
        s.op(f"nd.{name}", s.arr((2, 3), "float64", lo=lo), s.arr((2, 1), "float64", lo=lo),
             _grad=True)
    for name in SAME_SHAPE:
        lo = 0.5 if "power" in name or "div" in name or "mod" in name else -2
        s.op(f"nd.{name}", s.arr((3, 4), lo=lo), s.arr((3, 4), lo=lo), _grad=True)
    # mod/floor semantics with negative operands (sign follows the divisor as in numpy?)
    s.op("nd.broadcast_mod", s.arr(values=[-5.5, -3, 3, 5.5, 7]),
         s.arr(values=[2, 2, -2, -2, 3]))
    s.op("nd.broadcast_mod", s.arr(values=[-5, -3, 3, 5, 7], dtype="int32"),
         s.arr(values=[2, 2, -2, -2, 3], dtype="int32"))
    for name in ("broadcast_add", "broadcast_mul", "broadcast_greater"):  # ndim differs
        s.op(f"nd.{name}", s.arr((2, 3, 4)), s.arr((4,)), _grad=True)
    for name in ("add", "multiply", "maximum", "power", "equal"):  # half precision
        s.op(f"nd.{name}", s.arr((2, 3), "float16", 0.5, 2), s.arr((2, 3), "float16", 0.5, 2),
             _grad=name != "equal", _tol=(2e-3, 2e-3))
    s.op("nd.add_n", s.arr((2, 3)), s.arr((2, 3)), s.arr((2, 3)), _grad=True)
    s.op("nd.ElementWiseSum", s.arr((2, 3)), s.arr((2, 3)), _grad=True)


REDUCE = ("sum", "mean", "prod", "max", "min", "nansum", "nanprod")


def add_reduce(s):
    configs = [{}, {"axis": 1}, {"axis": -1, "keepdims": True}, {"axis": (0, 2)},
               {"axis": 1, "exclude": True}, {"axis": (0, -1), "keepdims": True, "exclude": True}]
    for name in REDUCE:
        for kw in configs:
            lo, hi = (0.5, 1.5) if "prod" in name else (-2, 2)
            s.op(f"nd.{name}", s.arr((2, 3, 4), lo=lo, hi=hi), **kw, _grad=True)
        s.op(f"nd.{name}", s.arr((2, 3), "float64", lo=0.5, hi=1.5), axis=0, _grad=True)
        s.op(f"nd.{name}", s.arr((2, 3), "int32", lo=-3, hi=4), axis=1)
    for name in ("sum", "mean", "max"):
        s.op(f"nd.{name}", s.arr((3, 4), "float16"), axis=1, _grad=True, _tol=(3e-3, 3e-3))
    nan = s.arr(values=[[1.0, np.nan, 2.0], [np.nan, 3.0, 0.5]])
    s.op("nd.nansum", nan, axis=1)
    s.op("nd.nanprod", nan)
    for name in ("sum_axis", "max_axis", "min_axis"):
        s.op(f"nd.{name}", s.arr((2, 3, 4)), axis=1, _grad=True)
    for kw in ({}, {"ord": 1, "axis": 1}, {"ord": 2, "axis": -1, "keepdims": True},
               {"axis": (0, 1)}, {"ord": 1}):
        s.op("nd.norm", s.arr((2, 3, 4)), **kw, _grad=True)
    for name in ("argmax", "argmin"):
        for kw in ({}, {"axis": 1}, {"axis": -1, "keepdims": True}):
            s.op(f"nd.{name}", s.arr((2, 3, 4)), **kw)
        s.op(f"nd.{name}", s.arr((3, 4), "int32", lo=0, hi=100), axis=0)
        s.op(f"nd.{name}", s.arr((3, 4), "float64"), axis=1)
    s.op("nd.argmax_channel", s.arr((3, 5)))


def add_shape(s):
    for shape in ((4, 0, -1), (0, -1), (-2,), (-3, 4), (-4, 1, 2, -2), (0, -3), (-1,),
                  (2, -4, -1, 3, 4)):
        s.op("nd.reshape", s.arr((2, 3, 4)), shape=shape, _grad=True)
    s.op("nd.reshape", s.arr((10, 5, 4)), shape=(-1, 0), reverse=True)
    s.op("nd.Reshape", s.arr((2, 3, 4)), shape=(6, -1), _grad=True)
    s.op("nd.reshape_like", s.arr((2, 3, 4)), s.arr((6, 4)), _grad=[])
    s.op("nd.flatten", s.arr((2, 3, 4)), _grad=True)
    s.op("nd.Flatten", s.arr((2, 3)), _grad=True)
    s.op("nd.flatten", s.arr((5,)))
    for ax in (0, 1, -1, 3):
        s.op("nd.expand_dims", s.arr((2, 3, 4)), axis=ax, _grad=True)
    for kw in ({}, {"axis": 1}, {"axis": (1, 3)}, {"axis": -1}):
        s.op("nd.squeeze", s.arr((2, 1, 3, 1)), **kw, _grad=True)
    for kw in ({}, {"axes": (1, 0, 2)}, {"axes": (2, 0, 1)}):
        s.op("nd.transpose", s.arr((2, 3, 4)), **kw, _grad=True)
    s.op("nd.swapaxes", s.arr((2, 3, 4)), dim1=0, dim2=2, _grad=True)
    s.op("nd.SwapAxis", s.arr((2, 3, 4)), dim1=-1, dim2=1, _grad=True)
    for name in ("flip", "reverse"):
        s.op(f"nd.{name}", s.arr((2, 3, 4)), axis=1, _grad=True)
        s.op(f"nd.{name}", s.arr((2, 3, 4)), axis=(0, 2), _grad=True)
    for reps in ((2,), (2, 1), (1, 2, 2, 1), (2, 1, 3)):
        s.op("nd.tile", s.arr((2, 3)), reps=reps, _grad=True)
    for kw in ({"repeats": 2}, {"repeats": 3, "axis": 1}, {"repeats": 2, "axis": -1}):
        s.op("nd.repeat", s.arr((2, 3)), **kw, _grad=True)
    for name in ("concat", "Concat"):
        s.op(f"nd.{name}", s.arr((2, 3)), s.arr((2, 2)), dim=1, _grad=True)
    s.op("nd.concat", s.arr((2, 3)), s.arr((1, 3)), s.arr((3, 3)), dim=0, _grad=True)
    s.op("nd.concat", s.arr((2, 3, 2)), s.arr((2, 3, 1)), dim=-1, _grad=True)
    for ax in (0, 1, -1):
        s.op("nd.stack", s.arr((2, 3)), s.arr((2, 3)), axis=ax, _grad=True)
    for kw in ({"num_outputs": 2}, {"num_outputs": 3, "axis": 0}, {"num_outputs": 3, "axis": 0,
                                                                  "squeeze_axis": True},
               {"num_outputs": 2, "axis": -1}):
        for name in ("split", "SliceChannel"):
            s.op(f"nd.{name}", s.arr((3, 4)), **kw, _grad=True)
    for kw in ({"indices_or_sections": 2, "axis": 1},
               {"indices_or_sections": TUP(1, 3), "axis": 1},
               {"indices_or_sections": 3, "axis": 0, "squeeze_axis": True}):
        s.op("nd.split_v2", s.arr((3, 4)), **kw, _grad=True)
    for kw in ({"begin": (0, 1), "end": (2, 3)}, {"begin": (None, 1), "end": (None, None)},
               {"begin": (1, None), "end": (None, -1), "step": (1, 2)},
               {"begin": (2, 3), "end": (0, None), "step": (-1, -2)},
               {"begin": (-2,), "end": (None,)}):
        s.op("nd.slice", s.arr((3, 4)), **kw, _grad=True)
    s.op("nd.crop", s.arr((3, 4)), begin=(0, 1), end=(2, 3), _grad=True)
    for kw in ({"axis": 0, "begin": 1, "end": 3}, {"axis": -1, "begin": 0, "end": None},
               {"axis": 1, "begin": -3, "end": -1}):
        s.op("nd.slice_axis", s.arr((3, 4)), **kw, _grad=True)
    for kw in ({}, {"axes": (0,)}, {"axes": (-1,)}):
        s.op("nd.slice_like", s.arr((3, 4)), s.arr((2, 3)), **kw, _grad=[])
    s.op("nd.broadcast_to", s.arr((1, 3)), shape=(2, 3), _grad=True)
    s.op("nd.broadcast_to", s.arr((2, 1, 1)), shape=(0, 3, 4), _grad=True)
    for name in ("broadcast_axis", "broadcast_axes"):
        s.op(f"nd.{name}", s.arr((2, 1, 1)), axis=(1, 2), size=(3, 2), _grad=True)
    s.op("nd.broadcast_like", s.arr((1, 3)), s.arr((4, 3)), _grad=[])
    s.op("nd.broadcast_like", s.arr((1, 3)), s.arr((3, 4)), lhs_axes=(0,), rhs_axes=(1,),
         _grad=[])
    for mode, kw in (("constant", {"constant_value": 1.5}), ("edge", {}), ("reflect", {})):
        s.op("nd.pad", s.arr((1, 2, 3, 4)), mode=mode, pad_width=(0, 0, 0, 0, 1, 2, 2, 1),
             **kw, _grad=True)
    s.op("nd.Pad", s.arr((1, 2, 3, 4, 3)), mode="constant", pad_width=(0, 0, 0, 0, 1, 1, 0, 1,
                                                                         1, 0), _grad=True)
    s.op("nd.pad", s.arr((2, 2, 3, 4)), mode="constant", pad_width=(1, 1, 0, 0, 1, 1, 1, 1),
         _err=True)
    s.op("nd.depth_to_space", s.arr((1, 8, 2, 3)), block_size=2, _grad=True)
    s.op("nd.space_to_depth", s.arr((1, 2, 4, 6)), block_size=2, _grad=True)
    for kw in ({}, {"k": 1}, {"k": -1}):
        s.op("nd.diag", s.arr((3, 4)), **kw, _grad=True)
        s.op("nd.diag", s.arr((3,)), **kw, _grad=True)
    s.op("nd.diag", s.arr((2, 3, 4)), k=1, axis1=1, axis2=2)
    s.op("nd.shape_array", s.arr((2, 3, 4)))
    s.op("nd.size_array", s.arr((2, 3, 4)))
    cond = s.arr(values=[[1, 0, 2], [0, 0, -1]])
    x, y = s.arr((2, 3)), s.arr((2, 3))
    s.op("nd.where", cond, x, y, _grad=[x["$"], y["$"]])
    c1 = s.arr(values=[0, 1])
    x, y = s.arr((2, 3)), s.arr((2, 3))
    s.op("nd.where", c1, x, y, _grad=[x["$"], y["$"]])
    s.op("nd.where", s.arr(values=[1, 0, 1], dtype="int32"), s.arr((3,), "int32", 0, 9),
         s.arr((3,), "int32", 0, 9))


def _sort_grad(x, axis, ascend):
    """The right gradient of sort along ``axis``: each head value goes back to its source."""
    order = np.argsort(x if ascend else -x, axis=axis, kind="stable")
    dx = np.zeros_like(x)
    np.put_along_axis(dx, order, head(x.shape), axis=axis)
    return dx


def add_sort(s):
    for kw in ({}, {"axis": 0}, {"is_ascend": False}, {"axis": None}):
        x = s.rng.uniform(-2, 2, (3, 4)).astype(np.float32)
        ref = s.arr(values=x)
        axis, asc = kw.get("axis", -1), kw.get("is_ascend", True)
        # MXNet 1.9.1 raises in sort's backward when the axis is left at its default (-1):
        # kiln is held to the right values and gradient instead
        exp = {}
        if "axis" not in kw:
            srt = np.sort(x, axis=-1)[:, ::1 if asc else -1]
            exp = {"out0": s.arr(values=srt)["$"],
                   f"grad:{ref['$']}": s.arr(values=_sort_grad(x, -1, asc))["$"]}
        s.op("nd.sort", ref, **kw, _grad=[] if axis is None else True, _expect=exp,
             _mxbug="axis" not in kw)
        s.op("nd.argsort", s.arr((3, 4)), **kw)
    s.op("nd.argsort", s.arr((3, 4)), dtype="int32")
    for kw in ({}, {"k": 2}, {"k": 2, "ret_typ": "value"}, {"k": 2, "ret_typ": "both"},
               {"k": 2, "ret_typ": "mask"}, {"k": 3, "axis": 0, "is_ascend": True},
               {"k": 2, "ret_typ": "both", "dtype": "int32"}, {"axis": None, "k": 3},
               {"k": 2, "axis": -1, "ret_typ": "value", "is_ascend": True}):
        s.op("nd.topk", s.arr((3, 4)), **kw,
             _grad=True if kw.get("ret_typ") in ("value", "both") else [])
    s.op("nd.sort", s.arr((3, 4), "int32", 0, 50))
    s.op("nd.topk", s.arr((3, 4), "float64"), k=2, ret_typ="both")


def add_index(s):
    for kw in ({}, {"axis": 1}, {"mode": "wrap"}, {"axis": -1, "mode": "wrap"},
               {"mode": "clip", "axis": 1}):
        x = s.arr((4, 3))
        s.op("nd.take", x, s.arr(values=[[0, 2], [-1, 5]]), **kw, _grad=[x["$"]])
    x = s.arr((4, 3))
    s.op("nd.take", x, s.arr(values=[3, 0, 1], dtype="int32"), _grad=[x["$"]])
    for kw in ({}, {"axis": 0}, {"keepdims": True}, {"mode": "wrap"},
               {"axis": 1, "mode": "wrap", "keepdims": True}):
        x = s.arr((3, 4))
        idx = s.arr(values=[4, -1, 2] if kw.get("axis", 1) != 0 else [0, 2, 1, 5])
        s.op("nd.pick", x, idx, **kw, _grad=[x["$"]])
    for kw in ({"depth": 4}, {"depth": 3, "on_value": 2.0, "off_value": -1.0},
               {"depth": 4, "dtype": "int32"}, {"depth": 5, "dtype": "float64"}):
        s.op("nd.one_hot", s.arr(values=[0, 3, 1, 4, -1]), **kw)
    s.op("nd.one_hot", s.arr(values=[[0, 2], [1, 1]], dtype="int32"), depth=3)
    x = s.arr((3, 4))
    s.op("nd.gather_nd", x, s.arr(values=[[0, 2, 1], [1, 3, 0]]), _grad=[x["$"]])
    x = s.arr((2, 3, 4))
    s.op("nd.gather_nd", x, s.arr(values=[[1, 0], [2, 1]], dtype="int32"), _grad=[x["$"]])
    v = s.arr((3,))
    s.op("nd.scatter_nd", v, s.arr(values=[[0, 2, 1], [1, 3, 0]]), shape=(3, 4),
         _grad=[v["$"]])
    for name in ("Embedding",):
        w = s.arr((5, 3))
        s.op(f"nd.{name}", s.arr(values=[[0, 4], [2, 2]]), w, input_dim=5, output_dim=3,
             _grad=[w["$"]])
    for kw in ({}, {"use_sequence_length": True}, {"use_sequence_length": True, "value": -1.0},
               {"use_sequence_length": True, "axis": 1}):
        x = s.arr((3, 2, 4)) if kw.get("axis") != 1 else s.arr((2, 3, 4))
        args = [x, s.arr(values=[1, 3])] if kw else [x]
        for name in ("SequenceMask",):
            s.op(f"nd.{name}", *args, **kw, _grad=[x["$"]])


def add_linalg(s):
    for kw in ({}, {"transpose_a": True}, {"transpose_b": True},
               {"transpose_a": True, "transpose_b": True}):
        a = s.arr((4, 3)) if kw.get("transpose_a") else s.arr((3, 4))
        b = s.arr((2, 4)) if kw.get("transpose_b") else s.arr((4, 2))
        s.op("nd.dot", a, b, **kw, _grad=True)
        a = s.arr((2, 4, 3)) if kw.get("transpose_a") else s.arr((2, 3, 4))
        b = s.arr((2, 5, 4)) if kw.get("transpose_b") else s.arr((2, 4, 5))
        s.op("nd.batch_dot", a, b, **kw, _grad=True)
    s.op("nd.dot", s.arr((4,)), s.arr((4,)), _grad=True)
    s.op("nd.dot", s.arr((3, 4)), s.arr((4,)), _grad=True)
    s.op("nd.dot", s.arr((2, 3, 4)), s.arr((4, 2)), _grad=True)
    s.op("nd.dot", s.arr((3, 4), "float64"), s.arr((4, 2), "float64"), _grad=True)
    s.op("nd.linalg_gemm2", s.arr((3, 4)), s.arr((4, 2)), alpha=2.0, _grad=True)
    s.op("nd.linalg_gemm2", s.arr((2, 4, 3)), s.arr((2, 2, 4)), transpose_a=True,
         transpose_b=True, _grad=True)
    s.op("nd.linalg_gemm", s.arr((3, 4)), s.arr((4, 2)), s.arr((3, 2)), alpha=2.0, beta=0.5,
         _grad=True)
    s.op("nd.linalg_gemm", s.arr((4, 3)), s.arr((2, 4)), s.arr((3, 2)), transpose_a=True,
         transpose_b=True, _grad=True)


def add_creation(s):
    for dt in ("float32", "float64", "int32"):
        s.op("nd.zeros", shape=(2, 3), dtype=dt)
        s.op("nd.ones", shape=(2, 3), dtype=dt)
        s.op("nd.full", shape=(2, 3), val=2.5, dtype=dt)
        s.op("nd.eye", N=3, M=4, k=1, dtype=dt)
    s.op("nd.zeros", (3,))
    s.op("nd.ones", shape=4)
    s.op("nd.full", (2,), 7)
    s.op("nd.empty", (2, 3), _cmp="shape")
    s.op("nd.eye", 3)
    s.op("nd.eye", 3, k=-1)
    for kw in ({"start": 5}, {"start": 1, "stop": 7, "step": 2}, {"start": 0, "stop": 3,
                                                                  "repeat": 2},
               {"start": 0, "stop": 1, "step": 0.25}, {"start": 2, "stop": 8, "dtype": "int32"},
               {"start": 0, "stop": 3, "dtype": "float64"}):
        s.op("nd.arange", **kw)
    for kw in ({"start": 0, "stop": 1, "num": 5}, {"start": 0, "stop": 1, "num": 5,
                                                   "endpoint": False},
               {"start": -1, "stop": 3, "num": 3, "dtype": "float64"}):
        s.op("nd.linspace", **kw)
    for name in ("zeros_like", "ones_like"):
        s.op(f"nd.{name}", s.arr((2, 3)))
        s.op(f"nd.{name}", s.arr((2, 3), "int32", 0, 5))
    for name, kw in (("random_uniform", {"low": 0, "high": 1}), ("uniform", {}),
                     ("random_normal", {"loc": 0, "scale": 1}), ("normal", {}),
                     ("random_randint", {"low": 0, "high": 5})):
        s.op(f"nd.{name}", shape=(2, 3), **kw, _cmp="shape")
    s.op("nd.random_uniform", shape=(2, 3), dtype="float64", _cmp="shape")
    s.op("nd.shuffle", s.arr((4, 3)), _cmp="shape")
    # MXNet keeps these underscore names in mx.nd._internal (the harness looks there too)
    s.op("nd._copy", s.arr((2, 3)), _grad=True)
    s.op("nd._crop_assign", s.arr((3, 4)), s.arr((2, 2)), begin=(1, 1), end=(3, 3))
    for name, kw in (("_random_uniform", {"low": -1, "high": 1}), ("_random_normal", {}),
                     ("_random_randint", {"low": 0, "high": 9})):
        s.op(f"nd.{name}", shape=(2, 3), **kw, _cmp="shape")
    s.op("nd._shuffle", s.arr((4, 3)), _cmp="shape")
    for name in ("_sample_normal", "_sample_uniform"):
        s.op(f"nd.{name}", s.arr(values=[0, 1]), s.arr(values=[1, 3]), shape=(2,), _cmp="shape")
    s.op("nd.sample_uniform", s.arr(values=[0, 1]), s.arr(values=[1, 3]), shape=(3,),
         _cmp="shape")
    s.op("nd.sample_normal", s.arr(values=[0, 1]), s.arr(values=[1, 3]), _cmp="shape")
