"""Slicing, tiling, repeating, flipping and padding. Part of the ``shape`` family (imported by
``shape.py``).

``_slice_assign`` (MXNet's internal op) writes an array into a region of another; it is the
gradient of every slicing op, and its own gradient is a slice, so all of these stay linear and
differentiable to any order.
"""
import numpy as np

from ...base import OpError
from .. import ops as F
from .._registry import REQUIRED, Aval, Sample, register
from ._rules import norm_axis
from ._samples import rnd

_INT64_MIN = int(np.iinfo(np.int64).min)


def _ituple(v):
    if v is None:
        return ()
    if isinstance(v, (int, np.integer)):
        return (int(v),)
    return tuple(int(a) for a in v)


def _opt(v):
    return None if v is None else int(v)


def _like(x, shape):
    return Aval(tuple(int(s) for s in shape), np.dtype(x.dtype))


def region(ndim, begin, end, step=None, op="slice"):
    """MXNet's (begin, end, step) as a tuple of Python slices (None entries allowed)."""
    begin = (begin,) if isinstance(begin, (int, np.integer)) or begin is None else begin
    end = (end,) if isinstance(end, (int, np.integer)) or end is None else end
    begin, end, step = list(begin), list(end), list(step or ())
    if len(begin) != len(end) or len(begin) > ndim or len(step) > len(begin):
        raise OpError(f"{op}: begin {tuple(begin)}, end {tuple(end)} and step {tuple(step)} "
                      f"do not fit an array of {ndim} dims")
    step += [None] * (len(begin) - len(step))
    if any(s == 0 for s in step):
        raise OpError(f"{op}: step cannot be 0")
    return tuple(slice(_opt(b), _opt(e), _opt(s)) for b, e, s in zip(begin, end, step))


def region_shape(shape, sl):
    out = list(shape)
    for k, s in enumerate(sl):
        out[k] = len(range(*s.indices(shape[k])))
    return tuple(out)


def _onnx_slice(g, x, shape, sl):
    """ONNX Slice for Python slices ``sl`` over the leading axes of an input of ``shape``."""
    starts, ends, steps, axes = [], [], [], []
    for k, s in enumerate(sl):
        b, e, st = s.indices(shape[k])
        if (b, e, st) == (0, shape[k], 1):
            continue
        if st < 0 and e < 0:
            e = _INT64_MIN  # "through index 0": ONNX reads -1 as the last element
        starts.append(b)
        ends.append(e)
        steps.append(st)
        axes.append(k)
    if not axes:
        return g.op("Identity", x)
    return g.op("Slice", x, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps))


# ---- slice and its gradient ------------------------------------------------------------------
def _slice_kernel(xp, x, begin, end, step=None):
    """Basic slicing per axis; ``None`` entries take the default (as Python slices).

    Example: ``slice(x (3, 4), begin=(0, 1), end=(2, None), step=(1, 2))`` has shape ``(2, 2)``.
    """
    return x[region(x.ndim, begin, end, step)].copy()


def _slice_ref(x, begin, end, step=None):
    steps = list(step or ()) + [None] * len(begin)
    return x[tuple(slice(b, e, s) for b, e, s in zip(begin, end, steps))]


slice_op = register(  # exported as nd.slice by the registry
    "slice", _slice_kernel, attrs={"begin": REQUIRED, "end": REQUIRED, "step": None},
    infer=lambda x, begin, end, step=None: _like(
        x, region_shape(x.shape, region(len(x.shape), begin, end, step))),
    grad=lambda i, o, g, begin, end, step=None: (F._slice_assign(
        F.zeros_like(i[0]), g[0], begin=begin, end=end, step=step),),
    onnx=lambda g, i, a, o, begin, end, step=None: _onnx_slice(
        g, i[0], a[0].shape, region(len(a[0].shape), begin, end, step)),
    samples=[Sample(rnd(3, 4), begin=(0, 1), end=(2, 3)),
             Sample(rnd(3, 4), begin=(None, 1), end=(None, None), step=(-1, 2)),
             Sample(rnd(2, 3, 4), begin=(1,), end=(2,)),
             Sample(rnd(4, 5), begin=(-1, 4), end=(None, 0), step=(-2, -1)),
             Sample(rnd(3, 4), begin=(-2, -3), end=(-1, -1))],
    ref=_slice_ref,
    second_order=True, aliases=("crop",))


