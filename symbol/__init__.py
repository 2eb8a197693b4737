"""``kiln.sym``: the Symbol graph API, tracing and the compiled executor behind hybridize.

Example::

    >>> from kiln import sym
    >>> x = sym.var("data")
    >>> y = sym.FullyConnected(x, num_hidden=4, name="fc")
    >>> y.list_arguments()
    ['data', 'fc_weight', 'fc_bias']
"""
from . import api as _api
from . import compose as _compose
from . import contrib  # noqa: F401  (sym.contrib: MXNet's namespace of the _contrib_ ops)
from . import image  # noqa: F401  (sym.image: MXNet's image ops)
from . import sparse  # noqa: F401  (sym.sparse: MXNet's names, dense graphs)
from . import random_api as random  # noqa: F401  (sym.random; no file named after the stdlib)
from . import executor as _executor
from . import tape  # noqa: F401  (tape.tape_symbol: autograd.get_symbol's hook, see kiln/__init__)
from . import trace  # noqa: F401  (trace.trace_op: the registry's trace hook, see kiln/__init__)
from ._namespace import *  # noqa: F403  (every op and alias, by name: generated, see there)
from .api import load, load_json
from .custom import Custom
from .symbol import Group, Symbol, Variable, var

# Symbol's methods live beside what they do (inference and JSON in api.py, bind in executor.py)
# and are attached here, once.
_api.install(Symbol)
_compose.install(Symbol)
_executor.install(Symbol)

__all__ = ["Symbol", "var", "Variable", "Group", "load", "load_json", "Custom"]
