"""Convolution and deconvolution (1-D/2-D/3-D, channel-first), and the weight-gradient op.

Forward: im2col as a strided view (``_im2col.windows``) contracted with the weight by one
``tensordot`` (one BLAS GEMM) per group. Deconvolution is the adjoint: one GEMM per group, then a
``col2im`` scatter that loops over kernel offsets only.

Gradients are registry ops, so they work for second order and in graphs:

* d convolution / d data   = deconvolution(grad, weight)     (adj fills the uncovered tail)
* d convolution / d weight = _conv_weight_grad(data, grad)
* d deconvolution / d data = convolution(grad, weight); d / d weight = _conv_weight_grad(grad,
  data). ``_conv_weight_grad`` is bilinear, so its own gradient is again a (de)convolution.
"""
import math

import numpy as np

from .. import ops as F
from .._registry import REQUIRED, Aval, Sample, register
from . import _conv_gemm as cg
from . import _conv_layout
from . import _im2col as im
from ._conv_onnx import onnx_crop
from ._rules import check_param_dtypes, check_shapes
from ._samples import rnd

_IGNORED = ("workspace", "cudnn_tune", "cudnn_off")


class Geom:
    """Per-axis kernel, stride, dilation and padding of a (de)convolution."""

    def __init__(self, kernel, stride, dilate, pad, ndim, op="convolution"):
        n = im.spatial(kernel, ndim, op)
        self.n = n
        self.k = im.tup(kernel, n, 1, "kernel")
        self.s = im.tup(stride, n, 1, "stride")
        self.d = im.tup(dilate, n, 1, "dilate")
        self.p = im.tup(pad, n, 0, "pad")

    def conv_out(self, size):
        return tuple(im.conv_out(x, k, s, d, p)
                     for x, k, s, d, p in zip(size, self.k, self.s, self.d, self.p))

    def deconv_full(self, size):
        """Uncropped deconvolution length: every input position times the dilated kernel."""
        return tuple(s * (x - 1) + d * (k - 1) + 1
                     for x, k, s, d in zip(size, self.k, self.s, self.d))


def _shape(t):
    return tuple(int(v) for v in t)


def _conv_core(xp, data, weight, geo, g, bias=None, epilogue=None):
    """(N, C, *S) x (F, C/g, *K) (+ bias (F,)) -> (N, F, *O); ``epilogue``: in-place work on
    the result's batch blocks (``_conv_gemm.conv_forward``)."""
    sp = _shape(data.shape[2:])
    taps = cg.taps_for(sp, geo.conv_out(sp), geo.k, geo.s, geo.d, geo.p)
    y = _conv_layout.forward(xp, data, weight, taps, g, bias, epilogue)  # MobileNet layers
    return cg.conv_forward(xp, data, weight, taps, g, bias, epilogue) if y is None else y


def _deconv_core(xp, data, weight, geo, adj, g):
    """(N, Cin, *I) x (Cin, F/g, *K) -> (N, F, *O) with O = full - 2 * pad + adj.

    The adjoint of a convolution whose weight is ``weight`` (Cin filters of F/g channels).
    """
    in_sp = _shape(data.shape[2:])
    out = tuple(f - 2 * p + a for f, p, a in zip(geo.deconv_full(in_sp), geo.p, adj))
    taps = cg.taps_for(out, in_sp, geo.k, geo.s, geo.d, geo.p)
    return cg.conv_data_grad(xp, data, weight, taps, out, g)


def _weight_grad_core(xp, data, grad_out, geo, g, out=None):
    """dW[f, c, K] = sum_{n, O} grad_out[n, f, O] * window(data)[n, c, O, K], per group
    (into ``out`` when given)."""
    taps = cg.taps_for(_shape(data.shape[2:]), _shape(grad_out.shape[2:]), geo.k, geo.s,
                       geo.d, geo.p)
    return cg.conv_weight_grad(xp, data, grad_out, taps, g, out)


def _add_bias(y, bias, n):
    """In place: every core above returns a fresh array that aliases no input."""
    y += bias.reshape((1, -1) + (1,) * n)
    return y


