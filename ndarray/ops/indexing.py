"""Indexing: ``x[key]`` (getitem), take, pick, one_hot, gather_nd, scatter_nd.

``NDArray.__getitem__`` encodes its key (``ndarray.encode_index``) into a hashable tuple: ints,
``None``, ``Ellipsis``, ``("s", start, stop, step)`` for slices and ``("a", i)`` for the i-th
index array, passed as an extra input. Index arrays may be float (``nd.array`` defaults to
float32 in MXNet code): kernels truncate them to int64 as MXNet's casts do.

Gradients flow to the data only, through scatter-add ops (``_getitem_backward``,
``_put_along_axis``) that are registry ops themselves, so second order works.
"""
import math

import numpy as np

from ...base import _CHECKS, OpError
from .. import ops as F
from .._registry import REQUIRED, Aval, Sample, register
from ._rules import norm_axis
from ._samples import ints, rnd

_INT_MAX = np.iinfo(np.int64).max
_INT_MIN = np.iinfo(np.int64).min
_FULL = ("s", None, None, None)


def as_index(a):
    """An index array as integers: floats are truncated toward zero (MXNet's static_cast)."""
    return a if a.dtype.kind in "iu" else a.astype(np.int64)


def norm_index(xp, idx, n, mode):
    """Out-of-range handling of take/pick: ``'wrap'`` wraps around, anything else clips."""
    idx = as_index(idx)
    if mode == "wrap":
        return xp.mod(idx, n)
    return xp.minimum(xp.maximum(idx, 0), n - 1)  # (xp.clip is slower on small arrays)


def check_index_range(index, n, axis):
    """Checked mode (``kiln.set_checks(True)``): raise where ``mode='clip'`` would clamp an
    index silently, i.e. one outside ``[0, n)`` (for a loss: a class label out of range).
    Float indices truncate toward zero as MXNet's cast does, so -0.5 reads 0 and passes."""
    ok = (index > -1) & (index < n)   # NaN fails both
    if bool(ok.all()):
        return
    bad = index[~ok].reshape(-1)
    raise OpError(f"index {bad[0].item():g} is outside [0, {n}) along axis {axis} "
                  f"({bad.size} of {index.size} out of range). Checked mode is on "
                  f"(kiln.set_checks(True)); without it they are clipped into range, as in "
                  f"MXNet")


def lane_positions(xp, shape, idx, axis):
    """Flat positions in an array of ``shape`` of ``idx`` (``shape`` with 1 at ``axis``): the
    element each lane along ``axis`` selects. A gather or scatter through these positions
    beats ``take_along_axis`` / ``add.at`` by several times on the small arrays of losses."""
    before, after = math.prod(shape[:axis]), math.prod(shape[axis + 1:])
    key = (shape, axis)
    base = _LANE_BASES.get(key) if xp is np else None
    if base is None:  # the flat position of each lane's first element
        base = (xp.arange(before) * (shape[axis] * after))[:, None] + xp.arange(after)
        if xp is np:
            if len(_LANE_BASES) > 64:
                _LANE_BASES.clear()
            _LANE_BASES[key] = base
    flat = idx.reshape(before, after) * after
    flat += base
    return flat.reshape(idx.shape)


_LANE_BASES = {}  # (shape, axis) -> lane bases, for numpy (losses call pick with one shape)


def scatter_add(xp, out, key, vals):
    """``out[key] += vals`` with repeated indices accumulating (numpy, or cupy's atomics)."""
    xp.add.at(out, key, vals)
    return out


def scatter_rows(xp, out, key, vals):
    """``scatter_add`` of whole rows into a zero ``out`` (an embedding's gradient): on numpy a
    third faster than ``add.at``. The rows are sorted by key and summed per key by one
    ``reduceat`` (whose summation order may differ from add.at's: the last bit may too)."""
    if xp is not np or len(key) < 2 or key.dtype.kind not in "iu":
        return scatter_add(xp, out, key, vals)
    order = np.argsort(key, kind="stable")
    keys = key[order]
    if keys[0] < 0:  # -1 and n-1 name one row: add.at resolves that, the grouping does not
        return scatter_add(xp, out, key, vals)
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    out[keys[starts]] += np.add.reduceat(vals[order], starts, axis=0)
    return out


def _export_error(msg):
    from ...base import ExportError
    return ExportError(msg)


# ---- x[key] --------------------------------------------------------------------------------
def decode(key, arrays):
    """The numpy/cupy key for an encoded key and its index arrays."""
    out = []
    for k in key:
        if isinstance(k, tuple):
            out.append(slice(*k[1:]) if k[0] == "s" else as_index(arrays[k[1]]))
        else:
            out.append(k)
    return tuple(out)


