"""Devices (MXNet calls them contexts): ``cpu()`` computes with numpy, ``gpu(i)`` with cupy.

Example::

    >>> import kiln as kl
    >>> kl.cpu()
    cpu(0)
    >>> with kl.cpu(0):
    ...     x = kl.nd.zeros((2, 3))      # created on the current device
"""
import threading

import numpy as np

from .base import MXNetError

_cupy = None
_cupy_checked = False


def _load_cupy():
    global _cupy, _cupy_checked
    if not _cupy_checked:
        _cupy_checked = True
        try:
            import cupy
            cupy.cuda.runtime.getDeviceCount()
            _cupy = cupy
        except Exception:  # no cupy, no driver or no device: GPU support is simply absent
            _cupy = None
    return _cupy


def num_gpus():
    """Number of usable GPUs: 0 without cupy or without a CUDA device."""
    cp = _load_cupy()
    if cp is None:
        return 0
    try:
        return int(cp.cuda.runtime.getDeviceCount())
    except Exception:
        return 0


class _DefaultContext:
    """``Context.default_ctx``: the device arrays are made on when none is given (MXNet 1.x's
    class property, read on the class)."""

    def __get__(self, obj, cls):
        return current_context()


class Context:
    """A device: ``device_type`` is ``'cpu'`` or ``'gpu'``; ``xp`` is its array module."""

    __slots__ = ("device_type", "device_id", "_xp")
    _stack = threading.local()
    default_ctx = _DefaultContext()

    def __init__(self, device_type="cpu", device_id=0):
        if isinstance(device_type, Context):
            device_type, device_id = device_type.device_type, device_type.device_id
        if device_type not in ("cpu", "gpu", "cpu_pinned", "cpu_shared"):
            raise ValueError(f"unknown device type {device_type!r}; use 'cpu' or 'gpu'")
        if device_type in ("cpu_pinned", "cpu_shared"):
            device_type = "cpu"
        self.device_type = device_type
        self.device_id = int(device_id)
        self._xp = np if device_type == "cpu" else None

    @property
    def xp(self):
        """The array module (numpy or cupy) that computes on this device."""
        if self._xp is None:
            cp = _load_cupy()
            if cp is None or self.device_id >= num_gpus():
                raise MXNetError(
                    f"{self} is not available: cupy is not installed or there is no GPU "
                    f"(kiln.num_gpus() == {num_gpus()})")
            self._xp = cp
        return self._xp

    def use(self):
        """Make this GPU current for cupy (a no-op on the CPU); returns a context manager."""
        if self.device_type == "gpu":
            return self.xp.cuda.Device(self.device_id)
        return _NullCtx()

    def __eq__(self, other):
        return (isinstance(other, Context) and self.device_type == other.device_type
                and self.device_id == other.device_id)

    def __hash__(self):
        return hash((self.device_type, self.device_id))

    def __reduce__(self):
        # the array module is not copied: a copy (deepcopy, pickle) finds it again
        return (Context, (self.device_type, self.device_id))

    def __repr__(self):
        return f"{self.device_type}({self.device_id})"

    __str__ = __repr__

    def __enter__(self):
        stack = _ctx_stack()
        stack.append(self)
        return self

    def __exit__(self, *exc):
        _ctx_stack().pop()

    def empty_cache(self):
        """Release cached GPU memory (a no-op on the CPU)."""
        if self.device_type == "gpu":
            self.xp.get_default_memory_pool().free_all_blocks()


class _NullCtx:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


Device = Context
_CPU0 = Context("cpu", 0)


def _ctx_stack():
    stack = getattr(Context._stack, "value", None)
    if stack is None:
        stack = Context._stack.value = []
    return stack


def cpu(device_id=0):
    """The CPU device (numpy)."""
    return _CPU0 if device_id == 0 else Context("cpu", device_id)


def gpu(device_id=0):
    """GPU ``device_id`` (cupy). Using it without a GPU raises a clear error."""
    return Context("gpu", device_id)


def cpu_pinned(device_id=0):
    """Pinned host memory in MXNet; plain CPU memory here."""
    return cpu(device_id)


def current_context():
    """The device arrays are created on when none is given (``cpu(0)`` by default)."""
    stack = getattr(Context._stack, "value", None)
    return stack[-1] if stack else _CPU0


current_device = current_context


def as_context(ctx):
    """Normalize ``None``, a Context or a string like ``'gpu(1)'`` / ``'cpu'`` to a Context."""
    if ctx is None:
        return current_context()
    if isinstance(ctx, Context):
        return ctx
    if isinstance(ctx, str):
        name = ctx.strip()
        if "(" in name:
            kind, idx = name.rstrip(")").split("(")
            return Context(kind, int(idx or 0))
        if ":" in name:
            kind, idx = name.split(":")
            return Context(kind, int(idx))
        return Context(name, 0)
    raise TypeError(f"expected a device (kiln.cpu(), kiln.gpu(i)), got {ctx!r}")


def move_data(data, ctx, copy=False):
    """Raw array data (numpy or cupy) on ``ctx``'s array module; ``copy`` forces a new array."""
    if ctx.device_type == "cpu":
        if isinstance(data, np.ndarray):
            return data.copy() if copy else data
        return data.get()
    xp = ctx.xp
    with ctx.use():
        return xp.array(data, copy=True) if copy else xp.asarray(data)
