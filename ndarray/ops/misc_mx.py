"""Small MXNet 1.9 ops: ``erfinv``, ``ravel_multi_index`` / ``unravel_index``, ``khatri_rao``,
``softmax_cross_entropy`` and contrib's ``gradientmultiplier``, ``index_array``,
``index_copy``.

Example::

    >>> nd.ravel_multi_index(nd.array([[1, 2], [0, 3]]), shape=(3, 4))   # [4. 11.]
    >>> nd.erfinv(nd.array([0., 0.5]))                                    # [0. 0.4769363]
"""
import math

import numpy as np

from ...base import OpError
from .. import ops as F
from .._registry import REQUIRED, Aval, Sample, register
from ._rules import same
from ._samples import rnd
from ._xp import erf


# ---- erfinv ---------------------------------------------------------------------------------
def _erfinv_kernel(xp, x):
    # |x| >= 1 meets log(0) and inf * 0 on the way; those entries are replaced at the end
    with np.errstate(all="ignore"):
        return _erfinv(xp, x)


def _erfinv(xp, x):
    z = x.astype(np.float64)
    # Giles' single-precision approximation as a start, then two Newton steps on erf
    w = -xp.log((1.0 - z) * (1.0 + z))
    small = w < 5.0
    ws, wl = w - 2.5, xp.sqrt(xp.where(small, 5.0, w)) - 3.0
    ps = 2.81022636e-08
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
              -0.00417768164, 0.246640727, 1.50140941):
        ps = c + ps * ws
    pl = -0.000200214257
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
              0.00943887047, 1.00167406, 2.83297682):
        pl = c + pl * wl
    y = xp.where(small, ps, pl) * z
    inside = xp.abs(z) < 1
    y = xp.where(inside, y, 0.0)
    for _ in range(2):
        y = y - (erf(xp, y) - z) / (2.0 / math.sqrt(math.pi) * xp.exp(-y * y))
    y = xp.where(inside, y, xp.where(xp.abs(z) == 1, xp.sign(z) * np.inf, np.nan))
    return y.astype(x.dtype if x.dtype.kind == "f" else np.float32)


erfinv = register(
    "erfinv", _erfinv_kernel, infer=same,
    grad=lambda i, o, g: (g[0] * (math.sqrt(math.pi) / 2) * F.exp(F.square(o[0])),),
    save_outputs=True, amp="fp32",
    no_onnx="ONNX has Erf but no inverse; a lowering would need an iterative solve",
    ref=lambda x: _erfinv_kernel(np, x),
    samples=[Sample(rnd(3, 4) * 0.9), Sample(np.array([0.0, 0.5, -0.99, 0.999]))],
    doc="""Inverse error function, elementwise (MXNet ``erfinv``): ``erf(erfinv(x)) = x``
    on (-1, 1); +-inf at +-1, NaN outside. Output: like x.

    Example::

        >>> nd.erfinv(nd.array([0.5]))     # [0.4769363]
    """)


# ---- ravel / unravel ------------------------------------------------------------------------
def _ravel_infer(data, shape=REQUIRED):
    if len(data.shape) != 2 or data.shape[0] != len(tuple(shape)):
        raise OpError(f"ravel_multi_index: data must be (len(shape), N) = ({len(tuple(shape))},"
                      f" N), got {tuple(data.shape)}")
    return Aval((data.shape[1],), np.dtype(data.dtype))


def _ravel_kernel(xp, data, shape=REQUIRED):
    strides = np.cumprod((1,) + tuple(int(s) for s in shape)[:0:-1])[::-1]
    idx = data.astype(np.int64)
    return (idx * xp.asarray(strides.reshape(-1, 1))).sum(axis=0).astype(data.dtype)


ravel_multi_index = register(
    "ravel_multi_index", _ravel_kernel, attrs={"shape": REQUIRED}, infer=_ravel_infer,
    no_grad="integer positions: piecewise constant", no_onnx="no ONNX equivalent",
    ref=lambda data, shape: np.ravel_multi_index(data.astype(np.int64), shape),
    samples=[Sample(np.array([[1.0, 2.0, 0.0], [0.0, 3.0, 1.0]]), shape=(3, 4)),
             Sample(np.array([[1, 0], [2, 1], [3, 2]], np.int32), shape=(2, 3, 4))],
    aliases=("_ravel_multi_index",),
    doc="""Flat indices of the multi-indices in the columns of ``data`` (len(shape), N) in an
    array of ``shape`` (row-major); output (N,), data's dtype.

    Example::

        >>> nd.ravel_multi_index(nd.array([[1, 2], [0, 3]]), shape=(3, 4))   # [4. 11.]
    """)


def _unravel_kernel(xp, data, shape=REQUIRED):
    dims = tuple(int(s) for s in shape)
    idx = data.astype(np.int64).reshape(-1)
    out = []
    for d in dims[:0:-1]:  # the last axis varies fastest
        out.append(idx % d)
        idx = idx // d
    out.append(idx)   # the first axis takes the rest unbounded (MXNet: shape[0] may be -1)
    return xp.stack(out[::-1]).reshape((len(dims),) + data.shape).astype(data.dtype)