def _is_view_key(key):
    # MXNet returns a view for x[i] and x[a:b] along the first axis; everything else copies.
    return len(key) == 1 and (isinstance(key[0], int) or (
        isinstance(key[0], tuple) and key[0][0] == "s" and key[0][3] in (None, 1)))


def _getitem_kernel(xp, data, *indices, key):
    res = data[decode(key, indices)]
    if res.ndim == 0:  # MXNet's NDArray has no 0-d results: x[1, 2] has shape (1,)
        return xp.reshape(xp.asarray(res), (1,))
    return res if _is_view_key(key) or indices else res.copy()


def _getitem_infer(data, *indices, key):
    dummy = np.broadcast_to(np.zeros((), np.dtype(data.dtype)), tuple(data.shape))
    arrays = [np.zeros(tuple(a.shape), np.int64) for a in indices]
    try:
        shape = dummy[decode(key, arrays)].shape
    except IndexError as e:
        raise OpError(f"getitem: {e}") from None
    return Aval(tuple(shape) or (1,), np.dtype(data.dtype))


def _getitem_grad(ins, outs, gouts, key):
    data, *indices = ins
    return (F._getitem_backward(gouts[0], data, *indices, key=key),) + (None,) * len(indices)


def _full_key(key, ndim):
    """The key with Ellipsis expanded and trailing full slices added (one entry per axis)."""
    used = sum(1 for k in key if k is not None and k is not Ellipsis)
    out, done = [], False
    for k in key:
        if k is Ellipsis and not done:
            out += [_FULL] * (ndim - used)
            done = True
        elif k is not Ellipsis:
            out.append(k)
    return out + ([] if done else [_FULL] * (ndim - used))


def _is_adv(k, adv):
    return (isinstance(k, tuple) and k[0] == "a") or (adv and isinstance(k, int))


def _onnx_slice(g, x, shape, key, adv):
    """One Slice node for the slices (and, without index arrays, the ints) of ``key``."""
    starts, ends, axes, steps, dim = [], [], [], [], 0
    for k in key:
        if k is None:
            continue
        if isinstance(k, int) and not adv:
            starts.append(k)
            ends.append(k + 1 if k != -1 else _INT_MAX)
            axes.append(dim)
            steps.append(1)
        elif isinstance(k, tuple) and k[0] == "s" and k != _FULL:
            start, stop, step = slice(*k[1:]).indices(shape[dim])
            if step < 0 and stop < 0:  # slice down to the first element
                stop = _INT_MIN
            starts.append(start)
            ends.append(stop)
            axes.append(dim)
            steps.append(step)
        dim += 1
    if not axes:
        return x
    return g.op("Slice", x, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps))


def _onnx_index(g, name, aval, size):
    """An index tensor as int64 with negative entries wrapped (``size``: the axis length)."""
    if np.dtype(aval.dtype) != np.int64:
        name = g.op("Cast", name, to=g.onnx_dtype(np.int64))
    n = g.const(np.int64(size))
    neg = g.op("Less", name, g.const(np.int64(0)))
    return g.op("Where", neg, g.op("Add", name, n), name)


def lower_getitem(g, x, shape, names, avals, key, out_ndim):
    """Lower ``x[key]`` (static ``shape``) to Slice/Squeeze/Unsqueeze/Gather/GatherND."""
    key = _full_key(key, len(shape))
    adv = any(isinstance(k, tuple) and k[0] == "a" for k in key)
    y = _onnx_slice(g, x, shape, key, adv)
    if not adv:
        sq = [d for d, k in enumerate(k for k in key if k is not None) if isinstance(k, int)]
        if out_ndim == 1 and len(sq) == len(shape) and len(shape) > 0:
            return g.op("Reshape", y, g.ints([1]))  # all ints: MXNet gives shape (1,)
        if sq:
            y = g.op("Squeeze", y, g.ints(sq))
        pos, new = 0, []
        for k in key:
            if k is None:
                new.append(pos)
            if not isinstance(k, int):
                pos += 1
        return g.op("Unsqueeze", y, g.ints(new)) if new else y
    nones = [j for j, k in enumerate(key) if k is None]
    if nones:
        y = g.op("Unsqueeze", y, g.ints(nones))
    sizes, dim = [], 0  # the length of each key entry's axis in the input
    for k in key:
        sizes.append(1 if k is None else shape[dim])
        dim += k is not None
    pos = [j for j, k in enumerate(key) if _is_adv(k, adv)]
    idx, bshapes = [], []
    for j in pos:
        k = key[j]
        if isinstance(k, int):
            idx.append(g.const(np.int64(k % sizes[j])))
            bshapes.append(())
        else:
            idx.append(_onnx_index(g, names[k[1]], avals[k[1]], sizes[j]))
            bshapes.append(tuple(avals[k[1]].shape))
    if len(pos) == 1:  # a single index array stays in place: Gather does exactly that
        return g.op("Gather", y, idx[0], axis=pos[0])
    return _gather_nd_adv(g, y, len(key), pos, idx, bshapes)


