"""MXNet 1.9's SSD anchor generator ``contrib.MultiBoxPrior`` (``npx.multibox_prior``).

For every pixel (r, c) of a (N, C, H, W) feature map, anchors centred at
``((c + offsets[1]) * step_x, (r + offsets[0]) * step_y)`` (steps default to 1/W, 1/H):
one per size with ratio 1, then one per further ratio with ``sizes[0]``; half-width
``size * H / W * sqrt(ratio) / 2``, half-height ``size / sqrt(ratio) / 2`` (MXNet scales
widths by the map's aspect ratio). Output (1, H * W * (len(sizes) + len(ratios) - 1), 4)
corner boxes, clipped to [0, 1] with ``clip``. MXNet's gradient is zero: none here.
"""
import math

import numpy as np

from ...base import OpError
from .._registry import Aval, Sample, register
from ._samples import rnd

_ATTRS = {"sizes": (1.0,), "ratios": (1.0,), "clip": False, "steps": (-1.0, -1.0),
          "offsets": (0.5, 0.5)}


def _shapes(sizes, ratios):
    """(half-width factor, half-height) per anchor, before the aspect correction."""
    sizes, ratios = [float(s) for s in sizes], [float(r) for r in ratios]
    out = [(s / 2, s / 2) for s in sizes]
    out += [(sizes[0] * math.sqrt(r) / 2, sizes[0] / math.sqrt(r) / 2) for r in ratios[1:]]
    return out


def _prior_infer(data, **a):
    a = {**_ATTRS, **a}
    if len(data.shape) != 4:
        raise OpError(f"MultiBoxPrior: data must be (N, C, H, W), got {data.shape}")
    if not a["sizes"] or not a["ratios"]:
        raise OpError("MultiBoxPrior: sizes and ratios must not be empty")
    n = len(_shapes(a["sizes"], a["ratios"]))
    return Aval((1, data.shape[2] * data.shape[3] * n, 4), data.dtype)


def _prior_kernel(xp, data, **a):
    a = {**_ATTRS, **a}
    out = _prior_infer(data, **a)
    h, w = data.shape[2], data.shape[3]
    sy = a["steps"][0] if a["steps"][0] > 0 else 1.0 / h
    sx = a["steps"][1] if a["steps"][1] > 0 else 1.0 / w
    cy = (np.arange(h) + a["offsets"][0]) * sy
    cx = (np.arange(w) + a["offsets"][1]) * sx
    half = np.array([(hw * h / w, hh) for hw, hh in _shapes(a["sizes"], a["ratios"])])
    cy, cx = np.meshgrid(cy, cx, indexing="ij")                       # (H, W)
    ctr = np.stack([cx, cy], -1)[:, :, None, :]                        # (H, W, 1, 2)
    boxes = np.concatenate([ctr - half, ctr + half], -1).reshape(out.shape)
    if a["clip"]:
        boxes = np.clip(boxes, 0.0, 1.0)
    return xp.asarray(boxes.astype(data.dtype))


multibox_prior = register(
    "multibox_prior", _prior_kernel, attrs=dict(_ATTRS), infer=_prior_infer,
    no_grad="MXNet's gradient of MultiBoxPrior is zero (anchors depend on the shape only)",
    no_onnx="anchors depend on the input's shape only: an exported graph holds them as a "
            "constant; no lowering is written",
    ref=lambda data, **a: _prior_kernel(np, data, **a),
    samples=[Sample(rnd(1, 2, 2, 3), sizes=(0.5, 0.25), ratios=(1.0, 2.0)),
             Sample(rnd(2, 1, 3, 2), sizes=(0.9,), clip=True, steps=(0.3, 0.2),
                    offsets=(0.2, 0.7))],
    aliases=("_contrib_MultiBoxPrior", "_npx_multibox_prior"), amp="fp32",
    doc="""SSD anchor boxes for a (N, C, H, W) feature map (MXNet ``contrib.MultiBoxPrior``):
    output (1, H * W * (len(sizes) + len(ratios) - 1), 4) corner boxes in [0, 1] units.

    Example::

        >>> nd.contrib.MultiBoxPrior(nd.zeros((1, 3, 2, 2)), sizes=(.5,)).shape   # (1, 4, 4)
    """)
