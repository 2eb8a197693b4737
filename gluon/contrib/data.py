"""MXNet Gluon 1.9's ``gluon.contrib.data``: ``IntervalSampler`` (the sampler
``kiln.gluon.data.sampler`` has). Its ``text`` datasets (WikiText2/103) download from the
network and are not provided.

Example::

    >>> list(IntervalSampler(7, interval=3))
    [0, 3, 6, 1, 4, 2, 5]
"""
from ...data.sampler import IntervalSampler

__all__ = ["IntervalSampler"]
