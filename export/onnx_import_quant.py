"""ONNX quantization operators as float arithmetic over kiln's registry ops.

DequantizeLinear is ``(x - zero_point) * scale`` (per tensor, per axis, or per block);
QuantizeLinear is ``saturate(rint(x / scale) + zero_point)`` cast to the zero point's type
(uint8 without one); QLinearMatMul and QLinearConv dequantize their operands, run kiln's
float matmul/convolution and quantize the result; MatMulInteger/ConvInteger compute in
float64 (exact for 8-bit operands) and give int32; DynamicQuantizeLinear derives the uint8
scale and zero point from the data's range. Gradients reach the float inputs (rint and the
cast are where they stop, as in a fake-quantized graph).

Example: ``DequantizeLinear(q, s, z)`` imports as ``multiply(subtract(cast(q), cast(z)), s)``.
"""
import numpy as np
from onnx import helper

from ..base import MXNetError
from .onnx_import_math import dtype_of
from .onnx_import_ops import _attrs, _sub


def _opt(n, k):
    return n.input[k] if len(n.input) > k and n.input[k] else None


def _per_axis(imp, n, k, entry, name, data_name, axis, block):
    """A scale/zero point shaped to broadcast against the data along ``axis``."""
    r = imp.rank(data_name)
    shape = imp.shape(name)
    if len(shape) == 0 or (len(shape) == 1 and shape[0] == 1 and not block):
        return entry
    axis %= r
    if block:   # blocked: one value per block of ``block`` elements along ``axis``
        entry = imp.op(_sub(n, k), "repeat", [entry], repeats=block, axis=axis)
        size = imp.shape(data_name)[axis]
        begin, end = [None] * len(shape), [None] * len(shape)
        begin[axis], end[axis] = 0, size
        return imp.op(_sub(n, k + 1), "slice", [entry], begin=tuple(begin), end=tuple(end))
    view = [1] * r
    view[axis] = shape[0]
    return imp.op(_sub(n, k), "reshape", [entry], shape=tuple(view))


def dequantize(imp, n, k, x, scale, zp, axis=1, block=0, out_dtype=None):
    """float(x - zp) * scale for tensor names ``x``, ``scale``, ``zp`` (or None)."""
    dt = out_dtype or dtype_of(imp, scale)
    y = imp.op(_sub(n, k), "cast", [imp.t(x)], dtype=np.dtype(dt).name)
    if zp is not None:
        z = imp.op(_sub(n, k + 1), "cast", [imp.t(zp)], dtype=np.dtype(dt).name)
        y = imp.op(_sub(n, k + 2), "subtract", [y, _per_axis(imp, n, k + 3, z, zp, x, axis,
                                                             block)])
    s = imp.t(scale)
    if dtype_of(imp, scale) != np.dtype(dt):
        s = imp.op(_sub(n, k + 5), "cast", [s], dtype=np.dtype(dt).name)
    return imp.op(_sub(n, k + 6), "multiply", [y, _per_axis(imp, n, k + 7, s, scale, x, axis,
                                                             block)])


def quantize(imp, n, k, y, scale, zp, like, axis=1, block=0, out=None, qtype=None):
    """saturate(rint(y / scale) + zp) cast to ``qtype``; ``y`` an entry of tensor ``like``'s
    shape."""
    qtype = np.dtype(qtype or (dtype_of(imp, zp) if zp is not None else np.uint8))
    if qtype.kind not in "iu":
        raise MXNetError(f"ONNX import: {n.op_type} to {qtype} is not supported")
    s = imp.t(scale)
    ydt = dtype_of(imp, scale)
    q = imp.op(_sub(n, k), "divide", [y, _per_axis(imp, n, k + 1, s, scale, like, axis, block)])
    q = imp.op(_sub(n, k + 3), "rint", [q])
    if zp is not None:
        z = imp.op(_sub(n, k + 4), "cast", [imp.t(zp)], dtype=ydt.name)
        q = imp.op(_sub(n, k + 5), "add", [q, _per_axis(imp, n, k + 6, z, zp, like, axis, block)])
    info = np.iinfo(qtype)
    q = imp.op(_sub(n, k + 8), "clip", [q], a_min=float(info.min), a_max=float(info.max))
    return imp.op(out or _sub(n, k + 9), "cast", [q], dtype=qtype.name)


def _dequantize_linear(imp, n):
    a = _attrs(n)
    out = helper.tensor_dtype_to_np_dtype(a["output_dtype"]) if a.get("output_dtype") else None
    y = dequantize(imp, n, 0, n.input[0], n.input[1], _opt(n, 2), int(a.get("axis", 1)),
                   int(a.get("block_size", 0)), out)
    return imp.op(n, "identity", [y])


def _quantize_linear(imp, n):
    a = _attrs(n)
    qtype = helper.tensor_dtype_to_np_dtype(a["output_dtype"]) if a.get("output_dtype") \
        else None
    return quantize(imp, n, 0, imp.t(n.input[0]), n.input[1], _opt(n, 2), n.input[0],
                    int(a.get("axis", 1)), int(a.get("block_size", 0)), out=n, qtype=qtype)


