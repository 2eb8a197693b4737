"""Shape ops: reshape (with MXNet's special codes), transpose, expand/squeeze, flatten, concat,
stack, split, broadcasting and depth/space rearrangement.

Broadcasting and diag live in ``shape_broadcast.py``; slicing, tiling, flipping and padding in
``shape_slicing.py`` (both imported at the end so they register with this family). Every op here
is linear, so gradients are other shape ops and second-order gradients come for free.

Results are fresh arrays, as with MXNet's operators, so an in-place update of a result never
reaches the input; only ``reshape`` returns a view (MXNet's ``NDArray.reshape`` shares memory).
"""
import math

import numpy as np

from ...base import OpError
from .. import ops as F
from .._registry import REQUIRED, Aval, Sample, register
from ._rules import norm_axis
from ._samples import rnd
from ._xp import ROWS_MIN, row_blocks


def ituple(v):
    """An attribute as a tuple of ints (None -> (), an int -> (v,))."""
    if v is None:
        return ()
    if isinstance(v, (int, np.integer)):
        return (int(v),)
    return tuple(int(a) for a in v)


def _dtype(x):
    return np.dtype(x.dtype)


def _like(x, shape):
    return Aval(tuple(int(s) for s in shape), _dtype(x))


# ---- reshape ---------------------------------------------------------------------------------
def _split_dim(d0, d1, d2):
    if d1 == -1 and d2 == -1:
        raise OpError("reshape: the two dims after -4 cannot both be -1")
    if d1 == -1:
        d1 = d0 // d2 if d2 else 0
    if d2 == -1:
        d2 = d0 // d1 if d1 else 0
    if d1 * d2 != d0:
        raise OpError(f"reshape: split dims {d1}, {d2} do not divide dim {d0}")
    return [d1, d2]


def _apply_codes(src, codes):
    """Left-to-right pass over MXNet's codes; returns (dims, index of the -1 dim or -1)."""
    out, j, inf, i = [], 0, -1, 0
    while i < len(codes):
        c = codes[i]
        if c == 0:
            if j >= len(src):
                raise OpError(f"reshape: code 0 at position {i} has no input dim to copy")
            out.append(src[j])
            j += 1
        elif c == -1:
            if inf >= 0:
                raise OpError("reshape: only one dim can be inferred (-1)")
            inf = len(out)
            out.append(1)
            j += 1
        elif c == -2:
            out.extend(src[j:])
            j = len(src)
        elif c == -3:
            if j + 1 >= len(src):
                raise OpError("reshape: code -3 needs two input dims to merge")
            out.append(src[j] * src[j + 1])
            j += 2
        elif c == -4:
            if i + 2 >= len(codes) or j >= len(src):
                raise OpError("reshape: code -4 needs an input dim and two values after it")
            out += _split_dim(src[j], codes[i + 1], codes[i + 2])
            j += 1
            i += 2
        elif c > 0:
            out.append(c)
            j += 1
        else:
            raise OpError(f"reshape: invalid code {c}")
        i += 1
    return out, inf


def reshape_shape(src, shape, reverse=False):
    """Output shape of MXNet's reshape for input shape ``src`` and codes ``shape``.

    Codes: 0 copies a dim, -1 infers one, -2 copies the rest, -3 merges two dims, -4 splits one
    into the next two values. ``reverse`` applies them right to left. E.g. ``(2, 3, 4)`` with
    ``(-3, -1)`` gives ``(6, 4)``.
    """
    src, codes = [int(s) for s in src], list(ituple(shape))
    if reverse:
        src, codes = src[::-1], codes[::-1]
    out, inf = _apply_codes(src, codes)
    size = math.prod(src)
    if inf >= 0:
        rest = math.prod(out)
        if rest == 0 or size % rest:
            raise OpError(f"reshape: cannot infer -1 in {tuple(shape)} for input "
                          f"{tuple(src[::-1] if reverse else src)}")
        out[inf] = size // rest
    if reverse:
        out.reverse()
    if math.prod(out) != size:
        raise OpError(f"reshape: cannot reshape array of shape "
                      f"{tuple(src[::-1] if reverse else src)} into {tuple(out)} "
                      f"(codes {tuple(shape)})")
    return tuple(out)


