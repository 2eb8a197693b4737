"""The autograd tape as a Symbol (``autograd.get_symbol``, installed as a registry hook so the
autograd layer below need not import this one).

Each tape node becomes a graph node through ``sym_ops.make_node``; arrays without a tape node
(the variables and other inputs the recording started from) become variables ``var0``,
``var1``... in the order first met. A hybridized block's call is one tape node over its whole
compiled graph and has no single op: it is refused with the reason.
"""
from ..base import MXNetError
from ..ndarray import _registry
from ..ndarray.ndarray import NDArray
from .sym_ops import make_node
from .symbol import var


def tape_symbol(x):
    """The recorded computation of ``x`` (an NDArray) as a Symbol."""
    if not isinstance(x, NDArray) or x._node is None:
        raise MXNetError("autograd.get_symbol: the array was not computed inside "
                         "autograd.record()")
    leaves, built = _name_leaves(x), {}
    stack = [x._node]
    while stack:  # post-order without recursion: long tapes are common
        node = stack[-1]
        pending = [a._node for a in node.args if isinstance(a, NDArray)
                   and a._node is not None and id(a._node) not in built]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        if id(node) not in built:
            built[id(node)] = _node_symbol(node, leaves, built)
    return _value(x, leaves, built)


def _name_leaves(x):
    """Variables for the leaf arrays, numbered in the order a left-to-right depth-first walk
    meets them (the order ``list_arguments`` then shows)."""
    leaves, seen = {}, set()
    stack = [x]
    while stack:
        a = stack.pop()
        if not isinstance(a, NDArray):
            continue
        if a._node is None:
            if id(a) not in leaves:
                leaves[id(a)] = var(f"var{len(leaves)}", shape=a.shape, dtype=a.dtype)
        elif id(a._node) not in seen:
            seen.add(id(a._node))
            stack.extend(reversed(a._node.args))
    return leaves


def _node_symbol(node, leaves, built):
    op = node.op
    if not isinstance(op, _registry.Op):
        raise MXNetError(f"autograd.get_symbol: {type(op).__name__} (a hybridized block's "
                         "compiled call) has no symbol of its own; record the block "
                         "un-hybridized, or export it with block.export()")
    inputs = [_value(a, leaves, built) for a in node.args]
    attrs = {k: v for k, v in node.attrs.items() if not k.startswith("_")}
    return make_node(op, inputs, attrs, name=f"{op.name}{len(built)}")


def _value(a, leaves, built):
    if not isinstance(a, NDArray):
        return a
    if a._node is None:
        return leaves[id(a)]
    sym = built[id(a._node)]
    return sym if a._node.n_out == 1 else sym[a._index]