# ---- convolution ------------------------------------------------------------------------------
def _conv_kernel(xp, data, weight, bias=None, kernel=REQUIRED, stride=(), dilate=(), pad=(),
                 num_filter=REQUIRED, num_group=1, no_bias=False, layout=None, **_):
    """Convolution over the trailing 1-3 spatial axes (NCW / NCHW / NCDHW).

    ``data (N, C, *S)``, ``weight (num_filter, C/num_group, *kernel)``, ``bias (num_filter,)``;
    out ``(N, num_filter, *O)`` with ``O = (S + 2*pad - dilate*(kernel-1) - 1) // stride + 1``.

    Example::

        >>> y = nd.Convolution(x, w, b, kernel=(3, 3), pad=(1, 1), num_filter=8)
    """
    if weight.dtype != data.dtype or (bias is not None and bias.dtype != data.dtype):
        check_param_dtypes(data, weight=weight, bias=None if no_bias else bias)
    geo = Geom(kernel, stride, dilate, pad, data.ndim)
    im.check_layout(layout, geo.n, "convolution")
    # the kernels add the bias (the depthwise one block by block, while it is in cache)
    return _conv_core(xp, data, weight, geo, int(num_group),
                      None if no_bias else bias)


def _conv_param_shapes(data, kernel=REQUIRED, num_filter=REQUIRED, num_group=1, no_bias=False,
                       **_):
    """``weight (num_filter, C/num_group, *kernel)``, ``bias (num_filter,)``."""
    f = int(num_filter)
    shapes = {"weight": (f, data.shape[1] // int(num_group)) + tuple(int(k) for k in kernel)}
    if not no_bias:
        shapes["bias"] = (f,)
    return shapes


def _conv_infer(data, weight, bias=None, kernel=REQUIRED, stride=(), dilate=(), pad=(),
                num_filter=REQUIRED, num_group=1, no_bias=False, **_):
    check_param_dtypes(data, weight=weight, bias=None if no_bias else bias)
    geo = Geom(kernel, stride, dilate, pad, len(data.shape))
    want = _conv_param_shapes(data, kernel, num_filter, num_group, no_bias)
    check_shapes("Convolution", weight=(weight, want["weight"]),
                 bias=(None if no_bias else bias, want.get("bias")))
    return Aval((data.shape[0], int(num_filter)) + geo.conv_out(data.shape[2:]),
                np.dtype(data.dtype))


def _data_adj(geo, in_sp, out_sp):
    """``adj`` making a deconvolution of ``out_sp`` come back to exactly ``in_sp``."""
    full = geo.deconv_full(out_sp)
    return tuple(x - (f - 2 * p) for x, f, p in zip(in_sp, full, geo.p))


def _conv_grad(ins, outs, gouts, kernel=REQUIRED, stride=(), dilate=(), pad=(),
               num_filter=REQUIRED, num_group=1, no_bias=False, **_):
    x, w, b = ins
    gy = gouts[0]
    geo = Geom(kernel, stride, dilate, pad, len(x.shape))
    adj = _data_adj(geo, x.shape[2:], gy.shape[2:])
    gx = F.deconvolution(gy, w, kernel=geo.k, stride=geo.s, dilate=geo.d, pad=geo.p, adj=adj,
                         num_filter=x.shape[1], num_group=num_group, no_bias=True)
    gw = F._conv_weight_grad(x, gy, kernel=geo.k, stride=geo.s, dilate=geo.d, pad=geo.p,
                             num_group=num_group)
    gb = None
    if b is not None and not no_bias:
        gb = F.sum(gy, axis=(0,) + tuple(range(2, 2 + geo.n)))
    return gx, gw, gb


def _conv_onnx(g, i, a, o, kernel=REQUIRED, stride=(), dilate=(), pad=(), num_group=1,
               no_bias=False, **_):
    geo = Geom(kernel, stride, dilate, pad, len(a[0].shape))
    ins = i[:2] if (no_bias or i[2] is None) else i
    return g.op("Conv", *ins, kernel_shape=list(geo.k), strides=list(geo.s),
                dilations=list(geo.d), pads=list(geo.p) * 2, group=int(num_group))


def _conv_ref(x, w, b=None, kernel=REQUIRED, stride=(), dilate=(), pad=(), num_group=1,
              no_bias=False, **_):
    """Direct convolution: shift-and-multiply per kernel offset and group (no im2col)."""
    geo = Geom(kernel, stride, dilate, pad, x.ndim)
    out = geo.conv_out(x.shape[2:])
    xp_ = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in geo.p])
    fg, cg = w.shape[0] // num_group, w.shape[1]
    y = np.zeros((x.shape[0], w.shape[0]) + out)
    for grp in range(num_group):
        for kidx in np.ndindex(*geo.k):
            sl = xp_[(slice(None), slice(grp * cg, (grp + 1) * cg)) +
                     im.offset_slices(kidx, geo.s, geo.d, out)]
            wk = w[(slice(grp * fg, (grp + 1) * fg), slice(None)) + kidx]
            y[:, grp * fg:(grp + 1) * fg] += np.einsum("nc...,fc->nf...", sl, wk)
    if b is not None and not no_bias:
        y += b.reshape((1, -1) + (1,) * geo.n)
    return y


