"""The gamma function and its logarithm (MXNet ``gamma``, ``gammaln``), elementwise.

numpy has no vectorized gamma, so both use Stirling's series at x + 8, brought back by the
recurrence (about 1e-14 relative in float64), with the reflection formula below 1/2. The
formula is written once over a small algebra (``_Np`` for arrays, ``_Onnx`` for the export's
builder), so the kernel and the ONNX lowering compute the same thing, both in float64. The
gradients use ``_digamma`` (recurrence up to 10, then the asymptotic series; reflection below
1/2). MXNet's values at the poles: ``gamma(0) = inf``, ``gamma(-n) = nan``, ``gammaln(-n) = inf``.
"""
import math

import numpy as np

from .._registry import Sample, register
from ._rules import same
from ._samples import rnd

_SHIFT = 8  # lgamma(x) = lgamma(x + 8) - sum log(x + k): Stirling is exact to 1e-14 there
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188)  # B_2n / (2n (2n - 1))
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


class _Np:
    """The algebra over numpy/cupy arrays."""

    def __init__(self, xp):
        self.xp = xp

    def c(self, v):
        return v

    def __getattr__(self, name):  # log, exp, sin, abs, floor, where, less, equal...
        return getattr(self.xp, name)


class _Onnx:
    """The same algebra emitting ONNX nodes (float64 tensors)."""

    def __init__(self, g):
        self.g = g

    def c(self, v):
        return self.g.const(np.asarray(v, np.float64))

    def _un(name):  # noqa: N805 - a factory of methods
        return lambda self, x: self.g.op(name, x)

    log, exp, sin, abs, floor = _un("Log"), _un("Exp"), _un("Sin"), _un("Abs"), _un("Floor")
    cos = _un("Cos")

    def add(self, a, b):
        return self.g.op("Add", a, b)

    def subtract(self, a, b):
        return self.g.op("Sub", a, b)

    def multiply(self, a, b):
        return self.g.op("Mul", a, b)

    def divide(self, a, b):
        return self.g.op("Div", a, b)

    def less(self, a, b):
        return self.g.op("Less", a, b)

    def equal(self, a, b):
        return self.g.op("Equal", a, b)

    def logical_and(self, a, b):
        return self.g.op("And", a, b)

    def where(self, c, a, b):
        return self.g.op("Where", c, a, b)


def _stirling_log(A, x):
    """log Gamma(x) for x >= 1/2: Stirling's series at x + 8, shifted back by the recurrence."""
    y = A.add(x, A.c(float(_SHIFT)))
    inv = A.divide(A.c(1.0), y)
    inv2 = A.multiply(inv, inv)
    series, power = A.c(0.0), inv
    for coef in _STIRLING:
        series = A.add(series, A.multiply(A.c(coef), power))
        power = A.multiply(power, inv2)
    res = A.add(A.subtract(A.multiply(A.subtract(y, A.c(0.5)), A.log(y)), y),
                A.add(A.c(_HALF_LOG_2PI), series))
    for k in range(_SHIFT):
        res = A.subtract(res, A.log(A.add(x, A.c(float(k)))))
    return res


def _gammaln(A, x, signed=False):
    """log|Gamma(x)| (and, with ``signed``, Gamma(x) itself) with reflection below 1/2."""
    small = A.less(x, A.c(0.5))
    right = A.where(small, A.subtract(A.c(1.0), x), x)  # 1 - x where reflected: >= 1/2
    lg = _stirling_log(A, right)
    sin = A.sin(A.multiply(A.c(math.pi), x))
    # Gamma(x) = pi / (sin(pi x) Gamma(1 - x)) below 1/2
    refl = A.subtract(A.log(A.divide(A.c(math.pi), A.abs(sin))), lg)
    pole = A.logical_and(small, A.equal(x, A.floor(x)))
    if not signed:
        return A.where(pole, A.c(np.inf), A.where(small, refl, lg))
    val = A.where(small, A.divide(A.c(math.pi), A.multiply(sin, A.exp(lg))), A.exp(lg))
    zero = A.equal(x, A.c(0.0))
    return A.where(zero, A.c(np.inf), A.where(pole, A.c(np.nan), val))


