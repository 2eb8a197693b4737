"""Control flow in traced graphs: ``foreach``, ``while_loop`` and ``cond`` as one node each.

``nd.contrib.foreach(body, data, states)`` called on traced values (inside a hybridized block)
arrives at ``trace_call``: the Python function is traced once into a ``Subgraph`` (its own
placeholder inputs, then one placeholder per value it reads from the enclosing graph: a
parameter, an outer intermediate), and one node is added whose inputs are the loop's arrays
followed by those free values and whose ``attrs`` hold the subgraphs. The node's op is an
ordinary (unregistered) ``Op``: its kernel runs the subgraph's compiled function (codegen needs
nothing special), its ``grad`` emits the matching ``*_backward`` node, whose kernel recomputes
the forward steps and runs the subgraph's symbolic gradient backwards through them (BPTT), and
``export/onnx_lower.py`` lowers it to ``Scan``/``Loop``/``If`` (``op.subgraphs``).

Semantics are MXNet 1.9's: ``while_loop`` outputs are padded to ``max_iterations`` rows (with
zeros; MXNet leaves them uninitialised), ``cond`` differentiates the branch taken. Unlike MXNet,
both ``cond`` branches must give the same shapes and dtypes (a graph has static shapes).
"""
import copy

import numpy as np

from ..attribute import AttrScope
from ..base import MXNetError, user_frame
from ..ndarray import _registry
from ..ndarray._registry import Aval, Op
from ..ndarray.control_flow import flatten, regroup, step_result
from ..ndarray.ndarray import NDArray
from .autodiff import backward_graph
from .codegen import compile_graph
from .graph import Node, is_entry, topo_order
from .infer import infer_avals
from .symbol import Symbol


class Subgraph:
    """A traced function: ``params`` (placeholder var entries: ``n_in`` inputs, then one per
    free value), ``outputs`` (entries). Compiled, and differentiated, on first use."""

    def __init__(self, params, outputs, n_in, name):
        self.params, self.outputs, self.n_in, self.name = params, outputs, n_in, name
        self._fn = self._grad = None

    @property
    def out_avals(self):
        return [n.avals[i] for n, i in self.outputs]

    @property
    def param_avals(self):
        return [n.avals[0] for n, _ in self.params]

    def fn(self):
        """``fn(xp, *params) -> tuple of outputs``."""
        if self._fn is None:
            self._fn = compile_graph(self.params, self.outputs, name=self.name)
        return self._fn

    def grad_fn(self):
        """``fn(xp, *params, *output_grads) -> [gradient per param]`` (zeros where none)."""
        if self._grad is None:
            self._check_no_random()
            heads, grads = backward_graph(self.outputs, self.params, None)
            have = [g is not None for g in grads]
            comp = compile_graph(self.params + heads, [g for g in grads if g is not None],
                                 name=self.name + "_grad")
            avals = self.param_avals

            def run(xp, *args):
                res = iter(comp(xp, *args))
                return [next(res) if h else xp.zeros(a.shape, a.dtype)
                        for h, a in zip(have, avals)]
            self._grad = run
        return self._grad

    def _check_no_random(self):
        """The backward recomputes the body's forward values: a random draw (dropout in
        training, a sampler) would differ from the forward's, so it is refused."""
        for n in topo_order(self.outputs):
            if n.kind == "op" and n.op.random and (not n.op.uses_mode or n.attrs.get("_train")):
                raise MXNetError(
                    f"{n.op.name} ({n.where()}): random ops inside a hybridized foreach/"
                    "while_loop/cond body cannot be differentiated yet (the backward recomputes "
                    "the steps and would draw again); draw the randomness outside the loop and "
                    "pass it in, or run the block eagerly")

    def __repr__(self):
        return f"<Subgraph {self.name}: {self.n_in} inputs, {len(self.params) - self.n_in} " \
               f"free, {len(self.outputs)} outputs>"


