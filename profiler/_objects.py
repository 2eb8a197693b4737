"""MXNet's profiling objects: named spans, counters and markers recorded from Python code.

Each records into the running profiler (nothing while none runs or it is paused), in its
domain's category, so Python code paths show up in the trace beside the ops.

Example::

    >>> domain = profiler.Domain("data")
    >>> task = profiler.Task(domain, "decode")
    >>> task.start(); decode(); task.stop()
    >>> profiler.Counter(domain, "queue", 5).increment()
"""

from ..ndarray._profile import ACTIVE


def _rec():
    return ACTIVE[0]  # the running recorder (None while stopped or paused)


class Domain:
    """A category grouping tasks, frames, counters and markers."""

    def __init__(self, name):
        self.name = str(name)

    def new_task(self, name):
        return Task(self, name)

    def new_frame(self, name):
        return Frame(self, name)

    def new_counter(self, name, value=None):
        return Counter(self, name, value)

    def new_marker(self, name):
        return Marker(self, name)

    def __str__(self):
        return self.name


class _Span:
    """Something with ``start()`` and ``stop()``, recorded as one span when stopped."""

    kind = "span"

    def __init__(self, domain, name):
        self.domain, self.name = domain, str(name)
        self._start = None

    def start(self):
        rec = _rec()
        self._start = None if rec is None else (rec, rec.now())

    def stop(self):
        if self._start is None:
            return
        rec, t = self._start
        self._start = None
        cat = self.domain.name if self.domain is not None else self.kind
        rec.span(self.name, cat, t, rec.now(), {"kind": self.kind})

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def __str__(self):
        return self.name


class Task(_Span):
    """A named span of work in ``domain``."""

    kind = "task"


class Frame(_Span):
    """A named span (one iteration of a loop, by convention) in ``domain``."""

    kind = "frame"


class Event(_Span):
    """A named span outside any domain."""

    kind = "event"

    def __init__(self, name):
        super().__init__(None, name)


class Counter:
    """A value tracked over time (``set_value``, ``increment``, ``+=``...)."""

    def __init__(self, domain, name, value=None):
        self.domain, self.name, self.value = domain, str(name), 0
        if value is not None:
            self.set_value(value)

    def set_value(self, value):
        self.value = value
        rec = _rec()
        if rec is not None:
            rec.point(self.name, self.domain.name, "C", {"value": value})

    def increment(self, delta=1):
        self.set_value(self.value + delta)

    def decrement(self, delta=1):
        self.set_value(self.value - delta)

    def __iadd__(self, delta):
        self.increment(delta)
        return self

    def __isub__(self, delta):
        self.decrement(delta)
        return self

    def __str__(self):
        return self.name


class Marker:
    """An instant in time (``mark(scope)``, scope ``'process'``, ``'thread'`` or ``'global'``)."""

    def __init__(self, domain, name):
        self.domain, self.name = domain, str(name)

    def mark(self, scope="process"):
        rec = _rec()
        if rec is not None:
            rec.point(self.name, self.domain.name, "i", {"scope": scope})
