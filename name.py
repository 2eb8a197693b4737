"""``mxnet.name``: ``NameManager`` and ``Prefix``, the ``with``-scopes that name symbols.

A name manager turns ``(name, hint)`` into a node name: the given ``name``, else ``hint``
followed by a per-manager counter (``fullyconnected0``, ``fullyconnected1``); ``Prefix``
prepends a string. ``NameManager.current`` is the innermost manager of this thread.

Example::

    >>> import kiln as mx
    >>> with mx.name.Prefix("net_") as names:
    ...     names.get(None, "dense"), names.get("out", "dense")
    ('net_dense0', 'net_out')
"""
import threading

from .base import _CurrentScope

__all__ = ["NameManager", "Prefix"]


class NameManager(metaclass=_CurrentScope):
    """Automatic naming: :meth:`get` returns the user's name or ``hint`` plus a counter.

    Example::

        >>> names = mx.name.NameManager()
        >>> names.get(None, "conv"), names.get(None, "conv")
        ('conv0', 'conv1')
    """

    _current = threading.local()

    def __init__(self):
        self._counter = {}
        self._old_manager = None

    @classmethod
    def _default(cls):
        return NameManager()

    def get(self, name, hint):
        """The name for a new symbol: ``name`` if given, else ``hint`` and its next number."""
        if name:
            return name
        count = self._counter.get(hint, 0)
        self._counter[hint] = count + 1
        return f"{hint}{count}"

    def __enter__(self):
        self._old_manager = NameManager.current
        NameManager.current = self
        return self

    def __exit__(self, *exc):
        NameManager.current = self._old_manager


class Prefix(NameManager):
    """A :class:`NameManager` that puts ``prefix`` before every name.

    Example::

        >>> mx.name.Prefix("mynet_").get("fc1", "fullyconnected")
        'mynet_fc1'
    """

    def __init__(self, prefix):
        super().__init__()
        self._prefix = prefix

    def get(self, name, hint):
        return self._prefix + super().get(name, hint)
