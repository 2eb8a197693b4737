"""MXNet 1.9's int8 shape, pooling and elementwise ops (``nd.contrib.quantized_pooling``,
``quantized_act``, ``quantized_flatten``, ``quantized_concat``, ``quantized_elemwise_add``,
``quantized_elemwise_mul``, ``quantized_embedding``, ``quantized_batch_norm``).

Each takes int8/uint8 data with its float range ((1,) float32 ``min, max``) and returns
``[out, min_out, max_out]``; the math is in ``_quant_math.py``. Forward-only, as MXNet's;
checked against MXNet 1.9.1 in tests/test_quantization_ops.py. MXNet 1.9.1's CPU build is
wrong in two places that kiln does not follow: ``quantized_act`` on uint8 data returns int8
(the bytes reinterpreted; kiln's ReLU of uint8 is the identity) and ``quantized_elemwise_mul``
fails for NDArrays (its shape inference clears the outputs); kiln follows its source's math.
"""
import numpy as np

from ...base import OpError
from .._registry import Aval, Sample, register
from . import _quant_math as qm
from .nn_basic import _indices
from .pool import _pool_infer, _pool_kernel
from .quantization import NO_GRAD, R1, _q8, _ranges

NO_ONNX = ("no direct ONNX operator on int8 tensors with MXNet's rounding: export the float "
           "model and quantize it with `kiln quantize` (onnxruntime's QDQ tools)")


def _pass_ranges(xp, lo, hi):
    return qm.rng_out(xp, qm.scalar(xp, lo), qm.scalar(xp, hi))


# ---- quantized_pooling -----------------------------------------------------------------------
def _qpool_kernel(xp, data, min_data, max_data, **attrs):
    y = _pool_kernel(xp, data.astype(np.float64), **attrs)
    if attrs.get("pool_type", "max") not in ("max", "avg"):
        raise OpError("quantized_pooling: pool_type must be 'max' or 'avg'")
    return (xp.rint(y).astype(data.dtype),) + _pass_ranges(xp, min_data, max_data)


def _qpool_infer(data, min_data, max_data, **attrs):
    return Aval(_pool_infer(data, **attrs).shape, np.dtype(data.dtype)), R1, R1


_POOL_ATTRS = {"kernel": (), "pool_type": "max", "global_pool": False, "cudnn_off": False,
               "pooling_convention": "valid", "stride": (), "pad": (), "p_value": None,
               "count_include_pad": None, "layout": None}
_contrib_quantized_pooling = register(
    "_contrib_quantized_pooling", _qpool_kernel, inputs=("data", "min_data", "max_data"),
    attrs=_POOL_ATTRS, num_outputs=3, infer=_qpool_infer, no_grad=NO_GRAD, no_onnx=NO_ONNX,
    ref=lambda d, lo, hi, **a: _qpool_kernel(np, d, lo, hi, **a),
    samples=[Sample(_q8(1, 3, 4, 4), *_ranges(-2, 2), kernel=(2, 2), stride=(2, 2)),
             Sample(_q8(1, 2, 5, 5, lo=0, hi=256, dtype=np.uint8), *_ranges(0, 2),
                    kernel=(3, 3), pad=(1, 1), pool_type="avg"),
             Sample(_q8(1, 2, 3, 3), *_ranges(-1, 1), kernel=(1, 1), global_pool=True,
                    pool_type="avg")],
    doc="""Max or average pooling of int8/uint8 ``data`` (averages rounded to nearest); the
    range passes through. Attributes as Pooling's. Returns ``[out, min, max]``.

    Example::

        >>> y, lo, hi = nd.contrib.quantized_pooling(q, qlo, qhi, kernel=(2, 2), stride=(2, 2))
    """)


# ---- quantized_act ---------------------------------------------------------------------------
def _qact_kernel(xp, data, min_data, max_data, act_type="relu"):
    if act_type != "relu":
        raise OpError(f"quantized_act: only act_type='relu' is quantized (MXNet's too), got "
                      f"{act_type!r}")
    y = data if data.dtype == np.uint8 else xp.maximum(data, 0).astype(data.dtype)
    return (y,) + _pass_ranges(xp, min_data, max_data)


