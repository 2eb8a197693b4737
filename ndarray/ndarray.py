"""NDArray: an n-dimensional array on a device, with autograd bookkeeping.

The data is a numpy (CPU) or cupy (GPU) array; every computation goes through the op registry
(``_registry.invoke``), so methods and operators here are thin.

Example::

    >>> x = kl.nd.array([[1, 2], [3, 4]])
    >>> (x * 2 + 1).sum()
    [24.]
    <NDArray 1 @cpu(0)>
"""
import threading

import numpy as np

from ..base import MXNetError, OpError, user_frame
from ..device import _CPU0, as_context
from ..device import move_data as _move
from . import _derived, _registry
from . import ops as F  # the op namespace (the ops never import this module at load time)

# MXNet's storage-type tables (mxnet.ndarray.ndarray): -1 is an undefined storage type
_STORAGE_TYPE_UNDEFINED = -1
_STORAGE_TYPE_DEFAULT = 0
_STORAGE_TYPE_ROW_SPARSE = 1
_STORAGE_TYPE_CSR = 2
_STORAGE_TYPE_STR_TO_ID = {"undefined": _STORAGE_TYPE_UNDEFINED,
                           "default": _STORAGE_TYPE_DEFAULT,
                           "row_sparse": _STORAGE_TYPE_ROW_SPARSE, "csr": _STORAGE_TYPE_CSR}
_STORAGE_TYPE_ID_TO_STR = {v: k for k, v in _STORAGE_TYPE_STR_TO_ID.items()}
_TO_SPARSE = None   # (stype, raw dense, ctx) -> sparse NDArray: installed by nd.sparse


def register_storage(to_sparse):
    """Install the dense -> sparse converter of ``nd.sparse`` (which subclasses NDArray, so
    this module cannot import it)."""
    global _TO_SPARSE
    _TO_SPARSE = to_sparse


