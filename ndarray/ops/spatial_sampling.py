"""MXNet 1.9's spatial-transformer ops: ``GridGenerator`` (affine and warp),
``BilinearSampler`` and their composition ``SpatialTransformer``.

A sampling grid (N, 2, H, W) holds normalized (x, y) in [-1, 1] (-1 the first pixel, 1 the
last); the sampler reads each of the four neighbours that lies inside the image (zero
padding outside). Gradients flow to the data and to the grid (and so to an affine
transform); the dedicated ``_backward_*`` ops compute them on ``xp``.
"""
import numpy as np

from ...base import OpError
from .. import ops as F
from .._registry import Aval, Sample, register
from ._samples import rnd

_NO_ONNX = "no ONNX lowering is written (GridSample's border rules differ from MXNet's)"
_NO_SECOND = "second-order gradients of the spatial-transformer ops are not written"


# ---- GridGenerator ----------------------------------------------------------------------------
def _gg_infer(data, transform_type="affine", target_shape=(0, 0)):
    if transform_type == "affine":
        if len(data.shape) != 2 or data.shape[1] != 6:
            raise OpError(f"GridGenerator: affine data must be (N, 6), got {data.shape}")
        h, w = (int(v) for v in target_shape)
        if h < 1 or w < 1:
            raise OpError(f"GridGenerator: affine needs a positive target_shape, got "
                          f"{target_shape}")
        return Aval((data.shape[0], 2, h, w), data.dtype)
    if transform_type == "warp":
        if len(data.shape) != 4 or data.shape[1] != 2:
            raise OpError(f"GridGenerator: warp data must be (N, 2, H, W), got {data.shape}")
        return Aval(tuple(data.shape), data.dtype)
    raise OpError(f"GridGenerator: transform_type must be 'affine' or 'warp', got "
                  f"{transform_type!r}")


def _base(xp, h, w, dtype):
    """(3, h * w) homogeneous normalized target coordinates (x, y, 1), row-major."""
    xs = np.linspace(-1.0, 1.0, w) if w > 1 else np.full(1, -1.0)
    ys = np.linspace(-1.0, 1.0, h) if h > 1 else np.full(1, -1.0)
    yy, xx = np.meshgrid(ys, xs, indexing="ij")
    return xp.asarray(np.stack([xx.ravel(), yy.ravel(), np.ones(h * w)]).astype(dtype))


def _warp_scale(h, w):
    return np.array([2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)]).reshape(1, 2, 1, 1)


def _gg_kernel(xp, data, transform_type="affine", target_shape=(0, 0)):
    out = _gg_infer(data, transform_type, target_shape)
    if transform_type == "affine":
        n, _, h, w = out.shape
        return (data.reshape(n, 2, 3) @ _base(xp, h, w, data.dtype)).reshape(out.shape)
    n, _, h, w = data.shape
    pix = np.stack(np.meshgrid(np.arange(h), np.arange(w), indexing="ij")[::-1])[None]
    return ((data + xp.asarray(pix, dtype=data.dtype))
            * xp.asarray(_warp_scale(h, w), dtype=data.dtype) - 1).astype(data.dtype)


def _gg_bw_kernel(xp, g, data, transform_type="affine", target_shape=(0, 0)):
    if transform_type == "affine":
        n, _, h, w = g.shape
        base = _base(xp, h, w, g.dtype)
        return (g.reshape(n, 2, h * w) @ base.T).reshape(n, 6).astype(data.dtype)
    return (g * xp.asarray(_warp_scale(*g.shape[2:]), dtype=g.dtype)).astype(data.dtype)


_gg_samples = [Sample(rnd(2, 6), target_shape=(3, 4)),
               Sample(rnd(2, 2, 3, 4, lo=-2, hi=2), transform_type="warp")]

grid_generator = register(
    "grid_generator", _gg_kernel, attrs={"transform_type": "affine", "target_shape": (0, 0)},
    infer=_gg_infer, grad=lambda i, o, g, **a: (F._backward_grid_generator(g[0], i[0], **a),),
    no_onnx=_NO_ONNX, ref=lambda d, **a: _gg_kernel(np, d, **a), samples=_gg_samples,
    aliases=("GridGenerator",), amp=None,
    doc="""A sampling grid for ``BilinearSampler`` (MXNet ``GridGenerator``).
    ``transform_type='affine'``: data (N, 6) is a 2 x 3 matrix applied to the normalized
    target coordinates (x, y, 1) of a ``target_shape`` (H, W) map; ``'warp'``: data
    (N, 2, H, W) is an optical flow in pixels added to each pixel's position, then
    normalized. Output (N, 2, H, W), x first.

    Example::

        >>> ident = nd.array([[1, 0, 0, 0, 1, 0]])
        >>> nd.GridGenerator(ident, transform_type='affine', target_shape=(2, 2))
    """)

