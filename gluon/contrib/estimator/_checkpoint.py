"""``CheckpointHandler``: saves parameters, trainer states and random states every few epochs
or batches (the last ``max_checkpoints`` kept, plus the best by a monitored metric), the graph
once, and resumes training from the newest checkpoint.

Files in ``model_dir`` (MXNet 1.9's names): ``<prefix>-epoch<E>batch<B>.params`` (the net's
``save_parameters``), ``.states`` (``Trainer.save_states``), ``.rng.json`` (kiln: numpy's and
kiln's generators, so a resumed run shuffles and drops out as the uninterrupted one would),
``<prefix>-best.*`` (with ``<prefix>-best.json``: the monitored value, so a resumed run
replaces the best only with a better one), and ``<prefix>-symbol.json`` when the net is
hybridized.

Example::

    >>> ckpt = CheckpointHandler("ckpt", monitor=est.val_metrics[0], save_best=True,
    ...                          mode="max", resume_from_checkpoint=True)
    >>> est.fit(train_data, val_data, epochs=10, event_handlers=[ckpt])
"""
import json
import os
import re
import warnings

import numpy as np

from ....base import FileFormatError, atomic_write
from ....metric import EvalMetric
from ....nn.symbol_block import block_graph
from ....symbol.mxnet_json import symbol_to_json
from . import _rng_state
from ._events import BatchEnd, EpochEnd, TrainBegin
from .utils import _monitor_op

__all__ = ["CheckpointHandler"]


