"""The autograd tape as a Symbol (``autograd.get_symbol``, installed as a registry hook so the
autograd layer below need not import this one).

Each tape node becomes a graph node through ``sym_ops.make_node``; arrays without a tape node
(the variables and other inputs the recording started from) become variables ``var0``,
``var1``... in the order first met. A hybridized block's call is one tape node over its whole
graph; as in MXNet, a graph of at most ``inline_limit`` ops (``hybridize``'s flag, 2 by
default; none under ``static_alloc``) is inlined, op by op, and a larger one becomes a single
``_CachedOp`` node over the call's inputs and parameters.
"""
from ..base import MXNetError
from ..ndarray import _registry
from ..ndarray.ndarray import NDArray
from .graph import Node, topo_order
from .passes import rewrite
from .sym_ops import make_node
from .symbol import Symbol, var

INLINE_LIMIT = 2   # MXNet's default hybridize(inline_limit=...)


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
    inputs = [_value(a, leaves, built) for a in node.args]
    entry = getattr(getattr(op, "train", None), "entry", None)
    if entry is not None:   # a hybridized block's call
        return _cached_call(entry, inputs, f"_cachedop{len(built)}")
    if not isinstance(op, _registry.Op):
        raise MXNetError(f"autograd.get_symbol: {type(op).__name__} has no symbol of its own; "
                         "record the computation with registry ops")
    attrs = {k: v for k, v in node.attrs.items() if not k.startswith("_")}
    return make_node(op, inputs, attrs, name=f"{op.name}{len(built)}")


def _value(a, leaves, built):
    if not isinstance(a, NDArray):
        return a
    if a._node is None:
        return leaves[id(a)]
    sym = built[id(a._node)]
    return sym if a._node.n_out == 1 else sym[a._index]


def _cached_call(entry, inputs, name):
    """A hybridized call over ``inputs`` (Symbols of its data then parameters): its traced
    graph inlined when small enough, else one ``_CachedOp`` node."""
    flags = entry.flags
    limit = flags.get("inline_limit")
    limit = INLINE_LIMIT if limit is None else int(limit)
    n_ops = sum(1 for n in topo_order(entry.outputs) if n.kind == "op")
    if not flags.get("static_alloc") and n_ops <= limit:
        subst = {n.id: inp._entry() for (n, _), inp in zip(entry.args, inputs)}

        def visit(node, _inputs):
            return [subst[node.id]] if node.id in subst else None
        return Symbol(rewrite(entry.outputs, visit))
    avals = [n.avals[i] if n.avals else None for n, i in entry.outputs]
    node = Node("op", _CachedCall(len(avals)), [i._entry() for i in inputs], {}, name=name,
                avals=avals)
    return Symbol([(node, k) for k in range(len(avals))])


class _CachedCall:
    """The op of a ``_CachedOp`` node (a hybridized call too large to inline): enough of an
    op for listing, printing and JSON; its outputs' shapes are the recorded call's."""

    name = "_CachedOp"
    aliases = ()
    attrs = {}
    inputs = ()
    param_shapes = None
    uses_mode = random = mutates = places = variadic = False

    def __init__(self, n_out):
        self._n_out = n_out

    def n_out(self, _attrs):
        return self._n_out

    def infer(self, *_ins, **_attrs):
        raise MXNetError("a _CachedOp node from autograd.get_symbol is not evaluable: export "
                         "the hybridized block with block.export() instead")
