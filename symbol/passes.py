"""Graph passes: common-subexpression elimination, constant folding, algebraic simplification.

Every pass maps a list of target entries to an equivalent list; dead code disappears because
only what the targets reach is rebuilt. Nodes are never mutated: changed nodes are copied.
"""
import math

import numpy as np

from .conv_chain import chain_visitor, merge_visitor
from .fold_bn import fold_epilogue, fold_into_conv
from .graph import Node, is_entry, topo_order


def _same_inputs(a, b):
    return len(a) == len(b) and all(_same_input(x, y) for x, y in zip(a, b))


def _same_input(x, y):
    # entries by their node and output index: rewrite builds new (node, k) tuples, and
    # comparing the tuples by identity copied every node below the inputs in every pass
    if x is y:
        return True
    if is_entry(x):
        return is_entry(y) and x[0] is y[0] and x[1] == y[1]
    return not is_entry(y) and x == y and type(x) is type(y)


def _copy(node, inputs):
    new = Node(node.kind, node.op, inputs, node.attrs, name=node.name, avals=node.avals,
               value=node.value, block=node.block, source=node.source, meta=node.meta)
    return new


def rewrite(targets, fn):
    """Rebuild the graph under ``targets`` bottom-up.

    ``fn(node, inputs)`` sees each node with its (already rewritten) inputs and returns a list of
    replacement entries (one per output) or None to keep the node.
    """
    mapping = {}
    for node in topo_order(targets):
        inputs = tuple(mapping[i[0].id][i[1]] if is_entry(i) else i for i in node.inputs)
        repl = fn(node, inputs)
        if repl is None:
            cur = node if _same_inputs(inputs, node.inputs) else _copy(node, inputs)
            repl = [(cur, k) for k in range(node.num_outputs)]
        mapping[node.id] = repl
    return [mapping[n.id][i] for n, i in targets]


def _pure(node):
    op = node.op
    return node.kind == "op" and not op.random and not op.mutates and not op.places


# ---- common-subexpression elimination ----
def cse(targets):
    seen = {}

    def visit(node, inputs):
        if not _pure(node):
            return None
        key = (node.op.name, tuple((i[0].id, i[1]) if is_entry(i) else ("lit", repr(i))
                                   for i in inputs), tuple(sorted(node.attrs.items())))
        hit = seen.get(key)
        if hit is not None:
            return [(hit, k) for k in range(node.num_outputs)]
        cur = node if _same_inputs(inputs, node.inputs) else _copy(node, inputs)
        seen[key] = cur
        return [(cur, k) for k in range(node.num_outputs)]
    return rewrite(targets, visit)


# ---- constant folding ----
def fold_constants(targets, xp):
    """Evaluate op nodes whose array inputs are all constants (creation ops included)."""
    return rewrite(targets, _fold_visit(xp))


def _fold_visit(xp):
    def visit(node, inputs):
        if not _pure(node) or any(is_entry(i) and i[0].kind != "const" for i in inputs):
            return None
        args = [i[0].value if is_entry(i) else i for i in inputs]
        res = node.op.kernel(xp, *args, **node.attrs)
        outs = [res] if node.num_outputs == 1 else list(res)
        return [(Node("const", value=o, avals=(node.avals[k],) if node.avals else None,
                      name=f"{node.name}_folded", block=node.block, source=node.source), 0)
                for k, o in enumerate(outs)]
    return visit


# ---- algebraic simplification ----
def _aval(entry):
    node, i = entry
    return None if node.avals is None else node.avals[i]


def _const_scalar(x):
    """The scalar value of a literal or of a constant node holding one repeated value."""
    if is_entry(x):
        node = x[0]
        if node.kind == "const" and node.value is not None and node.value.size <= 16:
            v = node.value.reshape(-1)
            if v.size and bool((v == v[0]).all()):
                return v[0].item() if hasattr(v[0], "item") else v[0]
        return None
    return x if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def _keeps(entry, out_aval):
    a = _aval(entry) if is_entry(entry) else None
    return a is not None and out_aval is not None and tuple(a.shape) == tuple(out_aval.shape) \
        and np.dtype(a.dtype) == np.dtype(out_aval.dtype)