class NDArray:
    """An array on a device. ``_node``/``_index`` link it to the autograd tape."""

    # _fresh_grad (left unset until attach_grad) tells Trainer whether backward wrote .grad
    __slots__ = ("_data", "_ctx", "_node", "_index", "_grad", "_grad_req", "_fresh_grad",
                 "__weakref__")
    __array_priority__ = 1000.0  # numpy scalars defer to our reflected operators
    _is_np = False  # True on kiln.np.ndarray (numpy semantics); Block outputs follow inputs

    def __init__(self, data, ctx=None):
        self._data = data
        self._ctx = as_context(ctx) if ctx is not None else _CPU0
        self._node = None
        self._index = 0
        self._grad = None
        self._grad_req = None

    # ---- basic properties ------------------------------------------------------------------
    @property
    def shape(self):
        return self._data.shape

    @property
    def dtype(self):
        """The element type as a numpy scalar type (``numpy.float32``), as in MXNet."""
        return self._data.dtype.type

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def size(self):
        return self._data.size

    @property
    def context(self):
        return self._ctx

    ctx = context
    device = context

    @property
    def stype(self):
        return "default"

    @property
    def T(self):
        return F.transpose(self)

    @property
    def grad(self):
        """The gradient buffer attached by ``attach_grad`` (None before)."""
        return self._grad

    @property
    def grad_req(self):
        return self._grad_req or "null"

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d NDArray")
        return self._data.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __hash__(self):
        return id(self)

    def __bool__(self):
        if self._data.size == 0:  # MXNet: an empty array is False
            return False
        if self._data.size != 1:
            raise ValueError("The truth value of an NDArray with more than one element is "
                             "ambiguous.")
        return bool(self._data.reshape(-1)[0])

    def __float__(self):
        return float(self.asscalar())

    def __int__(self):
        return int(self.asscalar())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer scalar NDArrays can be used as an index")
        return int(self.asscalar())

    # ---- conversion ------------------------------------------------------------------------
    def asnumpy(self):
        """A numpy copy of the data (copied from the GPU when needed)."""
        d = self._data
        if isinstance(d, np.ndarray):
            return d.copy()
        if isinstance(d, np.generic):   # numpy ufuncs give scalars for 0-d arrays
            return np.asarray(d)
        return d.get()

    def asscalar(self):
        if self._data.size != 1:
            raise ValueError(f"asscalar() needs an array of size 1, this one has shape "
                             f"{self.shape}")
        return self.asnumpy().reshape(-1)[0]

    def item(self):
        return self.asscalar().item()

    def tolist(self):
        return self.asnumpy().tolist()

    def __array__(self, dtype=None, copy=None):
        a = self.asnumpy()
        return a if dtype is None else a.astype(dtype, copy=False)

    def __dlpack__(self, *args, **kwargs):
        _derived.share(self._data)   # the consumer may write: never held read-only again
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def to_dlpack_for_read(self):
        _derived.share(self._data)   # MXNet's capsule is writable: never held read-only again
        return self._data.__dlpack__()

    to_dlpack_for_write = to_dlpack_for_read

    def as_np_ndarray(self):
        """This array as a ``kiln.np.ndarray`` (numpy semantics), sharing data and tape link.

        Example::

            >>> kl.nd.ones((2,)).as_np_ndarray().sum().shape
            ()
        """
        return _retype(self, _NP_TYPE[0])

    def as_nd_ndarray(self):
        """This array as a plain (MXNet legacy semantics) NDArray sharing its data."""
        return _retype(self, NDArray)

    def astype(self, dtype, copy=True):
        """Cast to ``dtype`` (differentiable between float types)."""
        if not copy and np.dtype(dtype) == self._data.dtype:
            return self
        return F.cast(self, dtype=dtype)

    def copy(self):
        return F.identity(self)

    def copyto(self, other):
        """Copy into ``other`` (an NDArray, written in place) or onto a device (a new array)."""
        if isinstance(other, NDArray):
            if other is self:
                return other
            _derived.thaw(other._data)
            other._data[...] = _move(self._data, other._ctx)
            return other
        ctx = as_context(other)
        return NDArray(_move(self._data, ctx, copy=True), ctx)

    def as_in_context(self, ctx):
        """This array on device ``ctx`` (itself when it is already there)."""
        ctx = as_context(ctx)
        if ctx == self._ctx:
            return self
        return F.to_device(self, device=ctx)

    as_in_ctx = as_in_context
    to_device = as_in_context

    def tostype(self, stype):
        """This array in storage type ``stype``: 'default' (a copy), 'csr' or 'row_sparse'
        (``nd.sparse``; rows / entries that are not zero are stored)."""
        if stype == "default":
            return self.copy()
        if stype not in _STORAGE_TYPE_STR_TO_ID or _TO_SPARSE is None:
            raise ValueError(f"tostype: unknown storage type {stype!r}")
        return _TO_SPARSE(stype, self._data, self._ctx)

    def wait_to_read(self):
        return self

    wait_to_write = wait_to_read

    # ---- autograd --------------------------------------------------------------------------
    def attach_grad(self, grad_req="write", stype=None):
        """Make this array a variable: backward writes (or adds) its gradient into ``.grad``."""
        if grad_req not in ("write", "add", "null"):
            raise ValueError(f"grad_req must be 'write', 'add' or 'null', got {grad_req!r}")
        xp = self._ctx.xp
        self._grad = NDArray(xp.zeros_like(self._data), self._ctx)
        if stype not in (None, "default"):   # a sparse gradient buffer (nd.sparse)
            self._grad = self._grad.tostype(stype)
        self._grad_req = None if grad_req == "null" else grad_req
        self._node = None
        self._fresh_grad = False

    def detach(self):
        """The same data, cut from the autograd graph."""
        return NDArray(self._data, self._ctx)

    def backward(self, out_grad=None, retain_graph=False, train_mode=True):
        """Compute gradients of this array w.r.t. the variables it was computed from."""
        _registry._backward([self], None if out_grad is None else [out_grad],
                            retain_graph=retain_graph, train_mode=train_mode)

    # ---- indexing --------------------------------------------------------------------------
    def __getitem__(self, key):
        enc, arrays = encode_index(key, self._ctx)
        return F.getitem(self, *arrays, key=enc)

    def __setitem__(self, key, value):
        if _is_full_key(key) and _registry.STATE.recording:
            _check_inplace(self, "x[...] = value")
            if _in_graph(value):  # MXNet records the whole-array copy: x becomes part of the graph
                return self._assign_recorded(value)
        else:
            _check_inplace(self, "x[...] = value", value)
        ctx = self._ctx
        if isinstance(key, NDArray):
            key = _index_data(key, ctx)
        elif isinstance(key, tuple):
            key = tuple(_index_data(k, ctx) if isinstance(k, NDArray) else k for k in key)
        if isinstance(value, NDArray):  # from another device it is copied over, as in MXNet
            value = value._data if value._ctx == ctx else _move(value._data, ctx)
        elif ctx.device_type != "cpu" and not isinstance(value, (int, float, bool, np.generic)):
            value = _move(np.asarray(value), ctx)  # lists and numpy arrays onto the GPU
        _derived.thaw(self._data)
        try:
            try:
                self._data[key] = value
            except (ValueError, TypeError):
                # MXNet accepts a one-element sequence for a single element (x[0] = [v])
                if np.size(value) != 1:
                    raise
                self._data[key] = ctx.xp.asarray(value).reshape(())
        except (ValueError, IndexError) as e:
            raise OpError(f"setitem: {e} (array {self.shape}, value "
                          f"{getattr(value, 'shape', value)}) at {user_frame()}") from e

    def _assign_recorded(self, value):
        res = value if value.dtype == self.dtype else F.cast(value, dtype=self.dtype)
        if res.ndim > self.ndim and all(d == 1 for d in res.shape[:res.ndim - self.ndim]):
            res = F.reshape(res, shape=res.shape[res.ndim - self.ndim:])  # x[None] = v
        if res.shape != self.shape:
            res = F.broadcast_to(res, shape=self.shape)
        elif res is value:
            res = F.identity(res)
        _derived.thaw(self._data)
        self._data[...] = res._data
        self._node, self._index = res._node, res._index

    # ---- printing --------------------------------------------------------------------------
    def __repr__(self):
        shape = "x".join(str(s) for s in self.shape)  # "" for 0-d, as MXNet prints it
        return f"\n{self.asnumpy()}\n<NDArray {shape} @{self._ctx}>"

    __str__ = __repr__

    def __format__(self, spec):
        if self._data.size == 1 and spec:
            return format(self.asscalar(), spec)
        return repr(self)

    def __reduce__(self):
        return (_rebuild, (self.asnumpy(), str(self._ctx)))

    # ---- reshape with MXNet codes ------------------------------------------------------------
    def reshape(self, *shape, **kwargs):
        """Reshape; accepts MXNet's special codes 0, -1, -2, -3, -4 and ``reverse=True``."""
        if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
            shape = tuple(shape[0])
        if "shape" in kwargs:
            shape = tuple(kwargs.pop("shape"))
        return F.reshape(self, shape=shape, **kwargs)

    # MXNet's shape-only methods take inplace=True to return a view sharing this array's memory
    def flatten(self, inplace=False):
        return _view_if(self, F.flatten(self), inplace)

    def expand_dims(self, axis, inplace=False):
        return _view_if(self, F.expand_dims(self, axis=axis), inplace)

    def squeeze(self, axis=None, inplace=False):
        return _view_if(self, F.squeeze(self, axis=axis), inplace)


