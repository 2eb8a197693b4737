"""Matrix products: dot (MXNet's N-D dot), batch_dot, matmul (numpy rules), linalg_gemm2.

Gradients are products again (with transposes), so second order comes for free. ``dot`` views
N-D operands as matrices the way MXNet does: ``lhs`` as ``(prod(shape[:-1]), shape[-1])``
(``(shape[0], prod(shape[1:]))`` when ``transpose_a``), ``rhs`` as ``(shape[0],
prod(shape[1:]))`` (``(prod(shape[:-1]), shape[-1])`` when ``transpose_b``).
"""
import math

import numpy as np

from ...base import OpError
from .. import ops as F
from .._registry import Aval, Sample, register
from ._rules import result_dtype
from ._samples import rnd

_T = {"transpose_a": False, "transpose_b": False}


def _prod(shape):
    return int(math.prod(shape))


def _dot_views(ls, rs, ta, tb):
    """Matrix views of lhs and rhs, and the output shape, for MXNet's dot."""
    ls, rs = tuple(ls), tuple(rs)
    lm = (ls[0], _prod(ls[1:])) if ta else (_prod(ls[:-1]), ls[-1])
    rm = (_prod(rs[:-1]), rs[-1]) if tb else (rs[0], _prod(rs[1:]))
    k_l, k_r = lm[0] if ta else lm[1], rm[1] if tb else rm[0]
    if k_l != k_r:
        raise OpError(f"dot: shapes {ls} and {rs} do not match for contraction "
                      f"(transpose_a={ta}, transpose_b={tb})")
    out = (ls[1:] if ta else ls[:-1]) if len(ls) > 1 else ()
    out += (rs[:-1] if tb else rs[1:]) if len(rs) > 1 else ()
    return lm, rm, out or (1,)


def _t(xp, m, flag):
    return xp.swapaxes(m, -1, -2) if flag else m


def _dot_kernel(xp, lhs, rhs, transpose_a=False, transpose_b=False, forward_stype=None):
    if lhs.ndim == 2 and rhs.ndim == 2:  # the common case, without the view bookkeeping
        a = lhs.T if transpose_a else lhs
        b = rhs.T if transpose_b else rhs
        if a.shape[1] == b.shape[0]:
            return xp.matmul(a, b)
    lm, rm, out = _dot_views(lhs.shape, rhs.shape, transpose_a, transpose_b)
    res = xp.matmul(_t(xp, lhs.reshape(lm), transpose_a), _t(xp, rhs.reshape(rm), transpose_b))
    return res.reshape(out)


def _dot_infer(lhs, rhs, transpose_a=False, transpose_b=False, forward_stype=None):
    out = _dot_views(lhs.shape, rhs.shape, transpose_a, transpose_b)[2]
    return Aval(out, result_dtype(lhs, rhs))


def mm_grads(mm, lhs, rhs, g, ta, tb):
    """Gradients of ``op(lhs) @ op(rhs)`` (``op`` transposes when the flag is set).

    ``mm(x, y, ta, tb)`` is the product op used (dot, batch_dot, linalg_gemm2).
    """
    if not ta and not tb:
        return mm(g, rhs, False, True), mm(lhs, g, True, False)
    if not ta:
        return mm(g, rhs, False, False), mm(g, lhs, True, False)
    if not tb:
        return mm(rhs, g, False, True), mm(lhs, g, False, False)
    return mm(rhs, g, True, True), mm(g, lhs, True, True)


def _reshape(x, shape):
    return x if tuple(x.shape) == tuple(shape) else F.reshape(x, shape=tuple(shape))


def _dot_mm(x, y, ta, tb):
    return F.dot(x, y, transpose_a=ta, transpose_b=tb)


def _dot_grad(ins, outs, gouts, transpose_a=False, transpose_b=False, forward_stype=None):
    lhs, rhs = ins
    lm, rm, _ = _dot_views(lhs.shape, rhs.shape, transpose_a, transpose_b)
    om = (lm[1] if transpose_a else lm[0], rm[0] if transpose_b else rm[1])
    gl, gr = mm_grads(_dot_mm, _reshape(lhs, lm), _reshape(rhs, rm), _reshape(gouts[0], om),
                      transpose_a, transpose_b)
    return _reshape(gl, lhs.shape), _reshape(gr, rhs.shape)


