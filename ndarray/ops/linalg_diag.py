"""MXNet's ``linalg`` diagonal and triangle ops: extractdiag, makediag, extracttrian,
maketrian, sumlogdiag (leading axes are batch axes).

Each picks (or places) a fixed set of a square matrix's entries: one table of flat indices
into ``n * n`` serves the kernel, the ONNX lowering (a ``Gather``) and the gradient (the
extract ops and the make ops are each other's adjoints). MXNet stores a lower triangle row by
row and an upper triangle column by column (``offset > 0``, or ``offset == 0`` and
``lower=False``), so ``extracttrian(A, lower=False) == extracttrian(A.T)``.
"""
import functools
import math

import numpy as np

from ...base import OpError
from .. import ops as F
from .._registry import Aval, Sample, register
from ._samples import pos, rnd


@functools.lru_cache(maxsize=256)
def diag_index(n, offset):
    """Flat indices (into ``n * n``) of the ``offset`` diagonal of an n x n matrix."""
    r = np.arange(max(n - abs(offset), 0))
    return (r + max(-offset, 0)) * n + r + max(offset, 0)


@functools.lru_cache(maxsize=256)
def trian_index(n, offset, lower):
    """Flat indices of MXNet's triangle, in its storage order (see the module docstring)."""
    if offset > 0 or (offset == 0 and not lower):
        c, r = np.tril_indices(n, -offset)
    else:
        r, c = np.tril_indices(n, offset)
    return r * n + c


def _square(name, shape, offset=0):
    shape = tuple(shape)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise OpError(f"{name}: input must be a tensor of square matrices, got shape {shape}")
    if abs(int(offset)) >= shape[-1]:
        raise OpError(f"{name}: offset {offset} is out of range for {shape[-1]} x {shape[-1]} "
                      "matrices")
    return shape[:-2], shape[-1]


def _extract(xp, A, idx):
    n = A.shape[-1]
    return A.reshape(A.shape[:-2] + (n * n,))[..., xp.asarray(idx)]


def _make(xp, A, n, idx):
    out = xp.zeros(A.shape[:-1] + (n * n,), A.dtype)
    out[..., xp.asarray(idx)] = A
    return out.reshape(A.shape[:-1] + (n, n))


def _onnx_extract(g, x, shape, idx):
    flat = g.op("Reshape", x, g.ints(tuple(shape[:-2]) + (shape[-1] * shape[-1],)))
    return g.op("Gather", flat, g.const(np.asarray(idx, np.int64)), axis=len(shape) - 2)


def _onnx_make(g, x, shape, n, idx, dtype):
    """Place ``x`` (batch..., m) at ``idx`` of zeros (batch..., n, n): a Gather from ``x``
    with one zero column prepended, position 0 standing for every entry left empty."""
    zero = g.const(np.zeros(tuple(shape[:-1]) + (1,), dtype))
    src = np.zeros(n * n, np.int64)
    src[np.asarray(idx)] = np.arange(1, len(idx) + 1)
    padded = g.op("Concat", zero, x, axis=len(shape) - 1)
    out = g.op("Gather", padded, g.const(src), axis=len(shape) - 1)
    return g.op("Reshape", out, g.ints(tuple(shape[:-1]) + (n, n)))


# ---- extractdiag / makediag ------------------------------------------------------------------
def _extractdiag_infer(A, offset=0):
    batch, n = _square("linalg_extractdiag", A.shape, offset)
    return Aval(batch + (n - abs(int(offset)),), np.dtype(A.dtype))


def _makediag_size(name, shape, offset):
    if len(tuple(shape)) < 1:
        raise OpError(f"{name}: input needs at least 1 axis, got shape {tuple(shape)}")
    return int(shape[-1]) + abs(int(offset))


def _extractdiag_kernel(xp, A, offset=0):
    _extractdiag_infer(A, offset)
    return _extract(xp, A, diag_index(A.shape[-1], int(offset)))


def _makediag_kernel(xp, A, offset=0):
    n = _makediag_size("linalg_makediag", A.shape, offset)
    return _make(xp, A, n, diag_index(n, int(offset)))


