"""``LoggingHandler``: the Estimator's log lines (MXNet 1.9's messages) and an optional
plain-text progress bar.

Example::

    >>> est.fit(train_data, epochs=3,
    ...         event_handlers=[LoggingHandler(log_interval=10, metrics=est.train_metrics,
    ...                                        progress_bar=True)])
"""
import sys
import time

import numpy as np

from ._events import BatchBegin, BatchEnd, EpochBegin, EpochEnd, TrainBegin, TrainEnd
from .utils import _check_metrics

__all__ = ["LoggingHandler", "TextProgressBar"]


def _metric_text(metrics):
    return ", ".join("%s: %.4f" % metric.get() for metric in metrics)


class TextProgressBar:
    """A one-line progress bar written to ``stream`` (default ``sys.stderr``): redrawn in
    place with ``\\r`` on a terminal, one line per tenth of the epoch elsewhere (log files).

    ``update(done, total, text)``; ``total`` None shows the count only; ``close()`` ends the
    line. Example: ``[Epoch 0]  12/40 [========>-------------------]  30% loss: 0.51``.
    """

    def __init__(self, width=30, stream=None):
        self.width, self.stream = width, stream
        self._last_tenth = -1

    def _out(self):
        return self.stream if self.stream is not None else sys.stderr

    def update(self, prefix, done, total, text=""):
        out = self._out()
        tty = getattr(out, "isatty", lambda: False)()
        if total:
            frac = min(done / total, 1.0)
            filled = int(self.width * frac)
            bar = "=" * filled + (">" if filled < self.width else "")
            bar = "%s %d/%d [%s] %3d%%" % (prefix, done, total, bar.ljust(self.width),
                                           100 * frac)
            tenth = int(10 * frac)
        else:
            bar, tenth = "%s %d batches" % (prefix, done), done // 10
        if not tty and tenth == self._last_tenth:
            return
        self._last_tenth = tenth
        line = bar + ("  " + text if text else "")
        out.write(("\r" + line) if tty else (line + "\n"))
        out.flush()

    def close(self):
        out = self._out()
        if getattr(out, "isatty", lambda: False)():
            out.write("\n")
            out.flush()
        self._last_tenth = -1


class LoggingHandler(TrainBegin, TrainEnd, EpochBegin, EpochEnd, BatchBegin, BatchEnd):
    """Logs the optimizer and learning rate at train begin, ``metrics`` at every epoch end
    (``log_interval='epoch'``) or every ``log_interval`` batches (an int), and the total
    time at train end, through ``estimator.logger``. Priority inf: runs after every other
    handler so the metrics are up to date.

    ``progress_bar=True`` (kiln) also draws a ``TextProgressBar`` over each training epoch,
    on ``stream`` (default stderr).
    """

    def __init__(self, log_interval="epoch", metrics=None, priority=np.inf,
                 progress_bar=False, stream=None):
        if log_interval != "epoch" and (isinstance(log_interval, bool)
                                        or not isinstance(log_interval, int)):
            raise ValueError("LoggingHandler: log_interval must be an int or 'epoch', got "
                             f"{log_interval!r}")
        self.metrics = _check_metrics(metrics)
        self.priority, self.log_interval = priority, log_interval
        self.progress_bar = TextProgressBar(stream=stream) if progress_bar else None
        self.batch_index = self.current_epoch = self.processed_samples = 0
        self.log_interval_time = 0
        self.train_start = self.epoch_start = self.batch_start = time.time()

    def _is_training(self):
        # the Estimator names its metrics "training ..." / "validation ..."
        return any("training" in metric.name for metric in self.metrics)

    def train_begin(self, estimator, *args, **kwargs):
        self.train_start = time.time()
        trainer = estimator.trainer
        estimator.logger.info("Training begin: using optimizer %s with current learning rate "
                              "%.4f ", type(trainer.optimizer).__name__, trainer.learning_rate)
        if estimator.max_epoch:
            estimator.logger.info("Train for %d epochs.", estimator.max_epoch)
        else:
            estimator.logger.info("Train for %d batches.", estimator.max_batch)
        self.current_epoch = self.batch_index = self.processed_samples = 0
        self.log_interval_time = 0

    def train_end(self, estimator, *args, **kwargs):
        msg = "Train finished using total %ds with %d epochs. " % (
            time.time() - self.train_start, self.current_epoch)
        estimator.logger.info((msg + _metric_text(self.metrics)).rstrip(", "))

    def batch_begin(self, estimator, *args, **kwargs):
        self.batch_start = time.time()

    def batch_end(self, estimator, *args, **kwargs):
        if isinstance(self.log_interval, int):
            self.processed_samples += kwargs["batch"][0].shape[0]
            self.log_interval_time += time.time() - self.batch_start
            if self.batch_index % self.log_interval == 0:
                msg = "[Epoch %d][Batch %d][Samples %s] time/interval: %.3fs " % (
                    self.current_epoch, self.batch_index, self.processed_samples,
                    self.log_interval_time)
                self.log_interval_time = 0
                estimator.logger.info((msg + _metric_text(self.metrics)).rstrip(", "))
        self.batch_index += 1
        if self.progress_bar is not None and self._is_training():
            self.progress_bar.update("[Epoch %d]" % self.current_epoch, self.batch_index,
                                     getattr(estimator, "epoch_batches", None),
                                     _metric_text(self.metrics))

    def epoch_begin(self, estimator, *args, **kwargs):
        self.epoch_start = time.time()
        if self._is_training():
            estimator.logger.info("[Epoch %d] Begin, current learning rate: %.4f",
                                  self.current_epoch, estimator.trainer.learning_rate)
        else:
            estimator.logger.info("Validation Begin")

    def epoch_end(self, estimator, *args, **kwargs):
        if self.progress_bar is not None and self._is_training():
            self.progress_bar.close()
        msg = "[Epoch %d] Finished in %.3fs, " % (self.current_epoch,
                                                  time.time() - self.epoch_start)
        estimator.logger.info((msg + _metric_text(self.metrics)).rstrip(", "))
        self.current_epoch += 1
        self.batch_index = 0
