"""Random numbers, reproducible for a given seed (``kiln.random`` and ``kiln.nd.random``).

Example::

    >>> kl.random.seed(0)
    >>> a = kl.random.uniform(shape=(2,)); kl.random.seed(0)
    >>> bool((a == kl.random.uniform(shape=(2,))).asnumpy().all())
    True
"""
import numpy as np

_generators = {}
_seed = [None]


def seed(seed_state, ctx="all"):
    """Seed every device's generator (MXNet's ``mx.random.seed``)."""
    _seed[0] = int(seed_state)
    _generators.clear()


def generator(xp):
    """The generator for array module ``xp`` (numpy or cupy), created from the last seed."""
    g = _generators.get(xp.__name__)
    if g is None:
        if xp is np:
            g = np.random.default_rng(_seed[0])
        else:
            g = xp.random.default_rng(_seed[0])
        _generators[xp.__name__] = g
    return g


# ---- MXNet's mx.random.* samplers (same as kiln.nd.random; imported lazily: kiln.ndarray
# imports this module while it loads) ----
def uniform(low=0, high=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from U[low, high) (``mx.random.uniform``); see ``kiln.nd.random.uniform``."""
    from .ndarray import random as _nr
    return _nr.uniform(low, high, shape=shape, dtype=dtype, ctx=ctx, out=out, **kwargs)


def normal(loc=0, scale=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Samples from N(loc, scale**2) (``mx.random.normal``); see ``kiln.nd.random.normal``."""
    from .ndarray import random as _nr
    return _nr.normal(loc, scale, shape=shape, dtype=dtype, ctx=ctx, out=out, **kwargs)


def randint(low, high, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Integers from [low, high) (``mx.random.randint``); see ``kiln.nd.random.randint``."""
    from .ndarray import random as _nr
    return _nr.randint(low, high, shape=shape, dtype=dtype, ctx=ctx, out=out, **kwargs)


def shuffle(data, **kwargs):
    """``data`` with its first axis randomly permuted (``mx.random.shuffle``)."""
    from .ndarray import random as _nr
    return _nr.shuffle(data, **kwargs)
