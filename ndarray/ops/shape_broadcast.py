"""Broadcasting ops (broadcast_to, broadcast_like, broadcast_axis) and the depth/space
rearrangements. Part of the ``shape`` family (imported by ``shape.py``).

Broadcast gradients sum back with ``sum_to``; depth_to_space and space_to_depth are each
other's gradient.
"""
import numpy as np

from ...base import OpError
from .. import ops as F
from .._registry import REQUIRED, Aval, Sample, register
from ._rules import norm_axis
from ._samples import rnd


def _ituple(v):
    if v is None:
        return ()
    if isinstance(v, (int, np.integer)):
        return (int(v),)
    return tuple(int(a) for a in v)


def _like(x, shape):
    return Aval(tuple(int(s) for s in shape), np.dtype(x.dtype))


def _no_bcast(op, src, target):
    return OpError(f"{op}: cannot broadcast shape {tuple(src)} to {tuple(target)}")


def broadcast_target(src, shape, op="broadcast_to"):
    """Target shape of ``broadcast_to``: a 0 keeps the input's dim; missing leading dims are
    prepended as in numpy. ``(3, 1)`` to ``(0, 4)`` gives ``(3, 4)``."""
    src, shape = tuple(int(s) for s in src), _ituple(shape)
    lead = len(shape) - len(src)
    if lead < 0:
        raise _no_bcast(op, src, shape)
    out = []
    for k, t in enumerate(shape):
        s = src[k - lead] if k >= lead else 1
        t = s if t == 0 else t
        if s != t and s != 1:
            raise _no_bcast(op, src, shape)
        out.append(t)
    return tuple(out)


def _expand(xp, x, shape):
    # a real copy: numpy's broadcast views are read-only and alias the input
    return xp.broadcast_to(x, shape).copy()


def _expand_onnx(g, i, a, o, **_):
    return g.op("Expand", i[0], g.ints(o[0].shape))


def _sum_back(i, o, g, **_):
    return (F.sum_to(g[0], shape=tuple(i[0].shape)),) + (None,) * (len(i) - 1)


def _broadcast_to_kernel(xp, x, shape):
    """Broadcast ``x`` to ``shape`` (0 keeps a dim). ``broadcast_to(x (2, 1), (2, 3))``."""
    return _expand(xp, x, broadcast_target(x.shape, shape))


broadcast_to = register(
    "broadcast_to", _broadcast_to_kernel, attrs={"shape": REQUIRED},
    infer=lambda x, shape: _like(x, broadcast_target(x.shape, shape)),
    grad=_sum_back, onnx=_expand_onnx,
    samples=[Sample(rnd(3, 1), shape=(3, 4)), Sample(rnd(1, 3), shape=(2, 0)),
             Sample(rnd(2, 1, 3), shape=(2, 4, 3)), Sample(rnd(3), shape=(2, 3)),
             Sample(rnd(2, 3), shape=(0, 0))],
    ref=lambda x, shape: np.broadcast_to(
        x, tuple(s if t == 0 else t for s, t in zip(x.shape, shape)) if len(shape) == x.ndim
        else shape),
    second_order=True)


def like_target(ls, rs, lhs_axes=None, rhs_axes=None):
    """Output shape of ``broadcast_like``: ``rhs``'s shape, or only the listed axes copied."""
    ls, rs = tuple(ls), tuple(rs)
    if lhs_axes is None and rhs_axes is None:
        if len(ls) != len(rs):
            raise _no_bcast("broadcast_like", ls, rs)
        return broadcast_target(ls, rs, "broadcast_like")
    la, ra = _ituple(lhs_axes), _ituple(rhs_axes)
    if not la:  # MXNet: "Empty axes tuple is not allowed"
        raise OpError("broadcast_like: lhs_axes and rhs_axes must not be empty")
    if len(la) != len(ra):
        raise OpError(f"broadcast_like: lhs_axes {la} and rhs_axes {ra} differ in length")
    out = list(ls)
    for a, b in zip(la, ra):
        a, b = norm_axis(a, len(ls), "broadcast_like"), norm_axis(b, len(rs), "broadcast_like")
        if out[a] not in (1, rs[b]):
            raise OpError(f"broadcast_like: axis {a} of {ls} has size {out[a]}, not 1")
        out[a] = rs[b]
    return tuple(out)