def _legacy_codes(shape, target_shape, keep_highest):
    """MXNet's deprecated ``target_shape`` (0 = infer) and ``keep_highest``, as modern codes."""
    if ituple(shape) or not target_shape:
        return shape
    codes = [-1 if s == 0 else s for s in ituple(target_shape)]
    if keep_highest:
        codes[0] = 0
    return tuple(codes)


def _reshape_out(shape_in, shape=(), reverse=False, target_shape=None, keep_highest=False):
    return reshape_shape(shape_in, _legacy_codes(shape, target_shape, keep_highest), reverse)


def _reshape_kernel(xp, x, shape=(), reverse=False, target_shape=None, keep_highest=False):
    """Reshape ``x`` with MXNet's codes (see ``reshape_shape``).

    Example: ``nd.reshape(x, shape=(-4, 2, -1, -2))`` on a ``(4, 3)`` array gives ``(2, 2, 3)``.
    """
    if not reverse and target_shape is None and all(
            type(s) is int and s > 0 for s in shape):  # plain shapes skip the code parser
        return x.reshape(shape)
    return x.reshape(_reshape_out(x.shape, shape, reverse, target_shape, keep_highest))


def _reshape_samples():
    x = rnd(2, 3, 4)
    cases = [((4, -1), (4, 6)), ((0, -1), (2, 12)), ((-2,), (2, 3, 4)), ((-3, 4), (6, 4)),
             ((-4, 1, 2, -2), (1, 2, 3, 4)), ((2, -4, -1, 3, 4), (2, 1, 3, 4)),
             ((6, 1, -1), (6, 1, 4)), ((0, -3), (2, 12)), ((-1,), (24,))]
    out = [Sample(x, shape=c, ref=lambda x, e=e, **_: x.reshape(e)) for c, e in cases]
    out.append(Sample(rnd(3, 5, 2), shape=(-1, 0), reverse=True,
                      ref=lambda x, **_: x.reshape(15, 2)))
    out.append(Sample(rnd(6, 4), shape=(2, 3, -4, 0), reverse=True,
                      ref=lambda x, **_: x.reshape(2, 3, 4)))
    return out


reshape = register(
    "reshape", _reshape_kernel,
    attrs={"shape": (), "reverse": False, "target_shape": None, "keep_highest": False},
    infer=lambda x, **a: _like(x, _reshape_out(x.shape, **a)),
    grad=lambda i, o, g, **a: (F.reshape(g[0], shape=tuple(i[0].shape)),),
    onnx=lambda g, i, a, o, **_: g.op("Reshape", i[0], g.ints(o[0].shape)),
    samples=_reshape_samples(), second_order=True, keeps_size=True,
    no_ref="per-sample references with hand-derived shapes", aliases=("Reshape",))


def _rl_shape(lhs, rhs, lhs_begin=None, lhs_end=None, rhs_begin=None, rhs_end=None):
    ls, rs = tuple(lhs), tuple(rhs)
    lb, le = slice(lhs_begin, lhs_end).indices(len(ls))[:2]
    rb, re_ = slice(rhs_begin, rhs_end).indices(len(rs))[:2]
    out = ls[:lb] + rs[rb:re_] + ls[le:]
    if math.prod(out) != math.prod(ls):
        raise OpError(f"reshape_like: cannot reshape {ls} into {out}")
    return out


