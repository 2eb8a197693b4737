"""Unary math ops, one table row each: kernel, gradient, ONNX lowering, sample domain, reference.

Gradients use the saved output ``o[0]`` where that is cheaper (exp, sqrt, tanh...).
"""
import math

import numpy as np

from .. import ops as F
from .._registry import Sample, register
from . import _xp
from ._rules import same
from ._samples import away, pos, rnd

_SQRT_PI = math.sqrt(math.pi)


def _onnx1(op_type):
    return lambda g, i, a, o: g.op(op_type, i[0])


def _one(g, a):
    return g.const(np.asarray(1, a[0].dtype))


def _round_half_away(xp, x):
    return xp.sign(x) * xp.floor(xp.abs(x) + 0.5)


def _onnx_round(g, i, a, o):
    half = g.const(np.asarray(0.5, a[0].dtype))
    return g.op("Mul", g.op("Sign", i[0]), g.op("Floor", g.op("Add", g.op("Abs", i[0]), half)))


def _onnx_trunc(g, i, a, o):
    return g.op("Mul", g.op("Sign", i[0]), g.op("Floor", g.op("Abs", i[0])))


def _ref_erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def _exp(xp, x):
    # numpy's SIMD float32 exp can be 1 ulp off (exp(1) = 2.718282, not 2.7182817); MXNet's
    # expf is correctly rounded, so half/single precision goes through float64
    if x.dtype.kind == "f" and x.dtype.itemsize < 8:
        return xp.exp(x.astype(np.float64)).astype(x.dtype)
    return xp.exp(x)


