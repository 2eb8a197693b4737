"""Creating sparse arrays: ``csr_matrix``, ``row_sparse_array``, ``zeros``, ``array``.

Example::

    >>> c = nd.sparse.csr_matrix(([1, 2], [0, 2], [0, 1, 2]), shape=(2, 3))
    >>> c.asnumpy()
    array([[1., 0., 0.],
           [0., 0., 2.]], dtype=float32)
"""
import numpy as np

from ...base import MXNetError
from ...device import as_context, current_context
from ..ndarray import NDArray
from .arrays import IDX, BaseSparseNDArray, CSRNDArray, RowSparseNDArray

_DEFAULT = np.float32


def _ctx_xp(ctx):
    ctx = as_context(ctx) if ctx is not None else current_context()
    return ctx, ctx.xp


def _raw(a, xp, dtype=None):
    """A component as a raw array; NDArrays and numpy arrays keep their dtype unless
    ``dtype`` is given, Python lists become float32 (MXNet's rule)."""
    if isinstance(a, NDArray):
        a = a.asnumpy()
    if dtype is None:
        dtype = a.dtype if isinstance(a, np.ndarray) else _DEFAULT
    return xp.asarray(np.asarray(a, dtype=dtype))


def _dense_source(src):
    return isinstance(src, (NDArray, np.ndarray, list)) and not isinstance(src, BaseSparseNDArray)


def _is_shape(arg):
    return isinstance(arg, tuple) and all(isinstance(s, (int, np.integer)) for s in arg)


def csr_matrix(arg1, shape=None, ctx=None, dtype=None):
    """A CSRNDArray (M, N) from ``(data, indices, indptr)``, ``(data, (row, col))``, a
    dense array (NDArray, numpy, nested list), a shape (an empty array) or a CSRNDArray.

    Example::

        >>> nd.sparse.csr_matrix(([5.], [1], [0, 1, 1]), shape=(2, 3)).indptr.asnumpy()
        array([0, 1, 1])
    """
    ctx, xp = _ctx_xp(ctx)
    if isinstance(arg1, CSRNDArray):
        return arg1.astype(dtype or arg1.dtype).as_in_context(ctx)
    if _is_shape(arg1):
        return zeros("csr", arg1, ctx, dtype)
    if isinstance(arg1, tuple) and len(arg1) == 3:
        data, indices, indptr = arg1
        values = _raw(data, xp, dtype)
        cols, ptr = _raw(indices, xp, IDX), _raw(indptr, xp, IDX)
        if shape is None:
            shape = (len(ptr) - 1, int(cols.max()) + 1 if cols.size else 0)
        _check_csr("csr_matrix", values, cols, ptr, shape)
        return CSRNDArray(values, (ptr, cols), shape, ctx)
    if isinstance(arg1, tuple) and len(arg1) == 2:   # COO: (data, (row, col))
        data, (row, col) = arg1
        values, row, col = _raw(data, np, dtype), _raw(row, np, IDX), _raw(col, np, IDX)
        if shape is None:
            shape = (int(row.max()) + 1, int(col.max()) + 1)
        dense = np.zeros(shape, values.dtype)
        np.add.at(dense, (row, col), values)   # repeated (row, col) pairs add up, as in scipy
        return _from_dense_raw(CSRNDArray, xp.asarray(dense), ctx)
    if hasattr(arg1, "tocsr"):   # a scipy sparse matrix
        m = arg1.tocsr()
        return csr_matrix((m.data, m.indices, m.indptr), shape=m.shape, ctx=ctx, dtype=dtype)
    if _dense_source(arg1):
        return _from_dense_raw(CSRNDArray, _raw(arg1, xp, dtype), ctx)
    raise MXNetError(f"csr_matrix: unsupported source of type {type(arg1).__name__}")


