"""The random generators behind every sampler: one per array module, reseeded by ``seed``.

``kiln.random`` (MXNet's ``mx.random``) is ``kiln.nd.random``, which re-exports ``seed``.

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
