"""The profiler's event store, read by the dispatch point and by compiled graphs.

``ACTIVE[0]`` is the running ``Recorder`` or None. The dispatch point (``_registry.invoke``)
times each eager kernel through ``Recorder.kernel`` only while one runs; compiled graphs switch
to a variant that times every node (``symbol/codegen.py``), so profiling costs one list read
per op call when it is off. The public API (``kiln.profiler``, MXNet's ``mx.profiler``) lives
above; this module only records.

An event is a dict in Chrome's trace format: ``name``, ``cat``, ``ph`` (``X`` for a span, ``C``
for a counter, ``i`` for an instant), ``ts``/``dur`` in microseconds from the recorder's start,
``pid``, ``tid`` and ``args`` (bytes allocated for the outputs, the node's block path and the
user's line for graph nodes).
"""
import os
import threading
import time

ACTIVE = [None]


class Recorder:
    """Events of one profiling run (thread-safe: numpy releases the GIL inside kernels)."""

    def __init__(self, imperative=True, symbolic=True, memory=True, namer=None):
        self.imperative, self.symbolic, self.memory = imperative, symbolic, memory
        self.namer = namer  # (op, inputs) -> the name an eager call is recorded under
        self.events = []
        self.scope = ""
        self.t0 = time.perf_counter_ns()
        self._lock = threading.Lock()

    def now(self):
        return time.perf_counter_ns()

    def span(self, name, cat, start_ns, end_ns, args=None):
        """Record a finished span (nanosecond clock readings from ``now``)."""
        event = {"name": name, "cat": cat, "ph": "X", "ts": (start_ns - self.t0) / 1e3,
                 "dur": (end_ns - start_ns) / 1e3, "pid": os.getpid(),
                 "tid": threading.get_ident(), "args": dict(args or {})}
        if self.scope:
            event["args"]["scope"] = self.scope
        with self._lock:
            self.events.append(event)

    def point(self, name, cat, ph, args=None):
        """An instant (``ph='i'``) or counter (``ph='C'``) event, now."""
        event = {"name": name, "cat": cat, "ph": ph, "ts": (self.now() - self.t0) / 1e3,
                 "pid": os.getpid(), "tid": threading.get_ident(), "args": dict(args or {})}
        if ph == "i":
            event["s"] = "p"
        with self._lock:
            self.events.append(event)

    def kernel(self, op, xp, datas, attrs):
        """Run ``op``'s kernel eagerly as the dispatch point would, recording its span."""
        start = self.now()
        res = op.kernel(xp, *datas, **attrs)
        end = self.now()
        if self.imperative:
            name = op.name if self.namer is None else self.namer(op, datas)
            self.span(name, "operator", start, end, self._bytes(res))
        return res

    def node(self, name, start_ns, outputs, node):
        """A compiled graph's node finished (``codegen``'s profiled variant calls this)."""
        end = self.now()
        if self.symbolic:
            args = self._bytes(outputs)
            args.update(node=node.name, block=node.block, source=node.source)
            self.span(name, "operator", start_ns, end, args)

    def _bytes(self, res):
        if not self.memory:
            return {}
        arrays = res if isinstance(res, (tuple, list)) else (res,)
        return {"bytes": int(sum(getattr(a, "nbytes", 0) for a in arrays))}

    def take(self, reset=False):
        """The events so far (and forget them with ``reset``)."""
        with self._lock:
            events = list(self.events)
            if reset:
                self.events.clear()
        return events
