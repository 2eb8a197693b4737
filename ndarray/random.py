"""``kiln.nd.random``: MXNet's ``mx.nd.random`` sampling functions over the random ops.

Numbers as parameters draw ``shape`` values (default ``(1,)``) on ``ctx``; NDArrays as parameters
draw ``shape`` values per element (output shape ``low.shape + shape``). Seed with
``kiln.random.seed``.

Example::

    >>> kl.random.seed(1)
    >>> nd.random.uniform(-1, 1, shape=(2, 2)).shape
    (2, 2)
"""
from ..base import MXNetError, numeric_types  # noqa: F401  (MXNet's module exports it)
from ..device import current_context
from . import ops as _ops
from .ndarray import NDArray
from .ops import random_dists as _dists
from .rng import generator, seed  # noqa: F401  (mx.random.seed; kiln.random is this module)

__all__ = ["seed", "uniform", "normal", "randn", "randint", "shuffle", "uniform_like",
           "normal_like", "exponential", "gamma", "poisson", "negative_binomial",
           "generalized_negative_binomial", "multinomial", "exponential_like", "gamma_like",
           "poisson_like", "negative_binomial_like", "generalized_negative_binomial_like"]

_NUMBER = (int, float)


def _is_number(v):
    return isinstance(v, _NUMBER) or (hasattr(v, "dtype") and getattr(v, "ndim", 1) == 0
                                      and not isinstance(v, NDArray))


def _helper(scalar_op, array_op, params, shape, dtype, ctx, out, name):
    """Dispatch on the parameters' type, as MXNet's ``_random_helper`` does."""
    if isinstance(params[0], NDArray):
        if not all(isinstance(p, NDArray) for p in params[1:]):
            raise MXNetError(f"{name}: distribution parameters must all be NDArrays or all "
                             f"numbers, got {[type(p).__name__ for p in params]}")
        if array_op is None:
            raise MXNetError(f"{name}: parameters must be numbers")
        return array_op(*params, shape=shape, dtype=dtype, out=out)
    if not all(_is_number(p) for p in params):
        raise MXNetError(f"{name}: distribution parameters must be NDArrays or numbers, got "
                         f"{[type(p).__name__ for p in params]}")
    if shape is None and out is not None:
        shape = out.shape
    if dtype is None and out is not None:
        dtype = out.dtype
    ctx = current_context() if ctx is None else ctx
    return scalar_op(*[p.item() if hasattr(p, "item") else p for p in params], shape=shape,
                     dtype=dtype, ctx=ctx, out=out)