linalg_extractdiag = register(
    "linalg_extractdiag", _extractdiag_kernel, inputs=("A",), attrs={"offset": 0},
    infer=_extractdiag_infer, second_order=True,
    grad=lambda i, o, g, offset=0: (linalg_makediag(g[0], offset=offset),),
    onnx=lambda g, i, a, o, offset=0: _onnx_extract(g, i[0], a[0].shape,
                                                    diag_index(a[0].shape[-1], int(offset))),
    ref=lambda A, offset=0: np.diagonal(A, offset, -2, -1).copy(),
    samples=[Sample(rnd(3, 3)), Sample(rnd(2, 4, 4), offset=1), Sample(rnd(4, 4), offset=-2)],
    aliases=("_linalg_extractdiag",),
    doc="""The ``offset`` diagonal of square matrices (MXNet ``linalg.extractdiag``):
    A (..., n, n) -> (..., n - |offset|).

    Example::

        >>> nd.linalg.extractdiag(nd.array([[1, 2], [3, 4]]))       # [1. 4.]
    """, amp="fp32")

linalg_makediag = register(
    "linalg_makediag", _makediag_kernel, inputs=("A",), attrs={"offset": 0},
    infer=lambda A, offset=0: Aval(
        tuple(A.shape[:-1]) + (_makediag_size("linalg_makediag", A.shape, offset),) * 2,
        np.dtype(A.dtype)),
    grad=lambda i, o, g, offset=0: (linalg_extractdiag(g[0], offset=offset),),
    second_order=True,
    onnx=lambda g, i, a, o, offset=0: _onnx_make(
        g, i[0], a[0].shape, o[0].shape[-1], diag_index(o[0].shape[-1], int(offset)),
        np.dtype(a[0].dtype)),
    ref=lambda A, offset=0: np.apply_along_axis(lambda v: np.diag(v, offset), -1, A)
    if A.ndim > 1 else np.diag(A, offset),
    samples=[Sample(rnd(3)), Sample(rnd(2, 3), offset=1), Sample(rnd(2), offset=-2)],
    aliases=("_linalg_makediag",),
    doc="""Square matrices with ``A`` on their ``offset`` diagonal (MXNet ``linalg.makediag``):
    A (..., m) -> (..., m + |offset|, m + |offset|).

    Example::

        >>> nd.linalg.makediag(nd.array([1, 2]))       # [[1. 0.] [0. 2.]]
    """, amp="fp32")


# ---- extracttrian / maketrian ----------------------------------------------------------------
def _extracttrian_infer(A, offset=0, lower=True):
    batch, n = _square("linalg_extracttrian", A.shape, offset)
    return Aval(batch + (len(trian_index(n, int(offset), bool(lower))),), np.dtype(A.dtype))


def _trian_size(shape, offset):
    """The n of the n x n matrices whose triangle has ``shape[-1]`` entries."""
    m = int(shape[-1]) if len(tuple(shape)) else 0
    t = (math.isqrt(8 * m + 1) - 1) // 2
    if m < 1 or t * (t + 1) // 2 != m:
        raise OpError(f"linalg_maketrian: the last axis ({m}) must hold a triangle's entries, "
                      f"t * (t + 1) / 2 for some t >= 1; got shape {tuple(shape)}")
    return t + abs(int(offset))


def _extracttrian_kernel(xp, A, offset=0, lower=True):
    _extracttrian_infer(A, offset, lower)
    return _extract(xp, A, trian_index(A.shape[-1], int(offset), bool(lower)))


def _maketrian_kernel(xp, A, offset=0, lower=True):
    n = _trian_size(A.shape, offset)
    return _make(xp, A, n, trian_index(n, int(offset), bool(lower)))


def _ref_extracttrian(A, offset=0, lower=True):
    n = A.shape[-1]
    upper = offset > 0 or (offset == 0 and not lower)
    mask = np.triu(np.ones((n, n), bool), offset) if upper else np.tril(np.ones((n, n), bool),
                                                                        offset)
    # upper triangles are stored column by column: read the transposed matrix row by row
    src, m = (np.swapaxes(A, -1, -2), mask.T) if upper else (A, mask)
    return src[..., m]


linalg_extracttrian = register(
    "linalg_extracttrian", _extracttrian_kernel, inputs=("A",),
    attrs={"offset": 0, "lower": True}, infer=_extracttrian_infer, second_order=True,
    grad=lambda i, o, g, offset=0, lower=True: (
        linalg_maketrian(g[0], offset=offset, lower=lower),),
    onnx=lambda g, i, a, o, offset=0, lower=True: _onnx_extract(
        g, i[0], a[0].shape, trian_index(a[0].shape[-1], int(offset), bool(lower))),
    ref=_ref_extracttrian,
    samples=[Sample(rnd(3, 3)), Sample(rnd(4, 4), lower=False), Sample(rnd(2, 4, 4), offset=1),
             Sample(rnd(4, 4), offset=-2, lower=False)],
    aliases=("_linalg_extracttrian",),
    doc="""A triangle of square matrices as a vector (MXNet ``linalg.extracttrian``): the lower
    triangle (``offset <= 0`` with ``lower``) row by row, else the upper one column by column;
    ``offset`` shifts the bounding diagonal. A (..., n, n) -> (..., t (t+1) / 2), t = n - |offset|.

    Example::

        >>> nd.linalg.extracttrian(nd.array([[1, 2], [3, 4]]))       # [1. 3. 4.]
    """, amp="fp32")

