"""MXNet's ``linalg`` inverse, determinants and LQ factorization: inverse, det, slogdet, gelqf
(leading axes are batch axes; float32 and float64 only). ``det``/``slogdet`` of one matrix give
shape (1,), as MXNet; ``gelqf`` returns ``(Q, L)`` in that order.
"""
import functools

import numpy as np

from ...base import OpError
from .. import ops as F
from .._registry import Aval, Sample, register
from ._samples import rnd
from .linalg_decomp import float_only, linalg_trsm, square, tri_mask
from .linalg_diag import linalg_extractdiag, linalg_makediag


def _t(x):
    return F.swapaxes(x, dim1=-1, dim2=-2)


def _mm(a, b, ta=False, tb=False):
    return F.linalg_gemm2(a, b, transpose_a=ta, transpose_b=tb)


def _batch_out(shape):
    return tuple(shape[:-2]) or (1,)


def _invertible(name, xp, fn, *args):
    try:
        return fn(*args)
    except np.linalg.LinAlgError:
        raise OpError(f"{name}: the input matrix is not invertible") from None


# ---- inverse ---------------------------------------------------------------------------------
def _inverse_kernel(xp, A):
    square("linalg_inverse", A)
    return _invertible("linalg_inverse", xp, xp.linalg.inv, A)


def _inverse_grad(ins, outs, gouts):
    out = outs[0]
    return (_mm(_mm(out, gouts[0], ta=True), out, tb=True) * -1.0,)


linalg_inverse = register(
    "linalg_inverse", _inverse_kernel, inputs=("A",),
    infer=lambda A: Aval(square("linalg_inverse", A), np.dtype(A.dtype)),
    grad=_inverse_grad, save_outputs=True, second_order=True, ref=np.linalg.inv,
    no_onnx="Inverse is not in ONNX's default domain (only com.microsoft's)",
    samples=[Sample(rnd(3, 3) + 2 * np.eye(3)), Sample(rnd(2, 2, 2) + 2 * np.eye(2))],
    aliases=("_linalg_inverse",), amp="fp32",
    doc="""Inverse of square matrices (MXNet ``linalg.inverse``): A (..., n, n) -> (..., n, n).

    Example::

        >>> nd.linalg.inverse(nd.array([[2, 0], [0, 4]]))     # [[0.5 0.] [0. 0.25]]
    """)


# ---- det and slogdet -------------------------------------------------------------------------
def _det_infer(A):
    return Aval(_batch_out(square("linalg_det", A)), np.dtype(A.dtype))


@functools.lru_cache(maxsize=64)
def _minor_index(n):
    """Flat indices (n, n, n-1, n-1) of every (i, j) minor of an n x n matrix, and the signs."""
    keep = [np.delete(np.arange(n), i) for i in range(n)]
    idx = np.array([[keep[i][:, None] * n + keep[j][None, :] for j in range(n)]
                    for i in range(n)], np.int64).reshape(n, n, n - 1, n - 1)
    sign = (-1.0) ** np.add.outer(np.arange(n), np.arange(n))
    return idx, sign


def _cofactor_kernel(xp, A):
    square("_linalg_cofactor", A)
    n = A.shape[-1]
    det = xp.linalg.det(A)
    if n > 1 and not bool(xp.all(det != 0)):  # singular: the minors themselves (small n)
        idx, sign = _minor_index(n)
        flat = A.reshape(A.shape[:-2] + (n * n,))
        return (xp.linalg.det(flat[..., xp.asarray(idx)]) * xp.asarray(sign)).astype(A.dtype)
    if n == 1:
        return xp.ones_like(A)
    return det[..., None, None] * xp.swapaxes(xp.linalg.inv(A), -1, -2)


def _cofactor_onnx(g, i, a, o):
    shape = tuple(a[0].shape)
    n = shape[-1]
    if n == 1:
        return g.op("Add", g.op("Mul", i[0], g.const(np.zeros((), a[0].dtype))),
                    g.const(np.ones((), a[0].dtype)))
    idx, sign = _minor_index(n)
    flat = g.op("Reshape", i[0], g.ints(shape[:-2] + (n * n,)))
    minors = g.op("Gather", flat, g.const(idx), axis=len(shape) - 2)
    return g.op("Mul", g.op("Det", minors), g.const(sign.astype(a[0].dtype)))


