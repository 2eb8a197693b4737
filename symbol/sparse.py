"""``kiln.sym.sparse``: MXNet 1.9's ``mx.sym.sparse`` namespace.

kiln's graphs are dense (a symbol carries no storage type), so these are the ``kiln.sym``
functions MXNet also lists under ``sym.sparse``; a graph built from them computes what MXNet's
sparse graph computes, in dense storage.

Example::

    >>> x = sym.var("x")
    >>> sym.sparse.sqrt(x).list_arguments()
    ['x']
"""
from ..ndarray._registry import OPS as _OPS
from ..ndarray.sparse import fallback as _fallback
from . import _namespace as _ops
from .sym_ops import make_sym_function as _sym

dot = _ops.dot
elemwise_add = _ops.elemwise_add
elemwise_sub = _ops.elemwise_sub
# the update ops: a dense graph updates every row (nd.sparse's lazy row updates need storage)
sgd_update, sgd_mom_update = _sym(_OPS["sgd_update"]), _sym(_OPS["sgd_mom_update"])
adam_update, ftrl_update = _sym(_OPS["adam_update"]), _sym(_OPS["ftrl_update"])
adagrad_update = _sym(_OPS["_sparse_adagrad_update"])
__all__ = ["dot", "elemwise_add", "elemwise_sub", "sgd_update", "sgd_mom_update", "adam_update",
           "ftrl_update", "adagrad_update", *_fallback.install(globals(), _ops)]