def _qlinear_matmul(imp, n):
    a_ = _deq_operand(imp, n, 0, n.input[0], n.input[1], n.input[2], row=True)
    b_ = _deq_operand(imp, n, 20, n.input[3], n.input[4], n.input[5], row=False)
    y = imp.op(_sub(n, 40), "matmul", [a_, b_])
    return quantize(imp, n, 41, y, n.input[6], n.input[7], n.input[0], axis=-1, out=n)


def _deq_operand(imp, n, k, x, scale, zp, row):
    """A matmul operand dequantized; a 1-D scale is per row of A (M,) or column of B (N,)."""
    axis = -2 if row else -1
    return dequantize(imp, n, k, x, scale, zp, axis=axis, out_dtype=np.float32)


def _qlinear_conv(imp, n):
    from .onnx_import_conv import conv
    x = dequantize(imp, n, 0, n.input[0], n.input[1], n.input[2], out_dtype=np.float32)
    w = dequantize(imp, n, 20, n.input[3], n.input[4], n.input[5], axis=0,
                   out_dtype=np.float32)
    names = [f"{n.output[0]}__x", f"{n.output[0]}__w"]
    imp.entries[names[0]], imp.entries[names[1]] = x, w
    if _opt(n, 8):   # the int32 bias: quantized with scale x_scale * w_scale, zero point 0
        xs = imp.op(_sub(n, 60), "cast", [imp.t(n.input[1])], dtype="float32")
        ws = imp.op(_sub(n, 61), "cast", [imp.t(n.input[4])], dtype="float32")
        b = imp.op(_sub(n, 62), "cast", [imp.t(n.input[8])], dtype="float32")
        names.append(f"{n.output[0]}__b")
        imp.entries[names[2]] = imp.op(_sub(n, 63), "multiply",
                                       [b, imp.op(_sub(n, 64), "multiply", [xs, ws])])
    fake = helper.make_node("Conv", names, [f"{n.output[0]}__y"], name=f"{n.output[0]}__conv")
    fake.attribute.extend(n.attribute)
    y = conv(imp, fake)
    return quantize(imp, n, 70, y, n.input[6], n.input[7], n.input[0], axis=1, out=n)


def _integer(kind):
    """MatMulInteger/ConvInteger: operands minus zero points, in float64, then int32."""
    def conv_(imp, n):
        from .onnx_import_conv import conv
        ops = []
        for k, (x, zp) in enumerate(((n.input[0], _opt(n, 2)), (n.input[1], _opt(n, 3)))):
            v = imp.op(_sub(n, 10 * k), "cast", [imp.t(x)], dtype="float64")
            if zp is not None:
                z = imp.op(_sub(n, 10 * k + 1), "cast", [imp.t(zp)], dtype="float64")
                axis = (-1 if k else -2) if kind == "matmul" else (0 if k else 1)
                z = _per_axis(imp, n, 10 * k + 2, z, zp, x, axis, 0)
                v = imp.op(_sub(n, 10 * k + 4), "subtract", [v, z])
            ops.append(v)
        if kind == "matmul":
            y = imp.op(_sub(n, 30), "matmul", ops)
        else:
            names = [f"{n.output[0]}__x", f"{n.output[0]}__w"]
            imp.entries[names[0]], imp.entries[names[1]] = ops
            fake = helper.make_node("Conv", names, [f"{n.output[0]}__y"])
            fake.attribute.extend(n.attribute)
            y = conv(imp, fake)
        return imp.op(n, "cast", [y], dtype="int32")
    return conv_


def _dynamic_quantize(imp, n):
    x = imp.t(n.input[0])
    hi = imp.op(_sub(n, 0), "maximum", [imp.op(_sub(n, 1), "max", [x]), 0.0])
    lo = imp.op(_sub(n, 2), "minimum", [imp.op(_sub(n, 3), "min", [x]), 0.0])
    scale = imp.op(_sub(n, 4), "divide", [imp.op(_sub(n, 5), "subtract", [hi, lo]), 255.0])
    zp = imp.op(_sub(n, 6), "rint", [imp.op(_sub(n, 7), "divide", [imp.op(
        _sub(n, 8), "negative", [lo]), scale])])
    zp = imp.op(_sub(n, 9), "clip", [zp], a_min=0.0, a_max=255.0)
    q = imp.op(_sub(n, 10), "add", [imp.op(_sub(n, 11), "rint", [imp.op(
        _sub(n, 12), "divide", [x, scale])]), zp])
    q = imp.op(_sub(n, 13), "clip", [q], a_min=0.0, a_max=255.0)
    y = imp.op(n, "cast", [q], dtype="uint8")
    s = imp.op(_sub(n, 14), "reshape", [scale], shape=())
    z = imp.op(_sub(n, 15), "reshape", [imp.op(_sub(n, 16), "cast", [zp], dtype="uint8")],
               shape=())
    return [y, s, z]


CONVERTERS = {"DequantizeLinear": _dequantize_linear, "QuantizeLinear": _quantize_linear,
              "QLinearMatMul": _qlinear_matmul, "QLinearConv": _qlinear_conv,
              "MatMulInteger": _integer("matmul"), "ConvInteger": _integer("conv"),
              "DynamicQuantizeLinear": _dynamic_quantize}