def _onnx_t(g, x, flag, nd=2):
    if not flag:
        return x
    return g.op("Transpose", x, perm=list(range(nd - 2)) + [nd - 1, nd - 2])


def _onnx_reshape(g, x, src, dst):
    return x if tuple(src) == tuple(dst) else g.op("Reshape", x, g.ints(dst))


def _dot_onnx(g, i, a, o, transpose_a=False, transpose_b=False, forward_stype=None):
    ls, rs = tuple(a[0].shape), tuple(a[1].shape)
    lm, rm, out = _dot_views(ls, rs, transpose_a, transpose_b)
    lhs = _onnx_t(g, _onnx_reshape(g, i[0], ls, lm), transpose_a)
    rhs = _onnx_t(g, _onnx_reshape(g, i[1], rs, rm), transpose_b)
    res = g.op("MatMul", lhs, rhs)
    return _onnx_reshape(g, res, (lm[1] if transpose_a else lm[0],
                                  rm[0] if transpose_b else rm[1]), out)


def _dot_ref(lhs, rhs, transpose_a=False, transpose_b=False, forward_stype=None):
    res = np.tensordot(lhs, rhs, axes=([0] if transpose_a else [-1],
                                       [-1] if transpose_b else [0]))
    return res.reshape(res.shape or (1,))


dot = register(
    "dot", _dot_kernel, inputs=("lhs", "rhs"), attrs=dict(_T, forward_stype=None),
    infer=_dot_infer, grad=_dot_grad, onnx=_dot_onnx, ref=_dot_ref, second_order=True,
    overlap=True,
    samples=[Sample(rnd(3, 4), rnd(4, 2, salt=5)),
             Sample(rnd(4), rnd(4, salt=5)),
             Sample(rnd(3), rnd(3, 2, salt=5)),
             Sample(rnd(4, 3), rnd(4, 2, salt=5), transpose_a=True),
             Sample(rnd(3, 4), rnd(2, 4, salt=5), transpose_b=True),
             Sample(rnd(4, 3), rnd(2, 4, salt=5), transpose_a=True, transpose_b=True),
             Sample(rnd(2, 3, 4), rnd(4, 2, 2, salt=5)),
             Sample(rnd(4, 2, 3), rnd(5, 4, salt=5), transpose_a=True, transpose_b=True)],
    doc="""Dot product (MXNet ``dot``): contracts the last axis of ``lhs`` with the first axis
    of ``rhs`` (the first axis of ``lhs`` with ``transpose_a``, the last of ``rhs`` with
    ``transpose_b``). Output ``lhs.shape[:-1] + rhs.shape[1:]``; two vectors give shape (1,).

    Example::

        >>> nd.dot(nd.ones((2, 3)), nd.ones((3, 4))).shape
        (2, 4)
    """, amp="widest")


# ---- batch_dot -----------------------------------------------------------------------------
def _bmm(xp, lhs, rhs, ta, tb):
    return xp.matmul(_t(xp, lhs, ta), _t(xp, rhs, tb))


def _batch_shape(ls, rs, ta, tb, name, broadcast=False):
    ls, rs = tuple(ls), tuple(rs)
    if len(ls) < 2 or len(rs) < 2:
        raise OpError(f"{name}: operands need at least 2 axes, got {ls} and {rs}")
    m, k = (ls[-1], ls[-2]) if ta else (ls[-2], ls[-1])
    k2, n = (rs[-1], rs[-2]) if tb else (rs[-2], rs[-1])
    if k != k2:
        raise OpError(f"{name}: shapes {ls} and {rs} do not match (transpose_a={ta}, "
                      f"transpose_b={tb})")
    if broadcast:
        batch = tuple(np.broadcast_shapes(ls[:-2], rs[:-2]))
    elif ls[:-2] != rs[:-2]:
        raise OpError(f"{name}: batch shapes {ls[:-2]} and {rs[:-2]} differ")
    else:
        batch = ls[:-2]
    return batch + (m, n)


def _batch_dot_kernel(xp, lhs, rhs, transpose_a=False, transpose_b=False, forward_stype=None):
    _batch_shape(lhs.shape, rhs.shape, transpose_a, transpose_b, "batch_dot")
    return _bmm(xp, lhs, rhs, transpose_a, transpose_b)


def _batch_dot_grad(ins, outs, gouts, transpose_a=False, transpose_b=False,
                    forward_stype=None):
    def mm(x, y, ta, tb):
        return F.batch_dot(x, y, transpose_a=ta, transpose_b=tb)
    return mm_grads(mm, ins[0], ins[1], gouts[0], transpose_a, transpose_b)


