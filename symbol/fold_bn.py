"""Predict-mode BatchNorm folded into the convolution that feeds it (compiled graphs only).

In predict mode ``BatchNorm(conv(x, W, b))`` is an affine map per output channel:
``conv(x, W) * s + (beta - mean * s + b * s)`` with ``s = gamma / sqrt(var + eps)`` (gamma = 1
with ``fix_gamma``). So it equals ``conv(x, W * s, shift)``: the convolution with its weight
scaled per output channel and a bias. The folded graph computes the scaled weight on each call
from the current parameters (a pass over the weight, (C,) vectors for the rest) instead of two
passes over the activations and an activation-sized array; it never goes stale, as a fold into
constants would after a training step. Exported graphs keep BatchNorm (the ONNX export folds it
itself, into initializers: export/onnx_passes.py).

Folded only when nothing else reads the convolution's output, the statistics are the moving
ones (predict mode or ``use_global_stats``), the normalized axis is the channel axis and every
array is float32 or float64 (BatchNorm computes float16 in float32).
"""
import numpy as np

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
    gamma, beta, mean, var = inputs[1:5]
    make = _Maker(node)
    scale = make("rsqrt", make("add", var, float(attrs.get("eps", 1e-3))))
    if not attrs.get("fix_gamma", True):
        scale = make("multiply", scale, gamma)
    ndim = len(_aval(weight).shape)
    per_filter = make("reshape", scale, shape=(_aval(scale).shape[0],) + (1,) * (ndim - 1))
    shift = make("subtract", beta, make("multiply", mean, scale))
    if has_bias:
        shift = make("add", shift, make("multiply", conv.inputs[2], scale))
    folded = make("convolution", data, make("multiply", weight, per_filter), shift,
                  **dict(conv.attrs, no_bias=False))
    return [folded]


def _aval(entry):
    node, i = entry
    return None if node.avals is None else node.avals[i]


class _Maker:
    """New op nodes standing for ``like`` (its block path and user line), avals inferred."""

    def __init__(self, like):
        self.like, self.count = like, 0

    def __call__(self, op_name, *inputs, **attrs):
        from ..ndarray._registry import OPS
        op = OPS[op_name]
        in_avals = [_aval(i) if is_entry(i) else i for i in inputs]
        out = op.infer(*in_avals, **attrs)
        self.count += 1
        node = Node("op", op, inputs, attrs, name=f"{self.like.name}_fold{self.count}",
                    avals=(out,), block=self.like.block, source=self.like.source)
        return (node, 0)