unravel_index = register(
    "unravel_index", _unravel_kernel, attrs={"shape": REQUIRED},
    infer=lambda data, shape=REQUIRED: Aval((len(tuple(shape)),) + tuple(data.shape),
                                            np.dtype(data.dtype)),
    no_grad="integer positions: piecewise constant", no_onnx="no ONNX equivalent",
    ref=lambda data, shape: np.array(np.unravel_index(
        data.astype(np.int64), (max(int(shape[0]), 1 + int(data.max()) // int(np.prod(
            shape[1:]))),) + tuple(shape[1:]))),
    samples=[Sample(np.array([4.0, 11.0, 0.0]), shape=(3, 4)),
             Sample(np.array([23, 5], np.int32), shape=(2, 3, 4)),
             Sample(np.array([23, 5, 40], np.int32), shape=(-1, 3, 4))],
    aliases=("_unravel_index",),
    doc="""The multi-indices (rows) of the flat indices ``data`` (N,) in an array of ``shape``:
    output (len(shape), N), data's dtype (the inverse of ``ravel_multi_index``). The first
    axis is unbounded (``shape[0]`` may be -1), as MXNet's.

    Example::

        >>> nd.unravel_index(nd.array([4, 11]), shape=(3, 4))   # [[1. 2.] [0. 3.]]
    """)


# ---- khatri_rao -----------------------------------------------------------------------------
def _kr_infer(*mats):
    if not mats or any(len(m.shape) != 2 for m in mats) or len({m.shape[1] for m in mats}) != 1:
        raise OpError(f"khatri_rao: needs 2-D matrices with equal column counts, got "
                      f"{[tuple(m.shape) for m in mats]}")
    return Aval((math.prod(m.shape[0] for m in mats), mats[0].shape[1]),
                np.result_type(*[m.dtype for m in mats]))


def _kr_kernel(xp, *mats):
    out = mats[0]
    for m in mats[1:]:  # column-wise Kronecker product: rows (i, j) -> i * rows(m) + j
        out = (out[:, None, :] * m[None, :, :]).reshape(-1, m.shape[1])
    return out


def _kr_grad(ins, outs, gouts):
    g = gouts[0]
    rows = [m.shape[0] for m in ins]
    k = ins[0].shape[1]
    grads = []
    for i in range(len(ins)):
        # the output is the product of every factor's row, broadcast over a (r0, r1, ..., k) grid
        grid = F.reshape(g, shape=tuple(rows) + (k,))
        for j, other in enumerate(ins):
            if j != i:
                shape = [1] * len(rows) + [k]
                shape[j] = rows[j]
                grid = F.broadcast_mul(grid, F.reshape(other, shape=tuple(shape)))
        axes = tuple(j for j in range(len(rows)) if j != i)
        grads.append(F.sum(grid, axis=axes) if axes else grid)
    return tuple(grads)


khatri_rao = register(
    "khatri_rao", _kr_kernel, inputs=("*args",), infer=_kr_infer, grad=_kr_grad, amp="fp32",
    no_onnx="no ONNX equivalent (a product of reshaped inputs would do; not written yet)",
    ref=lambda *m: _kr_kernel(np, *m),
    samples=[Sample(rnd(2, 3), rnd(4, 3, salt=1)),
             Sample(rnd(2, 2), rnd(3, 2, salt=1), rnd(2, 2, salt=2))],
    doc="""Khatri-Rao product (column-wise Kronecker) of matrices (r_i, k): output
    (prod r_i, k), column c being kron(A[:, c], B[:, c], ...).

    Example::

        >>> nd.khatri_rao(nd.array([[1, -1], [2, -3]]), nd.array([[1, 4], [2, 5], [3, 6]]))
    """)


# ---- softmax_cross_entropy ------------------------------------------------------------------
def _sce_kernel(xp, data, label):
    z = data - data.max(axis=1, keepdims=True)
    logp = z - xp.log(xp.exp(z).sum(axis=1, keepdims=True))
    picked = xp.take_along_axis(logp, label.astype(np.int64).reshape(-1, 1), axis=1)
    return (-picked.sum()).reshape(1).astype(data.dtype)


def _sce_grad(ins, outs, gouts):
    data, label = ins
    onehot = F.one_hot(label, depth=data.shape[1], dtype=np.dtype(data.dtype).name)
    return (F.broadcast_mul(F.softmax(data, axis=1) - onehot, F.reshape(gouts[0], shape=(1, 1))),
            None)