def _psi(A, x):
    """psi(x): the recurrence up to y + 10, the asymptotic series there, reflection below 1/2."""
    small = A.less(x, A.c(0.5))
    y = A.where(small, A.subtract(A.c(1.0), x), x)
    acc = A.c(0.0)
    for k in range(10):  # psi(y) = psi(y + 10) - sum 1 / (y + k): the series is exact there
        acc = A.subtract(acc, A.divide(A.c(1.0), A.add(y, A.c(float(k)))))
    z = A.add(y, A.c(10.0))
    iz2 = A.divide(A.c(1.0), A.multiply(z, z))
    tail = A.c(1 / 132)
    for coef in (1 / 240, 1 / 252, 1 / 120, 1 / 12):  # nested: 1/12 - iz2 (1/120 - iz2 (...))
        tail = A.subtract(A.c(coef), A.multiply(iz2, tail))
    series = A.subtract(A.subtract(A.log(z), A.divide(A.c(0.5), z)), A.multiply(iz2, tail))
    psi = A.add(acc, series)
    px = A.multiply(A.c(math.pi), x)  # pi cot(pi x), as cos / sin (onnxruntime: no double Tan)
    cot = A.divide(A.multiply(A.c(math.pi), A.cos(px)), A.sin(px))
    return A.where(small, A.subtract(psi, cot), psi)


def _float64_kernel(fn):
    def kernel(xp, x):
        with np.errstate(all="ignore"):  # poles give inf/nan on purpose, as MXNet
            res = fn(xp, x.astype(np.float64))
            # integer inputs keep their dtype (MXNet): gamma(5) is 24, not 23.999... truncated
            return (xp.rint(res) if x.dtype.kind in "iu" else res).astype(x.dtype)
    return kernel


def _onnx_lowering(fn):
    def lower(g, i, a, o):
        x = g.op("Cast", i[0], to=g.onnx_dtype(np.float64))
        return g.op("Cast", fn(_Onnx(g), x), to=g.onnx_dtype(o[0].dtype))
    return lower


def _pos_ref(fn):
    return lambda x: np.vectorize(fn, otypes=[np.float64])(x)


_SAMPLES = [Sample(rnd(2, 3, lo=0.2, hi=4.0)), Sample(np.array([-1.5, -0.3, 0.7, 2.5, 7.3]))]

_digamma = register(
    "_digamma", _float64_kernel(lambda xp, x: _psi(_Np(xp), x)), infer=same,
    samples=_SAMPLES, onnx=_onnx_lowering(_psi),
    no_grad="the trigamma function is not implemented: no second-order gamma gradients",
    no_ref="checked as gammaln's gradient (finite differences) in the registry tests",
    doc="The digamma function psi(x) = d/dx log Gamma(x), elementwise (internal).")

gammaln = register(
    "gammaln", _float64_kernel(lambda xp, x: _gammaln(_Np(xp), x)), infer=same,
    grad=lambda i, o, g: (g[0] * _digamma(i[0]),), onnx=_onnx_lowering(_gammaln),
    ref=_pos_ref(lambda v: math.lgamma(v)), samples=_SAMPLES, amp="fp32",
    doc="""``log|Gamma(x)|`` elementwise (MXNet ``gammaln``). Output: like data.

    Example::

        >>> nd.gammaln(nd.array([0.5, 3]))      # [0.5723649 0.6931472]
    """)

gamma = register(
    "gamma", _float64_kernel(lambda xp, x: _gammaln(_Np(xp), x, signed=True)), infer=same,
    grad=lambda i, o, g: (g[0] * o[0] * _digamma(i[0]),), save_outputs=True,
    onnx=_onnx_lowering(lambda A, x: _gammaln(A, x, signed=True)),
    ref=_pos_ref(lambda v: math.gamma(v)), samples=_SAMPLES, amp="fp32",
    doc="""The gamma function elementwise (MXNet ``gamma``; ``Gamma(n) = (n-1)!``). Output:
    like data.

    Example::

        >>> nd.gamma(nd.array([0.5, 3]))        # [1.7724538 2.]
    """)
