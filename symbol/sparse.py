"""``kiln.sym.sparse``: MXNet 1.9's ``mx.sym.sparse`` namespace.

kiln's graphs are dense (a symbol carries no storage type), so these are the ``kiln.sym``
functions MXNet also lists under ``sym.sparse``; a graph built from them computes what MXNet's
sparse graph computes, in dense storage.

Example::

    >>> x = sym.var("x")
    >>> sym.sparse.sqrt(x).list_arguments()
    ['x']
"""
from ..ndarray.sparse import fallback as _fallback
from . import _namespace as _ops

dot = _ops.dot
elemwise_add = _ops.elemwise_add
elemwise_sub = _ops.elemwise_sub
__all__ = ["dot", "elemwise_add", "elemwise_sub", *_fallback.install(globals(), _ops)]