_backward_grid_generator = register(
    "_backward_grid_generator", _gg_bw_kernel, inputs=("grad_out", "data"),
    attrs={"transform_type": "affine", "target_shape": (0, 0)},
    infer=lambda g, d, **a: Aval(tuple(d.shape), np.dtype(d.dtype)), no_grad=_NO_SECOND,
    no_onnx=_NO_ONNX, no_ref="checked through grid_generator's gradient test",
    samples=[Sample(rnd(2, 2, 3, 4, salt=5), rnd(2, 6), target_shape=(3, 4), wrt=[0])],
    doc="The gradient of ``grid_generator`` w.r.t. its data.")


# ---- BilinearSampler --------------------------------------------------------------------------
def _bs_infer(data, grid, cudnn_off=None):
    if len(data.shape) != 4 or len(grid.shape) != 4 or grid.shape[1] != 2 \
            or grid.shape[0] != data.shape[0]:
        raise OpError(f"BilinearSampler: data (N, C, H, W) and grid (N, 2, OH, OW) expected, "
                      f"got {data.shape} and {grid.shape}")
    return Aval(tuple(data.shape[:2]) + tuple(grid.shape[2:]), data.dtype)


def _corners(xp, data, grid):
    """The four neighbours of every grid point: a list of (flat index (N, P), weight (N, P),
    inside mask (N, P), d weight/dx, d weight/dy) in pixel units, and the pixel scales."""
    n, c, h, w = data.shape
    x = (grid[:, 0].reshape(n, -1) + 1) * (w - 1) / 2
    y = (grid[:, 1].reshape(n, -1) + 1) * (h - 1) / 2
    x0, y0 = xp.floor(x), xp.floor(y)
    fx, fy = x - x0, y - y0
    out = []
    for dy, dx in ((0, 0), (0, 1), (1, 0), (1, 1)):
        xi, yi = x0 + dx, y0 + dy
        inside = (xi >= 0) & (xi <= w - 1) & (yi >= 0) & (yi <= h - 1)
        wx, wy = (fx if dx else 1 - fx), (fy if dy else 1 - fy)
        sx, sy = (1.0 if dx else -1.0), (1.0 if dy else -1.0)
        idx = (xp.clip(yi, 0, h - 1) * w + xp.clip(xi, 0, w - 1)).astype(np.int64)
        out.append((idx, wx * wy * inside, inside, sx * wy * inside, wx * sy * inside))
    return out, (w - 1) / 2, (h - 1) / 2


def _take(xp, data, idx):
    n, c = data.shape[:2]
    return xp.take_along_axis(data.reshape(n, c, -1), xp.broadcast_to(
        idx[:, None, :], (n, c, idx.shape[1])), axis=2)


def _bs_kernel(xp, data, grid, cudnn_off=None):
    _bs_infer(data, grid)
    corners, _, _ = _corners(xp, data, grid)
    out = sum(_take(xp, data, i) * wt[:, None, :] for i, wt, *_ in corners)
    return out.reshape(data.shape[:2] + grid.shape[2:]).astype(data.dtype)


def _bs_bw_kernel(xp, g, data, grid, cudnn_off=None):
    n, c, h, w = data.shape
    corners, kx, ky = _corners(xp, data, grid)
    gf = g.reshape(n, c, -1)
    ddata = xp.zeros((n, c * h * w), dtype=data.dtype)
    gx = gy = 0
    for idx, wt, _, dwx, dwy in corners:
        v = _take(xp, data, idx)
        gx = gx + (gf * v).sum(1) * dwx
        gy = gy + (gf * v).sum(1) * dwy
        flat = (xp.arange(c)[None, :, None] * h * w + idx[:, None, :]).reshape(n, -1)
        contrib = (gf * wt[:, None, :]).reshape(n, -1)
        for b in range(n):
            ddata[b] += xp.bincount(flat[b], weights=contrib[b], minlength=c * h * w)
    dgrid = xp.stack([gx * kx, gy * ky], 1).reshape(grid.shape).astype(grid.dtype)
    return ddata.reshape(data.shape), dgrid


def _bs_grad(ins, outs, gouts, cudnn_off=None):
    dd, dg = F._backward_bilinear_sampler(gouts[0], ins[0], ins[1])
    return dd, dg


_grid_sample = np.concatenate([rnd(2, 1, 3, 4, lo=-1.2, hi=1.2, salt=7),
                               rnd(2, 1, 3, 4, lo=-1.1, hi=1.1, salt=8)], 1)