softmax_cross_entropy = register(
    "softmax_cross_entropy", _sce_kernel, inputs=("data", "label"),
    infer=lambda data, label: Aval((1,), np.dtype(data.dtype)), grad=_sce_grad, amp="fp32",
    no_onnx="no ONNX lowering written (SoftmaxCrossEntropyLoss with reduction=sum would fit)",
    ref=lambda data, label: _sce_kernel(np, data, label),
    samples=[Sample(rnd(4, 3), np.array([0.0, 2.0, 1.0, 2.0]), wrt=[0])],
    doc="""Softmax cross-entropy summed over the batch (MXNet ``softmax_cross_entropy``):
    ``-sum_i log softmax(data[i])[label[i]]``. data: (N, C); label: (N,) class indices.
    Output: (1,).

    Example::

        >>> nd.softmax_cross_entropy(nd.array([[1., 2.], [3., 1.]]), nd.array([1, 0]))
    """)


# ---- contrib: gradientmultiplier, index_array, index_copy -----------------------------------
_contrib_gradientmultiplier = register(
    "_contrib_gradientmultiplier", lambda xp, data, scalar=1.0, is_int=True: data.copy(),
    attrs={"scalar": 1.0, "is_int": True}, infer=same,
    grad=lambda i, o, g, scalar=1.0, is_int=True: (g[0] * float(scalar),),
    onnx=lambda g, i, a, o, **_: g.op("Identity", i[0]),
    ref=lambda data, scalar=1.0, is_int=True: data,
    # the gradient is scaled on purpose, so finite differences (of the identity) cannot check
    # it: tests/test_misc_mx_ops.py does, against MXNet
    samples=[Sample(rnd(2, 3), scalar=-0.5, grad=False), Sample(rnd(4), scalar=3.0, grad=False)],
    doc="""Identity forward; the gradient is multiplied by ``scalar`` (MXNet
    ``contrib.gradientmultiplier``: ``scalar=-1`` reverses it, as in gradient-reversal layers).
    Output: like data.

    Example::

        >>> nd.contrib.gradientmultiplier(x, scalar=-1.0)
    """)


def _index_array_axes(ndim, axes):
    return tuple(range(ndim)) if axes is None else tuple(a % ndim for a in axes)


def _index_array_kernel(xp, data, axes=None):
    ax = _index_array_axes(data.ndim, axes)
    if not ax:   # a 0-d input has no axis to index: an empty last axis (MXNet: shape (0,))
        return xp.zeros(tuple(data.shape) + (0,), dtype=np.int64)
    grids = xp.indices(data.shape, dtype=np.int64)
    return xp.stack([grids[a] for a in ax], axis=-1)


_contrib_index_array = register(
    "_contrib_index_array", _index_array_kernel, attrs={"axes": None},
    infer=lambda data, axes=None: Aval(
        tuple(data.shape) + (len(_index_array_axes(len(data.shape), axes)),),
        np.dtype(np.int64)),
    no_grad="integer positions", no_onnx="no ONNX equivalent written",
    ref=lambda data, axes=None: _index_array_kernel(np, data, axes),
    samples=[Sample(rnd(2, 3)), Sample(rnd(2, 3, 4), axes=(0, -1))],
    doc="""The index of each element (MXNet ``contrib.index_array``): output data.shape +
    (len(axes),) int64, entry ``[..., j]`` being the position along ``axes[j]`` (all axes by
    default).

    Example::

        >>> nd.contrib.index_array(nd.zeros((2, 2)))  # [[[0 0] [0 1]] [[1 0] [1 1]]]
    """)


def _index_copy_kernel(xp, old_tensor, index_vector, new_tensor):
    out = old_tensor.copy()
    out[index_vector.astype(np.int64)] = new_tensor
    return out


def _index_copy_grad(ins, outs, gouts):
    old, index, new = ins
    g = gouts[0]
    idx = F.cast(index, dtype="int64")
    # rows that were overwritten get no gradient in old; new's rows read theirs
    hit = F.sum(F.one_hot(idx, depth=g.shape[0], dtype=np.dtype(g.dtype).name), axis=0)
    keep = 1.0 - F.clip(F.reshape(hit, shape=(g.shape[0],) + (1,) * (len(g.shape) - 1)), 0, 1)
    return (F.broadcast_mul(g, keep), None, F.take(g, idx, axis=0))


_contrib_index_copy = register(
    "_contrib_index_copy", _index_copy_kernel, inputs=("old_tensor", "index_vector",
                                                       "new_tensor"),
    infer=lambda old, index, new: Aval(tuple(old.shape), np.dtype(old.dtype)),
    grad=_index_copy_grad, no_onnx="no ONNX lowering written (ScatterND would fit)",
    ref=lambda old, index, new: _index_copy_kernel(np, old, index, new),
    samples=[Sample(rnd(5, 3), np.array([0, 3], np.int64), rnd(2, 3, salt=1), wrt=[0, 2])],
    doc="""A copy of ``old_tensor`` (N, ...) whose rows ``index_vector`` (M,) are replaced by
    the rows of ``new_tensor`` (M, ...) (MXNet ``contrib.index_copy``). Output: like old.

    Example::

        >>> nd.contrib.index_copy(nd.zeros((3, 2)), nd.array([1]), nd.ones((1, 2)))
    """)

