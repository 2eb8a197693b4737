"""MXNet 1.9's box utilities of ``nd.contrib``: box_iou, box_nms, box_encode, box_decode and
bipartite_matching.

``box_nms`` keeps MXNet's fixed output shape: the kept boxes first (best score first), every
other row filled with -1; its gradient copies each kept row's gradient back to the row it came
from (``_box_nms_index`` gives that map). ``box_iou``, ``box_encode``, ``box_decode`` and
``bipartite_matching`` have zero gradients in MXNet, so none here.
"""
import numpy as np

from ...base import OpError
from .. import ops as F
from .._registry import REQUIRED, Aval, Sample, register
from ._boxes import check_format, device, host, iou, nms_keep, to_center, to_corner
from ._samples import rnd

_NO_ONNX = "data-dependent greedy scan (MXNet's detection op); no ONNX lowering is written"


def _corner_boxes(n, salt, batch=()):
    """Valid random corner boxes, shape batch + (n, 4)."""
    lo = rnd(*batch, n, 2, lo=0.0, hi=0.6, salt=salt)
    wh = rnd(*batch, n, 2, lo=0.1, hi=0.5, salt=salt + 1)
    return np.concatenate([lo, lo + wh], -1)


# ---- box_iou ----------------------------------------------------------------------------------
def _iou_infer(lhs, rhs, format="corner"):
    check_format(format, "box_iou")
    if lhs.shape[-1] != 4 or rhs.shape[-1] != 4:
        raise OpError(f"box_iou: the last axis must be 4, got {lhs.shape} and {rhs.shape}")
    return Aval(tuple(lhs.shape[:-1]) + tuple(rhs.shape[:-1]), lhs.dtype)


def _iou_kernel(xp, lhs, rhs, format="corner"):
    _iou_infer(lhs, rhs, format)
    return iou(xp, to_corner(xp, lhs, format), to_corner(xp, rhs, format))


box_iou = register(
    "box_iou", _iou_kernel, inputs=("lhs", "rhs"), attrs={"format": "corner"},
    infer=_iou_infer, no_grad="MXNet's gradient of box_iou is zero", no_onnx=_NO_ONNX,
    ref=lambda lhs, rhs, format="corner": _iou_kernel(np, lhs, rhs, format),
    samples=[Sample(_corner_boxes(3, 1), _corner_boxes(4, 3)),
             Sample(_corner_boxes(6, 1).reshape(2, 3, 4), _corner_boxes(2, 5), format="center")],
    aliases=("_contrib_box_iou",), amp="widest",
    doc="""Intersection over union of every box of ``lhs`` (..., 4) with every box of ``rhs``
    (..., 4): shape lhs.shape[:-1] + rhs.shape[:-1]. ``format``: 'corner' (xmin, ymin, xmax,
    ymax) or 'center' (x, y, w, h).

    Example::

        >>> nd.contrib.box_iou(nd.array([[0, 0, 1, 1]]), nd.array([[0, 0, 1, 2]]))  # [[0.5]]
    """)


# ---- box_nms ----------------------------------------------------------------------------------
_NMS_ATTRS = {"overlap_thresh": 0.5, "valid_thresh": 0.0, "topk": -1, "coord_start": 2,
              "score_index": 1, "id_index": -1, "background_id": -1, "force_suppress": False,
              "in_format": "corner", "out_format": "corner"}


def _nms_infer(data, **a):
    a = {**_NMS_ATTRS, **a}
    if len(data.shape) < 2:
        raise OpError(f"box_nms: data must be (..., N, K), got {data.shape}")
    k = data.shape[-1]
    if not (0 <= a["coord_start"] <= k - 4 and 0 <= a["score_index"] < k
            and a["id_index"] < k):
        raise OpError(f"box_nms: coord_start/score_index/id_index out of range for width {k}")
    check_format(a["in_format"], "box_nms")
    check_format(a["out_format"], "box_nms")
    return Aval(tuple(data.shape), data.dtype)


def _nms_order(d, a):
    """(B, N) int64: for each output row the input row it holds, -1 for padding."""
    b, n, _ = d.shape
    cs = a["coord_start"]
    out = np.full((b, n), -1, np.int64)
    for i in range(b):
        score = d[i, :, a["score_index"]]
        valid = score > a["valid_thresh"]
        ids = d[i, :, a["id_index"]] if a["id_index"] >= 0 else None
        if ids is not None and a["background_id"] >= 0:
            valid &= ids != a["background_id"]
        rows = np.flatnonzero(valid)
        boxes = to_corner(np, d[i, rows, cs:cs + 4], a["in_format"])
        keep = nms_keep(boxes, score[rows], a["overlap_thresh"],
                        None if ids is None else ids[rows], bool(a["force_suppress"]), a["topk"])
        out[i, :len(keep)] = rows[keep]
    return out


