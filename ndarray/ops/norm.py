"""Normalization ops: BatchNorm, LayerNorm, InstanceNorm, GroupNorm, L2Normalization.

Kernels compute in at least float32 and cast back. Gradients are written with registry ops and
recompute the statistics from the inputs, so they are differentiable again (second order).
The shared pieces: ``_moments`` (mean, centred data, biased variance over some axes, keepdims)
and ``_norm_dx`` (the input gradient of ``(x - mean) / sqrt(var + eps)`` given ``g * gamma``).
"""
import numpy as np

from .. import ops as F
from .._ort_kernels import batch_norm_train, layer_norm_rows
from .._registry import STATE, Aval, Sample, register
from . import _bn_kernels as bk
from ._rules import check_param_dtypes, check_shapes, norm_axis
from ._samples import pos, rnd


def _acc(dtype):
    """Accumulation dtype: float16 data is reduced in float32."""
    return np.promote_types(dtype, np.float32)


def _check_dtypes(x, **params):
    """Parameters have the data's dtype, or float32 for float16 data (computed in float32, as
    MXNet's BatchNorm keeps them); anything else raises instead of promoting or truncating.
    Kernels call this only when a parameter's dtype differs from the data's."""
    if np.dtype(x.dtype) == np.float16 and all(
            np.dtype(p.dtype) == np.float32 for p in params.values() if p is not None):
        return
    check_param_dtypes(x, **params)


def _bshape(ndim, axis, size):
    """Shape that broadcasts a per-``axis`` vector of ``size`` against an ndim array."""
    s = [1] * ndim
    s[axis] = size
    return tuple(s)


def _others(ndim, axis):
    return tuple(a for a in range(ndim) if a != axis)


# ---- registry-op building blocks shared by the gradients ----
def _moments(x, axes):
    mu = F.mean(x, axis=axes, keepdims=True)
    xc = x - mu
    return mu, xc, F.mean(xc * xc, axis=axes, keepdims=True)


def _norm_dx(gx, xhat, s, axes):
    """d/dx of normalising over ``axes`` (batch statistics), with ``gx = dL/dxhat``."""
    return s * (gx - F.mean(gx, axis=axes, keepdims=True)
                - xhat * F.mean(gx * xhat, axis=axes, keepdims=True))


def _count(shape, axes):
    return float(np.prod([shape[a] for a in axes])) if axes else 1.0


# ---- ONNX helpers ----
def _onnx_mean(g, x, axes):
    if g.opset >= 18:
        return g.op("ReduceMean", x, g.ints(axes), keepdims=1)
    return g.op("ReduceMean", x, axes=list(axes), keepdims=1)


def _onnx_normalize(g, x, axes, eps, dt):
    """(x - mean) / sqrt(var + eps) over ``axes``; returns (xhat, mean, std), keepdims."""
    mu = _onnx_mean(g, x, axes)
    xc = g.op("Sub", x, mu)
    var = _onnx_mean(g, g.op("Mul", xc, xc), axes)
    std = g.op("Sqrt", g.op("Add", var, g.const(np.asarray(eps, dt))))
    return g.op("Div", xc, std), mu, std


def _onnx_affine(g, y, gamma, beta, bshape):
    y = g.op("Mul", y, g.op("Reshape", gamma, g.ints(bshape)))
    return g.op("Add", y, g.op("Reshape", beta, g.ints(bshape)))