# ---- tracing a Python function into a subgraph -------------------------------------------------
def _entry_of(x, what):
    if isinstance(x, Symbol):
        return x._entry()
    if isinstance(x, NDArray):
        d = x._data
        return (Node("const", value=d, avals=(Aval(tuple(d.shape), np.dtype(d.dtype)),)), 0)
    raise MXNetError(f"{what}: expected arrays, got {type(x).__name__} (at {user_frame()})")


def _places(in_avals, name):
    """Placeholder vars for a body's inputs (``None``: a shape not known yet)."""
    return [Node("var", name=f"{name}_in{k}", avals=None if av is None else (av,))
            for k, av in enumerate(in_avals)]


def _trace(in_avals, call, name, scope=None):
    """Trace ``call(input symbols) -> (flat outputs, info)`` -> (Subgraph, free entries, info).

    Nodes made during the call belong to the subgraph (node ids only grow); entries to older
    nodes and to variables (parameters) are free values, replaced by placeholders. Inputs of
    unknown shape (``kiln.sym`` without shapes) give a shapeless subgraph, shaped when the
    node runs (MXNet infers at bind time too)."""
    mark = Node("var").id
    places = _places(in_avals, name)
    _SCOPES.append(scope or name)
    try:
        flat, info = call([Symbol([(p, 0)]) for p in places])
    finally:
        _SCOPES.pop()
    outs = [_entry_of(o, name) for o in flat]
    params, outputs, free = _close(places, outs, mark, name)
    shaped = all(n.avals is not None for n, _ in params + outputs)
    cls = Subgraph if shaped else ShapelessSubgraph
    return cls(params, outputs, len(places), name), free, info


def _close(places, outs, mark, name):
    """Clone the subgraph's nodes with free entries turned into placeholders."""
    own = {p.id for p in places}
    order, seen, stack = [], set(), [e[0] for e in outs]

    def internal(n):
        return n.id > mark and n.id not in own and n.kind != "var"
    while stack:  # iterative post-order over internal nodes
        n = stack[-1]
        if n.id in seen:
            stack.pop()
            continue
        pending = [i[0] for i in n.inputs if is_entry(i) and internal(i[0])
                   and i[0].id not in seen]
        if pending and internal(n):
            stack += pending
            continue
        stack.pop()
        seen.add(n.id)
        if internal(n):
            order.append(n)
    new, free_map, free, extra = {}, {}, [], []

    def remap(e):
        n, i = e
        if n.id in own:
            return e
        if n.id in new:
            return (new[n.id], i)
        key = (n.id, i)
        if key not in free_map:
            ph = Node("var", name=f"{name}_free{len(free)}",
                      avals=None if n.avals is None else (n.avals[i],))
            free_map[key] = (ph, 0)
            free.append(e)
            extra.append((ph, 0))
        return free_map[key]
    for n in order:
        new[n.id] = Node(n.kind, n.op, [remap(i) if is_entry(i) else i for i in n.inputs],
                         n.attrs, name=n.name, avals=n.avals, value=n.value, block=n.block,
                         source=n.source, meta=n.meta)
    outputs = [remap(e) for e in outs]
    # free values in the order MXNet lists a graph's inputs (depth first from the outputs), so
    # that the node's inputs read back from MXNet's JSON come in the same order
    rank = {e[0].id: k for k, e in enumerate(extra)}
    pos = _dfs_rank(outputs, rank)
    order = sorted(range(len(extra)), key=lambda k: pos.get(k, len(rank)))
    free, extra = [free[k] for k in order], [extra[k] for k in order]
    return [(p, 0) for p in places] + extra, outputs, free


def _dfs_rank(outputs, rank):
    """``{free index: position}`` of the placeholders ``rank`` maps, in depth-first post-order
    from the outputs (each node's inputs in order)."""
    found, seen = {}, set()
    for head, _ in outputs:
        stack = [(head, False)]
        while stack:
            n, done = stack.pop()
            if done:
                if n.id in rank and rank[n.id] not in found:
                    found[rank[n.id]] = len(found)
                continue
            if n.id in seen:
                continue
            seen.add(n.id)
            stack.append((n, True))
            stack += [(i[0], False) for i in reversed(n.inputs) if is_entry(i)]
    return found


