"""Shared pieces of ``kiln.np``: the result wrapper and MXNet np's dtype rules.

Every ``kiln.np`` function runs kiln's registry ops (so autograd and hybridize work unchanged)
and hands their results to :func:`wrap`, which makes them ``kiln.np.ndarray``s. Tracer values
(hybridize) become np-flavoured traced values (``traced._Symbol``).
"""
import numpy as onp

from ..ndarray import ops as F
from ..ndarray.ndarray import NDArray, to_np_inplace
from ..symbol.symbol import Symbol
from ..symbol.symbol import to_np_inplace as sym_to_np

_BOOL = onp.dtype(bool)
_F32 = onp.dtype(onp.float32)
_I64 = onp.dtype(onp.int64)


def wrap(res):
    """``res`` (an op's fresh result, or a list/tuple of them) as ``kiln.np.ndarray``s."""
    if type(res) is NDArray:
        return to_np_inplace(res)
    if isinstance(res, NDArray):
        return res
    if type(res) is Symbol:
        return sym_to_np(res)
    if isinstance(res, (list, tuple)):
        return type(res)(wrap(r) for r in res)
    return res


def dtype_of(x):
    """``x``'s numpy dtype (None for a Python or numpy scalar)."""
    d = getattr(x, "dtype", None)
    if d is None or isinstance(x, onp.generic):
        return None
    return onp.dtype(d)


def binary_dtype(a, b, kind):
    """MXNet 1.9 np's result dtype of ``a <op> b`` (checked against MXNet): an array with a
    scalar keeps the array's dtype (bool arrays give int64); two arrays of one kind promote;
    an int array with a float array gives the float dtype. ``kind`` is ``'arith'``,
    ``'divide'`` (true division: ints give float32) or ``'compare'`` (bool)."""
    if kind == "compare":
        return _BOOL
    da, db = dtype_of(a), dtype_of(b)
    if da is None and db is None:
        return None
    if da is None or db is None:
        d = da if db is None else db
        if d == _BOOL:
            d = _I64
    elif da == db:
        d = da
    elif (da.kind == "f") != (db.kind == "f"):
        d = da if da.kind == "f" else db
    else:
        d = onp.promote_types(da, db)
        if d == _BOOL:
            d = _BOOL
    if kind == "divide" and d.kind in "iub":
        return _F32
    return d


def cast_to(x, dtype):
    """``x`` cast to ``dtype`` when it is an array of another dtype (differentiable)."""
    if dtype is None or not hasattr(x, "dtype") or isinstance(x, onp.generic):
        return x
    if onp.dtype(x.dtype) == dtype:
        return x
    return F.cast(x, dtype=dtype)


_SCALARS = (int, float)


def binary(fn, a, b, kind="arith"):
    """Run registry op ``fn`` on ``a``, ``b`` with MXNet np's dtype rule; an np result."""
    if kind != "compare":  # the common case first: float arrays of one dtype, or with a number
        da, db = getattr(a, "_data", None), getattr(b, "_data", None)
        if da is not None and da.dtype.kind == "f" and (
                (db is not None and db.dtype == da.dtype) or type(b) in _SCALARS):
            return wrap(fn(a, b))
        if db is not None and db.dtype.kind == "f" and type(a) in _SCALARS:
            return wrap(fn(a, b))
    d = binary_dtype(a, b, kind)
    if kind != "compare" and d is not None and d != _BOOL:
        a, b = cast_to(a, d), cast_to(b, d)
    res = fn(a, b)
    return wrap(cast_to(res, d))


def shape_of(x):
    """``x``'s shape as a tuple of ints."""
    return tuple(int(s) for s in x.shape)


def norm_axis(axis):
    """numpy's ``axis`` (None, an int or a tuple) as kiln's reduce attribute."""
    if axis is None:
        return None
    if isinstance(axis, (list, tuple)):
        return tuple(int(a) for a in axis)
    return int(axis)
