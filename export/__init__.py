"""Model exchange: ONNX export/import (``kiln.export.onnx``), MXNet symbol JSON and params.

Example::

    >>> from kiln.export import onnx as kiln_onnx
    >>> kiln_onnx.export_model(sym, params, [(1, 3, 32, 32)], onnx_file_path="net.onnx")
"""

# Quantization (int8 static/dynamic, fp16): the functions shadow the submodule name on purpose,
# so ``kiln.export.quantize(...)`` is the call; ``from kiln.export.quantize import ...`` still
# reaches the module.
from .quantize import QuantReport, quantize, quantize_block  # noqa: F401