def _node(op, inputs, attrs):
    """Emit ``op`` through the registry's trace hook (a Symbol or a list of them); a node
    holding a shapeless subgraph gets the op's twin that shapes it when run."""
    if any(isinstance(v, ShapelessSubgraph) for v in attrs.values()):
        op = SHAPELESS[op.name]
    res = _registry.trace_hook(op, tuple(inputs), attrs)
    # (outside a tracer several outputs come back as one grouped Symbol: split it)
    return res if isinstance(res, list) else [Symbol([e]) for e in res._entries]


def _aval_of(sym):
    n, i = sym._entry()
    return None if n.avals is None else n.avals[i]


def _symbols(values, what):
    return [x if isinstance(x, Symbol) else Symbol([_entry_of(x, what)]) for x in values]


def _symbolic():
    """Whether the call builds a plain ``kiln.sym`` graph (not a hybridized block's trace):
    MXNet's symbolic control flow then refuses loop inputs that the body never reads."""
    return not getattr(_registry.STATE.tracer, "records_mode", False)


class UnusedLoopInput(MXNetError, AssertionError):
    """A symbolic foreach's data array or state that the body does not read (MXNet 1.9 raises
    an AssertionError there; a hybridized block allows it)."""


def _check_used(sub, first, count, what):
    used = {i[0].id for n in topo_order(sub.outputs) for i in n.inputs if is_entry(i)}
    used |= {n.id for n, _ in sub.outputs}
    for n, _ in sub.params[first:first + count]:
        if n.id not in used:
            raise UnusedLoopInput(f"foreach: the {what} arrays have to be used in the loop "
                                  f"body (at {user_frame()})")


_SCOPES = []   # the unique names of the subgraphs being traced, innermost last


def _subgraph_name(name):
    """MXNet's unique name for a subgraph: ``name`` (behind the enclosing subgraph's name and
    ``$``) plus its count so far, counted in ``AttrScope._subgraph_names``."""
    if _SCOPES:
        name = f"{_SCOPES[-1]}${name}"
    counts = AttrScope._subgraph_names
    k = counts.get(name, 0)
    counts[name] = k + 1
    return f"{name}{k}"


def trace_call(kind, args, attrs):
    """The node of ``nd.contrib.<kind>`` called on traced values; returns its results in the
    structure the eager function returns."""
    return _TRACERS[kind](*args, **attrs)


def _trace_foreach(body, data, init_states, name="foreach"):
    data_l, data_fmt = flatten(data, "foreach data")
    states_l, state_fmt = flatten(init_states, "foreach states")
    data_s, states_s = _symbols(data_l, "foreach data"), _symbols(states_l, "foreach states")
    step_avals = [None if a is None else Aval(a.shape[1:], a.dtype)
                  for a in map(_aval_of, data_s)]
    state_avals = [_aval_of(s) for s in states_s]
    n_data = len(data_s)

    def call(syms):
        xs, st = syms[:n_data], syms[n_data:]
        outs, states = step_result(body(regroup(xs, data_fmt)[0], regroup(st, state_fmt)[0]),
                                   "foreach body")
        outs, out_fmt = flatten(outs, "foreach output")
        states, new_fmt = flatten(states, "foreach states")
        return outs + states, (len(outs), out_fmt, new_fmt)
    sub, free, (n_out, out_fmt, new_fmt) = _trace(step_avals + state_avals, call,
                                                  "foreach_body", _subgraph_name(name))
    if len(sub.outputs) - n_out != len(states_s) or any(
            a is not None and b is not None and a != b
            for a, b in zip(sub.out_avals[n_out:], state_avals)):
        raise MXNetError("foreach: the states body returns must match init_states in number, "
                         f"shapes and dtypes (at {user_frame()})")
    if _symbolic():
        _check_used(sub, 0, n_data, "data")
        _check_used(sub, n_data, len(states_s), "state")
    res = _node(FOREACH, data_s + states_s + [Symbol([e]) for e in free],
                {"body": sub, "n_data": n_data, "n_outputs": n_out})
    return regroup(res[:n_out], out_fmt)[0], regroup(res[n_out:], new_fmt)[0]


