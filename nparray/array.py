"""``kiln.np.ndarray``: an NDArray with numpy semantics (MXNet 1.9's ``mx.np.ndarray``).

A slot-less subclass of kiln's NDArray: the same data, device and autograd bookkeeping, so
``attach_grad``/``autograd.record``/``backward`` work unchanged. What differs is what numpy
users expect: full reductions give shape ``()``, comparisons give bool arrays, boolean masks
index, ``reshape`` takes numpy's shapes (-1 only), MXNet np's dtype rules, numpy's ``repr``.

Example::

    >>> from kiln import np
    >>> x = np.array([[1, 2], [3, 4]])
    >>> x[x > 2].sum()
    array(7.)
"""
import numpy as onp

from ..ndarray import ops as F
from ..ndarray.ndarray import NDArray, register_np_type
from ..ndarray.ndarray import _rebuild as _nd_rebuild
from . import _core, shape_ops
from ._core import binary, wrap


class ndarray(NDArray):  # noqa: N801 - numpy's and MXNet's name
    """An n-dimensional array with numpy semantics (see the module docstring)."""

    __slots__ = ()
    _is_np = True

    # ---- conversion and printing -----------------------------------------------------------
    def as_np_ndarray(self):
        return self

    def __repr__(self):
        text = repr(self.asnumpy())
        if self._data.dtype == onp.float32:  # MXNet np shows dtype except for its default
            text = text.replace(", dtype=float32", "")
        if self._ctx.device_type != "cpu":
            text = f"{text[:-1]}, ctx={self._ctx})"
        return text

    def __str__(self):
        return str(self.asnumpy())

    def __reduce__(self):
        return (_rebuild, (self.asnumpy(), str(self._ctx)))

    @property
    def dtype(self):
        """The element type as a numpy dtype (``dtype('float32')``), as numpy and MXNet np."""
        return self._data.dtype

    @property
    def grad(self):
        g = self._grad
        return None if g is None else wrap(g)

    def detach(self):
        return wrap(super().detach())

    def copy(self):
        return wrap(F.identity(self))

    def astype(self, dtype, copy=True):
        if not copy and onp.dtype(dtype) == self._data.dtype:
            return self
        return wrap(F.cast(self, dtype=onp.dtype(dtype).name))

    def as_in_context(self, ctx):
        return wrap(super().as_in_context(ctx))

    as_in_ctx = to_device = as_in_context

    def copyto(self, other):
        return wrap(super().copyto(other))

    # ---- indexing --------------------------------------------------------------------------
    def __getitem__(self, key):
        key = _mask_to_indices(key)
        res = NDArray.__getitem__(self, key)
        if _all_ints(key, self.ndim) and res.shape != ():
            res = F.reshape(res, shape=())
        return wrap(res)

    def __setitem__(self, key, value):
        NDArray.__setitem__(self, _mask_to_indices(key), value)

    # ---- shape -----------------------------------------------------------------------------
    @property
    def T(self):
        return wrap(F.transpose(self))

    def reshape(self, *shape, order="C"):
        """numpy's reshape (-1 infers one axis; 0 is a zero-size axis, not MXNet's copy code)."""
        if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
            shape = tuple(shape[0])
        return shape_ops.reshape(self, shape, order=order)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]


def _rebuild(data, ctx):
    return wrap(_nd_rebuild(data, ctx))


def _is_mask(k):
    if isinstance(k, NDArray):
        return k.dtype == onp.bool_
    if isinstance(k, onp.ndarray):
        return k.dtype == onp.bool_
    if isinstance(k, list) and k and all(isinstance(v, (bool, onp.bool_)) for v in k):
        return True
    return False


def _mask_to_indices(key):
    """Boolean masks in ``key`` replaced by the integer index arrays numpy derives from them
    (``nonzero``), so indexing stays one differentiable ``getitem``."""
    parts = key if isinstance(key, tuple) else (key,)
    if not any(_is_mask(k) for k in parts):
        return key
    out = []
    for k in parts:
        if _is_mask(k):
            mask = k.asnumpy() if isinstance(k, NDArray) else onp.asarray(k)
            out.extend(onp.nonzero(mask))
        else:
            out.append(k.asnumpy() if isinstance(k, NDArray) else k)
    return tuple(out)


def _all_ints(key, ndim):
    parts = key if isinstance(key, tuple) else (key,)
    return len(parts) == ndim and all(isinstance(k, (int, onp.integer)) for k in parts)


ndarray.__module__ = "kiln.np"  # where users find it (MXNet: mxnet.numpy.ndarray)
register_np_type(ndarray)

# ---- operators: MXNet np's dtype rules over the registry ops ---------------------------------
_ARITH = {"add": F.add, "sub": F.subtract, "mul": F.multiply, "pow": F.power, "mod": F.mod,
          "floordiv": F.floor_divide}
_COMPARE = {"eq": F.equal, "ne": F.not_equal, "lt": F.lesser, "le": F.lesser_equal,
            "gt": F.greater, "ge": F.greater_equal}


def _op(fn, kind, reflected=False):
    if reflected:
        def method(self, other):
            return binary(fn, other, self, kind)
    else:
        def method(self, other):
            return binary(fn, self, other, kind)
    return method


def _iop(fn, kind):
    def method(self, other):
        res = binary(fn, self, other, kind)
        NDArray.__setitem__(self, slice(None), _core.cast_to(res, self._data.dtype))
        return self
    return method


def install_operators(cls, inplace=True):
    """Give ``cls`` (``ndarray``, and the traced np value) numpy's operators with MXNet np's
    dtype rules; ``inplace=False`` (traced values) leaves ``x += y`` to mean ``x = x + y``."""
    base_hash = cls.__hash__
    for name, fn in _ARITH.items():
        setattr(cls, f"__{name}__", _op(fn, "arith"))
        setattr(cls, f"__r{name}__", _op(fn, "arith", reflected=True))
        if inplace:
            setattr(cls, f"__i{name}__", _iop(fn, "arith"))
    for name in ("truediv", "div"):
        setattr(cls, f"__{name}__", _op(F.divide, "divide"))
        setattr(cls, f"__r{name}__", _op(F.divide, "divide", reflected=True))
        if inplace:
            setattr(cls, f"__i{name}__", _iop(F.divide, "divide"))
    for name, fn in _COMPARE.items():
        setattr(cls, f"__{name}__", _op(fn, "compare"))
    cls.__matmul__ = lambda self, other: wrap(F.matmul(self, other))
    cls.__rmatmul__ = lambda self, other: wrap(F.matmul(other, self))
    cls.__neg__ = lambda self: wrap(F.negative(self))
    cls.__abs__ = lambda self: wrap(F.abs(self))
    cls.__hash__ = base_hash  # defining __eq__ would otherwise drop it


install_operators(ndarray)