reshape_like = register(
    "reshape_like", lambda xp, a, b, **at: a.reshape(_rl_shape(a.shape, b.shape, **at)).copy(),
    inputs=("lhs", "rhs"),
    attrs={"lhs_begin": None, "lhs_end": None, "rhs_begin": None, "rhs_end": None},
    infer=lambda a, b, **at: _like(a, _rl_shape(a.shape, b.shape, **at)),
    grad=lambda i, o, g, **a: (F.reshape(g[0], shape=tuple(i[0].shape)), None),
    onnx=lambda g, i, a, o, **_: g.op("Reshape", i[0], g.ints(o[0].shape)),
    samples=[Sample(rnd(2, 6), rnd(3, 4), wrt=[0]),
             Sample(rnd(6, 2), rnd(1, 2, 3), lhs_begin=0, lhs_end=1, rhs_begin=1, rhs_end=3,
                    wrt=[0]),
             Sample(rnd(2, 3, 4), rnd(6, 5), lhs_begin=0, lhs_end=2, rhs_begin=0, rhs_end=1,
                    wrt=[0])],
    ref=lambda a, b, **at: a.reshape(_rl_shape(a.shape, b.shape, **at)),
    doc="""Reshape ``lhs`` to ``rhs``'s shape, or splice ``rhs.shape[rhs_begin:rhs_end]``
    in place of ``lhs.shape[lhs_begin:lhs_end]``.

    Example: ``reshape_like(x (2, 6), y (3, 4))`` has shape ``(3, 4)``.""",
    second_order=True)


# ---- axis permutations -----------------------------------------------------------------------
def _perm(ndim, axes):
    axes = ituple(axes)
    if not axes:
        return tuple(range(ndim))[::-1]
    perm = tuple(norm_axis(a, ndim, "transpose") for a in axes)
    if sorted(perm) != list(range(ndim)):
        raise OpError(f"transpose: axes {axes} are not a permutation of {ndim} dims")
    return perm


def _transpose_kernel(xp, x, axes=None):
    """Permute the axes (reverse them by default). ``(2, 3, 4)`` with ``axes=(1, 0, 2)`` gives
    ``(3, 2, 4)``."""
    view = xp.transpose(x, _perm(x.ndim, axes))
    if xp is np and view.size >= ROWS_MIN and view.ndim and view.shape[0] > 1:
        return row_blocks(np.empty(view.shape, view.dtype),   # memory-bound
                          lambda lo, hi, o: np.copyto(o, view[lo:hi]))
    return view.copy()


transpose = register(
    "transpose", _transpose_kernel, attrs={"axes": None},
    infer=lambda x, axes=None: _like(x, [x.shape[p] for p in _perm(len(x.shape), axes)]),
    grad=lambda i, o, g, axes=None: (F.transpose(g[0], axes=tuple(
        int(k) for k in np.argsort(_perm(len(i[0].shape), axes)))),),
    onnx=lambda g, i, a, o, axes=None: g.op("Transpose", i[0],
                                            perm=list(_perm(len(a[0].shape), axes))),
    samples=[Sample(rnd(2, 3)), Sample(rnd(2, 3, 4), axes=(1, 0, 2)),
             Sample(rnd(2, 3, 4), axes=(2, 0, 1)), Sample(rnd(2, 1, 3, 2), axes=(-1, 0, 2, 1))],
    ref=lambda x, axes=None: np.transpose(x, tuple(axes) if axes else None), second_order=True)


def _swap_perm(ndim, dim1, dim2):
    p = list(range(ndim))
    a, b = norm_axis(dim1, ndim, "swapaxes"), norm_axis(dim2, ndim, "swapaxes")
    p[a], p[b] = p[b], p[a]
    return tuple(p)


