"""``Estimator``: MXNet Gluon 1.9's training loop: ``fit`` over a DataLoader for a number of
epochs or batches, with event handlers for metrics, validation, logging, checkpoints and
early stopping; ``evaluate`` for one pass over validation data.

Example::

    >>> est = Estimator(net, loss=gluon.loss.SoftmaxCrossEntropyLoss(),
    ...                 train_metrics=kiln.metric.Accuracy(), trainer=trainer)
    >>> est.fit(train_data, val_data, epochs=5)
    >>> est.val_metrics[0].get()
    ('validation accuracy', 0.93)
"""
import copy
import logging
import sys
import warnings

from ....data import DataLoader
from ....device import Context, cpu, gpu, num_gpus
from ....metric import Loss as _LossMetric
from ....nn.loss import Loss as _GluonLoss
from ...trainer import Trainer
from ._events import _categorize, _check_event_handlers
from .batch_processor import BatchProcessor
from .event_handler import (
    GradientUpdateHandler,
    LoggingHandler,
    MetricHandler,
    StoppingHandler,
    ValidationHandler,
)
from .utils import _check_handler_metric_ref, _check_metrics, _suggest_metric_for_loss

__all__ = ["Estimator"]


class Estimator:
    """Train and evaluate ``net`` with ``loss``.

    ``train_metrics``/``val_metrics``: metrics or lists of metrics (default: Accuracy for a
    softmax cross-entropy loss, plus the mean loss; validation copies the training ones); their
    names get a ``training``/``validation`` prefix. ``initializer``: used when the net is not
    initialized yet. ``trainer``: a ``gluon.Trainer`` (default SGD, learning rate 0.001, with a
    warning). ``context``: a Context or a list (default gpu(0) when there is one, else cpu()).
    ``val_net``/``val_loss``: the block and loss used by ``evaluate`` (default ``net``/``loss``).
    ``batch_processor``: a ``BatchProcessor`` whose ``fit_batch``/``evaluate_batch`` run one
    batch. ``logger``: a ``logging.Logger`` writing INFO and above to stdout.
    """

    def __init__(self, net, loss, train_metrics=None, val_metrics=None, initializer=None,
                 trainer=None, context=None, val_net=None, val_loss=None,
                 batch_processor=None):
        self.net = net
        self.loss = self._check_loss(loss)
        self._train_metrics = _check_metrics(train_metrics)
        self._val_metrics = _check_metrics(val_metrics)
        self._add_default_training_metrics()
        self._add_validation_metrics()
        self.val_loss = self.loss if val_loss is None else self._check_loss(val_loss)
        self.val_net = self.net if val_net is None else val_net
        self.logger = logging.Logger(name="Estimator", level=logging.INFO)
        self.logger.addHandler(logging.StreamHandler(sys.stdout))
        self.context = self._check_context(context)
        self._initialize(initializer)
        self.trainer = self._check_trainer(trainer)
        self.batch_processor = self._check_batch_processor(batch_processor)
        self.max_epoch = self.max_batch = self.epoch_batches = None
        self.batch_axis = 0

    # ---- construction checks ----------------------------------------------------------------
    @staticmethod
    def _check_loss(loss):
        if not isinstance(loss, _GluonLoss):
            raise ValueError(f"Estimator: loss must be a gluon.loss.Loss, got {loss!r}")
        return loss

    @staticmethod
    def _check_context(context):
        gpus = num_gpus()
        if not context:
            if gpus > 1:
                warnings.warn("Estimator: several GPUs found, gpu(0) is used; pass "
                              "context=[kiln.gpu(0), kiln.gpu(1), ...] to use them all",
                              stacklevel=3)
            return [gpu(0)] if gpus else [cpu()]
        contexts = [context] if isinstance(context, Context) else context
        if not isinstance(contexts, list) or not all(isinstance(c, Context) for c in contexts):
            raise ValueError("Estimator: context must be a Context or a list of Context "
                             f"(kiln.cpu(), [kiln.gpu(0), kiln.gpu(1)]), got {context!r}")
        for ctx in contexts:
            if ctx.device_type != "cpu" and ctx.device_id >= gpus:
                raise ValueError(f"Estimator: {ctx} is not available ({gpus} GPUs found)")
        return contexts

    def _initialize(self, initializer):
        if not self._is_initialized():
            kwargs = {"init": initializer} if initializer else {}
            self.net.initialize(ctx=self.context, **kwargs)
        elif initializer:
            warnings.warn("Estimator: the network is already initialized, the initializer is "
                          "not used (net.initialize(init, force_reinit=True) re-initializes)",
                          stacklevel=3)

    def _is_initialized(self):
        params = self.net.collect_params()
        for name in params:
            try:
                params[name].list_ctx()
            except RuntimeError:
                return False
        return True

    def _check_trainer(self, trainer):
        if not trainer:
            warnings.warn("Estimator: no trainer given, using SGD with learning rate 0.001",
                          stacklevel=3)
            return Trainer(self.net.collect_params(), "sgd", {"learning_rate": 0.001})
        if not isinstance(trainer, Trainer):
            raise ValueError(f"Estimator: trainer must be a gluon.Trainer, got {trainer!r}")
        return trainer

    @staticmethod
    def _check_batch_processor(batch_processor):
        if batch_processor is None:
            return BatchProcessor()
        if not (callable(getattr(batch_processor, "fit_batch", None))
                and callable(getattr(batch_processor, "evaluate_batch", None))):
            raise ValueError("Estimator: a batch_processor needs fit_batch() and "
                             "evaluate_batch() methods")
        return batch_processor

    def _add_default_training_metrics(self):
        if not self._train_metrics:
            suggested = _suggest_metric_for_loss(self.loss)
            self._train_metrics = [suggested] if suggested else []
            self._train_metrics.append(_LossMetric(self.loss.name.rstrip("1234567890")))
        for metric in self._train_metrics:
            metric.name = "training " + metric.name

    def _add_validation_metrics(self):
        if not self._val_metrics:
            self._val_metrics = [copy.deepcopy(metric) for metric in self._train_metrics]
        for metric in self._val_metrics:
            if "training" in metric.name:
                metric.name = metric.name.replace("training", "validation")
            else:
                metric.name = "validation " + metric.name

    @property
    def train_metrics(self):
        """The training metrics (a list, names prefixed ``training``)."""
        return self._train_metrics

    @property
    def val_metrics(self):
        """The validation metrics (a list, names prefixed ``validation``)."""
        return self._val_metrics

    @property
    def evaluation_loss(self):
        """MXNet 1.6's name of ``val_loss``."""
        return self.val_loss

    # ---- the loops --------------------------------------------------------------------------
    @staticmethod
    def _check_data(data, what):
        if not isinstance(data, DataLoader):
            raise ValueError(f"Estimator: {what} must be a gluon.data.DataLoader, got "
                             f"{type(data).__name__} (wrap arrays in an ArrayDataset and a "
                             "DataLoader)")

    def evaluate(self, val_data, batch_axis=0, event_handlers=None):
        """One pass of ``val_net`` over ``val_data`` (a DataLoader of ``(data, label)``),
        updating ``val_metrics``; a MetricHandler and a LoggingHandler are added unless given.
        """
        self._check_data(val_data, "val_data")
        for metric in self.val_metrics:
            metric.reset()
        handlers = self._prepare_default_validation_handlers(event_handlers)
        events = _categorize(handlers)
        for handler in events["epoch_begin"]:
            handler.epoch_begin(self)
        for batch in val_data:
            for handler in events["batch_begin"]:
                handler.batch_begin(self, batch=batch)
            _, label, pred, loss = self.batch_processor.evaluate_batch(self, batch, batch_axis)
            for handler in events["batch_end"]:
                handler.batch_end(self, batch=batch, pred=pred, label=label, loss=loss)
        for handler in events["epoch_end"]:
            handler.epoch_end(self)

    def fit(self, train_data, val_data=None, epochs=None, event_handlers=None, batches=None,
            batch_axis=0):
        """Train for ``epochs`` passes over ``train_data`` or for ``batches`` batches (exactly
        one of the two), split along ``batch_axis`` over the contexts. Default handlers
        (stopping, gradient update, metrics, validation when ``val_data`` is given, logging)
        are added unless one of their class is in ``event_handlers``.
        """
        self._check_data(train_data, "train_data")
        if (not epochs) == (not batches):
            raise ValueError("Estimator.fit: pass exactly one of epochs or batches, got "
                             f"epochs={epochs!r}, batches={batches!r}")
        self.max_epoch, self.max_batch, self.batch_axis = epochs, batches, batch_axis
        try:
            self.epoch_batches = len(train_data)
        except TypeError:
            self.epoch_batches = None
        events = _categorize(self._prepare_default_handlers(val_data, event_handlers))
        for handler in events["train_begin"]:
            handler.train_begin(self)
        while not self._fit_epoch(train_data, events, batch_axis):
            pass
        for handler in events["train_end"]:
            handler.train_end(self)

    def _fit_epoch(self, train_data, events, batch_axis):
        """One pass over ``train_data``; True when a handler asked to stop."""
        for handler in events["epoch_begin"]:
            handler.epoch_begin(self)
        for batch in train_data:
            for handler in events["batch_begin"]:
                handler.batch_begin(self, batch=batch)
            _, label, pred, loss = self.batch_processor.fit_batch(self, batch, batch_axis)
            # every handler sees the batch end, then any of them may stop training
            stops = [handler.batch_end(self, batch=batch, pred=pred, label=label, loss=loss)
                     for handler in events["batch_end"]]
            if any(stops):
                break
        stops = [handler.epoch_end(self) for handler in events["epoch_end"]]
        return any(stops)

    # ---- default handlers -------------------------------------------------------------------
    def _prepare_default_handlers(self, val_data, event_handlers):
        handlers = _check_event_handlers(event_handlers)
        added = [StoppingHandler(self.max_epoch, self.max_batch)]
        if not any(isinstance(h, GradientUpdateHandler) for h in handlers):
            added.append(GradientUpdateHandler())
        if not any(isinstance(h, MetricHandler) for h in handlers):
            added.append(MetricHandler(metrics=self.train_metrics))
        if val_data and not any(isinstance(h, ValidationHandler) for h in handlers):
            added.append(ValidationHandler(val_data=val_data, eval_fn=self.evaluate))
        if not any(isinstance(h, LoggingHandler) for h in handlers):
            added.append(LoggingHandler(metrics=self.train_metrics))
        return self._merge(handlers, added, self.train_metrics + self.val_metrics)

    def _prepare_default_validation_handlers(self, event_handlers):
        handlers = _check_event_handlers(event_handlers)
        added = []
        if not any(isinstance(h, MetricHandler) for h in handlers):
            added.append(MetricHandler(metrics=self.val_metrics))
        if not any(isinstance(h, LoggingHandler) for h in handlers):
            added.append(LoggingHandler(metrics=self.val_metrics))
        return self._merge(handlers, added, self.val_metrics)

    @staticmethod
    def _merge(handlers, added, known_metrics):
        """User handlers then defaults, sorted by priority (stable: user handlers first among
        equals, so a resuming CheckpointHandler shortens the run before StoppingHandler reads
        it); a user handler mixed with defaults must use the Estimator's metric objects."""
        if handlers and added:
            for handler in handlers + added:
                _check_handler_metric_ref(handler, known_metrics)
        merged = handlers + added
        merged.sort(key=lambda handler: getattr(handler, "priority", 0))
        return merged