_IDENTITY_OPS = {"identity", "stop_gradient"}
# reductions whose value over a single element is that element (not nansum: nansum([nan]) = 0)
_SINGLETON_REDUCERS = {"sum", "mean", "max", "min", "prod"}


def _replacement(node, op_name, inputs, attrs, avals):
    """A new ``op_name`` node standing for ``node`` (same name, block path and source line)."""
    from ..ndarray._registry import OPS
    return [(Node("op", OPS[op_name], inputs, attrs, name=node.name, avals=avals,
                  block=node.block, source=node.source), 0)]


def _moves_no_data(node, inputs, out):
    """A reduction over size-1 axes, or a broadcast onto size-1 axes: only the shape changes."""
    name = node.op.name
    src = _aval(inputs[0]) if is_entry(inputs[0]) else None
    if src is None or out is None or np.dtype(src.dtype) != np.dtype(out.dtype):
        return False
    if name not in _SINGLETON_REDUCERS and name != "_broadcast_reduced":
        return False
    return math.prod(src.shape) == math.prod(out.shape)


def simplify(targets):
    """x*1, 1*x, x+0, 0+x, x-0, x/1, identity, same-shape reshape, same-dtype cast, sum_to,
    reductions over / broadcasts onto size-1 axes (reshapes)."""
    return rewrite(targets, _simplify_visit)


def _simplify_visit(node, inputs):
    if node.kind != "op" or node.num_outputs != 1 or not _pure(node):
        return None
    name, out = node.op.name, (node.avals[0] if node.avals else None)
    if name in _IDENTITY_OPS and is_entry(inputs[0]):
        return [inputs[0]]
    if name in ("reshape", "sum_to", "broadcast_to", "cast", "flatten") and \
            _keeps(inputs[0], out):
        return [inputs[0]]
    if inputs and _moves_no_data(node, inputs, out):
        if _keeps(inputs[0], out):
            return [inputs[0]]
        return _replacement(node, "reshape", (inputs[0],), {"shape": tuple(out.shape)},
                            (out,))
    if name == "transpose" and is_entry(inputs[0]):
        return _fold_transposes(node, inputs)
    if name == "add" and len(inputs) == 2:
        merged = _merge_disjoint_stacks(node, inputs)
        if merged is not None:
            return merged
    if len(inputs) == 2:
        lhs, rhs = inputs
        rv, lv = _const_scalar(rhs), _const_scalar(lhs)
        if name in ("multiply", "divide", "power") and rv == 1 and _keeps(lhs, out):
            return [lhs]
        if name == "multiply" and lv == 1 and _keeps(rhs, out):
            return [rhs]
        if name in ("add", "subtract") and rv == 0 and _keeps(lhs, out):
            return [lhs]
        if name == "add" and lv == 0 and _keeps(rhs, out):
            return [rhs]
    return None



_ZERO_OPS = {"zeros_like", "_zeros", "zeros"}
_VIEW_OPS = {"reshape", "transpose", "expand_dims"}


def _is_zero(entry):
    """Whether ``entry`` is zeros (a zeros op seen through reshapes and transposes)."""
    while is_entry(entry) and entry[0].kind == "op":
        name = entry[0].op.name
        if name in _ZERO_OPS:
            return True
        if name not in _VIEW_OPS:
            return False
        entry = entry[0].inputs[0]
    return False


def _stack_of(entry):
    """(reshape node or None, stack node) where ``entry`` is stack(...) or a reshape of it."""
    node, reshape = entry[0], None
    if node.kind == "op" and node.op.name == "reshape" and is_entry(node.inputs[0]):
        reshape, node = node, node.inputs[0][0]
    if node.kind != "op" or node.op.name != "stack" or not node.avals:
        return None
    return reshape, node


