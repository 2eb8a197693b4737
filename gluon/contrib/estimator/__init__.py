"""``kiln.gluon.contrib.estimator``: MXNet Gluon 1.9's Estimator, its event handlers and
BatchProcessor (``from kiln.gluon.contrib.estimator import Estimator, CheckpointHandler``).

Example::

    >>> from kiln.gluon.contrib.estimator import Estimator
    >>> est = Estimator(net, loss=kiln.gluon.loss.L2Loss(), trainer=trainer)
    >>> est.fit(train_data, epochs=3)
"""
from . import batch_processor, estimator, event_handler
from .batch_processor import BatchProcessor
from .estimator import Estimator
from .event_handler import (BatchBegin, BatchEnd, CheckpointHandler, EarlyStoppingHandler,
                            EpochBegin, EpochEnd, GradientUpdateHandler, LoggingHandler,
                            MetricHandler, StoppingHandler, TrainBegin, TrainEnd,
                            ValidationHandler)

__all__ = ["Estimator", "BatchProcessor", "TrainBegin", "TrainEnd", "EpochBegin", "EpochEnd",
           "BatchBegin", "BatchEnd", "StoppingHandler", "MetricHandler", "ValidationHandler",
           "LoggingHandler", "CheckpointHandler", "EarlyStoppingHandler",
           "GradientUpdateHandler", "estimator", "event_handler", "batch_processor"]