_contrib_quantized_act = register(
    "_contrib_quantized_act", _qact_kernel, inputs=("data", "min_data", "max_data"),
    attrs={"act_type": "relu"}, num_outputs=3,
    infer=lambda d, lo, hi, **a: (Aval(tuple(d.shape), np.dtype(d.dtype)), R1, R1),
    onnx=lambda g, i, a, o, **k: (
        g.op("Cast", g.op("Relu", g.op("Cast", i[0], to=g.onnx_dtype(np.float32))),
             to=g.onnx_dtype(a[0].dtype)), i[1], i[2]),
    no_grad=NO_GRAD, ref=lambda d, lo, hi, **a: _qact_kernel(np, d, lo, hi, **a),
    samples=[Sample(_q8(2, 3, 4), *_ranges(-2, 2)),
             Sample(_q8(2, 5, lo=0, hi=256, dtype=np.uint8), *_ranges(0, 2))],
    doc="""ReLU of int8/uint8 ``data``; the range passes through. Returns ``[out, min, max]``.

    Example::

        >>> y, lo, hi = nd.contrib.quantized_act(q, qlo, qhi, act_type='relu')
    """)


# ---- quantized_flatten -----------------------------------------------------------------------
def _qflat_kernel(xp, data, min_data, max_data):
    n = data.shape[0] if data.ndim else 1
    return (data.reshape(n, -1 if n else int(np.prod(data.shape[1:]))),) + \
        _pass_ranges(xp, min_data, max_data)


_contrib_quantized_flatten = register(
    "_contrib_quantized_flatten", _qflat_kernel, inputs=("data", "min_data", "max_data"),
    num_outputs=3,
    infer=lambda d, lo, hi: (Aval((d.shape[0], int(np.prod(d.shape[1:]))), np.dtype(d.dtype)),
                             R1, R1),
    onnx=lambda g, i, a, o: (g.op("Flatten", i[0], axis=1), i[1], i[2]),
    no_grad=NO_GRAD, ref=lambda d, lo, hi: _qflat_kernel(np, d, lo, hi),
    samples=[Sample(_q8(2, 3, 4), *_ranges(-2, 2))],
    doc="""Flatten int8/uint8 ``data`` to ``(N, rest)``; the range passes through.

    Example::

        >>> y, lo, hi = nd.contrib.quantized_flatten(q, qlo, qhi)
    """)


# ---- quantized_concat ------------------------------------------------------------------------
def _qconcat_split(arrays, num_args):
    n = int(num_args) if num_args is not None else len(arrays) // 3
    if len(arrays) != 3 * n:
        raise OpError(f"quantized_concat: expected {n} arrays and {2 * n} ranges, got "
                      f"{len(arrays)} inputs")
    return arrays[:n], [(arrays[n + 2 * k], arrays[n + 2 * k + 1]) for k in range(n)]


def _qconcat_kernel(xp, *data, num_args=None, dim=1):
    arrays, ranges = _qconcat_split(data, num_args)
    lo = min(qm.scalar(xp, a) for a, _ in ranges)
    hi = max(qm.scalar(xp, b) for _, b in ranges)
    r = qm.real_range(xp, lo, hi)
    parts = []
    for x, (a, b) in zip(arrays, ranges):
        ri = qm.real_range(xp, qm.scalar(xp, a), qm.scalar(xp, b))
        # an input with a narrower range is rescaled into the output's levels
        parts.append(x if ri == r else xp.rint(x.astype(qm.FP) * (ri / r)).astype(x.dtype))
    return (xp.concatenate(parts, axis=int(dim)),) + qm.rng_out(xp, lo, hi)