linalg_maketrian = register(
    "linalg_maketrian", _maketrian_kernel, inputs=("A",), attrs={"offset": 0, "lower": True},
    infer=lambda A, offset=0, lower=True: Aval(
        tuple(A.shape[:-1]) + (_trian_size(A.shape, offset),) * 2, np.dtype(A.dtype)),
    grad=lambda i, o, g, offset=0, lower=True: (
        linalg_extracttrian(g[0], offset=offset, lower=lower),),
    second_order=True,
    onnx=lambda g, i, a, o, offset=0, lower=True: _onnx_make(
        g, i[0], a[0].shape, o[0].shape[-1],
        trian_index(o[0].shape[-1], int(offset), bool(lower)), np.dtype(a[0].dtype)),
    no_ref="checked as the inverse of linalg_extracttrian in tests/test_linalg_ops.py",
    samples=[Sample(rnd(6)), Sample(rnd(2, 6), lower=False), Sample(rnd(3), offset=1),
             Sample(rnd(2, 3), offset=-2, lower=False)],
    aliases=("_linalg_maketrian",),
    doc="""Square matrices from their triangle (MXNet ``linalg.maketrian``, the inverse of
    ``extracttrian`` with the same ``offset``/``lower``; entries elsewhere are 0).
    A (..., t (t+1) / 2) -> (..., t + |offset|, t + |offset|).

    Example::

        >>> nd.linalg.maketrian(nd.array([1, 2, 3]))       # [[1. 0.] [2. 3.]]
    """, amp="fp32")


# ---- sumlogdiag ------------------------------------------------------------------------------
def _batch_out(batch):
    return tuple(batch) or (1,)  # MXNet: one matrix gives shape (1,)


def _float_only(name, A):
    if np.dtype(A.dtype) not in (np.float32, np.float64):
        raise OpError(f"{name}: supports float32 and float64 only, got {np.dtype(A.dtype)}")


def _sumlogdiag_infer(A):
    batch, _ = _square("linalg_sumlogdiag", A.shape)
    _float_only("linalg_sumlogdiag", A)
    return Aval(_batch_out(batch), np.dtype(A.dtype))


def _sumlogdiag_kernel(xp, A):
    _sumlogdiag_infer(A)
    res = xp.log(xp.diagonal(A, 0, -2, -1)).sum(axis=-1)
    return res.reshape(_batch_out(A.shape[:-2]))


def _sumlogdiag_grad(ins, outs, gouts):
    A = ins[0]
    g = F.reshape(gouts[0], shape=tuple(A.shape[:-2]) + (1,))
    return (linalg_makediag(g / linalg_extractdiag(A)),)


def _sumlogdiag_onnx(g, i, a, o):
    shape = tuple(a[0].shape)
    diag = _onnx_extract(g, i[0], shape, diag_index(shape[-1], 0))
    res = g.op("ReduceSum", g.op("Log", diag), g.ints([-1]), keepdims=0)
    return g.op("Reshape", res, g.ints(tuple(o[0].shape)))


linalg_sumlogdiag = register(
    "linalg_sumlogdiag", _sumlogdiag_kernel, inputs=("A",), infer=_sumlogdiag_infer,
    grad=_sumlogdiag_grad, onnx=_sumlogdiag_onnx, second_order=True,
    ref=lambda A: np.log(np.diagonal(A, 0, -2, -1)).sum(-1).reshape(_batch_out(A.shape[:-2])),
    samples=[Sample(pos(3, 3)), Sample(pos(2, 4, 4))], aliases=("_linalg_sumlogdiag",),
    doc="""Sum of the logarithms of the diagonal of square matrices (MXNet
    ``linalg.sumlogdiag``): A (..., n, n) -> (...), shape (1,) for one matrix.

    Example::

        >>> nd.linalg.sumlogdiag(nd.array([[1, 0], [0, 4]]))       # [1.3862944]
    """, amp="fp32")