def _nms_index_kernel(xp, data, **a):
    a = {**_NMS_ATTRS, **a}
    _nms_infer(data, **a)
    d = host(data)
    order = _nms_order(d.reshape((-1,) + d.shape[-2:]), a)
    return device(xp, order.reshape(d.shape[:-1]).astype(d.dtype))


def _nms_kernel(xp, data, **a):
    a = {**_NMS_ATTRS, **a}
    idx = host(_nms_index_kernel(xp, data, **a)).astype(np.int64)
    d = host(data)
    src = np.take_along_axis(d, np.maximum(idx, 0)[..., None], axis=-2)
    if a["in_format"] != a["out_format"]:
        cs = a["coord_start"]
        c = to_corner(np, src[..., cs:cs + 4], a["in_format"])
        src[..., cs:cs + 4] = c if a["out_format"] == "corner" else to_center(np, c)
    return device(xp, np.where(idx[..., None] >= 0, src, -1).astype(d.dtype))


def _format_vjp(g, cs, in_format, out_format):
    """The gradient through the in_format -> out_format conversion of columns cs..cs+4 (MXNet
    copies the gradient unconverted, which is wrong whenever the formats differ)."""
    if in_format == out_format:
        return g
    k = g.shape[-1]
    c = [F.slice_axis(g, axis=-1, begin=cs + i, end=cs + i + 1) for i in range(4)]
    if out_format == "center":     # (x1, y1, x2, y2) -> ((x1 + x2) / 2, ..., x2 - x1, ...)
        new = [c[0] * 0.5 - c[2], c[1] * 0.5 - c[3], c[0] * 0.5 + c[2], c[1] * 0.5 + c[3]]
    else:                          # (x, y, w, h) -> (x - w / 2, ..., x + w / 2, ...)
        new = [c[0] + c[2], c[1] + c[3], (c[2] - c[0]) * 0.5, (c[3] - c[1]) * 0.5]
    parts = ([F.slice_axis(g, axis=-1, begin=0, end=cs)] if cs else []) + new
    if cs + 4 < k:
        parts.append(F.slice_axis(g, axis=-1, begin=cs + 4, end=k))
    return F.concat(*parts, dim=-1)


def _nms_grad(ins, outs, gouts, **a):
    data = ins[0]
    full = {**_NMS_ATTRS, **a}
    g = _format_vjp(gouts[0], full["coord_start"], full["in_format"], full["out_format"])
    idx = _box_nms_index(data, **a)
    n = data.shape[-2]
    # row j of the output came from row idx[j]: route its gradient there (padding rows: nowhere)
    hit = F.broadcast_equal(F.expand_dims(idx, axis=-1),
                            F.arange(n, dtype=np.dtype(data.dtype).name))
    lead = tuple(data.shape[:-2])
    flat = (-1,) + tuple(data.shape[-2:])
    gin = F.batch_dot(F.reshape(hit, shape=(-1, n, n)), F.reshape(g, shape=flat),
                      transpose_a=True)
    return (F.reshape(gin, shape=lead + tuple(data.shape[-2:])),)


def _nms_samples():
    boxes = _corner_boxes(6, 7, batch=(2,))
    boxes[:, 1] = boxes[:, 0] + 0.02           # near-duplicates, so something is suppressed
    score = rnd(2, 6, 1, lo=0.05, hi=1.0, salt=9)
    cls = np.array([0, 1, 0, 1, 1, 0], float).reshape(1, 6, 1).repeat(2, 0)
    data = np.concatenate([cls, score, boxes], -1)
    return [Sample(data, coord_start=2, score_index=1, id_index=0),
            Sample(data, overlap_thresh=0.3, valid_thresh=0.2, topk=4, coord_start=2,
                   score_index=1, id_index=0, force_suppress=True, out_format="center"),
            # ids are integers compared for equality: no finite differences across them
            Sample(data[0], overlap_thresh=0.4, coord_start=2, score_index=1, id_index=0,
                   background_id=1, in_format="center", grad=False),
            Sample(data[:, :, 1:], coord_start=1, score_index=0)]


_box_nms_index = register(
    "_box_nms_index", _nms_index_kernel, attrs=dict(_NMS_ATTRS),
    infer=lambda data, **a: Aval(tuple(_nms_infer(data, **a).shape[:-1]), data.dtype),
    no_grad="an index map: piecewise constant", no_onnx=_NO_ONNX,
    no_ref="checked through box_nms's reference and gradient",
    samples=_nms_samples()[:2],
    doc="For each output row of ``box_nms`` the input row it holds (-1 for padding), shape "
        "data.shape[:-1], data's dtype.")

