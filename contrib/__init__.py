"""MXNet 1.9's ``mx.contrib`` namespace: ``contrib.amp`` (= ``kiln.amp``) and
``contrib.onnx`` (= ``kiln.onnx``, ``tools/mx_onnx.py``).

Example::

    >>> from kiln.contrib import amp
    >>> amp.init()
"""
from .. import amp
from ..tools import mx_onnx as onnx

__all__ = ["amp", "onnx"]