# The numpy-semantics subclass (kiln.np.ndarray), registered by the package that defines it
# (a higher layer), and the per-thread switch of MXNet's np_array semantics, read by nn/'s
# Parameter (its arrays become np arrays when it is initialized with the switch on).
_NP_TYPE = [None]
_NP_MODE = threading.local()


def register_np_type(cls):
    """Register ``cls`` (a slot-less NDArray subclass) as the type ``as_np_ndarray`` makes."""
    if _NP_TYPE[0] not in (None, cls):
        raise RuntimeError("a numpy-semantics array type is registered already")
    _NP_TYPE[0] = cls


def np_mode():
    """Whether MXNet's NumPy array semantics (``npx.set_np()``) is on in this thread."""
    return getattr(_NP_MODE, "on", False)


def set_np_mode(active):
    """Turn NumPy array semantics on or off in this thread; returns the previous state."""
    previous, _NP_MODE.on = np_mode(), bool(active)
    return previous


def _retype(a, cls, inplace=False):
    """``a`` as an instance of ``cls``: itself when it already is, ``a`` converted in place
    when ``inplace`` (a variable's identity keys its gradient), else a new object on its data
    and tape link."""
    if cls is None:
        raise RuntimeError("kiln.np is not imported (import kiln first)")
    if type(a) is cls:
        return a
    if inplace:
        a.__class__ = cls
        return a
    b = object.__new__(cls)
    b._data, b._ctx, b._node, b._index = a._data, a._ctx, a._node, a._index
    b._grad, b._grad_req = a._grad, a._grad_req
    return b


