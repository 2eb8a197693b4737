"""MXNet's ``UpSampling`` (NCHW): nearest neighbour, or bilinear through a deconvolution.

``nearest`` repeats each pixel ``scale`` times along both spatial axes; with several inputs,
the first one's upsampled size is the target and every other input is repeated up to it
(its own integer factor), then they are concatenated along channels (``multi_input_mode=
'concat'``) or summed (``'sum'``). ``bilinear`` takes ``(data, weight)`` and is the depthwise
deconvolution MXNet runs: kernel ``2 * scale - scale % 2``, stride ``scale``, pad
``ceil((scale - 1) / 2)``, one group per channel, no bias; weight (C, 1, k, k).
"""
import math

import numpy as np

from ...base import OpError
from .. import ops as F
from .._registry import OPS, REQUIRED, Aval, Sample, register
from ._samples import rnd

_ATTRS = {"scale": REQUIRED, "num_filter": 0, "sample_type": REQUIRED,
          "multi_input_mode": "concat", "num_args": 1, "workspace": 512}


def _deconv_attrs(channels, scale):
    s = int(scale)
    k = 2 * s - s % 2
    p = math.ceil((s - 1) / 2)
    return dict(kernel=(k, k), stride=(s, s), pad=(p, p), num_filter=channels,
                num_group=channels, no_bias=True)


