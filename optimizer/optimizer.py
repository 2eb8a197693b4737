"""The optimizer base class, the registry and shared helpers (MXNet 1.9 ``mx.optimizer``).

Optimizers update weights in place on the raw device arrays (``weight._data``) with the
device's array module (numpy or cupy): updates are never recorded by autograd.

Example::

    >>> opt = kiln.optimizer.create('sgd', learning_rate=0.1, momentum=0.9)
    >>> w, g = kiln.nd.ones((2,)), kiln.nd.ones((2,))
    >>> state = opt.create_state(0, w)
    >>> opt.update(0, w, g, state)        # w is now [0.9, 0.9]
"""
import functools
import warnings

import numpy as np

from ..ndarray._derived import thaw
from ..ndarray.ndarray import NDArray
from ..ndarray.ops._update_kernels import clip_op

__all__ = ["Optimizer", "register", "create", "zeros_state", "clip_op", "clip_py",
           "sparse_weight"]


def sparse_weight(method):
    """Let an ``update(index, weight, grad, state)`` method take a sparse weight.

    The update kernels write the raw dense array in place, which a sparse array
    (``nd.sparse``) does not have: such a weight is updated through a dense copy that is
    written back in the weight's own storage type (MXNet updates row_sparse and CSR weights
    in place too). Dense weights, and lists of weights, go straight through.
    """
    @functools.wraps(method)
    def update(self, index, weight, grad, state):
        if getattr(weight, "stype", "default") == "default":
            return method(self, index, weight, grad, state)
        dense = weight.tostype("default")
        method(self, index, dense, grad, state)
        weight._data = dense._data
        return None
    return update


def zeros_state(weight, dtype=None):
    """A zero NDArray shaped like ``weight`` on its device (``dtype`` defaults to the weight's)."""
    ctx = weight.context
    dtype = weight._data.dtype if dtype is None else np.dtype(dtype)
    with ctx.use():
        return NDArray(ctx.xp.zeros(weight.shape, dtype=dtype), ctx)


def clip_py(xp, g, bound):
    """Clip the way MXNet's Python-level updates do: whenever ``bound`` is not None."""
    if bound is not None:
        return xp.clip(g, -bound, bound)
    return g


