"""``kiln.nd._internal``: MXNet's internal operators (``nd._internal._slice_assign``, ...).

MXNet code sometimes calls the ``_``-prefixed operators through this module; here they are the
registry's functions, the same objects as ``kiln.nd``'s (which lists them in ``__all__`` too).

Example::

    >>> x = nd.ones((2, 3))
    >>> nd._internal._crop_assign_scalar(x, scalar=5, begin=(0, 0), end=(1, 2), out=x)
    [[5. 5. 1.]
     [1. 1. 1.]]
"""
from .ops._namespace import *  # noqa: F403  (every op and alias, the internal ones included)
