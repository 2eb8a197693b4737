"""``kiln.np``: MXNet 1.9's numpy-compatible interface (``from mxnet import np, npx``).

``np.ndarray`` is kiln's NDArray with numpy semantics; every function here runs kiln's
registry ops, so autograd, ``hybridize`` and devices work as for ``kiln.nd``. Gluon blocks
return np arrays for np inputs, and Parameters created after ``npx.set_np()`` hold np arrays.

Example::

    >>> from kiln import np, npx
    >>> npx.set_np()
    >>> x = np.arange(6).reshape(2, 3)
    >>> np.sum(x, axis=1)
    array([ 3., 12.])
"""
import numpy as _onp

from . import linalg, methods, traced  # noqa: F401  (x.sum()... on arrays and traced values)
from . import random_ops as random
from .array import ndarray
from .einsum import einsum
from .creation import (arange, array, asarray, empty, empty_like, eye, full, full_like, identity,
                       linspace, ones, ones_like, zeros, zeros_like)
from .fallback import FUNCTIONS as _FALLBACK
from .manip_ops import (append, arctan2, array_split, atleast_1d, atleast_2d, atleast_3d,
                        bitwise_and, bitwise_not, bitwise_or, bitwise_xor, column_stack, copy,
                        copysign, deg2rad, diagonal, diff, divmod, dsplit, dstack, ediff1d,
                        fabs, fliplr, flipud, float_power, heaviside, hsplit, inner, invert,
                        isneginf, isposinf, ldexp, logspace, modf, nan_to_num, positive, ptp,
                        rad2deg, roll, rot90, row_stack, signbit, take, vdot, vsplit)
from .extra_ops import (argsort, around, average, count_nonzero, diag, flip, hstack, isfinite,
                        isinf, isnan, meshgrid, outer, round, sort, trace, tril, triu, vstack)
from .math_ops import FUNCTIONS as _MATH
from .pad_ops import (broadcast_arrays, diagflat, frexp, isclose, pad, real, rollaxis,
                      take_along_axis)
from .math_ops import clip, logical_not, where
from .reduce_ops import (all, amax, amin, any, argmax, argmin, cumsum, max, mean, min, nonzero,
                         prod, std, sum, var)
from .shape_ops import (broadcast_to, concatenate, dot, expand_dims, matmul, moveaxis, ravel,
                        repeat, reshape, split, squeeze, stack, swapaxes, tensordot, tile,
                        transpose)

# numpy's dtype names and constants, as MXNet np re-exports them
float16, float32, float64 = _onp.float16, _onp.float32, _onp.float64
int8, int32, int64, uint8, bool_ = _onp.int8, _onp.int32, _onp.int64, _onp.uint8, _onp.bool_
pi, e, inf, nan, newaxis = _onp.pi, _onp.e, _onp.inf, _onp.nan, None
dtype = _onp.dtype
bool = _onp.bool_  # noqa: A001 - MXNet np's name
NAN = NaN = _onp.nan
PINF, NINF, PZERO, NZERO = _onp.inf, -_onp.inf, 0.0, -0.0
finfo, iinfo, promote_types, result_type = _onp.finfo, _onp.iinfo, _onp.promote_types, \
    _onp.result_type
min_scalar_type, set_printoptions = _onp.min_scalar_type, _onp.set_printoptions
product, alltrue, sometrue, round_ = prod, all, any, round
globals().update(_FALLBACK)


def shape(a):
    """``a``'s shape (a tuple). Example: ``np.shape(np.ones((2, 3)))``."""
    return tuple(a.shape)


def size(a, axis=None):
    """The number of elements (along ``axis``). Example: ``np.size(np.ones((2, 3)))``."""
    return a.size if axis is None else a.shape[axis]


def ndim(a):
    """The number of axes. Example: ``np.ndim(np.ones((2, 3)))``."""
    return a.ndim


def may_share_memory(a, b, max_work=None):
    """Whether ``a`` and ``b`` may share memory (their host buffers overlap)."""
    return _onp.may_share_memory(a._data, b._data)


shares_memory = may_share_memory

(abs, absolute, sign, exp, expm1, log, log1p, log2, log10, sqrt, cbrt, square, reciprocal,  # noqa: A001
 sin, cos, tan, arcsin, arccos, arctan, sinh, cosh, tanh, arcsinh, arccosh, arctanh, floor, ceil,
 rint, trunc, fix, negative, degrees, radians) = (_MATH[n] for n in (
    "abs absolute sign exp expm1 log log1p log2 log10 sqrt cbrt square reciprocal sin cos tan "
    "arcsin arccos arctan sinh cosh tanh arcsinh arccosh arctanh floor ceil rint trunc fix "
    "negative degrees radians").split())
(add, subtract, multiply, divide, true_divide, power, mod, remainder, floor_divide, maximum,
 minimum, hypot, equal, not_equal, less, less_equal, greater, greater_equal, logical_and,
 logical_or, logical_xor) = (_MATH[n] for n in (
    "add subtract multiply divide true_divide power mod remainder floor_divide maximum minimum "
    "hypot equal not_equal less less_equal greater greater_equal logical_and logical_or "
    "logical_xor").split())

__all__ = ["ndarray", "random", "linalg", "array", "asarray", "zeros", "ones", "empty", "full",
           "zeros_like", "ones_like", "empty_like", "full_like", "arange", "linspace", "eye",
           "identity", "where", "clip", "logical_not", "sum", "mean", "prod", "max", "min",
           "amax", "amin", "var", "std", "argmax", "argmin", "nonzero", "all", "any", "cumsum",
           "reshape", "ravel", "transpose", "swapaxes", "moveaxis", "expand_dims", "squeeze",
           "concatenate", "stack", "split", "dot", "matmul", "tensordot", "broadcast_to",
           "tile", "repeat", "sort", "argsort", "flip", "hstack", "vstack", "outer", "meshgrid",
           "triu", "tril", "diag", "trace", "isnan", "isinf", "isfinite", "round", "around",
           "count_nonzero", "average", "append", "arctan2", "array_split", "atleast_1d",
           "atleast_2d", "atleast_3d", "bitwise_and", "bitwise_not", "bitwise_or",
           "bitwise_xor", "column_stack", "copy", "copysign", "deg2rad", "diagonal", "diff",
           "divmod", "dsplit", "dstack", "ediff1d", "fabs", "fliplr", "flipud", "float_power",
           "heaviside", "hsplit", "inner", "invert", "isneginf", "isposinf", "ldexp",
           "logspace", "modf", "nan_to_num", "positive", "ptp", "rad2deg", "roll", "rot90",
           "row_stack", "signbit", "take", "vdot", "vsplit", "shape", "size", "ndim",
           "may_share_memory", "shares_memory", "product", "alltrue", "sometrue", "round_",
           "finfo", "iinfo", "promote_types", "result_type", "min_scalar_type",
           "set_printoptions", "einsum", "pad", "take_along_axis", "broadcast_arrays",
           "diagflat", "isclose", "frexp", "real", "rollaxis"] + sorted(_MATH) + sorted(_FALLBACK)