def row_sparse_array(arg1, shape=None, ctx=None, dtype=None):
    """A RowSparseNDArray from ``(data, indices)`` (data: (len(indices), D1, ...)), a dense
    array, a shape (an empty array) or a RowSparseNDArray.

    Example::

        >>> nd.sparse.row_sparse_array(([[1, 2]], [2]), shape=(4, 2)).asnumpy()[2]
        array([1., 2.], dtype=float32)
    """
    ctx, xp = _ctx_xp(ctx)
    if isinstance(arg1, RowSparseNDArray):
        return arg1.astype(dtype or arg1.dtype).as_in_context(ctx)
    if _is_shape(arg1):
        return zeros("row_sparse", arg1, ctx, dtype)
    if isinstance(arg1, tuple) and len(arg1) == 2:
        values, rows = _raw(arg1[0], xp, dtype), _raw(arg1[1], xp, IDX)
        if shape is None:
            shape = (int(rows.max()) + 1 if rows.size else 0,) + tuple(values.shape[1:])
        shape = tuple(shape)
        if values.shape[:1] != rows.shape or tuple(values.shape[1:]) != shape[1:]:
            raise MXNetError(f"row_sparse_array: data {values.shape} and indices {rows.shape} "
                             f"do not fit shape {shape}")
        if rows.size and (rows.min() < 0 or rows.max() >= shape[0]):
            raise MXNetError(f"row_sparse_array: an index is outside [0, {shape[0]})")
        order = xp.argsort(rows, kind="stable")
        rows, values = rows[order], values[order]
        if rows.size > 1 and bool((xp.diff(rows) == 0).any()):
            raise MXNetError("row_sparse_array: indices must be unique")
        return RowSparseNDArray(values, (rows,), shape, ctx)
    if _dense_source(arg1):
        return _from_dense_raw(RowSparseNDArray, _raw(arg1, xp, dtype), ctx)
    raise MXNetError(f"row_sparse_array: unsupported source of type {type(arg1).__name__}")


def _check_csr(fn, values, cols, ptr, shape):
    ok = (len(shape) == 2 and ptr.shape == (shape[0] + 1,) and values.shape == cols.shape
          and values.ndim == 1 and (ptr.size == 0 or (int(ptr[0]) == 0 and int(ptr[-1]) ==
                                                       cols.size)))
    if ok and ptr.size > 1:
        ok = bool((ptr[1:] >= ptr[:-1]).all())
    if ok and cols.size:
        ok = int(cols.min()) >= 0 and int(cols.max()) < shape[1]
    if not ok:
        raise MXNetError(f"{fn}: data {values.shape}, indices {cols.shape} and indptr "
                         f"{ptr.shape} are not a valid csr layout of shape {tuple(shape)}")


def _from_dense_raw(cls, dense, ctx):
    values, aux = cls._from_dense(ctx.xp, dense)
    return cls(values, aux, dense.shape, ctx)


def zeros(stype, shape, ctx=None, dtype=None, **kwargs):
    """An all-zero array of storage type ``stype`` ('csr', 'row_sparse' or 'default').

    Example::

        >>> nd.sparse.zeros('row_sparse', (3, 2)).indices.shape
        (0,)
    """
    ctx, xp = _ctx_xp(ctx)
    dtype = np.dtype(dtype or _DEFAULT)
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    if stype == "default":
        return NDArray(xp.zeros(shape, dtype), ctx)
    if stype == "row_sparse":
        return RowSparseNDArray(xp.zeros((0,) + shape[1:], dtype), (xp.zeros(0, IDX),),
                                shape, ctx)
    if stype == "csr":
        if len(shape) != 2:
            raise MXNetError(f"zeros: csr storage needs a 2-D shape, got {shape}")
        return CSRNDArray(xp.zeros(0, dtype), (xp.zeros(shape[0] + 1, IDX), xp.zeros(0, IDX)),
                          shape, ctx)
    raise MXNetError(f"zeros: unknown storage type {stype!r}")


empty = zeros


def array(source_array, ctx=None, dtype=None):
    """A sparse copy of a sparse NDArray or a scipy sparse matrix (MXNet's
    ``nd.sparse.array``)."""
    if isinstance(source_array, BaseSparseNDArray):
        out = source_array.astype(dtype or source_array.dtype)
        return out.as_in_context(ctx) if ctx is not None else out
    if hasattr(source_array, "tocsr"):
        return csr_matrix(source_array, ctx=ctx, dtype=dtype)
    raise MXNetError(f"sparse.array: expected a sparse NDArray or a scipy sparse matrix, got "
                     f"{type(source_array).__name__}")


def from_dense(stype, dense, ctx):
    """``dense`` (a raw array) as storage type ``stype`` (NDArray.tostype's converter)."""
    cls = {"csr": CSRNDArray, "row_sparse": RowSparseNDArray}.get(stype)
    if cls is None:
        raise ValueError(f"tostype: unknown storage type {stype!r}")
    return _from_dense_raw(cls, dense, ctx)
