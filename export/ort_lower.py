"""Lower one compiled kiln graph (a hybridized call's forward, training forward or backward) to
an ONNX model whose inputs are the graph's arguments, for the onnxruntime executor.

Unlike the exporter (``onnx_lower.prepare``), nothing is folded into constants: parameters,
saved activations and output gradients stay graph inputs, in the order of the compiled
function's arguments, so one model serves every call of its signature. Each op goes through
its registry ``onnx`` facet; two things need more than the facet:

* BatchNorm in training mode normalises with the batch statistics and updates its moving
  statistics in place. Its lowering here computes the batch moments and returns the new moving
  statistics as extra graph outputs, which the executor copies into the parameters' arrays.
* Random ops (an active Dropout's mask, samplers) would draw from onnxruntime's generator, not
  kiln's: they raise ``ExportError``, so the graph runs in numpy.

Example::

    >>> model, mutations = lower_graph(args, targets)   # targets: [(node, k), ...]
"""
import numpy as np

from ..symbol.graph import is_entry
from .onnx_builder import Builder, ExportError
from .onnx_lower import _lower, finish_outputs

DEFAULT_OPSET = 17


def _needed(targets, given):
    """The op/const nodes to lower for ``targets``, inputs first, stopping at ``given``."""
    order, seen = [], set()
    stack = [(e[0], False) for e in reversed(targets) if (e[0].id, e[1]) not in given]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if node.id in seen:
            continue
        seen.add(node.id)
        stack.append((node, True))
        for i in reversed(node.inputs):
            if is_entry(i) and (i[0].id, i[1]) not in given and i[0].id not in seen:
                stack.append((i[0], False))
    return order


def _depends_on(targets, args):
    """Whether some target reads some argument (onnxruntime refuses all-constant graphs)."""
    given = {(n.id, i) for n, i in args}
    if any((n.id, i) in given for n, i in targets):
        return True
    return any(is_entry(i) and (i[0].id, i[1]) in given
               for node in _needed(targets, given) for i in node.inputs)


def _check_node(node):
    op = node.op
    if op.random and not (op.name == "dropout" and node.num_outputs == 1):
        raise ExportError(f"operator {op.name!r} (node {node.name!r}) draws random numbers: "
                          "onnxruntime's generator is not kiln's")
    if op.mutates and node.attrs.get("_train") and op.name != "batch_norm":
        raise ExportError(f"operator {op.name!r} (node {node.name!r}) updates an input in place")


def _mean(g, x, axes):
    if g.opset >= 18:
        return g.op("ReduceMean", x, g.ints(axes), keepdims=1)
    return g.op("ReduceMean", x, axes=list(axes), keepdims=1)


def _bn_train(g, node, tensors):
    """Training-mode BatchNorm: ``[y, (mean, invstd)]`` and the new moving statistics."""
    a = node.attrs
    x, gamma, beta, mm, mv = (tensors[(i[0].id, i[1])] for i in node.inputs)
    xav = node.inputs[0][0].avals[node.inputs[0][1]]
    nd_ = len(xav.shape)
    ax = a.get("axis", 1) % nd_
    if 0 in tuple(xav.shape) or xav.dtype != np.float32 and xav.dtype != np.float64:
        raise ExportError(f"BatchNorm node {node.name!r}: empty or low-precision batch")
    red = [d for d in range(nd_) if d != ax]
    bs = [1] * nd_
    bs[ax] = xav.shape[ax]
    dt, mom = xav.dtype, float(a.get("momentum", 0.9))
    g.prefix = node.name + "/"
    try:
        mean = _mean(g, x, red)
        xc = g.op("Sub", x, mean)
        var = _mean(g, g.op("Mul", xc, xc), red)
        invstd = g.op("Reciprocal", g.op("Sqrt", g.op("Add", var, g.const(
            np.asarray(a.get("eps", 1e-3), dt)))))
        scale = invstd
        if not a.get("fix_gamma", True):
            scale = g.op("Mul", invstd, g.op("Reshape", gamma, g.ints(bs)))
        y = g.op("Add", g.op("Mul", xc, scale), g.op("Reshape", beta, g.ints(bs)))
        flat = g.ints([xav.shape[ax]])
        mean1, var1 = g.op("Reshape", mean, flat), g.op("Reshape", var, flat)
        keep, new = g.const(np.asarray(mom, dt)), g.const(np.asarray(1.0 - mom, dt))
        new_mm = g.op("Add", g.op("Mul", mm, keep), g.op("Mul", mean1, new))
        new_mv = g.op("Add", g.op("Mul", mv, keep), g.op("Mul", var1, new))
        outs = [y]
        if a.get("output_mean_var"):
            outs += [mean1, g.op("Reshape", invstd, flat)]
    finally:
        g.prefix = ""
    return outs, [(node.inputs[3], new_mm), (node.inputs[4], new_mv)]


