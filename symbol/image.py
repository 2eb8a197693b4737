"""``kiln.sym.image``: MXNet 1.9's ``mx.sym.image`` namespace, graph-building functions over
the ``_image_<name>`` registry ops (``ndarray/ops/image_ops.py``).

Example::

    >>> from kiln import sym
    >>> sym.image.to_tensor(sym.var("img")).infer_shape(img=(4, 5, 3))[1]
    [(3, 4, 5)]
"""
from ..ndarray._registry import OPS
from ..ndarray.ops.image_ops import NAMES
from .sym_ops import make_sym_function as _sym

globals().update({n: _sym(OPS["_image_" + n]) for n in NAMES})
__all__ = list(NAMES)