bilinear_sampler = register(
    "bilinear_sampler", _bs_kernel, inputs=("data", "grid"), attrs={"cudnn_off": None},
    infer=_bs_infer, grad=_bs_grad, no_onnx=_NO_ONNX,
    ref=lambda d, g, **a: _bs_kernel(np, d, g), ignored=("cudnn_off",),
    samples=[Sample(rnd(2, 2, 4, 5), _grid_sample)], aliases=("BilinearSampler",), amp=None,
    doc="""Sample data (N, C, H, W) at a grid (N, 2, OH, OW) of normalized (x, y) in
    [-1, 1] with bilinear interpolation (MXNet ``BilinearSampler``); neighbours outside the
    image count as 0. Output (N, C, OH, OW); gradients reach data and grid.

    Example::

        >>> grid = nd.GridGenerator(nd.array([[1, 0, 0, 0, 1, 0]]), transform_type='affine',
        ...                         target_shape=(4, 4))
        >>> nd.BilinearSampler(x, grid)     # x itself for a 4 x 4 x
    """)

_backward_bilinear_sampler = register(
    "_backward_bilinear_sampler", _bs_bw_kernel, inputs=("grad_out", "data", "grid"),
    attrs={"cudnn_off": None}, num_outputs=2,
    infer=lambda g, d, gr, **a: (Aval(tuple(d.shape), np.dtype(d.dtype)),
                                 Aval(tuple(gr.shape), np.dtype(gr.dtype))),
    no_grad=_NO_SECOND, no_onnx=_NO_ONNX, ignored=("cudnn_off",),
    no_ref="checked through bilinear_sampler's gradient test",
    samples=[Sample(rnd(2, 2, 3, 4, salt=9), rnd(2, 2, 4, 5), _grid_sample)],
    doc="The gradients of ``bilinear_sampler`` w.r.t. its data and its grid.")


# ---- SpatialTransformer -----------------------------------------------------------------------
_ST = {"target_shape": (0, 0), "transform_type": "affine", "sampler_type": "bilinear",
       "cudnn_off": None}


def _st_infer(data, loc, target_shape=(0, 0), transform_type="affine",
              sampler_type="bilinear", cudnn_off=None):
    if transform_type != "affine" or sampler_type != "bilinear":
        raise OpError("SpatialTransformer: only transform_type='affine' and "
                      "sampler_type='bilinear' exist (as in MXNet)")
    if len(data.shape) != 4 or tuple(loc.shape) != (data.shape[0], 6):
        raise OpError(f"SpatialTransformer: data (N, C, H, W) and loc (N, 6) expected, got "
                      f"{data.shape} and {loc.shape}")
    return Aval(tuple(data.shape[:2]) + tuple(int(v) for v in target_shape), data.dtype)


def _st_kernel(xp, data, loc, **a):
    a = {**_ST, **a}
    _st_infer(data, loc, **a)
    grid = _gg_kernel(xp, loc, "affine", a["target_shape"])
    return _bs_kernel(xp, data, grid)


def _st_grad(ins, outs, gouts, target_shape=(0, 0), **_):
    data, loc = ins
    grid = F.grid_generator(loc, transform_type="affine", target_shape=target_shape)
    dd, dg = F._backward_bilinear_sampler(gouts[0], data, grid)
    return dd, F._backward_grid_generator(dg, loc, transform_type="affine",
                                          target_shape=target_shape)


spatial_transformer = register(
    "spatial_transformer", _st_kernel, inputs=("data", "loc"), attrs=dict(_ST),
    infer=_st_infer, grad=_st_grad, no_onnx=_NO_ONNX, ignored=("cudnn_off",),
    ref=lambda d, lc, **a: _st_kernel(np, d, lc, **a),
    # no grid point on a pixel row or column: the interpolation has kinks there
    samples=[Sample(rnd(2, 2, 4, 5), np.array([[0.91, 0.13, 0.05, -0.12, 0.83, 0.1],
                                               [1.07, -0.21, -0.1, 0.15, 0.71, 0.05]]),
                    target_shape=(3, 4))],
    aliases=("SpatialTransformer",), amp=None,
    doc="""A spatial transformer (MXNet ``SpatialTransformer``): ``BilinearSampler(data,
    GridGenerator(loc, 'affine', target_shape))`` for data (N, C, H, W) and loc (N, 6).
    Output (N, C, *target_shape).

    Example::

        >>> nd.SpatialTransformer(x, nd.array([[1, 0, 0, 0, 1, 0]]), target_shape=(4, 4))
    """)
