"""The int8 quantization ops of MXNet 1.9's ``nd.contrib`` (``quantize_v2``, ``dequantize``,
``quantized_conv``...), re-exported by ``ndarray/contrib.py``: each is a registry op named
``_contrib_<name>`` (``ops/quantization.py``, ``ops/quantized_nn.py``,
``ops/quantized_elem.py``, ``ops/quant_calib.py``), so ``nd.contrib.X``, ``sym.contrib.X`` and
``F.contrib.X`` are one definition.

Example::

    >>> from kiln import nd
    >>> q, lo, hi = nd.contrib.quantize_v2(nd.array([[-1.5, 0.3, 2.0]]))
"""
from ._registry import OPS

NAMES = ("quantize", "quantize_v2", "quantize_asym", "dequantize", "requantize",
         "calibrate_entropy", "quantized_conv", "quantized_fully_connected",
         "quantized_pooling", "quantized_act", "quantized_flatten", "quantized_concat",
         "quantized_elemwise_add", "quantized_elemwise_mul", "quantized_embedding",
         "quantized_batch_norm")

globals().update({n: OPS["_contrib_" + n].func for n in NAMES})
__all__ = list(NAMES)