swapaxes = register(
    "swapaxes", lambda xp, x, dim1=0, dim2=0: xp.swapaxes(x, int(dim1), int(dim2)).copy(),
    attrs={"dim1": 0, "dim2": 0},
    infer=lambda x, dim1=0, dim2=0: _like(
        x, [x.shape[p] for p in _swap_perm(len(x.shape), dim1, dim2)]),
    grad=lambda i, o, g, dim1=0, dim2=0: (F.swapaxes(g[0], dim1=dim1, dim2=dim2),),
    onnx=lambda g, i, a, o, dim1=0, dim2=0: g.op(
        "Transpose", i[0], perm=list(_swap_perm(len(a[0].shape), dim1, dim2))),
    samples=[Sample(rnd(2, 3, 4), dim1=0, dim2=2), Sample(rnd(2, 3), dim1=1, dim2=-2),
             Sample(rnd(2, 3))],
    ref=lambda x, dim1=0, dim2=0: np.swapaxes(x, dim1, dim2),
    doc="""Swap two axes: ``swapaxes(x (2, 3, 4), dim1=0, dim2=2)`` is ``(4, 3, 2)``.""",
    second_order=True,
    aliases=("SwapAxis",))


# ---- adding and removing unit axes -----------------------------------------------------------
def _expand_shape(shape, axis):
    shape = list(shape)
    shape.insert(norm_axis(axis, len(shape) + 1, "expand_dims"), 1)
    return tuple(shape)


expand_dims = register(
    "expand_dims", lambda xp, x, axis: x.reshape(_expand_shape(x.shape, axis)).copy(),
    attrs={"axis": REQUIRED},
    infer=lambda x, axis: _like(x, _expand_shape(x.shape, axis)),
    grad=lambda i, o, g, axis: (F.reshape(g[0], shape=tuple(i[0].shape)),),
    onnx=lambda g, i, a, o, axis: g.op(
        "Unsqueeze", i[0], g.ints([norm_axis(axis, len(a[0].shape) + 1)])),
    samples=[Sample(rnd(2, 3), axis=0), Sample(rnd(2, 3), axis=2), Sample(rnd(2, 3), axis=-1),
             Sample(rnd(4), axis=-2)],
    ref=lambda x, axis: np.expand_dims(x, axis),
    doc="""Insert a size-1 axis at ``axis``: ``expand_dims(x (2, 3), axis=1)`` is ``(2, 1, 3)``.""",
    second_order=True)


def _squeeze_axes(shape, axis):
    if axis is None:
        return tuple(k for k, s in enumerate(shape) if s == 1)
    axes = tuple(sorted({norm_axis(a, len(shape), "squeeze") for a in ituple(axis)}))
    bad = [a for a in axes if shape[a] != 1]
    if bad:
        raise OpError(f"squeeze: cannot squeeze axis {bad[0]} of size {shape[bad[0]]} "
                      f"(shape {tuple(shape)})")
    return axes


def _squeeze_shape(shape, axis):
    axes = _squeeze_axes(shape, axis)
    # MXNet keeps at least one dim: squeezing every axis gives (1,), not a scalar
    return tuple(s for k, s in enumerate(shape) if k not in axes) or (1,)


def _squeeze_onnx(g, i, a, o, axis=None):
    shape = tuple(a[0].shape)
    axes = _squeeze_axes(shape, axis)
    if len(axes) == len(shape) or not axes:
        return g.op("Reshape", i[0], g.ints(o[0].shape))
    return g.op("Squeeze", i[0], g.ints(axes))


squeeze = register(
    "squeeze", lambda xp, x, axis=None: x.reshape(_squeeze_shape(x.shape, axis)).copy(),
    attrs={"axis": None},
    infer=lambda x, axis=None: _like(x, _squeeze_shape(x.shape, axis)),
    grad=lambda i, o, g, axis=None: (F.reshape(g[0], shape=tuple(i[0].shape)),),
    onnx=_squeeze_onnx,
    samples=[Sample(rnd(1, 3, 1)), Sample(rnd(1, 3, 1), axis=0),
             Sample(rnd(1, 3, 1), axis=(0, -1)), Sample(rnd(1, 1)), Sample(rnd(2, 3))],
    ref=lambda x, axis=None: np.squeeze(x, axis).reshape(np.squeeze(x, axis).shape or (1,)),
    doc="""Remove size-1 axes (all, or those in ``axis``); at least one dim stays, so
    ``squeeze(x (1, 1))`` is ``(1,)``. Example: ``squeeze(x (1, 3, 1))`` is ``(3,)``.""",
    second_order=True)


