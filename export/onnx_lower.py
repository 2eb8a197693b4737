"""Lower a kiln graph to ONNX nodes: prepare the inference graph, fold BatchNorm, emit.

``prepare`` turns parameters into constants, attaches avals from shape inference, forces
inference mode (``_train=False``), runs ``passes.optimize`` and (unless ``fold_bn=False``) folds
BatchNorm into a preceding Convolution/FullyConnected. ``emit`` drives every op's ``onnx`` facet
through a ``Builder`` and names each kiln node's output tensor after the node (``fc``,
``stage1.conv0``...).

Example::

    >>> entries, inputs = prepare(sym, params, {"data": (2, 3, 8, 8)}, {"data": np.float32})
    >>> g, tensors = emit(entries, inputs, opset=17)
"""
import numpy as np
from onnx import TensorProto, helper, numpy_helper

from ..ndarray._registry import Aval
from ..symbol import passes
from ..symbol.api import infer_avals
from ..symbol.graph import Node, is_entry, topo_order
from ..symbol.symbol import Symbol
from .onnx_builder import Builder, ExportError


# ---- preparing the inference graph ----------------------------------------------------------
def prepare(entries, params, shapes, dtypes, fold_bn=True):
    """The optimized inference graph: ``(targets, data_var_nodes)``.

    ``params``: name -> numpy array (become constants); ``shapes``/``dtypes``: data input name ->
    shape / dtype. Variables neither in ``params`` nor in ``shapes`` raise an ExportError.
    ``fold_bn=False`` keeps BatchNorm as its own node (with its statistics as initializers), so
    an imported copy can fine-tune it.
    """
    all_shapes = dict(shapes)
    all_types = dict(dtypes)
    for k, v in params.items():
        all_shapes[k], all_types[k] = tuple(v.shape), v.dtype
    missing = [n.name for n in topo_order(entries) if n.kind == "var" and n.name not in all_shapes]
    if missing:
        raise ExportError(f"no parameter value or input shape for graph input(s) {missing}")
    try:
        known = infer_avals(Symbol(entries), all_shapes, all_types)
    except Exception as e:  # shape errors name the node already
        raise ExportError(f"shape inference failed: {e}") from e

    def avals_of(node):
        n = node.num_outputs if node.kind == "op" else 1
        return tuple(known[(node.id, k)] for k in range(n))

    def visit(node, inputs):
        if node.kind == "var" and node.name in params:
            const = Node("const", value=params[node.name], avals=avals_of(node), name=node.name,
                         meta={"param": True, "aux": bool(node.meta.get("aux"))})
            return [(const, 0)]
        if node.kind == "const":   # captured arrays may live on a GPU: export from the host
            return [(Node("const", value=_host(node.value), avals=avals_of(node),
                          name=node.name, block=node.block, source=node.source,
                          meta=node.meta), 0)]
        attrs = dict(node.attrs)
        if node.kind == "op" and node.op.uses_mode:
            attrs["_train"] = False   # inference graph: BatchNorm uses the moving statistics
        new = Node(node.kind, node.op, inputs, attrs, name=node.name, avals=avals_of(node),
                   value=node.value, block=node.block, source=node.source, meta=node.meta)
        return [(new, k) for k in range(new.num_outputs if node.kind == "op" else 1)]

    targets = passes.rewrite(list(entries), visit)
    targets = passes.optimize(targets, np)
    if fold_bn:
        targets = fold_batchnorm(targets)
    data = [n for n in topo_order(targets) if n.kind == "var"]
    return targets, data


def _host(value):
    """A numpy copy of a numpy or cupy array."""
    if isinstance(value, np.ndarray):
        return value
    return value.get() if hasattr(value, "get") else np.asarray(value)


def _consumers(targets):
    count = {}
    for node in topo_order(targets):
        for i in node.inputs:
            if is_entry(i):
                count[i[0].id] = count.get(i[0].id, 0) + 1
    for node, _ in targets:
        count[node.id] = count.get(node.id, 0) + 1
    return count


