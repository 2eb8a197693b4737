"""Box arithmetic shared by the detection ops (box_ops.py, multibox.py, proposal.py).

Boxes are ``(..., 4)`` arrays, ``corner`` = (xmin, ymin, xmax, ymax) or ``center`` = (x, y, w,
h). The data-dependent loops (NMS, greedy matching) run on the host in numpy: they are short
sequential scans that a GPU would serialize anyway; ``host``/``device`` move arrays across.
"""
import numpy as np

from ...base import OpError


def host(a):
    """``a`` as a numpy array (cupy arrays are copied to the host)."""
    return np.asarray(a.get() if hasattr(a, "get") else a)


def device(xp, a, dtype=None):
    """The numpy array ``a`` on ``xp``'s device, in ``dtype`` when given."""
    return xp.asarray(a if dtype is None else np.asarray(a, dtype=dtype))


def check_format(fmt, op):
    if fmt not in ("corner", "center"):
        raise OpError(f"{op}: format must be 'corner' or 'center', got {fmt!r}")


def to_corner(xp, b, fmt):
    """(..., 4) boxes of format ``fmt`` as corner boxes."""
    if fmt == "corner":
        return b
    x, y, w, h = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return xp.stack([x - w / 2, y - h / 2, x + w / 2, y + h / 2], axis=-1)


def to_center(xp, b):
    """(..., 4) corner boxes as center boxes."""
    w, h = b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]
    return xp.stack([b[..., 0] + w / 2, b[..., 1] + h / 2, w, h], axis=-1)


def iou(xp, a, b):
    """IoU of every corner box of ``a`` (..., 4) with every one of ``b`` (..., 4): shape
    a.shape[:-1] + b.shape[:-1]; 0 where the union is not positive (MXNet's rule)."""
    a = a.reshape(a.shape[:-1] + (1,) * (b.ndim - 1) + (4,))
    iw = xp.maximum(xp.minimum(a[..., 2], b[..., 2]) - xp.maximum(a[..., 0], b[..., 0]), 0)
    ih = xp.maximum(xp.minimum(a[..., 3], b[..., 3]) - xp.maximum(a[..., 1], b[..., 1]), 0)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    union = area_a + area_b - inter
    return xp.where(union > 0, inter / xp.where(union > 0, union, 1), 0).astype(a.dtype)


def nms_keep(boxes, scores, thresh, ids=None, force=True, topk=-1):
    """Greedy non-maximum suppression on the host: the positions kept, best score first.

    ``boxes`` (N, 4) corner, ``scores`` (N,) already filtered; a box suppresses a later one
    whose IoU with it exceeds ``thresh`` (only one of the same id unless ``force``). ``topk``
    > 0 keeps only the ``topk`` best candidates before suppressing.
    """
    order = np.argsort(-scores, kind="stable")
    if topk is not None and topk > 0:
        order = order[:topk]
    alive = np.ones(len(order), bool)
    ov = iou(np, boxes[order], boxes[order])
    keep = []
    for i in range(len(order)):
        if not alive[i]:
            continue
        keep.append(order[i])
        later = np.arange(len(order)) > i
        hit = later & (ov[i] > thresh)
        if ids is not None and not force:
            hit &= ids[order] == ids[order[i]]
        alive &= ~hit
    return np.asarray(keep, np.int64)
