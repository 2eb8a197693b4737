"""``kiln.np`` elementwise math: unary functions, binary functions with MXNet np's dtype
rules, ``where`` and ``clip``, all over kiln's registry ops (differentiable, traceable).

Example::

    >>> np.maximum(np.array([1, 5]), 3)
    array([3., 5.])
"""
import numpy as onp

from ..ndarray import ops as F
from . import _core
from ._core import binary, wrap
from .reduce_ops import nonzero

_UNARY = """abs absolute:abs sign exp expm1 log log1p log2 log10 sqrt cbrt square reciprocal
sin cos tan arcsin arccos arctan sinh cosh tanh arcsinh arccosh arctanh floor ceil rint
trunc fix negative degrees radians""".split()

_BINARY = {"add": (F.add, "arith"), "subtract": (F.subtract, "arith"),
           "multiply": (F.multiply, "arith"), "divide": (F.divide, "divide"),
           "true_divide": (F.divide, "divide"), "power": (F.power, "arith"),
           "mod": (F.mod, "arith"), "remainder": (F.mod, "arith"),
           "floor_divide": (F.floor_divide, "arith"),
           "maximum": (F.maximum, "arith"), "minimum": (F.minimum, "arith"),
           "hypot": (F.hypot, "arith"),
           "equal": (F.equal, "compare"), "not_equal": (F.not_equal, "compare"),
           "less": (F.lesser, "compare"), "less_equal": (F.lesser_equal, "compare"),
           "greater": (F.greater, "compare"), "greater_equal": (F.greater_equal, "compare"),
           "logical_and": (F.logical_and, "compare"), "logical_or": (F.logical_or, "compare"),
           "logical_xor": (F.logical_xor, "compare")}


def _unary(name, fn):
    def f(x, out=None):
        return wrap(fn(x, out=out))
    f.__name__ = name
    f.__doc__ = f"Elementwise ``{name}`` (numpy's). Example: ``np.{name}(np.ones(2))``."
    return f


def _binary(name, fn, kind):
    def f(x1, x2, out=None):
        res = binary(fn, x1, x2, kind)
        if out is not None:
            out[...] = res
            return out
        return res
    f.__name__ = name
    f.__doc__ = (f"Elementwise ``{name}`` with numpy broadcasting and MXNet np's dtype rules. "
                 f"Example: ``np.{name}(np.ones(2), 2)``.")
    return f


def _build():
    table = {}
    for entry in _UNARY:
        name, _, op = entry.partition(":")
        table[name] = _unary(name, getattr(F, op or name))
    for name, (fn, kind) in _BINARY.items():
        table[name] = _binary(name, fn, kind)
    return table


FUNCTIONS = _build()


def logical_not(x):
    """Elementwise ``not`` (a bool array). Example: ``np.logical_not(x > 0)``."""
    return wrap(_core.cast_to(F.logical_not(x), _core._BOOL))


def where(condition, x=None, y=None):
    """``x`` where ``condition`` holds, else ``y`` (broadcast; scalars allowed).

    Example::

        >>> np.where(np.array([1., -1.]) > 0, 1., 0.)
        array([1., 0.])
    """
    if x is None and y is None:
        return nonzero(condition)
    ref = next((v for v in (x, y, condition) if hasattr(v, "shape")))
    dtype = _core.binary_dtype(x, y, "arith") or _core._F32
    shape = onp.broadcast_shapes(*[tuple(v.shape) for v in (condition, x, y)
                                   if hasattr(v, "shape")])
    return wrap(F.where(_spread(condition, shape, None, ref), _spread(x, shape, dtype, ref),
                        _spread(y, shape, dtype, ref)))


def _spread(v, shape, dtype, ref):
    """``v`` (a scalar or an array) as an array of ``shape`` (in ``dtype`` unless None) on
    ``ref``'s device: kiln's ``where`` takes arrays of one shape."""
    if not hasattr(v, "shape"):
        return F.full_like(F.broadcast_to(F.cast(ref, dtype=dtype), shape=shape), v)
    v = _core.cast_to(v, dtype)
    return v if tuple(v.shape) == tuple(shape) else F.broadcast_to(v, shape=shape)


def clip(a, a_min, a_max, out=None):
    """``a`` limited to ``[a_min, a_max]`` (either may be None). Example: ``np.clip(x, 0, 1)``."""
    lo = -float("inf") if a_min is None else float(a_min)
    hi = float("inf") if a_max is None else float(a_max)
    res = wrap(F.clip(a, lo, hi))
    if out is not None:
        out[...] = res
        return out
    return res