def _gather_nd_adv(g, y, rank, pos, idx, bshapes):
    """Several advanced indices: GatherND on the indexed axes moved to the front."""
    bshape = tuple(np.broadcast_shapes(*bshapes))
    cols = [g.op("Unsqueeze", g.op("Expand", i, g.ints(bshape)), g.ints([-1])) for i in idx]
    ind = g.op("Concat", *cols, axis=-1)
    rest = [j for j in range(rank) if j not in pos]
    if pos != list(range(len(pos))):
        y = g.op("Transpose", y, perm=pos + rest)
    out = g.op("GatherND", y, ind)
    adjacent = pos == list(range(pos[0], pos[0] + len(pos)))
    if adjacent and pos[0] > 0:  # numpy keeps adjacent advanced indices in place
        nb = len(bshape)
        perm = [nb + i for i in range(pos[0])] + list(range(nb)) + \
               [nb + i for i in range(pos[0], len(rest))]
        out = g.op("Transpose", out, perm=perm)
    return out


def _getitem_onnx(g, i, a, o, key):
    return lower_getitem(g, i[0], tuple(a[0].shape), i[1:], a[1:], key, len(o[0].shape))


def _gi_ref(fn):
    return lambda x, *idx, key: np.atleast_1d(fn(x, *[as_index(i) for i in idx]))


_A0, _A1 = ("a", 0), ("a", 1)
getitem = register(
    "getitem", _getitem_kernel, inputs=("data", "*indices"), attrs={"key": REQUIRED},
    infer=_getitem_infer, grad=_getitem_grad, onnx=_getitem_onnx, second_order=True,
    samples=[
        Sample(rnd(3, 4, 5), key=(1, ("s", None, None, 2)), ref=_gi_ref(lambda x: x[1, ::2])),
        Sample(rnd(4, 5), key=(-1, ("s", None, None, -2)), ref=_gi_ref(lambda x: x[-1, ::-2])),
        Sample(rnd(2, 3, 4), key=(Ellipsis, None, ("s", 1, 3, None)),
               ref=_gi_ref(lambda x: x[..., None, 1:3])),
        Sample(rnd(5, 4), key=(("s", -4, -1, None), ("s", 3, None, -2)),
               ref=_gi_ref(lambda x: x[-4:-1, 3::-2])),
        Sample(rnd(3, 4), key=(1, -2), ref=_gi_ref(lambda x: x[1, -2])),
        Sample(rnd(5, 4), np.array([4, 0, 2, 0, -1]), key=(_A0,),
               ref=_gi_ref(lambda x, i: x[i])),
        Sample(rnd(3, 5), np.array([[4.0, 0.0], [2.0, 4.0]]), key=(_FULL, _A0), wrt=[0],
               ref=_gi_ref(lambda x, i: x[:, i])),
        Sample(rnd(3, 4, 5), ints(2, 3, hi=3), ints(3, hi=4, salt=7), key=(_A0, _A1),
               ref=_gi_ref(lambda x, i, j: x[i, j])),
        Sample(rnd(3, 4, 5), ints(2, 3, hi=3), ints(3, hi=5, salt=7), key=(_A0, _FULL, _A1),
               ref=_gi_ref(lambda x, i, j: x[i, :, j])),
        Sample(rnd(3, 4, 5), ints(3, hi=5), key=(_FULL, 1, _A0),
               ref=_gi_ref(lambda x, i: x[:, 1, i])),
        Sample(rnd(4, 5), ints(3, hi=4), key=(None, _A0, ("s", 1, None, None)),
               ref=_gi_ref(lambda x, i: x[None, i, 1:])),
    ],
    doc="""``data[key]`` with numpy's basic and advanced indexing rules (NDArray.__getitem__).

    ``key`` is the encoded key of ``ndarray.encode_index``; index arrays are extra inputs.
    A result with no axes has shape ``(1,)``, as in MXNet.

    Example::

        >>> x = nd.arange(12).reshape((3, 4))
        >>> x[1:, ::2].shape, x[nd.array([0, 2]), 1].shape
        ((2, 2), (2,))
    """)


def _getitem_backward_kernel(xp, grad, data, *indices, key):
    out = xp.zeros(data.shape, grad.dtype)
    k = decode(key, indices)
    if indices:  # repeated indices must accumulate
        return scatter_add(xp, out, k, grad.reshape(out[k].shape))
    out[k] = grad.reshape(out[k].shape)  # basic indexing: positions are unique
    return out


