"""ONNX Conv/ConvTranspose/MaxPool/AveragePool -> kiln, with ONNX's padding rules.

kiln's ``convolution``/``pooling`` take symmetric pads; ONNX adds ``auto_pad`` (SAME_UPPER,
SAME_LOWER, VALID), asymmetric ``pads``, pooling's ``ceil_mode`` (a last window that would
start in the end padding is dropped) and ``count_include_pad``, and ConvTranspose's
``output_shape``/``output_padding``. Whatever kiln's ops cannot say directly becomes an
explicit ``pad`` (or a ``slice`` after a transposed convolution); averages over windows that
overhang differently are rescaled by a constant per output position. These need static
spatial dims (the batch may be dynamic).
"""
import math

import numpy as np

from ..base import MXNetError
from ..symbol.graph import Node
from .onnx_import_ops import _attrs, _sub


def _str(v, default="NOTSET"):
    v = default if v is None else v
    return v.decode() if isinstance(v, bytes) else v


def _spatial(imp, n, nd_):
    t = imp.types.get(n.input[0])
    dims = None if t is None or t[1] is None else t[1][2:]
    if dims is None or len(dims) != nd_ or None in dims:
        raise MXNetError(f"ONNX import: {n.op_type} {n.name or n.output[0]!r} needs static "
                         "spatial dims here (auto_pad, asymmetric pads, ceil_mode or "
                         "output_shape)")
    return list(dims)


def _same_pads(auto, dims, kernel, strides, dil):
    """(begins, ends) for SAME_UPPER/SAME_LOWER: output ceil(in / stride)."""
    begins, ends = [], []
    for i, k, s, d in zip(dims, kernel, strides, dil):
        total = max(0, (math.ceil(i / s) - 1) * s + (k - 1) * d + 1 - i)
        b = total // 2 if auto == "SAME_UPPER" else total - total // 2
        begins.append(b)
        ends.append(total - b)
    return begins, ends


def _pads(imp, n, a, nd_, kernel, strides, dil):
    """(begins, ends, spatial dims or None) from ``auto_pad``/``pads``."""
    auto = _str(a.get("auto_pad"))
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        dims = _spatial(imp, n, nd_)
        return (*_same_pads(auto, dims, kernel, strides, dil), dims)
    if auto == "VALID":
        return [0] * nd_, [0] * nd_, None
    if auto != "NOTSET":
        raise MXNetError(f"ONNX import: {n.op_type} auto_pad={auto!r} is not an ONNX value")
    pads = list(a.get("pads", [0] * 2 * nd_))
    return pads[:nd_], pads[nd_:], None


def _pad_op(imp, n, k, x, begins, ends, value):
    width = (0, 0, 0, 0) + tuple(v for b, e in zip(begins, ends) for v in (b, e))
    return imp.op(_sub(n, k), "pad", [x], mode="constant", pad_width=width,
                  constant_value=value)


def conv(imp, n):
    a = _attrs(n)
    wshape = imp.inits[n.input[1]].shape if n.input[1] in imp.inits else imp.shape(n.input[1])
    kernel = tuple(a.get("kernel_shape", wshape[2:]))
    nd_ = len(kernel)
    strides = tuple(a.get("strides", (1,) * nd_))
    dil = tuple(a.get("dilations", (1,) * nd_))
    begins, ends, _ = _pads(imp, n, a, nd_, kernel, strides, dil)
    x = imp.t(n.input[0])
    if begins != ends:
        x = _pad_op(imp, n, 0, x, begins, ends, 0.0)
        begins = [0] * nd_
    bias = len(n.input) > 2 and n.input[2]
    ins = [x, imp.t(n.input[1]), imp.t(n.input[2]) if bias else None]
    return imp.op(n, "convolution", ins, num_filter=wshape[0], kernel=kernel, stride=strides,
                  dilate=dil, pad=tuple(begins), num_group=int(a.get("group", 1)),
                  no_bias=not bias)


