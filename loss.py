"""``kiln.loss``: the Gluon losses (the same classes as ``kiln.gluon.loss``).

Example::

    >>> import kiln
    >>> kiln.loss.L2Loss is kiln.gluon.loss.L2Loss
    True
"""
from .nn.loss import *  # noqa: F401,F403
from .nn.loss import __all__, _apply_weighting, _batch_mean, _batch_sum, _reshape_like  # noqa: F401
