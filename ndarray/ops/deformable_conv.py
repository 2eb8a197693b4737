"""MXNet 1.9's ``contrib.DeformableConvolution`` (Dai et al. 2017) and
``contrib.ModulatedDeformableConvolution`` (DCNv2, with a per-tap mask), 2-D, NCHW.

Every kernel tap (i, j) of every output position reads the input at its regular position
plus a learned offset (dy, dx) (``offset`` (N, 2 * dg * kh * kw, OH, OW), pairs (dy, dx)
per deformable group and tap) by bilinear interpolation, zero outside the image (a point
beyond one pixel outside reads 0); the mask (N, dg * kh * kw, OH, OW) scales each tap. The
sampled columns then go through a grouped convolution with ``weight`` (F, C / num_group,
kh, kw). ``_backward_deformable_convolution`` gives the gradients of data, offset, mask,
weight and bias in one pass.
"""
import numpy as np

from ...base import OpError
from .. import ops as F
from .._registry import REQUIRED, Aval, Sample, register
from ._samples import rnd

_NO_ONNX = "ONNX DeformConv (opset 19) is not lowered yet"
_ATTRS = {"kernel": REQUIRED, "stride": (), "dilate": (), "pad": (), "num_filter": REQUIRED,
          "num_group": 1, "num_deformable_group": 1, "workspace": 1024, "no_bias": False,
          "layout": None}


def _geom(data_shape, kernel, stride=(), dilate=(), pad=(), **_):
    if len(data_shape) != 4 or len(tuple(kernel)) != 2:
        raise OpError(f"DeformableConvolution: 2-D only: data (N, C, H, W) and a 2-D kernel, "
                      f"got {data_shape} and kernel={kernel}")
    kh, kw = (int(v) for v in kernel)
    sh, sw = (int(v) for v in (stride or (1, 1)))
    dh, dw = (int(v) for v in (dilate or (1, 1)))
    ph, pw = (int(v) for v in (pad or (0, 0)))
    h, w = data_shape[2:]
    oh, ow = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    return kh, kw, sh, sw, dh, dw, ph, pw, oh, ow


