"""Symbolic reverse-mode differentiation of a traced graph.

Each op's ``grad`` facet is called on Symbols, so the backward pass is itself traced into nodes
(the same registry ops that compute eager gradients). Broadcast gradients are summed back with
``sum_to``, exactly as the eager engine does.
"""
import numpy as np

from ..ndarray import ops as F
from .graph import Node, TraceScope, is_entry, topo_order, tracing
from .symbol import Symbol


def _depends_on(nodes, wrt_ids):
    """Ids of nodes whose value depends on one of the ``wrt`` variables."""
    dep = set(wrt_ids)
    for n in nodes:
        if n.kind == "op" and n.op.grad is not None and any(
                is_entry(i) and i[0].id in dep for i in n.inputs):
            dep.add(n.id)
    return dep


def backward_graph(outputs, wrt, ctx):
    """Build gradient entries of ``outputs`` w.r.t. ``wrt`` (lists of entries).

    Returns ``(head_vars, grads)``: one new variable node per output (its incoming gradient) and
    one gradient entry per ``wrt`` entry (None when it does not depend on them).
    """
    nodes = topo_order(outputs)
    need = _depends_on(nodes, {n.id for n, _ in wrt})
    heads = []
    grads = {}
    tracer = TraceScope(ctx)  # gradients that move data back to an input's device read it
    with tracing(tracer), tracer.in_block("backward"):
        for k, (node, i) in enumerate(outputs):
            av = node.avals[i]
            head = Node("var", name=f"head_grad{k}", avals=(av,), meta={"head": True})
            heads.append(head)
            _acc(grads, (node.id, i), Symbol([(head, 0)]))
        for node in reversed(nodes):
            if node.kind != "op" or node.id not in need or node.op.grad is None:
                continue
            n = node.num_outputs
            gouts = [grads.pop((node.id, k), None) for k in range(n)]
            if all(g is None for g in gouts):
                continue
            outs = [Symbol([(node, k)]) for k in range(n)]
            gouts = [F.zeros_like(o) if g is None else g for o, g in zip(outs, gouts)]
            keep_outs = outs if (node.op.save_outputs or n > 1) else None
            ins = [Symbol([i]) if is_entry(i) else i for i in node.inputs]
            with tracer.in_block(node.block or ""):
                in_grads = node.op.grad(ins, keep_outs, gouts, **node.attrs)
            for inp, g in zip(node.inputs, in_grads):
                if g is None or not is_entry(inp) or inp[0].id not in need:
                    continue
                av = inp[0].avals[inp[1]]
                if tuple(g.shape) != tuple(av.shape):
                    g = F.sum_to(g, shape=tuple(av.shape))
                if np.dtype(g.dtype) != np.dtype(av.dtype):
                    g = F.cast(g, dtype=np.dtype(av.dtype).name)
                _acc(grads, (inp[0].id, inp[1]), g)
    result = []
    for node, i in wrt:
        g = grads.get((node.id, i))
        result.append(None if g is None else g._entry())
    return [(h, 0) for h in heads], result


def _acc(grads, key, g):
    prev = grads.get(key)
    grads[key] = g if prev is None else prev + g
