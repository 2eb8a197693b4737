"""``sym.Custom``: a ``kiln.operator`` Python op as a graph node (MXNet's ``sym.Custom``).

Inputs are positional or Symbol keywords named by the prop's ``list_arguments``; an argument
not given becomes a variable ``<name>_<argument>`` (MXNet's rule, e.g. ``softmax_label``);
the other keywords go to the prop as strings.

Example::

    >>> out = sym.Custom(sym.var("data"), op_type="square", name="sq")
    >>> out.list_arguments()
    ['data']
"""
import itertools

from ..base import MXNetError
from ..ndarray import _registry
from ..ndarray.custom_op import make_prop, pack_kwargs, split_inputs
from .sym_ops import make_sym_function
from .symbol import Symbol, var

_counter = itertools.count()
_NODE = []  # the sym function of the registry op, made on first use


def Custom(*args, op_type=None, name=None, **kwargs):
    """The custom op ``op_type`` applied to Symbols."""
    if op_type is None:
        raise MXNetError("sym.Custom: op_type= is required")
    if not _NODE:
        _NODE.append(make_sym_function(_registry.get("_custom")))
    name = name or f"custom{next(_counter)}"
    symbols = {k: v for k, v in kwargs.items() if isinstance(v, Symbol)}
    params = pack_kwargs({k: v for k, v in kwargs.items() if k not in symbols})
    prop = make_prop(op_type, params)
    inputs = split_inputs(prop, args, symbols, make_missing=lambda arg: var(f"{name}_{arg}"))
    for sym in inputs[len(prop.list_arguments()):]:   # auxiliary states, as MXNet lists them
        node = sym._entries[0][0] if len(sym._entries) == 1 else None
        if node is not None and node.kind == "var":
            node.meta["aux"] = True
    return _NODE[0](*inputs, op_type=op_type, prop_args=params, name=name)


__all__ = ["Custom"]
