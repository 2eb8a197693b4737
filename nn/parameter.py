"""Parameter, Constant and ParameterDict (MXNet Gluon 1.9 names and behaviour).

A Parameter holds one NDArray per device (``list_data()``), each a variable of the autograd tape
(``attach_grad(grad_req)``), so ``backward`` fills ``list_grad()``. A shape dimension of 0 (or
-1) is unknown: with ``allow_deferred_init=True`` initialization waits until the first forward
fills the shape (``_finish_deferred_init``); touching the data before raises
:class:`DeferredInitializationError` naming the parameter.

Every read of the value goes through ``_current_value(ctx)``: while ``hybridize`` traces, it
returns the tracer's symbol for this parameter instead of the NDArray.

Example::

    >>> w = Parameter('fc_weight', shape=(4, 3), init='xavier')
    >>> w.initialize(ctx=kiln.cpu())
    >>> w.data().shape, w.grad().shape
    ((4, 3), (4, 3))
"""
import warnings

import numpy as np

from .. import autograd, initializer
from .. import ndarray as nd
from ..base import MXNetError
from ..device import Context, as_context, cpu, current_context
from ..ndarray import _registry
from ..ndarray._derived import mark
from ..ndarray.ndarray import NDArray, np_mode, to_np_inplace
from ..ndarray.sparse import row_sparse_array
from ..symbol.cached import PARAM_DATA_VERSION as DATA_VERSION
from ..symbol.cached import PARAM_WRITE_VERSION

# DATA_VERSION: bumped whenever a Parameter replaces its arrays. The list lives in symbol/
# because compiled graphs (a lower layer) poll it on every call; Parameter owns it, and readers
# above nn (the Trainer, the optimizer's step plan) take it from here, not from graph internals.

__all__ = ["DeferredInitializationError", "Parameter", "Constant",
           "ParameterError", "tensor_types"]

tensor_types = (NDArray,)


class DeferredInitializationError(MXNetError):
    """The parameter's data was requested before its deferred initialization finished."""


class ParameterError(MXNetError, AssertionError, ValueError):
    """A parameter cannot take the requested shape, dtype, device or saved value.

    Also an ``AssertionError``, which is what MXNet raises in the same places.
    """


def _indent(s_, num_spaces):
    """Indent every line of ``s_`` but the first by ``num_spaces`` (Gluon's repr helper)."""
    lines = s_.split("\n")
    if len(lines) == 1:
        return s_
    return "\n".join([lines[0]] + [num_spaces * " " + line for line in lines[1:]])