def _assign_kernel(xp, lhs, rhs, begin, end, step=None):
    """``lhs`` with the region (begin, end, step) replaced by ``rhs`` (a new array)."""
    out = lhs.copy()
    out[region(lhs.ndim, begin, end, step, "_slice_assign")] = rhs
    return out


def _assign_grad(i, o, g, begin, end, step=None):
    at = {"begin": begin, "end": end, "step": step}
    return (F._slice_assign(g[0], F.zeros_like(i[1]), **at), F.slice(g[0], **at))


def _assign_onnx(g, i, a, o, begin, end, step=None):
    shape = tuple(a[0].shape)
    sl = region(len(shape), begin, end, step)
    sl += (slice(None),) * (len(shape) - len(sl))
    grids = np.meshgrid(*[np.arange(d)[s] for d, s in zip(shape, sl)], indexing="ij")
    idx = np.stack(grids, axis=-1).astype(np.int64)
    upd = i[1]
    if tuple(a[1].shape) != idx.shape[:-1]:
        upd = g.op("Expand", upd, g.ints(idx.shape[:-1]))
    return g.op("ScatterND", i[0], g.const(idx, name="indices"), upd)


def _assign_ref(lhs, rhs, begin, end, step=None):
    out = lhs.copy()
    out[region(lhs.ndim, begin, end, step)] = rhs
    return out


_slice_assign = register(
    "_slice_assign", _assign_kernel, inputs=("lhs", "rhs"),
    attrs={"begin": REQUIRED, "end": REQUIRED, "step": None},
    infer=lambda a, b, **at: _like(a, a.shape), grad=_assign_grad, onnx=_assign_onnx,
    samples=[Sample(rnd(3, 4), rnd(2, 2, salt=3), begin=(0, 1), end=(2, 3)),
             Sample(rnd(3, 4), rnd(3, 2, salt=3), begin=(None, 1), end=(None, None),
                    step=(-1, 2))],
    ref=_assign_ref, second_order=True, aliases=("_crop_assign",))


def _assign_scalar_kernel(xp, data, scalar, begin, end, step=None):
    """``data`` with the region (begin, end, step) set to ``scalar`` (a new array)."""
    out = data.copy()
    out[region(data.ndim, begin, end, step, "_slice_assign_scalar")] = scalar
    return out


def _assign_scalar_onnx(g, i, a, o, scalar, begin, end, step=None):
    shape = tuple(a[0].shape)
    sl = region(len(shape), begin, end, step)
    sl += (slice(None),) * (len(shape) - len(sl))
    grids = np.meshgrid(*[np.arange(d)[s] for d, s in zip(shape, sl)], indexing="ij")
    idx = np.stack(grids, axis=-1).astype(np.int64)
    upd = np.full(idx.shape[:-1], scalar, dtype=a[0].dtype)
    return g.op("ScatterND", i[0], g.const(idx, name="indices"), g.const(upd, name="values"))


def _assign_scalar_ref(data, scalar, begin, end, step=None):
    out = data.copy()
    out[region(data.ndim, begin, end, step)] = scalar
    return out


_slice_assign_scalar = register(
    "_slice_assign_scalar", _assign_scalar_kernel,
    attrs={"scalar": 0.0, "begin": REQUIRED, "end": REQUIRED, "step": None},
    infer=lambda a, **at: _like(a, a.shape),
    grad=lambda i, o, g, scalar, begin, end, step=None: (F._slice_assign_scalar(
        g[0], scalar=0.0, begin=begin, end=end, step=step),),
    onnx=_assign_scalar_onnx, ref=_assign_scalar_ref, second_order=True,
    samples=[Sample(rnd(3, 4), scalar=5.0, begin=(0, 1), end=(2, 3)),
             Sample(rnd(3, 4), scalar=-1.5, begin=(None, 1), end=(None, None), step=(-1, 2))],
    aliases=("_crop_assign_scalar",),
    doc="""``data`` with a region set to ``scalar`` (MXNet's ``_slice_assign_scalar``, alias
    ``_crop_assign_scalar``): what ``x[1:3, 0] = 5`` computes, as a new array.

    Example::

        >>> nd._internal._slice_assign_scalar(nd.zeros((2, 3)), scalar=5, begin=(0, 1),
        ...                                   end=(1, 3))
        [[0. 5. 5.]
         [0. 0. 0.]]
    """)


