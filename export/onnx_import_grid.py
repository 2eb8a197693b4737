"""ONNX ``GridSample`` (opsets 16 and 20: 2-D and N-D, linear/nearest/cubic, zeros/border/
reflection padding, ``align_corners``) built from registry ops.

Each output position reads the input at the grid's coordinates (last grid axis: x, y[, z], the
spatial axes in reverse). Per spatial axis the normalized coordinate ``g`` in [-1, 1] becomes a
pixel coordinate (``(g + 1) / 2 * (d - 1)`` with ``align_corners``, else
``((g + 1) * d - 1) / 2``), rounded half to even for 'nearest', clamped ('border') or reflected
('reflection') when it leaves the sampling range. The interpolation taps (1, 2 or 4 per axis)
each ``gather_nd`` one value per (batch, position) from the input laid out as (N, pixels, C),
weighted by the product of the per-axis coefficients (linear ``1 - t``/``t``; cubic: Keys'
kernel with a = -0.75) and summed; a tap outside the input reads 0 ('zeros'), the clamped or
the reflected pixel. The semantics are onnx's reference implementation's (PyTorch's
``grid_sample``). Gradients reach the input (through ``gather_nd``) and the grid (through the
coefficients). Needs static shapes.

Example: ``GridSample(X (1, 1, 4, 4), grid (1, 6, 6, 2), mode='linear')`` imports as 4
weighted ``gather_nd`` taps.
"""
import itertools

import numpy as np

from ..base import MXNetError
from .onnx_import_math import const
from .onnx_import_ops import _attrs, _sub

_A = -0.75   # Keys' cubic convolution parameter (onnx and PyTorch)


def _str(v, default):
    return (v.decode() if isinstance(v, bytes) else v) if v is not None else default


class _Ops:
    """Numbered registry ops for one node (unique names)."""

    def __init__(self, imp, n):
        self.imp, self.n, self.k = imp, n, 0

    def __call__(self, name, ins, **attrs):
        self.k += 1
        return self.imp.op(_sub(self.n, 50000 + self.k), name, ins, **attrs)

    def const(self, value):
        self.k += 1
        return const(self.imp, self.n, 50000 + self.k, value)


def _reflect(op, v, lo, hi):
    """``v`` reflected by the nearer border until it lies in [lo, hi] (onnx's _gs_reflect):
    past a border by ``dx``, ``k = floor(dx / span)`` whole spans and ``r`` left over, it
    lands ``r`` inside that border when ``k`` is even, else ``r`` inside the other one."""
    span = hi - lo

    def fold(dx, inside_near, inside_far):
        k = op("floor", [op("divide", [dx, span])])
        r = op("subtract", [dx, op("multiply", [k, span])])
        even = op("equal", [op("mod", [k, 2.0]), 0.0])
        return op("where", [even, inside_near(r), inside_far(r)])
    below = fold(op("subtract", [lo, v]), lambda r: op("add", [r, lo]),
                 lambda r: op("subtract", [hi, r]))
    above = fold(op("subtract", [v, hi]), lambda r: op("subtract", [hi, r]),
                 lambda r: op("add", [r, lo]))
    return op("where", [op("lesser", [v, lo]), below,
                        op("where", [op("greater", [v, hi]), above, v])])


def _cubic(op, t):
    """Keys' coefficients for taps -1, 0, 1, 2 at fraction ``t`` in [0, 1)."""
    def near(x):   # |x| <= 1
        return op("add", [op("multiply", [op("multiply", [op("subtract", [
            op("multiply", [x, _A + 2]), _A + 3]), x]), x]), 1.0])

    def far(x):    # 1 < |x| < 2
        inner = op("add", [op("multiply", [op("subtract", [op("multiply", [x, _A]), 5 * _A]),
                                            x]), 8 * _A])
        return op("subtract", [op("multiply", [inner, x]), 4 * _A])
    one_minus = op("subtract", [1.0, t])
    return [far(op("add", [t, 1.0])), near(t), near(one_minus),
            far(op("add", [one_minus, 1.0]))]