def _qconcat_infer(*data, num_args=None, dim=1):
    arrays, _ = _qconcat_split(data, num_args)
    shape = list(arrays[0].shape)
    shape[int(dim)] = sum(a.shape[int(dim)] for a in arrays)
    return Aval(tuple(shape), np.dtype(arrays[0].dtype)), R1, R1


_contrib_quantized_concat = register(
    "_contrib_quantized_concat", _qconcat_kernel, inputs=("*data",),
    attrs={"num_args": None, "dim": 1}, num_outputs=3, infer=_qconcat_infer, no_grad=NO_GRAD,
    no_onnx=NO_ONNX, ref=lambda *d, **a: _qconcat_kernel(np, *d, **a),
    samples=[Sample(_q8(2, 6), _q8(2, 5, salt=1), *_ranges(-2, -1), *_ranges(2, 3), num_args=2),
             Sample(_q8(2, 3), _q8(2, 3, salt=1), *_ranges(-2, 2), *_ranges(-2, 2), dim=0,
                    num_args=2)],
    doc="""Concatenate int8/uint8 arrays along ``dim``; inputs are the ``num_args`` arrays and
    then each one's ``min, max``. The output range spans all of them; an input with a
    narrower range is rescaled into it. Returns ``[out, min, max]``.

    Example::

        >>> y, lo, hi = nd.contrib.quantized_concat(a, b, alo, ahi, blo, bhi, num_args=2, dim=1)
    """)


# ---- quantized_elemwise_add / mul ------------------------------------------------------------
def _ranges4(xp, lmin, lmax, rmin, rmax):
    rl = qm.real_range(xp, qm.scalar(xp, lmin), qm.scalar(xp, lmax))
    rr = qm.real_range(xp, qm.scalar(xp, rmin), qm.scalar(xp, rmax))
    return rl, rr


QADD = 127.5


def _qadd_kernel(xp, lhs, rhs, lhs_min, lhs_max, rhs_min, rhs_max, min_calib_range=None,
                 max_calib_range=None):
    rl, rr = _ranges4(xp, lhs_min, lhs_max, rhs_min, rhs_max)
    real = qm.to_float(xp, lhs, -rl, rl, half=True) + qm.to_float(xp, rhs, -rr, rr, half=True)
    if qm.calibrated(min_calib_range, max_calib_range):
        r = qm.real_range(xp, qm.FP(min_calib_range), qm.FP(max_calib_range))
        return (qm.to_int8(xp, real, r, QADD),) + qm.rng_out(xp, qm.FP(min_calib_range),
                                                         qm.FP(max_calib_range))
    r = rl + rr
    v = xp.rint(real * (qm.FP(qm.QMAX["int32"]) / r))   # float32, as MXNet's
    return (xp.clip(v, -2147483520.0, 2147483520.0).astype(np.int32),) + qm.rng_out(xp, -r, r)


def _qadd_infer(lhs, rhs, *ranges, min_calib_range=None, max_calib_range=None):
    dt = np.int8 if qm.calibrated(min_calib_range, max_calib_range) else np.int32
    return Aval(tuple(lhs.shape), np.dtype(dt)), R1, R1


_BIN_IN = ("lhs", "rhs", "lhs_min", "lhs_max", "rhs_min", "rhs_max")
_contrib_quantized_elemwise_add = register(
    "_contrib_quantized_elemwise_add", _qadd_kernel, inputs=_BIN_IN,
    attrs={"min_calib_range": None, "max_calib_range": None}, num_outputs=3,
    infer=_qadd_infer, no_grad=NO_GRAD, no_onnx=NO_ONNX,
    ref=lambda *d, **a: _qadd_kernel(np, *d, **a),
    samples=[Sample(_q8(2, 6), _q8(2, 6, salt=1), *_ranges(-2, 2), *_ranges(-1, 3)),
             Sample(_q8(2, 6), _q8(2, 6, salt=1), *_ranges(-2, 2), *_ranges(-1, 3),
                    min_calib_range=-3.0, max_calib_range=4.0)],
    doc="""Sum of two int8/uint8 arrays with their ranges: int32 over the range
    ``r_lhs + r_rhs``, or int8 over the calibrated range. Returns ``[out, min, max]``.

    Example::

        >>> y, lo, hi = nd.contrib.quantized_elemwise_add(a, b, alo, ahi, blo, bhi)
    """)


