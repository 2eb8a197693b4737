"""MXNet 1.9's JSON for control-flow nodes: ``_foreach``, ``_while_loop`` and ``_cond``.

MXNet writes such a node with a ``subgraphs`` list (each a graph document of its own: ``nodes``,
``arg_nodes``, ``node_row_ptr``, ``heads``) and integer lists that say which node input feeds
which subgraph input. A subgraph's inputs are its variables in MXNet's DFS order (heads in
order, each node's inputs in order, post-order; ``dfs_inputs``), not ``arg_nodes``' order:

* ``_foreach``: node inputs are data, states, then the rest; ``in_data_locs[j]``,
  ``in_state_locs[j]``, ``remain_locs[j]`` are the subgraph input positions they feed.
  Heads: ``num_out_data`` step outputs, then the new states. ``num_args`` = inputs + 1.
* ``_while_loop``: subgraphs ``cond`` and ``func``; ``cond_input_locs[k]``/``func_input_locs[k]``
  are the node input feeding subgraph input ``k``; ``func_var_locs[j]`` is the func input
  position of loop variable ``j`` (func's heads: ``num_out_data`` outputs, then the new loop
  variables). ``max_iterations``; ``num_args`` = inputs + 2.
* ``_cond``: subgraphs pred, then, else, with ``cond_input_locs``, ``then_input_locs``,
  ``else_input_locs`` as above; ``num_args`` = inputs + 3.

kiln's nodes (symbol/control_flow.py) hold ``Subgraph`` objects whose params are the loop's own
inputs then the free values; writing maps them onto these lists and back. A subgraph head that
is a variable is written through ``_copy``, as MXNet does. Graph constants inside a subgraph are
lifted to extra node inputs (variables ``_constN`` whose values go into the parameter file).
"""


from ..base import ExportError, FileFormatError
from ..ndarray import _registry
from . import control_flow as cf
from .graph import Node, is_entry, topo_order

KINDS = ("_foreach", "_while_loop", "_cond")
MAX_DEPTH = 16   # nested control flow deeper than this is refused on load


# ---- the DFS order MXNet lists a graph's inputs in ---------------------------------------------
def dfs_inputs(nodes_inputs, heads):
    """Indices of the variable nodes in MXNet's ``list_inputs`` order.

    ``nodes_inputs[k]``: node ``k``'s input node indices (``None`` for a variable); ``heads``:
    head node indices. Inputs must already point to earlier nodes (validated)."""
    order, seen = [], set()
    for h in heads:
        stack = [(h, False)]
        while stack:
            k, done = stack.pop()
            if done:
                if nodes_inputs[k] is None:
                    order.append(k)
                continue
            if k in seen:
                continue
            seen.add(k)
            stack.append((k, True))
            for i in reversed(nodes_inputs[k] or ()):
                if i not in seen:
                    stack.append((i, False))
    return order


# ---- writing ------------------------------------------------------------------------------------
def _copy_heads(outputs, name):
    """Subgraph outputs with variables and constants wrapped in ``identity`` (MXNet's ``_copy``)."""
    ident = _registry.OPS["identity"]
    res = []
    for k, (n, i) in enumerate(outputs):
        if n.kind in ("var", "const"):
            res.append((Node("op", ident, ((n, i),), {}, name=f"{name}_copy{k}",
                             avals=(n.avals[i],) if n.avals else None), 0))
        else:
            res.append((n, i))
    return res


def _locs(keys, params, what, node):
    """Subgraph input position of each param node (``keys`` in MXNet input order)."""
    where = {id(k): p for p, k in enumerate(keys)}
    res = []
    for j, (p, _) in enumerate(params):
        if id(p) not in where:
            raise ExportError(f"{node.op.name} node {node.name!r}: {what} {j} is not used by its "
                              "subgraph; MXNet 1.9 cannot load such a node (it requires every "
                              "data array, state and loop variable to be used)")
        res.append(where[id(p)])
    return res


class _Inputs:
    """The node inputs being written: kiln entries or lifted constants, deduplicated."""

    def __init__(self):
        self.items, self.index = [], {}

    def add(self, item):
        key = ("const", item) if isinstance(item, str) else (item[0].id, item[1])
        if key not in self.index:
            self.index[key] = len(self.items)
            self.items.append(item)
        return self.index[key]


