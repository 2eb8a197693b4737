"""Sorting: sort, argsort, topk (MXNet semantics; indices are float32 unless ``dtype`` says).

``axis=None`` works on the flattened array. Orders are stable (ties keep their original order,
as ONNX TopK does). Gradients of sorted values route back through the sorting permutation
(``_put_along_axis``); MXNet's ``sort`` fails on backward with the default axis, kiln does not.
"""
import numpy as np

from .. import ops as F
from .._registry import Aval, Sample, register
from ._rules import norm_axis
from ._samples import distinct


def _flat_axis(x, axis):
    """``(array, axis)`` with ``axis=None`` meaning the flattened array."""
    if axis is None:
        return x.reshape(-1), 0
    return x, norm_axis(axis, x.ndim, "sort")


def _descending_key(xp, x):
    # Negating keeps a stable order for ties; unsigned/bool values need a signed type first.
    if x.dtype.kind in "ub":
        x = x.astype(np.int64)
    return -x


def order(xp, x, axis, ascend):
    """Stable argsort (int64) along ``axis``, ascending or descending."""
    key = x if ascend else _descending_key(xp, x)
    return xp.argsort(key, axis=axis, kind="stable")


def _avals_axis(x, axis):
    shape = tuple(x.shape)
    if axis is None:
        return (int(np.prod(shape)),), 0
    return shape, norm_axis(axis, len(shape), "sort")


def scatter_back(data, g, idx, axis):
    """Gradient of values gathered at ``idx`` along ``axis``: ``g`` put back in place."""
    if axis is None:
        flat = F.reshape(data, shape=(-1,))
        return F.reshape(F._put_along_axis(g, idx, flat, axis=0), shape=tuple(data.shape))
    return F._put_along_axis(g, idx, data, axis=axis)


def _onnx_flat(g, name, aval, axis):
    shape, ax = _avals_axis(aval, axis)
    if axis is None and len(aval.shape) != 1:
        name = g.op("Reshape", name, g.ints([-1]))
    return name, shape, ax


def _onnx_topk(g, name, aval, axis, k, ascend):
    x, shape, ax = _onnx_flat(g, name, aval, axis)
    return g.op("TopK", x, g.ints([k]), axis=ax, largest=0 if ascend else 1, sorted=1,
                outputs=2)


# ---- sort / argsort ------------------------------------------------------------------------
def _sort_kernel(xp, data, axis=-1, is_ascend=True):
    x, ax = _flat_axis(data, axis)
    out = xp.sort(x, axis=ax)
    return out if is_ascend else xp.flip(out, axis=ax)


def _sort_grad(ins, outs, gouts, axis=-1, is_ascend=True):
    idx = F.argsort(ins[0], axis=axis, is_ascend=is_ascend, dtype="int64")
    return (scatter_back(ins[0], gouts[0], idx, axis),)


def _sort_onnx(g, i, a, o, axis=-1, is_ascend=True):
    shape, ax = _avals_axis(a[0], axis)
    return _onnx_topk(g, i[0], a[0], axis, shape[ax], is_ascend)[0]


def _sort_ref(data, axis=-1, is_ascend=True):
    x = data.reshape(-1) if axis is None else data
    ax = 0 if axis is None else axis
    out = np.sort(x, axis=ax)
    return out if is_ascend else np.flip(out, axis=ax)


_SAMPLES = [Sample(distinct(3, 4)), Sample(distinct(3, 4), axis=0, is_ascend=False),
            Sample(distinct(2, 3, 2), axis=None), Sample(distinct(5), is_ascend=False)]

sort = register(
    "sort", _sort_kernel, attrs={"axis": -1, "is_ascend": True},
    infer=lambda data, axis=-1, is_ascend=True: Aval(_avals_axis(data, axis)[0],
                                                      np.dtype(data.dtype)),
    grad=_sort_grad, onnx=_sort_onnx, ref=_sort_ref, second_order=True, samples=_SAMPLES,
    doc="""Sorted values along ``axis`` (flattened when ``axis=None``), ascending unless
    ``is_ascend=False``. Same shape as ``data``.

    Example::

        >>> nd.sort(nd.array([[1, 4], [3, 1]]))
        [[1. 4.]
         [1. 3.]]
    """)


