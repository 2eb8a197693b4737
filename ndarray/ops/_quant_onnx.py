"""ONNX lowerings shared by the quantization ops (private helpers).

MXNet's symmetric quantization is ONNX's QuantizeLinear / DequantizeLinear with zero point 0
and scale ``max(|lo|, |hi|) / Q``; the int32 products are ConvInteger / MatMulInteger. Both
saturate at -128 and 127; MXNet rounds ties away from zero where QuantizeLinear rounds them
to even (only an exact tie, x * Q / r = k + 0.5, can differ).
"""
import numpy as np

from ._quant_math import QMAX


def scalar(g, name):
    """A (1,)-shaped range input as a 0-d tensor (QuantizeLinear's per-tensor scale)."""
    return g.op("Reshape", name, g.ints([]))


def real_range(g, lo, hi):
    """``max(|lo|, |hi|)`` as a 0-d float32 tensor."""
    return scalar(g, g.op("Max", g.op("Abs", lo), g.op("Abs", hi)))


def fconst(g, v):
    return g.const(np.asarray(v, np.float32))


def quantize(g, x, r, out_type, half=False):
    """QuantizeLinear of float32 ``x`` over the symmetric range ``r`` (0-d) to ``out_type``
    (``half``: oneDNN's Q + 0.5 levels)."""
    q = QMAX[out_type] + (0.5 if half else 0.0)
    zp = g.const(np.zeros((), np.dtype(out_type)))
    return g.op("QuantizeLinear", x, g.op("Div", r, fconst(g, q)), zp)


def dequantize(g, q, r, dtype, half=False):
    """DequantizeLinear of ``q`` (int8, uint8 or int32) with range ``r`` (0-d) to float32."""
    zp = g.const(np.zeros((), np.dtype(dtype)))
    n = QMAX[np.dtype(dtype).name] + (0.5 if half else 0.0)
    return g.op("DequantizeLinear", q, g.op("Div", r, fconst(g, n)), zp)


def range_out(g, lo, hi):
    """The (1,)-shaped min/max outputs from 0-d or (1,) float32 tensors."""
    return g.op("Reshape", lo, g.ints([1])), g.op("Reshape", hi, g.ints([1]))


def sym_range(g, r):
    """``(-r, r)`` as (1,)-shaped outputs."""
    return range_out(g, g.op("Neg", r), r)


def product_range(g, ranges, dtypes):
    """The int32 output range of a product of operands with ranges ``ranges`` (pairs of names)
    and integer dtypes ``dtypes``: ``prod(r_i / Q_i) * (2**31 - 1)``."""
    top = fconst(g, QMAX["int32"])
    for (lo, hi), dt in zip(ranges, dtypes):
        top = g.op("Mul", top, g.op("Div", real_range(g, lo, hi),
                                      fconst(g, QMAX[np.dtype(dt).name])))
    return sym_range(g, top)