class Optimizer:
    """The base class of all optimizers (MXNet 1.9 arguments and defaults).

    Parameters: ``rescale_grad`` (gradients are multiplied by it first), ``param_idx2name``
    (index -> name; names not ending in ``_weight``/``_gamma`` get wd_mult 0), ``wd``,
    ``clip_gradient``, ``learning_rate`` (None: the scheduler's base_lr, or 0.01 without a
    scheduler; otherwise it overwrites the scheduler's base_lr), ``lr_scheduler``, ``sym``,
    ``begin_num_update``, ``multi_precision`` (float32 master weights for float16 params) and
    ``param_dict`` (index -> Parameter, whose ``lr_mult``/``wd_mult`` take precedence).
    """

    opt_registry = {}

    def __init__(self, rescale_grad=1., param_idx2name=None, wd=0., clip_gradient=None,
                 learning_rate=None, lr_scheduler=None, sym=None, begin_num_update=0,
                 multi_precision=False, param_dict=None):
        self.rescale_grad = rescale_grad
        self.lr_scheduler = lr_scheduler
        if lr_scheduler is None and learning_rate is None:
            learning_rate = 0.01
        self.lr = learning_rate
        if lr_scheduler is not None and learning_rate is not None:
            if lr_scheduler.base_lr != learning_rate:
                # MXNet prints this (it does not warn), then overwrites the scheduler's base_lr
                print(UserWarning("learning rate from ``lr_scheduler`` has been "
                                  "overwritten by ``learning_rate`` in optimizer."))
                lr_scheduler.base_lr = learning_rate
        self.wd = wd
        self.lr_mult = {}
        self.wd_mult = {}
        self.begin_num_update = begin_num_update
        self.num_update = begin_num_update
        self._device_key = 0
        self._all_index_update_counts = {0: {}}
        self._index_update_count = self._all_index_update_counts[0]
        self.clip_gradient = clip_gradient
        self.multi_precision = multi_precision
        self.aggregate_num = 0
        if param_idx2name is None:
            param_idx2name = {}
        if not isinstance(param_idx2name, dict):
            raise TypeError("param_idx2name should be a dict of param indexes to names.")
        self.idx2name = param_idx2name.copy()
        self.sym_info = (sym.attr_dict(), sym.list_arguments()) if sym is not None else ()
        self.param_dict = param_dict if param_dict else {}
        self.set_lr_mult({})
        self.set_wd_mult({})

    # ---- registry ---------------------------------------------------------------------------
    @staticmethod
    def register(klass):
        """Register an optimizer class under its lowercase class name (a decorator)."""
        if not isinstance(klass, type):
            raise TypeError(f"register expects a class, got {klass!r}")
        name = klass.__name__.lower()
        old = Optimizer.opt_registry.get(name)
        if old is not None and old is not klass:
            warnings.warn(f"WARNING: New optimizer {klass.__module__}.{klass.__name__} is "
                          f"overriding existing optimizer {old.__module__}.{old.__name__}",
                          stacklevel=2)
        Optimizer.opt_registry[name] = klass
        return klass

    @staticmethod
    def create_optimizer(name, **kwargs):
        """Instantiate the optimizer registered as ``name`` (case-insensitive)."""
        klass = Optimizer.opt_registry.get(str(name).lower())
        if klass is None:
            raise ValueError(f"Cannot find optimizer {name}; registered: "
                             f"{sorted(Optimizer.opt_registry)}")
        return klass(**kwargs)

    # ---- learning rate ----------------------------------------------------------------------
    @property
    def learning_rate(self):
        """The current learning rate (from the scheduler at ``num_update`` when there is one)."""
        if self.lr_scheduler is not None:
            return self.lr_scheduler(self.num_update)
        return self.lr

    def set_learning_rate(self, lr):
        """Set a new learning rate; refused (``UserWarning`` raised, as in MXNet) when an
        lr_scheduler is defined."""
        if self.lr_scheduler is not None:
            raise UserWarning("LRScheduler of the optimizer has already been defined. Note that "
                              "set_learning_rate can mutate the value of the learning rate of "
                              "the optimizer only when the LRScheduler of the optimizer is "
                              "undefined.")
        self.lr = lr

    def set_lr_scale(self, args_lrscale):
        """[DEPRECATED] Use set_lr_mult instead."""
        raise DeprecationWarning

    def set_lr_mult(self, args_lr_mult):
        """Set per-parameter learning-rate multipliers (keys: index or name)."""
        self.lr_mult = {}
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and "__lr_mult__" in attr[name]:
                    self.lr_mult[name] = float(attr[name]["__lr_mult__"])
        self.lr_mult.update(args_lr_mult)

    def set_wd_mult(self, args_wd_mult):
        """Set per-parameter weight-decay multipliers (keys: index or name). Names given by
        ``param_idx2name`` that do not end in ``_weight`` or ``_gamma`` default to 0."""
        self.wd_mult = {}
        for n in self.idx2name.values():
            if not (n.endswith("_weight") or n.endswith("_gamma")):
                self.wd_mult[n] = 0.0
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and "__wd_mult__" in attr[name]:
                    self.wd_mult[name] = float(attr[name]["__wd_mult__"])
        self.wd_mult.update(args_wd_mult)

    # ---- bookkeeping ------------------------------------------------------------------------
    def _set_current_context(self, device_id):
        """Switch to the per-device update counts of device ``device_id``."""
        if device_id not in self._all_index_update_counts:
            self._all_index_update_counts[device_id] = {}
        self._device_key = device_id
        self._index_update_count = self._all_index_update_counts[device_id]

    def _update_count(self, index):
        """Count one more update of ``index`` (an int or a list); advances ``num_update``."""
        for idx in index if isinstance(index, (list, tuple)) else [index]:
            if idx not in self._index_update_count:
                self._index_update_count[idx] = self.begin_num_update
            self._index_update_count[idx] += 1
            self.num_update = max(self._index_update_count[idx], self.num_update)

    def _get_lrs(self, indices):
        lr = self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr
        return [lr * self._mult(index, self.lr_mult, "lr_mult") for index in indices]

    def _get_lr(self, index):
        """The learning rate of ``index``: the global one times its lr_mult."""
        return self._get_lrs([index])[0]

    def _get_wds(self, indices):
        if self.wd == 0:  # every weight decay is 0 * wd_mult (the common case, skip lookups)
            return [0.0] * len(indices)
        return [self.wd * self._mult(index, self.wd_mult, "wd_mult") for index in indices]

    def _get_wd(self, index):
        """The weight decay of ``index``: ``wd`` times its wd_mult."""
        return self._get_wds([index])[0]

    def _mult(self, index, table, attr):
        if index in self.param_dict:
            return getattr(self.param_dict[index], attr)
        if index in table:
            return table[index]
        if index in self.idx2name:
            return table.get(self.idx2name[index], 1.0)
        return 1.0

    # ---- states and updates -----------------------------------------------------------------
    def create_state(self, index, weight):
        """The auxiliary state (momentum...) of one weight; None when there is none."""
        return None

    def create_state_multi_precision(self, index, weight):
        """Like create_state; for float16 weights with ``multi_precision`` the state is
        ``(float32 master copy, create_state(master))``."""
        if self.multi_precision and weight.dtype == np.float16:
            master = _copy_as(weight, np.float32)
            return (master, self.create_state(index, master))
        if weight.dtype == np.float16 and not self.multi_precision:
            _warn_fp16(type(self).__name__)
        return self.create_state(index, weight)

    def update(self, index, weight, grad, state):
        """Update ``weight`` (NDArray, in place) from ``grad`` and ``state``."""
        raise NotImplementedError()

    def update_multi_precision(self, index, weight, grad, state):
        """``update``, through the float32 master copy for float16 weights when
        ``multi_precision`` is on (the weight receives the master copy cast back)."""
        if self.multi_precision and weight.dtype == np.float16:
            self._update_master(index, weight, grad, state)
        else:
            thaw(getattr(weight, "_data", None))   # raw writes below: drop derived forms
            self.update(index, weight, grad, state)

    @sparse_weight
    def _update_master(self, index, weight, grad, state):
        master, inner = state
        self.update(index, master, _copy_as(grad, np.float32), inner)
        thaw(weight._data)
        weight._data[...] = master._data.astype(weight._data.dtype)

    # ---- pickling (MXNet drops param_dict; the Trainer sets it again) ----------------------
    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("param_dict", None)
        return state

    def __setstate__(self, state):
        self.__dict__ = state
        self.param_dict = {}


register = Optimizer.register
create = Optimizer.create_optimizer


def _copy_as(arr, dtype):
    """A new NDArray: ``arr`` cast to ``dtype`` (a copy even when the dtype already matches).
    A sparse ``arr`` stays sparse, so a float16 row_sparse gradient cast for the master copy
    still updates only its rows (lazy_update)."""
    if getattr(arr, "stype", "default") != "default":
        return arr.astype(dtype)
    return NDArray(arr._data.astype(dtype), arr.context)


def _warn_fp16(name):
    warnings.warn("Accumulating with float16 in optimizer can lead to poor accuracy or slow "
                  "convergence. Consider using multi_precision=True option of the "
                  f"{name} optimizer", stacklevel=3)
