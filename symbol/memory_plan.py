"""The schedule and memory plan of a compiled graph, before any code is written.

``plan_graph(args, targets, ...)`` decides, for one function the code generator will emit:

* the **order**: the nodes to compute, topologically sorted (a backward computes the last
  target's nodes first), skipping what the caller provides;
* **liveness**: after which step each temporary is dead (``Step.dead``), so the generated code
  releases it there and numpy's allocator reuses its memory;
* **buffers**: where each inline (``fastpath``) op writes its result (``Step.dest``): a new
  array, right into a dying input of the same shape and dtype (in place), into a persistent
  buffer kept across calls (``static_alloc``), or into the caller's buffer (``out_mask``);
* **results**: how each target is returned: as computed, copied (graph inputs, constants), or
  copied only when it is, or may be a view of, a persistent buffer.

Invariants the plan keeps (tests/test_memory_plan.py): a temporary is overwritten only at its
last use and only when it owns its memory (no view); a target is never released nor
overwritten; a target never lives in a persistent buffer, and anything that may alias one is
copied on return, so the caller owns every result.

The result is plain data (``MemoryPlan``, ``Step``); ``codegen.emit`` turns it into Python.
"""
import math
import os
from dataclasses import dataclass, field

import numpy as np

from ..base import OpError
from . import fastpath
from .graph import is_entry, topo_order


@dataclass(eq=False)
class Lit:
    """A literal input (scalar, None, string...) of a node: the emitter names or inlines it."""

    value: object


@dataclass(eq=False)
class Step:
    """One node to compute.

    ``ins``: a variable name per array input, ``Lit`` per literal; ``outs``: the variables it
    defines (``c<id>`` for a constant). ``fast``: the inline ``(expr, out_expr)`` templates, or
    None to call the op's kernel. ``dest``: where an inline op writes (None: a new array;
    ``("inplace", var)``, ``("static", buffer)`` or ``("caller", "o<k>")``). ``dead``: the
    temporaries whose last use is this step. ``background``: run on a worker thread beside
    the steps that follow; its result is joined before the function returns.
    """

    node: object
    ins: list = field(default_factory=list)
    outs: list = field(default_factory=list)
    fast: tuple = None
    dest: tuple = None
    dead: list = field(default_factory=list)
    background: bool = False


@dataclass(eq=False)
class MemoryPlan:
    """What ``plan_graph`` decided; see the module docstring.

    ``n_args``: arguments ``a0..``; ``masked``: target positions written into caller buffers
    ``o<k>`` (passed after the arguments); ``steps``: in execution order; ``buffers``:
    persistent buffer name -> its node's aval (shape, dtype); ``static``: variables that are
    (or may be views of) persistent buffers; ``copies``: ``(o<k>, var)`` results copied into
    the caller's buffer at the end; ``returns``: per target ``(how, name)`` with how one of
    ``"caller"`` (the buffer ``o<k>``), ``"owned"``, ``"check"`` (copied if it is or views a
    persistent buffer) or ``"copy"`` (an argument or constant); ``target_vars``: the variable
    holding each target's value once computed. ``peak_temporaries``: the most
    bytes of new arrays alive at once during a call (an estimate: a kernel's outputs count as
    new arrays); with ``static_bytes`` it is the function's memory beyond its arguments.
    """

    n_args: int
    masked: list
    steps: list = field(default_factory=list)
    buffers: dict = field(default_factory=dict)
    static: set = field(default_factory=set)
    copies: list = field(default_factory=list)
    returns: list = field(default_factory=list)
    target_vars: list = field(default_factory=list)
    peak_temporaries: int = 0

    @property
    def static_bytes(self):
        """Bytes of the persistent buffers (``static_alloc``), allocated once."""
        return sum(_nbytes(a) for a in self.buffers.values())

    @property
    def order(self):
        """The nodes computed (or bound, for constants), in execution order."""
        return [s.node for s in self.steps]


