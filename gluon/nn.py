"""``kiln.gluon.nn``: the same objects as ``kiln.nn`` (blocks, containers, layers).

Example::

    >>> from kiln.gluon import nn
    >>> nn.Sequential is kiln.nn.Sequential
    True
"""
from .. import nn as _nn
from ..nn import *  # noqa: F401,F403


def __getattr__(name):
    # Layers registered in kiln.nn after this module was imported are found too.
    try:
        return getattr(_nn, name)
    except AttributeError:
        raise AttributeError(f"module 'kiln.gluon.nn' has no attribute {name!r}") from None


def __dir__():
    return sorted(set(globals()) | set(dir(_nn)))
