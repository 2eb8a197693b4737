"""The detection and vision ops of MXNet 1.9's ``sym.contrib`` (``box_nms``, ``ROIAlign``,
``MultiBoxPrior``...): graph-building functions over the same registry ops as
``nd.contrib`` (``ndarray/contrib_vision.py`` lists the names), re-exported by
``symbol/contrib.py``.

Example::

    >>> from kiln import sym
    >>> sym.contrib.box_nms(sym.var("dets"), overlap_thresh=0.5)
"""
from ..ndarray._registry import ALIASES, OPS
from ..ndarray.contrib_vision import NAMES
from .sym_ops import make_sym_function as _sym

globals().update({n: _sym(OPS[ALIASES.get("_contrib_" + n, "_contrib_" + n)]) for n in NAMES})
__all__ = list(NAMES)
