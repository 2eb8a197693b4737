"""Chains of folded convolutions joined into one ``_conv_chain`` op (compiled graphs only).

After BatchNorm folding (symbol/fold_bn.py) a MobileNet's predict graph is a line of
``_conv_affine_act`` nodes, depthwise and pointwise in turn, each reading only its
predecessor's result. Where onnxruntime's blocked (NCHWc) kernels are present and every
stage suits them (``_ort_nchwc_chain.stage_fits``: block-sized channels, enough positions),
such a line becomes one ``_conv_chain`` node that runs in one session with the activations
kept in blocked layout between the stages (ndarray/ops/conv_chain.py). A stage joins only
when nothing else reads its data (the previous stage's result), so no intermediate result
is lost; a residual may come from anywhere. Off without the kernels (the graph is left as
it is) and for float64 (the kernels are float32).
"""
import numpy as np

from ..ndarray import _ort_nchwc_chain as chain
from ..ndarray._registry import OPS
from ..ndarray.ops.conv_chain import internal, stage_inputs
from .graph import Node, is_entry

_LAYOUTS = (None, "NCHW")


def _aval(entry):
    node, i = entry
    return None if node.avals is None else node.avals[i]


def _prescaled(w, s, uses):
    """``(weight, scale)`` before fold_bn's ``multiply(weight, reshape(scale))`` (the literal
    scale 1 then stands for it), when only this convolution reads that product: the chain's
    weight reorder multiplies the scale in with no pass of its own. Else ``(w, s)``."""
    if not (is_entry(w) and not is_entry(s) and w[1] == 0 and w[0].kind == "op"
            and w[0].op.name == "multiply" and uses.get((w[0].id, 0)) == 1):
        return w, s
    weight, per_filter = w[0].inputs[:2]
    if not (is_entry(per_filter) and per_filter[0].kind == "op"
            and per_filter[0].op.name == "reshape" and is_entry(per_filter[0].inputs[0])):
        return w, s
    scale = per_filter[0].inputs[0]
    if scale[0].kind != "op" or scale[0].op.name != "_bn_fold" or scale[1] != 0:
        return w, s
    return weight, scale


def _stage(node, inputs, uses):
    """``(stage tuple, params)`` of a ``_conv_affine_act`` node that can be a chain stage
    (``inputs``: its rewritten inputs), or None."""
    a = node.attrs
    data, w, s, b = inputs[:4]
    w, s = _prescaled(w, s, uses)
    r = inputs[4] if len(inputs) > 4 else None
    arrays = [data, w, b] + ([s] if is_entry(s) else []) + ([r] if r is not None else [])
    if a.get("layout") not in _LAYOUTS or not all(is_entry(e) for e in arrays):
        return None
    avals = [_aval(e) for e in arrays] + [node.avals[0] if node.avals else None]
    if any(v is None or np.dtype(v.dtype) != np.float32 for v in avals):
        return None
    if not is_entry(s) and not (isinstance(s, (int, float)) and s == 1):
        return None
    x, wt, out = avals[0], avals[1], avals[-1]
    g = int(a.get("num_group", 1))
    if not chain.stage_fits(tuple(x.shape), tuple(wt.shape), tuple(a.get("stride") or (1, 1)),
                            tuple(a.get("dilate") or (1, 1)), tuple(a.get("pad") or (0, 0)),
                            g, tuple(out.shape)):
        return None
    stage = (tuple(a["kernel"]), tuple(a.get("stride") or (1, 1)),
             tuple(a.get("dilate") or (1, 1)), tuple(a.get("pad") or (0, 0)),
             int(a["num_filter"]), g, a.get("act_type"), is_entry(s), r is not None)
    params = [w] + ([s] if is_entry(s) else []) + [b] + ([r] if r is not None else [])
    return stage, params


def _as_chain(entry, uses):
    """``(data, stages, params)`` of the chain (or single stage) that computes ``entry``, or
    None."""
    node, k = entry
    if k != 0 or node.kind != "op":
        return None
    if node.op.name == "_conv_chain":
        return node.inputs[0], tuple(node.attrs["stages"]), list(node.inputs[1:])
    if node.op.name != "_conv_affine_act":
        return None
    found = _stage(node, node.inputs, uses)
    return None if found is None else (node.inputs[0], (found[0],), found[1])


def chain_visitor(uses):
    """``passes.rewrite``'s visit joining chains, or None without the kernels (the graph is
    then left as it is); ``uses``: reads per entry of the graph as given (``passes._uses``:
    rewrite copies nodes, so ids are the original ones)."""
    if not _kernels_present():
        return None

    def visit(node, inputs):
        if node.kind != "op" or node.op.name != "_conv_affine_act" or not is_entry(inputs[0]):
            return None
        if uses.get((node.inputs[0][0].id, node.inputs[0][1])) != 1:
            return None   # the data is read elsewhere too: it must stay NCHW
        head = _as_chain(inputs[0], uses)
        found = _stage(node, inputs, uses)
        if head is None or found is None:
            return None
        data, stages, params = head
        stage, more = found
        stages, params = _rebase(stages + (stage,), params + more, data, 0)
        return [(_chain_node(node, data, stages, params), 0)]
    return visit


def merge_visitor(uses):
    """``passes.rewrite``'s visit joining a chain to the chain whose result is its data when
    nothing else reads that result: its other reads, a residual block's input added back,
    become the chain's own value (``("h", j)``). ``uses``: reads per entry of the graph as
    given (the joined one)."""
    def visit(node, inputs):
        if node.kind != "op" or node.op.name != "_conv_chain" or not is_entry(inputs[0]):
            return None
        head = inputs[0]
        first = head[0]
        if head[1] != 0 or first.kind != "op" or first.op.name != "_conv_chain":
            return None
        reads = sum(1 for i in inputs if _same(i, head))
        if uses.get((node.inputs[0][0].id, node.inputs[0][1])) != reads:
            return None
        first_stages = tuple(first.attrs["stages"])
        stages, params = _rebase(tuple(node.attrs["stages"]), list(inputs[1:]), head,
                                 len(first_stages))
        return [(_chain_node(node, first.inputs[0], first_stages + stages,
                             list(first.inputs[1:]) + params), 0)]
    return visit


def _same(a, b):
    return is_entry(a) and a[0] is b[0] and a[1] == b[1]


def _rebase(stages, params, data, offset):
    """``(stages, params)`` of a chain whose data ``data`` is the value ``h_offset`` of a
    longer one: residual inputs that are ``data`` become ``("h", offset)``, the chain's own
    values ``("h", j)`` become ``("h", j + offset)``."""
    new_stages, new_params = [], []
    for stage, (w, s, b, r) in zip(stages, stage_inputs(params, stages)):
        residual = stage[8]
        if internal(residual) is not None:
            residual = ("h", internal(residual) + offset)
        elif residual and _same(r, data):
            residual = ("h", offset)
        new_stages.append(stage[:8] + (residual,))
        new_params += [w] + ([s] if stage[7] else []) + [b] + ([r] if residual is True else [])
    return tuple(new_stages), new_params


def _chain_node(like, data, stages, params):
    op = OPS["_conv_chain"]
    inputs = (data, *params)
    attrs = {"stages": stages}
    avals = op.infer(*[_aval(i) for i in inputs], **attrs)
    return Node("op", op, inputs, attrs, name=like.name, avals=(avals,), block=like.block,
                source=like.source)


def _kernels_present():
    from ..ndarray import _ort_nchwc
    return _ort_nchwc.block()[0] > 0