def _flat_shape(shape):
    return (shape[0], math.prod(shape[1:]))


flatten = register(
    "flatten", lambda xp, x: x.reshape(_flat_shape(x.shape)).copy(),
    infer=lambda x: _like(x, _flat_shape(tuple(x.shape))),
    grad=lambda i, o, g: (F.reshape(g[0], shape=tuple(i[0].shape)),),
    onnx=lambda g, i, a, o: g.op("Flatten", i[0], axis=1),
    samples=[Sample(rnd(2, 3, 4)), Sample(rnd(3, 2)), Sample(rnd(5)), Sample(rnd(2, 1, 2, 3))],
    ref=lambda x: x.reshape(x.shape[0], -1),
    doc="""Collapse all axes but the first: ``flatten(x (2, 3, 4))`` has shape ``(2, 12)``.""",
    second_order=True, aliases=("Flatten",))


# ---- joining and splitting -------------------------------------------------------------------
def _concat_infer(*xs, dim=1, num_args=None):
    shapes = [tuple(x.shape) for x in xs]
    nd_ = len(shapes[0])
    ax = norm_axis(dim, nd_, "concat")
    rest = {s[:ax] + s[ax + 1:] for s in shapes}
    if len(rest) != 1 or any(len(s) != nd_ for s in shapes):
        raise OpError(f"concat: shapes {shapes} differ outside dim {dim}")
    out = list(shapes[0])
    out[ax] = sum(s[ax] for s in shapes)
    return Aval(tuple(out), np.result_type(*[_dtype(x) for x in xs]))


def _concat_kernel(xp, *xs, dim=1, num_args=None):
    """Join arrays along ``dim``: ``concat(a (2, 3), b (2, 1), dim=1)`` has shape ``(2, 4)``."""
    return xp.concatenate(xs, axis=int(dim))


def _concat_grad(i, o, g, dim=1, num_args=None):
    ax = norm_axis(dim, len(i[0].shape))
    grads, start = [], 0
    for x in i:
        n = x.shape[ax]
        grads.append(F.slice_axis(g[0], axis=ax, begin=start, end=start + n))
        start += n
    return tuple(grads)


concat = register(
    "concat", _concat_kernel, inputs=("*data",), attrs={"dim": 1, "num_args": None},
    infer=_concat_infer, grad=_concat_grad,
    onnx=lambda g, i, a, o, dim=1, num_args=None: g.op(
        "Concat", *i, axis=norm_axis(dim, len(a[0].shape))),
    samples=[Sample(rnd(2, 3), rnd(2, 1), rnd(2, 2)), Sample(rnd(2, 3), rnd(1, 3), dim=0),
             Sample(rnd(2, 2, 3), rnd(2, 2, 1, salt=3), dim=-1), Sample(rnd(3, 2), dim=0)],
    ref=lambda *xs, dim=1, num_args=None: np.concatenate(xs, axis=dim), second_order=True,
    aliases=("Concat",), amp="widest")


def _stack_infer(*xs, axis=0, num_args=None):
    shapes = {tuple(x.shape) for x in xs}
    if len(shapes) != 1:
        raise OpError(f"stack: all inputs need the same shape, got {[x.shape for x in xs]}")
    out = list(xs[0].shape)
    out.insert(norm_axis(axis, len(out) + 1, "stack"), len(xs))
    return Aval(tuple(out), np.result_type(*[_dtype(x) for x in xs]))