def _batch_dot_onnx(g, i, a, o, transpose_a=False, transpose_b=False, forward_stype=None):
    nl, nr = len(a[0].shape), len(a[1].shape)
    return g.op("MatMul", _onnx_t(g, i[0], transpose_a, nl), _onnx_t(g, i[1], transpose_b, nr))


def _bt(x, flag):
    return np.swapaxes(x, -1, -2) if flag else x


batch_dot = register(
    "batch_dot", _batch_dot_kernel, inputs=("lhs", "rhs"), attrs=dict(_T, forward_stype=None),
    overlap=True,
    infer=lambda lhs, rhs, transpose_a=False, transpose_b=False, forward_stype=None: Aval(
        _batch_shape(lhs.shape, rhs.shape, transpose_a, transpose_b, "batch_dot"),
        result_dtype(lhs, rhs)),
    grad=_batch_dot_grad, onnx=_batch_dot_onnx, second_order=True,
    ref=lambda lhs, rhs, transpose_a=False, transpose_b=False, forward_stype=None: np.matmul(
        _bt(lhs, transpose_a), _bt(rhs, transpose_b)),
    samples=[Sample(rnd(2, 3, 4), rnd(2, 4, 2, salt=5)),
             Sample(rnd(2, 4, 3), rnd(2, 4, 2, salt=5), transpose_a=True),
             Sample(rnd(2, 3, 4), rnd(2, 2, 4, salt=5), transpose_b=True),
             Sample(rnd(2, 4, 3), rnd(2, 2, 4, salt=5), transpose_a=True, transpose_b=True),
             Sample(rnd(2, 2, 4, 3), rnd(2, 2, 4, 2, salt=5), transpose_a=True)],
    doc="""Batched matrix product of ``(B, M, K)`` and ``(B, K, N)`` arrays -> ``(B, M, N)``
    (MXNet ``batch_dot``); ``transpose_a``/``transpose_b`` transpose the last two axes. More
    leading batch axes work too, when both operands have the same ones.

    Example::

        >>> nd.batch_dot(nd.ones((5, 2, 3)), nd.ones((5, 3, 4))).shape
        (5, 2, 4)
    """, amp="widest")


# ---- linalg_gemm2 and matmul ---------------------------------------------------------------
def _row_axis(ndim, axis, name="linalg_gemm2"):
    """The matrix-row axis ``axis`` as a non-negative index; the columns are the last axis."""
    ax = int(axis)
    if not -ndim <= ax < ndim or ax % ndim == ndim - 1:
        raise OpError(f"{name}: axis {axis} cannot hold the matrix rows of a {ndim}-D operand "
                      "(the columns are the last axis)")
    return ax % ndim


def _rows_to_minus2(shape_or_x, axis, swap):
    """MXNet's ``axis``: the operand seen with its row axis swapped to -2 (its own inverse)."""
    ndim = len(shape_or_x) if isinstance(shape_or_x, tuple) else shape_or_x.ndim
    ax = _row_axis(ndim, axis)
    return shape_or_x if ax == ndim - 2 else swap(shape_or_x, ax)


def _swap_shape(shape, ax):
    shape = list(shape)
    shape[ax], shape[-2] = shape[-2], shape[ax]
    return tuple(shape)


def _gemm2_shape(A, B, transpose_a, transpose_b, axis, name):
    sa, sb = (_rows_to_minus2(tuple(x.shape), axis, _swap_shape) for x in (A, B))
    out = _batch_shape(sa, sb, transpose_a, transpose_b, name, True)
    return _rows_to_minus2(out, axis, _swap_shape)


def _gemm2_kernel(xp, A, B, transpose_a=False, transpose_b=False, alpha=1.0, axis=-2):
    def swap(x, ax):
        return xp.swapaxes(x, ax, -2)
    A, B = _rows_to_minus2(A, axis, swap), _rows_to_minus2(B, axis, swap)
    _batch_shape(A.shape, B.shape, transpose_a, transpose_b, "linalg_gemm2", broadcast=True)
    res = _rows_to_minus2(_bmm(xp, A, B, transpose_a, transpose_b), axis, swap)
    return res if alpha == 1.0 else res * res.dtype.type(alpha)  # cupy takes scalars, not np arrays