def node_json(node, write):
    """``(op, attrs, inputs, subgraph docs)`` for a kiln control-flow node.

    ``write(entries)`` writes a subgraph: ``(doc, keys)``, ``keys`` its inputs in MXNet's
    order, each a var ``Node`` (a placeholder) or a lifted constant's name. ``inputs`` are kiln
    entries or constant names."""
    kind = node.op.name
    a = node.attrs
    if kind == "_foreach":
        body = a["body"]
        doc, keys = write(_copy_heads(body.outputs, node.name + "_body"))
        params = body.params
        n_data, n_in = a["n_data"], body.n_in
        data_locs = _locs(keys, params[:n_data], "data array", node)
        state_locs = _locs(keys, params[n_data:n_in], "state", node)
        ins = list(node.inputs[:n_in])
        pos = {id(p): j for j, (p, _) in enumerate(params)}
        taken = set(data_locs) | set(state_locs)
        remain = []
        for k, key in enumerate(keys):
            if k not in taken:
                remain.append(k)
                ins.append(key if isinstance(key, str) else node.inputs[pos[id(key)]])
        attrs = {"in_data_locs": data_locs, "in_state_locs": state_locs,
                 "remain_locs": remain, "num_out_data": a["n_outputs"],
                 "num_outputs": len(body.outputs), "num_args": len(ins) + 1}
        return kind, _fmt(attrs), ins, [doc]
    if kind == "_while_loop":
        cond, func = a["cond"], a["func"]
        nv, kc = cond.n_in, len(cond.params)
        cdoc, ckeys = write(_copy_heads(cond.outputs, node.name + "_cond"))
        fdoc, fkeys = write(_copy_heads(func.outputs, node.name + "_func"))
        ins = _Inputs()
        cpos = {id(p): j for j, (p, _) in enumerate(cond.params)}
        fpos = {id(p): (j if j < nv else kc + j - nv) for j, (p, _) in enumerate(func.params)}
        clocs = [ins.add(k if isinstance(k, str) else node.inputs[cpos[id(k)]]) for k in ckeys]
        flocs = [ins.add(k if isinstance(k, str) else node.inputs[fpos[id(k)]]) for k in fkeys]
        var_locs = _locs(fkeys, func.params[:nv], "loop variable", node)
        attrs = {"cond_input_locs": clocs, "func_input_locs": flocs, "func_var_locs": var_locs,
                 "max_iterations": a["max_iterations"], "num_out_data": a["n_outputs"],
                 "num_outputs": len(func.outputs), "num_args": len(ins.items) + 2}
        return kind, _fmt(attrs), ins.items, [cdoc, fdoc]
    if kind == "_cond":
        then, other = a["then_graph"], a["else_graph"]
        nt = len(then.params)
        pred = Node("var", name="pred", avals=node.inputs[0][0].avals)
        pdoc, _ = write(_copy_heads([(pred, 0)], node.name + "_pred"))
        ins = _Inputs()
        locs, docs = [[ins.add(node.inputs[0])]], [pdoc]
        for sub, first, tag in ((then, 1, "_then"), (other, 1 + nt, "_else")):
            doc, keys = write(_copy_heads(sub.outputs, node.name + tag))
            pos = {id(p): first + j for j, (p, _) in enumerate(sub.params)}
            locs.append([ins.add(k if isinstance(k, str) else node.inputs[pos[id(k)]])
                         for k in keys])
            docs.append(doc)
        attrs = {"cond_input_locs": locs[0], "then_input_locs": locs[1],
                 "else_input_locs": locs[2], "num_outputs": len(then.outputs),
                 "num_args": len(ins.items) + 3}
        return kind, _fmt(attrs), ins.items, docs
    raise ExportError(f"node {node.name!r}: op {kind} holds subgraphs that MXNet's symbol JSON "
                      "has no form for")


def _fmt(attrs):
    """MXNet's attribute strings: lists as ``[0, 1]``, numbers as decimals."""
    return {k: ("[" + ", ".join(map(str, v)) + "]") if isinstance(v, list) else str(int(v))
            for k, v in attrs.items()}


# ---- reading ------------------------------------------------------------------------------------
_SUBGRAPHS = {"_foreach": 1, "_while_loop": 2, "_cond": 3}


def _is_count(t):
    """ASCII decimal digits, at most 18 (no ``"²"``, no int conversion over the limit)."""
    return t.isascii() and t.isdigit() and len(t) <= 18