def _qmul_kernel(xp, lhs, rhs, lhs_min, lhs_max, rhs_min, rhs_max, min_calib_range=None,
                 max_calib_range=None, enable_float_output=False):
    rl, rr = _ranges4(xp, lhs_min, lhs_max, rhs_min, rhs_max)
    prod = lhs.astype(qm.FP) * rhs.astype(qm.FP)
    ls, rs = qm.FP(127.5) / rl, qm.FP(127.5) / rr   # oneDNN's scales, as MXNet's source
    if enable_float_output:
        return prod * (qm.FP(1.0) / ls / rs)
    if qm.calibrated(min_calib_range, max_calib_range):
        r = qm.real_range(xp, qm.FP(min_calib_range), qm.FP(max_calib_range))
        v = xp.clip(xp.trunc(prod * (qm.FP(127.5) / r / ls / rs)), -128, 127)
        return (v.astype(np.int8),) + qm.rng_out(xp, qm.FP(min_calib_range),
                                                  qm.FP(max_calib_range))
    return (prod.astype(np.int32),) + qm.product_range(xp, rl / qm.FP(127.0),
                                                        rr / qm.FP(127.0))


def _qmul_infer(lhs, rhs, *ranges, min_calib_range=None, max_calib_range=None,
                enable_float_output=False):
    if enable_float_output:
        return Aval(tuple(lhs.shape), np.dtype(np.float32))
    dt = np.int8 if qm.calibrated(min_calib_range, max_calib_range) else np.int32
    return Aval(tuple(lhs.shape), np.dtype(dt)), R1, R1


_contrib_quantized_elemwise_mul = register(
    "_contrib_quantized_elemwise_mul", _qmul_kernel, inputs=_BIN_IN,
    attrs={"min_calib_range": None, "max_calib_range": None, "enable_float_output": False},
    num_outputs=lambda a: 1 if a.get("enable_float_output") else 3,
    infer=_qmul_infer, no_grad=NO_GRAD, no_onnx=NO_ONNX,
    ref=lambda *d, **a: _qmul_kernel(np, *d, **a),
    samples=[Sample(_q8(2, 6), _q8(2, 6, salt=1), *_ranges(-2, 2), *_ranges(-1, 3)),
             Sample(_q8(2, 6), _q8(2, 6, salt=1), *_ranges(-2, 2), *_ranges(-1, 3),
                    min_calib_range=-3.0, max_calib_range=4.0),
             Sample(_q8(2, 6), _q8(2, 6, salt=1), *_ranges(-2, 2), *_ranges(-1, 3),
                    enable_float_output=True)],
    doc="""Product of two int8 arrays: int32 ``lhs * rhs`` with the product's range, int8 over
    the calibrated range, or (``enable_float_output``) the float32 product alone.

    Example::

        >>> y, lo, hi = nd.contrib.quantized_elemwise_mul(a, b, alo, ahi, blo, bhi)
    """)


# ---- quantized_embedding ---------------------------------------------------------------------
def _qemb_kernel(xp, data, weight, min_weight, max_weight, input_dim=None, output_dim=None,
                 dtype="float32", sparse_grad=False):
    return (weight[_indices(xp, data, input_dim)],) + _pass_ranges(xp, min_weight, max_weight)