def _trace_while_loop(cond, func, loop_vars, max_iterations, name="while_loop"):
    vars_l, var_fmt = flatten(loop_vars, "while_loop loop_vars")
    vars_s = _symbols(vars_l, "while_loop loop_vars")
    avals = [_aval_of(s) for s in vars_s]

    def args(syms):   # the loop variables as cond and func take them (*loop_vars)
        value = regroup(syms, var_fmt)[0]
        return value if isinstance(var_fmt, list) else [value]

    def call_cond(syms):
        return [cond(*args(syms))], None

    def call_func(syms):
        outs, new_vars = step_result(func(*args(syms)), "while_loop func")
        outs, out_fmt = flatten(outs, "while_loop output")
        new_vars, _ = flatten(new_vars, "while_loop loop_vars")
        return outs + new_vars, (len(outs), out_fmt)
    csub, cfree, _ = _trace(avals, call_cond, "while_cond", _subgraph_name(name + "_cond"))
    fsub, ffree, (n_out, out_fmt) = _trace(avals, call_func, "while_func",
                                           _subgraph_name(name + "_func"))
    if len(fsub.outputs) - n_out != len(vars_s) or any(
            a is not None and b is not None and a != b
            for a, b in zip(fsub.out_avals[n_out:], avals)):
        raise MXNetError("while_loop: func must return (outputs, loop_vars), the loop_vars "
                         f"matching the given ones in shapes and dtypes (at {user_frame()})")
    res = _node(WHILE_LOOP, vars_s + [Symbol([e]) for e in cfree + ffree],
                {"cond": csub, "func": fsub, "n_outputs": n_out,
                 "max_iterations": int(max_iterations)})
    return regroup(res[:n_out], out_fmt)[0], regroup(res[n_out:], var_fmt)[0]


def _trace_cond(pred, then_func, else_func, name="cond"):
    pred_s = _symbols([pred], "cond pred")[0]

    def branch(f):
        def call(_):
            outs, fmt = flatten(f(), "cond output")
            return outs, fmt
        return call
    _subgraph_name(name + "_pred")   # (MXNet makes the predicate a subgraph too)
    tsub, tfree, tfmt = _trace([], branch(then_func), "cond_then",
                               _subgraph_name(name + "_then"))
    esub, efree, _ = _trace([], branch(else_func), "cond_else", _subgraph_name(name + "_else"))
    ta, ea = tsub.out_avals, esub.out_avals
    if len(ta) != len(ea) or any(a is not None and b is not None and a != b
                                 for a, b in zip(ta, ea)):
        raise MXNetError("cond: in a hybridized block both branches must return the same "
                         f"number of arrays with the same shapes and dtypes: then gives "
                         f"{ta}, else {ea} (at {user_frame()})")
    res = _node(COND, [pred_s] + [Symbol([e]) for e in tfree + efree],
                {"then_graph": tsub, "else_graph": esub})
    return regroup(res, tfmt)[0]


_TRACERS = {"foreach": _trace_foreach, "while_loop": _trace_while_loop, "cond": _trace_cond}


# ---- kernels ------------------------------------------------------------------------------------
def _one(res):
    res = tuple(res)
    return res[0] if len(res) == 1 else res


def _aval(x):
    return Aval(tuple(x.shape), np.dtype(x.dtype))


def _truth(xp, v):
    return bool(np.asarray(v if xp is np else v.get()).reshape(-1)[0])


def _foreach_kernel(xp, *arrays, body, n_data, n_outputs):
    n_in = body.n_in
    data, states, free = arrays[:n_data], list(arrays[n_data:n_in]), arrays[n_in:]
    fn, steps = body.fn(), []
    for t in range(data[0].shape[0]):
        res = fn(xp, *[d[t] for d in data], *states, *free)
        steps.append(res[:n_outputs])
        states = list(res[n_outputs:])
    if not steps:
        avals = _sub_infer(body, [Aval(tuple(d.shape[1:]), np.dtype(d.dtype)) for d in data]
                           + [_aval(a) for a in arrays[n_data:]])[:n_outputs]
    outs = [xp.stack(col) for col in zip(*steps)] if steps else \
        [xp.zeros((0,) + tuple(a.shape), a.dtype) for a in avals]
    return _one(outs + states)