def _axis_region(ndim, axis, begin, end):
    ax = norm_axis(axis, ndim, "slice_axis")
    return (None,) * ax + (begin,), (None,) * ax + (end,)


def _slice_axis_kernel(xp, x, axis, begin, end):
    """Slice one axis: ``slice_axis(x (3, 4), axis=1, begin=1, end=3)`` has shape ``(3, 2)``.
    ``end=None`` runs to the end; negative indices count from the end."""
    b, e = _axis_region(x.ndim, axis, begin, end)
    return x[region(x.ndim, b, e, op="slice_axis")].copy()


def _slice_axis_grad(i, o, g, axis, begin, end):
    b, e = _axis_region(len(i[0].shape), axis, begin, end)
    return (F._slice_assign(F.zeros_like(i[0]), g[0], begin=b, end=e),)


def _slice_axis_infer(x, axis, begin, end):
    b, e = _axis_region(len(x.shape), axis, begin, end)
    return _like(x, region_shape(x.shape, region(len(x.shape), b, e)))


slice_axis = register(
    "slice_axis", _slice_axis_kernel,
    attrs={"axis": REQUIRED, "begin": REQUIRED, "end": REQUIRED},
    infer=_slice_axis_infer, grad=_slice_axis_grad,
    onnx=lambda g, i, a, o, axis, begin, end: _onnx_slice(
        g, i[0], a[0].shape, region(len(a[0].shape), *_axis_region(len(a[0].shape), axis,
                                                                  begin, end))),
    samples=[Sample(rnd(3, 4), axis=1, begin=1, end=3), Sample(rnd(3, 4), axis=0, begin=-2,
                                                               end=None),
             Sample(rnd(2, 3, 4), axis=-1, begin=0, end=-1)],
    ref=lambda x, axis, begin, end: np.take(x, np.arange(x.shape[axis])[begin:end], axis=axis),
    second_order=True)


def _like_ends(shape, like, axes):
    axes = _ituple(axes)
    if not axes:
        if len(shape) != len(like):
            raise OpError(f"slice_like: {tuple(shape)} and {tuple(like)} differ in rank; "
                          f"give axes")
        axes = tuple(range(len(shape)))
    ends = [None] * len(shape)
    for a in axes:
        # a negative axis counts from the end of each input separately
        k, la = norm_axis(a, len(shape), "slice_like"), norm_axis(a, len(like), "slice_like")
        if like[la] > shape[k]:
            raise OpError(f"slice_like: shape_like {tuple(like)} is larger than data "
                          f"{tuple(shape)} on axis {a}")
        ends[k] = like[la]
    return (None,) * len(shape), tuple(ends)


def _slice_like_kernel(xp, x, like, axes=()):
    """Slice ``x`` to ``shape_like``'s size on ``axes`` (all axes by default), from index 0.

    Example: ``slice_like(x (3, 4), y (2, 2))`` has shape ``(2, 2)``.
    """
    return x[region(x.ndim, *_like_ends(x.shape, like.shape, axes))].copy()


def _slice_like_ref(x, y, axes=()):
    idx = [slice(None)] * x.ndim
    for a in (_ituple(axes) or range(x.ndim)):
        idx[a] = slice(0, y.shape[a])  # the samples use inputs of equal rank
    return x[tuple(idx)]


