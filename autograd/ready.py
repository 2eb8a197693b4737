"""Gradient-ready hooks (``register_grad_ready_hook``): a hooked variable is reported once its
gradient is final, from the engine's walk or from inside a compiled backward (the dist
Trainer's overlapped allreduce uses them)."""
import functools
import weakref

from ..base import MXNetError, user_frame
from ..ndarray.ndarray import NDArray
from . import _write_one

_READY_HOOKS = {}  # id(variable) -> (weak reference to it, [hook, ...]); empty: no cost


class HookHandle:
    """What ``register_grad_ready_hook`` returns: ``remove()`` unregisters the hook."""

    __slots__ = ("_key", "_ref", "_hook")

    def __init__(self, key, ref, hook):
        self._key, self._ref, self._hook = key, ref, hook

    def remove(self):
        entry = _READY_HOOKS.get(self._key)
        if entry is None or entry[0] is not self._ref:
            return
        hooks = [h for h in entry[1] if h is not self._hook]
        if hooks:
            _READY_HOOKS[self._key] = (entry[0], hooks)
        else:
            del _READY_HOOKS[self._key]


def register_grad_ready_hook(variable, hook):
    """Call ``hook(variable)`` each time a ``backward`` has finished ``variable.grad``.

    ``variable``: an array with ``attach_grad()`` (a Parameter's ``list_data()`` arrays).
    The call comes as soon as no part of the backward left can add to the gradient, while
    the rest of the backward still runs: in an eager backward after the last recorded op
    that reads the variable, in a hybridized block's compiled backward right after the line
    computing that gradient (last layer first). ``.grad`` then holds this backward's value
    (written or added, as grad_req says); the hook may read it and must not write it.
    Hooks of one variable run in registration order; an exception in a hook propagates out
    of ``backward``. ``autograd.grad`` never calls them. Returns a handle whose ``remove()``
    unregisters the hook; a variable's hooks go away with it. With no hook registered,
    ``backward`` costs what it did before (Trainer's overlapped allreduce uses these).

    Example::

        >>> w = nd.ones((2,)); w.attach_grad()
        >>> h = autograd.register_grad_ready_hook(w, lambda v: print(v.grad))
        >>> with autograd.record():
        ...     y = (w * w).sum()
        >>> y.backward()   # prints [2. 2.]
        >>> h.remove()
    """
    if not isinstance(variable, NDArray) or variable._grad_req is None:
        raise MXNetError("register_grad_ready_hook: the variable must be an NDArray with "
                         f"attach_grad() (at {user_frame()})")
    if not callable(hook):
        raise TypeError(f"register_grad_ready_hook: hook must be callable, got {hook!r}")
    key = id(variable)
    entry = _READY_HOOKS.get(key)
    if entry is None or entry[0]() is not variable:
        ref = weakref.ref(variable, functools.partial(_drop_hooks, key))
        entry = (ref, [])
    _READY_HOOKS[key] = (entry[0], entry[1] + [hook])  # a new list: a running backward
    return HookHandle(key, entry[0], hook)              # keeps the one it read


def _drop_hooks(key, ref, table=_READY_HOOKS):  # (bound now: may run at interpreter exit)
    entry = table.get(key)
    if entry is not None and entry[0] is ref:
        del table[key]


class _Ready:
    """One backward's gradient-ready reporting: each hooked variable's gradient is written
    into ``.grad`` (never adopted: the backward may still read the array) and its hooks are
    called as soon as the gradient is final; ``_write_grads`` then skips those (``done``)."""

    __slots__ = ("hooks", "done", "taken", "last", "current")

    def __init__(self, hooks, head_grads):
        self.hooks, self.done, self.current = hooks, set(), -1
        self.taken = {id(h._data) for h in head_grads if h is not None}
        self.last = {}  # id(variable) -> the node (index in order) reading it last

    @classmethod
    def of(cls, variables, head_grads, order=None):
        """The reporting for these variables, or None when none of them has hooks."""
        hooks = {}
        for v in variables:
            entry = _READY_HOOKS.get(id(v))
            if entry is not None and entry[0]() is v:
                hooks[id(v)] = entry[1]
        if not hooks:
            return None
        ready = cls(hooks, head_grads)
        for idx, node in enumerate(order or ()):
            for a in node.args:
                if isinstance(a, NDArray) and a._node is None and id(a) in hooks:
                    ready.last[id(a)] = idx
        return ready

    def finish(self, v, g):
        """Write ``v``'s final gradient ``g`` and call its hooks (once per backward)."""
        if id(v) in self.done:
            return
        _write_one(v, g, self.taken, adopt=False)
        self.done.add(id(v))
        for hook in self.hooks[id(v)]:
            hook(v)

    def finish_all(self, variables, grads):
        """At the end of the backward: the hooked variables not reported yet."""
        for v in variables:
            if id(v) in self.hooks and id(v) not in self.done and v._grad_req is not None:
                self.finish(v, grads.get(id(v)))

    def walk(self, order, grads):
        """``order``, finishing each hooked variable after the last node reading it."""
        after = {}
        for v_id, idx in self.last.items():
            after.setdefault(idx, []).append(v_id)
        by_id = {}
        for idx, node in enumerate(order):
            if idx in after:
                for a in node.args:
                    if isinstance(a, NDArray) and id(a) in self.hooks:
                        by_id[id(a)] = a
            self.current = idx
            yield node
            for v_id in after.get(idx, ()):
                v = by_id[v_id]
                if v._grad_req is not None:
                    self.finish(v, grads.pop(v_id, None))

    def callback(self, node, grads):
        """``ready(position, raw gradient)`` for a hybridized call's compiled backward: a
        hooked variable whose last reader is this node is final when its line has run
        (``grads``: the engine's sums so far, added first; None in the chain path, where
        every variable feeds one call only)."""
        args, hooks = node.args, self.hooks
        if not any(isinstance(a, NDArray) and id(a) in hooks for a in args):
            return None
        last_here = None if grads is None else {
            id(a) for a in args if isinstance(a, NDArray) and id(a) in hooks
            and self.last.get(id(a)) == self.current}

        def ready(pos, r):
            a = args[pos]
            if a._node is not None or a._grad_req is None or id(a) not in hooks:
                return
            if last_here is not None:
                if id(a) not in last_here:
                    return  # a later node adds to it: reported after that one
                prev = grads.pop(id(a), None)
                r = r if prev is None else prev + r
            self.finish(a, r)
        return ready
