"""Checks shared by the Estimator and its handlers: metric lists, the metric a loss suggests,
and that handlers refer only to the Estimator's own metric objects.

Example::

    >>> len(_check_metrics(kiln.metric.Accuracy()))       # one metric -> a list of one
    1
"""
import warnings

import numpy as np

from ....metric import Accuracy, CompositeEvalMetric, EvalMetric
from ....nn.loss import SoftmaxCrossEntropyLoss


def _check_metrics(metrics):
    """``metrics`` (None, a metric, a composite or a list of metrics) as a flat list."""
    if isinstance(metrics, CompositeEvalMetric):
        return [m for metric in metrics.metrics for m in _check_metrics(metric)]
    if isinstance(metrics, EvalMetric):
        return [metrics]
    metrics = list(metrics or [])
    bad = [m for m in metrics if not isinstance(m, EvalMetric)]
    if bad:
        raise ValueError(f"metrics must be an EvalMetric or a list of EvalMetric "
                         f"(kiln.metric), got {bad[0]!r} of type {type(bad[0]).__name__}")
    return metrics


def _check_handler_metric_ref(handler, known_metrics):
    """Raise when ``handler`` holds a metric (attributes named ``*metric*``/``*monitor*``) that
    is not one of ``known_metrics``: it would never be updated, and silently stay NaN."""
    for attribute in dir(handler):
        if "metric" not in attribute and "monitor" not in attribute:
            continue
        reference = getattr(handler, attribute)
        refs = reference if isinstance(reference, list) else [reference]
        for metric in refs:
            if isinstance(metric, EvalMetric) and not any(metric is k for k in known_metrics):
                raise ValueError(
                    f"Event handler {type(handler).__name__} refers to a metric instance "
                    f"{metric.name!r} outside of the known training and validation metrics; "
                    "use the objects in estimator.train_metrics and estimator.val_metrics")


def _suggest_metric_for_loss(loss):
    """Accuracy for a softmax cross-entropy loss, None otherwise."""
    if isinstance(loss, SoftmaxCrossEntropyLoss):
        return Accuracy()
    return None


def _monitor_op(monitor, mode, who):
    """``np.greater`` or ``np.less``: how ``who`` decides that ``monitor`` improved.

    ``mode='auto'`` picks greater for accuracy/F1-like names and less otherwise (MXNet 1.9.1
    always picks greater: ``'acc' or 'f1' in name`` is always true), with a warning naming the
    choice."""
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{who}: mode {mode!r} is unknown, falling back to 'auto'",
                      RuntimeWarning, stacklevel=3)
        mode = "auto"
    if mode == "auto":
        name = monitor.get()[0].lower()
        mode = "max" if any(key in name for key in ("acc", "f1", "mcc", "auc")) else "min"
        warnings.warn(f"{who}: {'greater' if mode == 'max' else 'less'} is better for "
                      f"{monitor.get()[0]!r}; pass mode='min' or mode='max' to choose and "
                      "silence this warning", stacklevel=3)
    return np.greater if mode == "max" else np.less