def _argsort_kernel(xp, data, axis=-1, is_ascend=True, dtype="float32"):
    x, ax = _flat_axis(data, axis)
    return order(xp, x, ax, is_ascend).astype(np.dtype(dtype))


def _argsort_onnx(g, i, a, o, axis=-1, is_ascend=True, dtype="float32"):
    shape, ax = _avals_axis(a[0], axis)
    idx = _onnx_topk(g, i[0], a[0], axis, shape[ax], is_ascend)[1]
    return g.op("Cast", idx, to=g.onnx_dtype(dtype))


def _argsort_ref(data, axis=-1, is_ascend=True, dtype="float32"):
    x = data.reshape(-1) if axis is None else data
    ax = 0 if axis is None else axis
    idx = np.argsort(x if is_ascend else -x, axis=ax, kind="stable")
    return idx.astype(dtype)


argsort = register(
    "argsort", _argsort_kernel, attrs={"axis": -1, "is_ascend": True, "dtype": "float32"},
    infer=lambda data, axis=-1, is_ascend=True, dtype="float32": Aval(
        _avals_axis(data, axis)[0], np.dtype(dtype)),
    onnx=_argsort_onnx, ref=_argsort_ref, no_grad="integer-valued output (positions)",
    samples=_SAMPLES + [Sample(distinct(2, 4), dtype="int32", is_ascend=False)],
    doc="""Indices that sort ``data`` along ``axis`` (flattened when ``axis=None``), as
    ``dtype`` (float32 by default, as in MXNet).

    Example::

        >>> nd.argsort(nd.array([3, 1, 2]))
        [1. 2. 0.]
    """, amp="fp32")


# ---- topk ----------------------------------------------------------------------------------
def _k(n, k):
    """MXNet sorts the whole axis when ``k < 1``."""
    k = int(k)
    return n if k < 1 else min(k, n)


def _topk_parts(xp, data, axis, k, is_ascend):
    x, ax = _flat_axis(data, axis)
    kk = _k(x.shape[ax], k)
    idx = order(xp, x, ax, is_ascend)
    idx = xp.take(idx, xp.arange(kk), axis=ax)
    return x, ax, idx


def _topk_kernel(xp, data, axis=-1, k=1, ret_typ="indices", is_ascend=False, dtype="float32"):
    x, ax, idx = _topk_parts(xp, data, axis, k, is_ascend)
    if ret_typ == "mask":
        mask = xp.zeros(x.shape, data.dtype)
        _put_mask(xp, mask, idx, ax)
        return mask.reshape(data.shape)
    values = xp.take_along_axis(x, idx, axis=ax)
    if ret_typ == "value":
        return values
    idx = idx.astype(np.dtype(dtype))
    return [values, idx] if ret_typ == "both" else idx


def _put_mask(xp, mask, idx, ax):
    """``mask[idx along ax] = 1`` with open grids (numpy and cupy alike)."""
    grids = [xp.arange(s).reshape((1,) * d + (s,) + (1,) * (idx.ndim - d - 1))
             for d, s in enumerate(idx.shape)]
    grids[ax] = idx
    mask[tuple(grids)] = 1


def _topk_infer(data, axis=-1, k=1, ret_typ="indices", is_ascend=False, dtype="float32"):
    if ret_typ == "mask":
        return Aval(tuple(data.shape), np.dtype(data.dtype))
    shape, ax = _avals_axis(data, axis)
    shape = shape[:ax] + (_k(shape[ax], k),) + shape[ax + 1:]
    values, idx = Aval(shape, np.dtype(data.dtype)), Aval(shape, np.dtype(dtype))
    return {"value": values, "indices": idx}.get(ret_typ, (values, idx))


