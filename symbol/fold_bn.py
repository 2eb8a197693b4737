"""Predict-mode BatchNorm folded into the convolution that feeds it (compiled graphs only).

In predict mode ``BatchNorm(conv(x, W, b))`` is an affine map per output channel:
``conv(x, W) * s + (beta - mean * s + b * s)`` with ``s = gamma / sqrt(var + eps)`` (gamma = 1
with ``fix_gamma``). The fold replaces the pair by one ``_conv_affine_act(x, W, s, shift)``
(ndarray/ops/conv_fused.py), which applies ``s`` and the shift to the convolution's output in
place: a pass over the activations, where scaling the weight (``conv(x, W * s, shift)``, what
this pass did before for every layer) is a pass over the weights on every call, ten times more
data in ResNet-18 (the folded graph recomputes ``s`` from the current parameters each call, so
it never goes stale as a fold into constants would after a training step: one ``_bn_fold``
node gives ``s`` and the shift). Where the weight
is the smaller of the two (large maps at small batches) the weight is scaled instead and the
op gets the literal scale 1. Then a ReLU (or MobileNetV2's ReLU6, ``clip(x, 0, 6)``), and a
residual ``add`` followed by a ReLU, that read only the folded result join it
(``act_type="relu"``, the ``residual`` input): ResNet's ``relu(bn(conv(x)) + shortcut)`` is
one op, its elementwise work done in place on the convolution's output. Exported graphs keep
BatchNorm (the ONNX export folds it itself, into initializers: export/onnx_passes.py).

Folded only when nothing else reads the convolution's output, the statistics are the moving
ones (predict mode or ``use_global_stats``), the normalized axis is the channel axis and every
array is float32 or float64 (BatchNorm computes float16 in float32).
"""
import math

import numpy as np

from ..ndarray._registry import Aval
from .graph import Node, is_entry

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def fold_into_conv(node, inputs, uses):
    """The replacement entries of ``node`` (a ``batch_norm`` with its rewritten ``inputs``)
    folded into the convolution it reads, or None. ``uses``: reads per original entry."""
    attrs = node.attrs
    if (node.op.name != "batch_norm" or attrs.get("output_mean_var")
            or (attrs.get("_train") and not attrs.get("use_global_stats"))
            or int(attrs.get("axis", 1)) != 1 or not all(is_entry(i) for i in inputs[:5])):
        return None
    conv, k = inputs[0]
    if (conv.kind != "op" or conv.op.name != "convolution" or k != 0
            or uses.get((node.inputs[0][0].id, node.inputs[0][1])) != 1):
        return None
    data, weight = conv.inputs[0], conv.inputs[1]
    has_bias = not conv.attrs.get("no_bias") and len(conv.inputs) > 2 and is_entry(conv.inputs[2])
    entries = [data, weight, *inputs[1:5]] + ([conv.inputs[2]] if has_bias else [])
    avals = [_aval(e) for e in entries] + [_aval(inputs[0])]
    if any(a is None or np.dtype(a.dtype) not in _FLOATS for a in avals) or \
            len({np.dtype(a.dtype) for a in avals}) != 1:
        return None
    make = _Maker(node)
    # scale = gamma / sqrt(var + eps) and shift = beta - mean * scale (+ bias * scale) in one op
    scale, shift = make.outputs("_bn_fold", *inputs[1:5], *([conv.inputs[2]] if has_bias else []),
                                eps=float(attrs.get("eps", 1e-3)),
                                fix_gamma=bool(attrs.get("fix_gamma", True)))
    conv_attrs = {k: v for k, v in conv.attrs.items() if k in _AFFINE_ATTRS}
    w_shape = _aval(weight).shape
    if math.prod(w_shape) < math.prod(_aval(inputs[0]).shape):
        # a weight smaller than the output (large maps, small batches: MobileNet's early
        # layers) is the cheaper side to scale: the op then gets the literal scale 1
        per_filter = make("reshape", scale, shape=(w_shape[0],) + (1,) * (len(w_shape) - 1))
        weight, scale = make("multiply", weight, per_filter), 1.0
    return [make("_conv_affine_act", data, weight, scale, shift, **conv_attrs)]


_AFFINE_ATTRS = ("kernel", "stride", "dilate", "pad", "num_filter", "num_group", "layout")


def _only_reader(node, k, inputs, uses, residual_ok):
    """``inputs[k]`` when it is a ``_conv_affine_act`` result with no activation (and, unless
    ``residual_ok``, no residual) yet, which only ``node`` reads; else None."""
    src = inputs[k]
    if not is_entry(src) or not is_entry(node.inputs[k]):
        return None
    fused, j = src
    if (fused.kind != "op" or fused.op.name != "_conv_affine_act" or j != 0
            or fused.attrs.get("act_type") or (len(fused.inputs) > 4 and not residual_ok)
            or uses.get((node.inputs[k][0].id, node.inputs[k][1])) != 1):
        return None
    return fused


def fold_epilogue(node, inputs, uses):
    """The replacement entries of ``node`` (a ReLU or ReLU6, or an ``add`` of same-shaped
    arrays) folded into the ``_conv_affine_act`` it reads, or None."""
    name = node.op.name
    act = _activation(node)
    if act is not None:
        fused = _only_reader(node, 0, inputs, uses, True)
        if fused is None:
            return None
        return [_Maker(node)("_conv_affine_act", *fused.inputs,
                             **dict(fused.attrs, act_type=act))]
    if name != "add" or len(inputs) != 2:
        return None
    for k in (1, 0):  # either operand may be the residual (ResNet V1: residual + body(x))
        fused, other = _only_reader(node, k, inputs, uses, False), inputs[1 - k]
        if fused is not None and is_entry(other) and _aval(other) is not None and (
                tuple(_aval(other).shape), np.dtype(_aval(other).dtype)) == (
                tuple(fused.avals[0].shape), np.dtype(fused.avals[0].dtype)):
            return [_Maker(node)("_conv_affine_act", *fused.inputs, other, **fused.attrs)]
    return None


def _activation(node):
    """``"relu"`` or ``"relu6"`` when ``node`` is that activation (ReLU6 as MobileNetV2 writes
    it: ``clip(x, 0, 6)``), else None."""
    name = node.op.name
    if name == "relu" or (name == "activation" and node.attrs.get("act_type") == "relu"):
        return "relu"
    if name == "clip" and _number(node.attrs.get("a_min")) == 0 and \
            _number(node.attrs.get("a_max")) == 6:
        return "relu6"
    return None


def _number(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _aval(entry):
    node, i = entry
    return None if node.avals is None else node.avals[i]


class _Maker:
    """New op nodes standing for ``like`` (its block path and user line), avals inferred."""

    def __init__(self, like):
        self.like, self.count = like, 0

    def __call__(self, op_name, *inputs, **attrs):
        return self.outputs(op_name, *inputs, **attrs)[0]

    def outputs(self, op_name, *inputs, **attrs):
        """Every output entry of the new node."""
        from ..ndarray._registry import OPS
        op = OPS[op_name]
        in_avals = [_aval(i) if is_entry(i) else i for i in inputs]
        out = op.infer(*in_avals, **attrs)
        outs = (out,) if isinstance(out, Aval) else tuple(out)
        self.count += 1
        node = Node("op", op, inputs, attrs, name=f"{self.like.name}_fold{self.count}",
                    avals=outs, block=self.like.block, source=self.like.source)
        return [(node, k) for k in range(len(outs))]
