"""ONNX ``If``, ``Loop`` and ``Scan``: their subgraphs inlined into the importing graph.

A body is converted node by node like the main graph (``imp.convert_node``), its tensor names
prefixed per inlining so iterations do not collide; names it does not define are read from
the enclosing scope. ``Scan`` is unrolled over its (static) sequence axis, the scan outputs
stacked; ``Loop`` is unrolled over a constant trip count while the body's condition folds to
a constant (a data-dependent exit raises); ``If`` with a constant condition inlines one branch,
otherwise both branches run and a ``where`` picks each output. The result is ordinary kiln ops,
so gradients flow through every iteration.

Example: ``Scan`` of a body ``s' = s + x_t`` over ``x`` (T, 2) imports as T chained ``add``s.
"""
import itertools

import numpy as np
from onnx import helper, numpy_helper

from ..base import MXNetError
from .onnx_import_ops import _attrs, _sub

_COUNTER = itertools.count()


def inline(imp, graph, bindings, tag):
    """Convert ``graph``'s nodes with its inputs bound to ``bindings`` (entries or numpy
    values, by position); returns the entries of its outputs."""
    prefix = f"{tag}.{next(_COUNTER)}/"
    local = {vi.name for vi in graph.input} | {o for nd in graph.node for o in nd.output if o}
    local |= {t.name for t in graph.initializer}

    def ren(name):
        return prefix + name if name and name in local else name

    for t in graph.initializer:
        v = numpy_helper.to_array(t)
        (imp.inits if v.dtype.kind == "f" else imp.static)[ren(t.name)] = v
    for vi, b in zip(graph.input, bindings):
        if isinstance(b, np.ndarray):
            imp.static[ren(vi.name)] = b
        else:
            imp.entries[ren(vi.name)] = b
    for nd in graph.node:
        copy = helper.make_node(nd.op_type, [ren(i) for i in nd.input],
                                [ren(o) for o in nd.output], name=ren(nd.name) if nd.name
                                else "", domain=nd.domain)
        copy.attribute.extend(nd.attribute)
        imp.producer.update({o: copy for o in copy.output if o})
        imp.consumed.update(copy.input)
        imp.convert_node(copy)
    return [_value(imp, ren(o.name)) for o in graph.output]


def _value(imp, name):
    """A body output: its constant value (kept constant for the next iteration) or entry."""
    if name in imp.static:
        return np.asarray(imp.static[name])
    return imp.t(name)


def _entry(imp, n, k, v):
    if isinstance(v, np.ndarray):
        from .onnx_import_math import const
        return const(imp, n, 1000 + k, v)
    return v


def _if(imp, n):
    a = _attrs(n)
    cond = imp.value(n.input[0], required=False)
    if cond is not None:
        branch = a["then_branch"] if bool(np.asarray(cond).reshape(-1)[0]) else a["else_branch"]
        return [_entry(imp, n, k, v) for k, v in enumerate(inline(imp, branch, [], n.output[0]))]
    then = inline(imp, a["then_branch"], [], n.output[0])
    other = inline(imp, a["else_branch"], [], n.output[0])
    c = imp.op(_sub(n, 0), "cast", [imp.t(n.input[0])], dtype="bool")
    return [imp.op(_sub(n, 10 + k), "where", [c, _entry(imp, n, 2 * k, t),
                                              _entry(imp, n, 2 * k + 1, e)])
            for k, (t, e) in enumerate(zip(then, other))]


def _loop(imp, n):
    body = _attrs(n)["body"]
    trip = imp.value(n.input[0]) if n.input[0] else None
    if trip is None:
        raise MXNetError(f"ONNX import: Loop {n.output[0]!r} needs a constant trip count "
                         "(kiln unrolls loops)")
    cond = np.asarray(imp.value(n.input[1])).astype(bool) if len(n.input) > 1 and n.input[1] \
        else np.array(True)
    carried = [imp.t(i) if i not in imp.static else np.asarray(imp.static[i])
               for i in n.input[2:]]
    n_carried = len(carried)
    scans = None
    for it in range(int(np.asarray(trip).reshape(-1)[0])):
        if not bool(cond.reshape(-1)[0]):
            break
        outs = inline(imp, body, [np.array(it, np.int64), cond] + carried, n.output[0])
        if not isinstance(outs[0], np.ndarray):
            raise MXNetError(f"ONNX import: Loop {n.output[0]!r}: the condition depends on "
                             "run-time data (kiln unrolls loops with a constant exit)")
        cond, carried = outs[0].astype(bool), outs[1:1 + n_carried]
        step = [_entry(imp, n, 10 * it + k, v) for k, v in enumerate(outs[1 + n_carried:])]
        scans = [[s] for s in step] if scans is None else [p + [s] for p, s in zip(scans, step)]
    finals = [_entry(imp, n, 9000 + k, v) for k, v in enumerate(carried)]
    stacked = [imp.op(_sub(n, 500 + k), "stack", s, axis=0, num_args=len(s))
               for k, s in enumerate(scans or [])]
    if len(n.output) > n_carried and not scans:
        raise MXNetError(f"ONNX import: Loop {n.output[0]!r} runs no iteration but has scan "
                         "outputs (empty tensors of unknown shape)")
    return finals + stacked