def _const(entry):
    return entry[0].value if is_entry(entry) and entry[0].kind == "const" else None


def _foldable(bn, uses):
    """The conv/fc node a BatchNorm can fold into (or None)."""
    src = bn.inputs[0]
    if bn.num_outputs != 1 or not is_entry(src) or uses.get(src[0].id) != 1:
        return None
    prod = src[0]
    if prod.kind != "op" or prod.op.name not in ("convolution", "fully_connected"):
        return None
    if any(_const(e) is None for e in bn.inputs[1:5]) or _const(prod.inputs[1]) is None:
        return None
    if len(prod.inputs) > 2 and prod.inputs[2] is not None and not prod.attrs.get("no_bias") \
            and _const(prod.inputs[2]) is None:
        return None
    ndim = len(prod.avals[0].shape)
    axis = bn.attrs.get("axis", 1) % ndim
    if prod.op.name == "convolution":
        ok = axis == 1 and str(prod.attrs.get("layout") or "NC").startswith("NC")
    else:
        ok = axis == ndim - 1 and (ndim == 2 or not prod.attrs.get("flatten", True))
    return prod if ok else None


def _folded_node(bn, prod):
    gamma, beta, mm, mv = (np.asarray(_const(e), np.float64) for e in bn.inputs[1:5])
    w = _const(prod.inputs[1])
    scale = (1.0 if bn.attrs.get("fix_gamma", True) else gamma) / np.sqrt(mv + bn.attrs["eps"])
    scale = np.broadcast_to(scale, mm.shape)
    has_bias = len(prod.inputs) > 2 and prod.inputs[2] is not None and \
        not prod.attrs.get("no_bias")
    b = np.asarray(_const(prod.inputs[2]), np.float64) if has_bias else 0.0
    new_w = (w.astype(np.float64) * scale.reshape((-1,) + (1,) * (w.ndim - 1))).astype(w.dtype)
    new_b = ((b - mm) * scale + beta).astype(w.dtype)
    wn = Node("const", value=new_w, avals=(Aval(new_w.shape, new_w.dtype),),
              name=prod.inputs[1][0].name, meta={"param": True})
    wname = prod.inputs[1][0].name
    bname = prod.inputs[2][0].name if has_bias else (
        wname[:-len("weight")] + "bias" if wname.endswith("weight") else f"{prod.name}_bias")
    bnode = Node("const", value=new_b, avals=(Aval(new_b.shape, new_b.dtype),), name=bname,
                 meta={"param": True})
    attrs = dict(prod.attrs, no_bias=False)
    return Node("op", prod.op, (prod.inputs[0], (wn, 0), (bnode, 0)), attrs, name=prod.name,
                avals=bn.avals, block=prod.block, source=prod.source, meta=prod.meta)


def fold_batchnorm(targets):
    """Fold inference BatchNorm into the Convolution/FullyConnected feeding only it.

    ``y = (conv(x, W) + b - mean) * s + beta`` with ``s = gamma / sqrt(var + eps)`` becomes
    ``conv(x, W * s) + (b - mean) * s + beta`` (``s`` along the output channels).
    """
    uses = _consumers(targets)

    def visit(node, inputs):
        if node.kind != "op" or node.op.name != "batch_norm":
            return None
        orig = _foldable(node, uses)
        if orig is None:
            return None
        # inputs[0] is the (possibly rewritten) producer: fold into that one
        cur = Node(node.kind, node.op, inputs, node.attrs, name=node.name, avals=node.avals)
        return [(_folded_node(cur, inputs[0][0]), 0)]
    return passes.rewrite(targets, visit)


# ---- emitting ONNX nodes --------------------------------------------------------------------
def _rename(g, start, old, new):
    for nd in g.nodes[start:]:
        for lst in (nd.input, nd.output):
            for k, t in enumerate(lst):
                if t == old:
                    lst[k] = new