# ---- BatchNorm -----------------------------------------------------------------------------
def _bn_kernel(xp, x, gamma, beta, mm, mv, eps=1e-3, momentum=0.9, fix_gamma=True,
               use_global_stats=False, output_mean_var=False, axis=1, cudnn_off=False,
               min_calib_range=None, max_calib_range=None, _train=False):
    dt = x.dtype
    if gamma.dtype != dt or beta.dtype != dt or mm.dtype != dt or mv.dtype != dt:
        _check_dtypes(x, gamma=gamma, beta=beta, moving_mean=mm, moving_var=mv)
    ax = norm_axis(axis, x.ndim, "BatchNorm")
    if _train and not use_global_stats and not output_mean_var and ax == 1 and \
            x.size >= ORT_MIN_SIZE and xp is np:
        ones = np.ones_like(gamma) if fix_gamma else gamma
        y = batch_norm_train(x, ones, beta, mm, mv, eps, momentum)
        if y is not None:   # onnxruntime's kernel: 3 passes where numpy's take 5
            return y
    flat = bk.Flat(x.astype(_acc(x.dtype), copy=False), ax)
    x2 = flat.data
    if _train and not use_global_stats and x.size:  # an empty batch keeps the statistics
        mean, out, var = bk.centred(xp, flat)   # ``out`` is x - mean, normalized in place below
        # running statistics are updated in the forward pass, with the biased batch variance
        mm[...] = momentum * mm + (1.0 - momentum) * mean
        mv[...] = momentum * mv + (1.0 - momentum) * var
    else:
        mean, var = mm.astype(x2.dtype), mv.astype(x2.dtype)
        out = None
    invstd = 1.0 / xp.sqrt(var + eps)
    scale = invstd if fix_gamma else invstd * gamma
    if out is None:  # x * scale + (beta - mean * scale): two passes
        out = x2 * flat.spread(xp, scale.astype(x2.dtype, copy=False))
        out += flat.spread(xp, (beta - mean * scale).astype(out.dtype, copy=False))
    else:
        out = bk.normalize(xp, flat, out, scale.astype(out.dtype, copy=False),
                           beta.astype(out.dtype, copy=False))
    out = out.reshape(x.shape).astype(x.dtype, copy=False)
    if not output_mean_var:
        return out
    return out, mean.astype(mm.dtype), invstd.astype(mm.dtype)


def _bn_param_shapes(x, axis=1, **_):
    """gamma, beta, moving_mean, moving_var: ``(x.shape[axis],)``."""
    ch = (x.shape[norm_axis(axis, len(x.shape), "BatchNorm")],)
    return {"gamma": ch, "beta": ch, "moving_mean": ch, "moving_var": ch}


def _bn_infer(x, gamma, beta, mm, mv, output_mean_var=False, axis=1, **_):
    _check_dtypes(x, gamma=gamma, beta=beta, moving_mean=mm, moving_var=mv)
    out = Aval(tuple(x.shape), np.dtype(x.dtype))
    want = _bn_param_shapes(x, axis)
    check_shapes("BatchNorm", **{k: (v, want[k]) for k, v in
                                 (("gamma", gamma), ("beta", beta), ("moving_mean", mm),
                                  ("moving_var", mv))})
    if not output_mean_var:
        return out
    c = x.shape[norm_axis(axis, len(x.shape), "BatchNorm")]
    stat = Aval((c,), np.dtype(mm.dtype))
    return out, stat, stat


def _bn_grad(i, o, g, eps=1e-3, momentum=0.9, fix_gamma=True, use_global_stats=False,
             output_mean_var=False, axis=1, _train=False, **_):
    x, gamma, beta, mm, mv = i
    ax = norm_axis(axis, x.ndim, "BatchNorm")
    red = _others(x.ndim, ax)
    bs = _bshape(x.ndim, ax, x.shape[ax])
    gy = g[0]
    batch = _train and not use_global_stats and 0 not in tuple(x.shape)  # as the forward
    if batch and not output_mean_var and (STATE.tracer is not None or not STATE.recording):
        # a first-order gradient (compiled graphs, plain backward): the fused op; under
        # create_graph the registry-op form below is differentiated again
        dx, dgamma, dbeta = _batch_norm_backward(gy, x, gamma, eps=eps, fix_gamma=fix_gamma,
                                                 axis=axis)
        return dx, dgamma, dbeta, None, None
    gam = 1.0 if fix_gamma else F.reshape(gamma, shape=bs)
    if batch:
        _, xc, var = _moments(x, red)
        s = F.rsqrt(var + eps)
        xhat = xc * s
        dx = _norm_dx(gy * gam, xhat, s, red)
        if output_mean_var:  # mean and 1/sqrt(var + eps) outputs of the batch
            n = _count(x.shape, red)
            gm, gs = F.reshape(g[1], shape=bs), F.reshape(g[2], shape=bs)
            dx = dx + gm / n - gs * s * s * s * xc / n
        dmm = dmv = None
    else:  # the moving statistics are inputs like any other
        sv = F.rsqrt(mv + eps)
        s = F.reshape(sv, shape=bs)
        xc = x - F.reshape(mm, shape=bs)
        xhat = xc * s
        dx = gy * gam * s
        dmm = F.negative(F.sum(gy * gam, axis=red)) * sv
        dmv = F.sum(gy * gam * xc, axis=red) * (-0.5 * sv * sv * sv)
        if output_mean_var:
            dmm = dmm + g[1]
            dmv = dmv + g[2] * (-0.5 * sv * sv * sv)
    dbeta = F.sum(gy, axis=red)
    dgamma = F.zeros_like(gamma) if fix_gamma else F.sum(gy * xhat, axis=red)
    # float16 data with float32 statistics (as MXNet keeps them): each gradient in the dtype
    # of what it differentiates, as the forward's output is in the data's
    return tuple(_as_dtype_of(gr, ref) for gr, ref in
                 zip((dx, dgamma, dbeta, dmm, dmv), (x, gamma, beta, mm, mv)))


