"""``kiln.profiler`` (MXNet's ``mx.profiler``): per-op times and bytes, eager and hybridized.

Eager calls are timed at the dispatch point; a hybridized graph runs a variant of its compiled
function that times every node (named by MXNet's op type, with the node's block path and the
user's line in the event's args). ``dump()`` writes Chrome's trace format (open it in Perfetto
or chrome://tracing); ``dumps()`` aggregates per op (a text table, or JSON as MXNet's
``dumps(format='json')``: ``{"Time": {domain: {name: {"Count", "Total", "Min", "Max", "Avg"}}},
"Memory": {...}, "Unit": {...}}``). Domains, tasks, frames, events, counters and markers record
Python code paths alongside.

Example::

    >>> from kiln import profiler
    >>> profiler.set_config(profile_all=True, filename="trace.json", aggregate_stats=True)
    >>> profiler.set_state("run")
    >>> y = net(x)                      # every op and graph node is timed
    >>> profiler.set_state("stop")
    >>> print(profiler.dumps())         # the slowest ops first
    >>> profiler.dump()                 # trace.json for chrome://tracing
"""
import contextlib
import json

from ..base import atomic_write
from ..ndarray import _profile
from ..symbol.op_names import call_name
from ._objects import Counter, Domain, Event, Frame, Marker, Task
from ._stats import aggregate, table

__all__ = ["set_config", "set_state", "get_state", "pause", "resume", "dump", "dumps", "scope",
           "Domain", "Task", "Frame", "Event", "Counter", "Marker", "profiler_set_config",
           "profiler_set_state", "dump_profile"]

_CONFIG = {"filename": "profile.json", "profile_symbolic": True, "profile_imperative": True,
           "profile_memory": True, "profile_api": True, "aggregate_stats": False,
           "continuous_dump": False}
_KNOWN = set(_CONFIG) | {"profile_all", "dump_period", "profile_process",
                         "gpu_memory_profile_filename_prefix"}
_STATE = {"recorder": None, "running": False, "paused": False}


def set_config(**kwargs):
    """Configure the profiler (keyword arguments only, as MXNet): ``filename``, ``profile_all``
    (every kind below), ``profile_symbolic`` (hybridized graphs), ``profile_imperative``
    (eager ops), ``profile_memory`` (bytes of each op's outputs), ``profile_api``,
    ``aggregate_stats``, ``continuous_dump``; unknown keys raise ValueError."""
    unknown = set(kwargs) - _KNOWN
    if unknown:
        raise ValueError(f"profiler.set_config: unknown option(s) {sorted(unknown)}; "
                         f"known: {sorted(_KNOWN)}")
    if kwargs.pop("profile_all", False):
        for k in ("profile_symbolic", "profile_imperative", "profile_memory", "profile_api"):
            _CONFIG[k] = True
    _CONFIG.update({k: v for k, v in kwargs.items() if k in _CONFIG})


def _recorder():
    rec = _STATE["recorder"]
    if rec is None:
        rec = _STATE["recorder"] = _profile.Recorder(
            imperative=bool(_CONFIG["profile_imperative"]),
            symbolic=bool(_CONFIG["profile_symbolic"]), memory=bool(_CONFIG["profile_memory"]),
            namer=lambda op, inputs: call_name(op, inputs)[0])
    return rec


def set_state(state="stop", profile_process="worker"):
    """``'run'`` starts recording (events accumulate across runs until dumped with
    ``finished=True`` or ``dumps(reset=True)``); ``'stop'`` stops it."""
    if state not in ("run", "stop"):
        raise ValueError(f"profiler.set_state: state must be 'run' or 'stop', got {state!r}")
    _STATE["running"] = state == "run"
    _STATE["paused"] = False
    _apply()


def get_state():
    """``'run'`` while recording (paused counts as running), else ``'stop'``."""
    return "run" if _STATE["running"] else "stop"


def pause(profile_process="worker"):
    """Stop recording until ``resume()`` (the run stays open)."""
    _STATE["paused"] = True
    _apply()


def resume(profile_process="worker"):
    """Record again after ``pause()``."""
    _STATE["paused"] = False
    _apply()


def _apply():
    on = _STATE["running"] and not _STATE["paused"]
    _profile.ACTIVE[0] = _recorder() if on else None


def dump(finished=True, profile_process="worker"):
    """Write the events so far to the configured file as a Chrome trace (atomically);
    ``finished``: the run is over: recording stops and the events are dropped after writing."""
    rec = _STATE["recorder"]
    events = rec.take() if rec is not None else []
    trace = {"traceEvents": events, "displayTimeUnit": "ms",
             "otherData": {"producer": "kiln.profiler"}}
    atomic_write(_CONFIG["filename"], json.dumps(trace).encode())
    if finished:
        set_state("stop")
        _STATE["recorder"] = None


def dumps(reset=False, format="table", sort_by="total", ascending=False):
    """Aggregate statistics per op so far: a printable table (``format='table'``) or MXNet's
    JSON (``format='json'``), sorted by ``'total'``, ``'avg'``, ``'min'``, ``'max'`` or
    ``'count'``; ``reset`` forgets the events afterwards."""
    if format not in ("table", "json"):
        raise ValueError(f"profiler.dumps: format must be 'table' or 'json', got {format!r}")
    rec = _STATE["recorder"]
    events = rec.take(reset=reset) if rec is not None else []
    stats = aggregate(events, sort_by, ascending)
    return json.dumps(stats) if format == "json" else table(stats)


@contextlib.contextmanager
def scope(name="<unk>:", append_mode=False):
    """Tag the events recorded inside the block with ``name`` (``args.scope``); with
    ``append_mode`` the name is appended to the enclosing scope's."""
    rec = _recorder()
    prev = rec.scope
    rec.scope = prev + name if append_mode else name
    try:
        yield
    finally:
        rec.scope = prev


# MXNet's deprecated spellings
def profiler_set_config(mode="symbolic", filename="profile.json"):
    """Deprecated MXNet form of ``set_config``."""
    set_config(profile_all=mode == "all", filename=filename)


def profiler_set_state(state="stop"):
    """Deprecated MXNet form of ``set_state``."""
    set_state(state)


def dump_profile():
    """Deprecated MXNet form of ``dump``."""
    dump(True)
