"""``mxnet.util``: the NumPy-semantics switches, environment access and small helpers.

MXNet 1.9 can switch to NumPy shape semantics (``()`` is a scalar's shape, ``(2, 0)`` a
zero-size one; ``np_shape``) and to NumPy array semantics (Gluon makes ``mx.np.ndarray``s;
``np_array``); ``npx.set_np()`` turns both on. In kiln the array switch makes Parameters
initialized while it is on hold ``kiln.np`` arrays (Gluon blocks return np arrays for np
inputs either way); ``kiln.np`` arrays always have numpy shapes, and ``kiln.nd`` keeps MXNet's
legacy shapes whatever the shape switch says. Both switches are per thread, as in MXNet.

Example::

    >>> import kiln as mx
    >>> mx.util.is_np_shape()
    False
    >>> with mx.util.np_shape(True):
    ...     mx.util.is_np_shape()
    True
"""
import functools
import inspect
import os
import threading

from .device import num_gpus
from .ndarray.ndarray import np_mode, set_np_mode

__all__ = ["is_np_shape", "set_np_shape", "np_shape", "use_np_shape", "is_np_array",
           "np_array", "use_np_array", "use_np", "set_np", "reset_np", "getenv", "setenv",
           "set_module", "get_gpu_count", "get_gpu_memory",
           "get_cuda_compute_capability"]

_STATE = threading.local()   # MXNet keeps both flags per thread


def _flag(name):
    return getattr(_STATE, name, False)


def set_np_shape(active):
    """Turn NumPy shape semantics on or off; returns the previous state (see the module's
    docstring for what it changes in kiln).

    Example::

        >>> mx.util.set_np_shape(False)
        False
    """
    previous, _STATE.np_shape = _flag("np_shape"), bool(active)
    return previous


def is_np_shape():
    """Whether NumPy shape semantics is on.

    Example::

        >>> mx.util.is_np_shape()
        False
    """
    return _flag("np_shape")


class _Scope:
    """``with``-scope of one switch: sets it on entry, restores the previous value on exit."""

    def __init__(self, setter, active):
        self._setter, self._active, self._previous = setter, bool(active), None

    def __enter__(self):
        self._previous = self._setter(self._active)
        return self

    def __exit__(self, *exc):
        self._setter(self._previous)


def np_shape(active=True):
    """A ``with``-scope that turns NumPy shape semantics on or off.

    Example::

        >>> with mx.util.np_shape(False):
        ...     x = mx.nd.ones((2,))
    """
    return _Scope(set_np_shape, active)


def _set_np_array(active):
    return set_np_mode(active)


def is_np_array():
    """Whether NumPy array semantics is on (``npx.set_np()``).

    Example::

        >>> mx.util.is_np_array()
        False
    """
    return np_mode()


def np_array(active=True):
    """A ``with``-scope that turns NumPy array semantics on or off.

    Example::

        >>> with mx.util.np_array(False):
        ...     pass
    """
    return _Scope(_set_np_array, active)


def _scoped(scope_factory, func, decorator):
    """``func`` (a function or a class's methods and properties) run inside a scope; as in
    MXNet, decorating never fails."""
    if inspect.isclass(func):
        members = inspect.getmembers(func, lambda f: inspect.isfunction(f) or
                                     inspect.ismethod(f) or isinstance(f, property))
        for name, member in members:
            if isinstance(member, property):
                member = property(decorator(member.__get__), member.__set__,
                                  member.__delattr__, member.__doc__)
            else:
                member = decorator(member)
            setattr(func, name, member)
        return func
    if not callable(func):
        raise TypeError(f"{decorator.__name__} decorates classes and callables, not "
                        f"{type(func)}")

    @functools.wraps(func)
    def run(*args, **kwargs):
        with scope_factory():
            return func(*args, **kwargs)
    return run


def use_np_shape(func):
    """Decorator: run ``func`` (or every method of a class) with NumPy shape semantics on.

    Example::

        >>> @mx.util.use_np_shape
        ... def f():
        ...     return mx.util.is_np_shape()
        >>> f()
        True
    """
    return _scoped(lambda: np_shape(True), func, use_np_shape)


def use_np_array(func):
    """Decorator: run ``func`` (or every method of a class) with NumPy array semantics on
    (see :func:`use_np_shape`)."""
    return _scoped(lambda: np_array(True), func, use_np_array)


def use_np(func):
    """Decorator: both NumPy shape and array semantics (``use_np_shape(use_np_array(func))``):
    a Block class decorated with it creates np Parameters and returns np arrays.

    Example::

        >>> @mx.util.use_np
        ... class Net(mx.gluon.HybridBlock): ...
    """
    return use_np_shape(use_np_array(func))


def set_np(shape=True, array=True):
    """Turn NumPy shape and array semantics on or off together (``npx.set_np``).

    Example::

        >>> mx.util.set_np()
        >>> mx.util.is_np_array()
        True
        >>> mx.util.reset_np()
    """
    if not shape and array:
        raise ValueError("NumPy Shape semantics is required in using NumPy array semantics.")
    _set_np_array(array)
    set_np_shape(shape)


def reset_np():
    """Turn both NumPy semantics off (``set_np(False, False)``).

    Example::

        >>> mx.util.reset_np()
    """
    set_np(shape=False, array=False)


def getenv(name):
    """The value of environment variable ``name``, or ``None`` (kiln reads the process
    environment; MXNet reads its C runtime's, which is the same one).

    Example::

        >>> mx.util.getenv("MXNET_ENGINE_TYPE") is None
        True
    """
    return os.environ.get(name)


def setenv(name, value):
    """Set environment variable ``name`` to ``value``; ``None`` removes it.

    Example::

        >>> mx.util.setenv("MXNET_TEST_FLAG", "1")
    """
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = str(value)


def set_module(module):
    """Decorator setting a function's or class's ``__module__`` (for documentation).

    Example::

        >>> @mx.util.set_module("kiln.nd")
        ... def f(): pass
        >>> f.__module__
        'kiln.nd'
    """
    def decorator(func):
        if module is not None:
            func.__module__ = module
        return func
    return decorator


def get_gpu_count():
    """Number of GPUs kiln can use (0 without cupy or a CUDA device).

    Example::

        >>> mx.util.get_gpu_count() >= 0
        True
    """
    return num_gpus()


def get_gpu_memory(gpu_dev_id):
    """``(free, total)`` bytes of GPU ``gpu_dev_id``; raises without a usable GPU.

    Example::

        >>> free, total = mx.util.get_gpu_memory(0)   # on a machine with a GPU
    """
    if gpu_dev_id >= num_gpus():
        raise ValueError(f"no GPU {gpu_dev_id}: kiln sees {num_gpus()} GPU(s)")
    import cupy
    with cupy.cuda.Device(gpu_dev_id):
        free, total = cupy.cuda.runtime.memGetInfo()
    return int(free), int(total)


def get_cuda_compute_capability(ctx):
    """Compute capability of GPU ``ctx`` as an int (70 for sm_70); ``ValueError`` for a CPU.

    Example::

        >>> mx.util.get_cuda_compute_capability(mx.gpu(0))   # on an H100
        90
    """
    if ctx.device_type != "gpu":
        raise ValueError(f"Expecting a gpu context to get cuda compute capability, while "
                         f"received ctx {ctx}")
    if ctx.device_id >= num_gpus():
        raise ValueError(f"no GPU {ctx.device_id}: kiln sees {num_gpus()} GPU(s)")
    import cupy
    return int(cupy.cuda.Device(ctx.device_id).compute_capability)
