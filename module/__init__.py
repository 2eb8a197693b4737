"""``kiln.mod`` / ``kiln.module``: MXNet 1.9's symbolic Module API (``Module``,
``BucketingModule``, ``BaseModule``) over kiln's Symbol executor.

Example::

    >>> import kiln as mx
    >>> data = mx.sym.var('data')
    >>> out = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(data, num_hidden=3), name='softmax')
    >>> mod = mx.mod.Module(out)
    >>> mod.fit(mx.io.NDArrayIter(x, y, batch_size=8), num_epoch=2)
"""
from .base_module import BaseModule
from .bucketing_module import BucketingModule
from .module import Module

__all__ = ["BaseModule", "Module", "BucketingModule"]
