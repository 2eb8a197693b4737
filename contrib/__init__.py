"""MXNet 1.9's ``mx.contrib`` namespace over the kiln modules that hold each part:
``contrib.amp`` (= ``kiln.amp``), ``contrib.onnx`` (= ``kiln.onnx``, ``tools/mx_onnx.py``),
``contrib.nd``/``contrib.ndarray`` (= ``kiln.nd.contrib``) and ``contrib.sym``/
``contrib.symbol`` (= ``kiln.sym.contrib``).

Example::

    >>> from kiln.contrib import amp
    >>> amp.init()
"""
from .. import amp
from ..ndarray import contrib as ndarray
from ..symbol import contrib as symbol
from ..tools import mx_onnx as onnx

nd, sym = ndarray, symbol

__all__ = ["amp", "onnx", "nd", "ndarray", "sym", "symbol"]