def plan_graph(args, targets, static_alloc=False, last_target_first=False, out_mask=None):
    """Plan ``fn(xp, *args[, *out buffers]) -> targets`` (arguments as ``compile_graph``'s)."""
    var_of = {(node.id, i): f"a{k}" for k, (node, i) in enumerate(args)}
    provided = _provided_nodes(args, targets)
    # a backward lists its gradients in input order, but the last layer's are ready first:
    # computing each as soon as possible (as hand-written code does) uses the deltas while
    # they are still in cache and frees them sooner
    order = list(reversed(targets)) if last_target_first else targets
    nodes = list(topo_order(order, stop=provided))
    nodes, beside = _overlap_schedule(nodes, var_of, provided)
    uses = _last_uses(nodes, targets, var_of, provided, beside)
    masked = [k for k, m in enumerate(out_mask or ()) if m]
    plan = MemoryPlan(len(args), masked)
    state = _PlanState(var_of, {(n.id, i) for n, i in targets},
                       _direct_outputs(targets, masked), static_alloc)
    for idx, node in enumerate(nodes):
        if _skipped(node, provided, var_of):
            continue  # a provided multi-output node: the outputs read here are all given
        if node.kind == "const":
            var_of[(node.id, 0)] = f"c{node.id}"
            plan.steps.append(Step(node, outs=[f"c{node.id}"]))
            continue
        if node.kind == "var":
            raise OpError(f"graph input {node.name!r} was not provided ({node.where()})")
        plan.steps.append(_op_step(node, uses.get(idx, ()), state, plan))
        plan.steps[-1].background = node.id in beside
    _plan_results(plan, targets, state)
    plan.peak_temporaries = _peak_temporaries(plan)
    return plan


def _nbytes(aval):
    return math.prod(aval.shape) * np.dtype(aval.dtype).itemsize


def _peak_temporaries(plan):
    """Replay the plan: the most bytes of new arrays (not views, not written into a dying
    input, a persistent or the caller's buffer) alive at once."""
    live, now, peak = {}, 0, 0
    for step in plan.steps:
        node = step.node
        if node.kind != "op" or node.avals is None:
            continue
        new = step.dest is None and (step.fast is None or node.op.name not in fastpath.VIEWS)
        if new:
            for o, aval in zip(step.outs, node.avals):
                live[o] = _nbytes(aval)
                now += live[o]
        elif step.dest is not None and step.dest[0] == "inplace":  # the buffer changes hands
            live[step.outs[0]] = live.pop(step.dest[1], 0)
        peak = max(peak, now)
        for v in step.dead:
            now -= live.pop(v, 0)
    return peak


class _PlanState:
    """What the planner tracks while walking the nodes."""

    def __init__(self, var_of, keep, into, static_alloc):
        self.var_of, self.keep, self.into, self.static_alloc = var_of, keep, into, static_alloc
        self.fresh = set()    # temporaries known to own their buffer (safe to overwrite)
        self.written = set()  # target entries computed right in the caller's buffer
        self.owner = {}       # variable -> the persistent buffers it is (or may view)
        self.users = {}       # persistent buffer -> the live variables that may view it
        self.free = {}        # (shape, dtype) -> persistent buffers no live variable views

    def bind(self, var, bufs):
        """``var`` is (or may view) the persistent buffers ``bufs``."""
        if bufs:
            self.owner[var] = frozenset(bufs) | self.owner.get(var, frozenset())
            for b in bufs:
                self.users.setdefault(b, set()).add(var)

    def release(self, var, plan):
        """``var`` died: a buffer no live variable views is free for a later node."""
        for b in self.owner.pop(var, ()):
            users = self.users[b]
            users.discard(var)
            if not users:
                aval = plan.buffers[b]
                self.free.setdefault(_buffer_key(aval), []).append(b)

    def buffer_for(self, node, plan):
        """A persistent buffer for ``node``'s output: a free one of its shape and dtype (its
        last viewer died), else a new one."""
        aval = node.avals[0]
        free = self.free.get(_buffer_key(aval))
        if free:
            return free.pop()
        buf = f"_buf{node.id}"
        plan.buffers[buf] = aval
        return buf