def _merge_disjoint_stacks(node, inputs):
    """stack(a, b, 0) + stack(0, 0, c) -> stack(a, b, c), reshaped alike or not: the sum of
    gradients that each fill some parts of one interleaved array (the two self-attention
    products' gradients of their shared (T, B, heads*3*D) projection) without writing the
    zeros of both and adding them (a Transformer encoder layer's backward: two stacks of
    25 MB and their sum, ~35 ms a step, 2026-12-07)."""
    if not all(is_entry(i) for i in inputs) or not node.avals:
        return None
    a, b = _stack_of(inputs[0]), _stack_of(inputs[1])
    if a is None or b is None:
        return None
    (ra, sa), (rb, sb) = a, b
    if (sa.attrs.get("axis", 0) != sb.attrs.get("axis", 0) or len(sa.inputs) != len(sb.inputs)
            or sa.avals[0] != sb.avals[0] or (ra is None) != (rb is None)
            or (ra is not None and ra.avals != rb.avals)):
        return None
    parts = []
    for x, y in zip(sa.inputs, sb.inputs):
        if _is_zero(y):
            parts.append(x)
        elif _is_zero(x):
            parts.append(y)
        else:
            return None
    out = (Node("op", sa.op, tuple(parts), sa.attrs, name=sa.name, avals=sa.avals,
                block=node.block, source=node.source), 0)
    if ra is not None:
        out = (Node("op", ra.op, (out,), ra.attrs, name=ra.name, avals=ra.avals,
                    block=node.block, source=node.source), 0)
    return [out] if out[0].avals[0] == node.avals[0] else None


def _fold_transposes(node, inputs):
    src = inputs[0][0]
    if src.kind != "op" or src.op.name != "transpose" or not is_entry(src.inputs[0]):
        return None
    ndim = len(node.avals[0].shape) if node.avals else None
    if ndim is None:
        return None
    inner = src.attrs.get("axes") or tuple(reversed(range(ndim)))
    outer = node.attrs.get("axes") or tuple(reversed(range(ndim)))
    combined = tuple(inner[a] for a in outer)
    if combined == tuple(range(ndim)) and _keeps(src.inputs[0], node.avals[0]):
        return [src.inputs[0]]
    return None


# ---- fusion (compiled graphs only: exported graphs keep the standard ops) ----
def _plain_log_softmax(entry, axis):
    """Whether ``entry`` is a default log_softmax of a float array along ``axis``."""
    if not is_entry(entry) or entry[0].kind != "op" or entry[0].op.name != "log_softmax":
        return False
    node, src = entry[0], _aval(entry[0].inputs[0]) if is_entry(entry[0].inputs[0]) else None
    attrs = node.attrs
    if src is None or np.dtype(src.dtype).kind != "f" or attrs.get("use_length") or \
            attrs.get("dtype") is not None or attrs.get("temperature") not in (None, 1.0):
        return False
    ndim = len(src.shape)
    return int(attrs.get("axis", -1)) % ndim == int(axis) % ndim


def _fused_node(like, attrs, inputs):
    """A ``_log_softmax_pick`` node with ``attrs`` standing for ``like`` (name, block, line)."""
    from ..ndarray._registry import OPS
    op = OPS["_log_softmax_pick"]
    in_avals = [_aval(i) for i in inputs]
    avals = None if None in in_avals else op.infer(*in_avals, **attrs)
    return Node("op", op, inputs, attrs, name=like.name, avals=avals, block=like.block,
                source=like.source)


def _uses(targets):
    """How many times each entry is read (by a node or as a target)."""
    uses = {}
    for node in topo_order(targets):
        for i in node.inputs:
            if is_entry(i):
                uses[(i[0].id, i[1])] = uses.get((i[0].id, i[1]), 0) + 1
    for n, i in targets:
        uses[(n.id, i)] = uses.get((n.id, i), 0) + 1
    return uses


def _folds_into(node, src):
    """The fused op's attributes once ``node`` (its loss output's only reader) is folded in:
    a negation flips ``scale``; a reshape dropping the kept axis clears ``keepdims``."""
    attrs = dict(src.attrs)
    if node.op.name == "negative":
        attrs["scale"] = -float(attrs.get("scale", 1.0))
        return attrs
    data, index, out = _aval(src.inputs[0]), _aval(src.inputs[1]), node.avals
    if node.op.name != "reshape" or not attrs.get("keepdims") or None in (data, index, out) \
            or len(index.shape) != len(data.shape) - 1:
        return None
    if tuple(out[0].shape) != tuple(index.shape):
        return None
    attrs["keepdims"] = False
    return attrs