def _getitem_backward_onnx(g, i, a, o, key):
    shape = tuple(a[1].shape)
    size = int(np.prod(shape))
    has_arrays = len(i) > 2
    if has_arrays and g.opset < 16:
        raise _export_error("getitem gradient with index arrays needs ScatterND's reduction "
                            "(ONNX opset >= 16)")
    where = g.const(np.arange(size, dtype=np.int64).reshape(shape), name="positions")
    pos = lower_getitem(g, where, shape, i[2:], a[2:], key, len(a[0].shape))
    zeros = g.const(np.zeros(size, np.dtype(o[0].dtype)))
    upd = g.op("Reshape", i[0], g.ints([-1]))
    flat = g.op("ScatterND", zeros, g.op("Reshape", pos, g.ints([-1, 1])), upd,
                reduction="add" if g.opset >= 16 else None)
    return g.op("Reshape", flat, g.ints(shape))


def _getitem_backward_ref(grad, data, *idx, key):
    out = np.zeros(data.shape)
    k = decode(key, idx)
    np.add.at(out, k, grad.reshape(out[k].shape))
    return out


_getitem_backward = register(
    "_getitem_backward", _getitem_backward_kernel, inputs=("grad", "data", "*indices"),
    attrs={"key": REQUIRED},
    infer=lambda grad, data, *idx, key: Aval(tuple(data.shape), np.dtype(grad.dtype)),
    grad=lambda i, o, g, key: (F.getitem(g[0], *i[2:], key=key),) + (None,) * (len(i) - 1),
    onnx=_getitem_backward_onnx, ref=_getitem_backward_ref, second_order=True,
    samples=[Sample(rnd(2, 5), rnd(3, 4, 5), key=(1, ("s", None, None, 2)), wrt=[0]),
             Sample(rnd(1), rnd(3, 4), key=(1, -2), wrt=[0]),
             Sample(rnd(5, 4), rnd(5, 4), np.array([4, 0, 2, 0, -1]), key=(_A0,), wrt=[0]),
             Sample(rnd(2, 3, 4), rnd(3, 4, 5), ints(2, 3, hi=3), ints(3, hi=5, salt=7),
                    key=(_A0, _FULL, _A1), wrt=[0])],
    doc="Gradient of ``getitem``: ``grad`` scattered (added) into zeros shaped like ``data``.")


# ---- take --------------------------------------------------------------------------------
def _take_kernel(xp, a, indices, axis=0, mode="clip"):
    axis = norm_axis(axis, a.ndim, "take")
    n = a.shape[axis]
    if mode == "raise" and indices.size and bool((indices < 0).any() | (indices > n - 1).any()):
        # MXNet checks the raw values: -1 and 2.5 (for n = 3) are out of range
        raise ValueError(f"take: indices out of range [0, {n - 1}] with mode='raise'")
    return xp.take(a, norm_index(xp, indices, n, mode), axis=axis)


def _take_infer(a, indices, axis=0, mode="clip"):
    axis = norm_axis(axis, len(a.shape), "take")
    shape = tuple(a.shape)
    return Aval(shape[:axis] + tuple(indices.shape) + shape[axis + 1:], np.dtype(a.dtype))


def norm_index_op(indices, n, mode):
    """``norm_index`` written with registry ops (for gradients)."""
    if np.dtype(indices.dtype).kind not in "iu":
        indices = F.cast(indices, dtype="int64")
    return F.mod(indices, n) if mode == "wrap" else F.clip(indices, a_min=0, a_max=n - 1)


def _take_grad(ins, outs, gouts, axis=0, mode="clip"):
    a, indices = ins
    axis = norm_axis(axis, a.ndim, "take")
    idx = norm_index_op(indices, a.shape[axis], mode)
    key = (_FULL,) * axis + (_A0,)
    return F._getitem_backward(gouts[0], a, idx, key=key), None


def onnx_norm_index(g, name, aval, n, mode):
    """ONNX twin of ``norm_index``: Cast to int64, then Mod (wrap) or Max/Min (clip)."""
    if np.dtype(aval.dtype) != np.int64:
        name = g.op("Cast", name, to=g.onnx_dtype(np.int64))
    if mode == "wrap":
        return g.op("Mod", name, g.const(np.int64(n)))
    return g.op("Min", g.op("Max", name, g.const(np.int64(0))), g.const(np.int64(n - 1)))


def _take_onnx(g, i, a, o, axis=0, mode="clip"):
    axis = norm_axis(axis, len(a[0].shape), "take")
    idx = onnx_norm_index(g, i[1], a[1], a[0].shape[axis], mode)
    return g.op("Gather", i[0], idx, axis=axis)


def _take_ref(a, indices, axis=0, mode="clip"):
    n = a.shape[axis]
    idx = np.trunc(indices).astype(np.int64)
    idx = idx % n if mode == "wrap" else np.minimum(np.maximum(idx, 0), n - 1)
    return np.take(a, idx, axis=axis)


