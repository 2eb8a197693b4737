"""Split a graph that onnxruntime cannot run whole into partitions: runs of ops that lower go
to onnxruntime sessions, the others (a training-mode Dropout draws from kiln's generator, an
op without an ONNX lowering) to kiln's numpy code generator.

Each op node gets a partition index: the smallest one not below its inputs' whose parity says
its executor (even: onnxruntime, odd: numpy). That is the fewest partitions a topological
schedule allows, and a value flows only from lower partitions to higher ones. A partition's
arguments are the values it reads from the caller or from lower partitions; its results are
what later partitions or the caller read. Constants are recomputed where they are used.

Example::

    >>> parts = partition(args, targets, opset=17)
    >>> [(p.executor, len(p.nodes)) for p in parts]
    [('onnxruntime', 12), ('numpy', 1), ('onnxruntime', 9)]
"""
import copy

from ..symbol.graph import is_entry
from .onnx_builder import Builder, ExportError
from .onnx_lower import _lower
from .ort_lower import _bn_train, _check_node, _is_train_bn, _needed


class Partition:
    """One run of nodes on one executor: ``args``/``targets`` are graph entries."""

    def __init__(self, executor):
        self.executor, self.nodes, self.args, self.targets = executor, [], [], []
        self.reasons = {}  # op name -> why it runs in numpy (numpy partitions)


def unlowerable(node, opset):
    """Why ``node`` alone does not lower to ONNX (tried on a scratch builder), or None."""
    try:
        _check_node(node)
        g = Builder(opset)
        tensors = {(i[0].id, i[1]): g.fresh("x") for i in node.inputs if is_entry(i)}
        if _is_train_bn(node):
            _bn_train(g, node, tensors)
        elif len(_lower(g, node, tensors)) != node.num_outputs:
            return (f"operator {node.op.name!r} lowers fewer than its {node.num_outputs} "
                    "outputs (the hidden outputs of its training form)")
    except ExportError as e:
        return str(e)
    return None


def partition(args, targets, opset):
    """The partitions computing ``targets`` from ``args``, in the order they run."""
    given = {(n.id, i) for n, i in args}
    ops = [n for n in _needed(targets, given) if n.kind == "op"]
    index, why = {}, {}
    for node in ops:
        at = max((index[i[0].id] for i in node.inputs if is_entry(i) and i[0].id in index
                  and (i[0].id, i[1]) not in given), default=0)
        why[node.id] = unlowerable(node, opset)
        want = 0 if why[node.id] is None else 1
        index[node.id] = at if at % 2 == want else at + 1
    parts = {}
    for node in ops:
        k = index[node.id]
        if k not in parts:
            parts[k] = Partition("onnxruntime" if k % 2 == 0 else "numpy")
        parts[k].nodes.append(node)
        if why[node.id]:
            parts[k].reasons.setdefault(node.op.name, why[node.id])
    ordered = [parts[k] for k in sorted(parts)]
    _wire(ordered, index, given, targets)
    return ordered


def _wire(parts, index, given, targets):
    """Fill each partition's arguments (read from outside it) and results (read after it)."""
    final = {(n.id, i) for n, i in targets}
    read_outside = set()
    for p in parts:
        mine = {n.id for n in p.nodes}
        seen = set()
        for node in p.nodes:
            for i in node.inputs:
                key = (i[0].id, i[1]) if is_entry(i) else None
                if key is None or key in seen or (i[0].id in mine and key not in given):
                    continue
                if key in given or i[0].id in index:  # else a constant, rebuilt here
                    seen.add(key)
                    p.args.append((i[0], i[1]))
                    read_outside.add(key)
    for p in parts:
        for node in p.nodes:
            p.targets.extend((node, k) for k in range(node.num_outputs)
                             if (node.id, k) in read_outside or (node.id, k) in final)


class PartitionedFunction:
    """The partitions' compiled functions run in order: ``fn(xp, *arrays)`` as
    ``compile_graph``'s contract, ``out_mask`` results copied into the buffers passed after
    the arguments (the partitions themselves return new arrays)."""

    def __init__(self, args, targets, steps, name, out_mask=None):
        self.arg_keys = [(n.id, i) for n, i in args]
        self.target_keys = [(n.id, i) for n, i in targets]
        self.consts = {(n.id, 0): n.value for n, _ in targets if n.kind == "const"}
        self.steps, self.out_mask = _with_frees(steps, set(self.target_keys)), out_mask
        fns = [s[0] for s in steps]
        self.peak_temporaries = max((getattr(f, "peak_temporaries", 0) for f in fns), default=0)
        self.static_bytes = sum(getattr(f, "static_bytes", 0) for f in fns)
        self.source = f"# {name}: {len(steps)} partitions\n" + "".join(f.source for f in fns)

    def into(self, mask):
        """The same partitions, writing the results marked in ``mask`` into buffers."""
        other = copy.copy(self)
        other.out_mask = tuple(mask)
        return other

    def __call__(self, xp, *arrays):
        n = len(self.arg_keys)
        env = dict(self.consts)
        env.update(zip(self.arg_keys, arrays[:n]))
        for fn, ins, outs, done in self.steps:
            env.update(zip(outs, fn(xp, *[env[k] for k in ins])))
            for k in done:  # read by no later partition: free it now
                del env[k]
        results = [env[k] for k in self.target_keys]
        if self.out_mask:
            buffers = iter(arrays[n:])
            for k, m in enumerate(self.out_mask):
                if m:
                    buf = next(buffers)
                    buf[...] = results[k]
                    results[k] = buf
        return tuple(results)


def _with_frees(steps, keep):
    """``(fn, ins, outs, done)``: ``done`` lists the values no later step reads."""
    last = {}
    for k, (_, ins, outs) in enumerate(steps):
        for key in list(ins) + list(outs):
            last[key] = k
    return [(fn, ins, outs, [key for key in set(ins) | set(outs)
                             if last[key] == k and key not in keep])
            for k, (fn, ins, outs) in enumerate(steps)]


def describe(parts):
    """One line for ``backend_plan()``: the partitions and the ops that stay in numpy."""
    reasons = {}
    for p in parts:
        for op, why in p.reasons.items():
            reasons.setdefault(op, why)
    n_ort = sum(p.executor == "onnxruntime" for p in parts)
    return (f"partitioned: {n_ort} onnxruntime, {len(parts) - n_ort} numpy; in numpy: "
            + "; ".join(f"{op} ({why})" for op, why in sorted(reasons.items())))


__all__ = ["partition", "unlowerable", "Partition", "PartitionedFunction", "describe"]
