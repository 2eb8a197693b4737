"""Model exchange: ONNX export/import (``kiln.export.onnx``), MXNet symbol JSON and params.

Example::

    >>> from kiln.export import onnx as kiln_onnx
    >>> kiln_onnx.export_model(sym, params, [(1, 3, 32, 32)], onnx_file_path="net.onnx")
"""