def _grid_sample(imp, n):
    a = _attrs(n)
    mode = _str(a.get("mode"), "linear" if imp.opset >= 20 else "bilinear")
    mode = {"bilinear": "linear", "bicubic": "cubic"}.get(mode, mode)
    pad = _str(a.get("padding_mode"), "zeros")
    align = bool(a.get("align_corners", 0))
    if mode not in ("linear", "nearest", "cubic") or pad not in ("zeros", "border",
                                                                 "reflection"):
        raise MXNetError(f"ONNX import: GridSample {n.output[0]!r}: mode {mode!r} / "
                         f"padding_mode {pad!r} is not one of ONNX's")
    xs, gs = imp.shape(n.input[0]), imp.shape(n.input[1])
    N, C, dims = xs[0], xs[1], list(xs[2:])
    out = tuple(gs[1:-1])
    D = len(dims)
    if gs[-1] != D or gs[0] != N:
        raise MXNetError(f"ONNX import: GridSample {n.output[0]!r}: grid {gs} does not fit "
                         f"the input {xs}")
    op = _Ops(imp, n)
    grid = imp.t(n.input[1])
    taps = []
    for i, d in enumerate(dims):   # spatial axis i reads grid component D - 1 - i
        g = op("reshape", [op("slice_axis", [grid], axis=-1, begin=D - 1 - i, end=D - i)],
               shape=(N,) + out)
        x = op("multiply", [op("add", [g, 1.0]), (d - 1) / 2.0]) if align else \
            op("divide", [op("subtract", [op("multiply", [op("add", [g, 1.0]), float(d)]),
                                          1.0]), 2.0])
        if mode == "nearest":
            x = op("rint", [x])   # half to even, as onnx (and PyTorch)
        lo, hi = (0.0, d - 1.0) if align else (-0.5, d - 0.5)
        if pad == "border":   # only past the sampling range: cubic taps may still overhang
            z = op("zeros_like", [x])
            x = op("where", [op("lesser", [x, lo]), z, op("where", [
                op("greater", [x, hi]), op("add", [z, float(d - 1)]), x])])
        elif pad == "reflection":
            x = _reflect(op, x, lo, hi)
        if mode == "nearest":
            taps.append([(x, None)])
            continue
        base = op("floor", [x])
        t = op("subtract", [x, base])
        offs = (0, 1) if mode == "linear" else (-1, 0, 1, 2)
        coef = [op("subtract", [1.0, t]), t] if mode == "linear" else _cubic(op, t)
        taps.append([(op("add", [base, float(o)]) if o else base, w)
                     for o, w in zip(offs, coef)])
    # the input as (N, pixels, C): one gather_nd per tap reads all channels at once
    table = op("transpose", [op("reshape", [imp.t(n.input[0])], shape=(N, C, -1))],
               axes=(0, 2, 1))
    from .onnx_import_math import dtype_of
    batch = op.const(np.broadcast_to(np.arange(N, dtype=dtype_of(imp, n.input[1])).reshape(
        (N,) + (1,) * len(out)), (N,) + out).copy())
    strides = [int(np.prod(dims[i + 1:])) for i in range(D)]
    acc = None
    for combo in itertools.product(*taps):
        flat, weight, inside = None, None, None
        for i, (idx, w) in enumerate(combo):
            d = dims[i]
            if pad == "zeros":
                ok = op("multiply", [op("greater_equal", [idx, 0.0]),
                                     op("lesser", [idx, float(d)])])
                inside = ok if inside is None else op("multiply", [inside, ok])
                idx = op("clip", [idx], a_min=0.0, a_max=float(d - 1))
            elif pad == "border":
                idx = op("clip", [idx], a_min=0.0, a_max=float(d - 1))
            else:   # onnx truncates the reflected tap toward zero
                lo, hi = (0.0, d - 1.0) if align else (-0.5, d - 0.5)
                idx = op("trunc", [_reflect(op, idx, lo, hi)])
            part = op("multiply", [idx, float(strides[i])]) if strides[i] != 1 else idx
            flat = part if flat is None else op("add", [flat, part])
            if w is not None:
                weight = w if weight is None else op("multiply", [weight, w])
        if inside is not None:
            weight = inside if weight is None else op("multiply", [weight, inside])
        index = op("stack", [batch, flat], axis=0, num_args=2)
        v = op("gather_nd", [table, index])                     # (N, *out, C)
        if weight is not None:
            v = op("multiply", [v, op("expand_dims", [weight], axis=-1)])
        acc = v if acc is None else op("add", [acc, v])
    r = len(out) + 2
    return imp.op(n, "transpose", [acc], axes=(0, r - 1) + tuple(range(1, r - 1)))


CONVERTERS = {"GridSample": _grid_sample}
