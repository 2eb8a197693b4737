"""ONNX ``Pad`` (every opset and mode) from kiln's ``pad``, or per-axis slices and concats.

kiln's ``pad`` (MXNet's) takes 4-D/5-D data padded on the spatial axes only, in constant,
edge or reflect mode; it is used when it fits (it keeps a dynamic batch). Otherwise each padded
axis becomes a ``concat`` of the data with the border: constant blocks, the edge element
repeated, the reflected slices, or the wrapped-around slices (``wrap``). Negative pads crop
(a ``slice``). ``axes`` (opset 18) selects the padded axes.

Example: ``Pad(x, pads=[1, 2], mode='wrap')`` on ``x`` (5,) imports as
``concat(x[4:], x, x[:2])``.
"""
import numpy as np

from ..base import MXNetError
from .onnx_import_math import const, dtype_of
from .onnx_import_ops import _attrs, _ints, _sub

_KILN_MODES = ("constant", "edge", "reflect")


def _spec(imp, n):
    a = _attrs(n)
    mode = a.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    if "pads" in a:   # Pad-1/2: attributes
        return list(a["pads"]), float(a.get("value", 0.0)), None, mode
    pads = list(_ints(imp.value(n.input[1])))
    value = 0
    if len(n.input) > 2 and n.input[2]:
        value = np.asarray(imp.value(n.input[2])).reshape(-1)[0].item()
    axes = _ints(imp.value(n.input[3])) if len(n.input) > 3 and n.input[3] else None
    return pads, value, axes, mode


def pad(imp, n):
    pads, value, axes, mode = _spec(imp, n)
    r = imp.rank(n.input[0])
    axes = [ax % r for ax in axes] if axes is not None else list(range(r))
    half = len(pads) // 2
    if half != len(axes):
        raise MXNetError(f"ONNX import: Pad {n.output[0]!r}: {len(pads)} pads for "
                         f"{len(axes)} axes")
    before, after = [0] * r, [0] * r
    for ax, b, e in zip(axes, pads[:half], pads[half:]):
        before[ax], after[ax] = b, e
    x = imp.t(n.input[0])
    if any(p < 0 for p in before + after):   # negative pads crop
        x = imp.op(_sub(n, 0), "slice", [x], begin=tuple(-min(b, 0) for b in before),
                   end=tuple(min(e, 0) or None for e in after))
        before, after = [max(b, 0) for b in before], [max(e, 0) for e in after]
    if not any(before + after):
        return imp.op(n, "identity", [x])
    shape = imp.shape(n.input[0], required=False)   # None: dynamic (kiln's pad may still do)
    if shape is not None:
        shape = [s + min(b0, 0) + min(e0, 0) for s, b0, e0 in
                 zip(shape, _full(pads, axes, r, 0), _full(pads, axes, r, 1))]
    return _pad_core(imp, n, x, shape, before, after, mode, value, n)


def pad_entry(imp, n, x, shape, begins, ends, value):
    """``x`` (N, C, *spatial) of static ``shape`` padded with ``value`` on the spatial axes."""
    before, after = [0, 0] + list(begins), [0, 0] + list(ends)
    return _pad_core(imp, n, x, list(shape), before, after, "constant", value, _sub(n, 99))


def _pad_core(imp, n, x, shape, before, after, mode, value, out):
    r = len(before)
    if r in (4, 5) and not any(before[:2] + after[:2]) and mode in _KILN_MODES:
        width = tuple(v for b, e in zip(before, after) for v in (b, e))
        return imp.op(out, "pad", [x], mode=mode, pad_width=width, constant_value=float(value))
    if shape is None:
        shape = list(imp.shape(n.input[0]))   # raises: the border needs static dims
    dt = dtype_of(imp, n.input[0])
    k = 1
    for ax in range(r):
        if not (before[ax] or after[ax]):
            continue
        parts = []
        for side, width in (("b", before[ax]), ("e", after[ax])):
            if width:
                parts.append(_border(imp, n, k, x, ax, shape, side, width, mode, value, dt))
                k += 4
        x = imp.op(_sub(n, 100 + ax), "concat",
                   ([parts[0]] if before[ax] else []) + [x] + ([parts[-1]] if after[ax]
                                                              else []),
                   dim=ax, num_args=len(parts) + 1)
        shape[ax] += before[ax] + after[ax]
    return imp.op(out, "identity", [x])


def _full(pads, axes, r, which):
    half = len(pads) // 2
    out = [0] * r
    for ax, b, e in zip(axes, pads[:half], pads[half:]):
        out[ax] = (b, e)[which]
    return out


def _axis_slice(imp, n, k, x, ax, r, lo, hi, step=None):
    begin, end, stp = [None] * r, [None] * r, [None] * r
    begin[ax], end[ax], stp[ax] = lo, hi, step
    return imp.op(_sub(n, k), "slice", [x], begin=tuple(begin), end=tuple(end), step=tuple(stp))


def _border(imp, n, k, x, ax, shape, side, width, mode, value, dt):
    r, size = len(shape), shape[ax]
    if mode == "constant":
        bshape = list(shape)
        bshape[ax] = width
        return const(imp, n, k, np.full(bshape, value, dt))
    if mode == "edge":
        edge = _axis_slice(imp, n, k, x, ax, r, 0, 1) if side == "b" else \
            _axis_slice(imp, n, k, x, ax, r, size - 1, size)
        return imp.op(_sub(n, k + 1), "repeat", [edge], repeats=width, axis=ax)
    if mode == "reflect":
        if width >= size:
            raise MXNetError(f"ONNX import: Pad {n.output[0]!r}: reflect pad {width} >= dim "
                             f"{size}")
        if side == "b":   # x[width], ..., x[1]
            return _axis_slice(imp, n, k, x, ax, r, width, 0, -1)
        return _axis_slice(imp, n, k, x, ax, r, size - 2, size - 2 - width if
                           size - 2 - width >= 0 else None, -1)
    if mode == "wrap":
        if width > size:
            raise MXNetError(f"ONNX import: Pad {n.output[0]!r}: wrap pad {width} > dim {size}")
        return _axis_slice(imp, n, k, x, ax, r, size - width, size) if side == "b" else \
            _axis_slice(imp, n, k, x, ax, r, 0, width)
    raise MXNetError(f"ONNX import: Pad mode {mode!r} is not an ONNX mode")


CONVERTERS = {"Pad": pad}