def _gemm2_grad(ins, outs, gouts, transpose_a=False, transpose_b=False, alpha=1.0, axis=-2):
    g = gouts[0] if alpha == 1.0 else gouts[0] * alpha

    def mm(x, y, ta, tb):  # products along the same row axis: swapping is linear per operand
        return F.linalg_gemm2(x, y, transpose_a=ta, transpose_b=tb, axis=axis)
    return mm_grads(mm, ins[0], ins[1], g, transpose_a, transpose_b)


def _onnx_rows(g, x, nd, axis):
    ax = _row_axis(nd, axis)
    if ax == nd - 2:
        return x
    perm = list(range(nd))
    perm[ax], perm[-2] = perm[-2], perm[ax]
    return g.op("Transpose", x, perm=perm)


def _gemm2_onnx(g, i, a, o, transpose_a=False, transpose_b=False, alpha=1.0, axis=-2):
    nl, nr = len(a[0].shape), len(a[1].shape)
    lhs, rhs = _onnx_rows(g, i[0], nl, axis), _onnx_rows(g, i[1], nr, axis)
    res = g.op("MatMul", _onnx_t(g, lhs, transpose_a, nl), _onnx_t(g, rhs, transpose_b, nr))
    res = _onnx_rows(g, res, len(o[0].shape), axis)
    if alpha == 1.0:
        return res
    return g.op("Mul", res, g.const(np.asarray(alpha, np.dtype(o[0].dtype))))


linalg_gemm2 = register(
    "linalg_gemm2", _gemm2_kernel, inputs=("A", "B"), attrs=dict(_T, alpha=1.0, axis=-2),
    overlap=True,
    infer=lambda A, B, transpose_a=False, transpose_b=False, alpha=1.0, axis=-2: Aval(
        _gemm2_shape(A, B, transpose_a, transpose_b, axis, "linalg_gemm2"), result_dtype(A, B)),
    grad=_gemm2_grad, onnx=_gemm2_onnx, second_order=True,
    ref=lambda A, B, transpose_a=False, transpose_b=False, alpha=1.0, axis=-2: _rows_ref(
        lambda a, b: alpha * np.matmul(_bt(a, transpose_a), _bt(b, transpose_b)), axis, A, B),
    samples=[Sample(rnd(3, 4), rnd(4, 2, salt=5)),
             Sample(rnd(2, 4, 3), rnd(2, 2, 4, salt=5), transpose_a=True, transpose_b=True,
                    alpha=0.5),
             Sample(rnd(2, 3, 4), rnd(4, 2, salt=5), alpha=2.0),
             Sample(rnd(3, 2, 4), rnd(4, 2, 2, salt=5), axis=0)],
    aliases=("_linalg_gemm2",),
    doc="""``alpha * op(A) @ op(B)`` over the matrices formed by axes ``axis`` (rows, default
    -2) and -1 (columns); the other axes are batch axes (broadcast when ``axis`` is -2).

    Example::

        >>> nd.linalg_gemm2(nd.ones((2, 3)), nd.ones((3, 4)), alpha=2).shape
        (2, 4)
    """, amp="fp32")


def _matmul_grad(ins, outs, gouts):
    a, b = ins
    g = gouts[0]
    a1, b1 = a.ndim == 1, b.ndim == 1
    A = F.expand_dims(a, axis=0) if a1 else a
    B = F.expand_dims(b, axis=1) if b1 else b
    if a1 and b1:
        g = F.reshape(g, shape=(1, 1))
    elif a1:
        g = F.expand_dims(g, axis=-2)
    elif b1:
        g = F.expand_dims(g, axis=-1)
    ga = F.linalg_gemm2(g, B, transpose_b=True)
    gb = F.linalg_gemm2(A, g, transpose_a=True)
    # vector operands drop their inserted axis; broadcast batch axes are summed by the engine
    return (F.squeeze(ga, axis=-2) if a1 else ga), (F.squeeze(gb, axis=-1) if b1 else gb)


def _matmul_infer(lhs, rhs):
    ls, rs = tuple(lhs.shape), tuple(rhs.shape)
    try:
        shape = np.matmul(np.broadcast_to(np.zeros((), np.float32), ls),
                          np.broadcast_to(np.zeros((), np.float32), rs)).shape
    except ValueError as e:
        raise OpError(f"matmul: {e}") from None
    return Aval(tuple(shape), result_dtype(lhs, rhs))