slice_like = register(
    "slice_like", _slice_like_kernel, inputs=("data", "shape_like"), attrs={"axes": ()},
    infer=lambda x, y, axes=(): _like(x, region_shape(x.shape, region(
        len(x.shape), *_like_ends(x.shape, y.shape, axes)))),
    grad=lambda i, o, g, axes=(): (F._slice_assign(
        F.zeros_like(i[0]), g[0], *_like_ends(i[0].shape, i[1].shape, axes)), None),
    onnx=lambda g, i, a, o, axes=(): _onnx_slice(g, i[0], a[0].shape, region(
        len(a[0].shape), *_like_ends(a[0].shape, a[1].shape, axes))),
    samples=[Sample(rnd(3, 4), rnd(2, 2), wrt=[0]),
             Sample(rnd(3, 4, 2), rnd(5, 2, 1), axes=(1, -1), wrt=[0])],
    ref=_slice_like_ref,
    second_order=True)


# ---- tile and repeat -------------------------------------------------------------------------
def _tile_dims(shape, reps):
    """Input shape and reps padded with leading 1s to one common length (numpy's rule)."""
    reps = _ituple(reps)
    n = max(len(shape), len(reps))
    return (1,) * (n - len(shape)) + tuple(shape), (1,) * (n - len(reps)) + reps


def _interleave(a, b):
    return tuple(v for pair in zip(a, b) for v in pair)


def _tile_kernel(xp, x, reps):
    """Repeat the whole array ``reps`` times per axis: ``tile(x (2, 3), (2, 1))`` is (4, 3)."""
    reps = _ituple(reps)
    if any(r <= 0 for r in reps):  # MXNet refuses 0 and negative repeats (numpy allows 0)
        raise ValueError(f"tile: reps {reps} must all be positive")
    return xp.tile(x, reps)


def _tile_grad(i, o, g, reps):
    # view the output as (r0, s0, r1, s1, ...) and sum over the r axes
    s, r = _tile_dims(tuple(i[0].shape), reps)
    blocks = F.reshape(g[0], shape=_interleave(r, s))
    summed = F.sum_to(blocks, shape=_interleave((1,) * len(s), s))
    return (F.reshape(summed, shape=tuple(i[0].shape)),)


def _tile_onnx(g, i, a, o, reps):
    s, r = _tile_dims(tuple(a[0].shape), reps)
    x = i[0] if len(s) == len(a[0].shape) else g.op("Reshape", i[0], g.ints(s))
    return g.op("Tile", x, g.ints(r))


tile = register(
    "tile", _tile_kernel, attrs={"reps": REQUIRED},
    infer=lambda x, reps: _like(x, [a * b for a, b in zip(*_tile_dims(tuple(x.shape), reps))]),
    grad=_tile_grad, onnx=_tile_onnx,
    samples=[Sample(rnd(2, 3), reps=(2, 1)), Sample(rnd(2, 3), reps=(2, 1, 2)),
             Sample(rnd(2, 1, 3), reps=(3,)), Sample(rnd(3), reps=2)],
    ref=lambda x, reps: np.tile(x, reps), second_order=True)


def _repeat_dims(shape, repeats, axis):
    """(source view, expanded view, output shape) for repeating each element ``repeats``
    times: the element axis gets a new size-1 axis after it that is broadcast to ``repeats``."""
    r = int(repeats)
    shape = tuple(shape)
    if axis is None:
        n = int(np.prod(shape))
        return (n, 1), (n, r), (n * r,)
    ax = norm_axis(axis, len(shape), "repeat")
    head, tail = shape[:ax + 1], shape[ax + 1:]
    return head + (1,) + tail, head + (r,) + tail, shape[:ax] + (shape[ax] * r,) + tail


def _repeat_kernel(xp, x, repeats, axis=None):
    """Repeat each element ``repeats`` times along ``axis`` (the flattened array when None).

    Example: ``repeat(x (2, 3), repeats=2, axis=0)`` has shape ``(4, 3)``.
    """
    return xp.repeat(x, int(repeats), axis=None if axis is None else int(axis))


def _repeat_grad(i, o, g, repeats, axis=None):
    base, big, _ = _repeat_dims(i[0].shape, repeats, axis)
    summed = F.sum_to(F.reshape(g[0], shape=big), shape=base)
    return (F.reshape(summed, shape=tuple(i[0].shape)),)


