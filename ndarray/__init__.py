"""``kiln.nd``: NDArray, creation functions and every registered op.

Example::

    >>> from kiln import nd
    >>> nd.relu(nd.array([-1, 2]))
    [0. 2.]
    <NDArray 2 @cpu(0)>
"""
import numpy as np

from ..device import as_context, current_context
from . import _registry, ndarray, random  # noqa: F401  (kiln.nd.random)
from . import contrib  # noqa: F401  (kiln.nd.contrib: MXNet's mx.nd.contrib)
from . import ops as _ops
from .io import load, load_frombuffer, save  # noqa: F401
from .ndarray import NDArray
from .ops import *  # noqa: F401,F403  (every op and alias)

for _name in list(vars(_ops)):
    if not _name.startswith("__") and _name not in globals():
        globals()[_name] = getattr(_ops, _name)


def array(source_array, ctx=None, dtype=None):
    """Create an NDArray from a list, numpy array or NDArray (float32 unless ``dtype`` given,
    as in MXNet; an NDArray source keeps its dtype)."""
    if isinstance(source_array, NDArray):
        dtype = source_array.dtype if dtype is None else dtype
        src = source_array.asnumpy()
    else:
        dtype = np.float32 if dtype is None else dtype
        src = source_array
        if hasattr(src, "__cuda_array_interface__") and not isinstance(src, np.ndarray):
            src = src.get()
    data = np.array(src, dtype=np.dtype(dtype), copy=True)
    ctx = as_context(ctx)
    if ctx.device_type != "cpu":
        with ctx.use():
            data = ctx.xp.asarray(data)
    return NDArray(data, ctx)


def from_numpy(ndarray_, zero_copy=True):
    """Wrap a numpy array without changing its dtype.

    With ``zero_copy`` (MXNet's default) the NDArray shares the memory, the source must be
    C-contiguous and, as in MXNet, becomes read-only (write through the NDArray instead).
    """
    if not zero_copy:  # a copy on the current device
        return array(ndarray_, dtype=ndarray_.dtype)
    if not ndarray_.flags["C_CONTIGUOUS"]:
        raise ValueError("from_numpy(zero_copy=True) needs a C-contiguous array; pass "
                         "zero_copy=False to copy it")
    view = np.asarray(_WritableView(ndarray_))
    ndarray_.flags.writeable = False
    return NDArray(view, current_context())


class _WritableView:
    """Exposes an array's memory as writable even once the array itself is flagged read-only
    (from_numpy marks its source read-only; converting that source again must still work)."""

    def __init__(self, a):
        self.base = a
        iface = dict(a.__array_interface__)
        iface["data"] = (iface["data"][0], False)
        self.__array_interface__ = iface


def from_dlpack(obj):
    """An NDArray sharing memory with a DLPack-capable object (or a raw DLPack capsule)."""
    if type(obj).__name__ == "PyCapsule":
        obj = _Capsule(obj)
    try:
        device_type = obj.__dlpack_device__()[0]
    except AttributeError:
        device_type = 1
    if device_type == 1:
        return NDArray(np.from_dlpack(obj), as_context("cpu"))
    import cupy
    data = cupy.from_dlpack(obj)
    return NDArray(data, as_context(f"gpu({data.device.id})"))


class _Capsule:
    """Lets numpy consume a bare DLPack capsule (MXNet's to_dlpack_for_read returns one)."""

    def __init__(self, capsule):
        self.capsule = capsule

    def __dlpack__(self, *args, **kwargs):
        return self.capsule

    def __dlpack_device__(self):
        return (1, 0)


def to_dlpack_for_read(arr):
    return arr.to_dlpack_for_read()


def to_dlpack_for_write(arr):
    return arr.to_dlpack_for_write()


def waitall():
    """Wait for all pending computation (a no-op: kiln computes synchronously on the CPU)."""


def concatenate(arrays, axis=0, always_copy=True):
    """Join arrays along an existing axis (MXNet's ``nd.concatenate``)."""
    return _ops.concat(*arrays, dim=axis)


__all__ = [n for n in globals() if not n.startswith("_")]
_ = current_context
_ = _registry
