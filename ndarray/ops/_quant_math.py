"""The integer arithmetic that MXNet 1.9's quantization ops share (private helpers).

MXNet quantizes symmetrically: a float range ``[lo, hi]`` stands for ``r = max(|lo|, |hi|)``
and the integer type's range ``Q`` (127 for int8, 255 for uint8, 2**31 - 1 for int32), one
level being ``r / Q``. Float to int8 rounds half away from zero and saturates at -128 and
127 (``x * Q / r``); to uint8 it clips at 0 (oneDNN's u8 has no zero point). MXNet 1.9.1's
oneDNN paths (``quantize_v2``, ``dequantize``, the bias rescale) use ``Q + 0.5`` (127.5,
255.5: its ``kInt8Range``/``kUint8Range``) where the reference paths (``quantize``,
``requantize``, the product ranges) use the type limits; measured against MXNet 1.9.1.
Products of two quantized operands have the level ``level_a * level_b`` and accumulate in
int32, whose range is then ``level * (2**31 - 1)``.
"""
import numpy as np

from ...base import OpError

QMAX = {"int8": 127.0, "uint8": 255.0, "int32": 2147483647.0}
FP = np.float32  # MXNet computes every scale in float32


def qmax(dtype):
    """The magnitude ``Q`` of an integer type's range (int8 127, uint8 255, int32 2**31-1)."""
    name = np.dtype(dtype).name
    if name not in QMAX:
        raise OpError(f"quantized ops take int8, uint8 or int32 data, got {name}")
    return QMAX[name]


def scalar(xp, a):
    """A (1,)-shaped range input as a float32 scalar array (MXNet reads element 0)."""
    return xp.asarray(a, dtype=FP).reshape(-1)[0]


def real_range(xp, lo, hi):
    """``max(|lo|, |hi|)`` in float32."""
    return xp.maximum(xp.abs(xp.asarray(lo, FP)), xp.abs(xp.asarray(hi, FP)))


def to_int8(xp, x, r, q=127.0):
    """Float ``x`` quantized to int8 over the symmetric range ``r`` with ``q`` levels a side."""
    v = xp.asarray(x, FP) * (FP(q) / xp.asarray(r, FP))
    v = xp.sign(v) * xp.floor(xp.abs(v) + FP(0.5))      # ties away from zero
    return xp.clip(v, -128.0, 127.0).astype(np.int8)


def to_uint8(xp, x, r, q=255.0):
    """Float ``x`` quantized to uint8 over ``[0, r]``: negatives become 0."""
    v = xp.floor(xp.asarray(x, FP) * (FP(q) / xp.asarray(r, FP)) + FP(0.5))
    return xp.clip(v, 0.0, 255.0).astype(np.uint8)


def quantize_to(xp, x, r, out_type, half=False):
    """``x`` to ``out_type`` over ``r``; ``half``: oneDNN's Q + 0.5 levels."""
    if out_type == "uint8":
        return to_uint8(xp, x, r, 255.5 if half else 255.0)
    return to_int8(xp, x, r, 127.5 if half else 127.0)


def to_float(xp, q, lo, hi, half=False):
    """Quantized ``q`` (range ``[lo, hi]``) back to float32; ``half``: oneDNN's Q + 0.5."""
    n = qmax(q.dtype) + (0.5 if half and q.dtype != np.int32 else 0.0)
    return q.astype(FP) * (real_range(xp, lo, hi) / FP(n))


def rng_out(xp, lo, hi):
    """The (1,)-shaped float32 min/max outputs."""
    return xp.asarray(lo, FP).reshape(1), xp.asarray(hi, FP).reshape(1)


def level(xp, lo, hi, dtype):
    """Float value of one quantization level of ``dtype`` over ``[lo, hi]``."""
    return real_range(xp, lo, hi) / FP(qmax(dtype))


def product_range(xp, la, lb):
    """The int32 output range of a product whose operands have levels ``la`` and ``lb``."""
    top = la * lb * FP(QMAX["int32"])
    return rng_out(xp, -top, top)


def auto_type(out_type, min_calib_range):
    """``out_type='auto'``: uint8 when a calibrated minimum is >= 0, else int8."""
    if out_type == "auto":
        return "uint8" if min_calib_range is not None and min_calib_range >= 0 else "int8"
    if out_type not in ("int8", "uint8"):
        raise OpError(f"out_type must be 'int8', 'uint8' or 'auto', got {out_type!r}")
    return out_type


def calibrated(min_calib_range, max_calib_range):
    return min_calib_range is not None and max_calib_range is not None