take = register(
    "take", _take_kernel, inputs=("a", "indices"), attrs={"axis": 0, "mode": "clip"},
    infer=_take_infer, grad=_take_grad, onnx=_take_onnx, ref=_take_ref, second_order=True,
    samples=[Sample(rnd(4, 3), np.array([0.0, 3.0, -1.0, 7.0, 1.0]), wrt=[0]),
             Sample(rnd(2, 5), np.array([[0.0, 4.0], [6.0, -2.0]]), axis=1, mode="wrap",
                    wrt=[0]),
             Sample(rnd(3, 4, 2), ints(2, 2, hi=4), axis=-2)],
    doc="""Take elements along ``axis`` at ``indices`` (MXNet ``take``).

    Output shape ``a.shape[:axis] + indices.shape + a.shape[axis+1:]``. Indices are truncated to
    integers; ``mode='clip'`` (default) clamps them into range (-1 becomes 0), ``'wrap'``
    wraps around; ``'raise'`` raises on an index outside ``[0, n-1]``.

    Example::

        >>> nd.take(nd.array([[1, 2], [3, 4]]), nd.array([1, -1]))
        [[3. 4.]
         [1. 2.]]
    """)


# ---- pick ----------------------------------------------------------------------------------
def _pick_index(xp, data, index, axis, mode):
    axis = norm_axis(axis, data.ndim, "pick")
    idx = norm_index(xp, index, data.shape[axis], mode)
    squeeze = idx.ndim == data.ndim - 1
    if squeeze:
        idx = idx.reshape(idx.shape[:axis] + (1,) + idx.shape[axis:])
    return axis, idx, squeeze


def _pick_kernel(xp, data, index, axis=-1, keepdims=False, mode="clip"):
    if _CHECKS[0] and mode != "wrap":
        check_index_range(index, data.shape[norm_axis(axis, data.ndim, "pick")], axis)
    axis, idx, squeeze = _pick_index(xp, data, index, axis, mode)
    if idx.shape[axis] == 1:
        out = data.reshape(-1)[lane_positions(xp, data.shape, idx, axis)]
    else:
        out = xp.take_along_axis(data, idx, axis=axis)
    return out.squeeze(axis) if squeeze and not keepdims else out


def _pick_infer(data, index, axis=-1, keepdims=False, mode="clip"):
    axis = norm_axis(axis, len(data.shape), "pick")
    shape = list(data.shape)
    if len(index.shape) == len(shape):  # an index with the axis kept (internal use)
        shape[axis] = index.shape[axis]
    elif keepdims:
        shape[axis] = 1
    else:
        del shape[axis]
    return Aval(tuple(shape), np.dtype(data.dtype))


def _pick_grad(ins, outs, gouts, axis=-1, keepdims=False, mode="clip"):
    data, index = ins
    return F._put_along_axis(gouts[0], index, data, axis=axis, mode=mode), None


def _pick_onnx(g, i, a, o, axis=-1, keepdims=False, mode="clip"):
    nd_ = len(a[0].shape)
    axis = norm_axis(axis, nd_, "pick")
    idx = onnx_norm_index(g, i[1], a[1], a[0].shape[axis], mode)
    squeeze = len(a[1].shape) == nd_ - 1
    if squeeze:
        idx = g.op("Unsqueeze", idx, g.ints([axis]))
    out = g.op("GatherElements", i[0], idx, axis=axis)
    return g.op("Squeeze", out, g.ints([axis])) if squeeze and not keepdims else out


def _pick_ref(data, index, axis=-1, keepdims=False, mode="clip"):
    moved = np.moveaxis(data, axis, -1)
    n = moved.shape[-1]
    idx = np.trunc(index).astype(np.int64)
    idx = idx % n if mode == "wrap" else np.clip(idx, 0, n - 1)
    flat = moved.reshape(-1, n)[np.arange(idx.size), idx.reshape(-1)].reshape(idx.shape)
    return np.expand_dims(flat, axis) if keepdims else flat


pick = register(
    "pick", _pick_kernel, inputs=("data", "index"),
    attrs={"axis": -1, "keepdims": False, "mode": "clip"},
    infer=_pick_infer, grad=_pick_grad, onnx=_pick_onnx, ref=_pick_ref, second_order=True,
    aliases=("choose_element_0index",),  # MXNet's legacy name (axis -1 of a 2-D array)
    samples=[Sample(rnd(3, 4), np.array([0.0, 3.0, 5.0]), wrt=[0]),
             Sample(rnd(3, 4), np.array([1.0, -1.0, 2.0, 6.0]), axis=0, keepdims=True,
                    mode="wrap", wrt=[0]),
             Sample(rnd(2, 3, 4), ints(2, 4, hi=3), axis=1)],
    doc="""Pick one element per position along ``axis`` (MXNet ``pick``).

    ``index`` has ``data``'s shape without ``axis``; the output has that shape (or a 1 at
    ``axis`` with ``keepdims=True``). ``mode='clip'`` clamps indices, ``'wrap'`` wraps them.

    Example::

        >>> nd.pick(nd.array([[1, 2], [3, 4]]), nd.array([0, 1]))
        [1. 4.]
    """)