_CONV_SAMPLES = [
    Sample(rnd(2, 2, 5, 5), rnd(3, 2, 3, 3, salt=1), rnd(3, salt=2), kernel=(3, 3), pad=(1, 1),
           num_filter=3),
    Sample(rnd(2, 2, 5, 5), rnd(4, 1, 3, 3, salt=1), kernel=(3, 3), stride=(2, 2), pad=(1, 1),
           num_filter=4, num_group=2, no_bias=True),
    Sample(rnd(2, 3, 7), rnd(2, 3, 3, salt=1), rnd(2, salt=2), kernel=(3,), stride=(2,),
           dilate=(2,), num_filter=2),
    Sample(rnd(1, 2, 4, 4, 3), rnd(2, 2, 2, 2, 2, salt=1), kernel=(2, 2, 2), stride=(2, 1, 1),
           pad=(1, 0, 1), num_filter=2, no_bias=True),
]

convolution = register(
    "convolution", _conv_kernel, inputs=("data", "weight", "bias?"),
    attrs={"kernel": REQUIRED, "stride": (), "dilate": (), "pad": (), "num_filter": REQUIRED,
           "num_group": 1, "workspace": 1024, "no_bias": False, "cudnn_tune": None,
           "cudnn_off": False, "layout": None},
    infer=_conv_infer, grad=_conv_grad, onnx=_conv_onnx, samples=_CONV_SAMPLES, ref=_conv_ref,
    second_order=True, ignored=_IGNORED, aliases=("Convolution", "Convolution_v1"),
    param_shapes=_conv_param_shapes, amp="lp16")


