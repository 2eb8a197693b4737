"""MXNet 1.9's CSR contrib ops ``getnnz`` and ``edge_id`` as registry ops over the dense
form (so ``sym.contrib`` can put them in graphs); ``nd.contrib`` reads a CSRNDArray's own
components instead (``ndarray/contrib_csr.py``), which also sees explicitly stored zeros.

Example::

    >>> nd.contrib.getnnz(nd.array([[1, 0], [2, 3]]), axis=1)    # [1 2]
    >>> nd.contrib.edge_id(adj, nd.array([0, 1]), nd.array([1, 1]))
"""
import numpy as np

from ...base import OpError
from .._registry import Aval, Sample, register
from ._samples import rnd


def _axis(axis):
    if axis not in (None, 0, 1):
        raise OpError(f"getnnz: axis must be None, 0 or 1, got {axis!r}")
    return axis


def _getnnz_kernel(xp, data, axis=None):
    nz = data != 0
    if _axis(axis) is None:
        return xp.asarray(nz.sum(), dtype=np.int64).reshape(1)
    return nz.sum(axis=axis).astype(np.int64)


def _getnnz_infer(data, axis=None):
    if len(data.shape) != 2:
        raise OpError(f"getnnz: needs a 2-D (CSR) matrix, got shape {tuple(data.shape)}")
    shape = (1,) if _axis(axis) is None else (data.shape[1 - axis],)
    return Aval(shape, np.dtype(np.int64))


def _getnnz_onnx(g, i, a, o, axis=None):
    zero = g.const(np.zeros((), np.dtype(a[0].dtype)))
    nz = g.op("Cast", g.op("Not", g.op("Equal", i[0], zero)), to=g.onnx_dtype(np.int64))
    if axis is None:
        return g.op("Reshape", g.op("ReduceSum", nz, keepdims=0), g.ints([1]))
    return g.op("ReduceSum", nz, g.ints([axis]), keepdims=0)


_contrib_getnnz = register(
    "_contrib_getnnz", _getnnz_kernel, attrs={"axis": None}, infer=_getnnz_infer,
    no_grad="integer counts", onnx=_getnnz_onnx,
    ref=lambda data, axis=None: _getnnz_kernel(np, data, axis),
    samples=[Sample(np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]])),
             Sample(np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]]), axis=0),
             Sample(np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]]), axis=1)],
    doc="""The number of stored values of a CSR matrix (MXNet ``contrib.getnnz``): in all
    (``axis=None``, shape (1,)), per column (``axis=0``) or per row (``axis=1``); int64. On
    dense data (a graph node) the nonzeros are counted; ``nd.contrib.getnnz`` of a
    CSRNDArray counts its stored entries, explicit zeros included, as MXNet.

    Example::

        >>> nd.contrib.getnnz(nd.sparse.csr_matrix(nd.array([[1, 0], [2, 3]])))   # [3]
    """)


def _edge_id_kernel(xp, data, u, v):
    vals = data[u.astype(np.int64), v.astype(np.int64)]
    return xp.where(vals != 0, vals, -1).astype(data.dtype)


def _edge_id_infer(data, u, v):
    if len(data.shape) != 2 or len(u.shape) != 1 or tuple(u.shape) != tuple(v.shape):
        raise OpError(f"edge_id: needs a 2-D matrix and two equal 1-D index vectors, got "
                      f"{tuple(data.shape)}, {tuple(u.shape)}, {tuple(v.shape)}")
    return Aval(tuple(u.shape), np.dtype(data.dtype))


def _edge_id_onnx(g, i, a, o):
    i64 = g.onnx_dtype(np.int64)
    cols = [g.op("Unsqueeze", g.op("Cast", x, to=i64), g.ints([1])) for x in i[1:]]
    vals = g.op("GatherND", i[0], g.op("Concat", *cols, axis=1))
    dt = np.dtype(a[0].dtype)
    return g.op("Where", g.op("Equal", vals, g.const(np.zeros((), dt))),
                g.const(np.array(-1, dt)), vals)


_contrib_edge_id = register(
    "_contrib_edge_id", _edge_id_kernel, inputs=("data", "u", "v"), infer=_edge_id_infer,
    no_grad="edge ids are looked up, not computed", onnx=_edge_id_onnx, amp="widest",
    ref=lambda data, u, v: _edge_id_kernel(np, data, u, v),
    samples=[Sample(np.diag([1.0, 2.0, 3.0]), np.array([0.0, 0.0, 1.0, 1.0, 2.0, 2.0]),
                    np.array([0.0, 1.0, 1.0, 2.0, 0.0, 2.0])),
             Sample(np.round(rnd(4, 5) * 3), np.array([3, 0, 2], np.int64),
                    np.array([4, 1, 0], np.int64))],
    doc="""Edge ids of a graph stored as a CSR adjacency matrix (MXNet ``contrib.edge_id``):
    ``out[i] = data[u[i], v[i]]`` where that edge exists, else -1. data (N, M); u, v (E,);
    output (E,), data's dtype. On dense data (a graph node) a zero entry is no edge;
    ``nd.contrib.edge_id`` of a CSRNDArray reads its stored entries (an edge id may be 0).

    Example::

        >>> nd.contrib.edge_id(adj, nd.array([0, 0]), nd.array([0, 1]))   # [ 1. -1.]
    """)
