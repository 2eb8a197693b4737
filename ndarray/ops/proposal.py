"""MXNet 1.9's region-proposal ops of Faster R-CNN: ``contrib.Proposal`` (one image) and
``contrib.MultiProposal`` (a batch).

For every feature-map cell and anchor (``ratios`` x ``scales`` boxes of ``feature_stride``
pixels, shifted by the cell's position) the foreground score (the second half of cls_prob's
channels) and the box regression give a proposal, clipped to the image; proposals smaller
than ``rpn_min_size`` (times im_info's scale) or on padded cells score -1. The best
``rpn_pre_nms_top_n`` go through greedy NMS (IoU > ``threshold``, pixel-inclusive areas) and
the first ``rpn_post_nms_top_n`` kept are returned, cycling through the kept ones when fewer
survive. A sequential scan on the host; MXNet's gradient is zero: none here.
"""
import math

import numpy as np

from ...base import OpError
from .._registry import Aval, Sample, register
from ._boxes import device, host
from ._samples import rnd

_ATTRS = {"rpn_pre_nms_top_n": 6000, "rpn_post_nms_top_n": 300, "threshold": 0.7,
          "rpn_min_size": 16, "scales": (4.0, 8.0, 16.0, 32.0), "ratios": (0.5, 1.0, 2.0),
          "feature_stride": 16, "output_score": False, "iou_loss": False}


def anchors(stride, ratios, scales):
    """(len(ratios) * len(scales), 4) base anchors, ratio-major (py-faster-rcnn's rule)."""
    size = float(stride) * stride
    ctr = 0.5 * (stride - 1.0)
    out = []
    for r in ratios:
        base_w = math.floor(math.sqrt(math.floor(size / r)) + 0.5)
        base_h = math.floor(base_w * r + 0.5)
        for s in scales:
            w, h = base_w * s, base_h * s
            out.append([ctr - 0.5 * (w - 1), ctr - 0.5 * (h - 1),
                        ctr + 0.5 * (w - 1), ctr + 0.5 * (h - 1)])
    return np.array(out)


def _infer(cls_prob, bbox_pred, im_info, batch, **a):
    a = {**_ATTRS, **a}
    n, c2, h, w = cls_prob.shape
    na = len(a["ratios"]) * len(a["scales"])
    if c2 != 2 * na or tuple(bbox_pred.shape) != (n, 4 * na, h, w) \
            or tuple(im_info.shape) != (n, 3):
        raise OpError(f"Proposal: cls_prob (N, 2A, H, W), bbox_pred (N, 4A, H, W), im_info "
                      f"(N, 3) with A = {na} anchors expected, got {cls_prob.shape}, "
                      f"{bbox_pred.shape}, {im_info.shape}")
    if not batch and n != 1:
        raise OpError("Proposal: one image only (MultiProposal takes a batch)")
    rows = n * int(a["rpn_post_nms_top_n"])
    outs = (Aval((rows, 5), cls_prob.dtype), Aval((rows, 1), cls_prob.dtype))
    return outs if a["output_score"] else outs[0]


def _nms(d, thresh, limit):
    area = (d[:, 2] - d[:, 0] + 1) * (d[:, 3] - d[:, 1] + 1)
    sup = np.zeros(len(d), bool)
    keep = []
    for i in range(len(d)):
        if len(keep) >= limit:
            break
        if sup[i]:
            continue
        keep.append(i)
        iw = np.maximum(0, np.minimum(d[i, 2], d[:, 2]) - np.maximum(d[i, 0], d[:, 0]) + 1)
        ih = np.maximum(0, np.minimum(d[i, 3], d[:, 3]) - np.maximum(d[i, 1], d[:, 1]) + 1)
        inter = iw * ih
        sup |= (np.arange(len(d)) > i) & (inter / (area[i] + area - inter) > thresh)
    return np.array(keep, np.int64)


