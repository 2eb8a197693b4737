"""MXNet 1.9's int8 layer ops (``nd.contrib.quantized_conv``, ``quantized_fully_connected``,
``quantized_pooling``, ``quantized_act``, ``quantized_flatten``, ``quantized_concat``,
``quantized_elemwise_add``, ``quantized_elemwise_mul``, ``quantized_embedding``,
``quantized_batch_norm``).

Each takes int8/uint8 data with its float range (``min_*, max_*``: (1,) float32 arrays) and
returns ``[out, min_out, max_out]``. Convolution and FullyConnected accumulate in int32 (the
products are computed exactly, in float64 through kiln's float kernels, which is exact for
sums below 2**53) and report the int32 range ``level_data * level_weight * (2**31 - 1)``.
Their int8 bias is rescaled to the int32 level the way MXNet 1.9.1's oneDNN kernels do it,
``trunc(bias * (Q_data + 0.5) * r_bias / (r_data * r_weight))`` (measured: a bias of 100
with unit ranges adds 12750 for int8 data, 25550 for uint8 to FullyConnected; 1.9.1's
Convolution adds the int8 bias unscaled, which is wrong, and kiln rescales it there too).
Conv and FullyConnected take their inputs flat, as MXNet does: ``data, weight, [bias,]
min_data, max_data, min_weight, max_weight[, min_bias, max_bias]`` (positional: MXNet drops
the absent bias from the list).
Forward-only, as in MXNet; checked against MXNet 1.9.1 in tests/test_quantization_ops.py.
"""
import numpy as np

from ...base import OpError
from .._registry import REQUIRED, Aval, Sample, register
from . import _quant_math as qm
from . import _quant_onnx as qo
from .conv import _conv_infer, _conv_kernel
from .nn_basic import _fc_infer, _fc_kernel
from .quantization import NO_GRAD, R1, _q8, _ranges

F64 = np.float64


def _split(arrays, no_bias):
    """``(data, weight, bias, ranges)`` from the flat inputs; ranges a list of (lo, hi)."""
    n = 2 if no_bias else 3
    if len(arrays) != 3 * n:
        raise OpError(f"expected {3 * n} inputs (data, weight{'' if no_bias else ', bias'} and "
                      f"their min/max), got {len(arrays)}")
    ins, rest = arrays[:n], arrays[n:]
    return ins[0], ins[1], (None if no_bias else ins[2]), [rest[0:2], rest[2:4], rest[4:6]]


def _bias_i32(xp, bias, dt, rd, rw, rb):
    """MXNet 1.9.1's (oneDNN's) int8 bias in the int32 output's levels, truncated."""
    rescale = (qm.FP(qm.qmax(dt)) + qm.FP(0.5)) * rb / (rd * rw)
    return (bias.astype(qm.FP) * rescale).astype(np.int32)


def _linear(xp, arrays, no_bias, core):
    data, weight, bias, rng = _split(arrays, no_bias)
    rd, rw = (qm.real_range(xp, qm.scalar(xp, lo), qm.scalar(xp, hi)) for lo, hi in rng[:2])
    acc = core(data.astype(F64), weight.astype(F64))
    out = xp.rint(acc).astype(np.int32)
    if bias is not None:
        rb = qm.real_range(xp, qm.scalar(xp, rng[2][0]), qm.scalar(xp, rng[2][1]))
        b = _bias_i32(xp, bias, data.dtype, rd, rw, rb)
        out += b.reshape((1, -1) + (1,) * (out.ndim - 2)) if core.conv else b
    # FullyConnected counts uint8 data in 255 levels, Convolution always in 127 (measured)
    qd = 127.0 if core.conv else qm.qmax(data.dtype)
    lev = qm.product_range(xp, rd / qm.FP(qd), rw / qm.FP(127.0))
    return (out,) + lev


def _lin_onnx(g, i, a, o, no_bias, node):
    n = 2 if no_bias else 3
    rng = [i[n:n + 2], i[n + 2:n + 4], i[n + 4:n + 6]]
    acc = node(i[0], i[1])
    if not no_bias:
        rd, rw, rb = (qo.real_range(g, lo, hi) for lo, hi in rng)
        q = qo.fconst(g, qm.qmax(a[0].dtype) + 0.5)
        rescale = g.op("Div", g.op("Mul", q, rb), g.op("Mul", rd, rw))
        b = g.op("Cast", g.op("Mul", g.op("Cast", i[2], to=g.onnx_dtype(np.float32)), rescale),
                 to=g.onnx_dtype(np.int32))
        if len(o[0].shape) > 2 and node.conv:
            b = g.op("Reshape", b, g.ints([1, -1] + [1] * (len(o[0].shape) - 2)))
        acc = g.op("Add", acc, b)
    return (acc,) + qo.product_range(g, rng[:2], [np.int8 if node.conv else a[0].dtype, np.int8])


# ---- quantized_fully_connected ---------------------------------------------------------------
def _qfc_kernel(xp, *data, num_hidden=REQUIRED, no_bias=False, flatten=True):
    def core(x, w):
        return _fc_kernel(xp, x, w, None, num_hidden, True, flatten)
    core.conv = False
    return _linear(xp, data, no_bias, core)


def _qfc_infer(*data, num_hidden=REQUIRED, no_bias=False, flatten=True):
    d, w = data[:2]
    y = _fc_infer(Aval(d.shape, F64), Aval(w.shape, F64), None, num_hidden, True, flatten)
    return Aval(y.shape, np.dtype(np.int32)), R1, R1