def to_np_inplace(a):
    """Make ``a`` (a fresh result or a Parameter's variable) a ``kiln.np.ndarray`` in place."""
    return _retype(a, _NP_TYPE[0], inplace=True)


def _view_if(src, res, inplace):
    """``res`` (a reshaped ``src``), made to share ``src``'s memory when ``inplace``."""
    if inplace:
        res._data = src._data.reshape(res._data.shape)
    return res


def _index_data(k, ctx):
    """An NDArray used in a setitem key, on the indexed array's device: float index arrays
    (MXNet's default) become int64."""
    d = k._data if k._ctx == ctx else _move(k._data, ctx)
    return d if d.dtype.kind in "iub" else d.astype(np.int64)


def _rebuild(data, ctx):
    return NDArray(data if ctx.startswith("cpu") else as_context(ctx).xp.asarray(data),
                   as_context(ctx))


def _is_full_key(key):
    """``x[:]``, ``x[...]``, ``x[None]`` (and tuples of those) address the whole array."""
    parts = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or (isinstance(k, slice) and k == slice(None))
               for k in parts)


def _in_graph(a):
    return isinstance(a, NDArray) and (a._node is not None or a._grad_req is not None)


def _check_inplace(arr, what, value=None):
    """MXNet refuses in-place writes while recording when the target or the written value is
    part of the graph (the write would silently drop or corrupt gradients)."""
    if _registry.STATE.recording and (_in_graph(arr) or _in_graph(value)):
        raise MXNetError(
            "Inplace operations (+=, -=, x[:]=, etc) are not supported when recording with "
            f"autograd: in-place update ({what}) involving an array that is part of the recorded "
            f"graph; do it outside autograd.record() or on a copy (at {user_frame()})")


def encode_index(key, ctx=None):
    """Encode an indexing key as a hashable structure plus the index arrays it uses.

    Slices become ``("s", start, stop, step)``, index arrays ``("a", i)`` referring to the
    i-th returned array, ``None`` and ``Ellipsis`` stay. The op ``getitem`` decodes it.
    Index arrays are put on ``ctx`` (the indexed array's device; the CPU when None).
    """
    if not isinstance(key, tuple):
        key = (key,)
    enc, arrays = [], []
    for k in key:
        if isinstance(k, slice):
            enc.append(("s", _int_or_none(k.start), _int_or_none(k.stop), _int_or_none(k.step)))
        elif k is None or k is Ellipsis:
            enc.append(k)
        elif isinstance(k, (int, np.integer)):
            enc.append(int(k))
        elif isinstance(k, NDArray) and k.ndim == 0:
            enc.append(int(k.asscalar()))
        elif isinstance(k, NDArray) or hasattr(k, "_trace_node"):
            enc.append(("a", len(arrays)))
            on_other = ctx is not None and isinstance(k, NDArray) and k._ctx != ctx
            arrays.append(k.as_in_context(ctx) if on_other else k)
        elif isinstance(k, (list, tuple, np.ndarray, range)):  # a nested tuple is an index array
            idx = np.asarray(k)
            if idx.dtype == bool:
                raise IndexError("boolean mask indexing is not supported; use nd.contrib."
                                 "boolean_mask or where()")
            enc.append(("a", len(arrays)))
            idx = idx.astype(np.int64)
            on_cpu = ctx is None or ctx.device_type == "cpu"
            arrays.append(NDArray(idx, ctx) if on_cpu else NDArray(_move(idx, ctx), ctx))
        else:
            raise IndexError(f"unsupported index {k!r}")
    return tuple(enc), arrays