def _infer(data, offset, mask, weight, bias, **a):
    kh, kw, *_, oh, ow = _geom(data.shape, **a)
    n, c = data.shape[:2]
    g, dg, f = int(a.get("num_group", 1)), int(a.get("num_deformable_group", 1)), a["num_filter"]
    want = {"offset": (n, 2 * dg * kh * kw, oh, ow), "weight": (f, c // g, kh, kw)}
    if mask is not None:
        want["mask"] = (n, dg * kh * kw, oh, ow)
    got = {"offset": offset, "weight": weight, "mask": mask}
    for k, shp in want.items():
        if tuple(got[k].shape) != shp:
            raise OpError(f"DeformableConvolution: {k} must be {shp}, got {got[k].shape}")
    if c % g or c % dg or f % g:
        raise OpError("DeformableConvolution: channels and filters must divide by the groups")
    return Aval((n, f, oh, ow), data.dtype)


def _sample(xp, data, offset, a, modulated):
    """The bilinear taps: a list of (flat index, weight, d weight/dy, d weight/dx) per
    corner, all (N, dg, 1, K*P). DCNv1 (MXNet's CPU kernel) reads only points in
    [0, H) x [0, W) and clamps the last row/column; DCNv2 reads points in (-1, H) x (-1, W)
    with zero padding."""
    kh, kw, sh, sw, dh, dw, ph, pw, oh, ow = _geom(data.shape, **a)
    n, c, h, w = data.shape
    dg = int(a.get("num_deformable_group", 1))
    off = offset.reshape(n, dg, kh * kw, 2, oh * ow)
    ky, kx = np.meshgrid(np.arange(kh) * dh, np.arange(kw) * dw, indexing="ij")
    oy, ox = np.meshgrid(np.arange(oh) * sh - ph, np.arange(ow) * sw - pw, indexing="ij")
    y = xp.asarray((ky.reshape(-1, 1) + oy.reshape(1, -1)).astype(data.dtype)) + off[:, :, :, 0]
    x = xp.asarray((kx.reshape(-1, 1) + ox.reshape(1, -1)).astype(data.dtype)) + off[:, :, :, 1]
    lo = -1 if modulated else 0
    valid = (y > lo) & (x > lo) & (y < h) & (x < w) if modulated else \
        (y >= 0) & (x >= 0) & (y < h) & (x < w)
    y0, x0 = xp.floor(y), xp.floor(x)
    ly, lx = y - y0, x - x0
    if not modulated:   # the last row/column reads itself: constant across the strip
        ly, lx = xp.where(y0 >= h - 1, 0, ly), xp.where(x0 >= w - 1, 0, lx)
        y0, x0 = xp.minimum(y0, h - 1), xp.minimum(x0, w - 1)
    out = []
    for cy, cx in ((0, 0), (0, 1), (1, 0), (1, 1)):
        yi, xi = y0 + cy, x0 + cx
        if not modulated:
            yi, xi = xp.minimum(yi, h - 1), xp.minimum(xi, w - 1)
        inside = valid & (yi >= 0) & (yi <= h - 1) & (xi >= 0) & (xi <= w - 1)
        wy, wx = (ly if cy else 1 - ly), (lx if cx else 1 - lx)
        idx = (xp.clip(yi, 0, h - 1) * w + xp.clip(xi, 0, w - 1)).astype(np.int64)
        out.append(tuple(v.reshape(n, dg, 1, -1) for v in
                         (idx, wy * wx * inside, (1.0 if cy else -1.0) * wx * inside,
                          wy * (1.0 if cx else -1.0) * inside)))
    return out


def _columns(xp, data, taps, dg):
    """Sampled values (N, dg, C / dg, K*P) and the per-corner gathered values."""
    n, c, h, w = data.shape
    planes = data.reshape(n, dg, c // dg, h * w)
    vals = [xp.take_along_axis(planes, xp.broadcast_to(i, (n, dg, c // dg, i.shape[-1])), -1)
            for i, *_ in taps]
    return sum(v * t[1] for v, t in zip(vals, taps)), vals


def _forward(xp, data, offset, mask, weight, bias, a):
    a = {**_ATTRS, **a}
    _infer(data, offset, mask, weight, bias, **a)
    kh, kw, *_, oh, ow = _geom(data.shape, **a)
    n, c = data.shape[:2]
    g, dg, f = int(a["num_group"]), int(a["num_deformable_group"]), int(a["num_filter"])
    taps = _sample(xp, data, offset, a, mask is not None)
    cols, vals = _columns(xp, data, taps, dg)                       # (N, dg, C/dg, K*P)
    if mask is not None:
        cols = cols * mask.reshape(n, dg, 1, -1)
    cols_g = cols.reshape(n, g, (c // g) * kh * kw, oh * ow)
    out = xp.einsum("gfk,ngkp->ngfp", weight.reshape(g, f // g, -1), cols_g)
    out = out.reshape(n, f, oh, ow)
    if bias is not None and not a["no_bias"]:
        out = out + bias.reshape(1, f, 1, 1)
    return out.astype(data.dtype), (taps, cols, vals)


def _backward(xp, gout, data, offset, mask, weight, bias, a):
    a = {**_ATTRS, **a}
    kh, kw, *_, oh, ow = _geom(data.shape, **a)
    n, c, h, w = data.shape
    g, dg, f = int(a["num_group"]), int(a["num_deformable_group"]), int(a["num_filter"])
    taps, cols, vals = _forward(xp, data, offset, mask, weight, bias, a)[1]
    go = gout.reshape(n, g, f // g, oh * ow)
    cols_g = cols.reshape(n, g, (c // g) * kh * kw, oh * ow)
    dweight = xp.einsum("ngfp,ngkp->gfk", go, cols_g).reshape(weight.shape)
    dcols = xp.einsum("gfk,ngfp->ngkp", weight.reshape(g, f // g, -1), go)
    dcols = dcols.reshape(n, dg, c // dg, kh * kw * oh * ow)
    dmask = None
    if mask is not None:
        raw = sum(v * t[1] for v, t in zip(vals, taps))
        dmask = (dcols * raw).sum(2).reshape(mask.shape)
        dcols = dcols * mask.reshape(n, dg, 1, -1)
    base = (xp.arange(n * dg * (c // dg)) * (h * w)).reshape(n, dg, c // dg, 1)
    ddata = xp.zeros(n * c * h * w, dtype=data.dtype)
    dy = dx = 0
    for v, (idx, wt, wdy, wdx) in zip(vals, taps):
        flat = (base + idx).reshape(-1)
        ddata = ddata + xp.bincount(flat, weights=(dcols * wt).reshape(-1),
                                    minlength=ddata.size)
        dy = dy + (dcols * v * wdy).sum(2)
        dx = dx + (dcols * v * wdx).sum(2)
    doff = xp.stack([dy.reshape(n, dg, kh * kw, oh * ow), dx.reshape(n, dg, kh * kw, oh * ow)],
                    3).reshape(offset.shape)
    dbias = None if bias is None else gout.sum(axis=(0, 2, 3)).reshape(bias.shape)
    return (ddata.reshape(data.shape).astype(data.dtype), doff.astype(offset.dtype),
            None if dmask is None else dmask.astype(mask.dtype), dweight.astype(weight.dtype),
            None if dbias is None else dbias.astype(bias.dtype))


# ---- the two registry ops and their backward --------------------------------------------------
def _k_plain(xp, data, offset, weight, bias=None, **a):
    return _forward(xp, data, offset, None, weight, bias, a)[0]


def _k_mod(xp, data, offset, mask, weight, bias=None, **a):
    return _forward(xp, data, offset, mask, weight, bias, a)[0]


def _bw_kernel(xp, gout, data, offset, mask, weight, bias=None, modulated=True, **a):
    res = _backward(xp, gout, data, offset, mask if modulated else None, weight, bias, a)
    zero = xp.zeros((1,), dtype=data.dtype)
    # fixed arity: absent inputs (mask, bias) get a (1,) zero placeholder
    return tuple(zero if r is None else r for r in res)


def _bw_infer(gout, data, offset, mask, weight, bias=None, modulated=True, **a):
    one = Aval((1,), data.dtype)
    return (Aval(tuple(data.shape), data.dtype), Aval(tuple(offset.shape), offset.dtype),
            Aval(tuple(mask.shape), mask.dtype) if modulated else one,
            Aval(tuple(weight.shape), weight.dtype),
            Aval(tuple(bias.shape), bias.dtype) if bias is not None else one)


def _grad_plain(ins, outs, gouts, **a):
    data, offset, weight, bias = ins
    dd, do, _, dw, db = F._backward_deformable_convolution(
        gouts[0], data, offset, data, weight, bias, modulated=False, **a)
    return dd, do, dw, (db if bias is not None else None)


def _grad_mod(ins, outs, gouts, im2col_step=64, **a):
    data, offset, mask, weight, bias = ins
    dd, do, dm, dw, db = F._backward_deformable_convolution(
        gouts[0], data, offset, mask, weight, bias, modulated=True, **a)
    return dd, do, dm, dw, (db if bias is not None else None)


def _param_shapes(data, modulated=False, **a):
    """weight, bias, and the offset (and mask) that the data's shape fixes (so a graph
    infers them, as MXNet's)."""
    kh, kw, *_, oh, ow = _geom(tuple(data.shape), **a)
    f, g = int(a["num_filter"]), int(a.get("num_group", 1))
    dg, n = int(a.get("num_deformable_group", 1)), data.shape[0]
    shapes = {"offset": (n, 2 * dg * kh * kw, oh, ow),
              "weight": (f, data.shape[1] // g, kh, kw)}
    if modulated:
        shapes["mask"] = (n, dg * kh * kw, oh, ow)
    if not a.get("no_bias", False):
        shapes["bias"] = (f,)
    return shapes


def _samples(modulated):
    x = rnd(2, 4, 5, 5)
    off = rnd(2, 2 * 2 * 9, 3, 3, lo=-1.3, hi=1.3, salt=41)
    mask = rnd(2, 2 * 9, 3, 3, lo=0.1, hi=1.0, salt=42)
    extra = (mask,) if modulated else ()
    small = rnd(1, 2, 4, 4, salt=43)
    off2 = rnd(1, 2 * 4, 2, 2, lo=-0.9, hi=0.9, salt=44)
    extra2 = (rnd(1, 4, 2, 2, lo=0.2, hi=1.0, salt=45),) if modulated else ()
    return [Sample(x, off, *extra, rnd(6, 2, 3, 3, salt=46), rnd(6, salt=47), kernel=(3, 3),
                   num_filter=6, num_group=2, num_deformable_group=2),
            Sample(small, off2, *extra2, rnd(3, 2, 2, 2, salt=48), kernel=(2, 2), stride=(2, 2),
                   pad=(1, 1), dilate=(2, 2), num_filter=3, no_bias=True)]


_COMMON = dict(no_onnx=_NO_ONNX, param_shapes=_param_shapes, ignored=("workspace", "layout"))

deformable_convolution = register(
    "deformable_convolution", _k_plain, inputs=("data", "offset", "weight", "bias?"),
    attrs=dict(_ATTRS), infer=lambda d, o, w, b=None, **a: _infer(d, o, None, w, b, **a),
    grad=_grad_plain, samples=_samples(False), no_ref="checked against MXNet 1.9.1 in "
    "tests/test_vision_ops.py", aliases=("DeformableConvolution",
                                          "_contrib_DeformableConvolution"), amp="fp32",
    **_COMMON,
    doc="""Deformable 2-D convolution (MXNet ``contrib.DeformableConvolution``): data
    (N, C, H, W), offset (N, 2 * num_deformable_group * kh * kw, OH, OW) (dy, dx) per tap,
    weight (num_filter, C / num_group, kh, kw), bias (num_filter,). Output
    (N, num_filter, OH, OW) with Convolution's output size.

    Example::

        >>> y = nd.contrib.DeformableConvolution(x, offset, w, b, kernel=(3, 3), num_filter=8)
    """)

modulated_deformable_convolution = register(
    "modulated_deformable_convolution", _k_mod,
    inputs=("data", "offset", "mask", "weight", "bias?"),
    attrs={**_ATTRS, "im2col_step": 64}, infer=lambda d, o, m, w, b=None, im2col_step=64,
    **a: _infer(d, o, m, w, b, **a), grad=_grad_mod, samples=_samples(True),
    no_ref="checked against MXNet 1.9.1 in tests/test_vision_ops.py",
    aliases=("ModulatedDeformableConvolution", "_contrib_ModulatedDeformableConvolution"),
    amp=None, no_onnx=_NO_ONNX, ignored=("workspace", "layout", "im2col_step"),
    param_shapes=lambda s, im2col_step=64, **a: _param_shapes(s, True, **a),
    doc="""Modulated deformable 2-D convolution (DCNv2, MXNet
    ``contrib.ModulatedDeformableConvolution``): as ``DeformableConvolution`` with a mask
    (N, num_deformable_group * kh * kw, OH, OW) scaling each sampled tap.

    Example::

        >>> y = nd.contrib.ModulatedDeformableConvolution(x, offset, mask, w, b,
        ...                                               kernel=(3, 3), num_filter=8)
    """)

_backward_deformable_convolution = register(
    "_backward_deformable_convolution", _bw_kernel,
    # not "weight"/"bias": the parameter-shape rule is the forward ops'
    inputs=("grad_out", "data", "offset", "mask", "filters", "shift?"),
    attrs={**_ATTRS, "modulated": True}, infer=_bw_infer, num_outputs=5,
    no_grad="second-order gradients of deformable convolution are not written",
    no_onnx=_NO_ONNX, ignored=("workspace", "layout"),
    no_ref="checked through the deformable convolutions' gradient tests",
    samples=[Sample(rnd(2, 6, 3, 3, salt=49), *_samples(True)[0].inputs, wrt=[0],
                    **_samples(True)[0].attrs)],
    doc="The gradients of (modulated) deformable convolution w.r.t. data, offset, mask "
        "(a (1,) zero when not modulated), weight and bias (a (1,) zero without one).")