def _qfc_onnx(g, i, a, o, num_hidden=REQUIRED, no_bias=False, flatten=True):
    def node(x, w):
        if flatten and len(a[0].shape) != 2:
            x = g.op("Flatten", x, axis=1)
        return g.op("MatMulInteger", x, g.op("Transpose", w, perm=[1, 0]))
    node.conv = False
    return _lin_onnx(g, i, a, o, no_bias, node)


def _qfc_samples():
    d, w, b = _q8(2, 6, salt=1), _q8(4, 6, salt=2), _q8(4, salt=3)
    r = [*_ranges(-2, 2), *_ranges(-0.5, 0.7), *_ranges(-1, 1)]
    u = _q8(2, 3, 2, lo=0, hi=256, dtype=np.uint8, salt=4)
    return [Sample(d, w, b, *r, num_hidden=4), Sample(d, w, *r[:4], num_hidden=4, no_bias=True),
            # onnxruntime's u8 x s8 MatMulInteger sums pairs of products in int16 on x86
            # without VNNI (vpmaddubsw) and saturates: docs/architecture.md, Quantization
            Sample(u, w, b, *_ranges(0, 2), *r[2:], num_hidden=4, onnx=False),
            Sample(_q8(2, 3, 6, salt=5), w, b, *r, num_hidden=4, flatten=False)]


_contrib_quantized_fully_connected = register(
    "_contrib_quantized_fully_connected", _qfc_kernel, inputs=("*data",),
    attrs={"num_hidden": REQUIRED, "no_bias": False, "flatten": True}, num_outputs=3,
    infer=_qfc_infer, onnx=_qfc_onnx, no_grad=NO_GRAD,
    ref=lambda *d, **a: _qfc_kernel(np, *d, **a), samples=_qfc_samples(),
    doc="""FullyConnected of int8/uint8 ``data`` by an int8 ``weight`` with int32 accumulation.

    Inputs (flat, as MXNet): ``data, weight, [bias,] min_data, max_data, min_weight,
    max_weight[, min_bias, max_bias]``. Returns ``[out (int32, FullyConnected's shape),
    min_out (1,), max_out (1,)]``.

    Example::

        >>> y, lo, hi = nd.contrib.quantized_fully_connected(q, qw, qb, qlo, qhi, wlo, whi,
        ...                                                  blo, bhi, num_hidden=4)
    """)


# ---- quantized_conv --------------------------------------------------------------------------
_CONV_ATTRS = {"kernel": REQUIRED, "stride": (), "dilate": (), "pad": (), "num_filter": REQUIRED,
               "num_group": 1, "workspace": 1024, "no_bias": False, "cudnn_tune": None,
               "cudnn_off": False, "layout": None}


def _qconv_kernel(xp, *data, no_bias=False, **attrs):
    def core(x, w):
        return _conv_kernel(xp, x, w, None, no_bias=True, **attrs)
    core.conv = True
    return _linear(xp, data, no_bias, core)


def _qconv_infer(*data, no_bias=False, **attrs):
    d, w = (Aval(a.shape, F64) for a in data[:2])
    y = _conv_infer(d, w, None, no_bias=True, **attrs)
    return Aval(y.shape, np.dtype(np.int32)), R1, R1


def _qconv_onnx(g, i, a, o, kernel=REQUIRED, stride=(), dilate=(), pad=(), num_filter=REQUIRED,
                num_group=1, no_bias=False, **_):
    n = len(kernel)

    def node(x, w):
        p = list(pad) if pad else [0] * n
        return g.op("ConvInteger", x, w, kernel_shape=list(kernel), group=int(num_group),
                    strides=list(stride) or [1] * n, dilations=list(dilate) or [1] * n,
                    pads=p + p)
    node.conv = True
    return _lin_onnx(g, i, a, o, no_bias, node)


def _qconv_samples():
    u = _q8(1, 3, 5, 5, lo=0, hi=256, dtype=np.uint8, salt=6)
    w, b = _q8(2, 3, 3, 3, salt=7), _q8(2, salt=8)
    r = [*_ranges(0, 3), *_ranges(-1, 1), *_ranges(-0.5, 0.5)]
    return [Sample(u, w, b, *r, kernel=(3, 3), num_filter=2, pad=(1, 1)),
            Sample(u, w, *r[:4], kernel=(3, 3), num_filter=2, stride=(2, 2), no_bias=True),
            Sample(_q8(1, 3, 6, salt=9), _q8(4, 3, 2, salt=10), _q8(4, salt=11),
                   *_ranges(-2, 2), *r[2:], kernel=(2,), num_filter=4)]


_contrib_quantized_conv = register(
    "_contrib_quantized_conv", _qconv_kernel, inputs=("*data",), attrs=_CONV_ATTRS,
    num_outputs=3, infer=_qconv_infer, onnx=_qconv_onnx, no_grad=NO_GRAD,
    ref=lambda *d, **a: _qconv_kernel(np, *d, **a), samples=_qconv_samples(),
    doc="""Convolution of int8/uint8 ``data`` by an int8 ``weight`` with int32 accumulation
    (MXNet's oneDNN build takes uint8 data only; kiln takes both).

    Inputs (flat, as MXNet): ``data, weight, [bias,] min_data, max_data, min_weight,
    max_weight[, min_bias, max_bias]``; attributes as Convolution's. Returns ``[out (int32),
    min_out (1,), max_out (1,)]``.

    Example::

        >>> y, lo, hi = nd.contrib.quantized_conv(q, qw, qlo, qhi, wlo, whi, kernel=(3, 3),
        ...                                       num_filter=8, no_bias=True)
    """)