def _one(score, delta, info, a):
    na, h, w = score.shape
    stride = a["feature_stride"]
    base = anchors(stride, a["ratios"], a["scales"])                  # (A, 4)
    sy, sx = np.meshgrid(np.arange(h) * stride, np.arange(w) * stride, indexing="ij")
    shift = np.stack([sx, sy, sx, sy], -1)[:, :, None, :]              # (H, W, 1, 4)
    box = (shift + base).reshape(-1, 4)                                # cell-major, then anchor
    d = delta.reshape(na, 4, h, w).transpose(2, 3, 0, 1).reshape(-1, 4)
    sc = score.transpose(1, 2, 0).reshape(-1).copy()
    if a["iou_loss"]:
        pred = box + d
    else:
        bw, bh = box[:, 2] - box[:, 0] + 1, box[:, 3] - box[:, 1] + 1
        cx, cy = box[:, 0] + 0.5 * (bw - 1), box[:, 1] + 0.5 * (bh - 1)
        px, py = d[:, 0] * bw + cx, d[:, 1] * bh + cy
        pw, ph = np.exp(d[:, 2]) * bw, np.exp(d[:, 3]) * bh
        pred = np.stack([px - 0.5 * (pw - 1), py - 0.5 * (ph - 1),
                         px + 0.5 * (pw - 1), py + 0.5 * (ph - 1)], -1)
    lim = np.array([info[1], info[0], info[1], info[0]]) - 1.0
    pred = np.clip(pred, 0.0, lim)
    rh, rw = int(info[0] / stride), int(info[1] / stride)
    cell_y, cell_x = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    pad = np.repeat(((cell_y >= rh) | (cell_x >= rw)).reshape(-1), na)
    sc[pad] = -1.0
    mn = a["rpn_min_size"] * info[2]
    small = (pred[:, 2] - pred[:, 0] + 1 < mn) | (pred[:, 3] - pred[:, 1] + 1 < mn)
    pred[small] += np.array([-mn / 2, -mn / 2, mn / 2, mn / 2])      # as MXNet's FilterBox
    sc[small] = -1.0
    count = len(sc)
    pre = min(a["rpn_pre_nms_top_n"] if a["rpn_pre_nms_top_n"] > 0 else count, count)
    order = np.argsort(-sc, kind="stable")[:pre]
    dets = np.concatenate([pred[order], sc[order, None]], 1)
    keep = _nms(dets, a["threshold"], min(a["rpn_post_nms_top_n"], pre))
    pick = keep[np.arange(a["rpn_post_nms_top_n"]) % len(keep)]
    return dets[pick]


def _kernel(xp, cls_prob, bbox_pred, im_info, batch=False, **a):
    a = {**_ATTRS, **a}
    _infer(cls_prob, bbox_pred, im_info, batch, **a)
    cp, bp, info = (host(v).astype(np.float64) for v in (cls_prob, bbox_pred, im_info))
    na = cp.shape[1] // 2
    rows, scores = [], []
    for b in range(cp.shape[0]):
        d = _one(cp[b, na:], bp[b], info[b], a)
        rows.append(np.concatenate([np.full((len(d), 1), float(b)), d[:, :4]], 1))
        scores.append(d[:, 4:])
    out = device(xp, np.concatenate(rows), cls_prob.dtype)
    return (out, device(xp, np.concatenate(scores), cls_prob.dtype)) if a["output_score"] \
        else out


def _samples(n):
    prob = rnd(n, 4, 3, 4, lo=0.0, hi=1.0, salt=31)
    info = np.array([[40.0, 56.0, 1.0]] * n)
    common = {"scales": (1.0, 2.0), "ratios": (1.0,), "feature_stride": 16,
              "rpn_min_size": 4, "grad": False}
    return [Sample(prob, rnd(n, 8, 3, 4, lo=-0.3, hi=0.3, salt=32), info,
                   rpn_pre_nms_top_n=12, rpn_post_nms_top_n=6, threshold=0.5, **common),
            Sample(prob, rnd(n, 8, 3, 4, lo=-3.0, hi=3.0, salt=33), info,
                   rpn_pre_nms_top_n=-1, rpn_post_nms_top_n=10, threshold=0.3,
                   output_score=True, iou_loss=True, **common)]


def _register(name, batch, aliases, doc):
    return register(
        name, lambda xp, *ins, **a: _kernel(xp, *ins, batch=batch, **a),
        inputs=("cls_prob", "bbox_pred", "im_info"), attrs=dict(_ATTRS),
        infer=lambda *ins, **a: _infer(*ins, batch, **a),
        num_outputs=lambda a: 2 if a.get("output_score") else 1,
        no_grad="proposals are a piecewise constant selection (MXNet: zero gradient)",
        no_onnx="data-dependent greedy scan (MXNet's RPN op); no ONNX lowering is written",
        ref=lambda *ins, **a: _kernel(np, *ins, batch=batch, **a),
        samples=_samples(2 if batch else 1), aliases=aliases, amp="widest", doc=doc)


proposal = _register("proposal", False, ("Proposal", "_contrib_Proposal"), """Region
    proposals of one image (MXNet ``contrib.Proposal``): cls_prob (1, 2A, H, W), bbox_pred
    (1, 4A, H, W), im_info (1, 3) = (height, width, scale), A = len(ratios) * len(scales).
    Output (rpn_post_nms_top_n, 5) rows (0, x1, y1, x2, y2), plus the scores
    (rpn_post_nms_top_n, 1) with ``output_score``. ``iou_loss`` adds the regression to the
    corners instead of decoding (dx, dy, dw, dh).

    Example::

        >>> rois = nd.contrib.Proposal(cls_prob, bbox_pred, im_info, rpn_post_nms_top_n=300)
    """)

multi_proposal = _register("multi_proposal", True, ("MultiProposal", "_contrib_MultiProposal"),
                           """Region proposals of a batch (MXNet ``contrib.MultiProposal``):
    as ``Proposal`` for each image b of cls_prob (N, 2A, H, W), bbox_pred (N, 4A, H, W),
    im_info (N, 3); output (N * rpn_post_nms_top_n, 5) rows (b, x1, y1, x2, y2) (and the
    scores with ``output_score``).

    Example::

        >>> rois = nd.contrib.MultiProposal(cls_prob, bbox_pred, im_info)
    """)
