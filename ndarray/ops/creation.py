"""Array creation (zeros, ones, full, arange, ...), ``*_like`` ops, casts and device moves.

Creation ops take no array inputs: they run on ``ctx`` (the current device by default) and, while
tracing, become constant nodes of the graph.
"""
import math

import numpy as np

from ...device import as_context, move_data
from .. import ops as F
from .._registry import REQUIRED, Aval, Sample, register
from ._rules import same
from ._samples import rnd

DEFAULT_DTYPE = np.dtype(np.float32)


def _dt(dtype):
    return DEFAULT_DTYPE if dtype is None else np.dtype(dtype)


def _shape(shape):
    return (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)


def _fill_onnx(value):
    def lower(g, i, a, o, **_):
        return g.const(np.full(o[0].shape, value, o[0].dtype), name="fill")
    return lower


def _creation(name, kernel, infer, onnx, samples, ref, attrs):
    return register(name, kernel, inputs=(), attrs=dict(attrs, ctx=None), infer=infer, grad=None,
                    onnx=onnx, samples=samples, ref=ref, no_grad="creation op: no inputs")


def _shape_infer(shape, dtype=None, **_):
    return Aval(_shape(shape), _dt(dtype))


zeros = _creation("zeros", lambda xp, shape, dtype=None, ctx=None: xp.zeros(_shape(shape),
                                                                              _dt(dtype)),
                  _shape_infer, _fill_onnx(0), [Sample(shape=(2, 3))],
                  lambda shape, dtype=None: np.zeros(shape, _dt(dtype)),
                  {"shape": REQUIRED, "dtype": None})
ones = _creation("ones", lambda xp, shape, dtype=None, ctx=None: xp.ones(_shape(shape),
                                                                           _dt(dtype)),
                 _shape_infer, _fill_onnx(1), [Sample(shape=(2, 3)), Sample(shape=4,
                                                                            dtype="int32")],
                 lambda shape, dtype=None: np.ones(shape, _dt(dtype)),
                 {"shape": REQUIRED, "dtype": None})
empty = _creation("empty", lambda xp, shape, dtype=None, ctx=None: xp.zeros(_shape(shape),
                                                                              _dt(dtype)),
                  _shape_infer, _fill_onnx(0), [Sample(shape=(2, 3))],
                  lambda shape, dtype=None: np.zeros(shape, _dt(dtype)),
                  {"shape": REQUIRED, "dtype": None})


def _full_onnx(g, i, a, o, shape, val, dtype=None, ctx=None):
    return g.const(np.full(o[0].shape, val, o[0].dtype), name="full")


full = _creation("full", lambda xp, shape, val, dtype=None, ctx=None:
                 xp.full(_shape(shape), val, _dt(dtype)),
                 _shape_infer, _full_onnx, [Sample(shape=(2, 3), val=2.5)],
                 lambda shape, val, dtype=None: np.full(shape, val, _dt(dtype)),
                 {"shape": REQUIRED, "val": REQUIRED, "dtype": None})


def _arange_values(xp, start, stop, step, repeat, dtype):
    if stop is None:
        start, stop = 0, start
    dt = _dt(dtype)
    if dt.kind in "iub":
        # MXNet (like numpy) computes start + i * step in the integer type, start and step
        # truncated: arange(1.3, 10, 1.3, dtype='int32') is [1 2 3 4 5 6 7]; the length still
        # comes from the real-valued range. Out-of-range starts wrap (uint8: -100 -> 156).
        n = max(0, math.ceil((stop - start) / step))
        out = (xp.arange(n, dtype=np.int64) * int(step) + int(start)).astype(dt)
    else:
        out = xp.arange(start, stop, step, dtype=np.float64).astype(dt)
    return xp.repeat(out, int(repeat)) if repeat != 1 else out


def _arange_infer(start, stop=None, step=1.0, repeat=1, dtype=None, **_):
    n = len(np.arange(start, stop, step)) if stop is not None else len(np.arange(start))
    return Aval((n * int(repeat),), _dt(dtype))


