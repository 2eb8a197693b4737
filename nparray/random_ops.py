"""``kiln.np.random``: numpy-style sampling (MXNet np's ``np.random``) drawing from kiln's
generators, so ``np.random.seed`` and ``kiln.random.seed`` are one seed.

Example::

    >>> np.random.seed(0)
    >>> np.random.normal(0, 1, size=(2, 3)).shape
    (2, 3)
"""
import numpy as onp

from ..device import current_context
from ..ndarray import ops as F
from ..ndarray import random as _nd_random
from ..ndarray.rng import generator
from ._core import _I64, cast_to, wrap
from .creation import array

__all__ = ["seed", "uniform", "normal", "randn", "rand", "randint", "choice", "shuffle",
           "multinomial", "exponential", "gumbel", "logistic", "lognormal", "pareto", "power",
           "rayleigh", "weibull", "gamma", "beta", "chisquare", "multivariate_normal"]


def seed(seed_state, ctx="all"):
    """Seed every generator (the same as ``kiln.random.seed``). Example: ``np.random.seed(1)``."""
    _nd_random.seed(seed_state, ctx)


def _size(size):
    if size is None:
        return ()
    return (int(size),) if isinstance(size, (int, onp.integer)) else tuple(size)


def _scalar_shape(res, size):
    """kiln's samplers draw ``(1,)`` for an empty shape; numpy's ``size=None`` is ``()``."""
    return res.reshape(()) if size is None else res


def _array_params(params, size):
    """The output shape when some parameter is an array (numpy broadcasts them with
    ``size``), else None."""
    shapes = [tuple(p.shape) for p in params if hasattr(p, "shape") and not onp.isscalar(p)]
    if not shapes:
        return None
    return _size(size) if size is not None else onp.broadcast_shapes(*shapes)


def uniform(low=0.0, high=1.0, size=None, dtype=None, ctx=None, out=None):
    """Samples from U[low, high) (float32 by default); ``low``/``high`` may be arrays.

    Example: ``np.random.uniform(size=3)``."""
    shape = _array_params((low, high), size)
    if shape is not None:  # low + (high - low) * U[0, 1): differentiable in low and high
        return low + (high - low) * uniform(0.0, 1.0, shape, dtype, ctx)
    res = _nd_random.uniform(low, high, shape=_size(size) or (1,), dtype=dtype, ctx=ctx)
    return _scalar_shape(wrap(res), size)


def normal(loc=0.0, scale=1.0, size=None, dtype=None, ctx=None, out=None):
    """Samples from N(loc, scale^2) (float32); ``loc``/``scale`` may be arrays.

    Example: ``np.random.normal(0, 0.01, (2, 1))``."""
    shape = _array_params((loc, scale), size)
    if shape is not None:  # loc + scale * N(0, 1): differentiable in loc and scale
        return loc + scale * normal(0.0, 1.0, shape, dtype, ctx)
    res = _nd_random.normal(loc, scale, shape=_size(size) or (1,), dtype=dtype, ctx=ctx)
    return _scalar_shape(wrap(res), size)


def randn(*size, **kwargs):
    """Standard normal samples of shape ``size``. Example: ``np.random.randn(2, 3)``."""
    return normal(0.0, 1.0, size=size or None, **kwargs)


def rand(*size, **kwargs):
    """U[0, 1) samples of shape ``size``. Example: ``np.random.rand(2)``."""
    return uniform(0.0, 1.0, size=size or None, **kwargs)


def randint(low, high=None, size=None, dtype=None, ctx=None, out=None):
    """Integers from ``[low, high)`` (int64 by default).

    Example: ``np.random.randint(0, 5, (3,))``."""
    if high is None:
        low, high = 0, low
    res = _nd_random.randint(low, high, shape=_size(size) or (1,), dtype="int32", ctx=ctx)
    return _scalar_shape(wrap(cast_to(res, onp.dtype(dtype or _I64))), size)


def choice(a, size=None, replace=True, p=None, ctx=None):
    """Samples from ``a`` (an int: ``arange(a)``; or a 1-D array), with or without
    replacement, uniformly or with probabilities ``p``.

    Example::

        >>> np.random.choice(5, 3, replace=False).shape
        (3,)
    """
    values = a.asnumpy() if hasattr(a, "asnumpy") else a
    pr = p.asnumpy() if hasattr(p, "asnumpy") else p
    idx = generator(onp).choice(values, size=size, replace=replace, p=pr)
    idx = onp.asarray(idx)
    return array(idx, dtype=idx.dtype if isinstance(a, int) else None,
                 ctx=ctx or current_context())


def shuffle(x):
    """Shuffle ``x`` in place along its first axis. Example: ``np.random.shuffle(x)``."""
    perm = generator(onp).permutation(x.shape[0])
    x[:] = x.asnumpy()[perm]


