"""``BaseModule``: the training and scoring loops MXNet's Module API shares across modules
(``fit``, ``score``, ``predict``, ``iter_predict``), written over the abstract steps a module
implements (``bind``, ``init_params``, ``init_optimizer``, ``forward``, ``backward``,
``update``, ``update_metric``, ``get_outputs``).

Example::

    >>> mod = kiln.mod.Module(net_sym, data_names=['data'], label_names=['softmax_label'])
    >>> mod.fit(train_iter, eval_data=val_iter, optimizer='sgd', num_epoch=2)
"""
import logging
import time

import numpy as np

from .. import metric as _metric
from ..base import MXNetError, _as_list
from ..export.checkpoint import BatchEndParam
from ..initializer import Uniform
from ..ndarray import ndarray as _nd


def _as_metric(eval_metric):
    return eval_metric if isinstance(eval_metric, _metric.EvalMetric) else \
        _metric.create(eval_metric)


def _call_all(callbacks, *args):
    for cb in _as_list(callbacks):
        cb(*args)


class BaseModule:
    """The shared loops of the Module API (MXNet 1.9's ``mx.module.BaseModule``)."""

    def __init__(self, logger=logging):
        self.logger = logger
        self.binded = False
        self.for_training = False
        self.inputs_need_grad = False
        self.params_initialized = False
        self.optimizer_initialized = False
        self._symbol = None
        self._total_exec_bytes = 0

    @property
    def symbol(self):
        """The symbol this module runs."""
        return self._symbol

    def forward_backward(self, data_batch):
        """``forward(is_train=True)`` then ``backward()``."""
        self.forward(data_batch, is_train=True)
        self.backward()

    def score(self, eval_data, eval_metric, num_batch=None, batch_end_callback=None,
              score_end_callback=None, reset=True, epoch=0, sparse_row_id_fn=None):
        """Evaluate ``eval_metric`` over ``eval_data``; returns ``[(name, value), ...]``."""
        self._need("binded", "params_initialized")
        if reset:
            eval_data.reset()
        eval_metric = _as_metric(eval_metric)
        eval_metric.reset()
        nbatch = 0
        for nbatch, batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.forward(batch, is_train=False)
            self.update_metric(eval_metric, batch.label)
            if batch_end_callback is not None:
                _call_all(batch_end_callback, BatchEndParam(epoch, nbatch, eval_metric, locals()))
        if score_end_callback is not None:
            _call_all(score_end_callback, BatchEndParam(epoch, nbatch, eval_metric, locals()))
        return eval_metric.get_name_value()

    def iter_predict(self, eval_data, num_batch=None, reset=True, sparse_row_id_fn=None):
        """Yield ``(outputs, nbatch, batch)`` per batch, outputs trimmed of the batch's pad."""
        self._need("binded", "params_initialized")
        if reset:
            eval_data.reset()
        for nbatch, batch in enumerate(eval_data):
            if num_batch is not None and nbatch == num_batch:
                break
            self.forward(batch, is_train=False)
            pad = batch.pad or 0
            outs = [out[0:out.shape[0] - pad] for out in self.get_outputs()]
            yield outs, nbatch, batch

    def predict(self, eval_data, num_batch=None, merge_batches=True, reset=True,
                always_output_list=False, sparse_row_id_fn=None):
        """The outputs over ``eval_data`` (an iterator, or one NDArray/numpy batch), batches
        concatenated along axis 0 when ``merge_batches``."""
        from ..data.io import NDArrayIter
        if isinstance(eval_data, (_nd.NDArray, np.ndarray)):
            if isinstance(eval_data, np.ndarray):
                eval_data = _nd.array(eval_data)
            self._need("binded")
            eval_data = NDArrayIter(eval_data, batch_size=self.data_shapes[0][1][0])
        outputs = [[o.copy() for o in outs]
                   for outs, _, _ in self.iter_predict(eval_data, num_batch, reset)]
        if not outputs:
            return outputs
        if not merge_batches:
            return outputs
        n = len(outputs[0])
        if any(len(o) != n for o in outputs):
            raise MXNetError("predict(): cannot merge batches with different numbers of "
                             "outputs; use merge_batches=False")
        from ..ndarray import ops as F
        merged = [F.concat(*[o[k] for o in outputs], dim=0) for k in range(n)]
        return merged[0] if n == 1 and not always_output_list else merged

    def fit(self, train_data, eval_data=None, eval_metric="acc", epoch_end_callback=None,
            batch_end_callback=None, kvstore="local", optimizer="sgd",
            optimizer_params=(("learning_rate", 0.01),), eval_end_callback=None,
            eval_batch_end_callback=None, initializer=Uniform(0.01), arg_params=None,
            aux_params=None, allow_missing=False, force_rebind=False, force_init=False,
            begin_epoch=0, num_epoch=None, validation_metric=None, monitor=None,
            sparse_row_id_fn=None):
        """Bind, initialize and train for ``num_epoch`` epochs (MXNet 1.9's loop: metric
        updated per batch, batch-end callbacks, epoch-end callbacks with the parameters,
        validation on ``eval_data`` after each epoch)."""
        if num_epoch is None:
            raise ValueError("fit(): please specify number of epochs (num_epoch)")
        self.bind(data_shapes=train_data.provide_data, label_shapes=train_data.provide_label,
                  for_training=True, force_rebind=force_rebind)
        if monitor is not None:
            self.install_monitor(monitor)
        self.init_params(initializer=initializer, arg_params=arg_params, aux_params=aux_params,
                         allow_missing=allow_missing, force_init=force_init)
        self.init_optimizer(kvstore=kvstore, optimizer=optimizer,
                            optimizer_params=optimizer_params)
        validation_metric = validation_metric or eval_metric
        eval_metric = _as_metric(eval_metric)
        for epoch in range(begin_epoch, num_epoch):
            tic = time.time()
            self._train_epoch(train_data, eval_metric, epoch, batch_end_callback, monitor)
            # global values: a Speedometer resets only the local ones
            for name, val in eval_metric.get_global_name_value():
                self.logger.info("Epoch[%d] Train-%s=%f", epoch, name, val)
            self.logger.info("Epoch[%d] Time cost=%.3f", epoch, time.time() - tic)
            arg_params_, aux_params_ = self.get_params()
            self.set_params(arg_params_, aux_params_)
            if epoch_end_callback is not None:
                _call_all(epoch_end_callback, epoch, self.symbol, arg_params_, aux_params_)
            if eval_data is not None:
                res = self.score(eval_data, validation_metric,
                                 score_end_callback=eval_end_callback,
                                 batch_end_callback=eval_batch_end_callback, epoch=epoch)
                for name, val in res:
                    self.logger.info("Epoch[%d] Validation-%s=%f", epoch, name, val)
            train_data.reset()

    def _train_epoch(self, train_data, eval_metric, epoch, batch_end_callback, monitor):
        eval_metric.reset()
        for nbatch, batch in enumerate(train_data):
            if monitor is not None:
                monitor.tic()
            self.forward_backward(batch)
            self.update()
            self.update_metric(eval_metric, batch.label)
            if monitor is not None:
                monitor.toc_print()
            if batch_end_callback is not None:
                _call_all(batch_end_callback, BatchEndParam(epoch, nbatch, eval_metric, locals()))

    def install_monitor(self, mon):
        """Install a ``kiln.monitor.Monitor`` on this module's executor."""
        self._need("binded")
        mon.install(self._exec)

    def prepare(self, data_batch, sparse_row_id_fn=None):
        """Nothing to prepare for dense parameters on one device."""

    def _need(self, *flags):
        missing = [f for f in flags if not getattr(self, f)]
        if missing:
            steps = {"binded": "bind()", "params_initialized": "init_params()",
                     "optimizer_initialized": "init_optimizer()"}
            raise MXNetError(f"{type(self).__name__}: call {', '.join(steps[f] for f in missing)}"
                             " first")


__all__ = ["BaseModule"]
