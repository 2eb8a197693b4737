"""``_conv_chain``: ``_conv_affine_act`` convolutions applied in turn, as one op.

Compiled predict-mode graphs join a ``_conv_affine_act`` whose data is the result of another
one (or of a chain) that nothing else reads (symbol/conv_chain.py: a MobileNet's depthwise
-> pointwise -> depthwise ... layers). The op runs the whole chain in onnxruntime's blocked
layout where its kernels take every stage (``ndarray/_ort_nchwc_chain.py``: the activations
reordered into channel blocks once, not twice per layer), else each stage by
``_conv_affine_act``'s own kernel; its gradient, export and reference are those of the
stages in turn.

``stages``: one tuple per stage, ``(kernel, stride, dilate, pad, num_filter, num_group,
act_type, scaled, residual)``: ``scaled`` whether the stage has a ``scale`` input (else the
fold scaled its weight: the literal scale 1), ``residual`` whether it has a residual input.
``params``: per stage ``weight``, ``scale`` (if scaled), ``shift``, ``residual`` (if any).

Example::

    >>> y = nd._conv_chain(x, w1, s1, b1, w2, b2, stages=(
    ...     ((3, 3), (1, 1), (1, 1), (1, 1), 16, 16, "relu", True, False),
    ...     ((1, 1), (1, 1), (1, 1), (0, 0), 32, 1, "relu6", False, False)))
"""
from .. import _ort_nchwc_chain as chain
from .. import ops as F
from .._registry import REQUIRED, Sample, register
from . import conv_fused as caa
from ._samples import pos, rnd
from .conv import Geom

_KEYS = ("kernel", "stride", "dilate", "pad", "num_filter", "num_group", "act_type")


def stage_attrs(stage):
    """``_conv_affine_act``'s attributes of one stage."""
    return dict(zip(_KEYS, stage[:7]))


def stage_inputs(params, stages):
    """Per stage ``(weight, scale or the literal 1.0, shift, residual or None)``."""
    out, k = [], 0
    for stage in stages:
        scaled, residual = stage[7], stage[8]
        w = params[k]
        s = params[k + 1] if scaled else 1.0
        k += 2 if scaled else 1
        b = params[k]
        r = params[k + 1] if residual else None
        k += 2 if residual else 1
        out.append((w, s, b, r))
    if k != len(params):
        raise ValueError(f"_conv_chain: {len(params)} parameter inputs for {len(stages)} "
                         f"stages that take {k}")
    return out


def _route_stages(xp, data, per_stage, stages):
    """``_ort_nchwc_chain.forward``'s stages, or None where that route does not apply."""
    if xp.__name__ != "numpy":
        return None
    route, shape = [], tuple(data.shape)
    for (w, s, b, r), stage in zip(per_stage, stages):
        geo = Geom(stage[0], stage[1], stage[2], stage[3], len(shape))
        out = shape[:1] + (int(stage[4]),) + geo.conv_out(shape[2:])
        if not chain.stage_fits(shape, tuple(w.shape), geo.s, geo.d, geo.p, int(stage[5]),
                                out) or (r is not None and tuple(r.shape) != out):
            return None
        route.append((w, None if caa._is_one(s) else s, b, r, stage[6], geo.s, geo.p))
        shape = out
    return route if chain.suits(data, route) else None


def _kernel(xp, data, *params, stages=REQUIRED):
    """``_conv_affine_act`` of each stage in turn over ``data (N, C, H, W)``; see the
    module docstring for ``params`` and ``stages``."""
    per_stage = stage_inputs(params, stages)
    route = _route_stages(xp, data, per_stage, stages)
    if route is not None:
        return chain.forward(data, route)
    y = data
    for (w, s, b, r), stage in zip(per_stage, stages):
        y = caa._kernel(xp, y, w, s, b, r, **stage_attrs(stage))
    return y


def _infer(data, *params, stages=REQUIRED):
    aval = data
    for (w, s, b, r), stage in zip(stage_inputs(params, stages), stages):
        aval = caa._infer(aval, w, s, b, r, **stage_attrs(stage))
    return aval


def _grad(ins, outs, gouts, stages=REQUIRED):
    per_stage = stage_inputs(ins[1:], stages)
    hs = [ins[0]]   # each stage's data: the chain's intermediates, computed again
    for (w, s, b, r), stage in zip(per_stage[:-1], stages[:-1]):
        hs.append(F._conv_affine_act(hs[-1], w, s, b, r, **stage_attrs(stage)))
    g, grads = gouts[0], [None] * len(stages)
    for k in reversed(range(len(stages))):
        w, s, b, r = per_stage[k]
        stage_ins = (hs[k], w, s, b) + (() if r is None else (r,))
        out = outs[0] if k == len(stages) - 1 else hs[k + 1]
        gx, gw, gs, gb, *gr = caa._grad(stage_ins, (out,), (g,), **stage_attrs(stages[k]))
        grads[k] = [gw] + ([gs] if stages[k][7] else []) + [gb] + gr[:1] * bool(stages[k][8])
        g = gx
    return (g,) + tuple(x for stage_grads in grads for x in stage_grads)


def _onnx(g, i, a, o, stages=REQUIRED):
    names = stage_inputs(list(i[1:]), stages)
    avals = stage_inputs(list(a[1:]), stages)
    y, y_aval = i[0], a[0]
    for (w, s, b, r), (wa, sa, ba, ra), stage in zip(names, avals, stages):
        out = caa._infer(y_aval, wa, sa, ba, ra, **stage_attrs(stage))
        y = caa._onnx(g, [y, w, s, b, r], [y_aval, wa, sa, ba, ra], [out],
                      **stage_attrs(stage))
        y_aval = out
    return y


def _ref(x, *params, stages=REQUIRED):
    for (w, s, b, r), stage in zip(stage_inputs(params, stages), stages):
        x = caa._ref(x, w, s, b, r, **stage_attrs(stage))
    return x


_DW = ((3, 3), (1, 1), (1, 1), (1, 1), 4, 4)      # depthwise 3x3 over 4 channels
_PW = ((1, 1), (1, 1), (1, 1), (0, 0), 6, 1)      # pointwise 4 -> 6
_SAMPLES = [
    # depthwise (relu) -> pointwise (relu6), MobileNet style, the second weight pre-scaled
    Sample(rnd(2, 4, 5, 5), rnd(4, 1, 3, 3, salt=1), pos(4, salt=2), rnd(4, salt=3),
           rnd(6, 4, 1, 1, salt=4), rnd(6, salt=5) * 4,
           stages=(_DW + ("relu", True, False), _PW + ("relu6", False, False))),
    # pointwise -> strided 3x3 with a residual, no activation at the end
    Sample(rnd(2, 4, 6, 6), rnd(6, 4, 1, 1, salt=1), pos(6, salt=2), rnd(6, salt=3),
           rnd(5, 6, 3, 3, salt=4), pos(5, salt=5), rnd(5, salt=6), rnd(2, 5, 3, 3, salt=7),
           stages=(_PW + (None, True, False),
                   ((3, 3), (2, 2), (1, 1), (1, 1), 5, 1, None, True, True))),
]

_conv_chain = register(
    "_conv_chain", _kernel, inputs=("data", "*params"), attrs={"stages": REQUIRED},
    infer=_infer, grad=_grad, onnx=_onnx, ref=_ref, samples=_SAMPLES, save_outputs=True)