box_nms = register(
    "box_nms", _nms_kernel, attrs=dict(_NMS_ATTRS), infer=_nms_infer, grad=_nms_grad,
    no_onnx=_NO_ONNX, ref=lambda data, **a: _nms_kernel(np, data, **a), samples=_nms_samples(),
    aliases=("_contrib_box_nms", "_contrib_box_non_maximum_suppression",
             "box_non_maximum_suppression"), amp="widest",
    doc="""Non-maximum suppression over (..., N, K) rows (MXNet ``contrib.box_nms``): rows
    with score (column ``score_index``) > ``valid_thresh`` (and, with ``id_index`` >= 0, id
    != ``background_id``) are sorted by score, cut to ``topk``, and a row is dropped when its
    IoU with a better kept row exceeds ``overlap_thresh`` (only rows of the same id unless
    ``force_suppress``). Output: same shape, kept rows first, the rest -1; the box (columns
    ``coord_start``..+4) converted from ``in_format`` to ``out_format``. The gradient goes
    back to each kept row's source (through the format conversion, which MXNet ignores).

    Example::

        >>> d = nd.array([[0, .9, 0, 0, 1, 1], [0, .8, .1, .1, 1, 1]])
        >>> nd.contrib.box_nms(d, id_index=0)   # second row suppressed: [[0 .9 0 0 1 1] [-1 ...]]
    """)


# ---- box_encode / box_decode -----------------------------------------------------------------
def _encode_infer(samples, matches, anchors, refs, means, stds):
    if tuple(anchors.shape) != tuple(samples.shape) + (4,) or refs.shape[-1] != 4:
        raise OpError(f"box_encode: anchors must be samples.shape + (4,), refs (B, M, 4); got "
                      f"{samples.shape}, {anchors.shape}, {refs.shape}")
    return Aval(tuple(anchors.shape), anchors.dtype), Aval(tuple(anchors.shape), anchors.dtype)


def _encode_kernel(xp, samples, matches, anchors, refs, means, stds):
    _encode_infer(samples, matches, anchors, refs, means, stds)
    idx = xp.clip(matches.astype(np.int64), 0, refs.shape[1] - 1)
    ref = xp.take_along_axis(refs, idx[..., None], axis=1)
    a, r = to_center(xp, anchors), to_center(xp, ref)
    t = xp.stack([(r[..., 0] - a[..., 0]) / a[..., 2], (r[..., 1] - a[..., 1]) / a[..., 3],
                  xp.log(r[..., 2] / a[..., 2]), xp.log(r[..., 3] / a[..., 3])], -1)
    pos = (samples > 0.5)[..., None]
    t = (t - means) / stds
    return (xp.where(pos, t, 0).astype(anchors.dtype),
            xp.broadcast_to(pos, anchors.shape).astype(anchors.dtype))


box_encode = register(
    "box_encode", _encode_kernel, inputs=("samples", "matches", "anchors", "refs", "means",
                                          "stds"),
    attrs={}, infer=_encode_infer, num_outputs=2, no_onnx=_NO_ONNX,
    no_grad="MXNet defines no gradient for box_encode (a training-target op)",
    ref=lambda *a: _encode_kernel(np, *a),
    samples=[Sample(np.array([[1.0, -1.0, 1.0], [0.0, 1.0, 1.0]]),
                    np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]]), _corner_boxes(3, 2, (2,)),
                    _corner_boxes(2, 4, (2,)), np.array([0.0, 0.1, 0.0, -0.1]),
                    np.array([0.1, 0.1, 0.2, 0.2]))],
    aliases=("_contrib_box_encode",),
    doc="""Encode matched ground-truth boxes against anchors (MXNet ``contrib.box_encode``):
    samples (B, N) (> 0.5 positive), matches (B, N) indices into refs (B, M, 4), anchors
    (B, N, 4) corner, means/stds (4,). Returns (targets, masks), both (B, N, 4): targets
    ``((dx/w, dy/h, log(gw/w), log(gh/h)) - means) / stds`` on positive rows, masks 1 there.

    Example::

        >>> t, m = nd.contrib.box_encode(s, matches, anchors, refs, means, stds)
    """)

_DEC_ATTRS = {"std0": 1.0, "std1": 1.0, "std2": 1.0, "std3": 1.0, "clip": -1.0,
              "format": "center"}


def _decode_infer(data, anchors, **a):
    check_format(a.get("format", "center"), "box_decode")
    if data.shape[-1] != 4 or anchors.shape[-1] != 4:
        raise OpError(f"box_decode: data (B, N, 4) and anchors (1, N, 4) expected, got "
                      f"{data.shape} and {anchors.shape}")
    return Aval(tuple(data.shape), data.dtype)


