"""More of MXNet 1.9's ``nd.contrib``: ``hawkesll``, ``fft``/``ifft``, ``count_sketch``, the
``backward_*`` gradient ops and the CSR ops ``getnnz``/``edge_id``, re-exported by
``ndarray/contrib.py``. Each is a registry op (``_contrib_<name>``), so ``nd.contrib``,
``sym.contrib`` and ``F.contrib`` share one definition; ``getnnz`` and ``edge_id`` read a
CSRNDArray's stored entries directly here (the registry ops see the dense form).

Example::

    >>> c = nd.sparse.csr_matrix(([0., 5.], [1, 0], [0, 1, 2]), shape=(2, 2))
    >>> nd.contrib.getnnz(c)                     # [2]: an explicit zero is a stored value
    >>> nd.contrib.edge_id(c, nd.array([0, 1]), nd.array([1, 1]))   # [ 0. -1.]
"""
import numpy as np

from ._registry import OPS
from .ndarray import NDArray
from .sparse import CSRNDArray

NAMES = ("hawkesll", "fft", "ifft", "count_sketch", "backward_gradientmultiplier",
         "backward_hawkesll", "backward_index_copy", "backward_quadratic", "getnnz", "edge_id")

hawkesll = OPS["_contrib_hawkesll"].func
fft = OPS["_contrib_fft"].func
ifft = OPS["_contrib_ifft"].func
count_sketch = OPS["_contrib_count_sketch"].func
backward_gradientmultiplier = OPS["_contrib_backward_gradientmultiplier"].func
backward_hawkesll = OPS["_contrib_backward_hawkesll"].func
backward_index_copy = OPS["_contrib_backward_index_copy"].func
backward_quadratic = OPS["_contrib_backward_quadratic"].func


def getnnz(data, axis=None, out=None):
    """Stored values of a CSR matrix (N, M), explicit zeros included (MXNet
    ``contrib.getnnz``): in all (``axis=None``: shape (1,)), per column (``axis=0``: (M,)) or
    per row (``axis=1``: (N,)); int64. Dense data counts its nonzeros.

    Example::

        >>> nd.contrib.getnnz(nd.sparse.csr_matrix(nd.array([[1, 0], [2, 3]])), axis=1)
        [1 2]
    """
    if not isinstance(data, CSRNDArray):
        return OPS["_contrib_getnnz"].func(data, axis=axis, out=out)
    OPS["_contrib_getnnz"].infer(data, axis=axis)   # checks axis
    xp, (indptr, cols) = data._ctx.xp, data._aux
    if axis is None:
        res = xp.asarray([int(indptr[-1])], dtype=np.int64)
    elif axis == 1:
        res = xp.diff(indptr).astype(np.int64)
    else:
        res = xp.bincount(cols, minlength=data.shape[1]).astype(np.int64)
    return _result(res, data, out)


def edge_id(data, u, v, out=None):
    """Edge ids of a graph stored as a CSR adjacency matrix (MXNet ``contrib.edge_id``):
    ``out[i] = data[u[i], v[i]]`` where that entry is stored, else -1. data (N, M); u, v
    (E,); output (E,), data's dtype.

    Example::

        >>> adj = nd.sparse.csr_matrix(nd.array([[1, 0], [0, 2]]))
        >>> nd.contrib.edge_id(adj, nd.array([0, 0, 1]), nd.array([0, 1, 1]))   # [ 1. -1.  2.]
    """
    if not isinstance(data, CSRNDArray):
        return OPS["_contrib_edge_id"].func(data, u, v, out=out)
    xp, (indptr, cols) = data._ctx.xp, data._aux
    uu, vv = (xp.asarray(_raw(a)).astype(np.int64).reshape(-1) for a in (u, v))
    res = xp.full(uu.shape, -1, dtype=data.dtype)
    for k, (r, c) in enumerate(zip(uu.tolist(), vv.tolist())):
        lo, hi = int(indptr[r]), int(indptr[r + 1])
        hit = xp.flatnonzero(cols[lo:hi] == c)   # a row's columns need not be sorted
        if hit.size:
            res[k] = data._values[lo + int(hit[0])]
    return _result(res, data, out)


# storage dispatch around the registry ops (tests/test_namespace_sync.py unwraps them)
getnnz.__wrapped__ = OPS["_contrib_getnnz"].func
edge_id.__wrapped__ = OPS["_contrib_edge_id"].func


def _raw(a):
    return a._data if isinstance(a, NDArray) else np.asarray(a)


def _result(res, like, out):
    arr = NDArray(res, like._ctx)
    if out is not None:
        out[:] = arr
        return out
    return arr


__all__ = list(NAMES)