# name: (kernel(xp, x), grad(x, y, g), onnx, sample maker, reference, second order, saves output)
_TABLE = {
    "negative": (lambda xp, x: xp.negative(x), lambda x, y, g: F.negative(g),
                 _onnx1("Neg"), rnd, np.negative, True, False),
    "abs": (lambda xp, x: xp.abs(x), lambda x, y, g: g * F.sign(x),
            _onnx1("Abs"), away, np.abs, True, False),
    "sign": (lambda xp, x: xp.sign(x), None, _onnx1("Sign"), away, np.sign, False, False),
    "exp": (_exp, lambda x, y, g: g * y, _onnx1("Exp"), rnd, np.exp, True, True),
    "expm1": (lambda xp, x: xp.expm1(x), lambda x, y, g: g * F.exp(x),
              lambda g, i, a, o: g.op("Sub", g.op("Exp", i[0]), _one(g, a)), rnd, np.expm1,
              True, False),
    "log": (lambda xp, x: xp.log(x), lambda x, y, g: g / x, _onnx1("Log"), pos, np.log, True,
            False),
    "log1p": (lambda xp, x: xp.log1p(x), lambda x, y, g: g / (x + 1),
              lambda g, i, a, o: g.op("Log", g.op("Add", i[0], _one(g, a))), pos, np.log1p,
              True, False),
    "log2": (lambda xp, x: xp.log2(x), lambda x, y, g: g / (x * math.log(2)),
             lambda g, i, a, o: g.op("Div", g.op("Log", i[0]),
                                     g.const(np.asarray(math.log(2), a[0].dtype))),
             pos, np.log2, True, False),
    "log10": (lambda xp, x: xp.log10(x), lambda x, y, g: g / (x * math.log(10)),
              lambda g, i, a, o: g.op("Div", g.op("Log", i[0]),
                                      g.const(np.asarray(math.log(10), a[0].dtype))),
              pos, np.log10, True, False),
    "sqrt": (lambda xp, x: xp.sqrt(x), lambda x, y, g: g / (2 * y), _onnx1("Sqrt"), pos,
             np.sqrt, True, True),
    "rsqrt": (lambda xp, x: 1 / xp.sqrt(x), lambda x, y, g: g * -0.5 * y * y * y,
              lambda g, i, a, o: g.op("Reciprocal", g.op("Sqrt", i[0])), pos,
              lambda x: 1 / np.sqrt(x), True, True),
    "cbrt": (lambda xp, x: xp.cbrt(x), lambda x, y, g: g / (3 * y * y),
             lambda g, i, a, o: g.op("Pow", i[0], g.const(np.asarray(1 / 3, a[0].dtype))),
             pos, np.cbrt, True, True),
    "rcbrt": (lambda xp, x: 1 / xp.cbrt(x), lambda x, y, g: g * (y * y * y * y) * (-1 / 3),
              lambda g, i, a, o: g.op("Reciprocal", g.op(
                  "Pow", i[0], g.const(np.asarray(1 / 3, a[0].dtype)))),
              pos, lambda x: 1 / np.cbrt(x), True, True),
    "degrees": (lambda xp, x: xp.degrees(x), lambda x, y, g: g * (180 / math.pi),
                lambda g, i, a, o: g.op("Mul", i[0], g.const(np.asarray(180 / math.pi,
                                                                        a[0].dtype))),
                rnd, np.degrees, True, False),
    "radians": (lambda xp, x: xp.radians(x), lambda x, y, g: g * (math.pi / 180),
                lambda g, i, a, o: g.op("Mul", i[0], g.const(np.asarray(math.pi / 180,
                                                                        a[0].dtype))),
                rnd, np.radians, True, False),
    "square": (lambda xp, x: xp.square(x), lambda x, y, g: g * 2 * x,
               lambda g, i, a, o: g.op("Mul", i[0], i[0]), rnd, np.square, True, False),
    "reciprocal": (lambda xp, x: xp.reciprocal(x), lambda x, y, g: F.negative(g) * y * y,
                   _onnx1("Reciprocal"), pos, np.reciprocal, True, True),
    "sin": (lambda xp, x: xp.sin(x), lambda x, y, g: g * F.cos(x), _onnx1("Sin"), rnd, np.sin,
            True, False),
    "cos": (lambda xp, x: xp.cos(x), lambda x, y, g: F.negative(g) * F.sin(x), _onnx1("Cos"),
            rnd, np.cos, True, False),
    "tan": (lambda xp, x: xp.tan(x), lambda x, y, g: g * (1 + y * y), _onnx1("Tan"), rnd,
            np.tan, True, True),
    "arcsin": (lambda xp, x: xp.arcsin(x), lambda x, y, g: g / F.sqrt(1 - x * x),
               _onnx1("Asin"), lambda *s: rnd(*s) * 0.9, np.arcsin, True, False),
    "arccos": (lambda xp, x: xp.arccos(x), lambda x, y, g: F.negative(g) / F.sqrt(1 - x * x),
               _onnx1("Acos"), lambda *s: rnd(*s) * 0.9, np.arccos, True, False),
    "arctan": (lambda xp, x: xp.arctan(x), lambda x, y, g: g / (1 + x * x), _onnx1("Atan"),
               rnd, np.arctan, True, False),
    "sinh": (lambda xp, x: xp.sinh(x), lambda x, y, g: g * F.cosh(x), _onnx1("Sinh"), rnd,
             np.sinh, True, False),
    "cosh": (lambda xp, x: xp.cosh(x), lambda x, y, g: g * F.sinh(x), _onnx1("Cosh"), rnd,
             np.cosh, True, False),
    "tanh": (lambda xp, x: xp.tanh(x), lambda x, y, g: g * (1 - y * y), _onnx1("Tanh"), rnd,
             np.tanh, True, True),
    "arcsinh": (lambda xp, x: xp.arcsinh(x), lambda x, y, g: g / F.sqrt(x * x + 1),
                _onnx1("Asinh"), rnd, np.arcsinh, True, False),
    "arccosh": (lambda xp, x: xp.arccosh(x), lambda x, y, g: g / F.sqrt(x * x - 1),
                _onnx1("Acosh"), lambda *s: pos(*s, lo=1.2, hi=3.0), np.arccosh, True, False),
    "arctanh": (lambda xp, x: xp.arctanh(x), lambda x, y, g: g / (1 - x * x), _onnx1("Atanh"),
                lambda *s: rnd(*s) * 0.9, np.arctanh, True, False),
    "erf": (lambda xp, x: _xp.erf(xp, x),
            lambda x, y, g: g * (2 / _SQRT_PI) * F.exp(F.negative(x * x)), _onnx1("Erf"),
            rnd, _ref_erf, True, False),
    "floor": (lambda xp, x: xp.floor(x), None, _onnx1("Floor"), lambda *s: rnd(*s) * 3,
              np.floor, False, False),
    "ceil": (lambda xp, x: xp.ceil(x), None, _onnx1("Ceil"), lambda *s: rnd(*s) * 3, np.ceil,
             False, False),
    "round": (_round_half_away, None, _onnx_round,
              lambda *s: np.array([-2.5, -1.5, -0.4, 0.5, 1.5, 2.6]), None, False, False),
    "rint": (lambda xp, x: xp.rint(x), None, _onnx1("Round"),
             lambda *s: np.array([-2.5, -1.5, -0.4, 0.5, 1.5, 2.6]), np.rint, False, False),
    "trunc": (lambda xp, x: xp.trunc(x), None, _onnx_trunc, lambda *s: rnd(*s) * 3, np.trunc,
              False, False),
    "fix": (lambda xp, x: xp.trunc(x), None, _onnx_trunc, lambda *s: rnd(*s) * 3, np.trunc,
            False, False),
}


def _keep_int(kernel):
    """MXNet computes math on an integer array in its own type: exp(int32 [2]) is int32 [7]
    (truncated toward zero; NaN becomes INT_MIN), as ``infer=same`` says."""
    def run(xp, x):
        if getattr(x, "dtype", np.dtype(float)).kind not in "iu":  # (scalars pass too)
            return kernel(xp, x)
        with np.errstate(all="ignore"):  # sqrt(-3) -> NaN -> INT_MIN, silently as in MXNet
            res = kernel(xp, x)
            return res if res.dtype == x.dtype else res.astype(x.dtype)
    run.__doc__ = kernel.__doc__
    return run


