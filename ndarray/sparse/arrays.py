"""``CSRNDArray`` and ``RowSparseNDArray``: NDArray subclasses that hold component arrays.

Representation: a sparse array keeps its stored values (``_values``) and integer aux arrays
(``_aux``: ``(indices,)`` for row_sparse, ``(indptr, indices)`` for csr, int64 as in MXNet)
as numpy (cpu) or cupy (gpu) arrays. Its ``_data`` (what the op registry and every dense code
path read) is MXNet's *storage fallback*: a read-only dense copy, built once per change and
logged on the ``kiln.ndarray.sparse`` logger, so every registered op runs correctly on sparse
inputs and returns a dense result. Writing ``_data`` re-sparsifies (rows / entries that are
not all zero are kept). Sparse kernels (``sparse.dot``, ``add``, ``retain``...) read the
components directly.

Example::

    >>> r = nd.sparse.row_sparse_array(([[1, 2]], [1]), shape=(3, 2))
    >>> r.indices.asnumpy(), r.asnumpy()[1]
    (array([1]), array([1., 2.], dtype=float32))
"""
import logging

import numpy as np

from ...base import MXNetError
from ...device import _CPU0, as_context
from ...device import move_data as _move_to
from .._derived import thaw
from .._registry import STATE
from ..ndarray import NDArray

LOG = logging.getLogger("kiln.ndarray.sparse")
IDX = np.int64