def _as_dtype_of(grad, ref):
    if grad is None or np.dtype(grad.dtype) == np.dtype(ref.dtype):
        return grad
    return grad.astype(ref.dtype)


def _bn_onnx(g, i, a, o, eps=1e-3, momentum=0.9, fix_gamma=True, output_mean_var=False, axis=1,
             **_):
    x, gamma, beta, mm, mv = i
    nd_ = len(a[0].shape)
    ax = norm_axis(axis, nd_, "BatchNorm")
    if fix_gamma:
        gamma = g.const(np.ones(a[1].shape, a[1].dtype))
    if ax != 1:  # ONNX normalises axis 1: move the channel axis there and back
        perm = [0, ax] + [d for d in range(1, nd_) if d != ax]
        x = g.op("Transpose", x, perm=perm)
    y = g.op("BatchNormalization", x, gamma, beta, mm, mv, epsilon=float(eps),
             momentum=float(momentum))
    if ax != 1:
        y = g.op("Transpose", y, perm=[int(p) for p in np.argsort(perm)])
    if not output_mean_var:
        return y
    eps_c = g.const(np.asarray(eps, a[4].dtype))
    invstd = g.op("Reciprocal", g.op("Sqrt", g.op("Add", mv, eps_c)))
    return [y, g.op("Identity", mm), invstd]


def _bn_ref(x, gamma, beta, mm, mv, eps=1e-3, fix_gamma=True, output_mean_var=False, axis=1,
            **_):
    xm = np.moveaxis(x, axis, -1)                 # channel last: broadcasting does the rest
    gam = np.ones_like(gamma) if fix_gamma else gamma
    out = np.moveaxis((xm - mm) / np.sqrt(mv + eps) * gam + beta, -1, axis)
    return [out, mm, 1 / np.sqrt(mv + eps)] if output_mean_var else out


def _bn_samples():
    x, c3 = rnd(2, 3, 2, 2), (rnd(3, salt=1), rnd(3, salt=2), rnd(3, salt=3), pos(3))
    return [Sample(x, *c3, fix_gamma=False, use_global_stats=True),
            Sample(x, *c3, use_global_stats=True),
            Sample(rnd(4, 3), *c3, fix_gamma=False, use_global_stats=True,
                   output_mean_var=True),
            Sample(rnd(2, 2, 3), *c3, fix_gamma=False, use_global_stats=True, axis=-1),
            # predict-mode call outside autograd, but the gradient test records in train mode
            Sample(x, *c3, fix_gamma=False, grad=False),
            Sample(rnd(2, 3, 2), *c3, fix_gamma=False, output_mean_var=True, axis=1,
                   grad=False)]


batch_norm = register(
    "batch_norm", _bn_kernel, inputs=("data", "gamma", "beta", "moving_mean", "moving_var"),
    attrs={"eps": 1e-3, "momentum": 0.9, "fix_gamma": True, "use_global_stats": False,
           "output_mean_var": False, "axis": 1, "cudnn_off": False, "min_calib_range": None,
           "max_calib_range": None},
    num_outputs=lambda attrs: 3 if attrs.get("output_mean_var") else 1,
    infer=_bn_infer, grad=_bn_grad, onnx=_bn_onnx, ref=_bn_ref, samples=_bn_samples(),
    uses_mode=True, mutates=(3, 4), second_order=True, aliases=("BatchNorm", "BatchNorm_v1"),
    param_shapes=_bn_param_shapes,
    doc="""Batch normalization over every axis but ``axis`` (MXNet ``BatchNorm``).

    In training mode (and not ``use_global_stats``) it normalises with the batch mean and biased
    variance and updates moving_mean/moving_var in place: ``running = momentum * running +
    (1 - momentum) * batch``. Otherwise it uses the moving statistics. ``fix_gamma`` uses
    gamma = 1 (and gives gamma a zero gradient). data: (N, C, ...); gamma, beta, moving_mean,
    moving_var: (C,). Output: like data; with ``output_mean_var`` also the mean and the inverse
    standard deviation 1/sqrt(var + eps), each (C,).

    Example::

        >>> c = nd.ones(3)
        >>> nd.BatchNorm(nd.ones((2, 3)), c, nd.zeros(3), nd.zeros(3), c).shape
        (2, 3)
    """)


