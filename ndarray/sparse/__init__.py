"""``nd.sparse``: CSR and row_sparse arrays (MXNet 1.9's ``mxnet.ndarray.sparse``).

See ``arrays.py`` for the representation and the storage fallback.

Example::

    >>> c = nd.sparse.csr_matrix(([1., 2.], [0, 2], [0, 1, 2]), shape=(2, 3))
    >>> c.stype, c[1].asnumpy()
    ('csr', array([[0., 0., 2.]], dtype=float32))
"""
import numpy as np

from ...base import NotSupportedForSparseNDArray, integer_types, numeric_types  # noqa: F401
from ...device import Context, current_context  # noqa: F401  (MXNet's module imports them)
from ..ndarray import NDArray, register_storage
from ..ops import _namespace as _ops
from ..ops import creation as _creation
from . import fallback as _fallback
from .arrays import BaseSparseNDArray, CSRNDArray, RowSparseNDArray
from .creation import array, csr_matrix, empty, from_dense, row_sparse_array, zeros
from .ops import add, cast_storage, dot, elemwise_add, elemwise_sub, retain, subtract
from .updates import adagrad_update, adam_update, ftrl_update, sgd_mom_update, sgd_update

register_storage(from_dense)
_creation.SPARSE_ZEROS[0] = zeros   # nd.zeros(shape, stype='csr') & co.
mx_real_t = np.float32      # MXNet's default dtype, as its sparse module exports it

__all__ = ["BaseSparseNDArray", "CSRNDArray", "RowSparseNDArray", "array", "csr_matrix",
           "empty", "row_sparse_array", "zeros", "add", "cast_storage", "dot", "elemwise_add",
           "elemwise_sub", "retain", "subtract", "NDArray", "adagrad_update", "adam_update",
           "ftrl_update", "sgd_mom_update", "sgd_update",
           *_fallback.install(globals(), _ops)]