matmul = register(
    "matmul", lambda xp, lhs, rhs: xp.asarray(xp.matmul(lhs, rhs)), inputs=("lhs", "rhs"),
    infer=_matmul_infer, grad=_matmul_grad, overlap=True,
    onnx=lambda g, i, a, o: g.op("MatMul", i[0], i[1]), ref=np.matmul, second_order=True,
    samples=[Sample(rnd(3, 4), rnd(4, 2, salt=5)),
             Sample(rnd(2, 3, 4), rnd(4, 2, salt=5)),
             Sample(rnd(2, 1, 3, 2), rnd(3, 2, 4, salt=5)),
             Sample(rnd(4), rnd(2, 4, 3, salt=5)),
             Sample(rnd(2, 3, 4), rnd(4, salt=5)),
             Sample(rnd(4), rnd(4, salt=5))],
    doc="""Matrix product with numpy's ``matmul`` rules (``a @ b``): batch axes broadcast,
    1-D operands are promoted to matrices and their axis removed from the result.

    Example::

        >>> (nd.ones((5, 2, 3)) @ nd.ones((3, 4))).shape
        (5, 2, 4)
    """, amp="widest")


def _rows_ref(product, axis, A, B):
    """Reference for ``axis``: swap the row axis to -2, multiply, swap back."""
    def swap(x, ax):
        return np.swapaxes(x, ax, -2)
    res = product(_rows_to_minus2(A, axis, swap), _rows_to_minus2(B, axis, swap))
    return _rows_to_minus2(res, axis, swap)


def _gemm_kernel(xp, A, B, C, transpose_a=False, transpose_b=False, alpha=1.0, beta=1.0,
                 axis=-2):
    res = _gemm2_kernel(xp, A, B, transpose_a, transpose_b, alpha, axis)
    return res + C * C.dtype.type(beta)


def _gemm_grad(ins, outs, gouts, transpose_a=False, transpose_b=False, alpha=1.0, beta=1.0,
               axis=-2):
    ga, gb = _gemm2_grad(ins[:2], None, gouts, transpose_a, transpose_b, alpha, axis)
    return ga, gb, gouts[0] * beta


def _gemm_onnx(g, i, a, o, transpose_a=False, transpose_b=False, alpha=1.0, beta=1.0,
               axis=-2):
    prod = _gemm2_onnx(g, i[:2], a[:2], o, transpose_a, transpose_b, alpha, axis)
    c = i[2] if beta == 1.0 else g.op("Mul", i[2], g.const(np.asarray(beta,
                                                                      np.dtype(o[0].dtype))))
    return g.op("Add", prod, c)


linalg_gemm = register(
    "linalg_gemm", _gemm_kernel, inputs=("A", "B", "C"),
    attrs=dict(_T, alpha=1.0, beta=1.0, axis=-2),
    infer=lambda A, B, C, transpose_a=False, transpose_b=False, alpha=1.0, beta=1.0, axis=-2:
    Aval(_gemm2_shape(A, B, transpose_a, transpose_b, axis, "linalg_gemm"),
         result_dtype(A, B, C)),
    grad=_gemm_grad, onnx=_gemm_onnx, second_order=True,
    ref=lambda A, B, C, transpose_a=False, transpose_b=False, alpha=1.0, beta=1.0, axis=-2:
    _rows_ref(lambda a, b: alpha * np.matmul(_bt(a, transpose_a), _bt(b, transpose_b)), axis, A,
              B) + beta * C,
    samples=[Sample(rnd(3, 4), rnd(4, 2, salt=5), rnd(3, 2, salt=6)),
             Sample(rnd(2, 4, 3), rnd(2, 2, 4, salt=5), rnd(2, 3, 2, salt=6), transpose_a=True,
                    transpose_b=True, alpha=0.5, beta=-2.0),
             Sample(rnd(3, 2, 4), rnd(4, 2, 2, salt=5), rnd(3, 2, 2, salt=6), axis=-3)],
    aliases=("_linalg_gemm",),
    doc="""``alpha * op(A) @ op(B) + beta * C`` over the matrices formed by axes ``axis`` (rows,
    default -2) and -1 (MXNet ``linalg.gemm``).

    Example::

        >>> nd.linalg_gemm(nd.ones((2, 3)), nd.ones((3, 4)), nd.ones((2, 4)), beta=0.5).shape
        (2, 4)
    """, amp="fp32")
