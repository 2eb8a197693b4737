"""ONNX lowerings shared by the convolution and pooling families (static shapes from avals).

Pooling uses explicit begin/end pads equal to what MXNet's convention produces ('full' adds end
padding, the same output as ``ceil_mode=1`` without relying on runtimes' ceil-mode quirks).
Sum and non-L2 Lp pooling become a depthwise Conv with a ones kernel.
"""
import math

import numpy as np


def onnx_crop(g, t, begin, size, full):
    """Nodes for ``t[..., b:b+n]`` over the trailing axes, zero-extending past ``full``."""
    n = len(size)
    extra = [max(b + s - f, 0) for b, s, f in zip(begin, size, full)]
    if any(extra):
        t = g.op("Pad", t, g.ints([0] * (n + 2) + [0, 0] + extra))
    return g.op("Slice", t, g.ints(begin), g.ints([b + s for b, s in zip(begin, size)]),
                g.ints(range(2, 2 + n)))


def _ones_kernel(g, channels, kernel, dtype):
    return g.const(np.ones((channels, 1) + tuple(kernel), dtype), name="ones_kernel")


def _common(geo):
    return dict(kernel_shape=list(geo.kernel), strides=list(geo.stride),
                pads=list(geo.begin) + list(geo.end))


def _sum_conv(g, x, aval, geo):
    c = aval.shape[1]
    return g.op("Conv", x, _ones_kernel(g, c, geo.kernel, aval.dtype), group=c, **_common(geo))


def _root(g, s, p, dtype):
    if p == 1:
        return s
    if p == 2:
        return g.op("Sqrt", s)
    inv = g.const(np.asarray(1.0 / p, dtype))
    if p % 2:  # odd p: a real root of a possibly negative sum
        return g.op("Mul", g.op("Sign", s), g.op("Pow", g.op("Abs", s), inv))
    return g.op("Pow", s, inv)


def _global(g, x, aval, pool_type, p):
    dt = aval.dtype
    size = g.const(np.asarray(math.prod(aval.shape[2:]), dt))
    if pool_type == "max":
        return g.op("GlobalMaxPool", x)
    if pool_type == "avg":
        return g.op("GlobalAveragePool", x)
    if pool_type == "sum":
        return g.op("Mul", g.op("GlobalAveragePool", x), size)
    powed = g.op("Pow", x, g.const(np.asarray(p, dt)))
    return _root(g, g.op("Mul", g.op("GlobalAveragePool", powed), size), p, dt)


def pool_onnx(g, x, aval, geo, pool_type, global_pool, p, cip):
    """Lower ``pooling``: MaxPool / AveragePool / LpPool / global variants / Conv for sums."""
    if global_pool:
        return _global(g, x, aval, pool_type, p)
    dt = aval.dtype
    if pool_type == "max":
        return g.op("MaxPool", x, **_common(geo))
    if pool_type == "avg":
        if not cip:
            return g.op("AveragePool", x, count_include_pad=0, **_common(geo))
        if all(e <= b for e, b in zip(geo.end, geo.begin)):
            return g.op("AveragePool", x, count_include_pad=1, kernel_shape=list(geo.kernel),
                        strides=list(geo.stride), pads=list(geo.begin) * 2)
        # 'full' windows past the padding: MXNet divides by the window clipped to x + pad
        div = geo.divisor(True).reshape((1, 1) + geo.out)
        return g.op("Mul", _sum_conv(g, x, aval, geo), g.const((1.0 / div).astype(dt)))
    if pool_type == "sum":
        return _sum_conv(g, x, aval, geo)
    if p == 2:
        return g.op("LpPool", x, p=2, **_common(geo))
    powed = g.op("Pow", x, g.const(np.asarray(p, dt)))
    return _root(g, _sum_conv(g, powed, aval, geo), p, dt)


def pool_backward_onnx(g, i, a, geo, pool_type, cip):
    """Lower ``_pooling_backward``: a depthwise ConvTranspose (one-hot channels for max)."""
    gy, x = i
    shape, dt = tuple(a[1].shape), a[0].dtype
    if pool_type == "max":
        return _max_route(g, gy, x, shape, dt, geo)
    if pool_type == "avg":
        div = geo.divisor(cip).reshape((1, 1) + geo.out)
        gy = g.op("Mul", gy, g.const((1.0 / div).astype(dt)))
    c = shape[1]
    y = g.op("ConvTranspose", gy, _ones_kernel(g, c, geo.kernel, dt), group=c,
             kernel_shape=list(geo.kernel), strides=list(geo.stride))
    full = [s * (o - 1) + k for s, o, k in zip(geo.stride, geo.out, geo.kernel)]
    return onnx_crop(g, y, geo.begin, geo.size, full)


def _window_offset(g, idx, shape, geo):
    """Flat kernel offset of each window's argmax, from MaxPool's flat input indices."""
    sp, n = shape[2:], len(geo.kernel)
    pos = g.op("Mod", idx, g.ints([math.prod(sp)]))
    off = None
    for d in range(n):
        coord = g.op("Mod", g.op("Div", pos, g.ints([math.prod(sp[d + 1:])])), g.ints([sp[d]]))
        start = (np.arange(geo.out[d]) * geo.stride[d] - geo.begin[d]).reshape(
            (1, 1) + tuple(geo.out[d] if e == d else 1 for e in range(n)))
        term = g.op("Mul", g.op("Sub", coord, g.const(start.astype(np.int64))),
                    g.ints([math.prod(geo.kernel[d + 1:])]))
        off = term if off is None else g.op("Add", off, term)
    return off


def _max_route(g, gy, x, shape, dt, geo):
    """Route each window's gradient to its argmax: one-hot channels, then a ConvTranspose.

    Valid at every opset (ScatterElements only accumulates duplicates from opset 16).
    """
    c, n, k = shape[1], len(geo.kernel), math.prod(geo.kernel)
    _, idx = g.op("MaxPool", x, outputs=2, **_common(geo))
    off = g.op("Unsqueeze", _window_offset(g, idx, shape, geo), g.ints([2]))
    js = g.const(np.arange(k, dtype=np.int64).reshape((1, 1, k) + (1,) * n))
    hot = g.op("Cast", g.op("Equal", off, js), to=g.onnx_dtype(dt))
    spread = g.op("Mul", hot, g.op("Unsqueeze", gy, g.ints([2])))
    spread = g.op("Reshape", spread, g.ints((shape[0], c * k) + geo.out))
    eye = np.eye(k, dtype=dt).reshape((k, 1) + tuple(geo.kernel))
    y = g.op("ConvTranspose", spread, g.const(np.tile(eye, (c, 1) + (1,) * n)), group=c,
             kernel_shape=list(geo.kernel), strides=list(geo.stride))
    full = [s * (o - 1) + kk for s, o, kk in zip(geo.stride, geo.out, geo.kernel)]
    return onnx_crop(g, y, geo.begin, shape[2:], full)


def gather_onnx(g, i, a, geo):
    """Lower ``_pooling_gather``: MaxPool's flat argmax indices, then a Gather."""
    grad, x = i
    _, idx = g.op("MaxPool", x, outputs=2, **_common(geo))
    return g.op("Gather", g.op("Reshape", grad, g.ints([-1])), idx, axis=0)
