"""``kiln.sym.random``: MXNet 1.9's ``mx.sym.random`` sampling functions as graph nodes.

Numbers as parameters give a ``random_*`` node of ``shape``; Symbols as parameters give the
per-element ``sample_*`` node (output ``param.shape + shape``), as MXNet's ``_random_helper``
chooses. The ops are ``ndarray/ops/random_ops.py`` and ``random_dists.py``.

Example::

    >>> s = sym.random.uniform(0, 1, shape=(2, 3))
    >>> s.infer_shape()[1]
    [(2, 3)]
"""
from ..base import MXNetError, numeric_types  # noqa: F401  (MXNet's module exports it)
from ..ndarray._registry import OPS as _OPS
from .sym_ops import make_sym_function as _sym
from .symbol import Symbol

__all__ = ["uniform", "normal", "randn", "randint", "exponential", "gamma", "poisson",
           "negative_binomial", "generalized_negative_binomial", "multinomial", "shuffle",
           "uniform_like", "normal_like", "exponential_like", "gamma_like", "poisson_like",
           "negative_binomial_like", "generalized_negative_binomial_like"]


def _op(name):
    return _sym(_OPS[name])


def _helper(dist, params, shape, dtype, kwargs):
    if isinstance(params[0], Symbol):
        if not all(isinstance(p, Symbol) for p in params):
            raise MXNetError(f"{dist}: distribution parameters must all be Symbols or all "
                             "numbers")
        return _op(f"sample_{dist}")(*params, shape=shape, dtype=dtype, **kwargs)
    if not all(isinstance(p, numeric_types) for p in params):
        raise MXNetError(f"{dist}: distribution parameters must be Symbols or numbers")
    names = {"uniform": ("low", "high"), "normal": ("loc", "scale"), "randint": ("low", "high"),
             "exponential": ("lam",), "gamma": ("alpha", "beta"), "poisson": ("lam",),
             "negative_binomial": ("k", "p"),
             "generalized_negative_binomial": ("mu", "alpha")}[dist]
    return _op(f"random_{dist}")(shape=shape, dtype=dtype, **dict(zip(names, params)), **kwargs)


def uniform(low=0, high=1, shape=None, dtype=None, **kwargs):
    """Uniform samples in [low, high): a graph node. Example: ``sym.random.uniform(shape=3)``."""
    return _helper("uniform", [low, high], shape, dtype, kwargs)


def normal(loc=0, scale=1, shape=None, dtype=None, **kwargs):
    """Normal samples N(loc, scale**2). Example: ``sym.random.normal(0, 2, shape=(2, 2))``."""
    return _helper("normal", [loc, scale], shape, dtype, kwargs)


def randn(*shape, loc=0, scale=1, dtype=None, **kwargs):
    """Normal samples with the shape given positionally: ``sym.random.randn(2, 3)``."""
    return normal(loc, scale, shape=shape or None, dtype=dtype, **kwargs)


def randint(low, high, shape=None, dtype=None, **kwargs):
    """Integers in [low, high) (int32). Example: ``sym.random.randint(0, 5, shape=(4,))``."""
    return _helper("randint", [low, high], shape, dtype, kwargs)


def exponential(scale=1, shape=None, dtype=None, **kwargs):
    """Exponential samples with mean ``scale``. Example: ``sym.random.exponential(2, shape=3)``."""
    return _helper("exponential", [1.0 / scale], shape, dtype, kwargs)


def gamma(alpha=1, beta=1, shape=None, dtype=None, **kwargs):
    """Gamma samples (shape alpha, scale beta). Example: ``sym.random.gamma(2, 1, shape=3)``."""
    return _helper("gamma", [alpha, beta], shape, dtype, kwargs)


def poisson(lam=1, shape=None, dtype=None, **kwargs):
    """Poisson counts with mean ``lam``. Example: ``sym.random.poisson(4, shape=(2,))``."""
    return _helper("poisson", [lam], shape, dtype, kwargs)


def negative_binomial(k=1, p=1, shape=None, dtype=None, **kwargs):
    """Failures before ``k`` successes of probability ``p``.

    Example: ``sym.random.negative_binomial(2, 0.5, shape=3)``.
    """
    return _helper("negative_binomial", [k, p], shape, dtype, kwargs)


def generalized_negative_binomial(mu=1, alpha=1, shape=None, dtype=None, **kwargs):
    """Counts with mean ``mu``, dispersion ``alpha``.

    Example: ``sym.random.generalized_negative_binomial(2, 0.5, shape=3)``.
    """
    return _helper("generalized_negative_binomial", [mu, alpha], shape, dtype, kwargs)


def multinomial(data, shape=None, get_prob=False, dtype="int32", **kwargs):
    """Indices drawn along ``data``'s last axis. Example: ``sym.random.multinomial(p, shape=2)``."""
    return _op("sample_multinomial")(data, shape=shape, get_prob=get_prob, dtype=dtype, **kwargs)


def shuffle(data, **kwargs):
    """``data`` with its rows in random order. Example: ``sym.random.shuffle(sym.var('x'))``."""
    return _op("shuffle")(data, **kwargs)


def _like(dist, **params):
    return _op(f"random_{dist}_like")(params.pop("data"), **params)


def uniform_like(data=None, low=0, high=1, **kwargs):
    """Uniform samples with ``data``'s shape and dtype."""
    return _like("uniform", data=data, low=low, high=high, **kwargs)


def normal_like(data=None, loc=0, scale=1, **kwargs):
    """Normal samples with ``data``'s shape and dtype."""
    return _like("normal", data=data, loc=loc, scale=scale, **kwargs)


def exponential_like(data=None, scale=1, **kwargs):
    """Exponential samples (mean ``scale``) with ``data``'s shape and dtype."""
    return _like("exponential", data=data, lam=1.0 / scale, **kwargs)


def gamma_like(data=None, alpha=1, beta=1, **kwargs):
    """Gamma samples with ``data``'s shape and dtype."""
    return _like("gamma", data=data, alpha=alpha, beta=beta, **kwargs)


def poisson_like(data=None, lam=1, **kwargs):
    """Poisson samples with ``data``'s shape and dtype."""
    return _like("poisson", data=data, lam=lam, **kwargs)


def negative_binomial_like(data=None, k=1, p=1, **kwargs):
    """Negative binomial samples with ``data``'s shape and dtype."""
    return _like("negative_binomial", data=data, k=k, p=p, **kwargs)


def generalized_negative_binomial_like(data=None, mu=1, alpha=1, **kwargs):
    """Generalized negative binomial samples with ``data``'s shape and dtype."""
    return _like("generalized_negative_binomial", data=data, mu=mu, alpha=alpha, **kwargs)