def _is_train_bn(node):
    a = node.attrs
    return node.op.name == "batch_norm" and a.get("_train") and not a.get("use_global_stats")


def lower_graph(args, targets, opset=DEFAULT_OPSET):
    """``(model, mutations)``: an ONNX ModelProto computing ``targets`` from ``args``.

    ``args``/``targets``: graph entries ``(node, k)`` (the compiled function's arguments and
    results). Graph inputs are named ``in0, in1...`` and outputs ``out0, out1...``; after the
    targets come the moving statistics updated by training-mode BatchNorms: ``mutations`` lists,
    per extra output, the argument position whose array it overwrites. Raises ExportError
    when some op cannot be lowered.
    """
    if not _depends_on(targets, args):
        raise ExportError("a constant graph (no result depends on an argument): nothing for "
                          "onnxruntime to run")
    g = Builder(opset)
    tensors = {}
    for k, (node, idx) in enumerate(args):
        tensors[(node.id, idx)] = g.fresh(f"in{k}")
    inputs = list(tensors.values())
    arg_pos = {(n.id, i): k for k, (n, i) in enumerate(args)}
    mutations, extra = [], []
    for node in _needed(targets, tensors):
        if node.kind == "var":
            raise ExportError(f"graph input {node.name!r} is not an argument")
        if node.kind == "const":
            value = node.value if isinstance(node.value, np.ndarray) else np.asarray(node.value)
            tensors[(node.id, 0)] = g.const(value, name=(node.name or "const").replace("/", "."))
            continue
        _check_node(node)
        if _is_train_bn(node):
            outs, updates = _bn_train(g, node, tensors)
            for src, t in updates:
                pos = arg_pos.get((src[0].id, src[1])) if is_entry(src) else None
                if pos is None:
                    raise ExportError(f"BatchNorm node {node.name!r} updates statistics that "
                                      "are not graph arguments")
                mutations.append(pos)
                extra.append(t)
        else:
            outs = _lower(g, node, tensors)
            if len(outs) != node.num_outputs:
                raise ExportError(f"operator {node.op.name!r} (node {node.name!r}) lowers "
                                  f"{len(outs)} of its {node.num_outputs} outputs (the hidden "
                                  "outputs of its training form have no lowering)")
        for k, t in enumerate(outs):
            tensors[(node.id, k)] = t
    names = [f"out{k}" for k in range(len(targets) + len(extra))]
    pseudo = list(targets) + [(None, k) for k in range(len(extra))]
    for k, t in enumerate(extra):
        tensors[(None, k)] = t
    finals = finish_outputs(g, [(_Key(n), k) for n, k in pseudo], tensors, names)
    in_avals = [n.avals[i] for n, i in args]
    out_avals = [n.avals[i] for n, i in targets] + [args[p][0].avals[args[p][1]]
                                                    for p in mutations]
    model = g.model([(nm, av.dtype, list(av.shape)) for nm, av in zip(inputs, in_avals)],
                    [(nm, av.dtype, list(av.shape)) for nm, av in zip(finals, out_avals)],
                    graph_name="kiln_compiled")
    return model, mutations


class _Key:
    """A stand-in node for ``finish_outputs`` (it reads only ``.id``)."""

    __slots__ = ("id",)

    def __init__(self, node):
        self.id = None if node is None else node.id
