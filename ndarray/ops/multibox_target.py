"""MXNet 1.9's SSD training-target and decoding ops: ``contrib.MultiBoxTarget`` and
``contrib.MultiBoxDetection`` (``npx.multibox_target`` / ``npx.multibox_detection``).

Both are sequential, data-dependent scans (greedy matching, hard-negative mining, NMS) that run
on the host in numpy, one image at a time, in MXNet's order so that ties break the same way.
MXNet gives neither a gradient (their inputs are anchors, labels and predictions that a loss
consumes separately): none here.
"""
import numpy as np

from ...base import OpError
from .._registry import Aval, Sample, register
from ._boxes import device, host, iou
from ._samples import rnd

_NO_ONNX = "data-dependent greedy scan (MXNet's SSD op); no ONNX lowering is written"
_VAR = (0.1, 0.1, 0.2, 0.2)
_T_ATTRS = {"overlap_threshold": 0.5, "ignore_label": -1.0, "negative_mining_ratio": -1.0,
            "negative_mining_thresh": 0.5, "minimum_negative_samples": 0, "variances": _VAR}


# ---- MultiBoxTarget ---------------------------------------------------------------------------
def _target_infer(anchor, label, cls_pred, **_):
    if len(anchor.shape) != 3 or anchor.shape[-1] != 4 or len(label.shape) != 3 \
            or label.shape[-1] < 5 or len(cls_pred.shape) != 3:
        raise OpError(f"MultiBoxTarget: anchor (1, N, 4), label (B, M, >=5), cls_pred (B, C, N) "
                      f"expected, got {anchor.shape}, {label.shape}, {cls_pred.shape}")
    b, n = label.shape[0], anchor.shape[1]
    return (Aval((b, n * 4), anchor.dtype), Aval((b, n * 4), anchor.dtype),
            Aval((b, n), anchor.dtype))


def _encode(anchor, gt, var):
    """SSD offsets of corner boxes ``gt`` against corner ``anchor`` (both (K, 4))."""
    aw, ah = anchor[:, 2] - anchor[:, 0], anchor[:, 3] - anchor[:, 1]
    gw, gh = gt[:, 2] - gt[:, 0], gt[:, 3] - gt[:, 1]
    ax, ay = (anchor[:, 0] + anchor[:, 2]) / 2, (anchor[:, 1] + anchor[:, 3]) / 2
    gx, gy = (gt[:, 0] + gt[:, 2]) / 2, (gt[:, 1] + gt[:, 3]) / 2
    return np.stack([(gx - ax) / aw / var[0], (gy - ay) / ah / var[1],
                     np.log(gw / aw) / var[2], np.log(gh / ah) / var[3]], -1)


def _match(ov):
    """Greedy one-to-one matching, best overlap first (> 1e-6); MXNet's scan order breaks
    ties. Returns (flags (N,) 1 for matched else -1, best (N,) overlap, gt (N,) index)."""
    n, m = ov.shape
    flags, best, gt = np.full(n, -1), np.full(n, -1.0), np.full(n, -1)
    free_gt = np.ones(m, bool)
    while free_gt.any():
        cand = np.where((flags != 1)[:, None] & free_gt[None, :], ov, -np.inf)
        k = int(np.argmax(cand))          # first maximum in row-major order, as MXNet's scan
        j, g = divmod(k, m)
        if not cand[j, g] > 1e-6:
            break
        flags[j], best[j], gt[j], free_gt[g] = 1, cand[j, g], g, False
    return flags, best, gt


def _target_one(anchor, label, cls_pred, a):
    n = anchor.shape[0]
    loc, mask, cls = np.zeros((n, 4)), np.zeros((n, 4)), np.full(n, float(a["ignore_label"]))
    valid = 0
    while valid < label.shape[0] and label[valid, 0] != -1.0:
        valid += 1
    if valid == 0:
        return loc, mask, cls
    ov = iou(np, anchor, label[:valid, 1:5])                     # (N, valid)
    flags, best, gt = _match(ov)
    rest = flags != 1
    best[rest], gt[rest] = ov[rest].max(1), ov[rest].argmax(1)
    if a["overlap_threshold"] > 0:
        flags[rest & (best > a["overlap_threshold"])] = 1
    npos = int((flags == 1).sum())
    if a["negative_mining_ratio"] > 0:
        nneg = min(int(npos * a["negative_mining_ratio"]), n - npos)
        nneg = max(nneg, min(int(a["minimum_negative_samples"]), n - npos))
        cand = np.flatnonzero((flags == -1) & (best < a["negative_mining_thresh"]))
        p = cls_pred[:, cand]
        e = np.exp(p - p.max(0))
        bg = e[0] / e.sum(0)
        # hardest negatives first: lowest background probability (a stable sort, as MXNet)
        flags[cand[np.argsort(bg, kind="stable")[:nneg]]] = 0
    else:
        flags[flags != 1] = 0
    pos = flags == 1
    cls[pos] = label[gt[pos], 0] + 1
    cls[flags == 0] = 0
    mask[pos] = 1
    loc[pos] = _encode(anchor[pos], label[gt[pos], 1:5], a["variances"])
    return loc, mask, cls