def _brief_print_list(lst, limit=7):
    """``'a', 'b', ..., 'z'``: a list for error messages, cut in the middle when long."""
    lst = list(lst)
    if len(lst) > limit:
        return (_brief_print_list(lst[:limit // 2], limit) + ", ..., " +
                _brief_print_list(lst[-limit // 2:], limit))
    return ", ".join(f"'{i}'" for i in lst)


def _ctx_list(ctx):
    if ctx is None:
        return [current_context()]
    if isinstance(ctx, (Context, str)):
        return [as_context(ctx)]
    return [as_context(c) for c in ctx]


def _known(shape):
    return shape is not None and all(int(d) > 0 for d in shape)


def _dtype_name(dtype):
    return np.dtype(dtype).name


class Parameter:
    """A weight of a Block: data and gradient on each device, plus training attributes.

    Parameters: ``name``; ``grad_req`` ('write', 'add' or 'null'); ``shape`` (0 or -1 marks an
    unknown dimension); ``dtype``; ``lr_mult``/``wd_mult`` (learning-rate and weight-decay
    multipliers); ``init`` (this parameter's own initializer, overriding the global one);
    ``allow_deferred_init``; ``differentiable`` (False forces grad_req 'null'); ``stype``
    and ``grad_stype``: the storage of the data and of the gradient buffers ('default',
    'row_sparse' or 'csr', MXNet's ``nd.sparse`` arrays).

    A row_sparse weight is read through ``row_sparse_data(row_id)``, which pulls the
    requested rows from its Trainer's kvstore (the store keeps the whole weight and updates
    it); ``data()``/``list_data()`` refuse it, as in MXNet.

    Example::

        >>> p = Parameter('weight', shape=(2, 0), allow_deferred_init=True)
        >>> p.initialize()           # deferred: the second dimension is unknown
        >>> p.shape = (2, 5); p._finish_deferred_init(); p.data().shape
        (2, 5)
    """

    def __init__(self, name="weight", grad_req="write", shape=None, dtype=np.float32,
                 lr_mult=1.0, wd_mult=1.0, init=None, allow_deferred_init=False,
                 differentiable=True, stype="default", grad_stype="default"):
        self._var = None
        self._data = None
        self._ctx_list = None
        self._ctx_map = {}
        self._deferred_init = ()
        self._differentiable = differentiable
        self._allow_deferred_init = allow_deferred_init
        self._grad_req = None
        self._trainer = None
        if isinstance(shape, (int, np.integer)):
            shape = (int(shape),)
        self._shape = None if shape is None else tuple(shape)
        self.name = name
        self._dtype = dtype
        self.lr_mult = lr_mult
        self.wd_mult = wd_mult
        self.grad_req = grad_req
        self.init = init
        valid = ("default", "row_sparse", "csr")
        if stype not in valid or grad_stype not in valid:
            raise ParameterError(f"stype and grad_stype of Parameter '{name}' must be one of "
                                 f"{valid}, got {stype!r} and {grad_stype!r}")
        self._stype = stype
        self._grad_stype = grad_stype

    def __repr__(self):
        return f"Parameter {self.name} (shape={self.shape}, dtype={self.dtype})"

    # ---- attributes ------------------------------------------------------------------------
    @property
    def grad_req(self):
        return self._grad_req

    @grad_req.setter
    def grad_req(self, req):
        if req not in ("write", "add", "null"):
            raise ParameterError(f"grad_req must be one of 'write', 'add', or 'null', but got "
                                 f"'{req}'")
        if not self._differentiable:
            req = "null"
        if self._grad_req == req:
            return
        self._grad_req = req
        if self._data is None:
            return
        if req == "null":
            self._data = [d.detach() for d in self._data]
        else:
            self._init_grad()
        _data_replaced()

    @property
    def dtype(self):
        """The data type as given (``numpy.float32`` by default, or a string)."""
        return self._dtype

    @dtype.setter
    def dtype(self, dtype):
        self._dtype = dtype

    @property
    def shape(self):
        """The shape, unknown dimensions shown as 0 (MXNet 1.x); None when never given."""
        if self._shape is None:
            return None
        return tuple(d if d > 0 else 0 for d in self._shape)

    @shape.setter
    def shape(self, new_shape):
        if isinstance(new_shape, (int, np.integer)):
            new_shape = (int(new_shape),)
        new_shape = tuple(int(d) for d in new_shape)
        if self._shape is not None:
            ok = len(self._shape) == len(new_shape) and all(
                old in (-1, 0, new) for new, old in zip(new_shape, self._shape))
            if not ok:
                raise ParameterError(f"Expected shape {new_shape} is incompatible with given "
                                     f"shape {self.shape} of Parameter '{self.name}'.")
        self._shape = new_shape

    @property
    def stype(self):
        return self._stype

    @property
    def _grad(self):
        """The gradient arrays, one per device (None before initialization or when 'null')."""
        if self._data is None or self._grad_req == "null":
            return None
        return [d.grad for d in self._data]

    def _set_trainer(self, trainer):
        """Remember the Trainer that updates this parameter (MXNet's ``_trainer`` attribute).

        A sparse parameter's rows are pulled through its one Trainer's kvstore, so a second
        Trainer for it is refused (RuntimeError), as MXNet refuses it.
        """
        if (self._stype != "default" and trainer is not None
                and self._trainer is not None and self._trainer is not trainer):
            raise RuntimeError(
                f"Failed to set the trainer for Parameter '{self.name}' because it was already "
                f"set. More than one trainers for a {self._stype} Parameter is not supported.")
        self._trainer = trainer

    # ---- initialization --------------------------------------------------------------------
    def initialize(self, init=None, ctx=None, default_init=initializer.Uniform(),
                   force_reinit=False):
        """Create the data (and gradient) on each device of ``ctx``.

        ``init`` overrides both this parameter's ``init`` and ``default_init``. With an unknown
        shape and ``allow_deferred_init`` the work waits for the first forward pass.
        """
        if self._data is not None and not force_reinit:
            warnings.warn(f"Parameter '{self.name}' is already initialized, ignoring. Set "
                          f"force_reinit=True to re-initialize.", stacklevel=2)
            return
        self._data = None
        ctx = _ctx_list(ctx)
        if init is None:
            init = default_init if self.init is None else self.init
        if not _known(self._shape):
            if self._allow_deferred_init:
                self._deferred_init = (init, ctx, default_init, None)
                return
            raise ParameterError(f"Cannot initialize Parameter '{self.name}' because it has "
                                 f"invalid shape: {self.shape}.")
        self._deferred_init = (init, ctx, default_init, None)
        self._finish_deferred_init()

    def _finish_deferred_init(self):
        """Run the initialization that waited for the shape (a no-op when none is pending)."""
        if not self._deferred_init:
            return
        init, ctx, default_init, data = self._deferred_init
        if not _known(self._shape):
            raise DeferredInitializationError(
                f"Cannot initialize Parameter '{self.name}' because it has invalid shape: "
                f"{self.shape}. Please specify in_units, in_channels, etc for `Block`s, or run "
                f"a forward pass that infers it.")
        self._deferred_init = ()
        with autograd.pause():
            if data is None:
                data = nd.zeros(self._shape, dtype=np.dtype(self._dtype), ctx=cpu())
                _run_initializer(init, default_init, self.name, data)
                data = _as_stype(data, self._stype, all_rows=True)
            else:
                data = _as_stype(data, self._stype)
            self._init_impl(data, ctx)

    def _init_impl(self, data, ctx_list):
        self._ctx_list = list(ctx_list)
        self._ctx_map = {c: i for i, c in enumerate(self._ctx_list)}
        self._data = [data.copyto(c) for c in self._ctx_list]
        # initialized under npx.set_np(): np arrays, as MXNet's Parameter makes (dense only)
        if np_mode() and self._stype == "default":
            self._data = [to_np_inplace(d) for d in self._data]
        _data_replaced()
        self._init_grad()

    def _init_grad(self):
        if self._grad_req == "null" or self._data is None:
            return
        for d in self._data:
            d.attach_grad(self._grad_req, stype=self._grad_stype)

    # ---- access ----------------------------------------------------------------------------
    def _check_and_get(self, arr_list, ctx):
        if arr_list is not None:
            if ctx is list:
                return arr_list
            if ctx is None:
                if len(arr_list) == 1:
                    return arr_list[0]
                ctx = current_context()
            idx = self._ctx_map.get(as_context(ctx))
            if idx is not None:
                return arr_list[idx]
            raise RuntimeError(f"Parameter '{self.name}' was not initialized on context {ctx}. "
                               f"It was only initialized on {self._ctx_list}.")
        if self._deferred_init:
            raise DeferredInitializationError(
                f"Parameter '{self.name}' has not been initialized yet because initialization "
                f"was deferred (shape {self.shape}). Actual initialization happens during the "
                f"first forward pass. Please pass one batch of data through the network before "
                f"accessing Parameters. You can also avoid deferred initialization by "
                f"specifying in_units, num_features, etc., for network layers.")
        raise RuntimeError(f"Parameter '{self.name}' has not been initialized. Note that you "
                           f"should initialize parameters and create Trainer with "
                           f"Block.collect_params() instead of Block.params because the later "
                           f"does not include Parameters of nested child Blocks")

    def _current_value(self, ctx):
        """The value used by computations: the NDArray, or the tracer's symbol while tracing."""
        tracer = _registry.STATE.tracer
        if tracer is not None:
            return tracer.param_value(self)
        return self._check_and_get(self._data, ctx)

    def data(self, ctx=None):
        """The value on ``ctx`` (the only device, or the current one, when None).

        Refused (RuntimeError) for a sparse ``stype``: use ``row_sparse_data``."""
        if self._stype != "default":
            raise RuntimeError(f"Cannot return a copy of Parameter '{self.name}' on ctx {ctx} "
                               f"via data() because its storage type is {self._stype}. Please "
                               f"use row_sparse_data() instead.")
        arr = self._current_value(ctx)
        mark(getattr(arr, "_data", None))   # derived forms may be kept (ndarray/_derived)
        return arr

    def list_data(self):
        """The values on every device, in ``list_ctx()`` order (refused for a sparse
        ``stype``, as ``data``)."""
        if self._stype != "default":
            raise RuntimeError(f"Cannot return copies of Parameter '{self.name}' on all "
                               f"contexts via list_data() because its storage type is "
                               f"{self._stype}. Please use row_sparse_data() instead.")
        return self._check_and_get(self._data, list)

    def row_sparse_data(self, row_id):
        """The weight on ``row_id``'s device holding rows ``row_id`` (an NDArray of row
        numbers), pulled from the Trainer's kvstore: a RowSparseNDArray of the full shape.

        Only for ``stype='row_sparse'``, and only once a Trainer was made with this
        parameter (the store holds the up-to-date weight). The array is this parameter's
        variable on that device: gradients of what is computed from it go into ``grad()``.

        Example::

            >>> w = Parameter('w', shape=(5, 2), stype='row_sparse')
            >>> w.initialize(); trainer = gluon.Trainer([w], 'sgd')
            >>> w.row_sparse_data(nd.array([4, 1])).indices.asnumpy()
            array([1, 4])
        """
        if self._stype != "row_sparse":
            raise RuntimeError(f"Cannot return a copy of Parameter {self.name} via "
                               f"row_sparse_data() because its storage type is {self._stype}. "
                               f"Please use data() instead.")
        return self._get_row_sparse(self._data, row_id.context
                                    if isinstance(row_id, NDArray) else None, row_id)

    def list_row_sparse_data(self, row_id):
        """``row_sparse_data`` on every device (the same rows), in ``list_ctx()`` order."""
        if self._stype != "row_sparse":
            raise RuntimeError(f"Cannot return copies of Parameter '{self.name}' on all "
                               f"contexts via list_row_sparse_data() because its storage type "
                               f"is {self._stype}. Please use data() instead.")
        return self._get_row_sparse(self._data, list, row_id)

    def _get_row_sparse(self, arr_list, ctx, row_id):
        if not isinstance(row_id, NDArray):
            raise TypeError(f"row_id must have NDArray type, but {type(row_id)} is given")
        if self._trainer is None:
            raise RuntimeError(f"Cannot get row_sparse data for Parameter '{self.name}' when "
                               f"no Trainer is created with it.")
        results = self._check_and_get(arr_list, ctx)
        self._trainer._row_sparse_pull(self, results, row_id)
        return results

    def grad(self, ctx=None):
        """The gradient buffer on ``ctx``."""
        if self._data is not None and self._grad_req == "null":
            raise RuntimeError(f"Cannot get gradient array for Parameter '{self.name}' because "
                               f"grad_req='null'")
        return self._check_and_get(self._grad, ctx)

    def list_grad(self):
        """The gradient buffers on every device."""
        if self._data is not None and self._grad_req == "null":
            raise RuntimeError(f"Cannot get gradient array for Parameter '{self.name}' because "
                               f"grad_req='null'")
        return self._check_and_get(self._grad, list)

    def list_ctx(self):
        """The devices this parameter lives (or will live, when deferred) on."""
        if self._data is None:
            if self._deferred_init:
                return self._deferred_init[1]
            raise RuntimeError(f"Parameter '{self.name}' has not been initialized")
        return self._ctx_list

    # ---- changes ---------------------------------------------------------------------------
    def set_data(self, data):
        """Overwrite the value on every device (``data``: NDArray or numpy array)."""
        self.shape = data.shape
        if self._data is None:
            if not self._deferred_init:
                raise RuntimeError(f"Parameter '{self.name}' has not been initialized")
            if not isinstance(data, NDArray):
                data = nd.array(data, dtype=np.dtype(self._dtype))
            self._deferred_init = self._deferred_init[:3] + (data,)
            return
        trainer = self._trainer
        if trainer is not None and hasattr(trainer, "_reset_kvstore") and getattr(
                trainer, "_kv_initialized", False) and getattr(trainer, "_update_on_kvstore",
                                                                False):
            trainer._reset_kvstore()
        PARAM_WRITE_VERSION[0] += 1  # sessions holding a copy of the values rebuild
        with autograd.pause():
            for arr in self._data:
                value = data.as_in_context(arr.context) if isinstance(data, NDArray) else data
                arr[...] = value

    def zero_grad(self):
        """Set the gradient buffers to 0 (needed with grad_req='add')."""
        grads = self._grad
        if grads is None:
            return
        for g in grads:
            g[...] = 0

    def cast(self, dtype):
        """Change the data type of the data and gradients (values are converted)."""
        self._dtype = dtype
        if self._data is None:
            if self._deferred_init and self._deferred_init[3] is not None:
                d = self._deferred_init
                self._deferred_init = d[:3] + (d[3].astype(dtype),)
            return
        with autograd.pause():
            grads = self._grad
            self._data = [d.astype(dtype) for d in self._data]
            _data_replaced()
            if grads is None:
                return
            autograd.mark_variables(self._data, [g.astype(dtype) for g in grads],
                                    self._grad_req)

    def reset_ctx(self, ctx):
        """Move the parameter onto other devices (the value is averaged across the old ones)."""
        ctx = _ctx_list(ctx)
        if self._data:
            data = self._reduce()
            with autograd.pause():
                self._init_impl(data, ctx)
        elif self._deferred_init:
            init, _, default_init, data = self._deferred_init
            self._deferred_init = (init, ctx, default_init, data)
        else:
            raise ValueError(f"Cannot reset context for Parameter '{self.name}' because it has "
                             f"not been initialized.")

    def _reduce(self):
        """The value averaged across devices, on the CPU (what gets saved); a sparse weight's
        is its Trainer's (the store's) copy, as in MXNet, or without a Trainer the average
        of the devices' arrays."""
        block = self._check_and_get(self._data, list)
        if self._stype != "default" and self._trainer is not None:
            data = nd.sparse.zeros(self._stype, self._shape, ctx=cpu(), dtype=block[0].dtype)
            all_rows = nd.arange(0, self._shape[0], dtype="int64", ctx=cpu())
            self._trainer._row_sparse_pull(self, data, all_rows, full_idx=True)
            return data
        with autograd.pause():
            data = block[0].copyto(cpu())
            if len(block) > 1:
                for w in block[1:]:
                    data = data + w.copyto(cpu())
                data = data / len(block)
        return _as_stype(data, self._stype)

    def var(self):
        """The graph variable (``kiln.sym.var``) standing for this parameter, created once.

        Example::

            >>> Parameter('weight', shape=(2, 3)).var().name
            'weight'
        """
        if self._var is None:
            from ..symbol.symbol import var
            self._var = var(self.name, shape=self.shape, dtype=self.dtype, lr_mult=self.lr_mult,
                            wd_mult=self.wd_mult, init=self.init, stype=self._stype)
        return self._var

    def _load_init(self, data, ctx, cast_dtype=False, dtype_source="current"):
        """Take a saved value: check shape and dtype, then initialize or overwrite."""
        if cast_dtype and dtype_source not in ("current", "saved"):
            raise ParameterError(f"dtype_source must be 'current' or 'saved', got "
                                 f"{dtype_source!r}")
        if self._shape is not None:
            saved = tuple(data.shape)
            if len(saved) != len(self._shape) or any(
                    s not in (-1, 0, d) for s, d in zip(self._shape, saved)):
                raise ParameterError(f"Failed loading Parameter '{self.name}' from saved params: "
                                     f"shape incompatible expected {self.shape} vs saved "
                                     f"{saved}")
            self._shape = saved
        if data.stype != self._stype:   # a saved dense value into a sparse parameter, or back
            data = data.tostype(self._stype)
        if self._dtype is not None and np.dtype(self._dtype) != np.dtype(data.dtype):
            if not cast_dtype:
                raise ParameterError(
                    f"Failed loading Parameter '{self.name}' from saved params: dtype "
                    f"incompatible expected {_dtype_name(self._dtype)} vs saved "
                    f"{_dtype_name(data.dtype)}. Set cast_dtype=True to cast the dtype of saved "
                    f"params.")
            if dtype_source == "current":
                data = data.astype(np.dtype(self._dtype))
            elif self._data is not None:
                self.cast(data.dtype)     # existing arrays take the saved dtype too
            else:
                self._dtype = data.dtype
        self._adopt(data, ctx)

    def _adopt(self, data, ctx):
        ctx = None if ctx is None else _ctx_list(ctx)
        if self._data is None:
            if self._deferred_init:
                if ctx is not None and set(ctx) != set(self._deferred_init[1]):
                    raise ParameterError(f"Failed to load Parameter '{self.name}' on {ctx} "
                                         f"because it was previous initialized on "
                                         f"{self.list_ctx()}.")
                ctx = self._deferred_init[1]
            elif ctx is None:
                ctx = [cpu()]
            with autograd.pause():
                self._init_impl(data, ctx)
        else:
            if ctx is not None and set(ctx) != set(self.list_ctx()):
                raise ParameterError(f"Failed to load Parameter '{self.name}' on {ctx} because "
                                     f"it was previous initialized on {self.list_ctx()}.")
            self.set_data(data)
        self._deferred_init = ()


def _as_stype(data, stype, all_rows=False):
    """``data`` in storage ``stype``; ``all_rows``: a row_sparse result stores every row
    (what MXNet's initializers leave in a row_sparse weight, zero rows included)."""
    if data.stype == stype:
        return data
    if stype == "row_sparse" and all_rows and data.stype == "default":
        return row_sparse_array((data, np.arange(data.shape[0])), shape=data.shape,
                                ctx=data.context, dtype=data.dtype)
    return data.tostype(stype)


def _run_initializer(init, default_init, name, data):
    """Fill ``data`` as Gluon does: the global initializer applies ``init``'s weight rule."""
    if isinstance(init, initializer.Mixed):
        init(initializer.InitDesc(name), data)
        return
    glob = default_init if default_init is not None else init
    if isinstance(glob, initializer.Mixed):
        glob = init
    initializer.create(glob)(initializer.InitDesc(name, {"__init__": init}), data)


class _ConstantInit(initializer.Initializer):
    """Copies a Constant's value (not registered: it belongs to one Constant)."""

    def __init__(self, value):
        super().__init__()
        self.value = value

    def _init_weight(self, _, arr):
        arr[...] = self.value.as_in_context(arr.context)


class Constant(Parameter):
    """A parameter that never changes (grad_req 'null'), initialized from ``value``.

    Accepts Gluon 2's ``Constant(value)`` and Gluon 1's ``Constant(name, value)``.

    Example::

        >>> c = Constant([[1, 2], [3, 4]]); c.initialize(); c.data().shape
        (2, 2)
    """

    def __init__(self, *args, name=None, value=None):
        if len(args) == 2:
            name, value = args
        elif len(args) == 1:
            if value is None:
                value = args[0]
            else:
                name = args[0]
        elif len(args) > 2:
            raise TypeError("Constant takes (value) or (name, value)")
        if value is None:
            raise TypeError("Constant needs a value")
        if not isinstance(value, NDArray):
            value = nd.array(value)
        self.value = value
        super().__init__(name if name is not None else "const", grad_req="null",
                         shape=value.shape, dtype=value.dtype, init=_ConstantInit(value))

    def __repr__(self):
        return f"Constant {self.name} (shape={self.shape}, dtype={self.dtype})"

    @property
    def grad_req(self):
        return "null"

    @grad_req.setter
    def grad_req(self, req):
        self._grad_req = "null"
        if req != "null":
            warnings.warn(f'Constant parameter "{self.name}" does not support grad_req other '
                          f'than "null", and new value "{req}" is ignored.', stacklevel=2)


def __getattr__(name):
    # ParameterDict lives in parameter_dict.py (which imports this module); MXNet code imports
    # it from here too.
    if name == "ParameterDict":
        from .parameter_dict import ParameterDict
        return ParameterDict
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _data_replaced():
    """Tell compiled graphs, the Trainer and its step plan that some parameter's arrays were
    replaced (they re-gather theirs)."""
    DATA_VERSION[0] += 1