def _arange_onnx(g, i, a, o, start, stop=None, step=1.0, repeat=1, dtype=None, ctx=None,
                 **_):
    return g.const(_arange_values(np, start, stop, step, repeat, o[0].dtype), name="arange")


arange = register("arange", lambda xp, start, stop=None, step=1.0, repeat=1, infer_range=None,
                  dtype=None, ctx=None: _arange_values(xp, start, stop, step, repeat, dtype),
                  inputs=(), attrs={"start": REQUIRED, "stop": None, "step": 1.0, "repeat": 1,
                                    "infer_range": None, "dtype": None, "ctx": None},
                  infer=_arange_infer, onnx=_arange_onnx,
                  samples=[Sample(start=5), Sample(start=1, stop=4, step=0.5, repeat=2)],
                  ref=lambda start, stop=None, step=1.0, repeat=1, infer_range=None,
                  dtype=None: np.repeat(np.arange(start, stop, step) if stop is not None
                                        else np.arange(start), repeat).astype(np.float32),
                  no_grad="creation op: no inputs")


def _linspace_kernel(xp, start, stop, num, endpoint=True, dtype=None, ctx=None):
    return xp.linspace(start, stop, int(num), endpoint=endpoint).astype(_dt(dtype))


linspace = register(
    "linspace", _linspace_kernel, inputs=(),
    attrs={"start": REQUIRED, "stop": REQUIRED, "num": REQUIRED, "endpoint": True,
           "dtype": None, "ctx": None},
    infer=lambda start, stop, num, endpoint=True, dtype=None, **_: Aval((int(num),), _dt(dtype)),
    onnx=lambda g, i, a, o, **at: g.const(_linspace_kernel(np, **at), name="linspace"),
    samples=[Sample(start=0, stop=1, num=5), Sample(start=-1, stop=1, num=4, endpoint=False)],
    ref=lambda start, stop, num, endpoint=True, dtype=None: np.linspace(
        start, stop, num, endpoint=endpoint).astype(np.float32),
    no_grad="creation op: no inputs")


def _eye_kernel(xp, N, M=0, k=0, dtype=None, ctx=None):
    return xp.eye(int(N), int(M) or None, int(k), dtype=_dt(dtype))


eye = register(
    "eye", _eye_kernel, inputs=(), attrs={"N": REQUIRED, "M": 0, "k": 0, "dtype": None,
                                          "ctx": None},
    infer=lambda N, M=0, k=0, dtype=None, **_: Aval((int(N), int(M) or int(N)), _dt(dtype)),
    onnx=lambda g, i, a, o, **at: g.const(_eye_kernel(np, **at), name="eye"),
    samples=[Sample(N=3), Sample(N=2, M=4, k=1)],
    ref=lambda N, M=0, k=0, dtype=None: np.eye(N, M or None, k, dtype=np.float32),
    no_grad="creation op: no inputs")


# ---- ops on an input's shape and dtype ----
def _like_onnx(value):
    def lower(g, i, a, o, **_):
        if a[0].dtype == np.bool_:
            return g.op("Cast", g.op("Mul", g.op("Cast", i[0], to=1), g.const(
                np.float32(value))), to=g.onnx_dtype(np.bool_))
        return g.op("ConstantOfShape", g.op("Shape", i[0]),
                    value=_tensor_attr(np.asarray([value], a[0].dtype)))
    return lower


def _tensor_attr(arr):
    from onnx import numpy_helper  # only reached while exporting
    return numpy_helper.from_array(arr)


zeros_like = register("zeros_like", lambda xp, x: xp.zeros_like(x), infer=same, grad=None,
                      onnx=_like_onnx(0), samples=[Sample(rnd(2, 3))], ref=np.zeros_like,
                      no_grad="constant output")
ones_like = register("ones_like", lambda xp, x: xp.ones_like(x), infer=same, grad=None,
                     onnx=_like_onnx(1), samples=[Sample(rnd(2, 3))], ref=np.ones_like,
                     no_grad="constant output")