def _broadcast_like_kernel(xp, lhs, rhs, lhs_axes=None, rhs_axes=None):
    """Broadcast ``lhs`` to ``rhs``'s shape (or along the given axes pairs only).

    Example: ``broadcast_like(x (1, 3), y (2, 3))`` has shape ``(2, 3)``.
    """
    return _expand(xp, lhs, like_target(lhs.shape, rhs.shape, lhs_axes, rhs_axes))


broadcast_like = register(
    "broadcast_like", _broadcast_like_kernel, inputs=("lhs", "rhs"),
    attrs={"lhs_axes": None, "rhs_axes": None},
    infer=lambda a, b, lhs_axes=None, rhs_axes=None: _like(
        a, like_target(a.shape, b.shape, lhs_axes, rhs_axes)),
    grad=_sum_back, onnx=_expand_onnx,
    samples=[Sample(rnd(1, 3), rnd(2, 3), wrt=[0]), Sample(rnd(2, 1), rnd(2, 4), wrt=[0]),
             Sample(rnd(1, 3), rnd(4, 5), lhs_axes=(0,), rhs_axes=(0,), wrt=[0]),
             Sample(rnd(1), rnd(5), lhs_axes=0, rhs_axes=-1, wrt=[0])],
    ref=lambda a, b, lhs_axes=None, rhs_axes=None: np.broadcast_to(
        a, like_target(a.shape, b.shape, lhs_axes, rhs_axes)),
    second_order=True)


def axis_target(shape, axis, size):
    """Output shape of ``broadcast_axis``: each listed axis (of size 1) gets the given size."""
    out = list(shape)
    axes, sizes = _ituple(axis), _ituple(size)
    if len(axes) != len(sizes):
        raise OpError(f"broadcast_axis: axis {axes} and size {sizes} differ in length")
    for a, s in zip(axes, sizes):
        a = norm_axis(a, len(out), "broadcast_axis")
        if out[a] != 1:
            raise OpError(f"broadcast_axis: axis {a} of {tuple(shape)} has size {out[a]}, "
                          f"only size-1 axes can be broadcast")
        out[a] = s
    return tuple(out)


def _broadcast_axis_kernel(xp, x, axis=(), size=()):
    """Broadcast size-1 axes to ``size``: ``broadcast_axis(x (2, 1), axis=1, size=3)``."""
    return _expand(xp, x, axis_target(x.shape, axis, size))


broadcast_axis = register(
    "broadcast_axis", _broadcast_axis_kernel, attrs={"axis": (), "size": ()},
    infer=lambda x, axis=(), size=(): _like(x, axis_target(x.shape, axis, size)),
    grad=_sum_back, onnx=_expand_onnx,
    samples=[Sample(rnd(2, 1), axis=1, size=3), Sample(rnd(1, 2, 1), axis=(0, 2), size=(3, 2)),
             Sample(rnd(2, 1, 3), axis=-2, size=4)],
    ref=lambda x, axis=(), size=(): np.broadcast_to(x, axis_target(x.shape, axis, size)),
    second_order=True, aliases=("broadcast_axes",))


# ---- depth <-> space (DCR order, as MXNet and ONNX's default) --------------------------------
def _check_blocks(name, shape, b):
    """MXNet's checks: a positive block and no zero-size dimension (MXNet refuses them)."""
    if b < 1:
        raise OpError(f"{name}: block_size must be positive, got {b}")
    if len(shape) == 4 and 0 in shape:
        raise OpError(f"{name}: every dimension must be non-zero, got {tuple(shape)}")