_linalg_cofactor = register(
    "_linalg_cofactor", _cofactor_kernel, inputs=("A",),
    infer=lambda A: Aval(square("_linalg_cofactor", A), np.dtype(A.dtype)),
    onnx=_cofactor_onnx, samples=[Sample(rnd(3, 3)), Sample(np.array([[1.0, 2.0], [2.0, 4.0]])),
                                  Sample(rnd(2, 1, 1))],
    ref=lambda A: _cofactor_kernel(np, A),
    no_grad="the gradient of det's gradient (second order) is not supported",
    doc="""Cofactor matrices, ``det(A) A^-T`` (defined for singular A too): the gradient of
    ``det`` (internal). A (..., n, n) -> (..., n, n).""")


def _scale(A, g, m):
    """``g`` (one value per matrix) times the matrices ``m``."""
    return m * F.reshape(g, shape=tuple(A.shape[:-2]) + (1, 1))


def _det_onnx(g, i, a, o):
    return g.op("Reshape", g.op("Det", i[0]), g.ints(tuple(o[0].shape)))


linalg_det = register(
    "linalg_det", lambda xp, A: xp.linalg.det(A).reshape(_det_infer(A).shape),
    inputs=("A",), infer=_det_infer,
    grad=lambda i, o, g: (_scale(i[0], g[0], _linalg_cofactor(i[0])),), onnx=_det_onnx,
    ref=lambda A: np.linalg.det(A).reshape(_batch_out(A.shape)),
    samples=[Sample(rnd(3, 3) + 2 * np.eye(3)), Sample(rnd(2, 2, 2) * 2)],
    aliases=("_linalg_det",), amp="fp32",
    doc="""Determinant of square matrices (MXNet ``linalg.det``): A (..., n, n) -> (...), shape
    (1,) for one matrix. Its gradient is the cofactor matrix, ``det(A) A^-T``.

    Example::

        >>> nd.linalg.det(nd.array([[1, 4], [2, 3]]))        # [-5.]
    """)


def _slogdet_kernel(xp, A):
    shape = _det_infer(A).shape
    sign, logdet = xp.linalg.slogdet(A)
    return sign.reshape(shape).astype(A.dtype), logdet.reshape(shape).astype(A.dtype)


def _slogdet_onnx(g, i, a, o):
    det = g.op("Det", i[0])
    shape = g.ints(tuple(o[0].shape))
    return (g.op("Reshape", g.op("Sign", det), shape),
            g.op("Reshape", g.op("Log", g.op("Abs", det)), shape))


linalg_slogdet = register(
    "linalg_slogdet", _slogdet_kernel, inputs=("A",), num_outputs=2,
    infer=lambda A: (_det_infer(A),) * 2,
    # d logabsdet = A^-T = cofactor / det, det = sign * exp(logabsdet)
    grad=lambda i, o, g: (_scale(i[0], g[1] / (o[0] * F.exp(o[1])), _linalg_cofactor(i[0])),),
    onnx=_slogdet_onnx,
    ref=lambda A: tuple(v.reshape(_batch_out(A.shape)) for v in np.linalg.slogdet(A)),
    samples=[Sample(rnd(3, 3) + 2 * np.eye(3)), Sample(rnd(2, 2, 2) * 2)],
    aliases=("_linalg_slogdet",), amp="fp32",
    doc="""Sign and log of the absolute determinant of square matrices (MXNet
    ``linalg.slogdet``): A (..., n, n) -> (sign, logabsdet), each (...) or (1,) for one matrix.
    The sign gets no gradient.

    Example::

        >>> nd.linalg.slogdet(nd.array([[2, 3], [1, 4]]))     # [1.], [1.609438]
    """)


# ---- gelqf -----------------------------------------------------------------------------------
def _gelqf_infer(A):
    shape = tuple(A.shape)
    if len(shape) < 2 or shape[-2] > shape[-1]:
        raise OpError(f"linalg_gelqf: A must have shape (..., x, y) with x <= y, got {shape}")
    float_only("linalg_gelqf", A)
    return Aval(shape, np.dtype(A.dtype)), Aval(shape[:-1] + (shape[-2],), np.dtype(A.dtype))


def _gelqf_kernel(xp, A):
    _gelqf_infer(A)
    # A^T = Q' R (LAPACK's Householder signs, as MXNet's gelqf): A = R^T Q'^T
    q, r = xp.linalg.qr(xp.swapaxes(A, -1, -2))
    return xp.swapaxes(q, -1, -2).copy(), xp.swapaxes(r, -1, -2).copy()


