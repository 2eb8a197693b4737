"""Shared shape/dtype inference rules and small helpers used by many op definitions."""
import numpy as np

from ...base import OpError
from .._registry import Aval

FLOAT_KINDS = "fc"


def dtype_of(x):
    """numpy dtype of an Aval, an array, or a Python scalar (weak: None)."""
    d = getattr(x, "dtype", None)
    return None if d is None else np.dtype(d)


def result_dtype(*xs):
    """Result dtype of an elementwise op: arrays decide, Python scalars are weak (NEP 50)."""
    dts = [dtype_of(x) for x in xs if dtype_of(x) is not None]
    if not dts:
        return np.dtype(np.float32)
    return np.result_type(*dts)


def shape_of(x):
    return tuple(getattr(x, "shape", ()))


def same(x, **_):
    """Output like the (first) input."""
    return Aval(tuple(x.shape), np.dtype(x.dtype))


def broadcast(*xs, **_):
    """Numpy broadcasting over all array inputs; dtype by promotion with weak scalars."""
    try:
        shape = np.broadcast_shapes(*[shape_of(x) for x in xs])
    except ValueError:
        raise OpError(f"shapes {[shape_of(x) for x in xs]} cannot be broadcast together") \
            from None
    return Aval(tuple(shape), result_dtype(*xs))


def broadcast_float(*xs, **attrs):
    """Broadcasting, but integer results become float32 (true division, pow of ints...)."""
    a = broadcast(*xs, **attrs)
    return a if a.dtype.kind in FLOAT_KINDS else Aval(a.shape, np.dtype(np.float32))


# Symbolic shape inference (``sym.infer_shape``): an operand whose shape is still unknown takes
# a known operand's, as MXNet infers it for ``elemwise_add(a, b)`` (equal shapes always
# broadcast, so the guess never contradicts the op).
broadcast.operands_alike = broadcast_float.operands_alike = True


def norm_axis(axis, ndim, op="op"):
    """Normalize one axis into ``range(ndim)``, raising a clear error when out of range."""
    axis = int(axis)
    if not -ndim <= axis < max(ndim, 1):
        raise OpError(f"{op}: axis {axis} is out of range for an array of {ndim} dimensions")
    return axis % max(ndim, 1)


def norm_axes(axis, ndim, exclude=False, op="op"):
    """Axes tuple for reductions: None means all; ``exclude`` takes the complement."""
    if axis is None or axis == ():
        axes = tuple(range(ndim))
        if exclude:
            return ()
        return axes
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    axes = tuple(sorted({norm_axis(a, ndim, op) for a in axis}))
    if exclude:
        axes = tuple(a for a in range(ndim) if a not in axes)
    return axes


def reduce_shape(shape, axes, keepdims):
    """Output shape of a reduction; MXNet returns ``(1,)`` for a full reduction."""
    if keepdims:
        out = tuple(1 if i in axes else s for i, s in enumerate(shape))
    else:
        out = tuple(s for i, s in enumerate(shape) if i not in axes)
    return out if out else (1,)


def as_float(*xs):
    """True when every array input has a floating dtype (gradients exist)."""
    return all(dtype_of(x) is None or dtype_of(x).kind in FLOAT_KINDS for x in xs)


def nondiff(*_ins, **_attrs):
    """Gradient rule of ops whose output is piecewise constant: no gradient flows."""
    return None


def zero_grads(ins, outs, gouts, **attrs):
    """Gradient facet for ops that are flat almost everywhere (sign, floor, comparisons)."""
    return [None] * len(ins)


def check_shapes(op, **pairs):
    """Raise a clear error when an input's shape differs from the one the op needs.

    ``pairs``: name -> (aval or None, expected shape). Used by ``infer`` of layers' ops so that
    wrong parameter shapes fail while tracing, naming the op and both shapes.
    """
    for name, (aval, expected) in pairs.items():
        if aval is not None and tuple(aval.shape) != tuple(expected):
            raise OpError(f"{op}: {name} has shape {tuple(aval.shape)}, expected "
                          f"{tuple(expected)}")


def check_param_dtypes(data, want=None, **params):
    """Raise a clear error when a parameter's dtype is not ``want`` (the data's by default).

    MXNet's FullyConnected, Convolution and the normalizations require one dtype for data and
    parameters (BatchNorm: float32 parameters for float16 data) and raise otherwise, where numpy
    would promote or truncate silently. ``params``: name -> array or Aval (None skipped).
    ``infer`` calls this; a kernel calls it only after one dtype comparison has failed, so the
    eager hot path pays that comparison only.

    Example::

        >>> check_param_dtypes(Aval((2, 3), np.int32), weight=Aval((4, 3), np.float32))
        OpError: expected input dtype float32 (the dtype of weight), got int32: ...
    """
    given = np.dtype(data.dtype)
    want = given if want is None else np.dtype(want)
    dts = {k: np.dtype(p.dtype) for k, p in params.items() if p is not None}
    if all(d == want for d in dts.values()):
        return
    names = ", ".join(dts)
    kinds = set(dts.values())
    if len(kinds) > 1:
        listing = ", ".join(f"{k} {d.name}" for k, d in dts.items())
        raise OpError(f"parameters of different dtypes ({listing}): the data's dtype "
                      f"{given.name} needs them all {want.name}; cast the layer with "
                      f".cast('{want.name}')")
    have = kinds.pop()
    if want == given:
        raise OpError(f"expected input dtype {have.name} (the dtype of {names}), got "
                      f"{given.name}: cast the input with x.astype('{have.name}'), or the "
                      f"layer with .cast('{given.name}')")
    raise OpError(f"input dtype {given.name} needs parameters ({names}) of dtype {want.name}, "
                  f"got {have.name}: cast the input or the layer")


def sequence_length_range(time_axis=None):
    """The ``value_ranges`` facet of ops taking ``sequence_length`` with ``use_sequence_length``:
    each length lies in 1..T, T the data's size along ``time_axis`` (the ``axis`` attribute when
    None)."""
    def ranges(data, *_, use_sequence_length=False, **attrs):
        if not use_sequence_length or data is None:
            return {}
        axis = attrs.get("axis", 0) if time_axis is None else time_axis
        return {"sequence_length": (1, int(data.shape[axis]) + 1)}
    return ranges