def _target_kernel(xp, anchor, label, cls_pred, **a):
    a = {**_T_ATTRS, **a}
    _target_infer(anchor, label, cls_pred)
    if len(a["variances"]) != 4:
        raise OpError("MultiBoxTarget: variances must have 4 values")
    an, lb, cp = (host(v).astype(np.float64) for v in (anchor, label, cls_pred))
    res = [_target_one(an[0], lb[i], cp[i], a) for i in range(lb.shape[0])]
    dt = anchor.dtype
    return (device(xp, np.stack([r[0].reshape(-1) for r in res]), dt),
            device(xp, np.stack([r[1].reshape(-1) for r in res]), dt),
            device(xp, np.stack([r[2] for r in res]), dt))


def _anchors(n, salt):
    lo = rnd(1, n, 2, lo=0.0, hi=0.7, salt=salt)
    return np.concatenate([lo, lo + rnd(1, n, 2, lo=0.1, hi=0.3, salt=salt + 1)], -1)


def _labels():
    lab = np.full((2, 3, 5), -1.0)
    lab[0, :2] = [[0, 0.1, 0.1, 0.4, 0.5], [2, 0.5, 0.4, 0.9, 0.8]]
    lab[1, :1] = [[1, 0.3, 0.2, 0.6, 0.7]]
    return lab


multibox_target = register(
    "multibox_target", _target_kernel, inputs=("anchor", "label", "cls_pred"),
    attrs=dict(_T_ATTRS), infer=_target_infer, num_outputs=3, no_onnx=_NO_ONNX,
    no_grad="training targets: MXNet's gradient of MultiBoxTarget is zero",
    ref=lambda *ins, **a: _target_kernel(np, *ins, **a),
    samples=[Sample(_anchors(8, 1), _labels(), rnd(2, 4, 8, salt=3)),
             Sample(_anchors(8, 1), _labels(), rnd(2, 4, 8, salt=3), overlap_threshold=0.3,
                    negative_mining_ratio=2.0, negative_mining_thresh=0.4,
                    variances=(0.2, 0.2, 0.3, 0.3))],
    aliases=("MultiBoxTarget", "_contrib_MultiBoxTarget", "_npx_multibox_target"), amp="fp32",
    doc="""SSD training targets (MXNet ``contrib.MultiBoxTarget``): anchor (1, N, 4) corner
    boxes, label (B, M, 5+) rows (class, xmin, ymin, xmax, ymax) padded with -1, cls_pred
    (B, num_classes + 1, N). Each ground truth takes its best free anchor (greedy), then
    every other anchor whose best IoU > ``overlap_threshold`` is positive; with
    ``negative_mining_ratio`` > 0 only the ratio * positives hardest negatives (lowest
    background softmax, best IoU < ``negative_mining_thresh``) are negatives, the rest get
    ``ignore_label``. Returns (loc_target (B, N*4), loc_mask (B, N*4), cls_target (B, N)):
    offsets ``((gx-ax)/aw, (gy-ay)/ah, log(gw/aw), log(gh/ah)) / variances``, class + 1
    (0 = background).

    Example::

        >>> loc, mask, cls = nd.contrib.MultiBoxTarget(anchors, labels, cls_preds)
    """)


# ---- MultiBoxDetection ------------------------------------------------------------------------
_D_ATTRS = {"clip": True, "threshold": 0.01, "background_id": 0, "nms_threshold": 0.5,
            "force_suppress": False, "variances": _VAR, "nms_topk": -1}


def _det_infer(cls_prob, loc_pred, anchor, **_):
    b, _, n = cls_prob.shape
    if tuple(loc_pred.shape) != (b, n * 4) or tuple(anchor.shape)[1:] != (n, 4):
        raise OpError(f"MultiBoxDetection: cls_prob (B, C, N), loc_pred (B, N*4), anchor "
                      f"(1, N, 4) expected, got {cls_prob.shape}, {loc_pred.shape}, "
                      f"{anchor.shape}")
    return Aval((b, n, 6), cls_prob.dtype)