full_like = register("full_like", lambda xp, x, fill_value: xp.full_like(x, fill_value),
                     attrs={"fill_value": REQUIRED}, infer=same, grad=None,
                     onnx=lambda g, i, a, o, fill_value: _like_onnx(fill_value)(g, i, a, o),
                     samples=[Sample(rnd(2, 3), fill_value=3.0)],
                     ref=lambda x, fill_value: np.full_like(x, fill_value),
                     no_grad="constant output")


def _cast_kernel(xp, x, dtype):
    return x.astype(np.dtype(dtype), copy=True)


def _cast_grad(i, o, g, dtype):
    # MXNet casts the head gradient back to the input dtype for every pair, integers included.
    # Its gradient buffers have the output's dtype, so a gradient arriving in another dtype
    # (a float head through an int32 op) is first truncated to it, as MXNet's would be.
    gy = g[0]
    if np.dtype(gy.dtype) != np.dtype(dtype):
        gy = F.cast(gy, dtype=np.dtype(dtype))
    return (F.cast(gy, dtype=np.dtype(i[0].dtype)),)


cast = register("cast", _cast_kernel, attrs={"dtype": REQUIRED},
                infer=lambda x, dtype: Aval(tuple(x.shape), np.dtype(dtype)), grad=_cast_grad,
                onnx=lambda g, i, a, o, dtype: g.op("Cast", i[0], to=g.onnx_dtype(dtype)),
                samples=[Sample(rnd(2, 3), dtype="float16", grad=False),
                         Sample(rnd(2, 3), dtype="float64"),
                         Sample(rnd(2, 3) * 5, dtype="int32", grad=False)],
                ref=lambda x, dtype: x.astype(dtype), aliases=("Cast",))


def _sum_to_kernel(xp, g, shape):
    """Sum ``g`` down to ``shape`` (undoing numpy broadcasting)."""
    shape = tuple(shape)
    lead = g.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape)
                                      if s == 1 and g.shape[lead + i] != 1)
    out = g.sum(axis=axes, keepdims=True) if axes else g
    return out.reshape(shape)


def _sum_to_onnx(g, i, a, o, shape):
    src = tuple(a[0].shape)
    lead = len(src) - len(shape)
    axes = list(range(lead)) + [lead + k for k, s in enumerate(shape)
                                if s == 1 and src[lead + k] != 1]
    red = g.op("ReduceSum", i[0], g.ints(axes), keepdims=1) if axes else i[0]
    return g.op("Reshape", red, g.ints(shape)) if tuple(shape) != src else red


sum_to = register("sum_to", _sum_to_kernel, attrs={"shape": REQUIRED},
                  infer=lambda x, shape: Aval(tuple(shape), np.dtype(x.dtype)),
                  grad=lambda i, o, g, shape: (F.broadcast_to(g[0], shape=tuple(i[0].shape)),),
                  onnx=_sum_to_onnx,
                  samples=[Sample(rnd(2, 3, 4), shape=(3, 1)), Sample(rnd(2, 3), shape=(2, 3)),
                           Sample(rnd(4, 3), shape=(1, 3))],
                  ref=lambda g, shape: _sum_to_kernel(np, g, shape), second_order=True)


def _to_device_kernel(xp, x, device):
    return move_data(x, as_context(device), copy=True)


to_device = register("to_device", _to_device_kernel, attrs={"device": REQUIRED}, infer=same,
                     grad=lambda i, o, g, device: (F.to_device(g[0], device=i[0].context),),
                     onnx=lambda g, i, a, o, device: g.op("Identity", i[0]),
                     samples=[Sample(rnd(2, 3), device="cpu(0)")], ref=lambda x, device: x,
                     places=True)


