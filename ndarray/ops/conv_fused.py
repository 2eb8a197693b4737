"""``_conv_affine_act``: convolution, per-filter scale and shift, residual add and ReLU in one op.

Compiled graphs substitute it (symbol/fold_bn.py) for a predict-mode BatchNorm after a
convolution, then fold the ReLU and the residual add that read only its result (ResNet's
``relu(bn(conv(x)) + shortcut)``). Applying the BatchNorm's scale to the convolution's output
(``conv(x, W) * scale + shift``) instead of its weight (``conv(x, W * scale)``) makes a pass
over the activations, which in ResNet-18's later stages are 10-150x smaller than the weights
that a weight fold rescales on every call (the weights may change between calls, so the fold
cannot be cached); where the weight is the smaller (large maps at small batches) the fold
scales it and passes the literal scale 1. Scale, shift, residual and ReLU are applied in place
on the convolution's fresh output, block by block where the convolution cuts its batch into
blocks (one per core, ``_conv_gemm._forward_blocks``) while each block is in cache: no
activation-sized temporaries.

Its gradient treats it as the convolution by the scaled weight ``W * scale`` (what the weight
fold computed), so training with frozen statistics keeps the folded graph's costs.
"""
import numpy as np

from .. import ops as F
from .._registry import REQUIRED, Aval, Sample, register
from ._rules import check_param_dtypes, check_shapes
from ._samples import away, pos, rnd
from ._xp import relu
from .conv import Geom, _conv_core, _conv_grad, _conv_onnx, _conv_param_shapes, _conv_ref, im

_CONV_ATTRS = ("kernel", "stride", "dilate", "pad", "num_filter", "num_group", "layout")
ACTS = (None, "relu", "relu6")   # relu6: clip(y, 0, 6), MobileNetV2's activation


def _per_filter(v, n):
    return v.reshape((1, -1) + (1,) * n)


def _is_one(scale):
    """The literal scale 1 of a fold that scaled the weight instead (symbol/fold_bn.py)."""
    return isinstance(scale, (int, float)) and scale == 1


def epilogue(xp, y, scale, shift, residual=None, act_type=None):
    """In place on ``y (N, F, *O)``: ``act(y * scale + shift + residual)``; returns ``y``."""
    n = y.ndim - 2
    if not _is_one(scale):
        y *= _per_filter(scale, n)
    y += _per_filter(shift, n)
    if residual is not None:
        y += residual
    if act_type == "relu":
        relu(xp, y, out=y)
    elif act_type == "relu6":
        xp.clip(y, 0, 6, out=y)
    return y


def _kernel(xp, data, weight, scale, shift, residual=None, kernel=REQUIRED, stride=(),
            dilate=(), pad=(), num_filter=REQUIRED, num_group=1, act_type=None, layout=None,
            **_):
    """``act(convolution(data, weight) * scale + shift + residual)``, per output channel.

    ``data (N, C, *S)``, ``weight (num_filter, C/num_group, *kernel)``, ``scale`` and ``shift``
    ``(num_filter,)`` (``scale`` may be the number 1: the fold scaled the weight instead),
    ``residual`` (optional) of the output's shape ``(N, num_filter, *O)``; ``act_type``: None,
    ``"relu"`` or ``"relu6"`` (``clip(y, 0, 6)``).

    Example::

        >>> y = nd._conv_affine_act(x, w, s, b, r, kernel=(3, 3), pad=(1, 1), num_filter=8,
        ...                         act_type="relu")
    """
    if act_type not in ACTS:
        raise ValueError(f"_conv_affine_act: act_type must be one of {ACTS}, got {act_type!r}")
    arrays = {"weight": weight, "scale": None if _is_one(scale) else scale, "shift": shift,
              "residual": residual}
    if any(a is not None and a.dtype != data.dtype for a in arrays.values()):
        check_param_dtypes(data, **arrays)
    geo = Geom(kernel, stride, dilate, pad, data.ndim)
    im.check_layout(layout, geo.n, "_conv_affine_act")

    def on_block(y, lo, hi):  # y: a block of the fresh output, still in cache
        epilogue(xp, y, scale, shift, None if residual is None else residual[lo:hi], act_type)
    # the same epilogue as data: the convolution kernel may apply it itself (_conv_gemm)
    on_block.affine = (None if _is_one(scale) else scale, shift, residual, act_type)
    return _conv_core(xp, data, weight, geo, int(num_group), epilogue=on_block)


