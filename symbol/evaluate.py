"""Run a graph by calling each node's op through the registry (eagerly, or while tracing).

This is how a loaded graph (``SymbolBlock``, ``Symbol.eval``, the executor) computes: every node
goes through the one dispatch point, so autograd records it and ``hybridize`` can trace it.
"""
from ..base import MXNetError
from ..ndarray.ndarray import NDArray
from .graph import is_entry, topo_order
from .infer import has_open_shape, open_shapes

_OPEN_CACHE = {}   # (output entries, input shapes and dtypes) -> open_shapes' answer


def _open_shapes(entries, order, feed):
    """``{node id: shape}`` for the open-shaped creation ops, from the fed arrays' shapes
    (remembered per graph and shapes: a bound executor's every forward asks again)."""
    if not any(has_open_shape(n) for n in order):
        return {}
    vals = {n.name: feed.get(n.name) for n in order if n.kind == "var"}
    shapes = {k: tuple(v.shape) for k, v in vals.items() if isinstance(v, NDArray)}
    dtypes = {k: v.dtype for k, v in vals.items() if isinstance(v, NDArray)}
    key = (tuple((n.id, i) for n, i in entries), tuple(sorted(shapes.items())),
           tuple(sorted((k, str(d)) for k, d in dtypes.items())))
    if key not in _OPEN_CACHE:
        if len(_OPEN_CACHE) >= 256:
            _OPEN_CACHE.clear()
        _OPEN_CACHE[key] = open_shapes(order, shapes, dtypes)
    return _OPEN_CACHE[key]


def public_attrs(node):
    """Node attributes without the ones the dispatcher injects (``_train``)."""
    return {k: v for k, v in node.attrs.items() if not k.startswith("_")}


def evaluate(entries, feed, monitor=None):
    """Values of ``entries`` given ``feed`` (variable name -> NDArray or traced Symbol).

    ``monitor``: ``(callback, monitor_all)``; ``callback(name, array)`` sees each op's outputs
    as they are computed, named as MXNet's executor names them (``fc_output``,
    ``split_output1``), and with ``monitor_all`` its array inputs first (``fc_data``,
    ``fc_weight``)."""
    values = {}
    order = topo_order(entries)
    opened = _open_shapes(entries, order, feed)
    for node in order:
        if node.kind == "var":
            if node.name not in feed:
                raise MXNetError(f"no value given for graph input {node.name!r}")
            values[(node.id, 0)] = feed[node.name]
            if monitor is not None and monitor[1]:
                monitor[0](node.name, feed[node.name])  # MXNet reports variables too
        elif node.kind == "const":
            values[(node.id, 0)] = NDArray(node.value)
        else:
            args = [values[(i[0].id, i[1])] if is_entry(i) else i for i in node.inputs]
            if monitor is not None and monitor[1]:
                _report_inputs(node, args, monitor[0])
            attrs = public_attrs(node)
            if node.id in opened:
                attrs["shape"] = opened[node.id]
            res = node.op.func(*args, **attrs)
            outs = [res] if node.num_outputs == 1 else list(res)
            for k, r in enumerate(outs):
                values[(node.id, k)] = r
            if monitor is not None:
                suffixes = ["_output"] if len(outs) == 1 else [f"_output{k}"
                                                               for k in range(len(outs))]
                for suffix, r in zip(suffixes, outs):
                    monitor[0](node.name + suffix, r)
    return [values[(n.id, i)] for n, i in entries]


def _report_inputs(node, args, callback):
    from .codegen import _UNNAMED_INPUTS, _op_type  # MXNet's names, as op hooks use them
    names = [] if _op_type(node) in _UNNAMED_INPUTS else \
        [n.lstrip("*").rstrip("?") for n in node.op.inputs]
    for k, (i, a) in enumerate(zip(node.inputs, args)):
        if is_entry(i) and isinstance(a, NDArray):
            label = names[k] if k < len(names) and not node.op.variadic else f"input{k}"
            callback(f"{node.name}_{label}", a)
