"""Compile a graph into a straight-line Python function over the op kernels.

The generated source is readable (``print(compiled.source)``): one line per op, named after the
node, with the block path and the user's line as a comment. Temporaries are released right after
their last use (liveness), so numpy's allocator reuses their memory. A failure inside the
function is reported with the failing node's block path and source line.
"""
import functools
import math
import sys

import numpy as np

from ..base import OpError
from ..ndarray.ops._xp import relu, relu_backward
from . import fastpath
from .graph import is_entry, topo_order
from .op_names import export_name


class Compiled:
    """A generated function ``fn(xp, *args) -> tuple`` plus its source and node table."""

    def __init__(self, fn, source, line_nodes, arg_names):
        self.fn, self.source, self.line_nodes, self.arg_names = fn, source, line_nodes, arg_names

    def __call__(self, xp, *args):
        try:
            return self.fn(xp, *args)
        except Exception as e:
            node = self._failing_node(e)
            if node is None:
                raise
            err = OpError(f"{node.op.name} failed while running the compiled graph: "
                          f"{str(e).splitlines()[0] if str(e) else type(e).__name__} "
                          f"(node {node.name}, {node.where()})")
            err.graph_block = node.block  # the hybridized block names the layer (nn/block.py)
            raise err from e

    def _failing_node(self, exc):
        tb = exc.__traceback__
        node = None
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == "<kiln-graph>":
                node = self.line_nodes.get(tb.tb_lineno)
            tb = tb.tb_next
        return node

    def __repr__(self):
        return self.source


def _literal(v, ns):
    if v is None or isinstance(v, (bool, int, str)):
        return repr(v)
    if isinstance(v, float) and math.isfinite(v):
        return repr(v)
    name = f"_lit{len(ns)}"
    ns[name] = v
    return name


