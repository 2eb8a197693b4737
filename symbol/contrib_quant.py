"""The int8 quantization ops of MXNet 1.9's ``sym.contrib`` (``quantize_v2``,
``quantized_conv``...): graph-building functions over the same registry ops as
``nd.contrib`` (``ndarray/contrib_quant.py`` lists the names), re-exported by
``symbol/contrib.py``.

Example::

    >>> from kiln import sym
    >>> sym.contrib.quantize_v2(sym.var("x"), out_type="int8")
"""
from ..ndarray._registry import OPS
from ..ndarray.contrib_quant import NAMES
from .sym_ops import make_sym_function as _sym

globals().update({n: _sym(OPS["_contrib_" + n]) for n in NAMES})
__all__ = list(NAMES)
