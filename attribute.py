"""``mxnet.attribute``: ``AttrScope``, a ``with``-scope of attributes for the symbols made in it.

Scopes nest: an inner scope holds the outer one's attributes updated with its own, and
:meth:`AttrScope.get` merges them under the attributes a symbol is created with.

Example::

    >>> import kiln as mx
    >>> with mx.AttrScope(ctx_group="stage1"):
    ...     with mx.AttrScope(lr_mult="0.1") as scope:
    ...         scope.get({"wd_mult": "0"}) == {"ctx_group": "stage1", "lr_mult": "0.1",
    ...                                         "wd_mult": "0"}
    True
"""
import threading
from collections import defaultdict

from .base import _CurrentScope

__all__ = ["AttrScope"]


class AttrScope(metaclass=_CurrentScope):
    """Attributes (strings) for every symbol created inside the ``with`` block.

    Example::

        >>> with mx.AttrScope(group="4"):
        ...     mx.AttrScope.current.get(None)
        {'group': '4'}
    """

    _current = threading.local()
    # control-flow subgraph names made so far, ``{name: count}`` (MXNet 1.9's counters: the
    # n-th ``cond(name="c")`` names its subgraphs c_pred<n>, c_then<n>, c_else<n>)
    _subgraph_names = defaultdict(int)

    def __init__(self, **kwargs):
        for key, value in kwargs.items():
            if not isinstance(value, str):
                raise ValueError(f"Attributes need to be string: {key}={value!r}")
        self._attr = kwargs
        self._old_scope = None

    @classmethod
    def _default(cls):
        return AttrScope()

    def get(self, attr):
        """This scope's attributes updated with ``attr`` (a dict or None): a new dict."""
        merged = dict(self._attr)
        merged.update(attr or {})
        return merged

    def __enter__(self):
        self._old_scope = AttrScope.current
        self._attr = {**self._old_scope._attr, **self._attr}
        AttrScope.current = self
        return self

    def __exit__(self, *exc):
        AttrScope.current = self._old_scope