def _stack_grad(i, o, g, axis=0, num_args=None):
    ax = norm_axis(axis, len(i[0].shape) + 1)
    return tuple(F.reshape(F.slice_axis(g[0], axis=ax, begin=k, end=k + 1),
                           shape=tuple(x.shape)) for k, x in enumerate(i))


def _stack_onnx(g, i, a, o, axis=0, num_args=None):
    ax = norm_axis(axis, len(a[0].shape) + 1)
    axes = g.ints([ax])
    return g.op("Concat", *[g.op("Unsqueeze", x, axes) for x in i], axis=ax)


def _stack_kernel(xp, *xs, axis=0, num_args=None):
    """``xp.stack``; a large numpy result stacked along an inner axis is written a block of
    leading rows per core (a Transformer layer's (T, B, heads, 3, D) gradient: memory-bound,
    3.0 -> 1.8 ms alone, 2026-12-07)."""
    ax = norm_axis(int(axis), xs[0].ndim + 1, "stack") if xs else 0
    if (xp is np and ax > 0 and xs and xs[0].ndim and xs[0].shape[0] > 1
            and xs[0].size * len(xs) >= ROWS_MIN
            and all(type(x) is np.ndarray and x.shape == xs[0].shape and x.dtype == xs[0].dtype
                    for x in xs)):
        out = np.empty(xs[0].shape[:ax] + (len(xs),) + xs[0].shape[ax:], xs[0].dtype)
        return row_blocks(out, lambda lo, hi, o: np.stack([x[lo:hi] for x in xs], axis=ax,
                                                          out=o))
    return xp.stack(xs, axis=int(axis))


stack = register(
    "stack", _stack_kernel,
    inputs=("*data",), attrs={"axis": 0, "num_args": None}, infer=_stack_infer,
    grad=_stack_grad, onnx=_stack_onnx,
    samples=[Sample(rnd(2, 3), rnd(2, 3, salt=5)), Sample(rnd(2, 3), rnd(2, 3, salt=5),
                                                          rnd(2, 3, salt=6), axis=-1),
             Sample(rnd(4), rnd(4, salt=2), axis=1)],
    ref=lambda *xs, axis=0, num_args=None: np.stack(xs, axis=axis),
    doc="""Join same-shaped arrays along a new axis: ``stack(a (2, 3), b (2, 3), axis=1)`` is
    ``(2, 2, 3)``.""",
    second_order=True, amp="widest")