def _repeat_onnx(g, i, a, o, repeats, axis=None):
    base, big, out = _repeat_dims(a[0].shape, repeats, axis)
    x = g.op("Expand", g.op("Reshape", i[0], g.ints(base)), g.ints(big))
    return g.op("Reshape", x, g.ints(out))


repeat = register(
    "repeat", _repeat_kernel, attrs={"repeats": REQUIRED, "axis": None},
    infer=lambda x, repeats, axis=None: _like(x, _repeat_dims(x.shape, repeats, axis)[2]),
    grad=_repeat_grad, onnx=_repeat_onnx,
    samples=[Sample(rnd(2, 3), repeats=2), Sample(rnd(2, 3), repeats=2, axis=0),
             Sample(rnd(2, 3, 2), repeats=3, axis=-1)],
    ref=lambda x, repeats, axis=None: np.repeat(x, repeats, axis), second_order=True)


# ---- flip ------------------------------------------------------------------------------------
def _flip_axes(ndim, axis):
    return tuple(sorted({norm_axis(a, ndim, "flip") for a in _ituple(axis)}))


def _flip_onnx(g, i, a, o, axis):
    axes = _flip_axes(len(a[0].shape), axis)
    n = len(axes)
    return g.op("Slice", i[0], g.ints([-1] * n), g.ints([_INT64_MIN] * n), g.ints(axes),
                g.ints([-1] * n))


flip = register(
    "flip", lambda xp, x, axis: xp.flip(x, axis=_flip_axes(x.ndim, axis)).copy(),
    attrs={"axis": REQUIRED}, infer=lambda x, axis: _like(x, x.shape),
    grad=lambda i, o, g, axis: (F.flip(g[0], axis=axis),), onnx=_flip_onnx,
    samples=[Sample(rnd(2, 3), axis=0), Sample(rnd(2, 3, 2), axis=(0, -1)),
             Sample(rnd(4), axis=0)],
    ref=lambda x, axis: np.flip(x, axis),
    doc="""Reverse the order of elements along ``axis`` (an int or a tuple); the shape is
    unchanged. Example: ``flip(x (2, 3), axis=1)``.""",
    second_order=True, aliases=("reverse",))


# ---- pad -------------------------------------------------------------------------------------
_PAD_MODES = ("constant", "edge", "reflect")


def pad_pairs(shape, mode, pad_width):
    """``pad_width`` as (before, after) pairs, checked against MXNet's limits: 4-D or 5-D input,
    no padding on the first two axes, reflect pads smaller than the padded dim."""
    pw, nd_ = _ituple(pad_width), len(shape)
    if mode not in _PAD_MODES:
        raise OpError(f"pad: mode must be one of {_PAD_MODES}, got {mode!r}")
    if nd_ not in (4, 5):
        raise OpError(f"pad: only 4-D and 5-D inputs can be padded, got shape {tuple(shape)}")
    if len(pw) != 2 * nd_ or any(p < 0 for p in pw):
        raise OpError(f"pad: pad_width needs {2 * nd_} non-negative values "
                      f"(before, after per axis), got {pw}")
    if any(pw[:4]):
        raise OpError(f"pad: padding the first two axes (batch, channel) is not supported; "
                      f"pad_width must start with four zeros, got {pw}")
    pairs = list(zip(pw[0::2], pw[1::2]))
    if mode == "reflect" and any(max(p) >= n for p, n in zip(pairs, shape) if max(p)):
        raise OpError(f"pad: reflect padding {pw} must be smaller than the dims {tuple(shape)}")
    return pairs


def _pad_kernel(xp, x, mode="constant", pad_width=REQUIRED, constant_value=0):
    """Pad the spatial axes of a 4-D/5-D array; ``pad_width`` lists (before, after) per axis.

    Example: ``pad(x (1, 2, 3, 3), mode='constant', pad_width=(0, 0, 0, 0, 1, 1, 2, 2))`` has
    shape ``(1, 2, 5, 7)``.
    """
    pairs = pad_pairs(x.shape, mode, pad_width)
    if mode == "constant":
        return xp.pad(x, pairs, mode="constant", constant_values=constant_value)
    return xp.pad(x, pairs, mode=mode)