def _topk_grad(ins, outs, gouts, axis=-1, k=1, ret_typ="indices", is_ascend=False,
               dtype="float32"):
    if ret_typ not in ("value", "both"):
        return (None,)
    data = ins[0]
    idx = F.topk(data, axis=axis, k=k, ret_typ="indices", is_ascend=is_ascend, dtype="int64")
    return (scatter_back(data, gouts[0], idx, axis),)


def _topk_onnx(g, i, a, o, axis=-1, k=1, ret_typ="indices", is_ascend=False, dtype="float32"):
    shape, ax = _avals_axis(a[0], axis)
    values, idx = _onnx_topk(g, i[0], a[0], axis, _k(shape[ax], k), is_ascend)
    if ret_typ == "mask":
        dt = np.dtype(o[0].dtype)
        kshape = shape[:ax] + (_k(shape[ax], k),) + shape[ax + 1:]
        mask = g.op("ScatterElements", g.const(np.zeros(shape, dt)), idx,
                    g.const(np.ones(kshape, dt)), axis=ax)
        return mask if shape == tuple(a[0].shape) else g.op("Reshape", mask, g.ints(a[0].shape))
    idx = g.op("Cast", idx, to=g.onnx_dtype(dtype))
    return {"value": values, "indices": idx}.get(ret_typ, [values, idx])


def _topk_ref(data, axis=-1, k=1, ret_typ="indices", is_ascend=False, dtype="float32"):
    x = data.reshape(-1) if axis is None else np.moveaxis(data, axis, -1)
    kk = x.shape[-1] if k < 1 else k
    idx = np.argsort(x if is_ascend else -x, axis=-1, kind="stable")[..., :kk]
    values = np.take_along_axis(x, idx, axis=-1)
    if ret_typ == "mask":
        mask = np.zeros(x.shape)
        np.put_along_axis(mask, idx, 1.0, axis=-1)
        return mask.reshape(data.shape) if axis is None else np.moveaxis(mask, -1, axis)
    if axis is not None:
        values, idx = np.moveaxis(values, -1, axis), np.moveaxis(idx, -1, axis)
    idx = idx.astype(dtype)
    return {"value": values, "indices": idx}.get(ret_typ, [values, idx])


topk = register(
    "topk", _topk_kernel,
    attrs={"axis": -1, "k": 1, "ret_typ": "indices", "is_ascend": False, "dtype": "float32"},
    num_outputs=lambda attrs: 2 if attrs.get("ret_typ") == "both" else 1,
    infer=_topk_infer, grad=_topk_grad, onnx=_topk_onnx, ref=_topk_ref, second_order=True,
    samples=[Sample(distinct(3, 5), k=2, ret_typ="value"),
             Sample(distinct(3, 5), axis=0, k=2, ret_typ="both", is_ascend=True),
             Sample(distinct(2, 4), k=3),
             Sample(distinct(2, 4), k=2, ret_typ="mask"),
             Sample(distinct(2, 3, 2), axis=None, k=4, ret_typ="both", dtype="int32"),
             Sample(distinct(4, 3), k=0, ret_typ="value", axis=0),
             Sample(distinct(2, 3), axis=None, k=2, ret_typ="mask")],
    doc="""The ``k`` largest (smallest with ``is_ascend=True``) entries along ``axis``
    (MXNet ``topk``). ``ret_typ``: ``'indices'`` (default, as ``dtype``, float32 unless
    given), ``'value'``, ``'both'`` (``[values, indices]``) or ``'mask'`` (1 where selected,
    ``data``'s shape and dtype). ``k < 1`` sorts the whole axis; ``axis=None`` flattens.

    Example::

        >>> nd.topk(nd.array([[1, 3, 2]]), k=2, ret_typ='both')
        [[[3. 2.]], [[1. 2.]]]
    """, amp="fp32")