# The ops that mixed precision runs in float32 (MXNet's AMP list FP32_FUNCS): exponents, logs,
# powers and the functions whose float16 range or accuracy is too small.
_AMP_FP32 = frozenset({"exp", "expm1", "log", "log1p", "log2", "log10", "rsqrt", "rcbrt",
                       "square", "reciprocal", "tan", "arcsin", "arccos", "sinh", "cosh",
                       "arctanh"})


def _register_unary(name, kernel, grad, onnx, make, ref, second, saves):
    def grad_facet(i, o, g):
        return (grad(i[0], o[0] if o else None, g[0]),)

    return register(
        name, _keep_int(kernel), infer=same, grad=grad_facet if grad else None, onnx=onnx,
        samples=[Sample(make(2, 3)), Sample(make(4))], save_outputs=saves,
        ref=ref or (lambda x: np.sign(x) * np.floor(np.abs(x) + 0.5)),
        second_order=second, amp="fp32" if name in _AMP_FP32 else None,
        no_grad=None if grad else "piecewise constant: zero gradient almost everywhere")


for _name, _row in _TABLE.items():
    globals()[_name] = _register_unary(_name, *_row)


def _identity_grad(i, o, g):
    return (g[0],)


identity = register("identity", lambda xp, x: x.copy(), infer=same, grad=_identity_grad,
                    onnx=_onnx1("Identity"), samples=[Sample(rnd(2, 3))], ref=lambda x: x,
                    second_order=True, aliases=("_copy", "copy"))
stop_gradient = register("stop_gradient", lambda xp, x: x, infer=same, grad=None,
                         onnx=_onnx1("Identity"), samples=[Sample(rnd(2, 3))],
                         ref=lambda x: x, aliases=("BlockGrad", "block_grad"),
                         no_grad="stops gradients by definition: its gradient is None")


# ---- smooth_l1 (MXNet's elemwise_binary_scalar_op_extended: ``scalar`` is sigma) ----
def _smooth_l1_kernel(xp, x, scalar=1.0):
    s2 = float(scalar) ** 2
    if s2 == 0.0:  # 1/sigma^2 is infinite: all quadratic, times sigma^2 = 0
        return xp.zeros_like(x)
    ax = xp.abs(x)
    res = xp.where(ax > 1.0 / s2, ax - 0.5 / s2, (0.5 * s2) * x * x)
    return res if res.dtype == x.dtype else res.astype(x.dtype)


def _smooth_l1_grad(i, o, g, scalar=1.0):
    s2 = float(scalar) ** 2
    x = i[0]
    if s2 == 0.0:
        return (F.zeros_like(x),)
    linear = F.greater(F.abs(x), 1.0 / s2)
    return (g[0] * F.where(linear, F.sign(x), x * s2),)


def _smooth_l1_onnx(g, i, a, o, scalar=1.0):
    s2 = float(scalar) ** 2
    dt = a[0].dtype
    if s2 == 0.0:
        return g.op("Mul", i[0], g.const(np.asarray(0, dt)))
    ax = g.op("Abs", i[0])
    linear = g.op("Greater", ax, g.const(np.asarray(1.0 / s2, dt)))
    quad = g.op("Mul", g.op("Mul", i[0], i[0]), g.const(np.asarray(0.5 * s2, dt)))
    return g.op("Where", linear, g.op("Sub", ax, g.const(np.asarray(0.5 / s2, dt))), quad)


def _smooth_l1_ref(x, scalar=1.0):
    s2 = float(scalar) ** 2
    return np.where(np.abs(x) < 1.0 / s2, 0.5 * (float(scalar) * x) ** 2, np.abs(x) - 0.5 / s2)


_KINKED = np.array([[-2.5, -0.6, -0.2], [0.3, 0.8, 1.7]])  # away from +-1 and +-1/4

smooth_l1 = register(
    "smooth_l1", _smooth_l1_kernel, attrs={"scalar": 1.0}, infer=same, grad=_smooth_l1_grad,
    onnx=_smooth_l1_onnx, ref=_smooth_l1_ref, second_order=True,
    samples=[Sample(_KINKED), Sample(_KINKED, scalar=2.0),
             Sample(np.array([-6.0, -1.5, 0.5, 5.0]), scalar=0.5)],
    doc="""Smooth L1 (Huber-like) function of MXNet 1.9, elementwise, ``scalar`` being sigma:
    ``0.5 * (sigma * x)^2`` where ``|x| < 1 / sigma^2``, else ``|x| - 0.5 / sigma^2``.
    Output: like data.

    Example::

        >>> nd.smooth_l1(nd.array([1, 2, 3, 4]))              # [0.5 1.5 2.5 3.5]
        >>> nd.smooth_l1(nd.array([0.1, -2]), scalar=2.0)     # [0.02 1.875]
    """, amp="fp32")
