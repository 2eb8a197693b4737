"""NDArrays from other arrays: ``nd.array``, ``nd.from_numpy``, DLPack in and out.

Example::

    >>> nd.array([[1, 2], [3, 4]]).dtype          # float32 unless dtype is given, as in MXNet
    <class 'numpy.float32'>
"""
import numpy as np

from ..device import as_context, current_context
from .ndarray import NDArray


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
