"""Compile a graph into a straight-line Python function over the op kernels.

The generated source is readable (``print(compiled.source)``): one line per op, named after the
node, with the block path and the user's line as a comment. Temporaries are released right after
their last use (liveness), so numpy's allocator reuses their memory. A failure inside the
function is reported with the failing node's block path and source line.

``compile_graph`` is two passes: ``memory_plan.plan_graph`` decides the order, the last uses and
where each result is written (plain data), and ``emit`` turns that plan into the function.
"""
import functools
import math
import re
import threading
import types

import numpy as np

from ..base import OpError, OpIndexError
from ..ndarray._blas import threads as blas_threads
from ..ndarray._parallel import _Done, background, reserved, workers
from ..ndarray._profile import ACTIVE as PROFILE
from ..ndarray.ops._xp import add_into, binary_rows, dense, relu, relu_backward
from .graph import is_entry
from .memory_plan import Lit, plan_graph
from .op_names import export_name


class Compiled:
    """A generated function ``fn(xp, *args) -> tuple`` plus its source and node table.

    ``peak_temporaries`` and ``static_bytes``: the memory plan's estimate of a call's memory
    beyond its arguments (``memory_plan.MemoryPlan``)."""

    peak_temporaries = static_bytes = 0
    plan = None  # (MemoryPlan, name, arg names, static_xp, op_hook, notify): to emit variants
    # a function loaded from the compile cache has no plan: this recompiles one when the
    # profiler asks for the timed variant (symbol/compile_cache.py)
    replan = None

    def __init__(self, fn, source, line_nodes, arg_names):
        self.fn, self.source, self.line_nodes, self.arg_names = fn, source, line_nodes, arg_names
        self._timed = None

    def __call__(self, xp, *args):
        prof = PROFILE[0]
        if prof is not None and prof.symbolic and (self.plan or self.replan):
            return self.timed()(xp, *args)
        try:
            return self.fn(xp, *args)
        except Exception as e:
            self._reraise(e)

    def timed(self):
        """The same function timing every node into the running profiler (``kiln.profiler``),
        emitted on first use: graphs cost nothing extra while no profiler runs."""
        if self._timed is None:
            if self.plan is None:
                self.plan = self.replan().plan
            plan, name, arg_names, static_xp, op_hook, notify = self.plan
            self._timed = emit(plan, name, arg_names, static_xp, op_hook, timed=True,
                               notify=notify)
        return self._timed

    def _reraise(self, e):
        """Raise ``e`` (being handled) as an OpError naming the failing node, if known."""
        node = self._failing_node(e)
        if node is None:
            raise  # e: _reraise runs inside the except clause that handles it
        kind = OpIndexError if isinstance(e, IndexError) else OpError
        err = kind(f"{node.op.name} failed while running the compiled graph: "
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


class StaticCompiled(Compiled):
    """A compiled function with persistent (``static_alloc``) buffers. Each thread runs its
    own copy of the function, with its own buffers, made at its first call: two threads never
    write into the same buffers, and they still run in parallel where numpy releases the GIL.
    (A lock would serialize them and cost more per call than the thread-local lookup.)"""

    def __init__(self, fn, source, line_nodes, arg_names, xp):
        super().__init__(fn, source, line_nodes, arg_names)
        self.xp = xp
        self.local = threading.local()
        self.local.fn = fn  # the compiling thread uses the first copy

    def __call__(self, xp, *args):
        prof = PROFILE[0]
        if prof is not None and prof.symbolic and (self.plan or self.replan):
            return self.timed()(xp, *args)
        try:
            fn = self.local.fn
        except AttributeError:
            fn = self.local.fn = self._thread_copy()
        try:
            return fn(xp, *args)
        except Exception as e:
            self._reraise(e)

    def _thread_copy(self):
        """The function again, over globals where every buffer is a new one."""
        ns = dict(self.fn.__globals__)
        for name, buf in list(ns.items()):
            if name.startswith("_buf"):
                ns[name] = _empty_like(self.xp, buf)
        ns["_own"] = _owner_check({id(v) for k, v in ns.items() if k.startswith("_buf")})
        return types.FunctionType(self.fn.__code__, ns, self.fn.__name__)


def _empty_like(xp, buf):
    device = getattr(buf, "device", None)
    if hasattr(device, "__enter__"):  # cupy: allocate on the buffer's GPU
        with device:
            return xp.empty(buf.shape, buf.dtype)
    return xp.empty(buf.shape, buf.dtype)


def _literal(v, ns):
    if v is None or isinstance(v, (bool, int, str)):
        return repr(v)
    if isinstance(v, float) and math.isfinite(v):
        return repr(v)
    name = f"_lit{len(ns)}"
    ns[name] = v
    return name


def compile_graph(args, targets, name="graph", static_xp=None, op_hook=None,
                  last_target_first=False, out_mask=None, notify=False):
    """Generate ``fn(xp, *args)`` returning the values of ``targets``.

    ``args``: entries provided by the caller, in order (graph inputs, parameters, saved values).
    ``targets``: entries to return. Constant nodes are bound into the function's globals.
    ``static_xp``: the array module to preallocate persistent intermediate buffers with
    (``static_alloc``); each thread then gets its own buffers (``StaticCompiled``).
    ``op_hook``: ``(callback, monitor_all, ctx)`` (``HybridBlock.register_op_hook``): each op's
    output (and with monitor_all its inputs) is passed to the callback as it is computed.
    ``last_target_first``: schedule the nodes of the last target first (backward graphs).
    ``out_mask``: one bool per target; the function then takes, after ``args``, one array
    per True target and writes that result into it (computed there directly when its op has
    an ``out=`` form, else copied), as gradients go into ``.grad`` buffers without allocating.
    ``notify``: the function takes one more argument last, ``ready(k, value)``, called right
    after the step that finalizes target ``k`` (with the array the function will return for
    it), so a caller can act on each gradient while the backward goes on (autograd's
    gradient-ready hooks); without it the function has no such call.

    The schedule, liveness and buffers come from ``memory_plan.plan_graph``; ``emit`` writes
    the function.
    """
    plan = plan_graph(args, targets, static_alloc=static_xp is not None,
                      last_target_first=last_target_first, out_mask=out_mask)
    arg_names = [node.name for node, _ in args]
    compiled = emit(plan, name, arg_names, static_xp, op_hook, notify=notify)
    compiled.peak_temporaries, compiled.static_bytes = plan.peak_temporaries, plan.static_bytes
    compiled.plan = (plan, name, arg_names, static_xp, op_hook, notify)
    return compiled


def emit(plan, name, arg_names, static_xp=None, op_hook=None, timed=False, notify=False):
    """The ``Compiled`` function of a ``MemoryPlan``: one line per step, ``del`` after last
    uses, persistent buffers (``plan.buffers``) allocated with ``static_xp``. ``timed``: each
    step also reports its span to the running profiler (``ndarray/_profile.py``). ``notify``:
    a last argument ``_ready`` is called after each target is final (``compile_graph``)."""
    ns = base_namespace()
    masked = plan.masked
    lines = [f"def {name}(xp{''.join(f', a{k}' for k in range(plan.n_args))}"
             f"{''.join(f', o{k}' for k in masked)}{', _ready' if notify else ''}):"]
    line_nodes = {}
    joins = []  # (line, node): the results of the steps run beside the others
    # op hooks see every result in order, and gradient-ready hooks (``notify``) fire right
    # after the line computing each gradient: both run everything on the calling thread
    beside_ok = op_hook is None and not notify
    solo = beside_ok and _solo_body(plan)
    if timed:
        ns["_P"] = PROFILE
        lines.append("    _prof = _P[0]")
    ready = _Ready(plan) if notify else None
    if ready is not None:
        lines += ready.lines_for(ready.early)  # arguments and constants: final from the start
    for step in plan.steps:
        node = step.node
        if node.kind == "const":
            ns[step.outs[0]] = node.value
            continue
        in_vars = [_literal(v.value, ns) if isinstance(v, Lit) else v for v in step.ins]
        if op_hook is not None and op_hook[1]:
            lines += _hook_lines(node, in_vars)
        line = _step_line(step, in_vars, ns, plan, static_xp)
        if timed and node.kind == "op":
            ns[f"_node{node.id}"] = node
            lines.append("    _t = _prof.now() if _prof is not None else 0")
        if step.background and beside_ok:
            line = _beside_line(step, line, in_vars)
            joins.append((f"    {step.outs[0]} = _j{node.id}.result()", node))
        elif joins and node.kind == "op" and node.op.serial:
            lines.append("    with _reserved():")  # a worker runs the work started beside
            line = "    " + line
        lines.append(line)
        line_nodes[len(lines)] = node
        if timed and node.kind == "op":
            outs = ", ".join(step.outs) + ("," if len(step.outs) == 1 else "")
            if step.background and beside_ok:
                outs = ""  # started beside: only its start is timed here
            lines.append(f"    _prof is None or _prof.node({_op_type(node)!r}, _t, ({outs}), "
                         f"_node{node.id})")
        if op_hook is not None:
            ns.setdefault("_hook", _hook_caller(op_hook[0], op_hook[2]))
            lines += [f"    _hook({_hook_name(node) + suffix!r}, {_op_type(node)!r}, {o})"
                      for suffix, o in zip(_output_suffixes(node), step.outs)]
        if ready is not None and not (step.background and beside_ok):
            lines += ready.lines_for(ready.defined_by(step.outs))
        if step.dead:
            lines.append(f"    del {', '.join(step.dead)}")
    if solo:
        joins.reverse()   # the caller takes the last-started work a worker has not begun
    for line, node in joins:
        lines.append(line)
        line_nodes[len(lines)] = node
        if ready is not None:  # a target computed beside is final once joined
            lines += ready.lines_for(ready.defined_by(line.split(" = ")[0].split()))
    if ready is None:
        lines += [f"    {o}[...] = {v}" for o, v in plan.copies]
        ret = ", ".join(_RETURN[how].format(v) for how, v in plan.returns)
    else:
        ret = ", ".join(ready.names)
    lines.append(f"    return ({ret}{',' if len(plan.returns) == 1 else ''})")
    if solo:  # the whole body on one BLAS thread, a worker taking the work started beside
        lines[1:] = ["    with _solo(xp):"] + ["    " + line for line in lines[1:]]
        line_nodes = {k + 1: v for k, v in line_nodes.items()}
    return finish(ns, name, "\n".join(lines) + "\n", line_nodes, arg_names, static_xp)


def base_namespace():
    """The globals every generated function starts from (the helpers its lines call)."""
    return {"_partial": functools.partial, "_relu": relu, "_relu_bwd": relu_backward,
            "_add_into": add_into, "_dense": dense, "_rows": binary_rows, "_reserved": reserved,
            "_beside": run_beside, "_solo": solo}


def kernel_partial(kernel, attrs):
    """What a generated line calls for a kernel with attributes ``attrs``."""
    return functools.partial(kernel, **attrs) if attrs else kernel


def finish(ns, name, source, line_nodes, arg_names, static_xp=None):
    """Compile ``source`` (defining ``name``) over the globals ``ns`` into a ``Compiled``
    (a ``StaticCompiled`` when ``ns`` holds persistent buffers). Shared with the on-disk
    cache (``compile_cache.load_compiled``), which rebuilds ``ns`` from plain data."""
    ns["_own"] = _owner_check({id(v) for k, v in ns.items() if k.startswith("_buf")})
    code = compile(source, "<kiln-graph>", "exec")
    exec(code, ns)  # noqa: S102 - our own generated straight-line code
    if any(k.startswith("_buf") for k in ns):
        return StaticCompiled(ns[name], source, line_nodes, arg_names, static_xp)
    return Compiled(ns[name], source, line_nodes, arg_names)


# how each result is returned (MemoryPlan.returns)
_RETURN = {"caller": "{}", "owned": "{}", "check": "_own({})", "copy": "{}.copy()"}


class _Ready:
    """The ``_ready(k, value)`` lines of a ``notify`` function: each target's result is made
    final (copied into the caller's buffer, or copied off a persistent buffer) right after the
    step computing it instead of at the end, then reported; the function returns the same
    arrays it reported."""

    def __init__(self, plan):
        self.plan = plan
        self.copy_of = dict(plan.copies)  # o<k> -> the variable copied into it
        self.names = []  # the name returned for each target
        self.by_var = {}  # computed variable -> the targets it holds
        self.early = []
        for k, ((how, name), var) in enumerate(zip(plan.returns, plan.target_vars)):
            self.names.append(name if how in ("caller", "owned") else f"r{k}")
            if var.startswith("t"):
                self.by_var.setdefault(var, []).append(k)
            else:
                self.early.append(k)

    def defined_by(self, outs):
        return [k for o in outs for k in self.by_var.get(o, ())]

    def lines_for(self, ks):
        lines = []
        for k in ks:
            how, name = self.plan.returns[k]
            if how == "caller":
                if name in self.copy_of:
                    lines.append(f"    {name}[...] = {self.copy_of[name]}")
            elif how != "owned":
                lines.append(f"    r{k} = {_RETURN[how].format(name)}")
            lines.append(f"    _ready({k}, {self.names[k]})")
        return lines


def _step_line(step, in_vars, ns, plan, static_xp):
    """The line computing ``step``: its inline expression, or a call of its op's kernel."""
    node, outs = step.node, step.outs
    comment = f"  # {node.name}" + (f" @ {node.where()}" if node.source else "")
    if step.fast is not None:
        expr, out_expr = step.fast
        if step.dest is not None:
            kind, target = step.dest
            if kind == "static" and target not in ns:  # buffers are shared by same-size nodes
                aval = plan.buffers[target]
                ns[target] = static_xp.empty(aval.shape, aval.dtype)
            expr = out_expr.replace("{out}", target)
        return f"    {outs[0]} = {expr.format(*in_vars)}{comment}"
    kname = f"k{node.id}"
    ns[kname] = kernel_partial(node.op.kernel, node.attrs)
    ins = ", ".join(in_vars)
    if step.dest is not None:  # a kernel with out= (facet out_arg) into the caller's buffer
        ins += f", out={step.dest[1]}"
    lhs = outs[0] if len(outs) == 1 else ", ".join(outs) + ", *_"
    return f"    {lhs} = {kname}(xp{', ' if ins else ''}{ins}){comment}"


_LOCAL = re.compile(r"[tao]\d+(_\d+)?")


def _beside_line(step, line, in_vars):
    """``line`` (``    t7 = <expr>  # comment``) as work started on a worker thread: the
    expression becomes a lambda over the current values of the locals it reads."""
    code, _, comment = line.partition("  # ")
    target, _, expr = code.strip().partition(" = ")
    names = [v for v in in_vars if isinstance(v, str) and _LOCAL.fullmatch(v)]
    if step.dest is not None and step.dest[0] == "caller":
        names.append(step.dest[1])
    binds = "".join(f", {v}={v}" for v in dict.fromkeys(names))
    return f"    _j{step.node.id} = _beside(xp, lambda xp=xp{binds}: {expr})  # {comment}"


def _solo_body(plan):
    """Whether the function runs its body on one BLAS thread (``solo``): work runs beside
    and no ``serial`` kernel is there to mark where (``memory_plan._gradients_beside``)."""
    steps = [s for s in plan.steps if s.node.kind == "op"]
    return any(s.background for s in steps) and \
        not any(s.node.op.serial for s in steps)


class solo:
    """``with solo(xp):`` the calling thread's kernels keep to one core (one BLAS thread,
    kernels not cut into blocks: ``reserved``) while a worker runs the work started beside;
    nothing changes for cupy or without workers."""

    __slots__ = ("scopes",)

    def __init__(self, xp):
        self.scopes = (blas_threads(1), reserved()) if xp is np and workers() > 0 else ()

    def __enter__(self):
        for scope in self.scopes:
            scope.__enter__()
        return self

    def __exit__(self, *exc):
        for scope in reversed(self.scopes):
            scope.__exit__(*exc)
        return False


class _Beside:
    """The handle of work started on a worker: ``result()`` runs it on the calling thread
    instead when no worker has begun it (its queue was longer than the caller's work)."""

    __slots__ = ("fn", "future")

    def __init__(self, fn, future):
        self.fn, self.future = fn, future

    def result(self):
        if self.future.cancel():
            return self.fn()
        return self.future.result()


def run_beside(xp, fn):
    """Start ``fn()`` on a worker thread with one BLAS thread (numpy; cupy runs it now): the
    handle's ``result()`` joins it."""
    if xp is not np or workers() <= 0:
        return _Done(fn)  # inline: the BLAS keeps all its threads
    return _Beside(fn, background(_one_blas_thread, fn))


def _one_blas_thread(fn):
    with blas_threads(1):
        return fn()


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
    """``own(a)``: ``a``, or a copy when it is a persistent buffer or a view of one (the next
    call overwrites those). numpy and cupy point a view's ``base`` at the array owning the
    memory, so one step up the chain decides; a view of a fresh array (a kernel's reshape of
    its own product) is returned as it is."""
    def own(a):
        if id(a) in static_ids:
            return a.copy()
        base = a.base
        while base is not None and hasattr(base, "base"):
            if id(base) in static_ids:
                return a.copy()
            base = base.base
        return a
    return own
