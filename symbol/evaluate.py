"""Run a graph by calling each node's op through the registry (eagerly, or while tracing).

This is how a loaded graph (``SymbolBlock``, ``Symbol.eval``, the executor) computes: every node
goes through the one dispatch point, so autograd records it and ``hybridize`` can trace it.
"""
from ..base import MXNetError
from ..ndarray.ndarray import NDArray
from .graph import is_entry, topo_order


def public_attrs(node):
    """Node attributes without the ones the dispatcher injects (``_train``)."""
    return {k: v for k, v in node.attrs.items() if not k.startswith("_")}


def evaluate(entries, feed):
    """Values of ``entries`` given ``feed`` (variable name -> NDArray or traced Symbol)."""
    values = {}
    for node in topo_order(entries):
        if node.kind == "var":
            if node.name not in feed:
                raise MXNetError(f"no value given for graph input {node.name!r}")
            values[(node.id, 0)] = feed[node.name]
        elif node.kind == "const":
            values[(node.id, 0)] = NDArray(node.value)
        else:
            args = [values[(i[0].id, i[1])] if is_entry(i) else i for i in node.inputs]
            res = node.op.func(*args, **public_attrs(node))
            if node.num_outputs == 1:
                values[(node.id, 0)] = res
            else:
                for k, r in enumerate(res):
                    values[(node.id, k)] = r
    return [values[(n.id, i)] for n, i in entries]
