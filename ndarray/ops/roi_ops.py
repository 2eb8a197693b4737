"""MXNet 1.9's region-of-interest ops: ``ROIPooling`` (``npx.roi_pooling``), ``contrib.ROIAlign``
(``position_sensitive``, ``aligned``, ``sample_ratio``), ``contrib.RROIAlign`` (rotated boxes)
and ``contrib.PSROIPooling`` (R-FCN's position-sensitive pooling).

Each is linear in its data given the boxes (ROIPooling given its argmax), so each is a
sampling plan for ``_linear_sample.register_linear``: the forward gathers, the registered
``_backward_<op>`` scatters. rois are (R, 5) rows (batch index, x1, y1, x2, y2) in image
units (``spatial_scale`` maps them onto the feature map); RROIAlign's are (R, 6) rows (batch
index, center x, center y, width, height, angle in degrees). As in MXNet the boxes get no
gradient.
"""
import math

import numpy as np

from ...base import OpError
from .. import ops as F
from .._registry import REQUIRED, Aval, Sample, register
from ._boxes import host
from ._linear_sample import bilinear_taps, bw_sample, pad_taps, register_linear
from ._samples import distinct, rnd

_NO_ONNX = ("MXNet's ROI sampling (box rounding, adaptive sample grids) has no exact ONNX "
            "equivalent; no lowering is written")
_ROIS_NO_GRAD = "MXNet gives the boxes no gradient"


