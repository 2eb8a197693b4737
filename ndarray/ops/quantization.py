"""MXNet 1.9's quantize / dequantize ops (``nd.contrib.quantize``, ``quantize_v2``,
``quantize_asym``, ``dequantize``, ``requantize``, ``calibrate_entropy``).

Each quantized tensor travels with its float range as two (1,)-shaped float32 arrays
``min, max``; the math is in ``_quant_math.py`` (symmetric ranges, int8 rounding half away
from zero and saturating at +-127, uint8 clipping at 0). These ops are forward-only in MXNet
(its quantization flow calibrates a trained float model), so none has a gradient. The ONNX
lowerings are QuantizeLinear / DequantizeLinear with zero point 0 (``_quant_onnx.py``).
Outputs were checked against MXNet 1.9.1 (tests/test_quantization_ops.py), except
``quantize_asym``, which crashes MXNet 1.9.1's CPU build: it follows its documented equation.
"""
import numpy as np

from ...base import OpError
from .._registry import Aval, Sample, register
from . import _quant_math as qm
from . import _quant_onnx as qo
from ._samples import rnd

NO_GRAD = "MXNet's quantization ops are forward-only: integer outputs have no gradient"
F32 = np.dtype(np.float32)
R1 = Aval((1,), F32)


def _ranges(lo, hi):
    return np.array([lo], np.float32), np.array([hi], np.float32)


def _q8(*shape, lo=-127, hi=128, dtype=np.int8, salt=0):
    return np.random.default_rng(100 + salt).integers(lo, hi, shape).astype(dtype)


# ---- quantize (v1): the range is given as arrays ---------------------------------------------
def _quantize_kernel(xp, data, min_range, max_range, out_type="uint8"):
    lo, hi = qm.scalar(xp, min_range), qm.scalar(xp, max_range)
    r = qm.real_range(xp, lo, hi)
    if out_type == "int8":
        return (qm.to_int8(xp, data, r),) + qm.rng_out(xp, -r, r)
    if out_type != "uint8":
        raise OpError(f"quantize: out_type must be 'int8' or 'uint8', got {out_type!r}")
    return (qm.to_uint8(xp, data, r),) + qm.rng_out(xp, lo, hi)


def _quantize_infer(data, min_range, max_range, out_type="uint8"):
    return Aval(tuple(data.shape), np.dtype(out_type)), R1, R1


def _quantize_onnx(g, i, a, o, out_type="uint8"):
    r = qo.real_range(g, i[1], i[2])
    q = qo.quantize(g, i[0], r, out_type)
    return (q,) + (qo.sym_range(g, r) if out_type == "int8" else (i[1], i[2]))


def _quantize_ref(data, min_range, max_range, out_type="uint8"):
    return _quantize_kernel(np, data.astype(np.float32), min_range, max_range, out_type)


_contrib_quantize = register(
    "_contrib_quantize", _quantize_kernel, inputs=("data", "min_range", "max_range"),
    attrs={"out_type": "uint8"}, num_outputs=3, infer=_quantize_infer, onnx=_quantize_onnx,
    no_grad=NO_GRAD, ref=_quantize_ref,
    samples=[Sample(rnd(3, 4, lo=-3, hi=4), *_ranges(-3, 4), out_type="int8"),
             Sample(rnd(3, 4, lo=-3, hi=4), *_ranges(-1, 1.5), out_type="int8"),
             Sample(rnd(2, 5, lo=-2, hi=2), *_ranges(-1, 1.5))],
    doc="""Quantize float ``data`` with the range ``[min_range, max_range]`` ((1,) arrays).

    ``out_type='uint8'`` (default): ``x * 255 / r`` rounded and clipped to [0, 255] (MXNet
    1.9.1's CPU build measures it so, not the shifted formula of its docstring).
    ``'int8'``: symmetric, ``x * 127 / r`` rounded (ties away from zero) and saturated to
    [-128, 127], ``r = max(|min|, |max|)``. Returns ``[out (like data), min_out (1,),
    max_out (1,)]``.

    Example::

        >>> q, lo, hi = nd.contrib.quantize(x, nd.array([-1]), nd.array([1]), out_type='int8')
    """)


