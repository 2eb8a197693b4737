"""MXNet's ``linalg`` factorizations and triangular BLAS: potrf, potri, trsm, trmm, syrk,
gelqf (leading axes are batch axes; float32 and float64 only, as MXNet).

Gradients are written with linalg ops again (MXNet's formulas, la_op.h). A triangular
operand is read through its triangle only (``lower`` picks which), like LAPACK, so its
gradient lies in that triangle too. ``potrf`` factorizes ``(A + A^T) / 2``: the same as MXNet
on the symmetric inputs it is defined for, and its gradient is then MXNet's symmetric one.
"""
import numpy as np

from ...base import OpError
from .. import ops as F
from .._registry import Aval, Sample, register
from ._samples import rnd
from .linalg_diag import linalg_extractdiag, linalg_extracttrian, linalg_makediag, linalg_maketrian

_NO_ONNX = "ONNX has no {} (no triangular solve or factorization in the default domain)"


def float_only(name, *avals):
    for a in avals:
        if np.dtype(a.dtype) not in (np.float32, np.float64):
            raise OpError(f"{name}: supports float32 and float64 only, got {np.dtype(a.dtype)}")


def square(name, A):
    shape = tuple(A.shape)
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise OpError(f"{name}: input must be a tensor of square matrices, got shape {shape}")
    float_only(name, A)
    return shape


def _tri(xp, A, lower):
    return xp.tril(A) if lower else xp.triu(A)


def _t(x):
    return F.swapaxes(x, dim1=-1, dim2=-2)


def tri_mask(x, lower):
    """``x`` with the other triangle zeroed, as registry ops (for gradients)."""
    return linalg_maketrian(linalg_extracttrian(x, lower=lower), lower=lower)


def _mm(a, b, ta=False, tb=False):
    return F.linalg_gemm2(a, b, transpose_a=ta, transpose_b=tb)


# ---- potrf and potri -------------------------------------------------------------------------
def _potrf_kernel(xp, A, lower=True):
    square("linalg_potrf", A)
    try:
        L = xp.linalg.cholesky((A + xp.swapaxes(A, -1, -2)) / 2)
    except np.linalg.LinAlgError:
        raise OpError("linalg_potrf: the input is not symmetric positive definite") from None
    return L if lower else xp.swapaxes(L, -1, -2)


def _phi(x):
    """The lower triangle of ``x`` with its diagonal halved."""
    return tri_mask(x, True) - linalg_makediag(linalg_extractdiag(x) * 0.5)


def _potrf_grad(ins, outs, gouts, lower=True):
    # the upper factor is U = L^T: its gradient is the lower one's, transposed
    L, dL = (outs[0], gouts[0]) if lower else (_t(outs[0]), _t(gouts[0]))
    # dA = L^-T phi(L^T dL) L^-1, symmetrized (A enters as (A + A^T) / 2)
    inner = linalg_trsm(L, _phi(_mm(L, dL, ta=True)), transpose=True)
    g = linalg_trsm(L, inner, rightside=True)
    return ((g + _t(g)) * 0.5,)


def _potrf_ref(A, lower=True):
    L = np.linalg.cholesky(A)
    return L if lower else np.swapaxes(L, -1, -2)


linalg_potrf = register(
    "linalg_potrf", _potrf_kernel, inputs=("A",), attrs={"lower": True},
    infer=lambda A, lower=True: Aval(square("linalg_potrf", A), np.dtype(A.dtype)),
    grad=_potrf_grad, save_outputs=True, no_onnx=_NO_ONNX.format("Cholesky factorization"),
    ref=_potrf_ref, aliases=("_linalg_potrf",), amp="fp32",
    samples=[Sample(np.array([[4.0, 1.0], [1.0, 4.25]])),
             Sample(np.einsum("bij,bkj->bik", rnd(2, 3, 3), rnd(2, 3, 3)) + 2 * np.eye(3)),
             Sample(np.einsum("bij,bkj->bik", rnd(2, 3, 3), rnd(2, 3, 3)) + 2 * np.eye(3),
                    lower=False)],
    doc="""Cholesky factor of symmetric positive definite matrices (MXNet ``linalg.potrf``):
    ``L`` lower triangular with ``A = L L^T``, or with ``lower=False`` ``U = L^T`` upper
    triangular with ``A = U^T U``. A (..., n, n) -> (..., n, n).

    Example::

        >>> nd.linalg.potrf(nd.array([[4, 1], [1, 4.25]]))      # [[2. 0.] [0.5 2.]]
    """)


