"""Row_sparse values in the local kvstore: a key initialized with a row_sparse array stays
row_sparse, pushes of row_sparse values sum to a row_sparse value (so an optimizer on the
store can update lazily), and ``row_sparse_pull`` copies only the requested rows.

Example::

    >>> kv.init('e', nd.ones((4, 2)).tostype('row_sparse'))
    >>> out = nd.sparse.zeros('row_sparse', (4, 2))
    >>> kv.row_sparse_pull('e', out=out, row_ids=nd.array([3, 1]))
    >>> out.indices.asnumpy()
    array([1, 3])
"""
import numpy as np

from ..ndarray.ndarray import NDArray
from ..ndarray.sparse import BaseSparseNDArray, RowSparseNDArray, elemwise_add
from .base import KVStoreError


def is_sparse(a):
    return isinstance(a, BaseSparseNDArray)


def merge(key, stored, vals):
    """The sum of the pushed row_sparse ``vals`` on ``stored``'s device (row_sparse)."""
    total = vals[0].as_in_context(stored.context).copy()
    for v in vals[1:]:
        if not isinstance(v, RowSparseNDArray):
            raise KVStoreError(f"kvstore.push: key {key!r}: cannot sum a {v.stype} value with "
                               "row_sparse ones")
        total = elemwise_add(total, v.as_in_context(stored.context))
    return total


def store(stored, merged):
    """Make the sparse ``stored`` array hold ``merged`` (sparse or dense)."""
    if is_sparse(merged):
        merged.copyto(stored)
    else:
        stored._data = merged._data


def pull_rows(key, stored, outs, row_ids):
    """Copy rows ``row_ids`` (one NDArray for every out, or one per out) of the row_sparse
    ``stored`` into the row_sparse ``outs``: every requested row is stored, zero or not."""
    if not isinstance(stored, RowSparseNDArray):
        raise KVStoreError(f"kvstore.row_sparse_pull: key {key!r} holds a {stored.stype} "
                           "array; row_sparse_pull needs one initialized as row_sparse")
    ids = list(row_ids) if isinstance(row_ids, (list, tuple)) else [row_ids] * len(outs)
    if len(ids) != len(outs):
        raise KVStoreError(f"kvstore.row_sparse_pull: {len(outs)} outputs but {len(ids)} "
                           "row_ids arrays")
    dense = stored._dense()
    for o, r in zip(outs, ids):
        if not isinstance(o, RowSparseNDArray) or o.shape != stored.shape:
            raise KVStoreError(f"kvstore.row_sparse_pull: out must be a row_sparse array of "
                               f"shape {stored.shape}, got {getattr(o, 'stype', type(o))} "
                               f"{getattr(o, 'shape', '')}")
        raw = r.asnumpy() if isinstance(r, NDArray) else np.asarray(r)
        rows = np.unique(raw.astype(np.int64).reshape(-1))
        if rows.size and (rows[0] < 0 or rows[-1] >= stored.shape[0]):
            raise KVStoreError(f"kvstore.row_sparse_pull: row_ids outside [0, "
                               f"{stored.shape[0]})")
        xp = o.context.xp
        with o.context.use():
            vals = xp.asarray(_host(dense)[rows])
            o._set_components(vals, (xp.asarray(rows),))


def _host(a):
    return a if isinstance(a, np.ndarray) else a.get()
