"""Composing symbols (MXNet's ``sym(*args, **kwargs)``) and copying them.

Calling a Symbol replaces its free variables by other symbols: positional ones in
``list_arguments`` order, keyword ones by variable name; the result is a new Symbol (the graph
is rebuilt above the replaced variables, the original is unchanged).

Example::

    >>> net = sym.FullyConnected(sym.var("data"), num_hidden=4, name="fc")
    >>> net(data=sym.var("x")).list_arguments()
    ['x', 'fc_weight', 'fc_bias']
"""
from ..base import MXNetError
from .passes import rewrite
from .symbol import Symbol


def compose(self, *args, **kwargs):
    """A new Symbol with the named (or, positionally, the first) variables replaced."""
    kwargs.pop("name", None)
    free = self.list_arguments()
    if len(args) > len(free):
        raise MXNetError(f"compose: {len(args)} positional symbols for the {len(free)} "
                         f"arguments {free}")
    subst = dict(zip(free, args))
    for key, value in kwargs.items():
        if key in subst:
            raise MXNetError(f"compose: argument {key!r} given twice")
        subst[key] = value
    inputs = set(self.list_inputs())
    unknown = sorted(k for k in subst if k not in inputs)
    if unknown:
        raise MXNetError(f"compose: {unknown} are not variables of this symbol (its "
                         f"variables: {sorted(inputs)})")
    for key, value in subst.items():
        if not isinstance(value, Symbol) or len(value._entries) != 1:
            raise MXNetError(f"compose: {key!r} must be a Symbol with one output, got "
                             f"{type(value).__name__}")
    entries = {k: v._entry() for k, v in subst.items()}

    def visit(node, _inputs):
        if node.kind == "var" and node.name in entries:
            return [entries[node.name]]
        return None
    return Symbol(rewrite(self._entries, visit))


def copy(self):
    """A Symbol over the same graph (graph nodes are immutable, so sharing them is safe)."""
    return Symbol(list(self._entries))


def install(cls):
    """Give ``cls`` (Symbol) ``__call__``, ``__copy__`` and ``__deepcopy__``."""
    cls.__call__ = compose
    cls.__copy__ = copy
    cls.__deepcopy__ = lambda self, memo=None: copy(self)