def _lower(g, node, tensors):
    """Emit one op node; returns its output tensor names."""
    op = node.op
    if getattr(op, "subgraphs", None):
        return _lower_control_flow(g, node, [tensors[(i[0].id, i[1])] for i in node.inputs])
    if op.onnx is None:
        reason = f": {op.no_onnx}" if op.no_onnx else ""
        raise ExportError(f"operator {op.name!r} (node {node.name!r}, {node.where()}) has no "
                          f"ONNX lowering{reason}")
    arrays = [i for i in node.inputs if is_entry(i)]
    sdt = arrays[0][0].avals[arrays[0][1]].dtype if arrays else np.dtype(np.float32)
    names, avals = [], []
    g.prefix = node.name + "/"
    for i in node.inputs:
        if is_entry(i):
            names.append(tensors[(i[0].id, i[1])])
            avals.append(i[0].avals[i[1]])
        elif i is None:
            names.append(None)
            avals.append(None)
        else:
            names.append(g.const(np.asarray(i, dtype=sdt), name="scalar"))
            avals.append(i)
    attrs = {k: v for k, v in node.attrs.items() if not k.startswith("_")}
    try:
        outs = op.onnx(g, names, avals, list(node.avals), **attrs)
    except ExportError:
        raise
    except Exception as e:
        raise ExportError(f"lowering {op.name!r} (node {node.name!r}, {node.where()}) "
                          f"failed: {type(e).__name__}: {e}") from e
    finally:
        g.prefix = ""
    return [outs] if isinstance(outs, str) else list(outs)


def emit(targets, data_nodes, opset):
    """Builder holding every node; returns ``(g, tensors)`` with (node id, k) -> tensor name."""
    g = Builder(opset)
    tensors = {}
    for n in data_nodes:
        g._names.add(n.name)
    _emit_into(g, targets, tensors)
    return g, tensors


def _emit_into(g, targets, tensors):
    """Lower the nodes ``targets`` need into ``g``; ``tensors`` may already name some entries
    (a subgraph's placeholders), which are not lowered again."""
    for node in topo_order(targets):
        if (node.id, 0) in tensors:
            continue
        if node.kind == "var":
            tensors[(node.id, 0)] = node.name
        elif node.kind == "const":
            if node.meta.get("param"):   # one initializer per parameter (no value sharing)
                name = g.fresh(node.name)
                g.initializers.append(numpy_helper.from_array(np.asarray(node.value), name))
            else:
                name = g.const(node.value, name=node.name)
            tensors[(node.id, 0)] = name
        else:
            start = len(g.nodes)
            outs = _lower(g, node, tensors)
            produced = {t for nd in g.nodes[start:] for t in nd.output}
            for k, t in enumerate(outs):
                if t in produced:
                    readable = node.name if len(outs) == 1 else f"{node.name}_output{k}"
                    new = g.fresh(readable)
                    _rename(g, start, t, new)
                    produced.discard(t)
                    t = new
                tensors[(node.id, k)] = t


# ---- control flow: foreach -> Scan, while_loop -> Loop, cond -> If ----------------------------
# (symbol/control_flow.py: the node's inputs are its arrays, then the subgraphs' free values.)
# Bodies are self-contained: free values enter as loop-carried values passed through unchanged
# and constants are Constant nodes inside, never outer-scope names, so the top-level passes
# (export/onnx_passes.py: pruning, renaming inputs, bypassing Identity) cannot break them. An
# If reads only outer scope, so a cond is an If inside a one-iteration Loop carrying its values.
def _child(g):
    """A builder for a body: names unique with ``g``'s, its own constants."""
    c = Builder(g.opset)
    c._names = g._names
    return c


def _inline(g, sub, names):
    """Lower ``sub`` into ``g`` with its params (inputs, then free values) bound to tensor
    names; returns its output tensor names."""
    tensors = {(n.id, 0): t for (n, _), t in zip(sub.params, names)}
    _emit_into(g, sub.outputs, tensors)
    return [tensors[(n.id, i)] for n, i in sub.outputs]