def _foreach_backward_kernel(xp, *arrays, body, n_data, n_outputs):
    """Recompute the steps' states, then run the body's gradient from the last step back."""
    k, n_in = len(body.params), body.n_in
    data, states, free = arrays[:n_data], list(arrays[n_data:n_in]), arrays[n_in:k]
    g_outs, g_states = arrays[k:k + n_outputs], list(arrays[k + n_outputs:])
    fn, gfn, history = body.fn(), body.grad_fn(), []
    for t in range(data[0].shape[0]):
        history.append(states)
        states = list(fn(xp, *[d[t] for d in data], *states, *free)[n_outputs:])
    g_data = [xp.zeros(d.shape, d.dtype) for d in data]
    g_free = [xp.zeros(f.shape, f.dtype) for f in free]
    for t in reversed(range(len(history))):
        gs = gfn(xp, *[d[t] for d in data], *history[t], *free, *[g[t] for g in g_outs],
                 *g_states)
        for j in range(n_data):
            g_data[j][t] = gs[j]
        g_states = gs[n_data:n_in]
        for j, g in enumerate(gs[n_in:]):
            g_free[j] += g
    return _one(g_data + list(g_states) + g_free)


def _while_kernel(xp, *arrays, cond, func, n_outputs, max_iterations):
    nv = cond.n_in
    variables = list(arrays[:nv])
    cfree, ffree = arrays[nv:nv + len(cond.params) - nv], arrays[len(cond.params):]
    cfn, ffn = cond.fn(), func.fn()
    # (inferred from the arrays: a subgraph loaded from a file has no shapes of its own)
    avals = _sub_infer(func, [_aval(a) for a in variables + list(ffree)])
    outs = [xp.zeros((max_iterations,) + tuple(a.shape), a.dtype) for a in avals[:n_outputs]]
    n = 0
    while n < max_iterations and _truth(xp, cfn(xp, *variables, *cfree)[0]):
        res = ffn(xp, *variables, *ffree)
        for buf, r in zip(outs, res[:n_outputs]):
            buf[n] = r
        variables = list(res[n_outputs:])
        n += 1
    return _one(outs + variables)


def _while_backward_kernel(xp, *arrays, cond, func, n_outputs, max_iterations):
    nv, kc, kf = cond.n_in, len(cond.params), len(func.params)
    k = kc + kf - nv
    variables, cfree, ffree = list(arrays[:nv]), arrays[nv:kc], arrays[kc:k]
    g_outs, g_vars = arrays[k:k + n_outputs], list(arrays[k + n_outputs:])
    cfn, ffn, gfn, history = cond.fn(), func.fn(), func.grad_fn(), []
    while len(history) < max_iterations and _truth(xp, cfn(xp, *variables, *cfree)[0]):
        history.append(variables)
        variables = list(ffn(xp, *variables, *ffree)[n_outputs:])
    g_ffree = [xp.zeros(f.shape, f.dtype) for f in ffree]
    for t in reversed(range(len(history))):
        gs = gfn(xp, *history[t], *ffree, *[g[t] for g in g_outs], *g_vars)
        g_vars = gs[:nv]
        for j, g in enumerate(gs[nv:]):
            g_ffree[j] += g
    return _one(list(g_vars) + [xp.zeros(f.shape, f.dtype) for f in cfree] + g_ffree)


def _cond_kernel(xp, pred, *free, then_graph, else_graph):
    nt = len(then_graph.params)
    if _truth(xp, pred):
        return _one(then_graph.fn()(xp, *free[:nt]))
    return _one(else_graph.fn()(xp, *free[nt:]))


def _cond_backward_kernel(xp, pred, *arrays, then_graph, else_graph):
    nt, ne = len(then_graph.params), len(else_graph.params)
    free, gouts = arrays[:nt + ne], arrays[nt + ne:]
    zeros = [xp.zeros(f.shape, f.dtype) for f in free]
    if _truth(xp, pred):
        return _one(then_graph.grad_fn()(xp, *free[:nt], *gouts) + zeros[nt:])
    return _one(zeros[:nt] + else_graph.grad_fn()(xp, *free[nt:], *gouts))