def _int_or_none(v):
    if v is None:
        return None
    if isinstance(v, NDArray):
        return int(v.asscalar())
    return int(v)


def _new(data, ctx):
    """Fast constructor used by the dispatcher (skips argument normalization)."""
    a = object.__new__(NDArray)
    a._data = data
    a._ctx = ctx
    a._node = None
    a._index = 0
    a._grad = None
    a._grad_req = None
    return a


# ---- operators and methods generated from the registry ----
def _binop(name, reflected=False):
    fn = getattr(F, name, None) if F is not None else None
    if fn is not None:  # bound directly once the ops exist (one lookup less per call)
        if reflected:
            def method(self, other):
                return fn(other, self)
        else:
            def method(self, other):
                return fn(self, other)
    elif reflected:
        def method(self, other):
            return getattr(F, name)(other, self)
    else:
        def method(self, other):
            return getattr(F, name)(self, other)
    method.__name__ = name
    return method


def _inplace(name):
    def method(self, other):
        _check_inplace(self, f"{name} in place", other)
        res = getattr(F, name)(self, other)
        if res._data.dtype != self._data.dtype:
            res = res.astype(self._data.dtype)
        _derived.thaw(self._data)
        self._data[...] = res._data
        return self
    return method


_ARITH = [("add", "add"), ("sub", "subtract"), ("mul", "multiply"), ("truediv", "divide"),
          ("div", "divide"), ("pow", "power"), ("mod", "mod"), ("floordiv", "floor_divide"),
          ("matmul", "matmul")]
_COMPARE = [("eq", "equal"), ("ne", "not_equal"), ("lt", "lesser"), ("le", "lesser_equal"),
            ("gt", "greater"), ("ge", "greater_equal")]


def install_operators(cls, inplace=True):
    """Give ``cls`` (NDArray, and the traced Symbol) the arithmetic and comparison operators."""
    for dunder, op in _ARITH:
        setattr(cls, f"__{dunder}__", _binop(op))
        setattr(cls, f"__r{dunder}__", _binop(op, reflected=True))
        if inplace:
            setattr(cls, f"__i{dunder}__", _inplace(op))
    for dunder, op in _COMPARE:
        setattr(cls, f"__{dunder}__", _binop(op))
    cls.__neg__ = lambda self: F.negative(self)
    cls.__pos__ = lambda self: self
    cls.__abs__ = lambda self: F.abs(self)


install_operators(NDArray)


def _method(name):
    def method(self, *args, **kwargs):
        return getattr(F, name)(self, *args, **kwargs)
    method.__name__ = name
    return method


_METHODS = """
abs sign exp expm1 log log1p log2 log10 sqrt rsqrt square reciprocal sin cos tan arcsin arccos
arctan sinh cosh tanh arcsinh arccosh arctanh erf floor ceil round rint trunc fix relu sigmoid
softmax log_softmax clip sum mean prod max min argmax argmin norm nansum nanprod logsumexp
transpose swapaxes expand_dims squeeze flatten flip tile repeat pad broadcast_like reshape_like
split slice slice_axis take pick one_hot topk sort argsort zeros_like ones_like dot batch_dot
softmin where slice_like depth_to_space space_to_depth diag broadcast_axes broadcast_axis
split_v2 shape_array size_array log_sigmoid sigmoid softsign nanprod cbrt rcbrt degrees radians
argmax_channel
""".split()


def _broadcast_to(self, shape):
    """``x.broadcast_to(shape)``: the shape may be given positionally (MXNet's method)."""
    return F.broadcast_to(self, shape=tuple(shape))


def install_methods(cls):
    """Give ``cls`` the op-backed methods (``x.sum()``, ``x.relu()``...) it does not define."""
    for name in _METHODS:
        if not hasattr(cls, name):
            setattr(cls, name, _method(name))
    if not hasattr(cls, "broadcast_to"):
        cls.broadcast_to = _broadcast_to


install_methods(NDArray)
