"""``Module``: a Symbol bound to one executor, with parameters, an optimizer and a metric
(MXNet 1.9's ``mx.mod.Module``).

The executor is kiln's ``Symbol.simple_bind`` (symbol/executor.py), which runs the graph
through the op registry with autograd; the module keeps its own copies of the parameters
(``get_params``/``set_params``, as MXNet keeps them on the CPU) and updates the executor's
arrays in place with ``optimizer.get_updater`` (index ``i`` is the i-th parameter name, so
optimizer states and ``param_idx2name`` match MXNet's). One device: several contexts raise.

Example::

    >>> mod = kiln.mod.Module(kiln.sym.SoftmaxOutput(fc, name='softmax'))
    >>> mod.bind(data_shapes=[('data', (8, 4))], label_shapes=[('softmax_label', (8,))])
    >>> mod.init_params()
    >>> mod.init_optimizer(optimizer='sgd', optimizer_params={'learning_rate': 0.1})
"""
import logging
import os
import warnings

from .. import optimizer as opt
from ..base import MXNetError
from ..device import cpu
from ..export.checkpoint import load_checkpoint, save_checkpoint
from ..initializer import InitDesc, Uniform
from ..ndarray import ndarray as _nd
from ..symbol.api import infer_shape_complete
from .base_module import BaseModule
from .shapes import as_descs, batch_size, check_names