# ---- quantize_v2: the range comes from the data or from calibration --------------------------
def _v2_range(xp, data, out_type, min_calib_range, max_calib_range):
    if qm.calibrated(min_calib_range, max_calib_range):
        return qm.FP(min_calib_range), qm.FP(max_calib_range)
    return xp.min(data).astype(qm.FP), xp.max(data).astype(qm.FP)


def _quantize_v2_kernel(xp, data, out_type="int8", min_calib_range=None, max_calib_range=None):
    ot = qm.auto_type(out_type, min_calib_range)
    lo, hi = _v2_range(xp, data, ot, min_calib_range, max_calib_range)
    r = qm.real_range(xp, lo, hi)
    q = qm.quantize_to(xp, data, r, ot, half=True)
    return (q,) + (qm.rng_out(xp, -r, r) if ot == "int8" else qm.rng_out(xp, lo, hi))


def _quantize_v2_infer(data, out_type="int8", min_calib_range=None, max_calib_range=None):
    ot = qm.auto_type(out_type, min_calib_range)
    return Aval(tuple(data.shape), np.dtype(ot)), R1, R1


def _quantize_v2_onnx(g, i, a, o, out_type="int8", min_calib_range=None, max_calib_range=None):
    ot = qm.auto_type(out_type, min_calib_range)
    if qm.calibrated(min_calib_range, max_calib_range):
        lo, hi = qo.fconst(g, min_calib_range), qo.fconst(g, max_calib_range)
    else:
        lo = g.op("ReduceMin", i[0], keepdims=0)
        hi = g.op("ReduceMax", i[0], keepdims=0)
    r = qo.scalar(g, g.op("Max", g.op("Abs", lo), g.op("Abs", hi)))
    q = qo.quantize(g, i[0], r, ot, half=True)
    return (q,) + (qo.sym_range(g, r) if ot == "int8" else qo.range_out(g, lo, hi))


_contrib_quantize_v2 = register(
    "_contrib_quantize_v2", _quantize_v2_kernel,
    attrs={"out_type": "int8", "min_calib_range": None, "max_calib_range": None},
    num_outputs=3, infer=_quantize_v2_infer, onnx=_quantize_v2_onnx, no_grad=NO_GRAD,
    ref=lambda data, **a: _quantize_v2_kernel(np, data.astype(np.float32), **a),
    samples=[Sample(rnd(3, 5, lo=-2, hi=3)), Sample(rnd(3, 5, lo=-2, hi=3), out_type="uint8"),
             Sample(rnd(3, 5, lo=0, hi=3), out_type="auto"),
             Sample(rnd(3, 5, lo=-2, hi=3), min_calib_range=-1.0, max_calib_range=1.5),
             Sample(rnd(3, 5, lo=-2, hi=3), out_type="auto", min_calib_range=0.5,
                    max_calib_range=2.5)],
    doc="""Quantize float ``data`` over its own range (``min(data), max(data)``) or the
    calibrated ``[min_calib_range, max_calib_range]``.

    int8: ``x * 127.5 / r`` rounded and saturated to [-128, 127], ``r = max(|min|, |max|)``,
    range ``(-r, r)``; uint8: ``x * 255.5 / r`` rounded and clipped to [0, 255], the range as
    found (MXNet 1.9.1's oneDNN scales). ``'auto'``
    is uint8 when ``min_calib_range >= 0``, else int8. Returns ``[out, min (1,), max (1,)]``.

    Example::

        >>> q, lo, hi = nd.contrib.quantize_v2(nd.array([[-1.5, 0.3, 2.0]]))  # [[-95 19 127]]
    """)