class BaseSparseNDArray(NDArray):
    """Common behaviour of the sparse storage types (not created directly)."""

    __slots__ = ("_values", "_aux", "_shape", "_dense_cache", "_rows_hint")
    _stype = None

    def __init__(self, values, aux, shape, ctx=None):
        self._values, self._aux, self._shape = values, tuple(aux), tuple(int(s) for s in shape)
        self._ctx = as_context(ctx) if ctx is not None else _CPU0
        self._node, self._index, self._grad, self._grad_req = None, 0, None, None
        self._dense_cache = self._rows_hint = None

    # ---- the storage fallback (see the module docstring) ----------------------------------
    @property
    def _data(self):
        LOG.info("storage fallback: densifying a %s array of shape %s for a dense operator",
                 self._stype, self._shape)
        return self._dense()

    @_data.setter
    def _data(self, dense):
        self._set_components(*self._from_dense(self._ctx.xp, dense))

    def _set_components(self, values, aux):
        self._values, self._aux, self._dense_cache = values, tuple(aux), None

    def _store_grad(self, g, req):
        """Autograd's write of a gradient into this buffer (``grad_req`` 'write' or 'add');
        ``g`` is None (no gradient reached: zero), an NDArray or a raw array."""
        xp = self._ctx.xp
        if isinstance(g, BaseSparseNDArray):
            g = g._dense()
        elif isinstance(g, NDArray):
            g = g._data
        dense = xp.zeros(self._shape, self.dtype) if g is None else xp.asarray(g, self.dtype)
        if req == "add":
            dense = dense + self._dense()
        self._store_dense(xp, dense, req)

    def _store_dense(self, xp, dense, req):
        self._set_components(*self._from_dense(xp, dense))

    def _dense(self):
        if self._dense_cache is None:
            d = self._todense(self._ctx.xp)
            if isinstance(d, np.ndarray):
                d.flags.writeable = False   # in-place writes to a temporary would be lost
            self._dense_cache = d
        return self._dense_cache

    # ---- properties -----------------------------------------------------------------------
    shape = property(lambda self: self._shape)
    dtype = property(lambda self: self._values.dtype.type)
    ndim = property(lambda self: len(self._shape))
    size = property(lambda self: int(np.prod(self._shape)))
    stype = property(lambda self: self._stype)

    @property
    def data(self):
        """The stored values as a dense NDArray."""
        return NDArray(self._values, self._ctx)

    @property
    def indices(self):
        """The row (row_sparse) or column (csr) indices, int64."""
        return NDArray(self._aux[-1], self._ctx)

    def asnumpy(self):
        d = self._dense()
        return d.copy() if isinstance(d, np.ndarray) else d.get()

    def _component_copy(self):
        return self._values.copy(), [a.copy() for a in self._aux]

    def copy(self):
        return type(self)(*self._component_copy(), self._shape, self._ctx)

    def copyto(self, other):
        """Copy to a device (returns a new sparse array) or into an array of the same shape."""
        if isinstance(other, NDArray):
            if other.shape != self.shape:
                raise MXNetError(f"copyto: shape {self.shape} does not match {other.shape}")
            if isinstance(other, BaseSparseNDArray) and other.stype == self.stype:
                other._set_components(*self._component_copy())
            elif isinstance(other, BaseSparseNDArray):
                other._data = self._dense()
            else:
                thaw(other._data)
                other._data[...] = _move_to(self._dense(), other.context)
            return other
        out = self.as_in_context(other)
        return out.copy() if out is self else out

    def as_in_context(self, ctx):
        ctx = as_context(ctx)
        if ctx == self._ctx:
            return self
        xp = ctx.xp
        with ctx.use():
            vals = xp.asarray(_host(self._values))
            aux = [xp.asarray(_host(a)) for a in self._aux]
        return type(self)(vals, aux, self._shape, ctx)

    def astype(self, dtype, copy=True):
        vals = self._values.astype(np.dtype(dtype))
        return type(self)(vals, [a.copy() for a in self._aux], self._shape, self._ctx)

    def tostype(self, stype):
        """Convert to 'default', 'csr' or 'row_sparse' (csr <-> row_sparse is refused, as in
        MXNet)."""
        if stype == self._stype:
            return self.copy()
        if stype == "default":
            return NDArray(self._todense(self._ctx.xp), self._ctx)
        raise ValueError(f"cast_storage from {self._stype} to {stype} is not supported")

    def todense(self):
        return self.tostype("default")

    def attach_grad(self, grad_req="write", stype=None):
        """Make this array a variable (MXNet differentiates sparse arrays too): backward
        writes its gradient into ``.grad``, of storage ``stype`` (None: this array's own)."""
        if grad_req not in ("write", "add", "null"):
            raise ValueError(f"grad_req must be 'write', 'add' or 'null', got {grad_req!r}")
        stype = self._stype if stype is None else stype
        zeros = NDArray(self._ctx.xp.zeros(self._shape, self.dtype), self._ctx)
        self._grad = zeros if stype == "default" else zeros.tostype(stype)
        self._grad_req = None if grad_req == "null" else grad_req
        self._node = None
        self._fresh_grad = False

    def detach(self):
        """The same components (shared, as MXNet's detach shares memory), cut from the
        autograd graph; the storage type is kept."""
        return type(self)(self._values, self._aux, self._shape, self._ctx)

    def __setitem__(self, key, value):
        if not (key is Ellipsis or isinstance(key, slice) and key == slice(None)):
            raise MXNetError(f"{type(self).__name__} supports only x[:] = value assignment")
        if isinstance(value, BaseSparseNDArray) and value.stype == self._stype:
            value.copyto(self)
        else:
            v = value._dense() if isinstance(value, BaseSparseNDArray) else (
                value._data if isinstance(value, NDArray) else value)
            self._data = self._ctx.xp.broadcast_to(self._ctx.xp.asarray(v, self.dtype),
                                                   self._shape)

    def __repr__(self):
        shape = "x".join(str(s) for s in self._shape)
        return f"\n<{type(self).__name__} {shape} @{self._ctx}>"

    __str__ = __repr__

    # ---- arithmetic that keeps the storage type (the rest falls back to dense) -------------
    def _scaled(self, f):
        """A new array of this storage with values ``f(values)`` (same stored rows)."""
        return type(self)(f(self._values), [a.copy() for a in self._aux], self._shape,
                          self._ctx)

    def __mul__(self, other):
        if isinstance(other, (int, float, np.number)) and not on_tape(self):
            return self._scaled(lambda v: (v * other).astype(v.dtype))
        return NDArray.__mul__(self, other)

    __rmul__ = __mul__

    def __truediv__(self, other):
        if isinstance(other, (int, float, np.number)) and not on_tape(self):
            return self._scaled(lambda v: (v / other).astype(v.dtype))
        return NDArray.__truediv__(self, other)

    def __neg__(self):
        if on_tape(self):
            return NDArray.__neg__(self)
        return self._scaled(lambda v: -v)

    def __len__(self):
        return self._shape[0]

    def __add__(self, other):
        if isinstance(other, BaseSparseNDArray) and other.stype == self._stype \
                and not on_tape(self, other):
            return _SPARSE_BINARY["add"](self, other)
        return NDArray.__add__(self, other)

    def __sub__(self, other):
        if isinstance(other, BaseSparseNDArray) and other.stype == self._stype \
                and not on_tape(self, other):
            return _SPARSE_BINARY["add"](self, -other)
        return NDArray.__sub__(self, other)


    def _assign(self, res):
        """In-place result: the components of ``res`` (sparse) or its re-sparsified values."""
        if isinstance(res, BaseSparseNDArray) and res.stype == self._stype:
            self._set_components(res._values.astype(self._values.dtype, copy=False), res._aux)
        else:
            self._data = res._data.astype(self._values.dtype, copy=False)
        return self

    def __iadd__(self, other):
        return self._assign(self + other)

    def __isub__(self, other):
        return self._assign(self - other)

    def __imul__(self, other):
        return self._assign(self * other)

    def __itruediv__(self, other):
        return self._assign(self / other)