class Module(BaseModule):
    """A Symbol bound for training or inference; see the module docstring."""

    def __init__(self, symbol, data_names=("data",), label_names=("softmax_label",),
                 logger=logging, context=None, work_load_list=None, fixed_param_names=None,
                 state_names=None, group2ctxs=None, compression_params=None):
        super().__init__(logger)
        ctxs = context if isinstance(context, (list, tuple)) else [context or cpu()]
        if len(ctxs) != 1:
            raise MXNetError(f"Module: kiln binds one device, got {len(ctxs)} contexts; use "
                             "gluon.Trainer with split_and_load for data parallelism")
        self._context = ctxs[0]
        self._symbol = symbol
        self._data_names = list(data_names or [])
        self._label_names = list(label_names or [])
        self._state_names = list(state_names or [])
        self._fixed_param_names = list(fixed_param_names or [])
        arg_names = symbol.list_arguments()
        check_names(symbol, self._data_names, "data", True, logger)
        check_names(symbol, self._label_names, "label", False, logger)
        check_names(symbol, self._state_names, "state", True, logger)
        check_names(symbol, self._fixed_param_names, "fixed_param", True, logger)
        inputs = set(self._data_names + self._label_names + self._state_names)
        self._param_names = [n for n in arg_names if n not in inputs]
        self._aux_names = symbol.list_auxiliary_states()
        self._output_names = symbol.list_outputs()
        self._arg_params = self._aux_params = None
        self._exec = None
        self._data_shapes = self._label_shapes = None
        self._optimizer = self._updater = None
        self._preload_opt_states = None
        self._params_dirty = False

    # ---- names and shapes -----------------------------------------------------------------
    @property
    def data_names(self):
        return self._data_names

    @property
    def label_names(self):
        return self._label_names

    @property
    def output_names(self):
        return self._output_names

    @property
    def data_shapes(self):
        self._need("binded")
        return self._data_shapes

    @property
    def label_shapes(self):
        self._need("binded")
        return self._label_shapes

    @property
    def output_shapes(self):
        self._need("binded")
        shapes = self._exec_output_shapes()
        return list(zip(self._output_names, shapes))

    def _exec_output_shapes(self):
        if self._exec.outputs:
            return [o.shape for o in self._exec.outputs]
        feed = {d.name: d.shape for d in self._data_shapes + (self._label_shapes or [])}
        return infer_shape_complete(self._symbol, **feed)[1]

    # ---- bind and parameters ---------------------------------------------------------------
    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False,
             force_rebind=False, shared_module=None, grad_req="write"):
        """Allocate the executor for these input shapes (``[(name, shape)]`` or DataDescs)."""
        if self.binded and not force_rebind:
            self.logger.warning("Already bound, ignoring bind()")
            return
        if shared_module is not None and not (shared_module.binded and
                                              shared_module.params_initialized):
            raise MXNetError("bind(): shared_module must be bound and initialized")
        self.for_training, self.inputs_need_grad = for_training, inputs_need_grad
        self._data_shapes = as_descs(data_shapes, self._data_names, "data")
        self._label_shapes = as_descs(label_shapes, self._label_names, "label") \
            if label_shapes else []
        descs = self._data_shapes + self._label_shapes
        self._exec = self._symbol.simple_bind(
            self._context, grad_req=self._grad_reqs(grad_req),
            type_dict={d.name: d.dtype for d in descs}, **{d.name: d.shape for d in descs})
        self.binded = True
        if shared_module is not None:
            self._arg_params, self._aux_params = shared_module.get_params()
            self._share_arrays(shared_module)
            self.params_initialized = True
        elif self.params_initialized:
            self._copy_params_to_exec()
        else:
            self._arg_params = {n: self._exec.arg_dict[n].copy() for n in self._param_names}
            self._aux_params = {n: a.copy() for n, a in self._exec.aux_dict.items()}

    def _grad_reqs(self, grad_req):
        reqs = {}
        for name in self._symbol.list_arguments():
            if name in self._param_names:
                wanted = grad_req.get(name, "write") if isinstance(grad_req, dict) else grad_req
                reqs[name] = "null" if (not self.for_training or
                                        name in self._fixed_param_names) else wanted
            elif name in self._data_names:   # (MXNet: the data's req is grad_req's too)
                wanted = grad_req.get(name, "write") if isinstance(grad_req, dict) else grad_req
                reqs[name] = wanted if self.inputs_need_grad and self.for_training else "null"
            else:
                reqs[name] = "null"
        return reqs

    def _share_arrays(self, other):
        """Use ``other``'s executor arrays for the parameters (BucketingModule)."""
        for name in self._param_names:
            if name in other._exec.arg_dict:
                self._exec.arg_dict[name]._data = other._exec.arg_dict[name]._data
        for name in self._aux_names:
            if name in other._exec.aux_dict:
                self._exec.aux_dict[name]._data = other._exec.aux_dict[name]._data

    def init_params(self, initializer=Uniform(0.01), arg_params=None, aux_params=None,
                    allow_missing=False, force_init=False, allow_extra=False):
        """Initialize parameters: from ``arg_params``/``aux_params`` where given, else with
        ``initializer`` (names in sorted order, as MXNet)."""
        if self.params_initialized and not force_init:
            warnings.warn("Parameters already initialized and force_init=False. init_params "
                          "call ignored.", stacklevel=2)
            return
        self._need("binded")
        attrs = self._symbol.attr_dict()
        for own, given in ((self._arg_params, arg_params), (self._aux_params, aux_params)):
            for name, arr in sorted(own.items()):
                self._init_one(InitDesc(name, attrs.get(name)), arr, given, initializer,
                               allow_missing)
        self.params_initialized, self._params_dirty = True, False
        self._copy_params_to_exec()

    @staticmethod
    def _init_one(desc, arr, given, initializer, allow_missing):
        if given is not None:
            if desc in given:
                src = given[desc]
                if src is not arr:
                    arr[:] = src.asnumpy() if isinstance(src, _nd.NDArray) else src
                return
            if not allow_missing:
                raise RuntimeError(f"{desc} is not presented")
        if initializer is not None:
            initializer(desc, arr)

    def _copy_params_to_exec(self):
        for own, dest in ((self._arg_params, self._exec.arg_dict),
                          (self._aux_params, self._exec.aux_dict)):
            for name, arr in own.items():
                if name in dest:
                    dest[name][:] = arr

    def get_params(self):
        """``(arg_params, aux_params)``: the module's copies, synced from the executor."""
        self._need("binded", "params_initialized")
        if self._params_dirty:
            for own, src in ((self._arg_params, self._exec.arg_dict),
                             (self._aux_params, self._exec.aux_dict)):
                for name, arr in own.items():
                    if name in src:
                        arr[:] = src[name]
            self._params_dirty = False
        return self._arg_params, self._aux_params

    def set_params(self, arg_params, aux_params, allow_missing=False, force_init=True,
                   allow_extra=False):
        """Assign parameter values (``init_params`` without an initializer)."""
        if not allow_extra:
            for given, own, what in ((arg_params, self._param_names, "arg"),
                                     (aux_params, self._aux_names, "aux")):
                extra = sorted(set(given or {}) - set(own))
                if extra:
                    raise ValueError(f"set_params(): unknown {what} params {extra}; pass "
                                     "allow_extra=True to ignore them")
        self.init_params(initializer=None, arg_params=arg_params, aux_params=aux_params,
                         allow_missing=allow_missing, force_init=force_init,
                         allow_extra=allow_extra)

    # ---- optimizer ------------------------------------------------------------------------
    def init_optimizer(self, kvstore="local", optimizer="sgd",
                       optimizer_params=(("learning_rate", 0.01),), force_init=False):
        """Create the optimizer (``rescale_grad`` 1/batch size unless given) and its updater."""
        self._need("binded", "params_initialized")
        if self.optimizer_initialized and not force_init:
            self.logger.warning("optimizer already initialized, ignoring...")
            return
        rescale = 1.0 / batch_size(self._data_shapes)
        if isinstance(optimizer, str):
            params = dict(optimizer_params)
            params.setdefault("rescale_grad", rescale)
            optimizer = opt.create(optimizer, sym=self._symbol, param_idx2name=dict(
                enumerate(self._param_names)), **params)
        elif not isinstance(optimizer, opt.Optimizer):
            raise TypeError(f"init_optimizer(): optimizer must be a name or an Optimizer, "
                            f"got {type(optimizer).__name__}")
        elif optimizer.rescale_grad != rescale:
            warnings.warn(f"Optimizer created manually outside Module but rescale_grad is not "
                          f"normalized to 1.0/batch_size/num_workers ({optimizer.rescale_grad} "
                          f"vs. {rescale}). Is this intended?", stacklevel=2)
        self._optimizer, self._updater = optimizer, opt.get_updater(optimizer)
        self.optimizer_initialized = True
        if self._preload_opt_states is not None:
            self.load_optimizer_states(self._preload_opt_states)
            self._preload_opt_states = None

    # ---- computation ----------------------------------------------------------------------
    def forward(self, data_batch, is_train=None):
        """Run the executor on ``data_batch`` (its ``data`` and, if bound, ``label``). A batch
        of another shape re-binds, keeping the parameters (as MXNet's reshape)."""
        self._need("binded", "params_initialized")
        is_train = self.for_training if is_train is None else is_train
        feed = dict(zip(self._data_names, data_batch.data))
        if self._label_shapes and data_batch.label is not None:
            feed.update(zip(self._label_names, data_batch.label))
        if any(tuple(v.shape) != tuple(self._exec.arg_dict[k].shape) for k, v in feed.items()):
            self._reshape(feed)
        self._exec.forward(is_train=is_train, **feed)
        self._params_dirty = self._params_dirty or is_train

    def _reshape(self, feed):
        self.get_params()
        data = [(n, feed[n].shape) for n in self._data_names]
        label = [(n, feed[n].shape) for n in self._label_names if n in feed]
        self.binded = False
        self.bind(data, label or None, self.for_training, self.inputs_need_grad)

    def backward(self, out_grads=None):
        """Gradients of the last forward into the executor's gradient arrays."""
        self._need("binded", "params_initialized")
        if not self._exec.grad_dict:   # every req 'null' (MXNet: a backward that does nothing)
            return
        self._exec.backward(out_grads=out_grads)

    def update(self):
        """One optimizer step over the parameters that have gradients."""
        self._need("binded", "params_initialized", "optimizer_initialized")
        self._params_dirty = True
        for index, name in enumerate(self._param_names):
            grad = self._exec.grad_dict.get(name)
            if grad is not None:
                self._updater(index, grad, self._exec.arg_dict[name])

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        """``eval_metric.update(labels, outputs)``."""
        eval_metric.update(labels, self.get_outputs())

    def get_outputs(self, merge_multi_context=True):
        """The last forward's outputs."""
        self._need("binded")
        return list(self._exec.outputs)

    def get_input_grads(self, merge_multi_context=True):
        """Gradients of the data inputs (bind with ``inputs_need_grad=True``)."""
        self._need("binded")
        if not self.inputs_need_grad:
            raise MXNetError("get_input_grads(): bind with inputs_need_grad=True")
        return [self._exec.grad_dict.get(n) for n in self._data_names]   # None: req 'null'

    # ---- files ----------------------------------------------------------------------------
    def save_checkpoint(self, prefix, epoch, save_optimizer_states=False,
                        remove_amp_cast=True):
        """``prefix-symbol.json``, ``prefix-%04d.params`` and with ``save_optimizer_states``
        ``prefix-%04d.states``."""
        arg_params, aux_params = self.get_params()
        save_checkpoint(prefix, epoch, self._symbol, arg_params, aux_params,
                        remove_amp_cast=remove_amp_cast)  # logs 'Saved checkpoint to ...'
        if save_optimizer_states:
            self.save_optimizer_states("%s-%04d.states" % (prefix, epoch))

    @staticmethod
    def load(prefix, epoch, load_optimizer_states=False, **kwargs):
        """A Module from a checkpoint; parameters are set at ``bind`` + ``init_params``."""
        sym, args, auxs = load_checkpoint(prefix, epoch)
        mod = Module(symbol=sym, **kwargs)
        mod._arg_params, mod._aux_params = args, auxs
        mod.params_initialized = True  # copied into the executor at bind()
        if load_optimizer_states:
            mod._preload_opt_states = "%s-%04d.states" % (prefix, epoch)
        return mod

    def save_optimizer_states(self, fname):
        """The updater's states, written atomically."""
        self._need("optimizer_initialized")
        tmp = f"{fname}.tmp{os.getpid()}"
        with open(tmp, "wb") as f:
            f.write(self._updater.get_states())
        os.replace(tmp, fname)

    def load_optimizer_states(self, fname):
        """Restore the updater's states from ``save_optimizer_states``' file."""
        self._need("optimizer_initialized")
        with open(fname, "rb") as f:
            self._updater.set_states(f.read(), source=fname)


__all__ = ["Module"]
