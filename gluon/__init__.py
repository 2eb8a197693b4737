"""``kiln.gluon``: MXNet Gluon's namespace (``from kiln import gluon``; ``gluon.nn.Dense``...).

The classes live in ``kiln.nn``, ``kiln.data``, ``kiln.model_zoo`` and friends; this package
gathers them under Gluon's names. ``gluon.nn``, ``gluon.loss``, ``gluon.data``,
``gluon.model_zoo`` and ``gluon.metric`` are the same module objects as ``kiln.nn``,
``kiln.nn.loss``, ``kiln.data``... (``import kiln.gluon.data.vision`` works too).

Example::

    >>> from kiln import gluon
    >>> net = gluon.nn.HybridSequential()
    >>> isinstance(net, gluon.HybridBlock)
    True
"""
import sys as _sys

from .. import data, metric, model_zoo, nn
from ..nn import loss, rnn
from ..nn import (
    Block,
    Constant,
    DeferredInitializationError,
    HybridBlock,
    Parameter,
    ParameterDict,
    SymbolBlock,
    parameter,
)
from ..nn.parameter import tensor_types  # noqa: F401  (MXNet's gluon exports it)
from . import contrib, utils
from .trainer import Trainer


def _alias_package(alias, module):
    """Register ``module`` and its loaded submodules under the dotted name ``alias`` too."""
    for name, mod in list(_sys.modules.items()):
        if name == module.__name__ or name.startswith(module.__name__ + "."):
            _sys.modules.setdefault(alias + name[len(module.__name__):], mod)


_alias_package(__name__ + ".nn", nn)
_alias_package(__name__ + ".loss", loss)
_alias_package(__name__ + ".rnn", rnn)
_alias_package(__name__ + ".contrib.rnn", contrib.rnn)
_alias_package(__name__ + ".data", data)
_alias_package(__name__ + ".metric", metric)
_alias_package(__name__ + ".model_zoo", model_zoo)
_alias_package(__name__ + ".parameter", parameter)

__all__ = ["Block", "HybridBlock", "SymbolBlock", "Parameter", "ParameterDict", "Constant",
           "DeferredInitializationError", "Trainer", "nn", "loss", "data", "utils",
           "model_zoo", "metric", "parameter", "rnn", "contrib"]