def _potri_kernel(xp, A, lower=True):
    square("linalg_potri", A)
    T = _tri(xp, A, lower)
    inv = xp.linalg.inv(T)
    # (L L^T)^-1 = L^-T L^-1 (lower); (U^T U)^-1 = U^-1 U^-T (upper)
    return xp.matmul(xp.swapaxes(inv, -1, -2), inv) if lower else \
        xp.matmul(inv, xp.swapaxes(inv, -1, -2))


def _potri_grad(ins, outs, gouts, lower=True):
    T, out, g = tri_mask(ins[0], lower), outs[0], gouts[0]
    # out = B^-1 with B = L L^T (or U^T U): dB = -out g out, dL = (dB + dB^T) L
    dB = _mm(_mm(out, g), out) * -1.0
    sym = dB + _t(dB)
    return (tri_mask(_mm(sym, T) if lower else _mm(T, sym), lower),)


linalg_potri = register(
    "linalg_potri", _potri_kernel, inputs=("A",), attrs={"lower": True},
    infer=lambda A, lower=True: Aval(square("linalg_potri", A), np.dtype(A.dtype)),
    grad=_potri_grad, save_outputs=True, no_onnx=_NO_ONNX.format("Cholesky inverse"),
    ref=lambda A, lower=True: np.linalg.inv(
        np.tril(A) @ np.swapaxes(np.tril(A), -1, -2) if lower else
        np.swapaxes(np.triu(A), -1, -2) @ np.triu(A)),
    aliases=("_linalg_potri",), amp="fp32",
    samples=[Sample(np.array([[2.0, 0.3], [0.5, 2.0]])),
             Sample(rnd(2, 3, 3) * 0.3 + 1.5 * np.eye(3), lower=False)],
    doc="""Inverse of ``A A^T`` from its Cholesky factor ``A`` (MXNet ``linalg.potri``):
    ``A^-T A^-1`` for lower triangular A (only the lower triangle is read), ``A^-1 A^-T`` with
    ``lower=False``. A (..., n, n) -> (..., n, n).

    Example::

        >>> nd.linalg.potri(nd.array([[2, 0], [0.5, 2]]))   # inverse of [[4, 1], [1, 4.25]]
    """)


# ---- trsm and trmm ---------------------------------------------------------------------------
_TRI = {"transpose": False, "rightside": False, "lower": True, "alpha": 1.0}


def _tri_infer(name):
    def infer(A, B, transpose=False, rightside=False, lower=True, alpha=1.0):
        a, b = tuple(A.shape), tuple(B.shape)
        square(name, A)
        float_only(name, B)
        k = b[-1] if rightside else b[-2] if len(b) >= 2 else None
        if len(b) != len(a) or b[:-2] != a[:-2] or k != a[-1]:
            raise OpError(f"{name}: A {a} and B {b} do not match (rightside={rightside}): "
                          "same batch axes and B's " + ("columns" if rightside else "rows") +
                          " equal to A's size needed")
        return Aval(b, np.result_type(A.dtype, B.dtype))
    return infer


def _op_t(xp, A, transpose, lower):
    T = _tri(xp, A, lower)
    return xp.swapaxes(T, -1, -2) if transpose else T


def _trsm_kernel(xp, A, B, **attrs):
    a = {**_TRI, **attrs}
    _tri_infer("linalg_trsm")(A, B, **a)
    T = _op_t(xp, A, a["transpose"], a["lower"])
    if a["rightside"]:  # out T = alpha B  <=>  T^T out^T = alpha B^T
        out = xp.swapaxes(xp.linalg.solve(xp.swapaxes(T, -1, -2), xp.swapaxes(B, -1, -2)),
                          -1, -2)
    else:
        out = xp.linalg.solve(T, B)
    return out * out.dtype.type(a["alpha"])


