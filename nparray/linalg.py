"""``kiln.np.linalg``: ``norm`` (vector and Frobenius norms, differentiable) and a few
matrix functions over kiln's linalg ops.

Example::

    >>> float(np.linalg.norm(np.array([3., 4.])))
    5.0
"""

import numpy as onp

from ..ndarray import ops as F
from ._core import norm_axis, wrap
from .fallback import fallback
from .reduce_ops import _scalar_shape
from .shape_ops import dot

__all__ = ["norm", "inv", "det", "slogdet", "cholesky", "solve", "matrix_power", "multi_dot",
           "eig", "eigh", "eigvals", "eigvalsh", "svd", "qr", "pinv", "matrix_rank", "cond",
           "lstsq", "tensorinv", "tensorsolve"]


def norm(x, ord=None, axis=None, keepdims=False):  # noqa: A002 - numpy's name
    """The 2-norm (Frobenius for matrices) over ``axis`` (all axes when None), or the
    ``ord``-norm of vectors for ``ord`` 1 or 2.

    Example::

        >>> np.linalg.norm(np.ones((2, 3)), axis=1).shape
        (2,)
    """
    if ord not in (None, 1, 2, "fro"):
        raise NotImplementedError(f"linalg.norm: ord={ord!r} is not supported (None, 1, 2, "
                                  "'fro')")
    if ord == 2 and (axis is None and x.ndim == 2 or isinstance(axis, tuple)):
        raise NotImplementedError("linalg.norm: the matrix 2-norm (largest singular value) "
                                  "is not supported; use ord=None (Frobenius)")
    axis = norm_axis(axis)
    if ord == 1:
        res = F.sum(F.abs(x), axis=axis, keepdims=keepdims)
    else:
        res = F.sqrt(F.sum(F.square(x), axis=axis, keepdims=keepdims))
    return wrap(_scalar_shape(res, axis, keepdims, x.ndim))


def inv(a):
    """The inverse of (a stack of) square matrices. Example: ``np.linalg.inv(np.eye(2))``."""
    return wrap(F.linalg_inverse(a))


def det(a):
    """The determinant of (a stack of) square matrices. Example: ``np.linalg.det(np.eye(2))``."""
    res = F.linalg_det(a)
    return wrap(F.reshape(res, shape=()) if a.ndim == 2 and res.shape != () else res)


def slogdet(a):
    """``(sign, log|det|)`` of (a stack of) square matrices."""
    sign, logdet = F.linalg_slogdet(a)
    if a.ndim == 2:
        sign, logdet = F.reshape(sign, shape=()), F.reshape(logdet, shape=())
    return wrap(sign), wrap(logdet)




def cholesky(a):
    """The lower Cholesky factor ``L`` of symmetric positive-definite ``a`` (``a = L L^T``).

    Example: ``np.linalg.cholesky(np.eye(2) * 4)`` is ``2 * np.eye(2)``."""
    return wrap(F.linalg_potrf(a))


def solve(a, b):
    """``x`` with ``a @ x = b`` (differentiable: the inverse times ``b``).

    Example: ``np.linalg.solve(np.eye(2) * 2, np.ones(2))`` is ``[0.5, 0.5]``."""
    if b.ndim == a.ndim - 1:  # a stack of vectors
        return wrap(F.reshape(F.matmul(F.linalg_inverse(a), F.expand_dims(b, axis=-1)),
                              shape=tuple(b.shape)))
    return wrap(F.matmul(F.linalg_inverse(a), b))


def matrix_power(a, n):
    """``a`` multiplied by itself ``n`` times (the inverse's power for negative ``n``)."""
    if n < 0:
        a, n = F.linalg_inverse(a), -n
    if n == 0:
        return wrap(F.broadcast_to(F.eye(a.shape[-1], dtype=onp.dtype(a.dtype).name),
                                   shape=tuple(a.shape)))
    res = a
    for _ in range(n - 1):
        res = F.matmul(res, a)
    return wrap(res)


def multi_dot(arrays):
    """The chained matrix product of ``arrays`` (1-D ends as in numpy)."""
    res = arrays[0]
    for b in arrays[1:]:
        res = dot(res, b)
    return res


(eig, eigh, eigvals, eigvalsh, svd, qr, pinv, matrix_rank, cond, lstsq, tensorinv,
 tensorsolve) = (fallback(n, getattr(onp.linalg, n)) for n in (
    "eig eigh eigvals eigvalsh svd qr pinv matrix_rank cond lstsq tensorinv "
    "tensorsolve").split())
