"""``kiln.np.ndarray``'s numpy methods (``x.sum(axis=0)``, ``x.argmax()``...), bound to the
``kiln.np`` functions so methods and functions agree. The nd methods that numpy's ndarray
lacks or means otherwise are replaced here.

Example::

    >>> np.ones((2, 3)).sum(axis=1).shape
    (2,)
"""
from ..ndarray.ndarray import _METHODS as ND_METHODS
from ..ndarray.ndarray import NDArray
from . import extra_ops, linalg, manip_ops, math_ops, reduce_ops, shape_ops
from ._core import wrap
from .array import ndarray

_FROM = {reduce_ops: "sum mean prod max min var std argmax argmin all any cumsum nonzero",
         shape_ops: "transpose swapaxes expand_dims squeeze repeat dot tile ravel",
         manip_ops: "take diagonal ptp",
         math_ops: "clip", extra_ops: "sort argsort flip round trace"}


def _bind(fn):
    def method(self, *args, **kwargs):
        return fn(self, *args, **kwargs)
    method.__name__ = fn.__name__
    method.__doc__ = fn.__doc__
    return method


def _reflected(fn):
    def method(self, other):
        return fn(other, self)
    return method


def _transpose(self, *axes):
    """numpy's ``x.transpose(1, 0)`` / ``x.transpose((1, 0))``."""
    if len(axes) == 1 and (axes[0] is None or isinstance(axes[0], (list, tuple))):
        axes = axes[0]
    return shape_ops.transpose(self, axes or None)


def _flatten(self, order="C"):
    """A 1-D copy (numpy's ``flatten``, not MXNet nd's 2-D one)."""
    return shape_ops.reshape(self, (-1,), order)


def _norm(self, *args, **kwargs):
    return linalg.norm(self, *args, **kwargs)


def _nd_method(name, cls):
    """An nd method (MXNet's semantics) that numpy lacks, returning np arrays."""
    base = getattr(cls, name)

    def method(self, *args, **kwargs):
        return wrap(base(self, *args, **kwargs))
    method.__name__ = name
    method.__doc__ = base.__doc__
    return method


def install(cls, base):
    """Give ``cls`` (``ndarray`` over NDArray, or the traced np value over Symbol) numpy's
    methods; ``base``'s op-backed methods that numpy lacks stay, returning np values."""
    for name in ND_METHODS:  # first, so numpy's versions below replace them
        if hasattr(base, name):
            setattr(cls, name, _nd_method(name, base))
    for module, names in _FROM.items():
        for name in names.split():
            setattr(cls, name, _bind(getattr(module, name)))
    for name, fn in (("and", manip_ops.bitwise_and), ("or", manip_ops.bitwise_or),
                     ("xor", manip_ops.bitwise_xor)):  # numpy's & | ^ (bool masks mostly)
        setattr(cls, f"__{name}__", fn)
        setattr(cls, f"__r{name}__", _reflected(fn))
    cls.__invert__ = manip_ops.invert
    cls.transpose = _transpose
    cls.flatten = _flatten
    cls.norm = _norm
    for name, fn in math_ops.FUNCTIONS.items():
        if name in ("abs", "sign", "exp", "log", "sqrt", "square", "round", "floor", "ceil"):
            setattr(cls, name, _bind(fn))


install(ndarray, NDArray)