def _tri_grads(dT, transpose, lower):
    """The gradient of op(T) moved onto A: transposed back, restricted to the triangle."""
    return tri_mask(_t(dT) if transpose else dT, lower)


def _trsm_grad(ins, outs, gouts, **attrs):
    a = {**_TRI, **attrs}
    A, out, g = ins[0], outs[0], gouts[0]
    tr, rs, lo = a["transpose"], a["rightside"], a["lower"]
    # with op(T) X = alpha B: dB = alpha op(T)^-T g and d op(T) = -op(T)^-T g X^T
    dB1 = linalg_trsm(A, g, transpose=not tr, rightside=rs, lower=lo)
    dT = (_mm(out, dB1, ta=True) if rs else _mm(dB1, out, tb=True)) * -1.0
    return _tri_grads(dT, tr, lo), dB1 * float(a["alpha"])


linalg_trsm = register(
    "linalg_trsm", _trsm_kernel, inputs=("A", "B"), attrs=dict(_TRI),
    infer=_tri_infer("linalg_trsm"), grad=_trsm_grad, save_outputs=True,
    no_onnx=_NO_ONNX.format("triangular solve"), aliases=("_linalg_trsm",), amp="fp32",
    ref=lambda A, B, transpose=False, rightside=False, lower=True, alpha=1.0: _trsm_kernel(
        np, A, B, transpose=transpose, rightside=rightside, lower=lower, alpha=alpha),
    samples=[Sample(rnd(3, 3) * 0.3 + 1.5 * np.eye(3), rnd(3, 2, salt=5)),
             Sample(rnd(2, 3, 3) * 0.3 + 1.5 * np.eye(3), rnd(2, 2, 3, salt=5), transpose=True,
                    rightside=True, alpha=0.5),
             Sample(rnd(3, 3) * 0.3 + 1.5 * np.eye(3), rnd(3, 4, salt=5), lower=False,
                    transpose=True, alpha=-2.0),
             Sample(rnd(3, 3) * 0.3 + 1.5 * np.eye(3), rnd(2, 3, salt=5), lower=False,
                    rightside=True)],
    doc="""Triangular solve (MXNet ``linalg.trsm``): ``out`` with ``op(A) out = alpha B``, or
    ``out op(A) = alpha B`` with ``rightside``; ``op`` transposes with ``transpose``; only
    A's ``lower`` (or upper) triangle is read. A (..., n, n), B (..., n, k) (or (..., k, n)).

    Example::

        >>> nd.linalg.trsm(nd.array([[1, 0], [1, 1]]), nd.array([[2, 2], [4, 4]]), alpha=0.5)
    """)


def _trmm_kernel(xp, A, B, **attrs):
    a = {**_TRI, **attrs}
    _tri_infer("linalg_trmm")(A, B, **a)
    T = _op_t(xp, A, a["transpose"], a["lower"])
    out = xp.matmul(B, T) if a["rightside"] else xp.matmul(T, B)
    return out * out.dtype.type(a["alpha"])


def _trmm_grad(ins, outs, gouts, **attrs):
    a = {**_TRI, **attrs}
    A, B, g = ins[0], ins[1], gouts[0]
    tr, rs, lo, alpha = a["transpose"], a["rightside"], a["lower"], float(a["alpha"])
    dB = linalg_trmm(A, g, transpose=not tr, rightside=rs, lower=lo, alpha=alpha)
    dT = (_mm(B, g, ta=True) if rs else _mm(g, B, tb=True)) * alpha
    return _tri_grads(dT, tr, lo), dB


def _trmm_onnx(g, i, a, transpose, rightside, lower, alpha):
    nd = len(a[0].shape)
    T = g.op("Trilu", i[0], upper=0 if lower else 1)  # opset 14
    if transpose:
        T = g.op("Transpose", T, perm=list(range(nd - 2)) + [nd - 1, nd - 2])
    out = g.op("MatMul", i[1], T) if rightside else g.op("MatMul", T, i[1])
    if alpha == 1.0:
        return out
    return g.op("Mul", out, g.const(np.asarray(alpha, np.result_type(a[0].dtype, a[1].dtype))))


