"""``kiln.optimizer``: weight-update rules with MXNet 1.9's names, arguments and formulas.

Optimizers are registered under their lowercase class name; ``create(name, **kwargs)`` builds
one. ``get_updater`` wraps an optimizer with per-index states (what ``gluon.Trainer`` uses).

Example::

    >>> import kiln
    >>> opt = kiln.optimizer.create('adam', learning_rate=0.01)
    >>> type(opt).__name__
    'Adam'
"""
from .. import ndarray as _nd
from . import adam, adaptive, ftrl, sgd
from .adam import LAMB, Adam, Adamax, AdamW, Nadam
from .adaptive import AdaDelta, AdaGrad, RMSProp
from .ftrl import FTML, Ftrl
from .lbsgd import LBSGD, Test
from .optimizer import Optimizer, create, register
from .sgd import DCASGD, LARS, NAG, SGD, SGLD, Signum, ccSGD
from .updater import Updater, get_updater

__all__ = ["Optimizer", "register", "create", "Updater", "get_updater",
           "SGD", "ccSGD", "DCASGD", "NAG", "LARS", "Signum", "SGLD",
           "Adam", "AdamW", "Adamax", "Nadam", "LAMB",
           "AdaGrad", "AdaDelta", "RMSProp", "Ftrl", "FTML", "LBSGD", "Test", "NDabs"]
NDabs = _nd.abs  # MXNet's optimizer module re-exports ndarray.abs under this name
_ = (adam, adaptive, ftrl, sgd)