def conv_transpose(imp, n):
    a = _attrs(n)
    wshape = imp.inits[n.input[1]].shape if n.input[1] in imp.inits else imp.shape(n.input[1])
    kernel = tuple(a.get("kernel_shape", wshape[2:]))
    nd_ = len(kernel)
    strides = tuple(a.get("strides", (1,) * nd_))
    dil = tuple(a.get("dilations", (1,) * nd_))
    adj = tuple(a.get("output_padding", (0,) * nd_))
    auto = _str(a.get("auto_pad"))
    out_shape = list(a.get("output_shape", []))[-nd_:] if "output_shape" in a else None
    if out_shape is not None or auto in ("SAME_UPPER", "SAME_LOWER"):
        dims = _spatial(imp, n, nd_)
        full = [s * (i - 1) + (k - 1) * d + 1 + p
                for i, k, s, d, p in zip(dims, kernel, strides, dil, adj)]
        want = out_shape if out_shape is not None else [i * s for i, s in zip(dims, strides)]
        totals = [f - w for f, w in zip(full, want)]
        if any(t <= -s for t, s in zip(totals, strides)):
            raise MXNetError(f"ONNX import: ConvTranspose {n.name or n.output[0]!r}: "
                             f"output_shape {want} exceeds the full output {full} by a "
                             "stride or more")
        # a larger output_shape (by less than a stride) extends the end, as output_padding
        adj = tuple(p - min(t, 0) for p, t in zip(adj, totals))
        totals = [max(t, 0) for t in totals]
        # onnxruntime's split: the extra pixel goes to the end for SAME_UPPER, else the start
        begins = [t // 2 if auto == "SAME_UPPER" else t - t // 2 for t in totals]
        ends = [t - b for t, b in zip(totals, begins)]
    elif auto == "VALID":
        begins = ends = [0] * nd_
    else:
        pads = list(a.get("pads", [0] * 2 * nd_))
        begins, ends = pads[:nd_], pads[nd_:]
    group = int(a.get("group", 1))
    bias = len(n.input) > 2 and n.input[2]
    ins = [imp.t(n.input[0]), imp.t(n.input[1]), imp.t(n.input[2]) if bias else None]
    sym = begins == ends
    y = imp.op(n if sym else _sub(n, 0), "deconvolution", ins, num_filter=wshape[1] * group,
               kernel=kernel, stride=strides, dilate=dil,
               pad=tuple(begins) if sym else (0,) * nd_, adj=adj, num_group=group,
               no_bias=not bias)
    if sym:
        return y
    dims = _spatial(imp, n, nd_)
    full = [s * (i - 1) + (k - 1) * d + 1 + p
            for i, k, s, d, p in zip(dims, kernel, strides, dil, adj)]
    return imp.op(n, "slice", [y], begin=(None, None) + tuple(begins),
                  end=(None, None) + tuple(f - e for f, e in zip(full, ends)))


def pool(kind):
    def convert(imp, n):
        a = _attrs(n)
        kernel = tuple(a["kernel_shape"])
        nd_ = len(kernel)
        strides = tuple(a.get("strides", (1,) * nd_))
        dil = tuple(a.get("dilations", (1,) * nd_))
        if any(d != 1 for d in dil):
            raise MXNetError("ONNX import: dilated pooling is not supported")
        begins, ends, dims = _pads(imp, n, a, nd_, kernel, strides, dil)
        cip = bool(a.get("count_include_pad", 0)) and kind == "avg"
        ceil = bool(a.get("ceil_mode", 0)) and dims is None
        x = imp.t(n.input[0])
        if begins == ends and not ceil and (kind == "max" or cip or not any(begins)
                                            or dims is None):
            return imp.op(n, "pooling", [x], kernel=kernel, pool_type=kind, stride=strides,
                          pad=tuple(begins), pooling_convention="valid",
                          count_include_pad=cip if kind == "avg" else None)
        t = imp.types.get(n.input[0])
        if dims is None and kind == "max" and not any(begins + ends) and \
                all(k >= s for k, s in zip(kernel, strides)) and \
                (t is None or t[1] is None or None in t[1][2:]):
            # dynamic spatial dims, ceil_mode, no pads: no window can start past the input,
            # so MXNet's "full" convention is ONNX's (torchvision's ceil-mode max pools)
            return imp.op(n, "pooling", [x], kernel=kernel, pool_type=kind, stride=strides,
                          pad=(0,) * nd_, pooling_convention="full")
        dims = dims or _spatial(imp, n, nd_)
        outs, extra = [], []
        for i, k, s, b, e in zip(dims, kernel, strides, begins, ends):
            span = i + b + e - k
            o = (-(-span // s) if ceil else span // s) + 1
            if ceil and (o - 1) * s >= i + b:   # the last window would start in the padding
                o -= 1
            outs.append(o)
            extra.append(max(0, (o - 1) * s + k - (i + b + e)))
        if begins == ends and not any(extra) and kind == "max":
            return imp.op(n, "pooling", [x], kernel=kernel, pool_type=kind, stride=strides,
                          pad=tuple(begins), pooling_convention="valid")
        ends_x = [e + x_ for e, x_ in zip(ends, extra)]
        xp = _pad_op(imp, n, 0, x, begins, ends_x, -np.inf if kind == "max" else 0.0)
        y = imp.op(n if kind == "max" else _sub(n, 1), "pooling", [xp], kernel=kernel,
                   pool_type=kind, stride=strides, pad=(0,) * nd_,
                   pooling_convention="valid", count_include_pad=True if kind == "avg" else None)
        if kind == "max":
            return y
        # kiln averaged over whole kernels; ONNX over the window's part inside the input
        # (count_include_pad=0) or inside input + pads (=1): rescale by kernel size / count
        counts = []
        for i, k, s, b, e, o in zip(dims, kernel, strides, begins, ends, outs):
            lo, hi = (0, i) if not cip else (-b, i + e)
            starts = np.arange(o) * s - b
            counts.append(np.clip(np.minimum(starts + k, hi) - np.maximum(starts, lo), 1, None))
        count = counts[0]
        for c in counts[1:]:
            count = np.multiply.outer(count, c)
        scale = (math.prod(kernel) / count).astype(np.float32).reshape((1, 1) + tuple(outs))
        imp.check_bytes(scale.nbytes, f"{n.op_type} {n.name or n.output[0]!r}'s rescaling")
        return imp.op(n, "multiply", [y, (Node("const", value=scale), 0)])
    return convert


CONVERTERS = {"Conv": conv, "ConvTranspose": conv_transpose, "MaxPool": pool("max"),
              "AveragePool": pool("avg")}