# ---- quantize_asym: uint8 with a shift ---------------------------------------------------------
def _asym_kernel(xp, data, min_calib_range=None, max_calib_range=None):
    if qm.calibrated(min_calib_range, max_calib_range):
        lo, hi = qm.FP(min_calib_range), qm.FP(max_calib_range)
    else:
        lo, hi = xp.min(data).astype(qm.FP), xp.max(data).astype(qm.FP)
    scale = qm.FP(255.0) / (hi - lo)
    shift = qm.FP(255.0) - hi * scale
    v = xp.clip(xp.asarray(data, qm.FP) * scale + shift + qm.FP(0.5), 0.0, 255.0)
    return v.astype(np.uint8), scale.reshape(1), shift.reshape(1)


def _asym_infer(data, min_calib_range=None, max_calib_range=None):
    return Aval(tuple(data.shape), np.dtype(np.uint8)), R1, R1


def _asym_onnx(g, i, a, o, min_calib_range=None, max_calib_range=None):
    if qm.calibrated(min_calib_range, max_calib_range):
        lo, hi = qo.fconst(g, min_calib_range), qo.fconst(g, max_calib_range)
    else:
        lo, hi = g.op("ReduceMin", i[0], keepdims=0), g.op("ReduceMax", i[0], keepdims=0)
    scale = g.op("Div", qo.fconst(g, 255.0), g.op("Sub", hi, lo))
    shift = g.op("Sub", qo.fconst(g, 255.0), g.op("Mul", hi, scale))
    v = g.op("Add", g.op("Add", g.op("Mul", i[0], scale), shift), qo.fconst(g, 0.5))
    v = g.op("Clip", v, qo.fconst(g, 0.0), qo.fconst(g, 255.0))
    return (g.op("Cast", v, to=g.onnx_dtype(np.uint8)),) + qo.range_out(g, scale, shift)


_contrib_quantize_asym = register(
    "_contrib_quantize_asym", _asym_kernel,
    attrs={"min_calib_range": None, "max_calib_range": None}, num_outputs=3,
    infer=_asym_infer, onnx=_asym_onnx, no_grad=NO_GRAD,
    ref=lambda data, **a: _asym_kernel(np, data.astype(np.float32), **a),
    samples=[Sample(rnd(3, 4, lo=-2, hi=3)),
             Sample(rnd(3, 4, lo=-2, hi=3), min_calib_range=-1.0, max_calib_range=2.5)],
    doc="""Quantize float ``data`` to uint8 with a scale and a shift (MXNet ``quantize_asym``):
    ``out = clip(x * scale + shift + 0.5, 0, 255)``, ``scale = 255 / (max - min)``,
    ``shift = 255 - max * scale``, the range being the data's or the calibrated one. Returns
    ``[out (uint8, like data), scale (1,), shift (1,)]``.

    Example::

        >>> q, scale, shift = nd.contrib.quantize_asym(nd.array([[-1.0, 0.0, 3.0]]))
    """)


# ---- dequantize ---------------------------------------------------------------------------------
def _dequantize_kernel(xp, data, min_range, max_range, out_type="float32"):
    if np.dtype(data.dtype).name not in ("int8", "uint8"):
        raise OpError(f"dequantize: data must be uint8 or int8, got {np.dtype(data.dtype).name}")
    return qm.to_float(xp, data, qm.scalar(xp, min_range), qm.scalar(xp, max_range),
                       half=True)


def _dequantize_infer(data, min_range, max_range, out_type="float32"):
    return Aval(tuple(data.shape), F32)


def _dequantize_onnx(g, i, a, o, out_type="float32"):
    return qo.dequantize(g, i[0], qo.real_range(g, i[1], i[2]), a[0].dtype, half=True)