def multinomial(n, pvals, size=None):
    """Counts of ``n`` draws over the categories of probabilities ``pvals`` (int64).

    Example::

        >>> np.random.multinomial(10, [0.5, 0.5]).sum()
        array(10)
    """
    pr = pvals.asnumpy() if hasattr(pvals, "asnumpy") else onp.asarray(pvals)
    counts = generator(onp).multinomial(n, pr.astype(onp.float64), size=size)
    return array(counts, dtype=onp.int64, ctx=current_context())


# ---- samplers built on U[0, 1) and N(0, 1) draws (differentiable in array parameters) --------
def _u(params, size, ctx=None):
    """U(0, 1] samples of the broadcast shape (1 - U[0, 1): never 0, so logs are finite)."""
    shape = _array_params(params, size)
    return 1.0 - uniform(0.0, 1.0, shape if shape is not None else size, ctx=ctx)


def exponential(scale=1.0, size=None, ctx=None, out=None):
    """Samples of the exponential distribution with mean ``scale``.

    Example: ``np.random.exponential(2.0, size=(3,))``."""
    return -scale * _log(_u((scale,), size, ctx))


def _log(x):
    return wrap(F.log(x))


def gumbel(loc=0.0, scale=1.0, size=None, ctx=None, out=None):
    """Gumbel samples: ``loc - scale * log(-log(U))``."""
    return loc - scale * _log(-_log(_u((loc, scale), size, ctx)))


def logistic(loc=0.0, scale=1.0, size=None, ctx=None, out=None):
    """Logistic samples: ``loc + scale * log(U / (1 - U))``."""
    u = _u((loc, scale), size, ctx)
    return loc + scale * _log(u / (1.0 - u + 1e-12))


def lognormal(mean=0.0, sigma=1.0, size=None, dtype=None, ctx=None, out=None):
    """``exp`` of N(mean, sigma^2) samples."""
    return normal(mean, sigma, size, dtype, ctx).exp()


def pareto(a, size=None, ctx=None, out=None):
    """Pareto II (Lomax) samples, as numpy's: ``U ** (-1 / a) - 1``."""
    return _u((a,), size, ctx) ** (-1.0 / a) - 1.0


def power(a, size=None, ctx=None, out=None):
    """Samples of density ``a x^(a-1)`` on [0, 1]: ``(1 - U) ** (1 / a)``."""
    return (1.0 - _u((a,), size, ctx)) ** (1.0 / a)


def rayleigh(scale=1.0, size=None, ctx=None, out=None):
    """Rayleigh samples: ``scale * sqrt(-2 log U)``."""
    return scale * (-2.0 * _log(_u((scale,), size, ctx))) ** 0.5


def weibull(a, size=None, ctx=None, out=None):
    """Weibull samples of shape ``a``: ``(-log U) ** (1 / a)``."""
    return (-_log(_u((a,), size, ctx))) ** (1.0 / a)


def gamma(shape, scale=1.0, size=None, dtype=None, ctx=None, out=None):
    """Gamma(shape, scale) samples (drawn on the host by kiln's generator)."""
    k = shape.asnumpy() if hasattr(shape, "asnumpy") else shape
    t = scale.asnumpy() if hasattr(scale, "asnumpy") else scale
    res = generator(onp).gamma(k, t, size=size)
    return array(onp.asarray(res), dtype=dtype or "float32", ctx=ctx or current_context())


def beta(a, b, size=None, dtype=None, ctx=None):
    """Beta(a, b) samples: ``X / (X + Y)`` for X ~ Gamma(a), Y ~ Gamma(b)."""
    x, y = gamma(a, 1.0, size, dtype, ctx), gamma(b, 1.0, size, dtype, ctx)
    return x / (x + y)


def chisquare(df, size=None, dtype=None, ctx=None):
    """Chi-square samples with ``df`` degrees of freedom (``2 Gamma(df / 2)``)."""
    half = df / 2 if not hasattr(df, "asnumpy") else df.asnumpy() / 2
    return 2.0 * gamma(half, 1.0, size, dtype, ctx)


def multivariate_normal(mean, cov, size=None, check_valid=None, tol=None):
    """Samples of N(mean, cov): ``mean + z @ L^T`` with ``L`` cov's Cholesky factor."""
    m = mean.asnumpy() if hasattr(mean, "asnumpy") else onp.asarray(mean, dtype=onp.float32)
    c = cov.asnumpy() if hasattr(cov, "asnumpy") else onp.asarray(cov, dtype=onp.float32)
    lower = onp.linalg.cholesky(c.astype(onp.float64))
    z = normal(0.0, 1.0, _size(size) + m.shape).asnumpy().astype(onp.float64)
    return array((m + z @ lower.T).astype(onp.float32), ctx=current_context())
