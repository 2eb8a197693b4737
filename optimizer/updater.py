"""Updater: holds per-index optimizer states and applies an optimizer (MXNet's ``get_updater``).

States serialize to a safe format, never pickle: an ``.npz`` archive of one JSON structure plus
the arrays, read back and validated by ``states_format``.

Example::

    >>> upd = kiln.optimizer.get_updater(kiln.optimizer.SGD(learning_rate=0.1))
    >>> upd(0, grad, weight)             # creates the state of index 0, then updates weight
    >>> blob = upd.get_states(dump_optimizer=True)
"""
from ..ndarray._derived import thaw
from ..ndarray.ndarray import NDArray, _move
from . import states_format

__all__ = ["Updater", "get_updater"]


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
            for w in weight:   # raw writes below: the weights writable, derived forms dropped
                thaw(getattr(w, "_data", None))   # (update_multi_precision does it otherwise)
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
        return states_format.encode(self.states, self.optimizer if dump_optimizer else None)

    def set_states(self, states, source=None):
        """Restore from ``get_states`` bytes; a dumped optimizer replaces ``self.optimizer``.
        Bytes that are not a valid states file raise ``FileFormatError`` (naming ``source``)
        and change nothing."""
        parsed, optimizer = states_format.parse(states, source, current=self.optimizer)
        self.adopt_states(parsed, optimizer)

    def adopt_states(self, states, optimizer=None):
        """Take ``states`` (index -> state, as read by ``states_format.parse``) and, if given,
        ``optimizer``; states move to each weight's device on first use."""
        self.states = states
        self.states_synced = dict.fromkeys(self.states, False)
        if optimizer is not None:
            self.optimizer = optimizer


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