def _put_kernel(xp, grad, index, data, axis=-1, mode="clip"):
    axis, idx, squeeze = _pick_index(xp, data, index, axis, mode)
    if grad.ndim < data.ndim:
        grad = grad.reshape(idx.shape)
    if idx.shape[axis] == 1:  # one position per lane: a plain assignment
        out = xp.zeros(data.size, grad.dtype)
        out[lane_positions(xp, data.shape, idx, axis)] = grad
        return out.reshape(data.shape)
    grids = [xp.arange(s).reshape((1,) * d + (s,) + (1,) * (idx.ndim - d - 1))
             for d, s in enumerate(idx.shape)]
    grids[axis] = idx
    out = xp.zeros(data.shape, grad.dtype)
    return scatter_add(xp, out, tuple(grids), xp.broadcast_to(grad, idx.shape))


def _put_onnx(g, i, a, o, axis=-1, mode="clip"):
    nd_ = len(a[2].shape)
    axis = norm_axis(axis, nd_, "pick")
    idx = onnx_norm_index(g, i[1], a[1], a[2].shape[axis], mode)
    upd = i[0]
    if len(a[1].shape) < nd_:
        idx = g.op("Unsqueeze", idx, g.ints([axis]))
    if len(a[0].shape) < nd_:
        upd = g.op("Unsqueeze", upd, g.ints([axis]))
    zeros = g.const(np.zeros(tuple(a[2].shape), np.dtype(o[0].dtype)))
    # positions are unique per lane (pick, sort and topk indices), so no reduction is needed
    return g.op("ScatterElements", zeros, idx, upd, axis=axis)


def _put_grad(ins, outs, gouts, axis=-1, mode="clip"):
    grad, index, data = ins
    keep = grad.ndim == data.ndim
    return F.pick(gouts[0], index, axis=axis, keepdims=keep, mode=mode), None, None


def _put_ref(grad, index, data, axis=-1, mode="clip"):
    out = np.zeros(data.shape)
    n = data.shape[axis]
    idx = np.clip(np.trunc(index).astype(np.int64), 0, n - 1)
    if idx.ndim < data.ndim:
        idx = np.expand_dims(idx, axis)
    grad = grad.reshape(idx.shape)
    np.put_along_axis(out, idx, grad, axis)
    return out


_put_along_axis = register(
    "_put_along_axis", _put_kernel, inputs=("grad", "index", "data"),
    attrs={"axis": -1, "mode": "clip"},
    infer=lambda grad, index, data, **_: Aval(tuple(data.shape), np.dtype(grad.dtype)),
    grad=_put_grad, onnx=_put_onnx, ref=_put_ref, second_order=True,
    samples=[Sample(rnd(3), np.array([0.0, 3.0, 2.0]), rnd(3, 4), wrt=[0]),
             Sample(rnd(2, 3), np.array([[2, 0, 1], [0, 1, 2]]), rnd(2, 3), axis=1, wrt=[0])],
    doc="Gradient of pick/sort/topk: ``grad`` placed at ``index`` along ``axis`` in zeros "
        "shaped like ``data`` (indices unique per lane).")


# ---- one_hot -------------------------------------------------------------------------------
def _one_hot_kernel(xp, indices, depth, on_value=1.0, off_value=0.0, dtype="float32"):
    hit = as_index(indices)[..., None] == xp.arange(int(depth))
    dt = np.dtype(dtype)
    return xp.where(hit, xp.asarray(on_value, dt), xp.asarray(off_value, dt))


def _one_hot_onnx(g, i, a, o, depth, on_value=1.0, off_value=0.0, dtype="float32"):
    idx = g.op("Cast", i[0], to=g.onnx_dtype(np.int64))
    hit = g.op("Equal", g.op("Unsqueeze", idx, g.ints([-1])),
               g.const(np.arange(int(depth), dtype=np.int64)))
    dt = np.dtype(dtype)
    return g.op("Where", hit, g.const(np.asarray(on_value, dt)), g.const(np.asarray(off_value,
                                                                                    dt)))


def _one_hot_ref(indices, depth, on_value=1.0, off_value=0.0, dtype="float32"):
    out = np.full(indices.shape + (depth,), off_value, dtype=dtype)
    idx = np.trunc(indices).astype(np.int64)
    for pos in np.ndindex(indices.shape):
        if 0 <= idx[pos] < depth:
            out[pos + (idx[pos],)] = on_value
    return out