def _buffer_key(aval):
    return tuple(aval.shape), np.dtype(aval.dtype).str


def _op_step(node, dying, state, plan):
    var_of, static = state.var_of, plan.static
    ins = [var_of[(i[0].id, i[1])] if is_entry(i) else Lit(i) for i in node.inputs]
    n_out = node.num_outputs
    outs = [f"t{node.id}_{k}" if n_out > 1 else f"t{node.id}" for k in range(n_out)]
    for k, o in enumerate(outs):
        var_of[(node.id, k)] = o
    step = Step(node, ins, outs, dead=[v for v in dying if v.startswith("t")])
    step.fast = fastpath.emit(node, [_aval(i) if is_entry(i) else i for i in node.inputs])
    if step.fast is None:  # the kernel: it may return a view of a static input
        key = (node.id, 0)
        if node.op.out_arg and n_out == 1 and key in state.into:
            state.written.add(key)
            step.dest = ("caller", state.into[key])  # it writes into the caller's buffer
        viewed = [v for v in ins if isinstance(v, str) and v in static]
        if viewed:
            static.update(outs)
            for o in outs:
                state.bind(o, set().union(*(state.owner.get(v, ()) for v in viewed)))
    else:
        step.dest = _destination(node, ins, outs[0], step.fast[1], dying, state, plan)
        first = ins[0] if ins else None
        if node.op.name not in fastpath.VIEWS and node.avals[0].shape != ():
            # (numpy's ufuncs give a shape-() result as a scalar, which no out= can name)
            state.fresh.add(outs[0])
        elif isinstance(first, str) and first in static:
            static.add(outs[0])  # a view of a static buffer is as volatile as the buffer
            state.bind(outs[0], state.owner.get(first, ()))
    for v in step.dead:
        state.release(v, plan)
    return step


def _destination(node, ins, out, out_expr, dying, state, plan):
    """Where an inline op writes its result (see ``Step.dest``)."""
    if not out_expr:
        return None
    key = (node.id, 0)
    first = node.inputs[0] if node.inputs else None
    escapes = key in state.keep
    static = plan.static
    if key in state.into and node.op.name not in fastpath.VIEWS:
        state.written.add(key)
        return ("caller", state.into[key])
    if is_entry(first):
        v = ins[0]
        if (v in state.fresh and v in dying and not (escapes and v in static)
                and fastpath.can_overwrite(node, _aval(first), node.avals[0])):
            if v in static:
                static.add(out)
                state.bind(out, state.owner.get(v, ()))
            return ("inplace", v)
    if state.static_alloc and not escapes:
        buf = state.buffer_for(node, plan)
        static.add(out)
        state.bind(out, {buf})
        return ("static", buf)
    return None


def _plan_results(plan, targets, state):
    """Graph inputs and constants returned as results are copied, and so is a result that is
    (a view of) a static buffer, which the next call overwrites: the caller owns results."""
    var_of, static = state.var_of, plan.static
    for k in plan.masked:  # results not built in the caller's buffer are copied into it
        key = (targets[k][0].id, targets[k][1])
        if not (key in state.written and state.into[key] == f"o{k}"):
            plan.copies.append((f"o{k}", var_of[key]))
    for k, (n, i) in enumerate(targets):
        v = var_of[(n.id, i)]
        plan.target_vars.append(v)
        if k in plan.masked:
            plan.returns.append(("caller", f"o{k}"))
        elif not v.startswith("t"):
            plan.returns.append(("copy", v))
        else:
            plan.returns.append(("check" if v in static else "owned", v))


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
        if node.id not in provided:  # a provided node is not run: its inputs are not read
            read.update((e[0].id, e[1]) for e in node.inputs if is_entry(e))
    return provided | {m for m in multi if all(k in given for k in read if k[0] == m)}


def _aval(entry):
    node, i = entry
    return None if node.avals is None else node.avals[i]


def _skipped(node, provided, var_of):
    """Whether the function does not compute ``node`` (the caller provides its outputs)."""
    return node.id in provided or all((node.id, k) in var_of for k in range(node.num_outputs))