def _decode_kernel(xp, data, anchors, std0=1.0, std1=1.0, std2=1.0, std3=1.0, clip=-1.0,
                   format="center"):
    _decode_infer(data, anchors, format=format)
    a = to_center(xp, anchors) if format == "corner" else anchors
    dw, dh = data[..., 2] * std2, data[..., 3] * std3
    if clip > 0:
        dw, dh = xp.minimum(dw, clip), xp.minimum(dh, clip)
    x = data[..., 0] * std0 * a[..., 2] + a[..., 0]
    y = data[..., 1] * std1 * a[..., 3] + a[..., 1]
    w, h = xp.exp(dw) * a[..., 2] / 2, xp.exp(dh) * a[..., 3] / 2
    return xp.stack([x - w, y - h, x + w, y + h], -1).astype(data.dtype)


box_decode = register(
    "box_decode", _decode_kernel, inputs=("data", "anchors"), attrs=dict(_DEC_ATTRS),
    infer=_decode_infer, no_grad="MXNet's gradient of box_decode is zero", no_onnx=_NO_ONNX,
    ref=lambda data, anchors, **a: _decode_kernel(np, data, anchors, **a),
    samples=[Sample(rnd(2, 3, 4), _corner_boxes(3, 6, (1,))),
             Sample(rnd(2, 3, 4, lo=-2, hi=3), _corner_boxes(3, 6, (1,)), std0=0.1, std1=0.1,
                    std2=0.2, std3=0.2, clip=0.3, format="corner")],
    aliases=("_contrib_box_decode",),
    doc="""Decode box offsets data (B, N, 4) against anchors (1, N, 4) (``format`` of the
    anchors: 'center' or 'corner'): ``x = d0*std0*aw + ax``, ``w = exp(min(d2*std2, clip)) *
    aw`` (clip when > 0), likewise y/h. Output corner boxes (B, N, 4).

    Example::

        >>> nd.contrib.box_decode(nd.zeros((1, 1, 4)), nd.array([[[.5, .5, 1, 1]]]))  # [0 0 1 1]
    """)


# ---- bipartite_matching ----------------------------------------------------------------------
def _bm_infer(data, is_ascend=False, threshold=REQUIRED, topk=-1):
    if len(data.shape) < 2:
        raise OpError(f"bipartite_matching: data must be (..., N, M), got {data.shape}")
    return (Aval(tuple(data.shape[:-1]), data.dtype),
            Aval(tuple(data.shape[:-2]) + (data.shape[-1],), data.dtype))


def _bm_one(s, is_ascend, threshold, topk):
    n, m = s.shape
    rows, cols = np.full(n, -1.0), np.full(m, -1.0)
    flat = s.reshape(-1)
    order = np.argsort(flat if is_ascend else -flat, kind="stable")
    count = 0
    for k in order:
        v = flat[k]
        if (v >= threshold) if is_ascend else (v <= threshold):
            break
        r, c = divmod(int(k), m)
        if rows[r] < 0 and cols[c] < 0:
            rows[r], cols[c] = c, r
            count += 1
            if 0 < topk < count:   # MXNet stops once the count exceeds topk
                break
    return rows, cols


def _bm_kernel(xp, data, is_ascend=False, threshold=REQUIRED, topk=-1):
    d = host(data)
    flat = d.reshape((-1,) + d.shape[-2:])
    res = [_bm_one(s, bool(is_ascend), float(threshold), int(topk)) for s in flat]
    rows = np.stack([r for r, _ in res]).reshape(d.shape[:-1])
    cols = np.stack([c for _, c in res]).reshape(d.shape[:-2] + (d.shape[-1],))
    return device(xp, rows, d.dtype), device(xp, cols, d.dtype)


bipartite_matching = register(
    "bipartite_matching", _bm_kernel, attrs={"is_ascend": False, "threshold": REQUIRED, "topk": -1},
    infer=_bm_infer, num_outputs=2, no_grad="a matching: piecewise constant (MXNet: none)",
    no_onnx=_NO_ONNX, ref=lambda data, **a: _bm_kernel(np, data, **a),
    samples=[Sample(rnd(2, 4, 3, lo=0, hi=1), threshold=0.1),
             Sample(rnd(4, 3, lo=0, hi=1), threshold=0.0, topk=1),
             Sample(rnd(2, 3, lo=0, hi=1), threshold=0.6, is_ascend=True)],
    aliases=("_contrib_bipartite_matching",),
    doc="""Greedy bipartite matching of a score matrix data (..., N, M): pairs are taken best
    score first (lowest with ``is_ascend``) while the score passes ``threshold``, each row and
    column at most once; ``topk`` > 0 stops after topk + 1 matches (MXNet's count). Returns
    (row_match (..., N), col_match (..., M)): the matched column / row, -1 when none.

    Example::

        >>> r, c = nd.contrib.bipartite_matching(nd.array([[.5, .1], [.6, .7]]), threshold=0)
        >>> r    # [0. 1.]
    """)