def compile_graph(args, targets, name="graph", static_xp=None, op_hook=None,
                  last_target_first=False, out_mask=None):
    """Generate ``fn(xp, *args)`` returning the values of ``targets``.

    ``args``: entries provided by the caller, in order (graph inputs, parameters, saved values).
    ``targets``: entries to return. Constant nodes are bound into the function's globals.
    ``static_xp``: the array module to preallocate persistent intermediate buffers with
    (``static_alloc``); such a function must not run in two threads at once.
    ``op_hook``: ``(callback, monitor_all, ctx)`` (``HybridBlock.register_op_hook``): each op's
    output (and with monitor_all its inputs) is passed to the callback as it is computed.
    ``last_target_first``: schedule the nodes of the last target first (backward graphs).
    ``out_mask``: one bool per target; the function then takes, after ``args``, one array
    per True target and writes that result into it (computed there directly when its op has
    an ``out=`` form, else copied), as gradients go into ``.grad`` buffers without allocating.
    """
    ns = {"_partial": functools.partial, "_relu": relu, "_relu_bwd": relu_backward}
    var_of = {}
    arg_names = []
    for k, (node, i) in enumerate(args):
        var_of[(node.id, i)] = f"a{k}"
        arg_names.append(node.name)
    provided = _provided_nodes(args, targets)
    # a backward lists its gradients in input order, but the last layer's are ready first:
    # computing each as soon as possible (as hand-written code does) uses the deltas while
    # they are still in cache and frees them sooner
    order = list(reversed(targets)) if last_target_first else targets
    nodes = [n for n in topo_order(order, stop=provided)]
    uses = _last_uses(nodes, targets, var_of, provided)
    masked = [k for k, m in enumerate(out_mask or ()) if m]
    into = _direct_outputs(targets, masked)  # target entry -> caller's buffer it is built in
    written = set()
    lines = [f"def {name}(xp{''.join(f', a{k}' for k in range(len(args)))}"
             f"{''.join(f', o{k}' for k in masked)}):"]
    line_nodes = {}
    fresh = set()  # temporaries known to own their buffer (safe to overwrite when they die)
    static = set()  # temporaries living in persistent static_alloc buffers
    keep = {(n.id, i) for n, i in targets}
    for idx, node in enumerate(nodes):
        if node.id in provided or all((node.id, k) in var_of for k in range(node.num_outputs)):
            continue  # a provided multi-output node: the outputs read here are all given
        if node.kind == "const":
            cname = f"c{node.id}"
            ns[cname] = node.value
            var_of[(node.id, 0)] = cname
            continue
        if node.kind == "var":
            raise OpError(f"graph input {node.name!r} was not provided ({node.where()})")
        in_vars = [var_of[(i[0].id, i[1])] if is_entry(i) else _literal(i, ns)
                   for i in node.inputs]
        ins = ", ".join(in_vars)
        n_out = node.num_outputs
        outs = [f"t{node.id}_{k}" if n_out > 1 else f"t{node.id}" for k in range(n_out)]
        for k, o in enumerate(outs):
            var_of[(node.id, k)] = o
        comment = f"  # {node.name}" + (f" @ {node.where()}" if node.source else "")
        if op_hook is not None and op_hook[1]:
            lines += _hook_lines(node, in_vars)
        fast = fastpath.emit(node, [_aval(i) if is_entry(i) else i for i in node.inputs])
        if fast is not None:
            expr, out_expr = fast
            dying = uses.get(idx, ())
            first = node.inputs[0] if node.inputs else None
            escapes = (node.id, 0) in keep
            if out_expr and (node.id, 0) in into and node.op.name not in fastpath.VIEWS:
                expr = out_expr.replace("{out}", into[(node.id, 0)])
                written.add((node.id, 0))
            elif (out_expr and is_entry(first) and in_vars[0] in fresh and in_vars[0] in dying
                    and not (escapes and in_vars[0] in static)
                    and fastpath.can_overwrite(node, _aval(first), node.avals[0])):
                expr = out_expr.replace("{out}", in_vars[0])
                if in_vars[0] in static:
                    static.add(outs[0])
            elif out_expr and static_xp is not None and not escapes:
                buf = f"_buf{node.id}"
                ns[buf] = static_xp.empty(node.avals[0].shape, node.avals[0].dtype)
                expr = out_expr.replace("{out}", buf)
                static.add(outs[0])
            lines.append(f"    {outs[0]} = {expr.format(*in_vars)}{comment}")
            if node.op.name not in fastpath.VIEWS:
                fresh.add(outs[0])
            elif in_vars[0] in static:
                static.add(outs[0])  # a view of a static buffer is as volatile as the buffer
        else:
            kname = f"k{node.id}"
            ns[kname] = functools.partial(node.op.kernel, **node.attrs) if node.attrs \
                else node.op.kernel
            if any(v in static for v in in_vars):
                static.update(outs)  # a kernel may return a view of its static input
            lhs = outs[0] if n_out == 1 else ", ".join(outs) + ", *_"
            lines.append(f"    {lhs} = {kname}(xp{', ' if ins else ''}{ins}){comment}")
        line_nodes[len(lines)] = node
        if op_hook is not None:
            ns.setdefault("_hook", _hook_caller(op_hook[0], op_hook[2]))
            lines += [f"    _hook({_hook_name(node) + suffix!r}, {_op_type(node)!r}, {o})"
                      for suffix, o in zip(_output_suffixes(node), outs)]
        dead = uses.get(idx, ())
        dead = [v for v in dead if v.startswith("t")]
        if dead:
            lines.append(f"    del {', '.join(dead)}")
    # graph inputs and constants returned as results are copied, and so is a result that is
    # (a view of) a static buffer, which the next call overwrites: the caller owns results
    for k in masked:  # results not built in the caller's buffer are copied into it
        key = (targets[k][0].id, targets[k][1])
        if not (key in written and into[key] == f"o{k}"):
            lines.append(f"    o{k}[...] = {var_of[key]}")
    ns["_own"] = _owner_check({id(v) for k, v in ns.items() if k.startswith("_buf")})
    ret = ", ".join(f"o{k}" if k in masked else
                    v if v.startswith("t") and v not in static else
                    f"_own({v})" if v.startswith("t") else f"{v}.copy()"
                    for k, v in enumerate(var_of[(n.id, i)] for n, i in targets))
    lines.append(f"    return ({ret}{',' if len(targets) == 1 else ''})")
    source = "\n".join(lines) + "\n"
    code = compile(source, "<kiln-graph>", "exec")
    exec(code, ns)  # noqa: S102 - our own generated straight-line code
    return Compiled(ns[name], source, line_nodes, arg_names)