def uniform(low=0, high=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from U[low, high) of ``shape`` (float32 by default).

    ``low``/``high`` as NDArrays draw ``shape`` samples per element.

    Example::

        >>> nd.random.uniform(0, 1, shape=(2, 3)).shape
        (2, 3)
    """
    return _helper(_ops.random_uniform, _ops.sample_uniform, [low, high], shape, dtype, ctx,
                   out, "uniform")


def normal(loc=0, scale=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from N(loc, scale**2) of ``shape`` (float32 by default).

    Example::

        >>> nd.random.normal(0, 1, shape=(4,)).shape
        (4,)
    """
    return _helper(_ops.random_normal, _ops.sample_normal, [loc, scale], shape, dtype, ctx,
                   out, "normal")


def randn(*shape, loc=0, scale=1, dtype=None, ctx=None, out=None, **kwargs):
    """Normal samples with the shape given as positional integers: ``randn(2, 3)``."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return normal(loc, scale, shape=shape or None, dtype=dtype, ctx=ctx, out=out)


def randint(low, high, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Integers from U{low, ..., high-1} of ``shape`` (int32 by default).

    Example::

        >>> nd.random.randint(0, 10, shape=(3,)).dtype
        <class 'numpy.int32'>
    """
    return _helper(_ops.random_randint, None, [low, high], shape, dtype, ctx, out, "randint")


def shuffle(data, **kwargs):
    """A copy of ``data`` with its rows (first axis) in random order.

    Example::

        >>> sorted(nd.random.shuffle(nd.array([1, 2, 3])).asnumpy().tolist())
        [1.0, 2.0, 3.0]
    """
    return _ops.shuffle(data, **kwargs)


def uniform_like(data=None, low=0, high=1, out=None, **kwargs):
    """Uniform samples with ``data``'s shape and dtype."""
    return _ops.random_uniform_like(data, low=low, high=high, out=out)


def normal_like(data=None, loc=0, scale=1, out=None, **kwargs):
    """Normal samples with ``data``'s shape and dtype."""
    return _ops.random_normal_like(data, loc=loc, scale=scale, out=out)


# ---- exponential, gamma, poisson, negative binomials, multinomial (ops/random_dists.py) --------
def _dist(name, params, shape, dtype, ctx, out):
    return _helper(getattr(_dists, f"random_{name}"), getattr(_dists, f"sample_{name}"), params,
                   shape, dtype, ctx, out, name)


def exponential(scale=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Exponential samples with mean ``scale`` (rate ``1/scale``), of ``shape``.

    Example: ``nd.random.exponential(2, shape=(3,)).shape`` is ``(3,)``.
    """
    return _dist("exponential", [1.0 / scale], shape, dtype, ctx, out)


def gamma(alpha=1, beta=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Gamma samples with shape ``alpha`` and scale ``beta`` (mean ``alpha * beta``).

    Example: ``nd.random.gamma(2, 0.5, shape=(2, 2)).shape`` is ``(2, 2)``.
    """
    return _dist("gamma", [alpha, beta], shape, dtype, ctx, out)


def poisson(lam=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Poisson counts (as floats) with mean ``lam``.

    Example: ``nd.random.poisson(3, shape=(4,)).dtype`` is float32.
    """
    return _dist("poisson", [lam], shape, dtype, ctx, out)


def negative_binomial(k=1, p=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Failures before ``k`` successes of probability ``p`` (as floats).

    Example: ``nd.random.negative_binomial(3, 0.4, shape=(5,)).shape`` is ``(5,)``.
    """
    return _dist("negative_binomial", [k, p], shape, dtype, ctx, out)


def generalized_negative_binomial(mu=1, alpha=1, shape=None, dtype=None, ctx=None, out=None,
                                  **kwargs):
    """Counts with mean ``mu`` and variance ``mu + alpha * mu**2`` (as floats).

    Example: ``nd.random.generalized_negative_binomial(2, 0.3, shape=(5,)).shape`` is ``(5,)``.
    """
    return _dist("generalized_negative_binomial", [mu, alpha], shape, dtype, ctx, out)


def multinomial(data, shape=None, get_prob=False, out=None, dtype="int32", **kwargs):
    """Indices drawn from the distributions along ``data``'s last axis: output
    ``data.shape[:-1] + shape``; with ``get_prob`` also their log-probabilities.

    Example: ``nd.random.multinomial(nd.array([[0, 1.0]]), shape=2)`` is ``[[1 1]]``.
    """
    return _dists.sample_multinomial(data, shape=shape, get_prob=get_prob, dtype=dtype, out=out)


def exponential_like(data=None, scale=1, out=None, **kwargs):
    """Exponential samples (mean ``scale``) with ``data``'s shape and dtype."""
    return _dists.random_exponential_like(data, lam=1.0 / scale, out=out)


def gamma_like(data=None, alpha=1, beta=1, out=None, **kwargs):
    """Gamma samples with ``data``'s shape and dtype."""
    return _dists.random_gamma_like(data, alpha=alpha, beta=beta, out=out)


def poisson_like(data=None, lam=1, out=None, **kwargs):
    """Poisson samples with ``data``'s shape and dtype."""
    return _dists.random_poisson_like(data, lam=lam, out=out)


def negative_binomial_like(data=None, k=1, p=1, out=None, **kwargs):
    """Negative binomial samples with ``data``'s shape and dtype."""
    return _dists.random_negative_binomial_like(data, k=k, p=p, out=out)


def generalized_negative_binomial_like(data=None, mu=1, alpha=1, out=None, **kwargs):
    """Generalized negative binomial samples with ``data``'s shape and dtype."""
    return _dists.random_generalized_negative_binomial_like(data, mu=mu, alpha=alpha, out=out)