_contrib_dequantize = register(
    "_contrib_dequantize", _dequantize_kernel, inputs=("data", "min_range", "max_range"),
    attrs={"out_type": "float32"}, infer=_dequantize_infer, onnx=_dequantize_onnx,
    no_grad=NO_GRAD, ref=lambda d, lo, hi, **a: _dequantize_kernel(np, d, lo, hi),
    samples=[Sample(_q8(3, 5), *_ranges(-3, 4)),
             Sample(_q8(3, 5, lo=0, hi=256, dtype=np.uint8), *_ranges(0.5, 4))],
    doc="""Dequantize int8/uint8 ``data`` with range ``[min_range, max_range]`` to float32:
    ``data * max(|min|, |max|) / Q`` (Q = 127.5 for int8, 255.5 for uint8: MXNet 1.9.1's
    oneDNN scales, measured). Output: like data.

    Example::

        >>> nd.contrib.dequantize(q, lo, hi)
    """)


# ---- requantize: int32 to int8/uint8 ------------------------------------------------------------
def _requantize_kernel(xp, data, min_range, max_range, out_type="int8", min_calib_range=None,
                       max_calib_range=None):
    ot = qm.auto_type(out_type, min_calib_range)
    real = qm.to_float(xp, data.astype(np.int32), qm.scalar(xp, min_range),
                       qm.scalar(xp, max_range))
    if qm.calibrated(min_calib_range, max_calib_range):
        lo, hi = qm.FP(min_calib_range), qm.FP(max_calib_range)
    else:
        lo, hi = real.min(), real.max()
    r = qm.real_range(xp, lo, hi)
    lo_out = -r if ot == "int8" else qm.FP(0.0)
    return (qm.quantize_to(xp, real, r, ot),) + qm.rng_out(xp, lo_out, r)


def _requantize_infer(data, min_range, max_range, out_type="int8", min_calib_range=None,
                      max_calib_range=None):
    return Aval(tuple(data.shape), np.dtype(qm.auto_type(out_type, min_calib_range))), R1, R1


def _requantize_onnx(g, i, a, o, out_type="int8", min_calib_range=None, max_calib_range=None):
    ot = qm.auto_type(out_type, min_calib_range)
    real = qo.dequantize(g, i[0], qo.real_range(g, i[1], i[2]), np.int32)
    if qm.calibrated(min_calib_range, max_calib_range):
        lo, hi = qo.fconst(g, min_calib_range), qo.fconst(g, max_calib_range)
    else:
        lo, hi = g.op("ReduceMin", real, keepdims=0), g.op("ReduceMax", real, keepdims=0)
    r = qo.scalar(g, g.op("Max", g.op("Abs", lo), g.op("Abs", hi)))
    q = qo.quantize(g, real, r, ot)
    return (q,) + (qo.sym_range(g, r) if ot == "int8" else qo.range_out(g, qo.fconst(g, 0.0), r))


_contrib_requantize = register(
    "_contrib_requantize", _requantize_kernel, inputs=("data", "min_range", "max_range"),
    attrs={"out_type": "int8", "min_calib_range": None, "max_calib_range": None},
    num_outputs=3, infer=_requantize_infer, onnx=_requantize_onnx, no_grad=NO_GRAD,
    ref=lambda d, lo, hi, **a: _requantize_kernel(np, d, lo, hi, **a),
    samples=[Sample(_q8(3, 5, lo=-2**20, hi=2**20, dtype=np.int32), *_ranges(-100, 100)),
             Sample(_q8(3, 5, lo=-2**20, hi=2**20, dtype=np.int32), *_ranges(-100, 100),
                    min_calib_range=-0.01, max_calib_range=0.02),
             Sample(_q8(3, 5, lo=0, hi=2**20, dtype=np.int32), *_ranges(-100, 100),
                    out_type="auto", min_calib_range=0.0, max_calib_range=0.02),
             Sample(_q8(3, 5, lo=-2**20, hi=2**20, dtype=np.int32), *_ranges(-100, 100),
                    out_type="uint8")],
    doc="""Requantize int32 ``data`` (range ``[min_range, max_range]`` over 2**31 - 1
    levels) to int8 (or uint8) over the calibrated range, or over the range its values
    actually take. Returns ``[out, min (1,), max (1,)]``.

    Example::

        >>> q8, lo8, hi8 = nd.contrib.requantize(acc32, lo32, hi32)
    """)
