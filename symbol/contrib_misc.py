"""``hawkesll``, ``fft``/``ifft``, ``count_sketch``, the ``backward_*`` gradient ops and
``getnnz``/``edge_id`` of MXNet 1.9's ``sym.contrib``: graph-building functions over the same
registry ops as ``nd.contrib`` (``ndarray/contrib_misc.py`` lists the names), re-exported by
``symbol/contrib.py``. In a graph, getnnz and edge_id see the dense form of their data.

Example::

    >>> from kiln import sym
    >>> sym.contrib.fft(sym.var("x")).infer_shape(x=(2, 3))[1]
    [(2, 6)]
"""
from ..ndarray._registry import OPS
from ..ndarray.contrib_misc import NAMES
from .sym_ops import make_sym_function as _sym

globals().update({n: _sym(OPS["_contrib_" + n]) for n in NAMES})
__all__ = list(NAMES)