def _scan(imp, n):
    a = _attrs(n)
    if imp.opset < 9:
        return _scan8(imp, n, a)
    m = int(a["num_scan_inputs"])
    n_state = len(n.input) - m
    seqs = n.input[n_state:]
    ranks = [imp.rank(s) for s in seqs]
    in_axes = [ax % r for ax, r in zip(a.get("scan_input_axes", [0] * m), ranks)]
    lens = {imp.shape(s)[ax] for s, ax in zip(seqs, in_axes)}
    if len(lens) != 1:
        raise MXNetError(f"ONNX import: Scan {n.output[0]!r}: scan inputs of lengths {lens}")
    return _unroll(imp, n, a, [imp.t(i) for i in n.input[:n_state]], [imp.t(s) for s in seqs],
                   lens.pop(), in_axes, list(a.get("scan_input_directions", [0] * m)), ranks)


def _scan8(imp, n, a):
    """Scan-8: a leading batch axis on every state and scan input (scan axis 1), an optional
    ``sequence_lens`` first input. Unrolled per batch element, results stacked on axis 0;
    ``sequence_lens`` must be constant and equal to the scan length (shorter sequences would
    leave the steps past their end undefined in ONNX's reference)."""
    m = int(a["num_scan_inputs"])
    states_in, seqs = n.input[1:len(n.input) - m], n.input[len(n.input) - m:]
    T = imp.shape(seqs[0])[1]
    N = imp.shape(seqs[0])[0]
    if n.input[0]:
        lens = np.asarray(imp.value(n.input[0])).reshape(-1)
        if np.any(lens != T):
            raise MXNetError(f"ONNX import: Scan-8 {n.output[0]!r}: sequence_lens {lens} "
                             f"shorter than the scan length {T} are not supported")
    dirs = list(a.get("directions", [0] * m))

    def row(name, b, k):
        r = imp.rank(name)
        e = imp.op(_sub(n, 200000 + 1000 * b + 2 * k), "slice", [imp.t(name)],
                   begin=(b,) + (None,) * (r - 1), end=(b + 1,) + (None,) * (r - 1))
        if r == 1:   # kiln's squeeze would keep one axis
            return imp.op(_sub(n, 200001 + 1000 * b + 2 * k), "reshape", [e], shape=()), 0
        return imp.op(_sub(n, 200001 + 1000 * b + 2 * k), "squeeze", [e], axis=(0,)), r - 1
    finals, scans = [], []
    for b in range(N):
        states = [row(s, b, k)[0] for k, s in enumerate(states_in)]
        rows = [row(s, b, 100 + k) for k, s in enumerate(seqs)]
        outs = _unroll(imp, n, a, states, [e for e, _ in rows], T, [0] * m, dirs,
                       [r for _, r in rows], base=10 ** 7 * (b + 1))
        finals.append(outs[:len(states)])
        scans.append(outs[len(states):])
    finals = [imp.op(_sub(n, 300000 + k), "stack", [f[k] for f in finals], axis=0,
                     num_args=N) for k in range(len(states_in))]
    return finals + [imp.op(_sub(n, 310000 + k), "stack", [s[k] for s in scans], axis=0,
                            num_args=N) for k in range(len(scans[0]) if scans else 0)]


def _unroll(imp, n, a, states, seqs, T, in_axes, in_dirs, ranks, base=0):
    """The body applied T times: states carried, each scan input's step sliced along its
    axis; returns the final states then the scan outputs stacked along their axes."""
    body = a["body"]
    n_state = len(states)
    per_step = []
    for t in range(T):
        elems = []
        for j, (s, ax, d, r) in enumerate(zip(seqs, in_axes, in_dirs, ranks)):
            idx = T - 1 - t if d else t
            begin, end = [None] * r, [None] * r
            begin[ax], end[ax] = idx, idx + 1
            e = imp.op(_sub(n, base + 100000 + 100 * t + 2 * j), "slice", [s],
                       begin=tuple(begin), end=tuple(end))
            # kiln's squeeze keeps one axis (MXNet's rule): a 1-D input's step is reshaped
            elems.append(imp.op(_sub(n, base + 100001 + 100 * t + 2 * j), "squeeze", [e],
                                axis=(ax,)) if r > 1 else
                         imp.op(_sub(n, base + 100001 + 100 * t + 2 * j), "reshape", [e],
                                shape=()))
        outs = [_entry(imp, n, base + 100 * t + k, v)
                for k, v in enumerate(inline(imp, body, states + elems, n.output[0]))]
        states, step = outs[:n_state], outs[n_state:]
        per_step.append(step)
    k_out = len(per_step[0]) if per_step else 0
    out_axes = list(a.get("scan_output_axes", [0] * k_out))
    out_dirs = list(a.get("scan_output_directions", [0] * k_out))
    stacked = []
    for j in range(k_out):
        seq = [p[j] for p in per_step]
        seq = seq[::-1] if out_dirs[j] else seq
        stacked.append(imp.op(_sub(n, base + 900 + j), "stack", seq, axis=int(out_axes[j]),
                              num_args=len(seq)))
    return states + stacked


CONVERTERS = {"If": _if, "Loop": _loop, "Scan": _scan}