def _add_at(c, ax, begin, end, v):
    """``c`` plus ``v`` added into the index range [begin, end) of axis ``ax``."""
    b, e = (None,) * ax + (begin,), (None,) * ax + (end,)
    return c + F._slice_assign(F.zeros_like(c), v, begin=b, end=e)


def _edge_sum(t, ax):
    return F.sum_to(t, shape=tuple(1 if k == ax else s for k, s in enumerate(t.shape)))


def _pad_axis_grad(g, ax, n, before, after, mode):
    """Transpose of padding one axis (length ``n``) in ``mode``, applied to gradient ``g``."""
    c = F.slice_axis(g, axis=ax, begin=before, end=before + n)
    if mode == "constant":
        return c
    lo = F.slice_axis(g, axis=ax, begin=0, end=before) if before else None
    hi = F.slice_axis(g, axis=ax, begin=before + n, end=before + n + after) if after else None
    if mode == "edge":
        # every padded entry copies the first (last) element
        c = _add_at(c, ax, 0, 1, _edge_sum(lo, ax)) if before else c
        return _add_at(c, ax, n - 1, n, _edge_sum(hi, ax)) if after else c
    # reflect: pad entry k before copies element before - k, entry j after copies n - 2 - j
    c = _add_at(c, ax, 1, before + 1, F.flip(lo, axis=ax)) if before else c
    return _add_at(c, ax, n - 1 - after, n - 1, F.flip(hi, axis=ax)) if after else c


def _pad_grad(i, o, g, mode="constant", pad_width=REQUIRED, constant_value=0):
    shape = tuple(i[0].shape)
    gx = g[0]
    # padding is applied axis after axis, so its transpose runs over the axes in reverse
    for ax in reversed(range(len(shape))):
        before, after = pad_pairs(shape, mode, pad_width)[ax]
        if before or after:
            gx = _pad_axis_grad(gx, ax, shape[ax], before, after, mode)
    return (gx,)


def _pad_onnx(g, i, a, o, mode="constant", pad_width=REQUIRED, constant_value=0):
    pairs = pad_pairs(a[0].shape, mode, pad_width)
    pads = g.ints([p[0] for p in pairs] + [p[1] for p in pairs])
    if mode == "constant":
        cv = g.const(np.asarray(constant_value, a[0].dtype))
        return g.op("Pad", i[0], pads, cv, mode="constant")
    return g.op("Pad", i[0], pads, mode=mode)


def _pad_ref(x, mode="constant", pad_width=(), constant_value=0):
    pairs = list(zip(pad_width[0::2], pad_width[1::2]))
    kw = {"constant_values": constant_value} if mode == "constant" else {}
    return np.pad(x, pairs, mode=mode, **kw)


pad = register(
    "pad", _pad_kernel, attrs={"mode": "constant", "pad_width": REQUIRED, "constant_value": 0},
    infer=lambda x, mode="constant", pad_width=REQUIRED, constant_value=0: _like(
        x, [n + b + e for n, (b, e) in zip(x.shape, pad_pairs(x.shape, mode, pad_width))]),
    grad=_pad_grad, onnx=_pad_onnx,
    samples=[Sample(rnd(1, 2, 3, 3), mode="constant", pad_width=(0, 0, 0, 0, 1, 2, 0, 1),
                    constant_value=0.5),
             Sample(rnd(1, 1, 3, 4), mode="edge", pad_width=(0, 0, 0, 0, 2, 1, 1, 2)),
             Sample(rnd(1, 2, 3, 3), mode="reflect", pad_width=(0, 0, 0, 0, 2, 1, 1, 2)),
             Sample(rnd(1, 1, 2, 2, 3), mode="reflect",
                    pad_width=(0, 0, 0, 0, 1, 1, 0, 1, 1, 2)),
             Sample(rnd(1, 1, 2, 2, 3), mode="edge", pad_width=(0, 0, 0, 0, 1, 0, 1, 1, 0, 2))],
    ref=_pad_ref, second_order=True, aliases=("Pad",))
