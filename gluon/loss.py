"""``kiln.gluon.loss``: MXNet Gluon's loss namespace (the classes live in ``kiln.nn.loss``).

Importing it also loads ``kiln.loss``, so ``kiln.loss.L2Loss`` works after ``import kiln``.

Example::

    >>> from kiln import gluon
    >>> gluon.loss.SoftmaxCELoss is gluon.loss.SoftmaxCrossEntropyLoss
    True
"""
from ..loss import *  # noqa: F401,F403
from ..nn.loss import __all__, _apply_weighting, _batch_mean, _batch_sum, _reshape_like  # noqa: F401