def _copyltu(M):
    """The symmetric matrix whose lower triangle is M's."""
    low = tri_mask(M, True)
    return low + _t(low) - linalg_makediag(linalg_extractdiag(M))


def _gelqf_grad(ins, outs, gouts):
    Q, L = outs
    dQ, dL = gouts
    # MXNet's gelqf backward: dA = L^-T (dQ + copyltu(M) Q), M = L^T dL - dQ Q^T
    M = _mm(L, dL, ta=True) - _mm(dQ, Q, tb=True)
    return (linalg_trsm(L, dQ + _mm(_copyltu(M), Q), transpose=True),)


linalg_gelqf = register(
    "linalg_gelqf", _gelqf_kernel, inputs=("A",), num_outputs=2, infer=_gelqf_infer,
    grad=_gelqf_grad, no_onnx="ONNX has no QR/LQ factorization",
    ref=lambda A: _gelqf_kernel(np, A),
    samples=[Sample(rnd(2, 3)), Sample(rnd(2, 3, 4)), Sample(rnd(3, 3) + 2 * np.eye(3))],
    aliases=("_linalg_gelqf",), amp="fp32",
    doc="""LQ factorization ``A = L Q`` (MXNet ``linalg.gelqf``) of full-rank A (..., x, y),
    x <= y: returns ``(Q, L)``, Q (..., x, y) with orthonormal rows, L (..., x, x) lower
    triangular.

    Example::

        >>> Q, L = nd.linalg.gelqf(nd.array([[1, 2, 3], [4, 5, 6]]))
    """)


# ---- syevd -----------------------------------------------------------------------------------
def _syevd_infer(A):
    shape = square("linalg_syevd", A)
    return Aval(shape, np.dtype(A.dtype)), Aval(shape[:-1], np.dtype(A.dtype))


def _syevd_kernel(xp, A):
    _syevd_infer(A)
    lam, V = xp.linalg.eigh((A + xp.swapaxes(A, -1, -2)) / 2)
    U = xp.swapaxes(V, -1, -2)
    # MXNet's sign: the largest entry (in absolute value) of each eigenvector is positive
    big = xp.take_along_axis(U, xp.argmax(xp.abs(U), axis=-1)[..., None], axis=-1)
    return (U * xp.where(big < 0, -1.0, 1.0).astype(U.dtype)).copy(), lam.astype(A.dtype)


def _syevd_grad(ins, outs, gouts):
    U, lam = outs
    dU, dlam = gouts
    # dA = U^T (diag(dlam) + F o (U dU^T)) U, F_ij = 1 / (lam_j - lam_i) off the diagonal,
    # symmetrized (A enters as (A + A^T) / 2)
    eye = linalg_makediag(F.ones_like(lam))
    gap = F.expand_dims(lam, axis=-2) - F.expand_dims(lam, axis=-1)
    inner = linalg_makediag(dlam) + (1.0 / (gap + eye) - eye) * _mm(U, dU, tb=True)
    g = _mm(_mm(U, inner, ta=True), U)
    return ((g + _t(g)) * 0.5,)


def _sym_distinct(*batch, n=3):
    """Symmetric matrices with well-separated eigenvalues (gradients need distinct ones)."""
    q = np.linalg.qr(rnd(*batch, n, n, salt=9))[0]
    return q @ (np.arange(1.0, n + 1) * 1.5 * np.eye(n)) @ np.swapaxes(q, -1, -2)


linalg_syevd = register(
    "linalg_syevd", _syevd_kernel, inputs=("A",), num_outputs=2, infer=_syevd_infer,
    grad=_syevd_grad, no_onnx="ONNX has no eigendecomposition",
    ref=lambda A: _syevd_kernel(np, A),
    samples=[Sample(_sym_distinct()), Sample(_sym_distinct(2, n=4))],
    aliases=("_linalg_syevd",), amp="fp32",
    doc="""Eigendecomposition of symmetric matrices (MXNet ``linalg.syevd``): returns ``(U, L)``
    with ``U A = diag(L) U``, U (..., n, n) orthonormal (eigenvectors as rows, each with its
    largest entry positive), L (..., n) ascending. Gradients need distinct eigenvalues.

    Example::

        >>> U, L = nd.linalg.syevd(nd.array([[1, 2], [2, 4]]))      # L = [0. 5.]
    """)