# ---- BatchNorm's fused first-order gradient ---------------------------------------------------
def _bnb_kernel(xp, grad, x, gamma, eps=1e-3, fix_gamma=True, axis=1):
    """``(dx, dgamma, dbeta)`` of ``batch_norm`` with batch statistics, in ~9 passes."""
    ax = norm_axis(axis, x.ndim, "_batch_norm_backward")
    return bk.backward(xp, grad, x, gamma, eps, fix_gamma, ax, _acc(x.dtype))


def _bnb_infer(grad, x, gamma, **_):
    g = Aval(tuple(gamma.shape), np.dtype(gamma.dtype))
    return Aval(tuple(x.shape), np.dtype(x.dtype)), g, g


def _bnb_onnx(g, i, a, o, eps=1e-3, fix_gamma=True, axis=1):
    gy, x, gamma = i
    shape, dt = tuple(a[1].shape), a[1].dtype
    ax = norm_axis(axis, len(shape), "_batch_norm_backward")
    red, bs = _others(len(shape), ax), _bshape(len(shape), ax, shape[ax])
    xhat, _, std = _onnx_normalize(g, x, red, eps, dt)
    gx = gy if fix_gamma else g.op("Mul", gy, g.op("Reshape", gamma, g.ints(bs)))
    inner = g.op("Sub", g.op("Sub", gx, _onnx_mean(g, gx, red)),
                 g.op("Mul", xhat, _onnx_mean(g, g.op("Mul", gx, xhat), red)))
    dx = g.op("Div", inner, std)
    dbeta = g.op("ReduceSum", gy, g.ints(red), keepdims=0)
    if fix_gamma:
        dgamma = g.op("Mul", dbeta, g.const(np.zeros((), a[2].dtype)))
    else:
        dgamma = g.op("ReduceSum", g.op("Mul", gy, xhat), g.ints(red), keepdims=0)
    return [dx, dgamma, dbeta]


def _bnb_ref(gy, x, gamma, eps=1e-3, fix_gamma=True, axis=1):
    """The textbook formulas, channel moved last (float64)."""
    xm, gm = np.moveaxis(x, axis, -1), np.moveaxis(gy, axis, -1)
    red = tuple(range(xm.ndim - 1))
    mean, var = xm.mean(red), xm.var(red)
    xhat = (xm - mean) / np.sqrt(var + eps)
    gam = np.ones_like(gamma) if fix_gamma else gamma
    gx = gm * gam
    dx = (gx - gx.mean(red) - xhat * (gx * xhat).mean(red)) / np.sqrt(var + eps)
    dgamma = np.zeros_like(gamma) if fix_gamma else (gm * xhat).sum(red)
    return [np.moveaxis(dx, -1, axis), dgamma, gm.sum(red)]


_batch_norm_backward = register(
    "_batch_norm_backward", _bnb_kernel, inputs=("grad", "data", "scale"),
    attrs={"eps": 1e-3, "fix_gamma": True, "axis": 1}, num_outputs=3,
    infer=_bnb_infer, onnx=_bnb_onnx, ref=_bnb_ref,
    no_grad="the first-order gradient of batch_norm; create_graph differentiates batch_norm's "
            "registry-op gradient instead (second order), compiled graphs differentiate once",
    samples=[Sample(rnd(2, 3, 2, 2, salt=4), rnd(2, 3, 2, 2), rnd(3, salt=1), fix_gamma=False),
             Sample(rnd(4, 3, salt=4), rnd(4, 3), rnd(3, salt=1), eps=1e-5),
             Sample(rnd(2, 2, 3, salt=4), rnd(2, 2, 3), rnd(3, salt=1), fix_gamma=False,
                    axis=-1),
             Sample(rnd(3, 4, 1, 1, salt=4), rnd(3, 4, 1, 1), rnd(4, salt=1), fix_gamma=False)],
    doc="Gradients (data, gamma, beta) of batch_norm with batch statistics (internal); the "
        "input ``scale`` is gamma (not named so: it is no parameter of this op).")