def _decode(anchor, loc, clip, var):
    aw, ah = anchor[:, 2] - anchor[:, 0], anchor[:, 3] - anchor[:, 1]
    ax, ay = (anchor[:, 0] + anchor[:, 2]) / 2, (anchor[:, 1] + anchor[:, 3]) / 2
    ox, oy = loc[:, 0] * var[0] * aw + ax, loc[:, 1] * var[1] * ah + ay
    ow, oh = np.exp(loc[:, 2] * var[2]) * aw / 2, np.exp(loc[:, 3] * var[3]) * ah / 2
    out = np.stack([ox - ow, oy - oh, ox + ow, oy + oh], -1)
    return np.clip(out, 0, 1) if clip else out


def _det_one(prob, loc, anchor, a):
    c, n = prob.shape
    out = np.full((n, 6), -1.0)
    bg = int(a["background_id"])
    cand = np.delete(np.arange(c), bg) if 0 <= bg < c else np.arange(c)
    score = prob[cand].max(0)
    cls = cand[prob[cand].argmax(0)]
    keep = np.flatnonzero(score >= a["threshold"])
    rows = np.concatenate([(cls[keep] - (cls[keep] > bg))[:, None], score[keep, None],
                           _decode(anchor[keep], loc[keep], a["clip"], a["variances"])], 1)
    nv = len(rows)
    out[:nv] = rows
    if nv == 0 or not 0 < a["nms_threshold"] <= 1:
        return out
    order = np.argsort(-rows[:, 1], kind="stable")
    nkeep = nv if not 0 < a["nms_topk"] < nv else int(a["nms_topk"])
    # MXNet re-orders only the top nkeep rows; the rest keep their unsorted place, dropped
    out[:nkeep] = rows[order[:nkeep]]
    out[nkeep:nv, 0] = -1
    ov = iou(np, out[:nv, 2:], out[:nv, 2:])
    for i in range(nv):
        if out[i, 0] < 0:
            continue
        later = np.arange(nv) > i
        same = np.ones(nv, bool) if a["force_suppress"] else out[:nv, 0] == out[i, 0]
        out[:nv, 0][later & same & (out[:nv, 0] >= 0) & (ov[i] >= a["nms_threshold"])] = -1
    return out


def _det_kernel(xp, cls_prob, loc_pred, anchor, **a):
    a = {**_D_ATTRS, **a}
    _det_infer(cls_prob, loc_pred, anchor)
    p, lp, an = (host(v).astype(np.float64) for v in (cls_prob, loc_pred, anchor))
    b, _, n = p.shape
    res = [_det_one(p[i], lp[i].reshape(n, 4), an[0], a) for i in range(b)]
    return device(xp, np.stack(res), cls_prob.dtype)


def _det_samples():
    prob = rnd(2, 3, 8, lo=0.0, hi=1.0, salt=5)
    prob /= prob.sum(1, keepdims=True)
    return [Sample(prob, rnd(2, 32, lo=-0.5, hi=0.5, salt=6), _anchors(8, 1)),
            Sample(prob, rnd(2, 32, lo=-0.5, hi=0.5, salt=6), _anchors(8, 1), clip=False,
                   threshold=0.2, background_id=1, nms_threshold=0.3, force_suppress=True,
                   nms_topk=3)]


multibox_detection = register(
    "multibox_detection", _det_kernel, inputs=("cls_prob", "loc_pred", "anchor"),
    attrs=dict(_D_ATTRS), infer=_det_infer, no_onnx=_NO_ONNX,
    no_grad="detections are a piecewise constant selection (MXNet: zero gradient)",
    ref=lambda *ins, **a: _det_kernel(np, *ins, **a), samples=_det_samples(),
    aliases=("MultiBoxDetection", "_contrib_MultiBoxDetection", "_npx_multibox_detection"),
    amp="fp32",
    doc="""SSD detections (MXNet ``contrib.MultiBoxDetection``): cls_prob (B, C, N), loc_pred
    (B, N*4) offsets, anchor (1, N, 4). Each anchor takes its best non-background class
    (dropped when the probability < ``threshold``), its box decoded with ``variances``
    (clipped to [0, 1] with ``clip``); rows are sorted by score and greedy NMS
    (IoU >= ``nms_threshold``, same class unless ``force_suppress``) sets the class of
    suppressed rows to -1. Output (B, N, 6): (class, score, xmin, ymin, xmax, ymax), -1 rows
    padding.

    Example::

        >>> dets = nd.contrib.MultiBoxDetection(cls_prob, loc_pred, anchors)
    """)