# ---- shapes and gradients ------------------------------------------------------------------------
def _sub_infer(sub, param_avals):
    """The subgraph's output avals for these param avals (other shapes than traced: shape
    inference for another batch size, the ONNX exporter's dynamic axes)."""
    param_avals = [Aval(tuple(a.shape), np.dtype(a.dtype)) for a in param_avals]
    if param_avals == sub.param_avals:
        return sub.out_avals
    known = {(n.id, 0): a for (n, _), a in zip(sub.params, param_avals)}
    for n in topo_order(sub.outputs):
        if (n.id, 0) in known:
            continue
        if n.kind == "const":
            known[(n.id, 0)] = n.avals[0]
            continue
        ins = [known[(i[0].id, i[1])] if is_entry(i) else i for i in n.inputs]
        out = n.op.infer(*ins, **n.attrs)
        for k, a in enumerate((out,) if isinstance(out, Aval) else out):
            known[(n.id, k)] = a
    return [known[(n.id, i)] for n, i in sub.outputs]


def _foreach_infer(*avals, body, n_data, n_outputs):
    steps = avals[0].shape[0]
    step_avals = [Aval(tuple(a.shape[1:]), a.dtype) for a in avals[:n_data]]
    outs = _sub_infer(body, step_avals + list(avals[n_data:]))
    return tuple([Aval((steps,) + tuple(a.shape), a.dtype) for a in outs[:n_outputs]] +
                 list(outs[n_outputs:]))


def _while_infer(*avals, cond, func, n_outputs, max_iterations):
    nv, kc = cond.n_in, len(cond.params)
    outs = _sub_infer(func, list(avals[:nv]) + list(avals[kc:]))
    return tuple([Aval((max_iterations,) + tuple(a.shape), a.dtype) for a in outs[:n_outputs]]
                 + list(outs[n_outputs:]))


def _cond_infer(*avals, then_graph, else_graph):
    return tuple(_sub_infer(then_graph, avals[1:1 + len(then_graph.params)]))


# ---- shapes learnt backwards through the subgraphs (MXNet's shape inference of control flow) ----
def _learn_params(sub, avals, carried=()):
    """``avals`` (one per subgraph param, ``None`` where unknown) completed by shape inference
    inside the subgraph: a free weight from the op that reads it (a FullyConnected's weight from
    its data), an operand of an elementwise op from the other operand, and, for each
    ``(output, param)`` pair in ``carried`` (a loop state), the param from the output the body
    gives it. Unknown avals stay ``None``."""
    avals = list(avals)
    names = [p.name for p, _ in sub.params]
    if len(set(names)) != len(names):   # a file whose subgraph repeats an input name
        return avals
    heads = Symbol(list(sub.outputs))
    while None in avals:
        known = infer_avals(heads, {n: tuple(a.shape) for n, a in zip(names, avals) if a},
                            {n: a.dtype for n, a in zip(names, avals) if a}, partial=True,
                            alike=True)
        new = [a or known.get((p.id, 0)) for (p, _), a in zip(sub.params, avals)]
        for out, k in carried:
            n, i = sub.outputs[out]
            new[k] = new[k] or known.get((n.id, i))
        if new == avals:
            break
        avals = new
    return avals


def _foreach_learn(avals, body, n_data, n_outputs):
    steps = next((a.shape[0] for a in avals[:n_data] if a is not None), None)
    params = [a and Aval(tuple(a.shape[1:]), a.dtype) for a in avals[:n_data]] + \
        list(avals[n_data:])
    n_states = body.n_in - n_data
    learnt = _learn_params(body, params, [(n_outputs + k, n_data + k) for k in range(n_states)])
    data = [a if a is not None or s is None or steps is None
            else Aval((steps,) + tuple(s.shape), s.dtype)
            for a, s in zip(avals[:n_data], learnt[:n_data])]
    return data + learnt[n_data:]