def cround(x):
    """C's round(): halves away from zero (numpy rounds them to even)."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def _pair(v, op):
    v = tuple(v) if isinstance(v, (tuple, list)) else (v, v)
    if len(v) != 2 or min(v) < 1:
        raise OpError(f"{op}: pooled_size must be two positive ints, got {v}")
    return int(v[0]), int(v[1])


def _check(data, rois, width, op):
    if len(data.shape) != 4 or len(rois.shape) != 2 or rois.shape[1] != width:
        raise OpError(f"{op}: data (N, C, H, W) and rois (R, {width}) expected, got "
                      f"{data.shape} and {rois.shape}")


def _channels(b, chan, c, h, w):
    """Flat offsets of channel planes ``chan`` (any shape) of image ``b``."""
    return (int(b) * c + chan) * (h * w)


# ---- ROIAlign ---------------------------------------------------------------------------------
_ALIGN = {"pooled_size": REQUIRED, "spatial_scale": REQUIRED, "sample_ratio": -1,
          "position_sensitive": False, "aligned": False}


def _align_infer(data, rois, pooled_size=REQUIRED, spatial_scale=REQUIRED, sample_ratio=-1,
                 position_sensitive=False, aligned=False):
    _check(data, rois, 5, "ROIAlign")
    ph, pw = _pair(pooled_size, "ROIAlign")
    c = data.shape[1]
    if position_sensitive:
        if c % (ph * pw):
            raise OpError(f"ROIAlign: position_sensitive needs channels ({c}) divisible by "
                          f"{ph}*{pw}")
        c //= ph * pw
    return Aval((rois.shape[0], c, ph, pw), data.dtype)


def _grid(start, bins, size, grid):
    """Sample coordinates (bins, grid) of ``bins`` bins of ``size`` from ``start``."""
    return start + np.arange(bins)[:, None] * size + (np.arange(grid) + 0.5) * size / grid


def _align_plan(data, rois, pooled_size=REQUIRED, spatial_scale=REQUIRED, sample_ratio=-1,
                position_sensitive=False, aligned=False):
    n, c, h, w = data.shape
    ph, pw = _pair(pooled_size, "ROIAlign")
    off = 0.5 if aligned else 0.0
    if position_sensitive:
        chan = (np.arange(c // (ph * pw))[:, None, None] * ph * pw
                + np.arange(ph)[:, None] * pw + np.arange(pw))
    else:
        chan = np.broadcast_to(np.arange(c)[:, None, None], (c, ph, pw))
    groups = []
    for r in rois:
        x0, y0, x1, y1 = (float(v) * spatial_scale - off for v in r[1:5])
        rw, rh = x1 - x0, y1 - y0
        if not aligned:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / ph, rw / pw
        gh = sample_ratio if sample_ratio > 0 else max(int(math.ceil(rh / ph)), 1)
        gw = sample_ratio if sample_ratio > 0 else max(int(math.ceil(rw / pw)), 1)
        ys = _grid(y0, ph, bh, gh)[:, None, :, None]
        xs = _grid(x0, pw, bw, gw)[None, :, None, :]
        idx, wt = bilinear_taps(*np.broadcast_arrays(ys, xs), h, w)    # (ph, pw, gh, gw, 4)
        idx, wt = idx.reshape(ph, pw, -1), wt.reshape(ph, pw, -1) / max(gh * gw, 1)
        full = _channels(r[0], chan, c, h, w)[..., None] + idx
        groups += [(i, wgt) for i, wgt in zip(full.reshape(-1, full.shape[-1]),
                                                np.broadcast_to(wt, full.shape)
                                                .reshape(-1, full.shape[-1]))]
    cout = chan.shape[0]
    return pad_taps(groups, (len(rois), cout, ph, pw))


def _rois(r, salt, scale=1.0, batch=2):
    b = np.arange(r, dtype=np.float64)[:, None] % batch
    lo = rnd(r, 2, lo=0.0, hi=3.0, salt=salt)
    wh = rnd(r, 2, lo=0.6, hi=4.0, salt=salt + 1)
    return np.concatenate([b, lo, lo + wh], 1) * np.array([1, scale, scale, scale, scale])


_align_samples = [Sample(rnd(2, 2, 5, 6), _rois(3, 1), pooled_size=(2, 2), spatial_scale=1.0,
                         wrt=[0]),
                  Sample(rnd(2, 8, 5, 5), _rois(3, 3, 2.0), pooled_size=(2, 2),
                         spatial_scale=0.5, sample_ratio=2, position_sensitive=True,
                         aligned=True, wrt=[0]),
                  Sample(rnd(1, 1, 4, 4), _rois(2, 5, 1.0, 1) - [0, 1, 1, 0, 0],
                         pooled_size=(3, 2), spatial_scale=1.0, aligned=True, wrt=[0])]

roi_align, _backward_roi_align = register_linear(
    "roi_align", _align_plan, inputs=("data", "rois"), attrs=_ALIGN, infer=_align_infer,
    samples=_align_samples, no_onnx=_NO_ONNX, aux_grad_reason=_ROIS_NO_GRAD,
    bw_samples=[bw_sample(_align_samples[0], (3, 2, 2, 2)),
                bw_sample(_align_samples[1], (3, 2, 2, 2))],
    aliases=("ROIAlign", "_contrib_ROIAlign"), amp="widest",
    doc="""Region-of-interest alignment (MXNet ``contrib.ROIAlign``, Mask R-CNN): each box
    of rois (R, 5) is cut into pooled_size bins, each bin the mean of bilinear samples on a
    grid of ``sample_ratio`` (or ceil(bin size)) points per axis. ``aligned`` shifts the box
    by half a pixel (and allows boxes under one pixel); ``position_sensitive`` takes bin
    (i, j) of output channel k from input channel (k * ph + i) * pw + j. Output (R, C, ph, pw)
    (C / (ph * pw) channels when position sensitive).

    Example::

        >>> nd.contrib.ROIAlign(x, nd.array([[0, 0, 0, 4, 4]]), pooled_size=(2, 2),
        ...                     spatial_scale=1.0).shape     # (1, C, 2, 2)
    """)


# ---- ROIPooling -------------------------------------------------------------------------------
def _pool_infer(data, rois, pooled_size=REQUIRED, spatial_scale=REQUIRED):
    _check(data, rois, 5, "ROIPooling")
    return Aval((rois.shape[0], data.shape[1]) + _pair(pooled_size, "ROIPooling"), data.dtype)


def _bins(start, length, bins, limit):
    """Integer [begin, end) of each of ``bins`` bins of a ``length`` span from ``start``,
    clipped to [0, limit]."""
    size = length / bins
    p = np.arange(bins)
    lo = np.clip(np.floor(p * size) + start, 0, limit).astype(np.int64)
    hi = np.clip(np.ceil((p + 1) * size) + start, 0, limit).astype(np.int64)
    return lo, hi


def _pool_plan(data, rois, pooled_size=REQUIRED, spatial_scale=REQUIRED):
    n, c, h, w = data.shape
    ph, pw = _pair(pooled_size, "ROIPooling")
    x = np.asarray(data)
    idx = np.zeros((len(rois), c, ph, pw, 1), np.int64)
    wt = np.zeros((len(rois), c, ph, pw, 1))
    for k, r in enumerate(rois):
        b = int(r[0])
        x0, y0, x1, y1 = (cround(float(v) * spatial_scale) for v in r[1:5])
        hs, he = _bins(y0, max(y1 - y0 + 1, 1), ph, h)
        ws, we = _bins(x0, max(x1 - x0 + 1, 1), pw, w)
        for i in range(ph):
            for j in range(pw):
                if he[i] <= hs[i] or we[j] <= ws[j]:
                    continue                      # an empty bin outputs 0, no gradient
                win = x[b, :, hs[i]:he[i], ws[j]:we[j]]
                a = win.reshape(c, -1).argmax(1)  # the first maximum, as MXNet's scan
                yy, xx = hs[i] + a // win.shape[2], ws[j] + a % win.shape[2]
                idx[k, :, i, j, 0] = _channels(b, np.arange(c), c, h, w) + yy * w + xx
                wt[k, :, i, j, 0] = 1.0
    return idx, wt


_pool_samples = [Sample(distinct(2, 2, 6, 7), _rois(3, 7), pooled_size=(2, 3),
                        spatial_scale=1.0, wrt=[0]),
                 Sample(distinct(1, 3, 5, 5), _rois(2, 9, 2.0, 1), pooled_size=(3, 3),
                        spatial_scale=0.5, wrt=[0])]

roi_pooling, _backward_roi_pooling = register_linear(
    "roi_pooling", _pool_plan, inputs=("data", "rois"),
    attrs={"pooled_size": REQUIRED, "spatial_scale": REQUIRED}, infer=_pool_infer,
    samples=_pool_samples, no_onnx=_NO_ONNX, aux_grad_reason=_ROIS_NO_GRAD,
    reads_values=True, bw_samples=[bw_sample(_pool_samples[0], (3, 2, 2, 3))],
    aliases=("ROIPooling", "_npx_roi_pooling"), amp=None,
    doc="""Region-of-interest max pooling (MXNet ``ROIPooling``, Fast R-CNN): each box of
    rois (R, 5), scaled by ``spatial_scale`` and rounded, is cut into pooled_size bins, each
    bin the maximum of its pixels (0 for an empty bin); the gradient goes to each bin's
    first maximum. Output (R, C, ph, pw).

    Example::

        >>> nd.ROIPooling(x, nd.array([[0, 0, 0, 3, 3]]), pooled_size=(2, 2),
        ...               spatial_scale=1.0).shape    # (1, C, 2, 2)
    """)


# ---- PSROIPooling -----------------------------------------------------------------------------
_PS = {"spatial_scale": REQUIRED, "output_dim": REQUIRED, "pooled_size": REQUIRED,
       "group_size": 0}


def _ps_infer(data, rois, spatial_scale=REQUIRED, output_dim=REQUIRED, pooled_size=REQUIRED,
              group_size=0):
    _check(data, rois, 5, "PSROIPooling")
    g = group_size or pooled_size
    if data.shape[1] != output_dim * g * g:
        raise OpError(f"PSROIPooling: data needs output_dim * group_size^2 = "
                      f"{output_dim * g * g} channels, has {data.shape[1]}")
    return Aval((rois.shape[0], output_dim, pooled_size, pooled_size), data.dtype)


def _ps_plan(data, rois, spatial_scale=REQUIRED, output_dim=REQUIRED, pooled_size=REQUIRED,
             group_size=0):
    n, c, h, w = data.shape
    p, g = int(pooled_size), int(group_size or pooled_size)
    grp = np.clip(np.floor(np.arange(p) * g / p).astype(np.int64), 0, g - 1)
    groups = []
    for r in rois:
        x0, y0 = cround(float(r[1])) * spatial_scale, cround(float(r[2])) * spatial_scale
        x1 = (cround(float(r[3])) + 1.0) * spatial_scale
        y1 = (cround(float(r[4])) + 1.0) * spatial_scale
        bh, bw = max(y1 - y0, 0.1) / p, max(x1 - x0, 0.1) / p
        hs = np.clip(np.floor(np.arange(p) * bh + y0), 0, h).astype(np.int64)
        he = np.clip(np.ceil((np.arange(p) + 1) * bh + y0), 0, h).astype(np.int64)
        ws = np.clip(np.floor(np.arange(p) * bw + x0), 0, w).astype(np.int64)
        we = np.clip(np.ceil((np.arange(p) + 1) * bw + x0), 0, w).astype(np.int64)
        for ct in range(output_dim):
            for i in range(p):
                for j in range(p):
                    yy, xx = np.meshgrid(np.arange(hs[i], he[i]), np.arange(ws[j], we[j]),
                                         indexing="ij")
                    ch = (ct * g + grp[i]) * g + grp[j]
                    pos = (_channels(r[0], ch, c, h, w) + yy * w + xx).reshape(-1)
                    groups.append((pos, np.full(pos.size, 1.0 / max(pos.size, 1))))
    return pad_taps(groups, (len(rois), output_dim, p, p))


_ps_samples = [Sample(rnd(2, 8, 6, 6), _rois(3, 11), spatial_scale=1.0, output_dim=2,
                      pooled_size=2, wrt=[0]),
               Sample(rnd(1, 9, 5, 6), _rois(2, 13, 2.0, 1), spatial_scale=0.5, output_dim=1,
                      pooled_size=2, group_size=3, wrt=[0])]

ps_roi_pooling, _backward_ps_roi_pooling = register_linear(
    "ps_roi_pooling", _ps_plan, inputs=("data", "rois"), attrs=_PS, infer=_ps_infer,
    samples=_ps_samples, no_onnx=_NO_ONNX, aux_grad_reason=_ROIS_NO_GRAD,
    bw_samples=[bw_sample(_ps_samples[0], (3, 2, 2, 2))],
    aliases=("PSROIPooling", "_contrib_PSROIPooling"), amp="widest",
    doc="""Position-sensitive ROI average pooling (MXNet ``contrib.PSROIPooling``, R-FCN):
    data (N, output_dim * group_size^2, H, W) (group_size defaults to pooled_size), rois
    (R, 5) rounded to pixels and scaled; bin (i, j) of output channel k averages input
    channel (k * group_size + gi) * group_size + gj over the bin. Output (R, output_dim,
    pooled_size, pooled_size).

    Example::

        >>> nd.contrib.PSROIPooling(x, rois, spatial_scale=0.0625, output_dim=21,
        ...                         pooled_size=7)
    """)


# ---- RROIAlign --------------------------------------------------------------------------------
_RR = {"pooled_size": REQUIRED, "spatial_scale": REQUIRED, "sampling_ratio": -1}


def _rr_infer(data, rois, pooled_size=REQUIRED, spatial_scale=REQUIRED, sampling_ratio=-1):
    _check(data, rois, 6, "RROIAlign")
    return Aval((rois.shape[0], data.shape[1]) + _pair(pooled_size, "RROIAlign"), data.dtype)


def _rr_plan(data, rois, pooled_size=REQUIRED, spatial_scale=REQUIRED, sampling_ratio=-1):
    n, c, h, w = data.shape
    ph, pw = _pair(pooled_size, "RROIAlign")
    chan = np.broadcast_to(np.arange(c)[:, None, None], (c, ph, pw))
    groups = []
    for r in rois:
        cx, cy, rw, rh = (float(v) * spatial_scale for v in r[1:5])
        theta = float(r[5]) * math.pi / 180.0
        rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / ph, rw / pw
        gh = sampling_ratio if sampling_ratio > 0 else max(int(math.ceil(rh / ph)), 1)
        gw = sampling_ratio if sampling_ratio > 0 else max(int(math.ceil(rw / pw)), 1)
        yy, xx = np.broadcast_arrays(_grid(-rh / 2, ph, bh, gh)[:, None, :, None],
                                     _grid(-rw / 2, pw, bw, gw)[None, :, None, :])
        cos, sin = math.cos(theta), math.sin(theta)
        # rotate the box's sampling grid about its center (MXNet's sense of the angle)
        x = xx * cos + yy * sin + cx
        y = yy * cos - xx * sin + cy
        idx, wt = bilinear_taps(y, x, h, w)
        idx, wt = idx.reshape(ph, pw, -1), wt.reshape(ph, pw, -1) / max(gh * gw, 1)
        full = _channels(r[0], chan, c, h, w)[..., None] + idx
        groups += [(i, wgt) for i, wgt in zip(full.reshape(-1, full.shape[-1]),
                                                np.broadcast_to(wt, full.shape)
                                                .reshape(-1, full.shape[-1]))]
    return pad_taps(groups, (len(rois), c, ph, pw))


def _rrois(r, salt, batch=2):
    b = np.arange(r, dtype=np.float64)[:, None] % batch
    ctr = rnd(r, 2, lo=1.0, hi=4.0, salt=salt)
    wh = rnd(r, 2, lo=1.0, hi=4.0, salt=salt + 1)
    ang = rnd(r, 1, lo=-90.0, hi=90.0, salt=salt + 2)
    return np.concatenate([b, ctr, wh, ang], 1)


_rr_samples = [Sample(rnd(2, 2, 5, 6), _rrois(3, 21), pooled_size=(2, 2), spatial_scale=1.0,
                      wrt=[0]),
               Sample(rnd(1, 1, 6, 6), _rrois(2, 23, 1), pooled_size=(2, 3),
                      spatial_scale=1.0, sampling_ratio=2, wrt=[0])]

rroi_align, _backward_rroi_align = register_linear(
    "rroi_align", _rr_plan, inputs=("data", "rois"), attrs=_RR, infer=_rr_infer,
    samples=_rr_samples, no_onnx=_NO_ONNX, aux_grad_reason=_ROIS_NO_GRAD,
    bw_samples=[bw_sample(_rr_samples[0], (3, 2, 2, 2))],
    aliases=("RROIAlign", "_contrib_RROIAlign"), amp=None,
    doc="""Rotated ROIAlign (MXNet ``contrib.RROIAlign``): rois (R, 6) rows (batch index,
    center x, center y, width, height, angle in degrees); each rotated box is cut into
    pooled_size bins, each the mean of bilinear samples on a ``sampling_ratio`` (or
    ceil(bin size)) grid. Output (R, C, ph, pw). MXNet 1.9.1 has no gradient for it; being
    linear in the data, it has one here.

    Example::

        >>> nd.contrib.RROIAlign(x, nd.array([[0, 3, 3, 4, 2, 30]]), pooled_size=(2, 2),
        ...                      spatial_scale=1.0).shape     # (1, C, 2, 2)
    """)


# ---- DeformablePSROIPooling -------------------------------------------------------------------
_DPS = {"spatial_scale": REQUIRED, "output_dim": REQUIRED, "group_size": REQUIRED,
        "pooled_size": REQUIRED, "part_size": 0, "sample_per_part": 1, "trans_std": 0.0,
        "no_trans": False}


def _dps_infer(data, rois, trans=None, spatial_scale=REQUIRED, output_dim=REQUIRED,
               group_size=REQUIRED, pooled_size=REQUIRED, part_size=0, sample_per_part=1,
               trans_std=0.0, no_trans=False):
    _check(data, rois, 5, "DeformablePSROIPooling")
    if data.shape[1] != output_dim * group_size * group_size:
        raise OpError(f"DeformablePSROIPooling: data needs output_dim * group_size^2 = "
                      f"{output_dim * group_size * group_size} channels, has {data.shape[1]}")
    return Aval((rois.shape[0], output_dim, pooled_size, pooled_size), data.dtype)


def _dps_points(data_shape, rois, trans, a):
    """Every sample point: (flat output index, bilinear taps (idx, wt) (M, 4), 1 / count,
    trans indices (x, y) into trans.flat, d value/d trans factors (x, y) per tap (M, 4))."""
    n, c, h, w = data_shape
    p, g, od = int(a["pooled_size"]), int(a["group_size"]), int(a["output_dim"])
    part = int(a["part_size"]) or p
    spp, ss, std = int(a["sample_per_part"]), float(a["spatial_scale"]), float(a["trans_std"])
    ncls = 1 if a["no_trans"] else trans.shape[1] // 2   # trans is None only with no_trans
    each = od // ncls
    out_i, taps_i, taps_w, inv, tix, tiy, fx, fy = ([] for _ in range(8))
    for r, roi in enumerate(rois):
        x0 = cround(float(roi[1])) * ss - 0.5
        y0 = cround(float(roi[2])) * ss - 0.5
        rw = max((cround(float(roi[3])) + 1.0) * ss - 0.5 - x0, 0.1)
        rh = max((cround(float(roi[4])) + 1.0) * ss - 0.5 - y0, 0.1)
        bw, bh = rw / p, rh / p
        for ct in range(od):
            cls = ct // each
            for i in range(p):
                for j in range(p):
                    ph_, pw_ = int(np.floor(i / p * part)), int(np.floor(j / p * part))
                    ti = ((r * ncls + cls) * 2 * part + ph_) * part + pw_
                    tx = 0.0 if a["no_trans"] else float(trans.flat[ti]) * std
                    ty = 0.0 if a["no_trans"] else float(trans.flat[ti + part * part]) * std
                    ws, hs = j * bw + x0 + tx * rw, i * bh + y0 + ty * rh
                    gh = min(max(int(np.floor(i * g / p)), 0), g - 1)
                    gw = min(max(int(np.floor(j * g / p)), 0), g - 1)
                    base = (int(roi[0]) * c + (ct * g + gh) * g + gw) * h * w
                    pts = [(hs + ih * bh / spp, ws + iw * bw / spp)
                           for ih in range(spp) for iw in range(spp)]
                    pts = [(y, x) for y, x in pts
                           if -0.5 <= x <= w - 0.5 and -0.5 <= y <= h - 0.5]
                    o = ((r * od + ct) * p + i) * p + j
                    for y, x in pts:
                        # clamped points do not move with trans: no trans gradient there
                        cx, cy = 0.0 <= x <= w - 1, 0.0 <= y <= h - 1
                        x, y = min(max(x, 0.0), w - 1.0), min(max(y, 0.0), h - 1.0)
                        xa, xb, ya, yb = (int(np.floor(x)), int(np.ceil(x)), int(np.floor(y)),
                                          int(np.ceil(y)))
                        dx, dy = x - xa, y - ya
                        out_i.append(o)
                        taps_i.append([base + ya * w + xa, base + yb * w + xa,
                                       base + ya * w + xb, base + yb * w + xb])
                        taps_w.append([(1 - dx) * (1 - dy), (1 - dx) * dy, dx * (1 - dy),
                                       dx * dy])
                        inv.append(1.0 / len(pts))
                        tix.append(ti)
                        tiy.append(ti + part * part)
                        fx.append(np.array([-(1 - dy), -dy, 1 - dy, dy]) * std * rw * cx)
                        fy.append(np.array([-(1 - dx), 1 - dx, -dx, dx]) * std * rh * cy)
    m = len(out_i)

    def arr(v, shape):
        return np.asarray(v, np.float64).reshape(shape)
    return (np.asarray(out_i, np.int64), np.asarray(taps_i, np.int64).reshape(m, 4),
            arr(taps_w, (m, 4)), arr(inv, (m,)), np.asarray(tix, np.int64),
            np.asarray(tiy, np.int64), arr(fx, (m, 4)), arr(fy, (m, 4)))


def _no_trans(trans, a):
    return {**_DPS, **a, "no_trans": bool(a.get("no_trans")) or trans is None}


def _dps_kernel(xp, data, rois, trans=None, **a):
    a = _no_trans(trans, a)
    out = _dps_infer(data, rois, trans, **a)
    o, ti, tw, inv, *_ = _dps_points(data.shape, host(rois), None if trans is None
                                     else host(trans), a)
    vals = host(data).reshape(-1)[ti]
    res = np.zeros(int(np.prod(out.shape)))
    np.add.at(res, o, (vals * tw).sum(1) * inv)
    return xp.asarray(res.reshape(out.shape).astype(data.dtype))


def _dps_bw_kernel(xp, g, data, rois, trans=None, **a):
    a = _no_trans(trans, a)
    o, ti, tw, inv, tix, tiy, fx, fy = _dps_points(
        data.shape, host(rois), None if trans is None else host(trans), a)
    gv = host(g).reshape(-1)[o] * inv
    ddata = np.bincount(ti.reshape(-1), weights=(tw * gv[:, None]).reshape(-1),
                        minlength=int(np.prod(data.shape)))
    vals = host(data).reshape(-1)[ti]
    dd = xp.asarray(ddata.reshape(data.shape).astype(data.dtype))
    if trans is None:
        return dd, xp.zeros((1,), dtype=data.dtype)   # fixed arity: a placeholder
    dtrans = np.zeros(int(np.prod(trans.shape)))
    if not a["no_trans"]:
        np.add.at(dtrans, tix, (vals * fx).sum(1) * gv)
        np.add.at(dtrans, tiy, (vals * fy).sum(1) * gv)
    return dd, xp.asarray(dtrans.reshape(trans.shape).astype(trans.dtype))


def _dps_grad(ins, outs, gouts, **a):
    dd, dt = F._backward_deformable_psroi_pooling(gouts[0], *ins, **a)
    return dd, None, (dt if ins[2] is not None else None)


_dps_samples = [Sample(rnd(2, 8, 6, 6), _rois(3, 51), rnd(3, 4, 2, 2, lo=-0.5, hi=0.5, salt=52),
                       spatial_scale=1.0, output_dim=2, group_size=2, pooled_size=2,
                       sample_per_part=2, trans_std=0.1, wrt=[0, 2]),
                Sample(rnd(1, 9, 7, 7), _rois(2, 53, 2.0, 1),
                       spatial_scale=0.5, output_dim=1, group_size=3, pooled_size=3,
                       part_size=3, sample_per_part=1, no_trans=True, wrt=[0])]

deformable_psroi_pooling = register(
    "deformable_psroi_pooling", _dps_kernel, inputs=("data", "rois", "trans?"),
    attrs=dict(_DPS), infer=_dps_infer, grad=_dps_grad, no_onnx=_NO_ONNX,
    samples=_dps_samples, no_ref="checked against MXNet 1.9.1 in tests/test_vision_ops.py",
    aliases=("DeformablePSROIPooling", "_contrib_DeformablePSROIPooling"), amp="fp32",
    doc="""Deformable position-sensitive ROI pooling (MXNet
    ``contrib.DeformablePSROIPooling``): as PSROIPooling (data (N, output_dim * group_size^2,
    H, W), rois (R, 5)), each bin shifted by trans (R, 2 * classes, part_size, part_size)
    * trans_std * the box size and averaged over sample_per_part^2 bilinear samples (points
    more than half a pixel outside skipped). ``no_trans`` ignores trans. Output (R,
    output_dim, pooled_size, pooled_size); gradients reach data and trans.

    Example::

        >>> nd.contrib.DeformablePSROIPooling(x, rois, trans, spatial_scale=0.0625,
        ...     output_dim=21, group_size=7, pooled_size=7, trans_std=0.1)
    """)

_backward_deformable_psroi_pooling = register(
    "_backward_deformable_psroi_pooling", _dps_bw_kernel,
    inputs=("grad_out", "data", "rois", "trans?"), attrs=dict(_DPS), num_outputs=2,
    infer=lambda g, d, r, t=None, **a: (Aval(tuple(d.shape), d.dtype),
                                        Aval((1,) if t is None else tuple(t.shape), d.dtype)),
    no_grad="second-order gradients of DeformablePSROIPooling are not written",
    no_onnx=_NO_ONNX, no_ref="checked through deformable_psroi_pooling's gradient test",
    samples=[Sample(rnd(3, 2, 2, 2, salt=55), *_dps_samples[0].inputs, wrt=[0],
                    **_dps_samples[0].attrs)],
    doc="The gradients of ``deformable_psroi_pooling`` w.r.t. data and trans.")
