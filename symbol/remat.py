"""Rematerialization for hybridized training graphs (``HybridBlock.checkpoint()``).

A compiled training step saves every forward value its backward reads. For the nodes of a
checkpointed block the backward reads clones instead: copies of those forward nodes placed in
the backward graph, computed there again from the block's saved inputs. The forward still
computes the block once (its output is needed), but saves only what enters the block, so the
block's activations are freed during the forward and exist again only while its gradient runs:
less peak memory for one more forward of the block.

A random op (dropout) is never cloned (it would draw a new mask): its output is saved as
without checkpointing. A training BatchNorm is cloned with copies of its running statistics,
which the clone updates in place instead of the parameters (the forward updated those once).
"""
from .graph import Node, is_entry, topo_order


def in_checkpoint(block_path, paths):
    """Whether a node of block ``block_path`` lies in a checkpointed block (one of ``paths``;
    ``""`` is the hybridized root itself)."""
    return any(p == "" or block_path == p or block_path.startswith(p + ".") for p in paths)


def rematerialize(targets, head_ids, paths):
    """``(targets, clone ids)``: the backward ``targets`` with every read of a checkpointed
    forward node redirected to a clone of it (clones read clones, down to the values that
    enter the checkpointed region), and likewise every read of a copy of the parameters
    (``_FROM_PARAMS``). ``head_ids``: the output-gradient nodes (what makes a node part of
    the backward)."""
    nodes = topo_order(targets)
    backward = set(head_ids)
    for n in nodes:
        if any(is_entry(i) and i[0].id in backward for i in n.inputs):
            backward.add(n.id)
    clones, new, copies = {}, {}, set()

    def clone(node):
        if node.id not in clones:
            inputs = tuple(_private(redirect(i), node, k, copies)
                           for k, i in enumerate(node.inputs))
            clones[node.id] = Node(node.kind, node.op, inputs, node.attrs,
                                   name=node.name + "_remat", avals=node.avals,
                                   block=node.block, source=node.source, meta=node.meta)
        return clones[node.id]

    def redirect(entry):
        if not is_entry(entry):
            return entry
        node, k = entry
        if node.id in new:
            return (new[node.id], k)
        if node.id in backward or not _clonable(node, paths):
            return entry
        return (clone(node), k)

    for n in nodes:
        if n.id not in backward:
            continue
        inputs = tuple(redirect(i) for i in n.inputs)
        if any(a is not b for a, b in zip(inputs, n.inputs)):
            new[n.id] = Node(n.kind, n.op, inputs, n.attrs, name=n.name, avals=n.avals,
                             block=n.block, source=n.source, meta=n.meta)
    out = [(new.get(n.id, n), k) for n, k in targets]
    return out, {c.id for c in clones.values()} | copies


# ops whose in-place updates never feed their own outputs: a clone may update copies instead
_STATE_UPDATES = {"batch_norm"}


def _clonable(node, paths):
    op = node.op
    if node.kind != "op" or op.random or op.places:
        return False
    if _from_params(node):
        return True
    return (not op.mutates or op.name in _STATE_UPDATES) and in_checkpoint(node.block, paths)


# always recomputed rather than saved: a copy of the parameters themselves (the fused RNN's
# flat parameter vector, 4 MB for W4) costs a pass over them in the backward instead of being
# held from the forward to the backward, across the loss's peak
_FROM_PARAMS = {"_rnn_param_concat", "reshape"}


def _from_params(node):
    return node.kind == "op" and node.op.name in _FROM_PARAMS and all(
        not is_entry(i) or i[0].kind == "var" or _from_params(i[0]) for i in node.inputs)


def _private(entry, node, k, copies):
    """Input ``k`` of a clone of ``node``: a copy when the op updates it in place (a training
    BatchNorm's running statistics, updated once by the forward already)."""
    if k not in node.op.mutated(node.attrs) or not is_entry(entry):
        return entry
    from ..ndarray._registry import OPS
    src, i = entry
    copy = Node("op", OPS["identity"], (entry,), {}, name=f"{node.name}_remat_state{k}",
                avals=None if src.avals is None else (src.avals[i],), block=node.block,
                source=node.source)
    copies.add(copy.id)
    return (copy, 0)
