"""ONNX ``Resize`` (opset 10-19) and ``Upsample`` as per-axis products with constant matrices.

Every mode of Resize is separable: along each resized axis the output is a fixed linear
combination of the input samples (nearest: one-hot rows; linear/cubic, with or without
antialias: the kernel's coefficients). The (in, out) matrix of an axis is computed at import
time by onnx's reference 1-D interpolation applied to the identity, so every coordinate mode
(half_pixel, pytorch_half_pixel, align_corners, asymmetric, tf_crop_and_resize...),
``nearest_mode``, ``cubic_coeff_a``, ``exclude_outside``, ``axes`` and
``keep_aspect_ratio_policy`` follow ONNX's definition exactly; kiln computes ``dot(x, W)``
along each axis (gradients reach ``x``). ``tf_crop_and_resize`` outside the roi gives
``extrapolation_value`` (a ``where`` with a constant mask). Needs the input's static shape.

Example: ``Resize(x (1, 1, 2, 2), scales=[1, 1, 2, 2], mode='nearest')`` imports as two
``dot``s with (2, 4) 0/1 matrices (rows 0 and 1 each repeated twice).
"""
import math

import numpy as np

from ..base import MXNetError
from .onnx_import_math import const, dtype_of
from .onnx_import_ops import _attrs, _sub


def _s(v, default):
    v = default if v is None else v
    return v.decode() if isinstance(v, bytes) else v


def _coeffs(a):
    """The reference's coefficient function for the node's mode (as Resize._run picks it)."""
    from onnx.reference.ops import op_resize as ref
    mode = _s(a.get("mode"), "nearest")
    if mode == "nearest":
        nearest = _s(a.get("nearest_mode"), "round_prefer_floor")
        return lambda x, scale: ref._nearest_coeffs(x, mode=nearest)
    if mode == "cubic":
        fn = ref._cubic_coeffs_antialias if a.get("antialias") else ref._cubic_coeffs
        cubic_a = float(a.get("cubic_coeff_a", -0.75))
        return lambda x, scale: fn(x, scale, A=cubic_a)
    if mode == "linear":
        return ref._linear_coeffs_antialias if a.get("antialias") else ref._linear_coeffs
    raise MXNetError(f"ONNX import: Resize mode {mode!r} is not an ONNX mode")


def _operand(imp, n, k):
    if len(n.input) > k and n.input[k]:
        v = np.asarray(imp.value(n.input[k]))
        return v if v.size else None
    return None


def _plan(imp, n, a, shape):
    """``(scales, output sizes, roi)`` per axis, as onnx's reference computes them."""
    r = len(shape)
    if n.op_type == "Upsample" or imp.opset < 11:
        scales = a.get("scales") if "scales" in a else _operand(imp, n, 1)
        roi, sizes = None, None
    else:
        roi, scales, sizes = _operand(imp, n, 1), _operand(imp, n, 2), _operand(imp, n, 3)
    axes = [ax % r for ax in a["axes"]] if "axes" in a else list(range(r))
    full_scales, full_sizes, full_roi = [1.0] * r, list(shape), [0.0] * r + [1.0] * r
    for i, d in enumerate(axes):
        if scales is not None:
            full_scales[d] = float(np.asarray(scales).reshape(-1)[i])
        if sizes is not None:
            full_sizes[d] = int(np.asarray(sizes).reshape(-1)[i])
        if roi is not None:
            full_roi[d], full_roi[r + d] = float(roi[i]), float(roi[len(axes) + i])
    if sizes is not None:
        full_scales = [full_sizes[i] / shape[i] for i in range(r)]
        policy = _s(a.get("keep_aspect_ratio_policy"), "stretch")
        if policy != "stretch":
            pick = min if policy == "not_larger" else max
            scale = pick(full_scales[d] for d in axes)
            full_scales = [scale if i in axes else 1.0 for i in range(r)]
            full_sizes = [int(scale * shape[i] + 0.5) if i in axes else shape[i]
                          for i in range(r)]
    else:
        full_sizes = [int(s * d) for s, d in zip(full_scales, shape)]
    return full_scales, full_sizes, (full_roi if roi is not None else None), axes


def resize(imp, n):
    from onnx.reference.ops import op_resize as ref
    a = _attrs(n)
    shape = imp.shape(n.input[0])
    r = len(shape)
    scales, sizes, roi, axes = _plan(imp, n, a, shape)
    legacy = n.op_type == "Upsample" or imp.opset < 11
    ctm = "asymmetric" if legacy else _s(a.get("coordinate_transformation_mode"), "half_pixel")
    if legacy and _s(a.get("mode"), "nearest") == "nearest":
        a = dict(a, nearest_mode=b"floor")
    fct = _coeffs(a)
    extra = dict(coordinate_transformation_mode=ctm, exclude_outside=bool(a.get("exclude_outside",
                                                                              0)))
    dt = dtype_of(imp, n.input[0])
    x = imp.t(n.input[0])
    if dt.kind != "f":
        x = imp.op(_sub(n, 95), "cast", [x], dtype="float64")
    outside = None
    k = 0
    for ax in axes:
        in_len, out_len = shape[ax], sizes[ax]
        ax_roi = None if roi is None else [roi[ax], roi[ax + r]]
        if math.isclose(scales[ax], 1.0) and out_len == in_len and \
                (ax_roi is None or (math.isclose(ax_roi[0], 0) and math.isclose(ax_roi[1], 1))):
            continue   # the identity along this axis (the reference skips it too)
        w = ref._interpolate_1d_along_axis(np.eye(in_len), 1, float(scales[ax]), out_len, fct,
                                           roi=ax_roi, extrapolation_value=0.0, **extra)
        if ctm == "tf_crop_and_resize":
            m = ref._interpolate_1d_along_axis(np.zeros((1, in_len)), 1, float(scales[ax]),
                                               out_len, fct, roi=ax_roi,
                                               extrapolation_value=1.0, **extra)[0] > 0.5
            view = [1] * r
            view[ax] = out_len
            m = m.reshape(view)
            outside = m if outside is None else outside | m
        x = _along(imp, n, k, x, ax, r, w.astype(dt if dt.kind == "f" else np.float64))
        k += 3
    if outside is not None:
        value = float(a.get("extrapolation_value", 0.0))
        fill = imp.op(_sub(n, 90), "add", [imp.op(_sub(n, 91), "zeros_like", [x]), value])
        x = imp.op(_sub(n, 92), "where", [const(imp, n, 92, np.broadcast_to(
            outside, tuple(sizes)).copy()), fill, x])
    if dt.kind != "f":   # the reference computes in float64 and casts back (saturating)
        info = np.iinfo(dt)
        x = imp.op(_sub(n, 93), "clip", [imp.op(_sub(n, 94), "rint", [x])],
                   a_min=float(info.min), a_max=float(info.max))
        return imp.op(n, "cast", [x], dtype=dt.name)
    return imp.op(n, "identity", [x])


def _along(imp, n, k, x, ax, r, w):
    """``x`` contracted with ``w`` (in, out) along axis ``ax``."""
    if ax == r - 1:
        return imp.op(_sub(n, k), "dot", [x, const(imp, n, k, w)])
    perm = tuple(d for d in range(r) if d != ax) + (ax,)
    y = imp.op(_sub(n, k), "transpose", [x], axes=perm)
    y = imp.op(_sub(n, k + 1), "dot", [y, const(imp, n, k, w)])
    return imp.op(_sub(n, k + 2), "transpose", [y], axes=tuple(int(v) for v in np.argsort(perm)))


CONVERTERS = {"Resize": resize, "Upsample": resize}