# ---- LayerNorm -----------------------------------------------------------------------------
def _ln_kernel(xp, x, gamma, beta, axis=-1, eps=1e-5, output_mean_var=False):
    if gamma.dtype != x.dtype or beta.dtype != x.dtype:
        _check_dtypes(x, gamma=gamma, beta=beta)
    ax = norm_axis(axis, x.ndim, "LayerNorm")
    if not output_mean_var and ax == x.ndim - 1:
        res = _ln_rows(xp, x, gamma, beta, eps)
        if res is not None:
            return res
    bs = _bshape(x.ndim, ax, x.shape[ax])
    xa = x.astype(_acc(x.dtype), copy=False)
    mean = xa.mean(axis=ax, keepdims=True)
    std = xp.sqrt(xp.square(xa - mean).mean(axis=ax, keepdims=True) + eps)
    out = ((xa - mean) / std * gamma.reshape(bs) + beta.reshape(bs)).astype(x.dtype)
    if not output_mean_var:
        return out
    return out, mean.astype(x.dtype), std.astype(x.dtype)


ORT_MIN_SIZE = 1 << 15   # elements from which onnxruntime's one pass beats numpy's eight


def _ln_rows(xp, x, gamma, beta, eps):
    """LayerNorm over the last axis of a large C-contiguous float32 numpy array through
    onnxruntime's kernel (``_ort_kernels.layer_norm_rows``): a Transformer layer's (4096,
    512) activations 6.6 against 0.7-1.0 ms (2026-12-07). None where it does not apply."""
    # float32 only: onnxruntime's variance is E[x^2] - E[x]^2 in double, as accurate as
    # numpy's float32 passes or better, but in float64 it loses to numpy's two passes (9e-10
    # against 0 for values around 1e6)
    if (xp is not np or x.dtype != np.float32 or x.size < ORT_MIN_SIZE
            or not x.flags.c_contiguous):
        return None
    out = np.empty_like(x)
    n = x.shape[-1]
    done = layer_norm_rows(x.reshape(-1, n), gamma, beta, eps, out.reshape(-1, n))
    return out if done else None


def _ln_param_shapes(x, axis=-1, **_):
    """gamma, beta: ``(x.shape[axis],)``."""
    ch = (x.shape[norm_axis(axis, len(x.shape), "LayerNorm")],)
    return {"gamma": ch, "beta": ch}


def _ln_infer(x, gamma, beta, axis=-1, eps=1e-5, output_mean_var=False):
    _check_dtypes(x, gamma=gamma, beta=beta)
    out = Aval(tuple(x.shape), np.dtype(x.dtype))
    if not output_mean_var:
        return out
    ax = norm_axis(axis, len(x.shape), "LayerNorm")
    stat = Aval(tuple(1 if d == ax else s for d, s in enumerate(x.shape)), np.dtype(x.dtype))
    return out, stat, stat


def _stat_dx(gm, gstd, xc, s, n):
    """Extra input gradient from the mean and std = sqrt(var + eps) outputs (keepdims)."""
    return gm / n + gstd * s * xc / n


def _ln_grad(i, o, g, axis=-1, eps=1e-5, output_mean_var=False):
    x, gamma, beta = i
    ax = norm_axis(axis, x.ndim, "LayerNorm")
    bs, red = _bshape(x.ndim, ax, x.shape[ax]), _others(x.ndim, ax)
    _, xc, var = _moments(x, (ax,))
    s = F.rsqrt(var + eps)
    xhat = xc * s
    gy = g[0]
    dx = _norm_dx(gy * F.reshape(gamma, shape=bs), xhat, s, (ax,))
    if output_mean_var:
        dx = dx + _stat_dx(g[1], g[2], xc, s, float(x.shape[ax]))
    return dx, _wide_sum(gy * xhat, red), _wide_sum(gy, red)


def _wide_sum(t, axes):
    """Sum over ``axes`` accumulated in float64 for narrower floats: the parameter gradients
    add one term per row (4096 rows of a (4096, 512) input lose 2e-4 in float32), where MXNet
    accumulates wider too."""
    return F._sum_wide(t, axis=axes)


def _ln_onnx(g, i, a, o, axis=-1, eps=1e-5, output_mean_var=False):
    x, gamma, beta = i
    shape, dt = tuple(a[0].shape), a[0].dtype
    ax = norm_axis(axis, len(shape), "LayerNorm")
    if g.opset >= 17 and ax == len(shape) - 1 and not output_mean_var:
        return g.op("LayerNormalization", x, gamma, beta, axis=-1, epsilon=float(eps))
    xhat, mu, std = _onnx_normalize(g, x, (ax,), eps, dt)
    y = _onnx_affine(g, xhat, gamma, beta, _bshape(len(shape), ax, shape[ax]))
    return [y, mu, std] if output_mean_var else y


