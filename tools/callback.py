"""``kiln.callback``: MXNet 1.9's ``mx.callback``, the callbacks of a Module-style loop.

Batch-end callbacks receive a ``kiln.model.BatchEndParam`` (``epoch``, ``nbatch``,
``eval_metric``, ``locals``): ``Speedometer``, ``ProgressBar``, ``log_train_metric``,
``LogValidationMetricsCallback``. Epoch-end callbacks are called as
``callback(epoch, symbol, arg_params, aux_params)``: ``do_checkpoint``, ``module_checkpoint``.
Messages go to the root ``logging`` logger at INFO, as in MXNet.

Example::

    >>> speed = kiln.callback.Speedometer(batch_size=32, frequent=50)
    >>> for nbatch, batch in enumerate(train_data):
    ...     ...                                    # forward, backward, metric.update
    ...     speed(kiln.model.BatchEndParam(epoch, nbatch, metric, locals()))
"""
import logging
import math
import time

from ..export.checkpoint import save_checkpoint

__all__ = ["module_checkpoint", "do_checkpoint", "log_train_metric", "Speedometer",
           "ProgressBar", "LogValidationMetricsCallback"]


def _every(period, callback):
    """``callback(epoch, ...)`` run after every ``period``-th epoch (epoch + 1 divisible)."""
    period = int(max(1, period))

    def _callback(iter_no, *args):
        if (iter_no + 1) % period == 0:
            callback(iter_no, *args)
    return _callback


def module_checkpoint(mod, prefix, period=1, save_optimizer_states=False):
    """An epoch-end callback calling ``mod.save_checkpoint(prefix, epoch + 1,
    save_optimizer_states)`` every ``period`` epochs (``mod``: anything with that method).

    Example: ``module_checkpoint(mod, 'mlp', period=2)``.
    """
    def save(iter_no, sym=None, arg=None, aux=None):
        mod.save_checkpoint(prefix, iter_no + 1, save_optimizer_states)
    return _every(period, save)


def do_checkpoint(prefix, period=1):
    """An epoch-end callback writing ``prefix-symbol.json`` and ``prefix-<epoch+1:04d>.params``
    (``kiln.model.save_checkpoint``) every ``period`` epochs.

    Example: ``cb = do_checkpoint('mlp'); cb(0, sym, args, auxs)`` writes ``mlp-0001.params``.
    """
    def save(iter_no, sym, arg, aux):
        save_checkpoint(prefix, iter_no + 1, sym, arg, aux)
    return _every(period, save)


def log_train_metric(period, auto_reset=False):
    """A batch-end callback logging ``Iter[epoch] Batch[n] Train-<name>=<value>`` every
    ``period`` batches (and resetting the metric's local state with ``auto_reset``).

    Example: ``cb = log_train_metric(10); cb(BatchEndParam(0, 10, metric, None))``.
    """
    def _callback(param):
        if param.nbatch % period == 0 and param.eval_metric is not None:
            for name, value in param.eval_metric.get_name_value():
                logging.info("Iter[%d] Batch[%d] Train-%s=%f", param.epoch, param.nbatch,
                             name, value)
            if auto_reset:
                param.eval_metric.reset_local()
    return _callback


class Speedometer:
    """Logs samples per second (and the metric) every ``frequent`` batches; the first call
    of an epoch (``nbatch`` going down) only starts the clock. ``auto_reset`` resets the
    metric's local state after each log, so each line shows the last ``frequent`` batches.

    Example::

        >>> speed = Speedometer(batch_size=32, frequent=50)
        >>> speed(BatchEndParam(epoch=0, nbatch=50, eval_metric=metric, locals=None))
        Epoch[0] Batch [0-50]	Speed: 1910.41 samples/sec	accuracy=0.500000
    """

    def __init__(self, batch_size, frequent=50, auto_reset=True):
        self.batch_size, self.frequent, self.auto_reset = batch_size, frequent, auto_reset
        self.init, self.tic, self.last_count = False, 0, 0

    def __call__(self, param):
        count = param.nbatch
        if self.last_count > count:
            self.init = False
        self.last_count = count
        if not self.init:
            self.init, self.tic = True, time.time()
            return
        if count % self.frequent:
            return
        elapsed = time.time() - self.tic
        speed = self.frequent * self.batch_size / elapsed if elapsed > 0 else float("inf")
        if param.eval_metric is None:
            logging.info("Iter[%d] Batch [%d]\tSpeed: %.2f samples/sec", param.epoch, count,
                         speed)
        else:
            name_value = param.eval_metric.get_name_value()
            first = count - self.frequent if self.auto_reset else 0
            if self.auto_reset:
                param.eval_metric.reset_local()
            msg = "Epoch[%d] Batch [%d-%d]\tSpeed: %.2f samples/sec" + "\t%s=%f" * len(
                name_value)
            logging.info(msg, param.epoch, first, count, speed, *sum(name_value, ()))
        self.tic = time.time()


class ProgressBar:
    """Logs ``[====----] 50.0%``: the share of ``total`` batches done in the epoch, on a bar
    of ``length`` characters.

    Example: ``ProgressBar(total=2)(BatchEndParam(0, 1, None, None))`` logs a half-full bar.
    """

    def __init__(self, total, length=80):
        self.bar_len, self.total = length, total

    def __call__(self, param):
        count = param.nbatch
        filled = int(round(self.bar_len * count / float(self.total)))
        percents = math.ceil(100.0 * count / float(self.total))
        logging.info("[%s] %s%s\r", "=" * filled + "-" * (self.bar_len - filled), percents, "%")


class LogValidationMetricsCallback:
    """Logs ``Epoch[e] Validation-<name>=<value>`` for each metric value at the epoch's end.

    Example: ``LogValidationMetricsCallback()(BatchEndParam(3, 0, metric, None))``.
    """

    def __call__(self, param):
        if not param.eval_metric:
            return
        for name, value in param.eval_metric.get_name_value():
            logging.info("Epoch[%d] Validation-%s=%f", param.epoch, name, value)