# ---- deconvolution ----------------------------------------------------------------------------
def _deconv_geom(shape, kernel, stride, dilate, pad, adj, target_shape):
    """Geometry and ``adj``; with ``target_shape`` the padding comes from the target (MXNet)."""
    geo = Geom(kernel, stride, dilate, pad, len(shape), "deconvolution")
    ts = tuple(target_shape or ())
    if ts and any(int(t) for t in ts):
        ts = im.tup(ts, geo.n, 0, "target_shape")
        total = [f - t for f, t in zip(geo.deconv_full(shape[2:]), ts)]
        if min(total) < 0:
            raise ValueError(f"target_shape {ts} is larger than the full output "
                             f"{geo.deconv_full(shape[2:])}")
        geo.p = tuple((t + 1) // 2 for t in total)
        return geo, tuple(t % 2 for t in total)
    return geo, im.tup(adj, geo.n, 0, "adj")


def _deconv_kernel(xp, data, weight, bias=None, kernel=REQUIRED, stride=(), dilate=(), pad=(),
                   adj=(), target_shape=(), num_filter=REQUIRED, num_group=1, no_bias=True,
                   layout=None, **_):
    """Transposed convolution (the gradient of ``convolution`` w.r.t. its data).

    ``data (N, C, *I)``, ``weight (C, num_filter/num_group, *kernel)``; out ``(N, num_filter,
    *O)``, ``O = stride*(I-1) + dilate*(kernel-1) + 1 - 2*pad + adj`` (or ``target_shape``).
    MXNet's default is ``no_bias=True``.

    Example::

        >>> y = nd.Deconvolution(x, w, kernel=(4, 4), stride=(2, 2), pad=(1, 1), num_filter=8)
    """
    if weight.dtype != data.dtype or (bias is not None and bias.dtype != data.dtype):
        check_param_dtypes(data, weight=weight, bias=None if no_bias else bias)
    geo, a = _deconv_geom(data.shape, kernel, stride, dilate, pad, adj, target_shape)
    im.check_layout(layout, geo.n, "deconvolution")
    y = _deconv_core(xp, data, weight, geo, a, int(num_group))
    if bias is not None and not no_bias:
        y = _add_bias(y, bias, geo.n)
    return y


def _deconv_out(geo, a, in_sp):
    return tuple(f - 2 * p + j for f, p, j in zip(geo.deconv_full(in_sp), geo.p, a))


def _deconv_param_shapes(data, kernel=REQUIRED, num_filter=REQUIRED, num_group=1, no_bias=True,
                         **_):
    """``weight (C, num_filter/num_group, *kernel)``, ``bias (num_filter,)``."""
    f = int(num_filter)
    shapes = {"weight": (data.shape[1], f // int(num_group)) + tuple(int(k) for k in kernel)}
    if not no_bias:
        shapes["bias"] = (f,)
    return shapes


def _deconv_infer(data, weight, bias=None, kernel=REQUIRED, stride=(), dilate=(), pad=(),
                  adj=(), target_shape=(), num_filter=REQUIRED, no_bias=True, **_):
    check_param_dtypes(data, weight=weight, bias=None if no_bias else bias)
    geo, a = _deconv_geom(data.shape, kernel, stride, dilate, pad, adj, target_shape)
    return Aval((data.shape[0], int(num_filter)) + _deconv_out(geo, a, data.shape[2:]),
                np.dtype(data.dtype))


def _deconv_grad(ins, outs, gouts, kernel=REQUIRED, stride=(), dilate=(), pad=(), adj=(),
                 target_shape=(), num_filter=REQUIRED, num_group=1, no_bias=True, **_):
    x, w, b = ins
    gy = gouts[0]
    geo, a = _deconv_geom(x.shape, kernel, stride, dilate, pad, adj, target_shape)
    kw = dict(kernel=geo.k, stride=geo.s, dilate=geo.d, pad=geo.p)
    gx = F.convolution(gy, w, num_filter=x.shape[1], num_group=num_group, no_bias=True, **kw)
    if gx.shape[2:] != tuple(x.shape[2:]):  # adj >= stride: extra windows past the input
        for ax, n in enumerate(x.shape[2:]):
            gx = F.slice_axis(gx, axis=2 + ax, begin=0, end=n)
    gw = F._conv_weight_grad(gy, x, num_group=num_group, **kw)
    gb = None
    if b is not None and not no_bias:
        gb = F.sum(gy, axis=(0,) + tuple(range(2, 2 + geo.n)))
    return gx, gw, gb


def _deconv_onnx(g, i, a, o, kernel=REQUIRED, stride=(), dilate=(), pad=(), adj=(),
                 target_shape=(), num_group=1, no_bias=True, **_):
    geo, adj_ = _deconv_geom(a[0].shape, kernel, stride, dilate, pad, adj, target_shape)
    ins = i[:2] if (no_bias or i[2] is None) else i
    common = dict(kernel_shape=list(geo.k), strides=list(geo.s), dilations=list(geo.d),
                  group=int(num_group))
    if all(j < max(s, d) for j, s, d in zip(adj_, geo.s, geo.d)):
        return g.op("ConvTranspose", *ins, pads=list(geo.p) * 2, output_padding=list(adj_),
                    **common)
    # adj beyond what output_padding allows: full output, then crop/zero-extend
    y = g.op("ConvTranspose", *ins, pads=[0] * (2 * geo.n), **common)
    return onnx_crop(g, y, geo.p, o[0].shape[2:], geo.deconv_full(a[0].shape[2:]))


def _deconv_ref(x, w, b=None, kernel=REQUIRED, stride=(), dilate=(), pad=(), adj=(),
                target_shape=(), num_group=1, no_bias=True, **_):
    """Scatter form: every input pixel adds ``value * kernel`` at ``stride*i + dilate*k``."""
    geo, a = _deconv_geom(x.shape, kernel, stride, dilate, pad, adj, target_shape)
    out = _deconv_out(geo, a, x.shape[2:])
    full = tuple(max(f, p + o) for f, p, o in zip(geo.deconv_full(x.shape[2:]), geo.p, out))
    cg, fg = x.shape[1] // num_group, w.shape[1]
    y = np.zeros((x.shape[0], fg * num_group) + full)
    for grp in range(num_group):
        xs = x[:, grp * cg:(grp + 1) * cg]
        for kidx in np.ndindex(*geo.k):
            wk = w[(slice(grp * cg, (grp + 1) * cg), slice(None)) + kidx]
            y[(slice(None), slice(grp * fg, (grp + 1) * fg)) +
              im.offset_slices(kidx, geo.s, geo.d, x.shape[2:])] += np.einsum(
                  "nc...,cf->nf...", xs, wk)
    y = im.crop(y, geo.p, out)
    if b is not None and not no_bias:
        y = y + b.reshape((1, -1) + (1,) * geo.n)
    return y


_DECONV_SAMPLES = [
    Sample(rnd(2, 3, 3, 3), rnd(3, 2, 3, 3, salt=1), kernel=(3, 3), stride=(2, 2), pad=(1, 1),
           adj=(1, 1), num_filter=2),
    Sample(rnd(2, 2, 3, 4), rnd(2, 2, 3, 3, salt=1), rnd(2, salt=2), kernel=(3, 3),
           target_shape=(6, 7), stride=(2, 2), num_filter=2, no_bias=False),
    Sample(rnd(2, 4, 3, 3), rnd(4, 1, 2, 2, salt=1), kernel=(2, 2), stride=(1, 2),
           dilate=(2, 1), num_filter=2, num_group=2),
    Sample(rnd(2, 3, 5), rnd(3, 2, 3, salt=1), kernel=(3,), stride=(3,), pad=(1,), adj=(2,),
           num_filter=2),
    Sample(rnd(1, 2, 2, 3, 2), rnd(2, 2, 2, 2, 2, salt=1), kernel=(2, 2, 2), stride=(2, 1, 2),
           num_filter=2),
    Sample(rnd(2, 2, 4), rnd(2, 2, 3, salt=1), kernel=(3,), target_shape=(5,), num_filter=2),
]

deconvolution = register(
    "deconvolution", _deconv_kernel, inputs=("data", "weight", "bias?"),
    attrs={"kernel": REQUIRED, "stride": (), "dilate": (), "pad": (), "adj": (),
           "target_shape": (), "num_filter": REQUIRED, "num_group": 1, "workspace": 512,
           "no_bias": True, "cudnn_tune": None, "cudnn_off": False, "layout": None},
    infer=_deconv_infer, grad=_deconv_grad, onnx=_deconv_onnx, samples=_DECONV_SAMPLES,
    ref=_deconv_ref, second_order=True, ignored=_IGNORED, aliases=("Deconvolution",),
    param_shapes=_deconv_param_shapes, amp="lp16")


# ---- weight gradient --------------------------------------------------------------------------
def _wgrad_kernel(xp, data, grad_out, kernel=REQUIRED, stride=(), dilate=(), pad=(),
                  num_group=1, out=None):
    """Gradient of ``convolution`` w.r.t. its weight: ``(F, C/num_group, *kernel)``.

    ``data (N, C, *S)``, ``grad_out (N, F, *O)``; one GEMM per group over ``N * prod(O)``,
    written into ``out`` (facet out_arg: a compiled backward's ``.grad`` buffer) when given.
    """
    geo = Geom(kernel, stride, dilate, pad, data.ndim, "_conv_weight_grad")
    return _weight_grad_core(xp, data, grad_out, geo, int(num_group), out)


def _wgrad_infer(data, grad_out, kernel=REQUIRED, num_group=1, **_):
    geo = Geom(kernel, (), (), (), len(data.shape), "_conv_weight_grad")
    return Aval((grad_out.shape[1], data.shape[1] // int(num_group)) + geo.k,
                np.dtype(data.dtype))


def _wgrad_grad(ins, outs, gouts, kernel=REQUIRED, stride=(), dilate=(), pad=(), num_group=1):
    # bilinear: <G, dW(x, gy)> is a convolution of x by G, and its adjoint in x
    x, gy = ins
    gw = gouts[0]
    geo = Geom(kernel, stride, dilate, pad, len(x.shape))
    kw = dict(kernel=geo.k, stride=geo.s, dilate=geo.d, pad=geo.p, num_group=num_group)
    adj = _data_adj(geo, x.shape[2:], gy.shape[2:])
    gx = F.deconvolution(gy, gw, adj=adj, num_filter=x.shape[1], no_bias=True, **kw)
    ggy = F.convolution(x, gw, num_filter=gy.shape[1], no_bias=True, **kw)
    if ggy.shape[2:] != tuple(gy.shape[2:]):
        for ax, n in enumerate(gy.shape[2:]):
            ggy = F.slice_axis(ggy, axis=2 + ax, begin=0, end=n)
    return gx, ggy


def _wgrad_onnx(g, i, a, o, kernel=REQUIRED, stride=(), dilate=(), pad=(), num_group=1):
    """A Conv with batch and channels swapped: data as (C/g, g*N, S), grad as the kernel."""
    (n_, c, *sp), (_, f, *osp) = a[0].shape, a[1].shape
    grp = int(num_group)
    geo = Geom(kernel, stride, dilate, pad, len(sp) + 2)
    nsp = geo.n
    perm = [2, 1, 0] + list(range(3, 3 + nsp))
    x = g.op("Reshape", i[0], g.ints([n_, grp, c // grp] + sp))
    x = g.op("Reshape", g.op("Transpose", x, perm=perm), g.ints([c // grp, grp * n_] + sp))
    w = g.op("Reshape", i[1], g.ints([n_, grp, f // grp] + osp))
    w = g.op("Transpose", w, perm=[1, 2, 0] + list(range(3, 3 + nsp)))
    w = g.op("Reshape", w, g.ints([f, n_] + osp))
    y = g.op("Conv", x, w, kernel_shape=osp, strides=list(geo.d), dilations=list(geo.s),
             pads=list(geo.p) * 2, group=grp)
    y = g.op("Slice", y, g.ints([0] * nsp), g.ints(list(geo.k)), g.ints(range(2, 2 + nsp)))
    return g.op("Transpose", y, perm=[1, 0] + list(range(2, 2 + nsp)))


def _wgrad_ref(x, gy, kernel=REQUIRED, stride=(), dilate=(), pad=(), num_group=1):
    """Per kernel offset: correlate the shifted input with the output gradient."""
    geo = Geom(kernel, stride, dilate, pad, x.ndim)
    xp_ = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in geo.p])
    cg, fg = x.shape[1] // num_group, gy.shape[1] // num_group
    gw = np.zeros((gy.shape[1], cg) + geo.k)
    ax = [0] + list(range(2, x.ndim))
    for grp in range(num_group):
        for kidx in np.ndindex(*geo.k):
            sl = xp_[(slice(None), slice(grp * cg, (grp + 1) * cg)) +
                     im.offset_slices(kidx, geo.s, geo.d, gy.shape[2:])]
            gw[(slice(grp * fg, (grp + 1) * fg), slice(None)) + kidx] = np.tensordot(
                gy[:, grp * fg:(grp + 1) * fg], sl, axes=(ax, ax))
    return gw


def _wgrad_work(node):
    """Multiply-adds of a weight gradient node (its ``overlap`` facet): gy's size times a
    filter's."""
    gy, w = node.inputs[1][0].avals, node.avals
    if gy is None or w is None:
        return 0
    gy_aval = gy[node.inputs[1][1]]
    return math.prod(gy_aval.shape) * math.prod(w[0].shape[1:])


_conv_weight_grad = register(
    "_conv_weight_grad", _wgrad_kernel, inputs=("data", "grad_out"),
    attrs={"kernel": REQUIRED, "stride": (), "dilate": (), "pad": (), "num_group": 1},
    infer=_wgrad_infer, grad=_wgrad_grad, onnx=_wgrad_onnx, ref=_wgrad_ref,
    samples=[Sample(rnd(2, 2, 5, 5), rnd(2, 3, 5, 5, salt=1), kernel=(3, 3), pad=(1, 1)),
             Sample(rnd(2, 4, 5, 5), rnd(2, 2, 2, 2, salt=1), kernel=(3, 3), stride=(2, 2),
                    pad=(0, 1), dilate=(1, 2), num_group=2),
             Sample(rnd(2, 2, 7), rnd(2, 3, 2, salt=1), kernel=(3,), stride=(2,), dilate=(2,))],
    second_order=True, overlap=_wgrad_work, out_arg=True)

EXPORTS = {}