def fuse(targets):
    """``pick(log_softmax(x), label)`` (softmax cross-entropy) -> ``_log_softmax_pick`` with
    hidden outputs for its gradient; a negation or a reshape that drops the picked axis,
    reading only its result, folds into it (``scale=-1``, ``keepdims=False``). A predict-mode
    BatchNorm after a convolution folds into it, and a ReLU or residual add after that
    (symbol/fold_bn.py)."""
    uses = _uses(targets)  # of the graph as given (rewrite copies nodes: ids change)

    def visit(node, inputs):
        if node.kind != "op":
            return None
        if node.op.name == "batch_norm":
            return fold_into_conv(node, inputs, uses)
        if node.op.name in ("activation", "relu", "clip", "add"):
            return fold_epilogue(node, inputs, uses)
        if node.op.name == "pick" and _plain_log_softmax(inputs[0], node.attrs.get("axis", -1)):
            attrs = dict(node.attrs, scale=1.0, hidden=True)
            return [(_fused_node(node, attrs, (inputs[0][0].inputs[0], inputs[1])), 0)]
        if node.op.name not in ("negative", "reshape") or not is_entry(inputs[0]) or \
                node.avals is None or uses.get((node.inputs[0][0].id, node.inputs[0][1])) != 1:
            return None
        src, k = inputs[0]  # stands for node.inputs[0], which only this node reads
        if src.kind != "op" or src.op.name != "_log_softmax_pick" or k != 0 or \
                src.avals is None:
            return None
        attrs = _folds_into(node, src)
        return None if attrs is None else [(_fused_node(src, attrs, src.inputs), 0)]
    return rewrite(targets, visit)


def optimize(targets, xp, fuse_ops=False):
    """The standard pipeline: simplification, CSE and constant folding in one bottom-up walk,
    then (``fuse_ops``, compiled graphs) fusion of op chains into internal ops, then simplify
    again if fusion changed anything.

    One walk does what three passes did (a pass is a graph walk plus a copy of every node
    whose inputs changed: six walks were a third of a ResNet-18's first call): each node is
    simplified with its inputs already simplified, folded and merged, so a product with a
    folded constant 1 is removed in the same walk. CSE keys a node before folding it, so
    identical creation ops (``ones((100, 100))`` in a loop) become one constant: folding
    each gave each its own array, and a hundred copies of a weight do not stay in cache."""
    targets = rewrite(targets, _simplify_cse_fold(xp))
    if fuse_ops:
        fused = fuse(targets)
        # fusion (BatchNorm folding) makes products and sums that simplify may remove
        if not _same_entries(fused, targets):
            targets = simplify(fused)
            visit = chain_visitor(_uses(targets)) if xp is np else None
            if visit is not None:   # chains of the folded convolutions (onnxruntime's kernels)
                chained = rewrite(targets, visit)
                if not _same_entries(chained, targets):   # then chains of chains
                    chained = rewrite(chained, merge_visitor(_uses(chained)))
                targets = chained
    return targets


def _simplify_cse_fold(xp):
    """``rewrite``'s visit doing ``simplify``, ``cse`` and ``fold_constants`` at each node."""
    fold_visit = _fold_visit(xp)
    seen = {}

    def visit(node, inputs):
        repl = _simplify_visit(node, inputs)
        if repl is not None or not _pure(node):
            return repl
        key = (node.op.name, tuple((i[0].id, i[1]) if is_entry(i) else ("lit", repr(i))
                                   for i in inputs), tuple(sorted(node.attrs.items())))
        hit = seen.get(key)
        if hit is None:
            hit = fold_visit(node, inputs)
            if hit is None:
                cur = node if _same_inputs(inputs, node.inputs) else _copy(node, inputs)
                hit = [(cur, k) for k in range(node.num_outputs)]
            seen[key] = hit
        return hit
    return visit


def _same_entries(a, b):
    return len(a) == len(b) and all(x[0] is y[0] and x[1] == y[1] for x, y in zip(a, b))