def _ln_ref(x, gamma, beta, axis=-1, eps=1e-5, output_mean_var=False):
    xm = np.moveaxis(x, axis, -1)
    mean = xm.mean(-1, keepdims=True)
    std = np.sqrt(((xm - mean) ** 2).mean(-1, keepdims=True) + eps)
    out = np.moveaxis((xm - mean) / std * gamma + beta, -1, axis)
    if not output_mean_var:
        return out
    return [out, np.moveaxis(mean, -1, axis), np.moveaxis(std, -1, axis)]


layer_norm = register(
    "layer_norm", _ln_kernel, inputs=("data", "gamma", "beta"),
    attrs={"axis": -1, "eps": 1e-5, "output_mean_var": False},
    num_outputs=lambda attrs: 3 if attrs.get("output_mean_var") else 1,
    infer=_ln_infer, grad=_ln_grad, onnx=_ln_onnx, ref=_ln_ref, second_order=True,
    samples=[Sample(rnd(2, 3, 4), rnd(4, salt=1), rnd(4, salt=2)),
             Sample(rnd(2, 3, 4), rnd(3, salt=1), rnd(3, salt=2), axis=1, eps=1e-3),
             Sample(rnd(3, 5), rnd(5, salt=1), rnd(5, salt=2), output_mean_var=True)],
    aliases=("LayerNorm",), param_shapes=_ln_param_shapes,
    doc="""Layer normalization over one axis (MXNet ``LayerNorm``).

    out = (x - mean) / sqrt(var + eps) * gamma + beta, statistics over ``axis``. data: any
    shape; gamma, beta: (data.shape[axis],). Output: like data; with ``output_mean_var`` also
    the mean and std (data's shape with ``axis`` of size 1).

    Example::

        >>> nd.LayerNorm(nd.ones((2, 4)), nd.ones(4), nd.zeros(4)).shape
        (2, 4)
    """, amp="fp32")


# ---- InstanceNorm --------------------------------------------------------------------------
def _in_kernel(xp, x, gamma, beta, eps=1e-3):
    if gamma.dtype != x.dtype or beta.dtype != x.dtype:
        _check_dtypes(x, gamma=gamma, beta=beta)
    red = tuple(range(2, x.ndim))
    bs = _bshape(x.ndim, 1, x.shape[1])
    xa = x.astype(_acc(x.dtype), copy=False)
    mean = xa.mean(axis=red, keepdims=True)
    std = xp.sqrt(xp.square(xa - mean).mean(axis=red, keepdims=True) + eps)
    return ((xa - mean) / std * gamma.reshape(bs) + beta.reshape(bs)).astype(x.dtype)


def _in_param_shapes(x, **_):
    """gamma, beta: ``(C,)``, the channels of ``x (N, C, ...)``."""
    return {"gamma": (x.shape[1],), "beta": (x.shape[1],)}


def _in_infer(x, gamma, beta, eps=1e-3):
    _check_dtypes(x, gamma=gamma, beta=beta)
    return Aval(tuple(x.shape), np.dtype(x.dtype))


def _in_grad(i, o, g, eps=1e-3):
    x, gamma, beta = i
    red = tuple(range(2, x.ndim))
    _, xc, var = _moments(x, red)
    s = F.rsqrt(var + eps)
    xhat = xc * s
    gy = g[0]
    dx = _norm_dx(gy * F.reshape(gamma, shape=_bshape(x.ndim, 1, x.shape[1])), xhat, s, red)
    outer = (0,) + red
    return dx, F.sum(gy * xhat, axis=outer), F.sum(gy, axis=outer)


def _in_ref(x, gamma, beta, eps=1e-3):
    flat = x.reshape(x.shape[0], x.shape[1], -1)
    mean = flat.mean(-1, keepdims=True)
    out = (flat - mean) / np.sqrt(flat.var(-1, keepdims=True) + eps)
    return (out * gamma[:, None] + beta[:, None]).reshape(x.shape)


