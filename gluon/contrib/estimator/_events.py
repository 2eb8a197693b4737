"""The six event mixins of the Estimator's loop and the check of a handler list.

A handler subclasses the mixins of the events it wants; the Estimator calls
``train_begin``, ``epoch_begin``, ``batch_begin``, ``batch_end``, ``epoch_end`` and
``train_end`` on the handlers that have them, in ascending ``priority`` (default 0). A true
return value from ``batch_end`` or ``epoch_end`` stops training.

Example::

    >>> class CountBatches(BatchEnd):
    ...     def __init__(self):
    ...         self.n = 0
    ...     def batch_end(self, estimator, *args, **kwargs):
    ...         self.n += 1
"""

__all__ = ["EventHandler", "TrainBegin", "TrainEnd", "EpochBegin", "EpochEnd", "BatchBegin",
           "BatchEnd"]


class EventHandler:
    """Base of every event handler."""


class TrainBegin(EventHandler):
    """Called once before the first epoch."""

    def train_begin(self, estimator, *args, **kwargs):
        pass


class TrainEnd(EventHandler):
    """Called once after training stops."""

    def train_end(self, estimator, *args, **kwargs):
        pass


class EpochBegin(EventHandler):
    """Called before each pass over the data (and before an ``evaluate``)."""

    def epoch_begin(self, estimator, *args, **kwargs):
        pass


class EpochEnd(EventHandler):
    """Called after each pass over the data; return True to stop training."""

    def epoch_end(self, estimator, *args, **kwargs):
        return False


class BatchBegin(EventHandler):
    """Called before each batch with ``batch=``."""

    def batch_begin(self, estimator, *args, **kwargs):
        pass


class BatchEnd(EventHandler):
    """Called after each batch with ``batch=``, ``pred=``, ``label=``, ``loss=`` (lists, one
    entry per device); return True to stop training."""

    def batch_end(self, estimator, *args, **kwargs):
        return False


_EVENTS = (("train_begin", TrainBegin), ("epoch_begin", EpochBegin),
           ("batch_begin", BatchBegin), ("batch_end", BatchEnd), ("epoch_end", EpochEnd),
           ("train_end", TrainEnd))


def _check_event_handlers(handlers):
    """``handlers`` (None, one handler or a list) as a new list of EventHandlers."""
    if isinstance(handlers, EventHandler):
        return [handlers]
    handlers = list(handlers or [])
    bad = [h for h in handlers if not isinstance(h, EventHandler)]
    if bad:
        raise ValueError("event_handlers must be an EventHandler or a list of EventHandler, "
                         f"got {bad[0]!r} of type {type(bad[0]).__name__}")
    return handlers


def _categorize(handlers):
    """``{event name: [handlers implementing it]}``, each list in the handlers' order."""
    return {name: [h for h in handlers if isinstance(h, mixin)] for name, mixin in _EVENTS}