one_hot = register(
    "one_hot", _one_hot_kernel, inputs=("indices",),
    attrs={"depth": REQUIRED, "on_value": 1.0, "off_value": 0.0, "dtype": "float32"},
    infer=lambda indices, depth, on_value=1.0, off_value=0.0, dtype="float32": Aval(
        tuple(indices.shape) + (int(depth),), np.dtype(dtype)),
    onnx=_one_hot_onnx, ref=_one_hot_ref,
    no_grad="the output depends on the indices only, through a comparison",
    samples=[Sample(np.array([0.0, 2.0, 5.0, -1.0, 1.0]), depth=3),
             Sample(np.array([[1.0, 0.0], [3.0, 2.0]]), depth=4, on_value=5, off_value=-1,
                    dtype="int32")],
    doc="""One-hot rows of length ``depth`` (MXNet ``one_hot``); out-of-range indices (negative
    or ``>= depth``) give a row of ``off_value``. Output shape ``indices.shape + (depth,)``.

    Example::

        >>> nd.one_hot(nd.array([1, 3]), 3)
        [[0. 1. 0.]
         [0. 0. 0.]]
    """)


# ---- gather_nd / scatter_nd ----------------------------------------------------------------
def _gather_nd_kernel(xp, data, indices):
    return data[tuple(as_index(indices))]


def _gather_nd_infer(data, indices):
    m = indices.shape[0]
    return Aval(tuple(indices.shape[1:]) + tuple(data.shape[m:]), np.dtype(data.dtype))


def _gather_nd_grad(ins, outs, gouts):
    data, indices = ins
    m = indices.shape[0]
    rows = [F.getitem(indices, key=(k,)) for k in range(m)]
    key = tuple(("a", k) for k in range(m))
    return F._getitem_backward(gouts[0], data, *rows, key=key), None


def _onnx_nd_indices(g, name, aval, data_shape):
    """MXNet's (M, Y...) index layout as ONNX's (Y..., M), int64, negatives wrapped."""
    m = aval.shape[0]
    idx = g.op("Cast", name, to=g.onnx_dtype(np.int64))
    nd_ = len(aval.shape)
    idx = g.op("Transpose", idx, perm=list(range(1, nd_)) + [0])
    sizes = g.const(np.asarray(data_shape[:m], np.int64))
    neg = g.op("Less", idx, g.const(np.int64(0)))
    return g.op("Where", neg, g.op("Add", idx, sizes), idx)


def _gather_nd_onnx(g, i, a, o):
    return g.op("GatherND", i[0], _onnx_nd_indices(g, i[1], a[1], tuple(a[0].shape)))


gather_nd = register(
    "gather_nd", _gather_nd_kernel, inputs=("data", "indices"), infer=_gather_nd_infer,
    grad=_gather_nd_grad, onnx=_gather_nd_onnx, second_order=True,
    ref=lambda data, indices: data[tuple(np.trunc(indices).astype(np.int64))],
    samples=[Sample(rnd(3, 4, 2), np.array([[0.0, 2.0, 0.0], [1.0, 3.0, 1.0]]), wrt=[0]),
             Sample(rnd(3, 4), ints(2, 2, 2, hi=3)),
             Sample(rnd(4, 3), np.array([[-1.0, 1.0]]), wrt=[0])],
    doc="""Gather slices of ``data`` at index tuples (MXNet ``gather_nd``).

    ``indices`` has shape ``(M, Y0, ...)``: column ``indices[:, y]`` indexes the first ``M``
    axes. Output shape ``indices.shape[1:] + data.shape[M:]``.

    Example::

        >>> nd.gather_nd(nd.array([[1, 2], [3, 4]]), nd.array([[1, 0], [0, 1]]))
        [3. 2.]
    """)


def _scatter_nd_kernel(xp, data, indices, shape):
    out = xp.zeros(tuple(shape), data.dtype)
    out[tuple(as_index(indices))] = data
    return out


def _scatter_nd_onnx(g, i, a, o, shape):
    zeros = g.const(np.zeros(tuple(shape), np.dtype(o[0].dtype)))
    return g.op("ScatterND", zeros, _onnx_nd_indices(g, i[1], a[1], tuple(shape)), i[0])


def _scatter_nd_ref(data, indices, shape):
    out = np.zeros(shape)
    out[tuple(np.trunc(indices).astype(np.int64))] = data
    return out


scatter_nd = register(
    "scatter_nd", _scatter_nd_kernel, inputs=("data", "indices"), attrs={"shape": REQUIRED},
    infer=lambda data, indices, shape: Aval(tuple(shape), np.dtype(data.dtype)),
    grad=lambda i, o, g, shape: (F.gather_nd(g[0], i[1]), None),
    onnx=_scatter_nd_onnx, ref=_scatter_nd_ref, second_order=True,
    samples=[Sample(rnd(3), np.array([[0.0, 2.0, 1.0], [1.0, 3.0, 0.0]]), shape=(3, 4),
                    wrt=[0]),
             Sample(rnd(2, 3), np.array([[1, 0]]), shape=(2, 3))],
    doc="""Scatter ``data`` into zeros of ``shape`` at index tuples (inverse of gather_nd).

    ``indices`` has shape ``(M, Y0, ...)`` and ``data`` shape ``(Y0, ...) + shape[M:]``;
    positions must be unique.

    Example::

        >>> nd.scatter_nd(nd.array([2, 3]), nd.array([[1, 0], [0, 1]]), shape=(2, 2))
        [[0. 3.]
         [2. 0.]]
    """)