def _while_learn(avals, cond, func, n_outputs, max_iterations):
    nv, kc = cond.n_in, len(cond.params)
    carried = [(n_outputs + k, k) for k in range(nv)]
    fvals = _learn_params(func, list(avals[:nv]) + list(avals[kc:]), carried)
    cvals = _learn_params(cond, fvals[:nv] + list(avals[nv:kc]))
    return cvals[:nv] + cvals[nv:] + fvals[nv:]


def _cond_learn(avals, then_graph, else_graph):
    nt = len(then_graph.params)
    return [avals[0]] + _learn_params(then_graph, avals[1:1 + nt]) + \
        _learn_params(else_graph, avals[1 + nt:])


def _inputs_infer(n_skip):
    """A backward op's avals: its first inputs' (the forward's inputs), skipping ``n_skip``."""
    def infer(*avals, **attrs):
        n = _n_forward_inputs(attrs)
        return tuple(avals[n_skip:n])
    return infer


def _n_forward_inputs(attrs):
    if "body" in attrs:
        return len(attrs["body"].params)
    if "func" in attrs:
        return len(attrs["cond"].params) + len(attrs["func"].params) - attrs["cond"].n_in
    return 1 + len(attrs["then_graph"].params) + len(attrs["else_graph"].params)


def _grad_via(backward_op, n_skip):
    def grad(ins, outs, gouts, **attrs):
        # build the subgraphs' gradients now, while tracing (the mode of their ops is this one)
        for sub in attrs.values():
            if isinstance(sub, Subgraph):
                sub.grad_fn()
        res = _registry.invoke(backward_op, tuple(ins) + tuple(gouts), dict(attrs))
        res = res if isinstance(res, list) else [res]
        return [None] * n_skip + res
    return grad


_NO_GRAD2 = "a control-flow backward is not differentiated again (no second order)"
_NO_ONNX = "lowered by export/onnx_lower.py (op.subgraphs) to Scan, Loop or If"
_NO_REF = "control flow: checked against the eager loop in tests/test_control_flow.py"


def _make(name, kernel, infer, n_out, grad=None, subgraphs=()):
    op = Op(name, kernel, inputs=("*data",), infer=infer, grad=grad, num_outputs=n_out,
            no_grad=None if grad else _NO_GRAD2, no_onnx=_NO_ONNX, no_ref=_NO_REF)
    op.subgraphs = subgraphs
    # (symbol/evaluate.py runs graph nodes through ``op.func``, as for registered ops)
    op.func = lambda *args, out=None, **attrs: _registry.invoke(op, args, attrs, out)
    return op


def _fwd_count(graph_key):
    return lambda a: len(a[graph_key].out_avals)


FOREACH_BACKWARD = _make("_foreach_backward", _foreach_backward_kernel, _inputs_infer(0),
                         lambda a: _n_forward_inputs(a))
FOREACH = _make("_foreach", _foreach_kernel, _foreach_infer, _fwd_count("body"),
                grad=_grad_via(FOREACH_BACKWARD, 0), subgraphs=("body",))
WHILE_LOOP_BACKWARD = _make("_while_loop_backward", _while_backward_kernel, _inputs_infer(0),
                            lambda a: _n_forward_inputs(a))
WHILE_LOOP = _make("_while_loop", _while_kernel, _while_infer, _fwd_count("func"),
                   grad=_grad_via(WHILE_LOOP_BACKWARD, 0), subgraphs=("cond", "func"))
COND_BACKWARD = _make("_cond_backward", _cond_backward_kernel, _inputs_infer(1),
                      lambda a: _n_forward_inputs(a) - 1)
COND = _make("_cond", _cond_kernel, _cond_infer, _fwd_count("then_graph"),
             grad=_grad_via(COND_BACKWARD, 1), subgraphs=("then_graph", "else_graph"))
# the symbolic shape inference's facet: the avals of the node's inputs (``None``: unknown),
# completed from what its subgraphs decide (symbol/api.py)
FOREACH.learn_input_avals = _foreach_learn
WHILE_LOOP.learn_input_avals = _while_learn
COND.learn_input_avals = _cond_learn


