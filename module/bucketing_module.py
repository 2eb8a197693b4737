"""``BucketingModule``: one ``Module`` per bucket key (sequence length, say), all sharing the
default bucket's parameters and optimizer (MXNet 1.9's ``mx.mod.BucketingModule``).

``sym_gen(bucket_key) -> (symbol, data_names, label_names)``. Batches carry ``bucket_key``;
a new key binds a module for it on first use, its parameter arrays shared with the default
bucket's executor, so an update through any bucket is seen by all.

Example::

    >>> mod = kiln.mod.BucketingModule(sym_gen, default_bucket_key=10)
    >>> mod.fit(bucket_iter, num_epoch=1)
"""
import logging

from ..device import cpu
from .base_module import BaseModule
from .module import Module


class BucketingModule(BaseModule):
    """Modules per bucket key with shared parameters; see the module docstring."""

    def __init__(self, sym_gen, default_bucket_key=None, logger=logging, context=None,
                 work_load_list=None, fixed_param_names=None, state_names=None,
                 group2ctxs=None, compression_params=None):
        super().__init__(logger)
        if default_bucket_key is None:
            raise ValueError("BucketingModule: default_bucket_key is required")
        self._sym_gen, self._default_key = sym_gen, default_bucket_key
        self._kwargs = dict(logger=logger, context=context or cpu(),
                            fixed_param_names=fixed_param_names, state_names=state_names)
        self._buckets = {}
        self._curr = None
        sym, data_names, label_names = sym_gen(default_bucket_key)
        self._symbol = sym
        self._data_names, self._label_names = list(data_names), list(label_names or [])

    def _module(self, key):
        sym, data_names, label_names = self._sym_gen(key)
        return Module(sym, data_names, label_names, **self._kwargs)

    @property
    def symbol(self):
        return self._curr.symbol if self._curr is not None else self._symbol

    @property
    def data_names(self):
        return self._data_names

    @property
    def data_shapes(self):
        return self._curr.data_shapes

    @property
    def label_shapes(self):
        return self._curr.label_shapes

    @property
    def output_shapes(self):
        return self._curr.output_shapes

    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False,
             force_rebind=False, shared_module=None, grad_req="write"):
        """Bind the default bucket's module."""
        if self.binded and not force_rebind:
            self.logger.warning("Already bound, ignoring bind()")
            return
        self.for_training, self.inputs_need_grad = for_training, inputs_need_grad
        mod = self._module(self._default_key)
        mod.bind(data_shapes, label_shapes, for_training, inputs_need_grad,
                 grad_req=grad_req)
        self._buckets = {self._default_key: mod}
        self._curr = mod
        self.binded = True

    def switch_bucket(self, bucket_key, data_shapes, label_shapes=None):
        """Make ``bucket_key``'s module current, binding it (parameters shared) if new."""
        self._need("binded")
        if bucket_key not in self._buckets:
            default = self._buckets[self._default_key]
            mod = self._module(bucket_key)
            mod.bind(data_shapes, label_shapes, self.for_training, self.inputs_need_grad,
                     shared_module=default)
            if default.optimizer_initialized:
                mod._optimizer, mod._updater = default._optimizer, default._updater
                mod.optimizer_initialized = True
            self._buckets[bucket_key] = mod
        self._curr = self._buckets[bucket_key]

    def init_params(self, *args, **kwargs):
        self._need("binded")
        self._buckets[self._default_key].init_params(*args, **kwargs)
        self.params_initialized = True

    def get_params(self):
        return self._buckets[self._default_key].get_params()

    def set_params(self, arg_params, aux_params, allow_missing=False, force_init=True,
                   allow_extra=False):
        self._buckets[self._default_key].set_params(arg_params, aux_params, allow_missing,
                                                    force_init, allow_extra)

    def init_optimizer(self, *args, **kwargs):
        self._need("binded", "params_initialized")
        default = self._buckets[self._default_key]
        default.init_optimizer(*args, **kwargs)
        for mod in self._buckets.values():
            mod._optimizer, mod._updater = default._optimizer, default._updater
            mod.optimizer_initialized = True
        self.optimizer_initialized = True

    def forward(self, data_batch, is_train=None):
        key = getattr(data_batch, "bucket_key", None)
        if key is None:
            key = self._default_key
        self.switch_bucket(key, data_batch.provide_data, data_batch.provide_label)
        self._curr.forward(data_batch, is_train)

    def backward(self, out_grads=None):
        self._curr.backward(out_grads)

    def update(self):
        self._curr.update()
        self._buckets[self._default_key]._params_dirty = True

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        self._curr.update_metric(eval_metric, labels)

    def get_outputs(self, merge_multi_context=True):
        return self._curr.get_outputs()

    def get_input_grads(self, merge_multi_context=True):
        return self._curr.get_input_grads()

    def save_checkpoint(self, prefix, epoch, remove_amp_cast=False):
        self._buckets[self._default_key].save_checkpoint(prefix, epoch,
                                                         remove_amp_cast=remove_amp_cast)


__all__ = ["BucketingModule"]