instance_norm = register(
    "instance_norm", _in_kernel, inputs=("data", "gamma", "beta"), attrs={"eps": 1e-3},
    infer=_in_infer, grad=_in_grad,
    onnx=lambda g, i, a, o, eps=1e-3: g.op("InstanceNormalization", *i, epsilon=float(eps)),
    ref=_in_ref, second_order=True,
    samples=[Sample(rnd(2, 3, 4), rnd(3, salt=1), rnd(3, salt=2)),
             Sample(rnd(1, 2, 3, 3), rnd(2, salt=1), rnd(2, salt=2), eps=1e-5)],
    aliases=("InstanceNorm",), param_shapes=_in_param_shapes,
    doc="""Instance normalization: each (sample, channel) over its spatial axes.

    data: (N, C, ...) with at least 3 dimensions; gamma, beta: (C,). Output: like data.

    Example::

        >>> nd.InstanceNorm(nd.ones((1, 2, 3)), nd.ones(2), nd.zeros(2)).shape
        (1, 2, 3)
    """, amp="fp32")


# ---- GroupNorm -----------------------------------------------------------------------------
def _gn_kernel(xp, x, gamma, beta, num_groups=1, eps=1e-5, output_mean_var=False):
    if gamma.dtype != x.dtype or beta.dtype != x.dtype:
        _check_dtypes(x, gamma=gamma, beta=beta)
    n, grp = x.shape[0], int(num_groups)
    # explicit sizes, not -1: an empty batch (0, C, ...) reshapes too
    xa = x.astype(_acc(x.dtype), copy=False).reshape(n, grp, int(np.prod(x.shape[1:])) // grp)
    mean = xa.mean(axis=2, keepdims=True)
    std = xp.sqrt(xp.square(xa - mean).mean(axis=2, keepdims=True) + eps)
    # MXNet 1.9: gamma and beta hold one value per group
    out = (xa - mean) / std * gamma.reshape(1, grp, 1) + beta.reshape(1, grp, 1)
    out = out.reshape(x.shape).astype(x.dtype)
    if not output_mean_var:
        return out
    return out, mean.reshape(n, grp).astype(x.dtype), std.reshape(n, grp).astype(x.dtype)


def _gn_param_shapes(x, num_groups=1, **_):
    """gamma, beta: ``(num_groups,)``, one per group as in MXNet 1.9."""
    return {"gamma": (int(num_groups),), "beta": (int(num_groups),)}


def _gn_infer(x, gamma, beta, num_groups=1, eps=1e-5, output_mean_var=False):
    _check_dtypes(x, gamma=gamma, beta=beta)
    out = Aval(tuple(x.shape), np.dtype(x.dtype))
    if not output_mean_var:
        return out
    stat = Aval((x.shape[0], int(num_groups)), np.dtype(x.dtype))
    return out, stat, stat


def _gn_grad(i, o, g, num_groups=1, eps=1e-5, output_mean_var=False):
    x, gamma, beta = i
    grp = int(num_groups)
    gshape = (x.shape[0], grp, int(np.prod(x.shape[1:])) // grp)
    xr, gy = F.reshape(x, shape=gshape), F.reshape(g[0], shape=gshape)
    _, xc, var = _moments(xr, (2,))
    s = F.rsqrt(var + eps)
    xhat = xc * s
    dx = _norm_dx(gy * F.reshape(gamma, shape=(1, grp, 1)), xhat, s, (2,))
    if output_mean_var:
        stat = (x.shape[0], grp, 1)
        gm, gstd = F.reshape(g[1], shape=stat), F.reshape(g[2], shape=stat)
        dx = dx + _stat_dx(gm, gstd, xc, s, float(np.prod(x.shape[1:]) / grp))
    return (F.reshape(dx, shape=tuple(x.shape)), F.sum(gy * xhat, axis=(0, 2)),
            F.sum(gy, axis=(0, 2)))


def _gn_onnx(g, i, a, o, num_groups=1, eps=1e-5, output_mean_var=False):
    x, gamma, beta = i
    grp = int(num_groups)
    xr = g.op("Reshape", x, g.ints([0, grp, -1]))
    xhat, mu, std = _onnx_normalize(g, xr, (2,), eps, a[0].dtype)
    y = _onnx_affine(g, xhat, gamma, beta, (1, grp, 1))
    y = g.op("Reshape", y, g.op("Shape", x))
    if not output_mean_var:
        return y
    stat = g.ints([0, grp])
    return [y, g.op("Reshape", mu, stat), g.op("Reshape", std, stat)]


def _gn_ref(x, gamma, beta, num_groups=1, eps=1e-5, output_mean_var=False):
    n = x.shape[0]
    xr = x.reshape(n, num_groups, -1)
    mean, var = xr.mean(-1), xr.var(-1)
    std = np.sqrt(var + eps)
    out = (xr - mean[..., None]) / std[..., None] * gamma[:, None] + beta[:, None]
    out = out.reshape(x.shape)
    return [out, mean, std] if output_mean_var else out


group_norm = register(
    "group_norm", _gn_kernel, inputs=("data", "gamma", "beta"),
    attrs={"num_groups": 1, "eps": 1e-5, "output_mean_var": False},
    num_outputs=lambda attrs: 3 if attrs.get("output_mean_var") else 1,
    infer=_gn_infer, grad=_gn_grad, onnx=_gn_onnx, ref=_gn_ref, second_order=True,
    samples=[Sample(rnd(2, 4, 3), rnd(2, salt=1), rnd(2, salt=2), num_groups=2),
             Sample(rnd(2, 3, 2, 2), rnd(1, salt=1), rnd(1, salt=2), eps=1e-3),
             Sample(rnd(2, 4, 3), rnd(2, salt=1), rnd(2, salt=2), num_groups=2,
                    output_mean_var=True)],
    aliases=("GroupNorm",), param_shapes=_gn_param_shapes,
    doc="""Group normalization: channels split into ``num_groups`` groups per sample.

    data: (N, C, ...) with C divisible by num_groups; gamma, beta: (num_groups,) as in MXNet
    1.9. Output: like data; with ``output_mean_var`` also mean and std, each (N, num_groups).

    Example::

        >>> nd.GroupNorm(nd.ones((2, 4, 3)), nd.ones(2), nd.zeros(2), num_groups=2).shape
        (2, 4, 3)
    """, amp="fp32")


# ---- L2Normalization -----------------------------------------------------------------------
def _l2_axes(ndim, mode):
    if mode == "instance":
        return tuple(range(1, ndim))
    if mode == "channel":
        return (1,)
    if mode == "spatial":
        return tuple(range(2, ndim))
    raise ValueError(f"L2Normalization: mode must be 'instance', 'channel' or 'spatial', "
                     f"got {mode!r}")


def _l2_kernel(xp, x, eps=1e-10, mode="instance"):
    xa = x.astype(_acc(x.dtype), copy=False)
    ss = xp.square(xa).sum(axis=_l2_axes(x.ndim, mode), keepdims=True)
    return (xa / xp.sqrt(ss + eps)).astype(x.dtype)


def _l2_grad(i, o, g, eps=1e-10, mode="instance"):
    x = i[0]
    axes = _l2_axes(x.ndim, mode)
    r = F.rsqrt(F.sum(x * x, axis=axes, keepdims=True) + eps)
    y = x * r
    return (r * (g[0] - y * F.sum(g[0] * y, axis=axes, keepdims=True)),)


def _l2_onnx(g, i, a, o, eps=1e-10, mode="instance"):
    x, dt = i[0], a[0].dtype
    axes = _l2_axes(len(a[0].shape), mode)
    ss = g.op("ReduceSum", g.op("Mul", x, x), g.ints(axes), keepdims=1)
    return g.op("Div", x, g.op("Sqrt", g.op("Add", ss, g.const(np.asarray(eps, dt)))))


def _l2_ref(x, eps=1e-10, mode="instance"):
    if mode == "instance":
        flat = x.reshape(len(x), -1)
        return (flat / np.sqrt((flat ** 2).sum(1, keepdims=True) + eps)).reshape(x.shape)
    if mode == "channel":
        return x / np.sqrt((x ** 2).sum(1, keepdims=True) + eps)
    flat = x.reshape(x.shape[0], x.shape[1], -1)
    return (flat / np.sqrt((flat ** 2).sum(-1, keepdims=True) + eps)).reshape(x.shape)


l2_normalization = register(
    "l2_normalization", _l2_kernel, attrs={"eps": 1e-10, "mode": "instance"},
    infer=lambda x, **_: Aval(tuple(x.shape), np.dtype(x.dtype)), grad=_l2_grad,
    onnx=_l2_onnx, ref=_l2_ref, second_order=True,
    samples=[Sample(rnd(2, 3, 4)), Sample(rnd(2, 3, 4), mode="channel"),
             Sample(rnd(2, 3, 2, 2), mode="spatial", eps=1e-4), Sample(rnd(3, 4))],
    aliases=("L2Normalization",),
    doc="""Divide by the L2 norm: ``out = x / sqrt(sum(x**2) + eps)``.

    ``mode``: 'instance' sums over all axes but the first, 'channel' over axis 1, 'spatial'
    over the axes after the channel axis. Output: like data.

    Example::

        >>> nd.L2Normalization(nd.array([[3., 4.]]))
        [[0.6 0.8]]
    """, amp="fp32")