# ---- subgraphs without shapes (kiln.sym inputs of unknown shape, MXNet files) ------------------
class ShapelessSubgraph(Subgraph):
    """A subgraph whose nodes carry no shapes: traced from ``kiln.sym`` inputs of unknown shape,
    or read from an MXNet file. The control-flow kernels infer its outputs from the arrays they
    run on (``_sub_infer``), and it runs and is differentiated through a copy specialized to
    its inputs' shapes and dtypes (cached per shapes)."""

    def __init__(self, params, outputs, n_in, name):
        super().__init__(params, outputs, n_in, name)
        self._specialized = {}

    @property
    def out_avals(self):
        return [n.avals[i] if n.avals else None for n, i in self.outputs]

    @property
    def param_avals(self):
        return [n.avals[0] if n.avals else None for n, _ in self.params]

    def at(self, param_avals):
        """A ``Subgraph`` with the same nodes, shaped for these param avals."""
        key = tuple((tuple(a.shape), str(a.dtype)) for a in param_avals)
        if key not in self._specialized:
            new = {}
            for (p, _), a in zip(self.params, param_avals):
                new[p.id] = Node("var", name=p.name, avals=(Aval(tuple(a.shape), a.dtype),))
            for n in topo_order(self.outputs):
                if n.id in new:
                    continue
                if n.kind != "op":   # a constant keeps its value and shape
                    new[n.id] = n
                    continue
                ins = [(new[i[0].id], i[1]) if is_entry(i) else i for i in n.inputs]
                out = n.op.infer(*[i[0].avals[i[1]] if is_entry(i) else i for i in ins],
                                 **n.attrs)
                new[n.id] = Node(n.kind, n.op, ins, n.attrs, name=n.name, value=n.value,
                                 avals=(out,) if isinstance(out, Aval) else tuple(out),
                                 block=n.block, source=n.source, meta=n.meta)
            self._specialized[key] = Subgraph(
                [(new[p.id], 0) for p, _ in self.params],
                [(new[n.id], i) for n, i in self.outputs], self.n_in, self.name)
        return self._specialized[key]

    def fn(self):
        return lambda xp, *args: self.at(list(map(_aval, args))).fn()(xp, *args)

    def grad_fn(self):
        k = len(self.params)
        return lambda xp, *args: self.at(list(map(_aval, args[:k]))).grad_fn()(xp, *args)


def specialize(kind, attrs, avals):
    """``attrs`` with each ``ShapelessSubgraph`` replaced by its copy shaped for the node's
    input ``avals``, so that what runs, traces and exports (ONNX) is an ordinary subgraph."""
    a = dict(attrs)
    if kind == "_foreach":
        n = a["n_data"]
        a["body"] = a["body"].at([Aval(tuple(x.shape[1:]), x.dtype) for x in avals[:n]]
                                 + list(avals[n:]))
    elif kind == "_while_loop":
        nv, kc = a["cond"].n_in, len(a["cond"].params)
        a["cond"] = a["cond"].at(avals[:kc])
        a["func"] = a["func"].at(list(avals[:nv]) + list(avals[kc:]))
    else:
        nt = len(a["then_graph"].params)
        a["then_graph"] = a["then_graph"].at(avals[1:1 + nt])
        a["else_graph"] = a["else_graph"].at(avals[1 + nt:])
    return a


def _shapeless_twin(op):
    """A twin of a control-flow op for nodes holding shapeless subgraphs: same name, kernel,
    shapes and gradient, but called (``op.func``: ``evaluate``, a SymbolBlock) it first
    specializes the subgraphs to its inputs and calls the real op."""
    twin = copy.copy(op)

    def func(*args, out=None, **attrs):
        avals = [Aval(tuple(x.shape), np.dtype(x.dtype)) for x in args]
        return op.func(*args, out=out, **specialize(op.name, attrs, avals))
    twin.func = func
    return twin


SHAPELESS = {op.name: _shapeless_twin(op) for op in (FOREACH, WHILE_LOOP, COND)}