def _vi(name, aval, static=False):
    """A body's input or output: dtype and rank only (its dims follow the dynamic axes), or
    its traced shape when ``static``."""
    return helper.make_tensor_value_info(name, Builder.onnx_dtype(aval.dtype),
                                         list(aval.shape) if static else [None] * len(aval.shape))


def _graph(c, name, inputs, outputs, n_static=0):
    """A GraphProto of ``c``'s nodes: ``inputs``/``outputs`` are (tensor, aval) pairs; every
    output gets its own Identity (a body output may be one of its inputs). The last
    ``n_static`` outputs declare their traced shapes (a Loop's scan outputs: after zero
    iterations onnxruntime shapes them from the declaration)."""
    nodes = [helper.make_node("Constant", [], [t.name], name=c.fresh(f"{t.name}_const"), value=t)
             for t in c.initializers] + c.nodes
    outs = []
    for k, (t, aval) in enumerate(outputs):
        o = c.fresh(f"{name}_out")
        nodes.append(helper.make_node("Identity", [t], [o], name=c.fresh(f"{name}_id")))
        outs.append(_vi(o, aval, static=k >= len(outputs) - n_static))
    return helper.make_graph(nodes, name, [_vi(t, a) for t, a in inputs], outs)


def _fresh_all(g, hint, n):
    return [g.fresh(f"{hint}{k}") for k in range(n)]


def _bool_scalar(g, t):
    return g.op("Reshape", g.op("Cast", t, to=TensorProto.BOOL), g.ints([]))


_SCALAR_B, _SCALAR_I = Aval((), np.dtype(np.bool_)), Aval((), np.dtype(np.int64))


def _lower_control_flow(g, node, names):
    a = node.attrs
    lower = {"_foreach": lambda: _lower_foreach(g, node, names, a["body"], a["n_data"],
                                                a["n_outputs"]),
             "_while_loop": lambda: _lower_while(g, node, names, a["cond"], a["func"],
                                                 a["n_outputs"], a["max_iterations"]),
             "_cond": lambda: _lower_cond(g, node, names, a["then_graph"], a["else_graph"])}
    if node.op.name not in lower:
        raise ExportError(f"operator {node.op.name!r} (node {node.name!r}, {node.where()}) has "
                          "no ONNX lowering (the gradient of a control-flow op)")
    try:
        return lower[node.op.name]()
    except ExportError:
        raise
    except Exception as e:
        raise ExportError(f"lowering {node.op.name!r} (node {node.name!r}, {node.where()}) "
                          f"failed: {type(e).__name__}: {e}") from e


def _lower_foreach(g, node, names, body, n_data, n_out):
    """Scan: carried = states, then the free values; scanned = the data."""
    n_in, pav, oav = body.n_in, body.param_avals, body.out_avals
    c = _child(g)
    ins = _fresh_all(g, f"{node.name}_in", len(body.params))
    outs = _inline(c, body, ins)
    carried = list(range(n_data, len(ins)))   # states, free values
    n_carried = len(carried)
    gp = _graph(c, f"{node.name}_body", [(ins[k], pav[k]) for k in carried + list(range(n_data))],
                [(outs[k], oav[k]) for k in range(n_out, len(outs))] +
                [(ins[k], pav[k]) for k in range(n_in, len(ins))] +
                [(outs[k], oav[k]) for k in range(n_out)])
    res = g.op("Scan", *[names[k] for k in carried], *names[:n_data],
               outputs=n_carried + n_out, body=gp, num_scan_inputs=n_data)
    res = [res] if isinstance(res, str) else list(res)
    return res[n_carried:] + res[:n_in - n_data]


