"""Updater: holds per-index optimizer states and applies an optimizer (MXNet's ``get_updater``).

States serialize to a safe format (an ``.npz`` archive: one JSON structure plus the arrays,
read back with ``allow_pickle=False``), never pickle.

Example::

    >>> upd = kiln.optimizer.get_updater(kiln.optimizer.SGD(learning_rate=0.1))
    >>> upd(0, grad, weight)             # creates the state of index 0, then updates weight
    >>> blob = upd.get_states(dump_optimizer=True)
"""
import io
import json

import numpy as np

from ..ndarray.ndarray import NDArray, _move
from .optimizer import Optimizer

__all__ = ["Updater", "get_updater"]

_FORMAT = "kiln-optimizer-states"


class Updater:
    """Applies ``optimizer`` to (index, grad, weight) triples, creating states on first use."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.states = {}
        self.states_synced = {}

    def __call__(self, index, grad, weight):
        """Update ``weight`` in place. ``index``/``grad``/``weight`` may be lists."""
        if not isinstance(index, (list, tuple)):
            index, grad, weight = [index], [grad], [weight]
        if not weight:
            return
        self.optimizer._set_current_context(weight[0].context.device_id)
        for i, w in zip(index, weight):
            if i not in self.states:
                self.states[i] = self.optimizer.create_state_multi_precision(i, w)
                self.states_synced[i] = True
            elif not self.states_synced.get(i, True):
                self.states[i] = _to_context(self.states[i], w.context)
                self.states_synced[i] = True
        many = getattr(self.optimizer, "update_many", None)
        size = getattr(self.optimizer, "aggregate_num", 0)
        if many is not None and size > 1:
            for s in range(0, len(index), size):
                sl = slice(s, s + size)
                many(index[sl], weight[sl], grad[sl], [self.states[i] for i in index[sl]])
            return
        for i, g, w in zip(index, grad, weight):
            self.optimizer.update_multi_precision(i, w, g, self.states[i])

    def sync_state_context(self, state, context):
        """``state`` (an NDArray or nested tuple/list of them) moved onto ``context``."""
        return _to_context(state, context)

    def get_states(self, dump_optimizer=False):
        """The states (and the optimizer's settings when ``dump_optimizer``) as bytes."""
        arrays = []
        meta = {"format": _FORMAT, "version": 1, "states": _encode(self.states, arrays),
                "optimizer": _encode_optimizer(self.optimizer, arrays) if dump_optimizer
                else None}
        buf = io.BytesIO()
        entries = {f"arr_{k}": a for k, a in enumerate(arrays)}
        entries["__meta__"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
        np.savez(buf, **entries)
        return buf.getvalue()

    def set_states(self, states):
        """Restore from ``get_states`` bytes; a dumped optimizer replaces ``self.optimizer``."""
        with np.load(io.BytesIO(states), allow_pickle=False) as z:
            try:
                meta = json.loads(bytes(z["__meta__"]).decode("utf-8"))
            except KeyError:
                raise ValueError("not a kiln optimizer-states file") from None
            if meta.get("format") != _FORMAT:
                raise ValueError("not a kiln optimizer-states file")
            arrays = {int(k[4:]): z[k] for k in z.files if k.startswith("arr_")}
        self.states = _decode(meta["states"], arrays)
        self.states_synced = dict.fromkeys(self.states, False)
        if meta.get("optimizer") is not None:
            self.optimizer = _decode_optimizer(meta["optimizer"], arrays, self.optimizer)


def get_updater(optimizer):
    """An ``Updater`` applying ``optimizer``."""
    return Updater(optimizer)


def _to_context(state, ctx):
    if isinstance(state, NDArray):
        if state.context == ctx:
            return state
        return NDArray(_move(state._data, ctx, copy=True), ctx)
    if isinstance(state, (tuple, list)):
        return type(state)(_to_context(s, ctx) for s in state)
    return state


# ---- a small JSON encoding of states and optimizer settings -------------------------------
class _Unencodable(TypeError):
    pass


def _encode(obj, arrays):
    """JSON-able form of ``obj``; NDArrays go to ``arrays`` and are referenced by position."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj)
    if isinstance(obj, NDArray):
        arrays.append(obj.asnumpy())
        return {"__nd__": len(arrays) - 1}
    if isinstance(obj, tuple):
        return {"__tuple__": [_encode(o, arrays) for o in obj]}
    if isinstance(obj, list):
        return [_encode(o, arrays) for o in obj]
    if isinstance(obj, dict):
        return {"__dict__": [[_encode(k, arrays), _encode(v, arrays)] for k, v in obj.items()]}
    from .lr_scheduler import LRScheduler
    if isinstance(obj, LRScheduler):
        cls = type(obj)
        return {"__sched__": cls.__qualname__, "module": cls.__module__,
                "attrs": _encode(dict(vars(obj)), arrays)}
    raise _Unencodable(f"cannot save {type(obj).__name__}")


def _decode(obj, arrays):
    if isinstance(obj, list):
        return [_decode(o, arrays) for o in obj]
    if not isinstance(obj, dict):
        return obj
    if "__nd__" in obj:
        return NDArray(np.array(arrays[obj["__nd__"]]))
    if "__tuple__" in obj:
        return tuple(_decode(o, arrays) for o in obj["__tuple__"])
    if "__dict__" in obj:
        return {_hashable(_decode(k, arrays)): _decode(v, arrays) for k, v in obj["__dict__"]}
    if "__sched__" in obj:
        cls = _scheduler_class(obj["__sched__"], obj["module"])
        sched = cls.__new__(cls)
        sched.__dict__.update(_decode(obj["attrs"], arrays))
        return sched
    raise ValueError(f"unknown entry in optimizer-states file: {sorted(obj)}")


def _hashable(key):
    return tuple(_hashable(k) for k in key) if isinstance(key, (list, tuple)) else key


def _scheduler_class(qualname, module):
    """Only LRScheduler subclasses already defined in this process can be rebuilt."""
    from .lr_scheduler import LRScheduler
    todo, seen = [LRScheduler], set()
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        if cls.__qualname__ == qualname and cls.__module__ == module:
            return cls
        todo.extend(cls.__subclasses__())
    raise ValueError(f"optimizer-states file names an unknown lr_scheduler {module}.{qualname}")


def _encode_optimizer(opt, arrays):
    attrs = {}
    for name, value in vars(opt).items():
        if name in ("param_dict", "_index_update_count", "sym_info"):
            continue  # param_dict is the Trainer's; the count dict is re-linked on load
        try:
            attrs[name] = _encode(value, arrays)
        except _Unencodable:
            continue  # unsaveable extras keep the live optimizer's value on load
    return {"class": type(opt).__name__.lower(), "attrs": attrs}


def _decode_optimizer(entry, arrays, current):
    cls = Optimizer.opt_registry.get(entry["class"])
    if cls is None:
        raise ValueError(f"optimizer-states file names an unknown optimizer {entry['class']!r}")
    opt = cls.__new__(cls)
    if type(current) is cls:
        opt.__dict__.update(vars(current))
    opt.__dict__.update({k: _decode(v, arrays) for k, v in entry["attrs"].items()})
    counts = opt.__dict__.setdefault("_all_index_update_counts", {0: {}})
    opt._index_update_count = counts.setdefault(getattr(opt, "_device_key", 0), {})
    opt.sym_info = getattr(current, "sym_info", ())
    opt.param_dict = {}
    return opt