def _factors(shapes, scale, mode):
    """The repeat factor of each input, checking that they line up."""
    for s in shapes:
        if len(s) != 4:
            raise OpError(f"UpSampling: inputs must be NCHW (4 axes), got shapes {shapes}")
    h, w = shapes[0][2] * int(scale), shapes[0][3] * int(scale)
    facs = []
    for s in shapes:
        if s[0] != shapes[0][0] or h % s[2] or w % s[3] or h // s[2] != w // s[3]:
            raise OpError(f"UpSampling: input {s} cannot be upsampled to {(h, w)} by one integer "
                          f"factor (inputs {shapes}, scale {scale})")
        if mode == "sum" and s[1] != shapes[0][1]:
            raise OpError(f"UpSampling: multi_input_mode='sum' needs equal channels, got {shapes}")
        facs.append(h // s[2])
    return facs, (h, w)


def _infer(*data, scale, sample_type, num_filter=0, multi_input_mode="concat", **_):
    shapes = [tuple(d.shape) for d in data]
    if sample_type == "bilinear":
        if len(shapes) != 2:
            raise OpError(f"UpSampling: bilinear takes (data, weight), got {len(shapes)} inputs")
        c = shapes[0][1]
        att = _deconv_attrs(c, scale)
        if shapes[1] != (c, 1) + att["kernel"]:
            raise OpError(f"UpSampling: bilinear weight must have shape {(c, 1) + att['kernel']}"
                          f" for data {shapes[0]} and scale {scale}, got {shapes[1]}")
        return OPS["deconvolution"].infer(data[0], data[1], None, **att)
    if sample_type != "nearest":
        raise OpError(f"UpSampling: sample_type must be 'nearest' or 'bilinear', got "
                      f"{sample_type!r}")
    _, (h, w) = _factors(shapes, scale, multi_input_mode)
    c = shapes[0][1] if multi_input_mode == "sum" else sum(s[1] for s in shapes)
    return Aval((shapes[0][0], c, h, w), np.result_type(*[d.dtype for d in data]))


def _kernel(xp, *data, **attrs):
    a = {**{k: v for k, v in _ATTRS.items() if v is not REQUIRED}, **attrs}
    _infer(*data, **a)
    if a["sample_type"] == "bilinear":
        att = _deconv_attrs(data[0].shape[1], a["scale"])
        return OPS["deconvolution"].kernel(xp, data[0], data[1], None, **att)
    facs, _ = _factors([d.shape for d in data], a["scale"], a["multi_input_mode"])
    ups = [xp.repeat(xp.repeat(d, f, axis=2), f, axis=3) for d, f in zip(data, facs)]
    if a["multi_input_mode"] == "sum":
        return sum(ups[1:], ups[0])
    return xp.concatenate(ups, axis=1)


def _grad(ins, outs, gouts, **attrs):
    a = {**{k: v for k, v in _ATTRS.items() if v is not REQUIRED}, **attrs}
    g = gouts[0]
    if a["sample_type"] == "bilinear":
        att = _deconv_attrs(ins[0].shape[1], a["scale"])
        return OPS["deconvolution"].grad((ins[0], ins[1], None), outs, gouts, **att)[:2]
    facs, _ = _factors([tuple(d.shape) for d in ins], a["scale"], a["multi_input_mode"])
    grads, start = [], 0
    for d, f in zip(ins, facs):
        n, c, h, w = d.shape
        gi = g if a["multi_input_mode"] == "sum" else F.slice_axis(g, axis=1, begin=start,
                                                                    end=start + c)
        start += c
        # every input pixel fed an f x f block: sum the block's gradients
        grads.append(F.sum(F.reshape(gi, shape=(n, c, h, f, w, f)), axis=(3, 5)))
    return tuple(grads)


def _onnx(g, i, a, o, **attrs):
    at = {**{k: v for k, v in _ATTRS.items() if v is not REQUIRED}, **attrs}
    if at["sample_type"] == "bilinear":
        att = _deconv_attrs(a[0].shape[1], at["scale"])
        return OPS["deconvolution"].onnx(g, [i[0], i[1], None], [a[0], a[1], None], o, **att)
    facs, (h, w) = _factors([tuple(x.shape) for x in a], at["scale"], at["multi_input_mode"])
    ups = []
    for x, av, f in zip(i, a, facs):
        n, c, hi, wi = av.shape
        blocks = g.op("Expand", g.op("Reshape", x, g.ints([n, c, hi, 1, wi, 1])),
                      g.ints([n, c, hi, f, wi, f]))
        ups.append(g.op("Reshape", blocks, g.ints([n, c, h, w])))
    if at["multi_input_mode"] == "sum":
        out = ups[0]
        for u in ups[1:]:
            out = g.op("Add", out, u)
        return out
    return ups[0] if len(ups) == 1 else g.op("Concat", *ups, axis=1)


def _ref(*data, **attrs):
    if attrs["sample_type"] == "bilinear":
        return OPS["deconvolution"].ref(data[0], data[1], None,
                                        **_deconv_attrs(data[0].shape[1], attrs["scale"]))
    h = data[0].shape[2] * attrs["scale"]
    ups = [np.kron(d, np.ones((h // d.shape[2],) * 2)) for d in data]
    return sum(ups) if attrs.get("multi_input_mode") == "sum" else np.concatenate(ups, 1)


up_sampling = register(
    "up_sampling", _kernel, inputs=("*data",), attrs=dict(_ATTRS), infer=_infer, grad=_grad,
    onnx=_onnx, ref=_ref, aliases=("UpSampling",), amp="lp16",
    ignored=("workspace",),
    samples=[Sample(rnd(1, 2, 2, 3), scale=2, sample_type="nearest"),
             Sample(rnd(2, 2, 2, 2), rnd(2, 1, 1, 1, salt=5), scale=2, sample_type="nearest",
                    num_args=2),
             Sample(rnd(1, 2, 2, 2), rnd(1, 2, 4, 4, salt=5), scale=2, sample_type="nearest",
                    num_args=2, multi_input_mode="sum"),
             Sample(rnd(1, 2, 3, 3), rnd(2, 1, 4, 4, salt=5), scale=2, sample_type="bilinear",
                    num_filter=2, num_args=2),
             Sample(rnd(1, 2, 2, 2), rnd(2, 1, 5, 5, salt=5), scale=3, sample_type="bilinear",
                    num_filter=2, num_args=2)],
    doc="""Upsample NCHW images by ``scale`` (MXNet ``UpSampling``): ``sample_type='nearest'``
    repeats pixels (several inputs are brought to the first one's output size, then
    concatenated along channels or summed by ``multi_input_mode``); ``'bilinear'`` takes
    ``(data, weight)`` with weight (C, 1, 2s - s % 2, 2s - s % 2) and runs MXNet's depthwise
    deconvolution (stride s). Output (N, C', H * s, W * s).

    Example::

        >>> nd.UpSampling(nd.ones((1, 1, 2, 2)), scale=2, sample_type='nearest').shape
        (1, 1, 4, 4)
    """)


def _learn_bilinear_weight(ins, sample_type="nearest", scale=1, **_):
    """Backward shape inference, as MXNet's: a bilinear UpSampling's weight shape follows from
    its data, ``(C, 1, k, k)`` with ``k = 2 scale - scale % 2`` (``ins``: the inputs' avals,
    None where unknown; returns the learnt avals)."""
    if sample_type != "bilinear" or len(ins) != 2 or ins[0] is None or ins[1] is not None:
        return list(ins)
    att = _deconv_attrs(ins[0].shape[1], scale)
    return [ins[0], Aval((ins[0].shape[1], 1) + att["kernel"], ins[0].dtype)]


# the hook symbol inference calls for inputs it cannot name (the weight is a variadic input)
up_sampling.op.learn_input_avals = _learn_bilinear_weight
