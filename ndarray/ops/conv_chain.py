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
fold scaled its weight: the literal scale 1); ``residual`` False (none), True (an input of
its own) or ``("h", j)``: the chain's own value ``h_j`` (``h_0`` the data, ``h_k`` stage
``k - 1``'s result), as a MobileNetV2 or ResNet block adds its input back.
``params``: per stage ``weight``, ``scale`` (if scaled), ``shift``, ``residual`` (if True).

Example::

    >>> y = nd._conv_chain(x, w1, s1, b1, w2, b2, stages=(
    ...     ((3, 3), (1, 1), (1, 1), (1, 1), 16, 16, "relu", True, False),
    ...     ((1, 1), (1, 1), (1, 1), (0, 0), 32, 1, "relu6", False, False)))
"""
import functools

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


def internal(residual):
    """``j`` when a stage's ``residual`` field is the chain's own ``("h", j)``, else None."""
    return residual[1] if isinstance(residual, tuple) else None


def stage_inputs(params, stages):
    """Per stage ``(weight, scale or the literal 1.0, shift, residual)``: the residual an
    input, None, or ``("h", j)`` (the chain's value ``h_j``)."""
    out, k = [], 0
    for stage in stages:
        scaled, residual = stage[7], stage[8]
        w = params[k]
        s = params[k + 1] if scaled else 1.0
        k += 2 if scaled else 1
        b = params[k]
        k += 1
        r = None
        if internal(residual) is not None:
            r = tuple(residual)
        elif residual:
            r = params[k]
            k += 1
        out.append((w, s, b, r))
    if k != len(params):
        raise ValueError(f"_conv_chain: {len(params)} parameter inputs for {len(stages)} "
                         f"stages that take {k}")
    return out


def _route_stages(xp, data, per_stage, stages):
    """``_ort_nchwc_chain.forward``'s stages, or None where that route does not apply."""
    if xp.__name__ != "numpy":
        return None
    shapes = tuple(None if r is None or internal(st[8]) is not None else tuple(r.shape)
                   for (_, _, _, r), st in zip(per_stage, stages))
    geometry = _geometry(tuple(data.shape), tuple(tuple(w.shape) for w, *_ in per_stage),
                         shapes, stages)
    if geometry is None:
        return None
    route = [(w, None if caa._is_one(s) else s, b, r, stage[6], stride, pad)
             for (w, s, b, r), stage, (stride, pad) in zip(per_stage, stages, geometry)]
    return route if chain.suits(data, route) else None


@functools.lru_cache(maxsize=256)
def _geometry(data_shape, w_shapes, residual_shapes, stages):
    """Per stage ``(stride, pad)`` where every stage fits the blocked route by its shapes
    (``_ort_nchwc_chain.stage_fits``, residuals of the stage's output shape), else None.
    Shapes alone decide, so a compiled graph's call asks once (41 stages: ~0.9 ms a call)."""
    out_shapes, geometry = [data_shape], []
    for w_shape, r_shape, stage in zip(w_shapes, residual_shapes, stages):
        shape = out_shapes[-1]
        geo = Geom(stage[0], stage[1], stage[2], stage[3], len(shape))
        out = shape[:1] + (int(stage[4]),) + geo.conv_out(shape[2:])
        j = internal(stage[8])
        if j is not None:
            r_shape = out_shapes[j]
        if not chain.stage_fits(shape, w_shape, geo.s, geo.d, geo.p, int(stage[5]), out) or \
                (stage[8] and r_shape != out):
            return None
        geometry.append((geo.s, geo.p))
        out_shapes.append(out)
    return tuple(geometry)


def _residual(stage, r, hs):
    """A stage's residual value: ``hs[j]`` for the chain's own ``("h", j)``, else ``r``."""
    j = internal(stage[8])
    return r if j is None else hs[j]


def _kernel(xp, data, *params, stages=REQUIRED):
    """``_conv_affine_act`` of each stage in turn over ``data (N, C, H, W)``; see the
    module docstring for ``params`` and ``stages``."""
    per_stage = stage_inputs(params, stages)
    route = _route_stages(xp, data, per_stage, stages)
    if route is not None:
        return chain.forward(data, route)
    return _through(functools.partial(caa._kernel, xp), data, per_stage, stages)[-1]


def _through(fn, data, per_stage, stages):
    """``[h_0, h_1, ...]``: ``data``, then ``fn(h, weight, scale, shift, residual,
    **attributes)`` of each stage in turn (a kernel, ``infer``, a reference, graph ops)."""
    hs = [data]
    for (w, s, b, r), stage in zip(per_stage, stages):
        hs.append(fn(hs[-1], w, s, b, _residual(stage, r, hs), **stage_attrs(stage)))
    return hs


def _infer(data, *params, stages=REQUIRED):
    return _through(caa._infer, data, stage_inputs(params, stages), stages)[-1]


def _grad(ins, outs, gouts, stages=REQUIRED):
    per_stage = stage_inputs(ins[1:], stages)
    # each stage's data: the chain's intermediates, computed again
    hs = _through(F._conv_affine_act, ins[0], per_stage[:-1], stages[:-1]) + [outs[0]]
    g, grads = gouts[0], [None] * len(stages)
    into = {}   # h_j -> the gradient its residual uses sent it
    for k in reversed(range(len(stages))):
        w, s, b, r = per_stage[k]
        if k + 1 in into:
            g = g + into.pop(k + 1)
        res = _residual(stages[k], r, hs)
        stage_ins = (hs[k], w, s, b) + (() if res is None else (res,))
        gx, gw, gs, gb, *gr = caa._grad(stage_ins, (hs[k + 1],), (g,),
                                        **stage_attrs(stages[k]))
        j = internal(stages[k][8])
        if j is not None:
            into[j] = gr[0] if j not in into else into[j] + gr[0]
        grads[k] = [gw] + ([gs] if stages[k][7] else []) + [gb] + \
            (gr[:1] if stages[k][8] is True else [])
        g = gx
    if 0 in into:
        g = g + into.pop(0)
    return (g,) + tuple(x for stage_grads in grads for x in stage_grads)


def _onnx(g, i, a, o, stages=REQUIRED):
    names = stage_inputs(list(i[1:]), stages)
    avals = stage_inputs(list(a[1:]), stages)
    hs, h_avals = [i[0]], [a[0]]
    for (w, s, b, r), (wa, sa, ba, ra), stage in zip(names, avals, stages):
        ra = _residual(stage, ra, h_avals)
        out = caa._infer(h_avals[-1], wa, sa, ba, ra, **stage_attrs(stage))
        names_in = [hs[-1], w, s, b, _residual(stage, r, hs)]
        hs.append(caa._onnx(g, names_in, [h_avals[-1], wa, sa, ba, ra], [out],
                            **stage_attrs(stage)))
        h_avals.append(out)
    return hs[-1]


def _ref(x, *params, stages=REQUIRED):
    return _through(caa._ref, x, stage_inputs(params, stages), stages)[-1]


def _inverted_params(salt):
    """expand 4 -> 6 (weight, shift), depthwise 3x3 (weight, shift), project 6 -> 4
    (weight, scale, shift)."""
    return (rnd(6, 4, 1, 1, salt=salt + 1), rnd(6, salt=salt + 2), rnd(6, 1, 3, 3, salt=salt + 3),
            rnd(6, salt=salt + 4), rnd(4, 6, 1, 1, salt=salt + 5), pos(4, salt=salt + 6),
            rnd(4, salt=salt + 7))


def _inverted_stages(j):
    """The stages of ``_inverted_params``, the project adding the chain's value ``h_j``."""
    return (((1, 1), (1, 1), (1, 1), (0, 0), 6, 1, "relu6", False, False),
            ((3, 3), (1, 1), (1, 1), (1, 1), 6, 6, "relu6", False, False),
            ((1, 1), (1, 1), (1, 1), (0, 0), 4, 1, None, True, ("h", j)))


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
    # an inverted residual block twice (MobileNetV2): each adds its own input, h_0 and h_3
    Sample(rnd(2, 4, 5, 5), *_inverted_params(0), *_inverted_params(10),
           stages=_inverted_stages(0) + _inverted_stages(3)),
]

_conv_chain = register(
    "_conv_chain", _kernel, inputs=("data", "*params"), attrs={"stages": REQUIRED},
    infer=_infer, grad=_grad, onnx=_onnx, ref=_ref, samples=_SAMPLES, save_outputs=True)