class CheckpointHandler(TrainBegin, BatchEnd, EpochEnd):
    """Save the model every ``epoch_period`` epochs / ``batch_period`` batches into
    ``model_dir`` and resume from it (``resume_from_checkpoint=True``).

    ``monitor``: a metric of ``estimator.train_metrics``/``val_metrics``; with
    ``save_best=True`` the checkpoint with the best value (``mode``: 'min', 'max', 'auto') is
    kept as ``<prefix>-best``. ``max_checkpoints``: how many periodic checkpoints to keep.
    ``verbose=1`` logs every save. On resume, the epochs (batches) already trained are
    subtracted from ``fit``'s count and the parameters, trainer and random states loaded.
    """

    def __init__(self, model_dir, model_prefix="model", monitor=None, verbose=0,
                 save_best=False, mode="auto", epoch_period=1, batch_period=None,
                 max_checkpoints=5, resume_from_checkpoint=False):
        if save_best and not isinstance(monitor, EvalMetric):
            raise ValueError("CheckpointHandler: save_best=True needs monitor, one of the "
                             "metric objects of estimator.train_metrics or val_metrics")
        os.makedirs(model_dir, exist_ok=True)
        self.model_dir, self.model_prefix = model_dir, model_prefix
        self.monitor, self.verbose, self.save_best = monitor, verbose, save_best
        self.epoch_period, self.batch_period = epoch_period, batch_period
        self.max_checkpoints = max_checkpoints
        self.resume_from_checkpoint = resume_from_checkpoint
        self.current_batch = self.current_epoch = 0
        self.trained_epoch = self.trained_batch = -1
        self.saved_checkpoints = []
        if save_best:
            self.monitor_op = _monitor_op(monitor, mode, "CheckpointHandler")
            self.best = np.inf if self.monitor_op is np.less else -np.inf

    def train_begin(self, estimator, *args, **kwargs):
        self.current_batch = self.current_epoch = 0
        if self.save_best:
            self.best = np.inf if self.monitor_op is np.less else -np.inf
        if self.resume_from_checkpoint:
            by_batch = bool(estimator.max_batch)
            if by_batch != bool(self.batch_period) or by_batch == bool(self.epoch_period):
                raise ValueError(
                    "CheckpointHandler: to resume, save with the same kind of period that fit "
                    f"counts ({'batches' if by_batch else 'epochs'}): pass "
                    f"{'batch_period=k, epoch_period=None' if by_batch else 'epoch_period=k'} "
                    f"(got epoch_period={self.epoch_period}, batch_period={self.batch_period})")
            self._resume(estimator)

    def batch_end(self, estimator, *args, **kwargs):
        if self.current_batch == 0:
            self._save_symbol(estimator)
        if self.batch_period and (self.current_batch + 1) % self.batch_period == 0:
            self._save_checkpoint(estimator)
        self.current_batch += 1

    def epoch_end(self, estimator, *args, **kwargs):
        if self.epoch_period and (self.current_epoch + 1) % self.epoch_period == 0:
            self._save_checkpoint(estimator)
        self.current_epoch += 1

    # ---- saving -----------------------------------------------------------------------------
    def _numbers(self, estimator):
        """(epoch, batch) in the checkpoint's name: MXNet's numbering, continued on resume."""
        if self.trained_epoch < 0:
            return self.current_epoch, self.current_batch
        epoch = self.current_epoch + self.trained_epoch + 1
        # at an epoch end the batch count is already incremented; at a batch end it is not
        extra = 0 if estimator.max_epoch else 1
        return epoch, self.current_batch + self.trained_batch + extra

    def _save_checkpoint(self, estimator):
        prefix = "%s-epoch%dbatch%d" % ((self.model_prefix,) + self._numbers(estimator))
        self._save_params_and_trainer(estimator, prefix)
        if self.verbose > 0:
            estimator.logger.info("[Epoch %d] CheckpointHandler: trained total %d batches, "
                                  "saving model at %s with prefix: %s", self.current_epoch,
                                  self.current_batch + 1, self.model_dir, prefix)
        if self.save_best:
            self._save_best(estimator)

    def _save_best(self, estimator):
        name, value = self.monitor.get()
        if np.isnan(value):
            warnings.warn(f"CheckpointHandler: skipping save_best because {name} is not "
                          "updated; monitor one of the metric objects of "
                          "estimator.train_metrics or val_metrics", RuntimeWarning,
                          stacklevel=2)
        elif self.monitor_op(value, self.best):
            prefix = self.model_prefix + "-best"
            self._save_params_and_trainer(estimator, prefix)
            # the value beside the files: a resumed run keeps a better earlier best
            atomic_write(os.path.join(self.model_dir, prefix + ".json"),
                         json.dumps({"monitor": name, "best": float(value)}).encode())
            if self.verbose > 0:
                estimator.logger.info("[Epoch %d] CheckpointHandler: %s improved from %0.5f "
                                      "to %0.5f, updating best model at %s with prefix: %s",
                                      self.current_epoch, name, self.best, value,
                                      self.model_dir, prefix)
            self.best = value
        elif self.verbose > 0:
            estimator.logger.info("[Epoch %d] CheckpointHandler: %s did not improve from "
                                  "%0.5f, skipping updating best model", self.current_epoch,
                                  name, self.best)

    def _save_symbol(self, estimator):
        symbol_file = os.path.join(self.model_dir, self.model_prefix + "-symbol.json")
        cached = getattr(estimator.net, "_cached_op", None)
        if cached is not None and cached.entries:
            text, _ = symbol_to_json(block_graph(estimator.net)[0])
            atomic_write(symbol_file, text.encode())
        else:
            estimator.logger.info("Model architecture (symbol file) is not saved: build the "
                                  "model from HybridBlocks and call net.hybridize() before "
                                  "fit to save it as %s.", symbol_file)

    def _save_params_and_trainer(self, estimator, file_prefix):
        path = os.path.join(self.model_dir, file_prefix)
        estimator.net.save_parameters(path + ".params")
        estimator.trainer.save_states(path + ".states")
        _rng_state.save(path + ".rng.json")
        if file_prefix == self.model_prefix + "-best":
            return
        self.saved_checkpoints.append(file_prefix)
        while len(self.saved_checkpoints) > self.max_checkpoints:
            old = self.saved_checkpoints.pop(0)
            for suffix in (".params", ".states", ".rng.json"):
                if os.path.exists(os.path.join(self.model_dir, old + suffix)):
                    os.remove(os.path.join(self.model_dir, old + suffix))

    # ---- resuming ---------------------------------------------------------------------------
    def _find_checkpoints(self):
        """Sorted ``[(epoch, batch, prefix)]`` of the periodic checkpoints in ``model_dir``."""
        pattern = re.compile(re.escape(self.model_prefix) + r"-epoch(\d+)batch(\d+)\.params$")
        found = []
        for fname in os.listdir(self.model_dir):
            match = pattern.match(fname)
            if match:
                found.append((int(match.group(1)), int(match.group(2)), fname[:-len(".params")]))
        return sorted(found)

    def _resume(self, estimator):
        found = self._find_checkpoints()
        self.saved_checkpoints = [prefix for _, _, prefix in found]
        if not found:
            self.trained_epoch = self.trained_batch = -1
            estimator.logger.info("CheckpointHandler: no checkpoint found in %s, training from "
                                  "scratch", self.model_dir)
            return
        self.trained_epoch, self.trained_batch, prefix = found[-1]
        by_batch = bool(estimator.max_batch)
        total, done = ((estimator.max_batch, self.trained_batch) if by_batch
                       else (estimator.max_epoch, self.trained_epoch))
        if done >= total - 1:
            raise ValueError(f"CheckpointHandler: the checkpoint {prefix} in {self.model_dir} "
                             f"already reached {total} {'batches' if by_batch else 'epochs'}; "
                             "pass resume_from_checkpoint=False to train from scratch")
        if by_batch:
            estimator.max_batch = total - done - 1
        else:
            estimator.max_epoch = total - done - 1
        path = os.path.join(self.model_dir, prefix)
        # read every file before setting anything (MXNet's checkpoints have no .rng.json)
        rng_states = (_rng_state.read(path + ".rng.json")
                      if os.path.exists(path + ".rng.json") else None)
        best = self._read_best()
        estimator.net.load_parameters(path + ".params", ctx=estimator.context)
        estimator.trainer.load_states(path + ".states")
        if rng_states is not None:
            _rng_state.apply(rng_states)
        if best is not None:
            self.best = best
        estimator.logger.warning("CheckpointHandler: checkpoint resumed from epoch %d batch %d, "
                                 "continue to train for %d %s", self.trained_epoch,
                                 self.trained_batch, total - done - 1,
                                 "batches" if by_batch else "epochs")

    def _read_best(self):
        """The best value ``<prefix>-best.json`` records for this monitor, or None (no file,
        no ``save_best``, another monitor); a damaged file raises ``FileFormatError``."""
        path = os.path.join(self.model_dir, self.model_prefix + "-best.json")
        if not self.save_best or not os.path.exists(path):
            return None
        try:
            with open(path, "rb") as f:
                record = json.loads(f.read().decode())
            name, best = record["monitor"], float(record["best"])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise FileFormatError(path, f"not a best-value record of CheckpointHandler: "
                                        f"{err}") from None
        return best if name == self.monitor.get()[0] else None
