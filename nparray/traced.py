"""The np-flavoured traced value: what a hybridized forward sees in np mode.

When a block runs hybridized on ``kiln.np`` arrays (or with Parameters made after
``npx.set_np()``), its inputs and parameters trace as this Symbol subclass, and every traced op
with such an input gives one back (``symbol/trace.trace_op``). Its methods and operators are
``kiln.np.ndarray``'s (bound to the same ``kiln.np`` functions), so ``x.sum()`` has shape ``()``,
``x.reshape(2, -1)`` is numpy's, ``x > 0`` is bool and ``x[0, 1]`` is a scalar, exactly as in
the eager call (MXNet's ``mxnet.symbol.numpy._Symbol`` plays this part).

Example::

    >>> from kiln import np, npx
    >>> from kiln.gluon import nn
    >>> class Sum(nn.HybridBlock):
    ...     def forward(self, x):
    ...         return x.sum() + x.T.mean(axis=1).max()
    >>> npx.set_np(); net = Sum(); net.hybridize()
    >>> net(np.ones((2, 3))).shape
    ()
"""
import numpy as onp

from ..base import MXNetError, user_frame
from ..ndarray import ops as F
from ..symbol.symbol import Symbol, register_np_type
from . import methods
from ._core import wrap
from .array import _all_ints, install_operators, ndarray


class _Symbol(Symbol):  # MXNet's name for its np-flavoured symbol
    """A traced value with ``kiln.np.ndarray``'s semantics (see the module docstring)."""

    __slots__ = ()
    _is_np = True

    @property
    def dtype(self):
        """The element type as a numpy dtype, as ``kiln.np.ndarray.dtype``."""
        return onp.dtype(Symbol.dtype.fget(self))

    # the eager array's own definitions: they only call kiln.np functions on ``self``
    T = ndarray.T
    reshape = ndarray.reshape

    def __getitem__(self, key):
        if len(self._entries) > 1 or isinstance(key, str):
            return self._select_output(key)
        parts = key if isinstance(key, tuple) else (key,)
        if any(isinstance(k, Symbol) and k._aval() is not None and k.dtype == onp.bool_
               for k in parts):
            raise MXNetError("a boolean mask of a traced value selects a data-dependent number "
                             "of elements, which a hybridized graph cannot hold; use np.where "
                             f"(or run the block eagerly) (at {user_frame()})")
        res = Symbol.__getitem__(self, key)
        if _all_ints(key, self.ndim) and res.shape != ():
            res = F.reshape(res, shape=())
        return wrap(res)

    def astype(self, dtype, copy=True):
        if not copy and onp.dtype(dtype) == self.dtype:
            return self
        return wrap(F.cast(self, dtype=onp.dtype(dtype).name))

    def copy(self):
        return wrap(F.identity(self))

    def detach(self):
        return wrap(F.stop_gradient(self))

    def as_np_ndarray(self):
        return self

    def as_nd_ndarray(self):
        """The same value with kiln.nd's (MXNet's legacy) semantics."""
        return Symbol(self._entries)

    def __repr__(self):
        return super().__repr__().replace("<Symbol", "<np Symbol", 1)


install_operators(_Symbol, inplace=False)
methods.install(_Symbol, Symbol)
register_np_type(_Symbol)
