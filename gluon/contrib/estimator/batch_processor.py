"""``BatchProcessor``: what the Estimator does with one batch (``fit_batch`` records the
forward pass and runs backward; ``evaluate_batch`` runs the validation net). Subclass it to
change the step (several outputs, custom losses) and pass it as ``Estimator(...,
batch_processor=...)``.

Example::

    >>> class Scaled(BatchProcessor):
    ...     def fit_batch(self, estimator, batch, batch_axis=0):
    ...         return super().fit_batch(estimator, batch, batch_axis)
"""
from .... import autograd
from ...utils import split_and_load

__all__ = ["BatchProcessor"]


class BatchProcessor:
    """The default per-batch training and evaluation step of an ``Estimator``.

    A batch is ``(data, label)``; each is split along ``batch_axis`` over
    ``estimator.context`` (``gluon.utils.split_and_load``). Both methods return
    ``(data, label, pred, loss)``, four lists with one entry per device.
    """

    def _get_data_and_label(self, batch, ctx, batch_axis=0):
        if not isinstance(batch, (list, tuple)) or len(batch) < 2:
            raise ValueError("BatchProcessor: a batch must be (data, label, ...), got "
                             f"{type(batch).__name__}; write a BatchProcessor subclass for "
                             "other layouts")
        data = split_and_load(batch[0], ctx_list=ctx, batch_axis=batch_axis)
        label = split_and_load(batch[1], ctx_list=ctx, batch_axis=batch_axis)
        return data, label

    def evaluate_batch(self, estimator, val_batch, batch_axis=0):
        """Run ``estimator.val_net`` and ``estimator.val_loss`` on one validation batch
        (predict mode, nothing recorded)."""
        data, label = self._get_data_and_label(val_batch, estimator.context, batch_axis)
        pred = [estimator.val_net(x) for x in data]
        loss = [estimator.val_loss(y_hat, y) for y_hat, y in zip(pred, label)]
        return data, label, pred, loss

    def fit_batch(self, estimator, train_batch, batch_axis=0):
        """Forward ``estimator.net`` and ``estimator.loss`` under ``autograd.record()`` and
        backpropagate each device's loss; the optimizer step is the
        ``GradientUpdateHandler``'s."""
        data, label = self._get_data_and_label(train_batch, estimator.context, batch_axis)
        with autograd.record():
            pred = [estimator.net(x) for x in data]
            loss = [estimator.loss(y_hat, y) for y_hat, y in zip(pred, label)]
        for each in loss:
            each.backward()
        return data, label, pred, loss