def _split_bounds(n, num_outputs, op="split"):
    k = int(num_outputs)
    if k <= 0 or n % k:
        raise OpError(f"{op}: dim of size {n} cannot be split into {k} equal parts")
    return [(j * n // k, (j + 1) * n // k) for j in range(k)]


def _split_parts(xp, x, bounds, ax, squeeze_axis):
    parts = []
    for b, e in bounds:
        p = x[(slice(None),) * ax + (slice(b, e),)].copy()
        if squeeze_axis:
            if e - b != 1:
                raise OpError(f"split: squeeze_axis needs parts of size 1, got {e - b}")
            p = p.reshape(p.shape[:ax] + p.shape[ax + 1:])
        parts.append(p)
    # the registry hands back one output bare (as MXNet does), so return it bare
    return parts[0] if len(parts) == 1 else parts


def _split_infer_parts(x, bounds, ax, squeeze_axis):
    outs = []
    for b, e in bounds:
        s = list(x.shape)
        s[ax] = e - b
        if squeeze_axis:
            if e - b != 1:
                raise OpError(f"split: squeeze_axis needs parts of size 1, got {e - b}")
            del s[ax]
        outs.append(_like(x, s))
    return tuple(outs)


def _split_grad_from(i, gouts, ax, squeeze_axis):
    gs = [F.expand_dims(g, axis=ax) if squeeze_axis else g for g in gouts]
    return (F.concat(*gs, dim=ax) if len(gs) > 1 else gs[0],)


def _split_onnx_from(g, i, a, bounds, ax, squeeze_axis):
    sizes = [e - b for b, e in bounds]
    outs = g.op("Split", i[0], g.ints(sizes), outputs=len(sizes), axis=ax)
    outs = [outs] if isinstance(outs, str) else outs
    if squeeze_axis:
        outs = [g.op("Squeeze", t, g.ints([ax])) for t in outs]
    return outs


def _split_ax(x, axis):
    return norm_axis(axis, len(x.shape), "split")


def _split_kernel(xp, x, num_outputs, axis=1, squeeze_axis=False):
    """Split ``x`` into ``num_outputs`` equal parts along ``axis`` (a list, or one array when
    ``num_outputs`` is 1). ``split(x (2, 6), 3)`` gives three ``(2, 2)`` arrays."""
    ax = _split_ax(x, axis)
    return _split_parts(xp, x, _split_bounds(x.shape[ax], num_outputs), ax, squeeze_axis)


split = register(
    "split", _split_kernel, attrs={"num_outputs": REQUIRED, "axis": 1, "squeeze_axis": False},
    num_outputs=lambda a: int(a["num_outputs"]),
    infer=lambda x, num_outputs, axis=1, squeeze_axis=False: _split_infer_parts(
        x, _split_bounds(x.shape[_split_ax(x, axis)], num_outputs), _split_ax(x, axis),
        squeeze_axis),
    grad=lambda i, o, g, num_outputs, axis=1, squeeze_axis=False: _split_grad_from(
        i, g, _split_ax(i[0], axis), squeeze_axis),
    onnx=lambda g, i, a, o, num_outputs, axis=1, squeeze_axis=False: _split_onnx_from(
        g, i, a, _split_bounds(a[0].shape[_split_ax(a[0], axis)], num_outputs),
        _split_ax(a[0], axis), squeeze_axis),
    samples=[Sample(rnd(2, 6), num_outputs=3), Sample(rnd(4, 3), num_outputs=2, axis=0),
             Sample(rnd(2, 3, 2), num_outputs=3, axis=-2, squeeze_axis=True),
             Sample(rnd(2, 3), num_outputs=1)],
    ref=lambda x, num_outputs, axis=1, squeeze_axis=False: [
        np.squeeze(p, axis) if squeeze_axis else p
        for p in np.split(x, num_outputs, axis=axis)],
    second_order=True, aliases=("SliceChannel",))


def _v2_bounds(n, indices_or_sections):
    if isinstance(indices_or_sections, (int, np.integer)):
        return _split_bounds(n, indices_or_sections, "split_v2")
    cuts = [0] + [int(c) for c in indices_or_sections] + [n]
    return [(min(b, n), min(max(e, b), n)) for b, e in zip(cuts[:-1], cuts[1:])]


def _v2_n(a):
    ios = a["indices_or_sections"]
    return int(ios) if isinstance(ios, (int, np.integer)) else len(ios) + 1


def _split_v2_kernel(xp, x, indices_or_sections, axis=0, squeeze_axis=False):
    """numpy-style split: ``indices_or_sections`` is a count of equal parts or the cut indices.
    ``split_v2(x (7, 2), (2, 5))`` gives parts of 2, 3 and 2 rows."""
    ax = _split_ax(x, axis)
    return _split_parts(xp, x, _v2_bounds(x.shape[ax], indices_or_sections), ax, squeeze_axis)


split_v2 = register(
    "split_v2", _split_v2_kernel,
    attrs={"indices_or_sections": REQUIRED, "axis": 0, "squeeze_axis": False},
    num_outputs=_v2_n,
    infer=lambda x, indices_or_sections, axis=0, squeeze_axis=False: _split_infer_parts(
        x, _v2_bounds(x.shape[_split_ax(x, axis)], indices_or_sections), _split_ax(x, axis),
        squeeze_axis),
    grad=lambda i, o, g, indices_or_sections, axis=0, squeeze_axis=False: _split_grad_from(
        i, g, _split_ax(i[0], axis), squeeze_axis),
    onnx=lambda g, i, a, o, indices_or_sections, axis=0, squeeze_axis=False: _split_onnx_from(
        g, i, a, _v2_bounds(a[0].shape[_split_ax(a[0], axis)], indices_or_sections),
        _split_ax(a[0], axis), squeeze_axis),
    samples=[Sample(rnd(7, 2), indices_or_sections=(2, 5)),
             Sample(rnd(2, 6), indices_or_sections=3, axis=1),
             Sample(rnd(3, 2), indices_or_sections=(1, 2), squeeze_axis=True)],
    ref=lambda x, indices_or_sections, axis=0, squeeze_axis=False: [
        np.squeeze(p, axis) if squeeze_axis else p
        for p in np.split(x, indices_or_sections, axis=axis)],
    second_order=True)


# ---- shape as data --------------------------------------------------------------------------
def _shape_array_kernel(xp, x):
    """The shape as a 1-D int64 array: ``shape_array(x (2, 3))`` is ``[2, 3]``."""
    return xp.asarray(x.shape, dtype=np.int64)


def _size_array_kernel(xp, x):
    """The element count as a ``(1,)`` int64 array: ``size_array(x (2, 3))`` is ``[6]``."""
    return xp.asarray([math.prod(x.shape)], dtype=np.int64)


shape_array = register(
    "shape_array", _shape_array_kernel,
    infer=lambda x: Aval((len(x.shape),), np.dtype(np.int64)),
    onnx=lambda g, i, a, o: g.op("Shape", i[0]),
    samples=[Sample(rnd(2, 3)), Sample(rnd(4))],
    ref=lambda x: np.array(x.shape, dtype=np.int64), no_grad="integer output")

size_array = register(
    "size_array", _size_array_kernel, infer=lambda x: Aval((1,), np.dtype(np.int64)),
    onnx=lambda g, i, a, o: g.op("Reshape", g.op("Size", i[0]), g.ints([1])),
    samples=[Sample(rnd(2, 3)), Sample(rnd(4))],
    ref=lambda x: np.array([x.size], dtype=np.int64), no_grad="integer output")


def concatenate(arrays, axis=0, always_copy=True):
    """MXNet's ``nd.concatenate``: join a list of arrays along ``axis`` (default 0).

    Example: ``nd.concatenate([a (2, 3), b (1, 3)])`` has shape ``(3, 3)``.
    """
    if not arrays:
        raise OpError("concatenate: needs at least one array")
    if len(arrays) == 1 and not always_copy:
        return arrays[0]
    return F.concat(*arrays, dim=axis)


def _axis_tuple(axes, ndim, what):
    axes = [int(axes)] if isinstance(axes, (int, np.integer)) else [int(a) for a in axes]
    if any(not -ndim <= a < ndim for a in axes):
        raise ValueError(f"moveaxis: {what} axes {axes} out of range for {ndim} dims")
    axes = [a % ndim for a in axes]
    if len(set(axes)) != len(axes):
        raise ValueError(f"moveaxis: repeated {what} axis in {axes}")
    return axes


def moveaxis(tensor, source, destination):
    """Move axes of an array to new positions (the others keep their order), as numpy does.

    Example: ``moveaxis(x (3, 4, 5), 0, -1)`` has shape ``(4, 5, 3)``.
    """
    src = _axis_tuple(source, tensor.ndim, "source")
    dst = _axis_tuple(destination, tensor.ndim, "destination")
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination need the same number of axes")
    order = [n for n in range(tensor.ndim) if n not in src]
    for d, s_ in sorted(zip(dst, src)):
        order.insert(d, s_)
    return F.transpose(tensor, axes=tuple(order))


EXPORTS = {"concatenate": concatenate, "moveaxis": moveaxis}

from . import shape_broadcast, shape_slicing  # noqa: E402,F401  (register the rest of the family)
