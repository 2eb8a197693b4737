"""Sparse kernels: ``dot``, ``add``/``elemwise_add``/``subtract``, ``retain``,
``cast_storage``.

Each reads the sparse components directly; a storage combination without a kernel falls back
to the dense registry op (logged, as MXNet's storage fallback). Autograd: when the dense
operand of ``dot`` is being differentiated, the product runs through the registry's ``dot``
(on the densified sparse operand) so the tape records it: the gradient w.r.t. the dense
operand is MXNet's, the sparse operand gets none.

Example::

    >>> c = nd.sparse.csr_matrix(([1., 2.], [0, 1], [0, 1, 2]), shape=(2, 2))
    >>> nd.sparse.dot(c, nd.ones((2, 3))).asnumpy()
    array([[1., 1., 1.],
           [2., 2., 2.]], dtype=float32)
"""
import numpy as np

from ...base import MXNetError
from .. import ops as F
from ..ndarray import NDArray
from .arrays import _SPARSE_BINARY, IDX, BaseSparseNDArray, CSRNDArray, RowSparseNDArray, on_tape


def _recorded(a):
    return isinstance(a, NDArray) and (a._grad_req is not None or a._node is not None)


def dot(lhs, rhs, transpose_a=False, transpose_b=False, forward_stype=None):
    """Matrix product with sparse kernels for dot(csr, dense) -> dense,
    dot(csr.T, dense) -> row_sparse and dot(dense, row_sparse) -> dense.

    Shapes as ``nd.dot``: (M, K) x (K, N) -> (M, N) after the transposes.

    Example::

        >>> nd.sparse.dot(c, nd.ones((2, 1)), transpose_a=True).stype
        'row_sparse'
    """
    dense_rhs = type(rhs) is NDArray or (isinstance(rhs, NDArray) and rhs.stype == "default")
    if isinstance(lhs, CSRNDArray) and dense_rhs and not transpose_b and not _recorded(rhs) \
            and rhs.ndim == 2:
        return _csr_dense(lhs, rhs, transpose_a)
    if isinstance(rhs, RowSparseNDArray) and not isinstance(lhs, BaseSparseNDArray) \
            and not transpose_b and not _recorded(lhs) and lhs.ndim == 2:
        return _dense_rsp(lhs, rhs, transpose_a)
    return F.dot(lhs, rhs, transpose_a=transpose_a, transpose_b=transpose_b)


def _check(name, a, b):
    if a != b:
        raise MXNetError(f"sparse.dot: inner dimensions differ ({name}: {a} vs {b})")


def _csr_dense(lhs, rhs, transpose_a):
    xp, r = lhs._ctx.xp, rhs._data
    vals, cols = lhs._values, lhs._aux[1]
    rows = lhs._rows(xp)
    m, k = lhs.shape
    if not transpose_a:
        _check("csr columns and rhs rows", k, r.shape[0])
        out = xp.zeros((m, r.shape[1]), np.result_type(vals, r))
        _scatter_add(xp, out, rows, vals[:, None] * r[cols])
        return NDArray(out, lhs._ctx)
    _check("csr rows and rhs rows", m, r.shape[0])
    used = xp.unique(cols).astype(IDX)
    out = xp.zeros((used.size, r.shape[1]), np.result_type(vals, r))
    pos = xp.searchsorted(used, cols)
    contrib = vals[:, None] * r[rows]
    _scatter_add(xp, out, pos, contrib)
    return RowSparseNDArray(out, (used,), (k, r.shape[1]), lhs._ctx)


def _scatter_add(xp, out, idx, vals):
    """``out[idx] += vals`` with repeated indices adding up."""
    if xp is np:
        np.add.at(out, idx, vals)
        return
    import cupyx  # only reached on the GPU, where cupy (and cupyx) are present
    cupyx.scatter_add(out, idx, vals)


def _dense_rsp(lhs, rhs, transpose_a):
    d = lhs._data.T if transpose_a else lhs._data
    _check("lhs columns and rhs rows", d.shape[1], rhs.shape[0])
    vals = rhs._values.reshape(rhs._values.shape[0], -1)
    out = d[:, rhs._aux[0]] @ vals
    return NDArray(out.reshape((d.shape[0],) + rhs.shape[1:]), lhs._ctx)


def _add_rsp(a, b):
    xp = a._ctx.xp
    rows = xp.union1d(a._aux[0], b._aux[0]).astype(IDX)
    out = xp.zeros((rows.size,) + a.shape[1:], np.result_type(a._values, b._values))
    out[xp.searchsorted(rows, a._aux[0])] += a._values
    out[xp.searchsorted(rows, b._aux[0])] += b._values
    return RowSparseNDArray(out, (rows,), a.shape, a._ctx)


def _add_same(a, b):
    if a.shape != b.shape:
        raise MXNetError(f"sparse add: shapes {a.shape} and {b.shape} differ")
    if isinstance(a, RowSparseNDArray):
        return _add_rsp(a, b)
    values, aux = CSRNDArray._from_dense(a._ctx.xp, a._dense() + b._dense())
    return CSRNDArray(values, aux, a.shape, a._ctx)


_SPARSE_BINARY["add"] = _add_same


def elemwise_add(lhs, rhs):
    """``lhs + rhs``; two arrays of the same sparse storage type give that type (row_sparse:
    the union of the rows), any other combination, or inputs being differentiated, a dense
    array."""
    if isinstance(lhs, BaseSparseNDArray) and isinstance(rhs, BaseSparseNDArray) \
            and lhs.stype == rhs.stype and not on_tape(lhs, rhs):
        return _add_same(lhs, rhs)
    return F.elemwise_add(lhs, rhs)


add = elemwise_add


def elemwise_sub(lhs, rhs):
    """``lhs - rhs`` with ``elemwise_add``'s storage rules."""
    if isinstance(rhs, BaseSparseNDArray) and isinstance(lhs, BaseSparseNDArray) \
            and lhs.stype == rhs.stype and not on_tape(lhs, rhs):
        return _add_same(lhs, -rhs)
    return F.elemwise_sub(lhs, rhs)


subtract = elemwise_sub


def retain(data, indices):
    """Row_sparse ``data`` restricted to the rows ``indices`` (sorted and made unique): every
    requested row is stored, zero where ``data`` has none, as MXNet's ``sparse.retain``.

    Example::

        >>> nd.sparse.retain(r, nd.array([1, 2])).indices.asnumpy()
        array([1, 2])
    """
    if not isinstance(data, RowSparseNDArray):
        raise MXNetError(f"retain: data must be row_sparse, got storage type {data.stype}")
    xp = data._ctx.xp
    want = indices._data if isinstance(indices, NDArray) else xp.asarray(indices)
    rows = xp.unique(want.astype(IDX).reshape(-1))
    if rows.size and (int(rows[0]) < 0 or int(rows[-1]) >= data.shape[0]):
        raise MXNetError(f"retain: indices outside [0, {data.shape[0]})")
    out = xp.zeros((rows.size,) + data.shape[1:], data._values.dtype)
    have = data._aux[0]
    pos = xp.searchsorted(have, rows)
    found = pos < have.size
    found[found] = have[pos[found]] == rows[found]
    out[found] = data._values[pos[found]]
    return RowSparseNDArray(out, (rows,), data.shape, data._ctx)


def cast_storage(data, stype):
    """``data`` converted to storage type ``stype`` ('default', 'csr', 'row_sparse')."""
    return data.tostype(stype)