def _lower_while(g, node, names, cond, func, n_out, max_iterations):
    """Loop: carried = the loop variables, then both functions' free values; the condition is
    computed before the loop and at the end of each iteration. Rows past the last iteration
    are zeros, as eagerly."""
    nv, kc = cond.n_in, len(cond.params)
    first = _bool_scalar(g, _inline(g, cond, names[:kc])[0])
    c = _child(g)
    it, cin = c.fresh(f"{node.name}_iter"), c.fresh(f"{node.name}_cond_in")
    ins = _fresh_all(g, f"{node.name}_in", len(names))
    variables, cfree, ffree = ins[:nv], ins[nv:kc], ins[kc:]
    outs = _inline(c, func, variables + ffree)
    cout = _bool_scalar(c, _inline(c, cond, outs[n_out:] + cfree)[0])
    avals = func.param_avals[:nv] + cond.param_avals[nv:] + func.param_avals[nv:]
    oav = func.out_avals
    gp = _graph(c, f"{node.name}_body", [(it, _SCALAR_I), (cin, _SCALAR_B)] +
                list(zip(ins, avals)),
                [(cout, _SCALAR_B)] + [(outs[k], oav[k]) for k in range(n_out, len(outs))] +
                list(zip(ins[nv:], avals[nv:])) + [(outs[k], oav[k]) for k in range(n_out)],
                n_static=n_out)
    res = g.op("Loop", g.const(np.array(max_iterations, np.int64), name="max_iterations"),
               first, *names, outputs=len(names) + n_out, body=gp)
    res = [res] if isinstance(res, str) else list(res)
    padded = []
    for s, aval in zip(res[len(names):], oav[:n_out]):
        rows = g.op("Gather", g.op("Shape", s), g.ints([0]), axis=0)
        pads = g.op("Concat", g.ints([0] * (len(aval.shape) + 1)),
                    g.op("Sub", g.ints([max_iterations]), rows),
                    g.ints([0] * len(aval.shape)), axis=0)
        padded.append(g.op("Pad", s, pads))
    return padded + res[:nv]


def _lower_cond(g, node, names, then_graph, else_graph):
    """If, inside a one-iteration Loop that carries the predicate and the free values (the
    branches read them from the Loop body's scope)."""
    nt = len(then_graph.params)
    c = _child(g)
    it, cin = c.fresh(f"{node.name}_iter"), c.fresh(f"{node.name}_cond_in")
    ins = _fresh_all(g, f"{node.name}_in", len(names))
    branches = []
    for sub, free, label in ((then_graph, ins[1:1 + nt], "then"),
                             (else_graph, ins[1 + nt:], "else")):
        b = _child(c)
        outs = _inline(b, sub, free)
        branches.append(_graph(b, f"{node.name}_{label}", [], list(zip(outs, sub.out_avals))))
    n = len(then_graph.outputs)
    res = c.op("If", _bool_scalar(c, ins[0]), outputs=n, then_branch=branches[0],
               else_branch=branches[1])
    res = [res] if isinstance(res, str) else list(res)
    in_avals = [node.inputs[k][0].avals[node.inputs[k][1]] for k in range(len(names))]
    gp = _graph(c, f"{node.name}_body", [(it, _SCALAR_I), (cin, _SCALAR_B)] +
                list(zip(ins, in_avals)),
                [(cin, _SCALAR_B)] + list(zip(ins, in_avals)) +
                list(zip(res, then_graph.out_avals)))
    out = g.op("Loop", g.const(np.array(1, np.int64), name="one"), None, *names,
               outputs=len(names) + n, body=gp)
    out = [out] if isinstance(out, str) else list(out)
    return [g.op("Squeeze", s, g.ints([0])) for s in out[len(names):]]


def finish_outputs(g, targets, tensors, out_names):
    """Name the graph outputs ``out_names``; returns the final output tensor names."""
    inits = {t.name for t in g.initializers}
    producer = {o: nd for nd in g.nodes for o in nd.output}
    final, used = [], set()
    for (node, k), want in zip(targets, out_names):
        t = tensors[(node.id, k)]
        if t in producer and t not in used and t not in inits:
            new = t if t == want else g.fresh(want)
            if new != t:
                _rename(g, 0, t, new)
                for key, v in tensors.items():
                    if v == t:
                        tensors[key] = new
        else:   # a graph input, an initializer or an output already used: copy it
            new = g.fresh(want)
            g.op("Identity", t, name=want)
            g.nodes[-1].output[0] = new
        used.add(new)
        final.append(new)
    return final