_SPARSE_BINARY = {}   # filled by ops.py: sparse kernels of binary ops


def on_tape(*arrays):
    """Whether autograd records and one of ``arrays`` is a variable or computed on the tape:
    the sparse kernels do not record, so such calls take the dense registry ops (the result
    is dense, its gradient reaches the sparse variable)."""
    return STATE.recording and any(
        isinstance(a, NDArray) and (a._grad_req is not None or a._node is not None)
        for a in arrays)


def _host(a):
    return a if isinstance(a, np.ndarray) else a.get()


class RowSparseNDArray(BaseSparseNDArray):
    """Rows ``indices`` (sorted, unique, int64) of a (D0, D1, ...) array hold ``data``
    (len(indices), D1, ...); every other row is zero."""

    __slots__ = ()
    _stype = "row_sparse"

    def _todense(self, xp):
        out = xp.zeros(self._shape, self._values.dtype)
        out[self._aux[0]] = self._values
        return out

    @staticmethod
    def _from_dense(xp, dense):
        dense = xp.asarray(dense)
        flat = dense.reshape(dense.shape[0], -1) if dense.ndim else dense.reshape(1, 1)
        rows = xp.nonzero(xp.any(flat != 0, axis=1))[0].astype(IDX)
        return dense[rows].copy(), (rows,)

    def _note_rows(self, rows):
        """Rows a sparse-gradient lookup touched (``Embedding(sparse_grad=True)`` while
        recording): the next gradient written here stores them even where it is zero, as
        MXNet's row_sparse gradient holds every looked-up row."""
        xp = self._ctx.xp
        rows = xp.unique(xp.asarray(rows).reshape(-1)).astype(IDX)
        self._rows_hint = rows if self._rows_hint is None else xp.union1d(self._rows_hint,
                                                                         rows)

    def _store_dense(self, xp, dense, req):
        values, (rows,) = self._from_dense(xp, dense)
        hint, self._rows_hint = self._rows_hint, None
        if req == "add":
            hint = self._aux[0] if hint is None else xp.union1d(hint, self._aux[0])
        if hint is not None:
            rows = xp.union1d(rows, hint).astype(IDX)
            values = dense[rows].copy()
        self._set_components(values, (rows,))

    def __getitem__(self, key):
        if isinstance(key, slice) and key == slice(None):
            return self
        raise MXNetError("RowSparseNDArray supports only x[:] indexing; use "
                         "tostype('default') first")


class CSRNDArray(BaseSparseNDArray):
    """A 2-D compressed sparse row array: row i's values are ``data[indptr[i]:indptr[i+1]]``
    at columns ``indices[indptr[i]:indptr[i+1]]``."""

    __slots__ = ()
    _stype = "csr"

    @property
    def indptr(self):
        """The row pointers (shape[0] + 1,), int64."""
        return NDArray(self._aux[0], self._ctx)

    def _rows(self, xp):
        return xp.repeat(xp.arange(self._shape[0], dtype=IDX), xp.diff(self._aux[0]))

    def _todense(self, xp):
        out = xp.zeros(self._shape, self._values.dtype)
        out[self._rows(xp), self._aux[1]] = self._values
        return out

    @staticmethod
    def _from_dense(xp, dense):
        dense = xp.asarray(dense)
        if dense.ndim != 2:
            raise MXNetError(f"csr storage needs a 2-D array, got shape {dense.shape}")
        rows, cols = xp.nonzero(dense)
        indptr = xp.zeros(dense.shape[0] + 1, IDX)
        indptr[1:] = xp.cumsum(xp.bincount(rows, minlength=dense.shape[0]))
        return dense[rows, cols].copy(), (indptr, cols.astype(IDX))

    def __getitem__(self, key):
        """Rows ``x[i]`` or ``x[a:b]`` (step 1) as a CSRNDArray, as MXNet slices CSR."""
        n = self._shape[0]
        if isinstance(key, (int, np.integer)):
            key = int(key) + n if key < 0 else int(key)
            if not 0 <= key < n:
                raise IndexError(f"index {key} out of range for CSRNDArray of shape "
                                 f"{self._shape}")
            key = slice(key, key + 1)
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise MXNetError(f"CSRNDArray supports x[int] and x[a:b] row slicing, got {key!r}")
        a, b, _ = key.indices(n)
        b = max(a, b)
        ptr = self._aux[0]
        lo, hi = int(ptr[a]), int(ptr[b])
        aux = (ptr[a:b + 1] - lo, self._aux[1][lo:hi].copy())
        return CSRNDArray(self._values[lo:hi].copy(), aux, (b - a, self._shape[1]), self._ctx)