# ---- MXNet's Python-level creation functions (nd.zeros & co.) ----
# The registered ops keep (shape, dtype, ctx), the order sym.zeros(shape, dtype) and the graph
# use; kiln.nd exposes MXNet 1.9's own wrappers, whose second positional argument is ctx.
def _device(ctx, fname):
    """``ctx`` as given, after catching a dtype passed where MXNet expects the device."""
    from ...device import Context
    if ctx is None or isinstance(ctx, Context):
        return ctx
    if isinstance(ctx, str) and ctx.split("(")[0].split(":")[0].strip() in ("cpu", "gpu",
                                                                                "cpu_pinned"):
        return ctx
    raise TypeError(f"nd.{fname}(): ctx must be a device such as kiln.cpu() or 'gpu(0)', got "
                    f"{ctx!r}; MXNet's argument order is {fname}(shape, ctx, dtype), so pass the "
                    f"dtype by keyword (dtype={ctx!r})")


# (stype, shape, ctx, dtype) -> an all-zero sparse array: installed by nd.sparse, which
# subclasses NDArray and so sits above this module
SPARSE_ZEROS = [None]


def _sparse_zeros(stype, shape, ctx, dtype):
    if stype not in ("csr", "row_sparse") or SPARSE_ZEROS[0] is None:
        raise ValueError(f"unknown storage type {stype!r}: 'default', 'csr' or 'row_sparse'")
    return SPARSE_ZEROS[0](stype, shape, ctx, dtype)


def _dense_only(stype, fname):
    if stype not in (None, "default"):
        from ...base import MXNetError
        raise MXNetError(f"nd.{fname}(stype={stype!r}): kiln arrays are dense only; sparse "
                         f"storage ('csr', 'row_sparse') is not supported, use stype='default'")


def mx_zeros(shape, ctx=None, dtype=None, stype=None, **kwargs):
    """A new array of zeros, shape ``shape``, float32 unless ``dtype`` is given (MXNet order:
    ``zeros(shape, ctx, dtype, stype)``); ``stype`` 'csr' or 'row_sparse' gives an empty
    ``nd.sparse`` array.

    Example: ``nd.zeros((2, 3), kiln.cpu(), 'int32')`` is a 2x3 int32 array of zeros.
    """
    if stype not in (None, "default"):
        return _sparse_zeros(stype, shape, _device(ctx, "zeros"), dtype)
    return zeros(shape=shape, dtype=dtype, ctx=_device(ctx, "zeros"), **kwargs)


def mx_ones(shape, ctx=None, dtype=None, **kwargs):
    """A new array of ones, shape ``shape`` (MXNet order: ``ones(shape, ctx, dtype)``).

    Example: ``nd.ones(3)`` is ``[1. 1. 1.]`` (float32).
    """
    _dense_only(kwargs.pop("stype", None), "ones")
    return ones(shape=shape, dtype=dtype, ctx=_device(ctx, "ones"), **kwargs)


def mx_full(shape, val, ctx=None, dtype=np.float32, out=None):
    """A new array of shape ``shape`` filled with ``val`` (MXNet order:
    ``full(shape, val, ctx, dtype)``); with ``out``, fills that array instead.

    Example: ``nd.full((2,), 7)`` is ``[7. 7.]`` (float32).
    """
    if out is not None:
        out[:] = val
        return out
    return full(shape=shape, val=val, dtype=dtype, ctx=_device(ctx, "full"))


def mx_empty(shape, ctx=None, dtype=None, stype=None):
    """A new array of shape ``shape`` (MXNet leaves it uninitialised; kiln zero-fills it);
    ``stype`` 'csr' or 'row_sparse' gives an empty ``nd.sparse`` array.

    Example: ``nd.empty((2, 2)).shape`` is ``(2, 2)``.
    """
    if stype not in (None, "default"):
        return _sparse_zeros(stype, shape, _device(ctx, "empty"), dtype)
    return empty(shape=shape, dtype=dtype, ctx=_device(ctx, "empty"))


for _f, _n in ((mx_zeros, "zeros"), (mx_ones, "ones"), (mx_full, "full"), (mx_empty, "empty")):
    _f.__name__ = _f.__qualname__ = _n
    _f.__module__ = "kiln.ndarray"
    _f.op = globals()[_n].op   # the registered op, for code that inspects nd.<name>.op

EXPORTS = {"zeros": mx_zeros, "ones": mx_ones, "full": mx_full, "empty": mx_empty}