def _int_list(attrs, key, where, source):
    """A location list attribute (``"[0, 3]"``) as a list of non-negative ints."""
    text = attrs.get(key)
    s = (text or "").strip()
    if not (s.startswith(("[", "(")) and s.endswith(("]", ")"))) or len(s) > 1 << 16:
        raise FileFormatError(source, f"{where}: attribute {key} must be a list of indices, "
                                      f"got {text!r}")
    body = s[1:-1].replace(",", " ").split()
    if not all(map(_is_count, body)):
        raise FileFormatError(source, f"{where}: attribute {key}={text!r} is not a list of "
                                      "non-negative integers")
    return [int(t) for t in body]


def _int_attr(attrs, key, where, source, default=None):
    text = attrs.get(key)
    if text is None and default is not None:
        return default
    if text is None or not _is_count(text.strip()):
        raise FileFormatError(source, f"{where}: attribute {key} must be a non-negative integer, "
                                      f"got {text!r}")
    return int(text.strip())


def _check(ok, where, source, reason):
    if not ok:
        raise FileFormatError(source, f"{where}: {reason}")


def _picked(locs, n, where, source, what):
    _check(all(k < n for k in locs), where, source,
           f"{what} {locs} name subgraph inputs that do not exist (it has {n})")


def import_node(op_name, name, attrs, ins, raw_subgraphs, where, source, parse):
    """The kiln node of an MXNet ``_foreach``/``_while_loop``/``_cond``, as its entries.

    ``parse(doc, what)`` validates and builds one subgraph document: ``(heads, inputs)``, the
    head entries and the input var Nodes in MXNet's DFS order. Every location list is checked
    against the node's inputs and the subgraphs' inputs before the node is made."""
    n_sub = _SUBGRAPHS[op_name]
    _check(isinstance(raw_subgraphs, list) and len(raw_subgraphs) == n_sub, where, source,
           f"{op_name} needs a 'subgraphs' list of {n_sub} graph(s)")
    subs = [parse(d, f"{where} subgraph {j}") for j, d in enumerate(raw_subgraphs)]
    num_args = _int_attr(attrs, "num_args", where, source, default=len(ins) + n_sub)
    _check(num_args == len(ins) + n_sub, where, source,
           f"num_args={num_args} but the node has {len(ins)} inputs and {n_sub} subgraph(s)")
    if op_name == "_foreach":
        (heads, sub_in), = subs
        data = _int_list(attrs, "in_data_locs", where, source)
        states = _int_list(attrs, "in_state_locs", where, source)
        remain = _int_list(attrs, "remain_locs", where, source)
        locs = data + states + remain
        _check(sorted(locs) == list(range(len(sub_in))), where, source,
               "in_data_locs, in_state_locs and remain_locs must together name each subgraph "
               f"input once (it has {len(sub_in)})")
        _check(len(ins) == len(locs) and data, where, source,
               f"the node has {len(ins)} inputs for {len(locs)} subgraph inputs "
               "(and needs at least one data array)")
        n_out = _int_attr(attrs, "num_outputs", where, source, default=len(heads))
        n_data_out = _int_attr(attrs, "num_out_data", where, source)
        _check(n_out == len(heads) and n_data_out + len(states) == n_out, where, source,
               f"num_outputs={n_out}, num_out_data={n_data_out} and {len(states)} state(s) do "
               f"not fit the subgraph's {len(heads)} heads")
        body = LoadedSubgraph([(sub_in[k], 0) for k in locs], heads, len(data) + len(states),
                              "foreach_body")
        return _node(cf.FOREACH, ins, {"body": body, "n_data": len(data),
                                       "n_outputs": n_data_out}, name)
    if op_name == "_while_loop":
        (cheads, cin), (fheads, fin) = subs
        clocs = _int_list(attrs, "cond_input_locs", where, source)
        flocs = _int_list(attrs, "func_input_locs", where, source)
        var_locs = _int_list(attrs, "func_var_locs", where, source)
        _check(len(clocs) == len(cin) and len(flocs) == len(fin), where, source,
               "cond_input_locs and func_input_locs must name one node input per subgraph input")
        _check(all(k < len(ins) for k in clocs + flocs), where, source,
               f"an input location names a node input that does not exist ({len(ins)})")
        _check(len(set(var_locs)) == len(var_locs) and var_locs, where, source,
               "func_var_locs must name distinct func inputs")
        _picked(var_locs, len(fin), where, source, "func_var_locs")
        _check(len(cheads) == 1, where, source, "the cond subgraph must have one head")
        n_out = _int_attr(attrs, "num_outputs", where, source, default=len(fheads))
        n_data_out = _int_attr(attrs, "num_out_data", where, source)
        _check(n_out == len(fheads) and n_data_out + len(var_locs) == n_out, where, source,
               f"num_outputs={n_out}, num_out_data={n_data_out} and {len(var_locs)} loop "
               f"variable(s) do not fit the func subgraph's {len(fheads)} heads")
        max_it = _int_attr(attrs, "max_iterations", where, source)
        _check(max_it < 1 << 31, where, source, f"max_iterations={max_it} is not an int32 "
                                                "(MXNet's type for it)")
        # kiln's layout: loop variables, cond's free inputs, func's free inputs
        var_ins = [flocs[k] for k in var_locs]
        _check(len(set(var_ins)) == len(var_ins), where, source,
               "two loop variables read the same node input")
        var_of = {i: j for j, i in enumerate(var_ins)}
        nv = len(var_ins)
        cvars = [Node("var", name=f"while_cond_in{j}") for j in range(nv)]
        cparams, cfree = list(cvars), []
        for node, i in zip(cin, clocs):
            if i in var_of:   # a loop variable: its placeholder stands for it
                cparams[var_of[i]] = node
            else:
                cfree.append((node, i))
        ffree = [(fin[k], flocs[k]) for k in range(len(fin)) if k not in set(var_locs)]
        cond = LoadedSubgraph([(p, 0) for p in cparams + [n for n, _ in cfree]], cheads, nv,
                              "while_cond")
        func = LoadedSubgraph([(fin[k], 0) for k in var_locs] + [(n, 0) for n, _ in ffree],
                              fheads, nv, "while_func")
        inputs = [ins[i] for i in var_ins] + [ins[i] for _, i in cfree + ffree]
        return _node(cf.WHILE_LOOP, inputs, {"cond": cond, "func": func,
                                             "n_outputs": n_data_out,
                                             "max_iterations": max_it}, name)
    (pheads, pin), (theads, tin), (eheads, ein) = subs
    locs = [_int_list(attrs, k, where, source)
            for k in ("cond_input_locs", "then_input_locs", "else_input_locs")]
    for loc, sub_in in zip(locs, (pin, tin, ein)):
        _check(len(loc) == len(sub_in) and all(k < len(ins) for k in loc), where, source,
               "each input location list must name one existing node input per subgraph input")
    _check(len(pheads) == 1 and len(theads) == len(eheads) >= 1, where, source,
           "the pred subgraph needs one head, then and else the same number")
    n_out = _int_attr(attrs, "num_outputs", where, source, default=len(theads))
    _check(n_out == len(theads), where, source, f"num_outputs={n_out}, then has {len(theads)}")
    # kiln takes the predicate as an array: the pred subgraph is evaluated as its own node
    pred = _evaluate_into(pheads, pin, [ins[k] for k in locs[0]], name + "_pred")
    then = LoadedSubgraph([(n, 0) for n in tin], theads, 0, "cond_then")
    other = LoadedSubgraph([(n, 0) for n in ein], eheads, 0, "cond_else")
    inputs = [pred] + [ins[k] for k in locs[1]] + [ins[k] for k in locs[2]]
    return _node(cf.COND, inputs, {"then_graph": then, "else_graph": other}, name)


def _evaluate_into(heads, sub_in, outer, name):
    """The subgraph's head rebuilt over ``outer`` entries (its nodes cloned, inputs replaced)."""
    mapping = {n.id: e for n, e in zip(sub_in, outer)}
    new = {}
    for n in topo_order(heads):
        if n.id in mapping:
            continue
        if n.kind == "var":   # an input the locations do not cover (validated above)
            raise AssertionError(name)
        ins = [(mapping[i[0].id] if i[0].id in mapping else (new[i[0].id], i[1]))
               if is_entry(i) else i for i in n.inputs]
        new[n.id] = Node(n.kind, n.op, ins, n.attrs, name=n.name, value=n.value)
    h, i = heads[0]
    return mapping[h.id] if h.id in mapping else (new[h.id], i)


def _node(op, inputs, attrs, name):
    node = Node("op", LOADED[op.name], tuple(inputs), attrs, name=name)
    return [(node, k) for k in range(node.num_outputs)]


# nodes read from a file hold shapeless subgraphs (shaped when they run: control_flow.py)
LoadedSubgraph = cf.ShapelessSubgraph
LOADED = cf.SHAPELESS
