"""``kiln.gluon``: MXNet Gluon's namespace (``from kiln import gluon``; ``gluon.nn.Dense``...).

The classes live in ``kiln.nn`` and friends; this package only gathers them under Gluon's names.
Parts written elsewhere (losses, data, Trainer, utils, rnn, model_zoo) are picked up when
present, so the package imports whatever is missing.

Example::

    >>> from kiln import gluon
    >>> net = gluon.nn.HybridSequential()
    >>> isinstance(net, gluon.HybridBlock)
    True
"""
import importlib
import sys

from ..nn import Block, Constant, DeferredInitializationError, HybridBlock, Parameter, ParameterDict
from . import nn

# Gluon submodule name -> kiln modules that may provide it (first importable wins): a real
# kiln/gluon/<name>.py, else the module another part of kiln keeps.
_OPTIONAL = {
    "loss": ("kiln.gluon.loss", "kiln.nn.loss", "kiln.loss"),
    "data": ("kiln.gluon.data", "kiln.data", "kiln.nn.data"),
    "utils": ("kiln.gluon.utils", "kiln.gluon_utils", "kiln.utils", "kiln.nn.utils"),
    "rnn": ("kiln.gluon.rnn", "kiln.nn.rnn", "kiln.rnn"),
    "model_zoo": ("kiln.gluon.model_zoo", "kiln.model_zoo"),
    "contrib": ("kiln.gluon.contrib", "kiln.nn.contrib", "kiln.contrib"),
    "metric": ("kiln.gluon.metric", "kiln.metric"),
}


def _first_importable(candidates):
    for name in candidates:
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as e:  # that module not written yet; a broken one raises
            if e.name is None or not name.startswith(e.name):
                raise
    return None


def _alias(sub, mod):
    """Make ``kiln.gluon.<sub>`` (and its already-loaded submodules) name ``mod``."""
    alias = f"{__name__}.{sub}"
    if mod.__name__ == alias:
        return
    for name, m in list(sys.modules.items()):
        if name == mod.__name__ or name.startswith(mod.__name__ + "."):
            sys.modules.setdefault(alias + name[len(mod.__name__):], m)


def _gather():
    g = globals()
    for sub, candidates in _OPTIONAL.items():
        mod = _first_importable(candidates)
        if mod is not None:
            g[sub] = mod
            _alias(sub, mod)
    for attr, candidates in (("Trainer", ("kiln.gluon.trainer", "kiln.trainer")),
                             ("SymbolBlock", ("kiln.gluon.symbol_block", "kiln.nn.symbol_block",
                                              "kiln.symbol"))):
        mod = _first_importable(candidates)
        if mod is not None and hasattr(mod, attr):
            g[attr] = getattr(mod, attr)


_gather()

__all__ = ["Block", "HybridBlock", "Parameter", "ParameterDict", "Constant",
           "DeferredInitializationError", "nn"] + [
    n for n in ("Trainer", "SymbolBlock", *_OPTIONAL) if n in globals()]