def _direct_outputs(targets, masked):
    """``{target entry: 'o<k>'}``: the masked targets that can be computed right in the
    caller's buffer (an entry listed twice is computed once, then copied)."""
    keys = [(n.id, i) for n, i in targets]
    return {keys[k]: f"o{k}" for k in masked if keys.count(keys[k]) == 1}


def _provided_nodes(args, targets):
    """Nodes the caller provides: single-output ones given as arguments, and multi-output ones
    whose every output this function reads is given (a node is never run again for an output
    nobody reads: a random op would draw anew)."""
    provided = {n.id for n, _ in args if n.num_outputs == 1}
    multi = {n.id for n, _ in args if n.num_outputs > 1}
    if not multi:
        return provided
    given = {(n.id, i) for n, i in args}
    read = {(n.id, i) for n, i in targets}
    for node in topo_order(targets, stop=provided | multi):
        read.update((e[0].id, e[1]) for e in node.inputs if is_entry(e))
    return provided | {m for m in multi if all(k in given for k in read if k[0] == m)}


def _op_type(node):
    return export_name(node)[0]


def _output_suffixes(node):
    n = node.num_outputs
    return ["_output"] if n == 1 else [f"_output{k}" for k in range(n)]


def _hook_name(node):
    """MXNet 1.9's node name when the trace recorded it (``dense0_fwd``), else kiln's."""
    return node.meta.get("mx_name") or node.name


# MXNet ops that declare no input names: its hooks call their inputs input0, input1...
_UNNAMED_INPUTS = {"Activation"}


def _hook_lines(node, in_vars):
    """Report the array inputs of ``node`` (``monitor_all``), named after the op's inputs."""
    names = [n.lstrip("*").rstrip("?") for n in node.op.inputs] if node.op.inputs else []
    op_type = _op_type(node)
    if op_type in _UNNAMED_INPUTS:
        names = []
    lines = []
    for k, (i, v) in enumerate(zip(node.inputs, in_vars)):
        if is_entry(i):
            label = names[k] if k < len(names) and not node.op.variadic else f"input{k}"
            lines.append(f"    _hook({_hook_name(node) + '_' + label!r}, {op_type!r}, {v})")
    return lines


HOOKS_MUTED = [False]  # set while a block's first (eager, initializing) call runs


def _hook_caller(callback, ctx):
    from ..ndarray.ndarray import _new

    def call(name, op_type, array):
        if not HOOKS_MUTED[0]:
            callback(name, op_type, _new(array, ctx))
    return call


def _owner_check(static_ids):
    def own(a):
        return a.copy() if a.base is not None or id(a) in static_ids else a
    return own


def _aval(entry):
    node, i = entry
    return None if node.avals is None else node.avals[i]


def _last_uses(nodes, targets, var_of, provided=frozenset()):
    """Map node index -> temporaries whose last use is that node (never targets)."""
    keep = {(n.id, i) for n, i in targets}
    last = {}
    for idx, node in enumerate(nodes):
        if node.id in provided or all((node.id, k) in var_of for k in range(node.num_outputs)):
            continue  # provided by the caller: its inputs are never computed here
        for i in node.inputs:
            if is_entry(i):
                last[(i[0].id, i[1])] = idx
    by_id = {n.id: n for n in nodes}
    out = {}
    for key, idx in last.items():
        if key in keep or key in var_of:
            continue
        node_id, k = key
        src = by_id[node_id]
        if src.kind != "op":
            continue
        n_out = src.num_outputs
        name = f"t{node_id}_{k}" if n_out > 1 else f"t{node_id}"
        out.setdefault(idx, []).append(name)
    return out


_ = (np, sys)