_contrib_quantized_embedding = register(
    "_contrib_quantized_embedding", _qemb_kernel,
    inputs=("data", "weight", "min_weight", "max_weight"),
    attrs={"input_dim": None, "output_dim": None, "dtype": "float32", "sparse_grad": False},
    num_outputs=3,
    infer=lambda d, w, lo, hi, **a: (Aval(tuple(d.shape) + (w.shape[1],), np.dtype(w.dtype)),
                                     R1, R1),
    onnx=lambda g, i, a, o, input_dim=None, **k: (g.op("Gather", i[1], g.op(
        "Clip", g.op("Cast", i[0], to=g.onnx_dtype(np.int64)), g.const(np.int64(0)),
        g.const(np.int64(int(input_dim) - 1))), axis=0), i[2], i[3]),
    no_grad=NO_GRAD, ref=lambda *d, **a: _qemb_kernel(np, *d, **a),
    samples=[Sample(np.array([[0, 3], [2, 1]], np.float32), _q8(4, 3), *_ranges(-1, 1),
                    input_dim=4, output_dim=3, grad=False)],
    doc="""Embedding lookup in an int8 ``weight`` (indices clipped to ``[0, input_dim)``); the
    weight's range passes through. Returns ``[out (data.shape + (output_dim,)), min, max]``.

    Example::

        >>> y, lo, hi = nd.contrib.quantized_embedding(idx, qw, wlo, whi, input_dim=4,
        ...                                            output_dim=3)
    """)


# ---- quantized_batch_norm --------------------------------------------------------------------
def _qbn_kernel(xp, data, gamma, beta, moving_mean, moving_var, min_data, max_data, eps=1e-3,
                momentum=0.9, fix_gamma=True, use_global_stats=False, output_mean_var=False,
                axis=1, cudnn_off=False, min_calib_range=None, max_calib_range=None):
    if not qm.calibrated(min_calib_range, max_calib_range):
        raise OpError("quantized_batch_norm needs min_calib_range and max_calib_range "
                      "(MXNet's does too)")
    real = qm.to_float(xp, data, qm.scalar(xp, min_data), qm.scalar(xp, max_data), half=True)
    shape = [1] * data.ndim
    shape[int(axis)] = -1
    # MXNet 1.9.1 applies gamma even with fix_gamma=True (measured): so does kiln
    scale = (gamma.astype(qm.FP) / xp.sqrt(moving_var.astype(qm.FP) + qm.FP(eps))).reshape(shape)
    y = (real - moving_mean.astype(qm.FP).reshape(shape)) * scale + beta.astype(qm.FP).reshape(
        shape)
    r = qm.real_range(xp, qm.FP(min_calib_range), qm.FP(max_calib_range))
    return (qm.to_int8(xp, y, r, 127.5),) + qm.rng_out(xp, -r, r)


def _qbn_infer(data, *rest, **attrs):
    return Aval(tuple(data.shape), np.dtype(np.int8)), R1, R1


def _bn_vec(salt, lo, hi):
    return np.random.default_rng(200 + salt).uniform(lo, hi, 3).astype(np.float32)


_contrib_quantized_batch_norm = register(
    "_contrib_quantized_batch_norm", _qbn_kernel,
    inputs=("data", "gamma", "beta", "moving_mean", "moving_var", "min_data", "max_data"),
    attrs={"eps": 1e-3, "momentum": 0.9, "fix_gamma": True, "use_global_stats": False,
           "output_mean_var": False, "axis": 1, "cudnn_off": False, "min_calib_range": None,
           "max_calib_range": None}, num_outputs=3, infer=_qbn_infer, no_grad=NO_GRAD,
    no_onnx=NO_ONNX, ref=lambda *d, **a: _qbn_kernel(np, *d, **a),
    samples=[Sample(_q8(1, 3, 4, 4), _bn_vec(0, 0.5, 1.5), _bn_vec(1, -1, 1),
                    _bn_vec(2, -1, 1), _bn_vec(3, 0.5, 1.5), *_ranges(-2, 2),
                    min_calib_range=-3.0, max_calib_range=3.0)],
    doc="""Inference BatchNorm of int8 ``data`` with the moving statistics, requantized to
    int8 over the calibrated range (required). Returns ``[out (int8), min, max]``.

    Example::

        >>> y, lo, hi = nd.contrib.quantized_batch_norm(q, g, b, mm, mv, qlo, qhi,
        ...                                             min_calib_range=-3, max_calib_range=3)
    """)