def _infer(data, weight, scale, shift, residual=None, kernel=REQUIRED, stride=(), dilate=(),
           pad=(), num_filter=REQUIRED, num_group=1, **_):
    scale = None if _is_one(scale) else scale
    check_param_dtypes(data, weight=weight, scale=scale, shift=shift, residual=residual)
    geo = Geom(kernel, stride, dilate, pad, len(data.shape))
    f = int(num_filter)
    out = (data.shape[0], f) + geo.conv_out(data.shape[2:])
    want_w = (f, data.shape[1] // int(num_group)) + geo.k
    check_shapes("_conv_affine_act", weight=(weight, want_w), scale=(scale, (f,)),
                 shift=(shift, (f,)), residual=(residual, None if residual is None else out))
    return Aval(out, np.dtype(data.dtype))


def _grad(ins, outs, gouts, act_type=None, **attrs):
    # as the convolution by W * scale: d/dW = d/d(W s) * s, d/ds = sum over W * d/d(W s)
    x, w, s = ins[:3]
    has_residual = len(ins) > 4 and ins[4] is not None
    gz = gouts[0]
    if act_type == "relu":
        gz = F._relu_backward(gz, outs[0])
    elif act_type == "relu6":
        # clip's gradient passes where 0 <= z <= 6, the ends included; the clipped output
        # cannot tell z = 0 from z < 0, so the pre-activation z is computed again (a
        # gradient through a folded predict-mode graph only: frozen-statistics fine-tuning)
        z = F._conv_affine_act(*ins, **attrs)
        gz = gz * F.greater_equal(z, 0.0) * F.lesser_equal(z, 6.0)
    n = len(w.shape) - 2
    if _is_one(s):
        gx, gw, _ = _conv_grad((x, w, None), None, (gz,), no_bias=True, **_conv_attrs(attrs))
        gs = None
    else:
        s_w = F.reshape(s, shape=(-1,) + (1,) * (n + 1))
        gx, gws, _ = _conv_grad((x, F.multiply(w, s_w), None), None, (gz,), no_bias=True,
                                **_conv_attrs(attrs))
        gw = F.multiply(gws, s_w)
        gs = F.sum(F.multiply(gws, w), axis=tuple(range(1, n + 2)))
    gb = F.sum(gz, axis=(0,) + tuple(range(2, n + 2)))
    return (gx, gw, gs, gb) + ((gz,) if has_residual else (None,) * (len(ins) - 4))


def _conv_attrs(attrs):
    return {k: attrs[k] for k in _CONV_ATTRS if k in attrs}


def _onnx(g, i, a, o, act_type=None, **attrs):
    n = len(a[0].shape) - 2
    y = _conv_onnx(g, list(i[:2]) + [None], a, o, no_bias=True, **_conv_attrs(attrs))
    per_filter = g.ints([1, -1] + [1] * n)
    if not _is_one(i[2]):
        y = g.op("Mul", y, g.op("Reshape", i[2], per_filter))
    y = g.op("Add", y, g.op("Reshape", i[3], per_filter))
    if len(i) > 4 and i[4] is not None:
        y = g.op("Add", y, i[4])
    if act_type == "relu6":
        dt = o[0].dtype
        return g.op("Clip", y, g.const(np.asarray(0, dt)), g.const(np.asarray(6, dt)))
    return g.op("Relu", y) if act_type == "relu" else y


def _ref(x, w, s, b, r=None, act_type=None, **attrs):
    y = _conv_ref(x, w, None, no_bias=True, **_conv_attrs(attrs))
    y = y * (1 if _is_one(s) else _per_filter(s, x.ndim - 2)) + _per_filter(b, x.ndim - 2)
    if r is not None:
        y = y + r
    if act_type == "relu6":
        return np.clip(y, 0, 6)
    return np.maximum(y, 0) if act_type == "relu" else y


_SAMPLES = [
    # residual and relu, as in a ResNet block (inputs away from the kink at 0: gradients)
    Sample(rnd(2, 3, 5, 5), rnd(4, 3, 3, 3, salt=1), pos(4, salt=2), rnd(4, salt=3),
           away(2, 4, 5, 5, salt=4), kernel=(3, 3), pad=(1, 1), num_filter=4, act_type="relu"),
    Sample(rnd(2, 4, 5, 5), rnd(4, 2, 3, 3, salt=1), rnd(4, salt=2), rnd(4, salt=3),
           kernel=(3, 3), stride=(2, 2), pad=(1, 1), num_filter=4, num_group=2),
    Sample(rnd(2, 3, 7), rnd(2, 3, 3, salt=1), pos(2, salt=2), rnd(2, salt=3), kernel=(3,),
           stride=(2,), dilate=(2,), num_filter=2),
    # relu6 (MobileNetV2): outputs on both clipped sides and between (scale 4 spreads them)
    Sample(rnd(2, 3, 5, 5), rnd(4, 3, 3, 3, salt=1), pos(4, salt=2) * 4, rnd(4, salt=3) * 4,
           kernel=(3, 3), pad=(1, 1), num_filter=4, act_type="relu6"),
    Sample(rnd(2, 4, 1, 1), rnd(6, 4, 3, 3, salt=1), pos(6, salt=2), rnd(6, salt=3),
           kernel=(3, 3), pad=(1, 1), num_filter=6, act_type="relu"),
    # the weight already scaled (symbol/fold_bn.py on large maps): the literal scale 1
    Sample(rnd(1, 2, 6, 6), rnd(3, 2, 3, 3, salt=1), 1.0, rnd(3, salt=3),
           away(1, 3, 6, 6, salt=4), kernel=(3, 3), pad=(1, 1), num_filter=3, act_type="relu"),
]

def _param_shapes(data, kernel=REQUIRED, num_filter=REQUIRED, num_group=1, **_):
    """The convolution's ``weight``; the folded BatchNorm's ``scale`` and ``shift`` per filter
    (``scale`` may also be the literal 1 where the weight carries it)."""
    f = int(num_filter)
    weight = _conv_param_shapes(data, kernel, f, num_group, True)["weight"]
    return {"weight": weight, "scale": (f,), "shift": (f,)}


_conv_affine_act = register(
    "_conv_affine_act", _kernel, inputs=("data", "weight", "scale", "shift", "residual?"),
    attrs={"kernel": REQUIRED, "stride": (), "dilate": (), "pad": (), "num_filter": REQUIRED,
           "num_group": 1, "act_type": None, "layout": None},
    infer=_infer, grad=_grad, onnx=_onnx, ref=_ref, samples=_SAMPLES, save_outputs=True,
    param_shapes=_param_shapes)



# ---- the folded BatchNorm's per-filter scale and shift ----------------------------------------
def _bn_fold_kernel(xp, gamma, beta, mean, var, bias=None, eps=1e-3, fix_gamma=True):
    """``(scale, shift)`` of a predict-mode BatchNorm folded into the convolution before it:
    ``scale = gamma / sqrt(var + eps)`` (``gamma`` read as 1 with ``fix_gamma``), ``shift =
    beta - mean * scale`` (``+ bias * scale`` with the convolution's bias). All ``(F,)``.

    One op for what were five (add, rsqrt, two products, a difference) per BatchNorm: the fold
    recomputes them on every call from the current parameters.

    Example::

        >>> scale, shift = nd._bn_fold(gamma, beta, mean, var, eps=1e-5, fix_gamma=False)
    """
    scale = 1 / xp.sqrt(var + xp.asarray(eps, var.dtype))
    if not fix_gamma:
        scale *= gamma
    shift = beta - mean * scale
    if bias is not None:
        shift += bias * scale
    return scale, shift


def _bn_fold_infer(gamma, beta, mean, var, bias=None, eps=1e-3, fix_gamma=True):
    check_param_dtypes(var, gamma=gamma, beta=beta, mean=mean, bias=bias)
    n = tuple(var.shape)
    check_shapes("_bn_fold", gamma=(gamma, n), beta=(beta, n), mean=(mean, n),
                 bias=(bias, None if bias is None else n))
    out = Aval(n, np.dtype(var.dtype))
    return out, out


def _bn_fold_grad(ins, outs, gouts, eps=1e-3, fix_gamma=True):
    gamma, beta, mean, var = ins[:4]
    bias = ins[4] if len(ins) > 4 else None
    scale = outs[0]
    gs, gsh = gouts
    # shift = beta + (bias - mean) * scale: the shift's gradient reaches the scale too
    offset = F.negative(mean) if bias is None else F.subtract(bias, mean)
    gscale = gsh * offset if gs is None else gs + gsh * offset
    gvar = gscale * scale * (-0.5) / (var + eps)   # d/dv g (v + eps)^-1/2
    ggamma = None if fix_gamma else gscale * scale / gamma
    grads = [ggamma, gsh, F.negative(gsh * scale), gvar]
    return grads + ([gsh * scale] if bias is not None else [])


def _bn_fold_onnx(g, i, a, o, eps=1e-3, fix_gamma=True):
    dt = o[0].dtype
    scale = g.op("Reciprocal", g.op("Sqrt", g.op("Add", i[3], g.const(np.asarray(eps, dt)))))
    if not fix_gamma:
        scale = g.op("Mul", scale, i[0])
    shift = g.op("Sub", i[1], g.op("Mul", i[2], scale))
    if len(i) > 4 and i[4] is not None:
        shift = g.op("Add", shift, g.op("Mul", i[4], scale))
    return scale, shift


def _bn_fold_ref(gamma, beta, mean, var, bias=None, eps=1e-3, fix_gamma=True):
    scale = (1.0 if fix_gamma else gamma) / np.sqrt(var + eps)
    shift = beta - mean * scale + (0 if bias is None else bias * scale)
    return scale, shift


def _bn_fold_param_shapes(gamma, **_):
    """Every input is per filter, as ``gamma`` (the op's first input) is."""
    n = tuple(gamma.shape)
    return {"beta": n, "moving_mean": n, "moving_var": n, "bias": n}


_bn_fold = register(
    "_bn_fold", _bn_fold_kernel, inputs=("gamma", "beta", "moving_mean", "moving_var", "bias?"),
    attrs={"eps": 1e-3, "fix_gamma": True}, num_outputs=2, save_outputs=True,
    param_shapes=_bn_fold_param_shapes,
    infer=_bn_fold_infer, grad=_bn_fold_grad, onnx=_bn_fold_onnx, ref=_bn_fold_ref,
    samples=[Sample(pos(5), rnd(5, salt=1), rnd(5, salt=2), pos(5, salt=3), eps=1e-5,
                    fix_gamma=False),
             Sample(pos(4), rnd(4, salt=1), rnd(4, salt=2), pos(4, salt=3), rnd(4, salt=4)),
             Sample(pos(3), rnd(3, salt=1), rnd(3, salt=2), pos(3, salt=3), rnd(3, salt=4),
                    eps=1e-3, fix_gamma=False)])