def _batch_rows(a_shape, idx_shape):
    """MXNet's batch_take reads ``a`` as rows along its last axis, one index per row."""
    n = math.prod(idx_shape)
    if not a_shape or n * a_shape[-1] != math.prod(a_shape):
        raise OpError(f"batch_take: indices of shape {tuple(idx_shape)} must number the rows of "
                      f"an array of shape {tuple(a_shape)} (its size without the last axis)")
    return n, a_shape[-1]


def _batch_take_kernel(xp, a, indices):
    n, m = _batch_rows(a.shape, indices.shape)
    j = xp.clip(indices.reshape(-1).astype(np.int64), 0, m - 1)
    return a.reshape(n, m)[xp.arange(n), j].reshape(indices.shape)


def _batch_take_infer(a, indices):
    _batch_rows(a.shape, indices.shape)
    return Aval(tuple(indices.shape), np.dtype(a.dtype))


def _batch_take_grad(ins, outs, gouts):
    a, indices = ins
    n, m = _batch_rows(a.shape, indices.shape)
    g = F._put_along_axis(F.reshape(gouts[0], shape=(n,)), F.reshape(indices, shape=(n,)),
                          F.reshape(a, shape=(n, m)), axis=1, mode="clip")
    return F.reshape(g, shape=a.shape), None


def _batch_take_onnx(g, i, a, o):
    n, m = _batch_rows(a[0].shape, a[1].shape)
    idx = g.op("Reshape", onnx_norm_index(g, i[1], a[1], m, "clip"), g.ints([n, 1]))
    out = g.op("GatherElements", g.op("Reshape", i[0], g.ints([n, m])), idx, axis=1)
    return g.op("Reshape", out, g.ints(list(a[1].shape)))


def _batch_take_ref(a, indices):
    n = indices.size
    j = np.clip(np.trunc(indices).astype(np.int64).reshape(-1), 0, a.shape[-1] - 1)
    return a.reshape(n, -1)[np.arange(n), j].reshape(indices.shape)


batch_take = register(
    "batch_take", _batch_take_kernel, inputs=("a", "indices"), infer=_batch_take_infer,
    grad=_batch_take_grad, onnx=_batch_take_onnx, ref=_batch_take_ref, second_order=True,
    samples=[Sample(rnd(3, 4), np.array([0.0, 3.0, 7.0]), wrt=[0]),
             Sample(rnd(2, 3, 2), np.array([[1.0, 0.0, 5.0], [-2.0, 1.0, 0.0]]), wrt=[0]),
             Sample(rnd(4, 3), ints(4, hi=3), wrt=[0])],
    doc="""``a[i, indices[i]]`` for each row ``i`` (MXNet ``batch_take``): ``a`` is read as
    ``(N, M)`` rows along its last axis (``M = a.shape[-1]``), one index per row; indices are
    clipped into ``[0, M)``. The output has the indices' shape.

    Example::

        >>> nd.batch_take(nd.array([[1, 2], [3, 4]]), nd.array([1, 0]))
        [2. 3.]
    """)


def fill_element_0index(lhs, mhs, rhs):
    """``lhs`` with ``lhs[i, rhs[i]]`` replaced by ``mhs[i]`` for each row ``i`` (MXNet's
    legacy NDArray function; a new array). ``lhs`` (N, M), ``mhs`` and ``rhs`` (N,).

    Example::

        >>> nd.fill_element_0index(nd.zeros((2, 3)), nd.array([7, 8]), nd.array([2, 0]))
        [[0. 0. 7.]
         [8. 0. 0.]]
    """
    mask = F.one_hot(rhs, depth=lhs.shape[1], dtype="bool")
    values = F.broadcast_like(F.reshape(mhs, shape=(-1, 1)).astype(lhs.dtype), lhs)
    return F.where(mask, values, lhs)


def onehot_encode(indices, out):
    """Write the one-hot rows of ``indices`` into ``out`` (N, depth) and return it (MXNet's
    deprecated ``onehot_encode``; ``one_hot`` is the op to use).

    Example::

        >>> out = nd.zeros((2, 3)); nd.onehot_encode(nd.array([2, 0]), out)
        [[0. 0. 1.]
         [1. 0. 0.]]
    """
    return F.one_hot(indices, depth=out.shape[1], dtype=out.dtype, out=out)


EXPORTS = {"fill_element_0index": fill_element_0index, "onehot_encode": onehot_encode}
