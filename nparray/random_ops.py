"""``kiln.np.random``: numpy-style sampling (MXNet np's ``np.random``) drawing from kiln's
generators, so ``np.random.seed`` and ``kiln.random.seed`` are one seed.

Example::

    >>> np.random.seed(0)
    >>> np.random.normal(0, 1, size=(2, 3)).shape
    (2, 3)
"""
import numpy as onp

from ..device import current_context
from ..ndarray import random as _nd_random
from ..ndarray.rng import generator
from ._core import _I64, cast_to, wrap
from .creation import array

__all__ = ["seed", "uniform", "normal", "randn", "rand", "randint", "choice", "shuffle",
           "multinomial"]


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