# Off by default: on the 2-vCPU reference machine W4's step ran slower with the decoder's
# weight gradient beside the RNN backward (p10 273-292 against 237-255 ms without, fresh
# processes interleaved): the 28 MB GEMM evicts the cache the step loop's small GEMMs live in.
# ``KILN_OVERLAP=1`` turns it on where cores do not share that cache.
OVERLAP = os.environ.get("KILN_OVERLAP") == "1"


def _overlap_schedule(nodes, var_of, provided):
    """Which ``overlap`` nodes whose result nothing here reads (a weight's gradient) run on a
    worker thread beside the others, and in what order; returns ``(order, ids beside)``.

    With a ``serial`` node (an RNN's step loop, which keeps one core busy) each moves to just
    before the next serial node (``KILN_OVERLAP=1`` only). Without one, they stay where they
    are and all go beside when their work is large enough (``_gradients_beside``)."""
    ops = {n.id: n for n in nodes if n.kind == "op" and not _skipped(n, provided, var_of)}
    serial = [k for k, n in enumerate(nodes) if n.id in ops and n.op.serial]
    read = {i[0].id for n in ops.values() for i in n.inputs if is_entry(i)}
    candidates = [n for n in nodes if n.id in ops and n.op.overlap and n.num_outputs == 1
                  and n.id not in read]
    if not serial:
        return nodes, _gradients_beside(candidates)
    if not OVERLAP:
        return nodes, set()
    dest, beside = {}, {n.id for n in candidates}
    for k, n in enumerate(nodes):
        if n.id in beside:
            after = [j for j in serial if j > k]
            if after:
                dest.setdefault(after[0], []).append(n)
    moved = {n.id for group in dest.values() for n in group}
    order = []
    for k, n in enumerate(nodes):
        order += dest.get(k, [])
        if n.id not in moved:
            order.append(n)
    return order, moved


# A backward whose weight gradients (the ``overlap`` nodes that estimate their work: the
# convolutions') add up to this many multiply-adds runs them on a worker while the calling
# thread, on one BLAS thread, computes the data gradients (``codegen.solo``): nothing else in
# the backward reads them, and the two chains are about even in a CNN. ResNet-18's backward
# at batch 32, 32x32 (2-vCPU Xeon, 2026-12-07): 72 -> 53 ms, the training step 107 -> 90 ms
# (OpenBLAS's own threads shared only each GEMM, ~1.3x on two cores). Below the bound the
# handoffs cost more than they save. ``KILN_PARALLEL_GRADS=0`` turns it off.
PARALLEL_GRADS = os.environ.get("KILN_PARALLEL_GRADS", "1") != "0"
GRADS_BESIDE_MIN_MACS = 1 << 25


def _gradients_beside(candidates):
    work = sum(n.op.overlap(n) for n in candidates if callable(n.op.overlap))
    if not PARALLEL_GRADS or work < GRADS_BESIDE_MIN_MACS:
        return set()
    return {n.id for n in candidates}


def _last_uses(nodes, targets, var_of, provided=frozenset(), beside=frozenset()):
    """Map node index -> temporaries whose last use is that node (never targets). The inputs
    of nodes run ``beside`` the others live to the end: a worker may still read them."""
    keep = {(n.id, i) for n, i in targets}
    last = {}
    for idx, node in enumerate(nodes):
        if _skipped(node, provided, var_of):
            continue  # provided by the caller: its inputs are never computed here
        for i in node.inputs:
            if is_entry(i):
                last[(i[0].id, i[1])] = idx
    held = {(i[0].id, i[1]) for n in nodes if n.id in beside for i in n.inputs if is_entry(i)}
    by_id = {n.id: n for n in nodes}
    out = {}
    for key, idx in last.items():
        if key in keep or key in var_of or key in held:
            continue
        node_id, k = key
        src = by_id[node_id]
        if src.kind != "op":
            continue
        n_out = src.num_outputs
        name = f"t{node_id}_{k}" if n_out > 1 else f"t{node_id}"
        out.setdefault(idx, []).append(name)
    return out