linalg_trmm = register(
    "linalg_trmm", _trmm_kernel, inputs=("A", "B"), attrs=dict(_TRI),
    infer=_tri_infer("linalg_trmm"), grad=_trmm_grad, second_order=True,
    onnx=lambda g, i, a, o, **attrs: _trmm_onnx(g, i, a, **{**_TRI, **attrs}),
    aliases=("_linalg_trmm",), amp="fp32",
    ref=lambda A, B, transpose=False, rightside=False, lower=True, alpha=1.0: _trmm_kernel(
        np, A, B, transpose=transpose, rightside=rightside, lower=lower, alpha=alpha),
    samples=[Sample(rnd(3, 3), rnd(3, 2, salt=5)),
             Sample(rnd(2, 3, 3), rnd(2, 2, 3, salt=5), transpose=True, rightside=True,
                    alpha=0.5),
             Sample(rnd(3, 3), rnd(3, 4, salt=5), lower=False, transpose=True, alpha=-2.0)],
    doc="""Triangular matrix product (MXNet ``linalg.trmm``): ``alpha op(A) B``, or ``alpha B
    op(A)`` with ``rightside``; only A's ``lower`` (or upper) triangle is read.

    Example::

        >>> nd.linalg.trmm(nd.array([[1, 0], [1, 1]]), nd.ones((2, 3)), alpha=2.0)
    """)


# ---- syrk ------------------------------------------------------------------------------------
def _syrk_infer(A, transpose=False, alpha=1.0):
    shape = tuple(A.shape)
    if len(shape) < 2:
        raise OpError(f"linalg_syrk: A needs at least 2 axes, got shape {shape}")
    float_only("linalg_syrk", A)
    k = shape[-1] if transpose else shape[-2]
    return Aval(shape[:-2] + (k, k), np.dtype(A.dtype))


def _syrk_kernel(xp, A, transpose=False, alpha=1.0):
    _syrk_infer(A, transpose)
    At = xp.swapaxes(A, -1, -2)
    out = xp.matmul(At, A) if transpose else xp.matmul(A, At)
    return out * out.dtype.type(alpha)


def _syrk_grad(ins, outs, gouts, transpose=False, alpha=1.0):
    A, g = ins[0], gouts[0]
    sym = (g + _t(g)) * float(alpha)
    return (_mm(A, sym) if transpose else _mm(sym, A),)


def _syrk_onnx(g, i, a, o, transpose=False, alpha=1.0):
    nd = len(a[0].shape)
    At = g.op("Transpose", i[0], perm=list(range(nd - 2)) + [nd - 1, nd - 2])
    out = g.op("MatMul", At, i[0]) if transpose else g.op("MatMul", i[0], At)
    return out if alpha == 1.0 else g.op("Mul", out, g.const(np.asarray(alpha, a[0].dtype)))


linalg_syrk = register(
    "linalg_syrk", _syrk_kernel, inputs=("A",), attrs={"transpose": False, "alpha": 1.0},
    infer=_syrk_infer, grad=_syrk_grad, onnx=_syrk_onnx, second_order=True,
    ref=lambda A, transpose=False, alpha=1.0: _syrk_kernel(np, A, transpose, alpha),
    samples=[Sample(rnd(2, 3)), Sample(rnd(2, 2, 3), transpose=True, alpha=0.5)],
    aliases=("_linalg_syrk",), amp="fp32",
    doc="""``alpha A A^T`` (``alpha A^T A`` with ``transpose``) over the last two axes (MXNet
    ``linalg.syrk``): A (..., m, k) -> (..., m, m) (or (..., k, k)).

    Example::

        >>> nd.linalg.syrk(nd.array([[1, 2, 3], [4, 5, 6]]))     # [[14. 32.] [32. 77.]]
    """)