def _d2s_shape(shape, b):
    _check_blocks("depth_to_space", shape, b)
    if len(shape) != 4 or shape[1] % (b * b):
        raise OpError(f"depth_to_space: needs a 4-D input whose channels divide by "
                      f"{b * b}, got {tuple(shape)}")
    n, c, h, w = shape
    return (n, c // (b * b), h * b, w * b)


def _s2d_shape(shape, b):
    _check_blocks("space_to_depth", shape, b)
    if len(shape) != 4 or shape[2] % b or shape[3] % b:
        raise OpError(f"space_to_depth: needs a 4-D input whose height and width divide by "
                      f"{b}, got {tuple(shape)}")
    n, c, h, w = shape
    return (n, c * b * b, h // b, w // b)


def _d2s_kernel(xp, x, block_size):
    """Move channel blocks into space: ``(N, C*b*b, H, W)`` -> ``(N, C, H*b, W*b)``.

    Example: ``depth_to_space(x (1, 4, 2, 3), 2)`` has shape ``(1, 1, 4, 6)``.
    """
    b = int(block_size)
    n, c, h, w = _d2s_shape(x.shape, b)
    y = x.reshape(n, b, b, c, h // b, w // b).transpose(0, 3, 4, 1, 5, 2)
    return y.reshape(n, c, h, w)


def _s2d_kernel(xp, x, block_size):
    """Move spatial blocks into channels: ``(N, C, H*b, W*b)`` -> ``(N, C*b*b, H, W)``.

    Example: ``space_to_depth(x (1, 1, 4, 6), 2)`` has shape ``(1, 4, 2, 3)``.
    """
    b = int(block_size)
    n, c, h, w = x.shape
    _s2d_shape(x.shape, b)
    y = x.reshape(n, c, h // b, b, w // b, b).transpose(0, 3, 5, 1, 2, 4)
    return y.reshape(n, c * b * b, h // b, w // b)


def _d2s_ref(x, block_size):
    # gather formulation: out[n, c, y, x] = in[n, ((y % b) * b + x % b) * C + c, y // b, x // b]
    b = block_size
    n, c, h, w = _d2s_shape(x.shape, b)
    N, C, Y, X = np.indices((n, c, h, w))
    return x[N, ((Y % b) * b + X % b) * c + C, Y // b, X // b]


def _s2d_ref(x, block_size):
    b = block_size
    n, c, h, w = _s2d_shape(x.shape, b)
    cin = x.shape[1]
    N, C, Y, X = np.indices((n, c, h, w))
    blk, ch = C // cin, C % cin
    return x[N, ch, Y * b + blk // b, X * b + blk % b]


depth_to_space = register(
    "depth_to_space", _d2s_kernel, attrs={"block_size": REQUIRED},
    infer=lambda x, block_size: _like(x, _d2s_shape(tuple(x.shape), int(block_size))),
    grad=lambda i, o, g, block_size: (F.space_to_depth(g[0], block_size=block_size),),
    onnx=lambda g, i, a, o, block_size: g.op("DepthToSpace", i[0], blocksize=int(block_size),
                                             mode="DCR"),
    samples=[Sample(rnd(1, 4, 2, 3), block_size=2), Sample(rnd(2, 8, 1, 2), block_size=2)],
    ref=_d2s_ref, second_order=True)

space_to_depth = register(
    "space_to_depth", _s2d_kernel, attrs={"block_size": REQUIRED},
    infer=lambda x, block_size: _like(x, _s2d_shape(tuple(x.shape), int(block_size))),
    grad=lambda i, o, g, block_size: (F.depth_to_space(g[0], block_size=block_size),),
    onnx=lambda g, i, a, o, block_size: g.op("SpaceToDepth", i[0], blocksize=int(block_size)),
    samples=[Sample(rnd(1, 1, 4, 6), block_size=2), Sample(rnd(2, 2, 2, 4), block_size=2)],
    ref=_s2d_ref, second_order=True)


# ---- diag ------------------------------------------------------------------------------------
def _diag_geom(shape, k, axis1, axis2):
    """(permutation moving axis1, axis2 last, n, m, row/col start, diagonal length)."""
    nd_ = len(shape)
    a1, a2 = norm_axis(axis1, nd_, "diag"), norm_axis(axis2, nd_, "diag")
    if a1 == a2:
        raise OpError(f"diag: axis1 and axis2 must differ, got {axis1} and {axis2}")
    perm = tuple(a for a in range(nd_) if a not in (a1, a2)) + (a1, a2)
    n, m, k = shape[a1], shape[a2], int(k)
    r0, c0 = max(0, -k), max(0, k)
    return perm, n, m, r0, c0, max(0, min(n - r0, m - c0))


def _diag_shape(shape, k=0, axis1=0, axis2=1):
    shape = tuple(shape)
    if len(shape) == 1:
        return (shape[0] + abs(int(k)),) * 2
    if len(shape) < 1:
        raise OpError("diag: needs at least a 1-D input")
    perm, n, m, r0, c0, length = _diag_geom(shape, k, axis1, axis2)
    if length == 0 and n and m:   # MXNet refuses an offset past the matrix
        raise OpError(f"diag: offset k={k} is outside the {n}x{m} matrices")
    return tuple(shape[p] for p in perm[:-2]) + (length,)


def _diag_kernel(xp, x, k=0, axis1=0, axis2=1):
    """1-D input: a square matrix with ``x`` on diagonal ``k``. N-D input: diagonal ``k`` of the
    (axis1, axis2) planes, as a new last axis (numpy's ``diagonal``).

    Example: ``diag(x (3,))`` is ``(3, 3)``; ``diag(x (2, 3, 4), k=1, axis1=1, axis2=2)`` is
    ``(2, 3)``.
    """
    if x.ndim == 1:
        return xp.diag(x, int(k))
    _diag_shape(x.shape, k, axis1, axis2)
    return xp.diagonal(x, int(k), int(axis1), int(axis2)).copy()


def _diag_embed(g, x, k, axis1, axis2):
    """Put ``g`` (rest + (L,)) on diagonal ``k`` of zeros shaped like ``x`` (the transpose of
    extraction): in the flattened (n * m) plane, entry l sits at ``off + l * (m + 1)``."""
    perm, n, m, r0, c0, length = _diag_geom(tuple(x.shape), k, axis1, axis2)
    rest = tuple(x.shape[p] for p in perm[:-2])
    r = len(rest)
    if length == 0:
        return F.zeros_like(x)
    off = r0 * m + c0
    col = F.expand_dims(g, axis=r + 1)                                   # rest + (L, 1)
    gap = F.broadcast_to(F.zeros_like(col), shape=rest + (length, m))
    spread = F.reshape(F.concat(col, gap, dim=r + 1), shape=rest + (length * (m + 1),))
    take = min(length * (m + 1), n * m - off)
    spread = F.slice_axis(spread, axis=r, begin=0, end=take)
    base = F.reshape(F.transpose(F.zeros_like(x), axes=perm), shape=rest + (n * m,))
    flat = F._slice_assign(base, spread, begin=(None,) * r + (off,),
                           end=(None,) * r + (off + take,))
    planes = F.reshape(flat, shape=rest + (n, m))
    return F.transpose(planes, axes=tuple(int(a) for a in np.argsort(perm)))


def _diag_grad(i, o, g, k=0, axis1=0, axis2=1):
    if len(i[0].shape) == 1:
        return (F.diag(g[0], k=k),)
    return (_diag_embed(g[0], i[0], k, axis1, axis2),)


def _diag_onnx(g, i, a, o, k=0, axis1=0, axis2=1):
    shape = tuple(a[0].shape)
    if len(shape) == 1:
        size = o[0].shape[0]
        padded = g.op("Pad", i[0], g.ints([max(0, -int(k)), max(0, int(k))]))
        mask = g.const(np.eye(size, k=int(k), dtype=a[0].dtype), name="diag_mask")
        return g.op("Mul", g.op("Unsqueeze", padded, g.ints([1])), mask)
    perm, n, m, r0, c0, length = _diag_geom(shape, k, axis1, axis2)
    rest = tuple(shape[p] for p in perm[:-2])
    flat = g.op("Reshape", g.op("Transpose", i[0], perm=list(perm)), g.ints(rest + (n * m,)))
    off = r0 * m + c0
    return g.op("Slice", flat, g.ints([off]), g.ints([off + max(length - 1, 0) * (m + 1) + 1]),
                g.ints([len(rest)]), g.ints([m + 1]))


def _diag_ref(x, k=0, axis1=0, axis2=1):
    if x.ndim == 1:
        return np.diag(x, k)
    return np.diagonal(x, k, axis1, axis2)


diag = register(
    "diag", _diag_kernel, attrs={"k": 0, "axis1": 0, "axis2": 1},
    infer=lambda x, **at: _like(x, _diag_shape(x.shape, **at)),
    grad=_diag_grad, onnx=_diag_onnx,
    samples=[Sample(rnd(3)), Sample(rnd(3), k=1), Sample(rnd(2), k=-2),
             Sample(rnd(3, 4)), Sample(rnd(3, 4), k=2), Sample(rnd(4, 3), k=-1),
             Sample(rnd(2, 3, 4), k=1, axis1=1, axis2=2),
             Sample(rnd(3, 2, 4), k=-1, axis1=2, axis2=0)],
    ref=_diag_ref, second_order=True)
