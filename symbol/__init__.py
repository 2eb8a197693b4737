"""``kiln.sym``: the Symbol graph API, tracing and the compiled executor behind hybridize.

Example::

    >>> from kiln import sym
    >>> x = sym.var("data")
    >>> y = sym.FullyConnected(x, num_hidden=4, name="fc")
    >>> y.list_arguments()
    ['data', 'fc_weight', 'fc_bias']
"""
from . import api as _api  # noqa: F401  (Symbol.infer_shape, tojson, ...)
from . import sym_ops as _sym_ops
from . import trace as _trace  # noqa: F401  (installs the registry's trace hook)
from .api import load, load_json
from .symbol import Group, Symbol, Variable, var

_sym_ops.install(globals())
zeros = globals()["zeros"]

__all__ = ["Symbol", "var", "Variable", "Group", "load", "load_json"]

from . import executor as _executor  # noqa: E402

_executor.install(Symbol)
