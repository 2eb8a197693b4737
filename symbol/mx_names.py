"""MXNet 1.9's automatic node names: the hint an op call or an operator gives its node.

``x + 1`` makes MXNet's ``_plusscalar`` node, ``x.reshape`` a ``reshape`` one, ``FullyConnected``
a ``fullyconnected`` one; the tracers add a block prefix and a counter (``dense0_fullyconnected0``).
Both the hybridize tracer (trace.py, for op hooks) and symbolic calls (symbolic.py) name nodes so.

Example: ``x + 1`` (``add``, a scalar on the right) gives ``'_plusscalar'``, and
``sym.FullyConnected(x, ...)`` gives ``'fullyconnected'`` (its CamelCase alias, lowered).
"""
import threading
from contextlib import contextmanager

from ..name import NameManager
from .graph import is_entry

# MXNet's Symbol operators call the C++ ops below, and those names are the naming hints:
# (both operands symbols, scalar on the right, scalar on the left)
_OPERATOR_HINTS = {
    "add": ("_plus", "_plusscalar", "_plusscalar"),
    "subtract": ("_minus", "_minusscalar", "_rminusscalar"),
    "multiply": ("_mul", "_mulscalar", "_mulscalar"),
    "divide": ("_div", "_divscalar", "_rdivscalar"),
    "power": ("_power", "_powerscalar", "_rpower_scalar"),
    "mod": ("_mod", "_modscalar", "_rmodscalar"),
    "maximum": ("_maximum", "_maximumscalar", "_maximumscalar"),
    "minimum": ("_minimum", "_minimumscalar", "_minimumscalar"),
    "equal": ("_equal", "_equal_scalar", "_equal_scalar"),
    "not_equal": ("_not_equal", "_not_equal_scalar", "_not_equal_scalar"),
    "greater": ("_greater", "_greater_scalar", "_lesser_scalar"),
    "greater_equal": ("_greater_equal", "_greater_equal_scalar", "_lesser_equal_scalar"),
    "lesser": ("_lesser", "_lesser_scalar", "_greater_scalar"),
    "lesser_equal": ("_lesser_equal", "_lesser_equal_scalar", "_greater_equal_scalar"),
}
_OP_HINTS = {"negative": "_mulscalar"}


_CALLED = threading.local()   # .name: the Symbol method being called (its node's hint)


@contextmanager
def called_as(name):
    """Within: a node made outside any tracer is hinted ``name`` (the Symbol method called:
    MXNet's ``x.broadcast_axes()`` makes ``broadcast_axes0``, whatever kiln's op is named)."""
    prev, _CALLED.name = getattr(_CALLED, "name", None), name
    try:
        yield
    finally:
        _CALLED.name = prev


def method_hint(op, inputs):
    """The hint of a node made by a Symbol operator or method outside any tracer: MXNet's
    methods call the op by the method's name (``x.split()`` is ``split``, not
    ``slicechannel``); operators keep their C++ names (``_plusscalar``)."""
    called = getattr(_CALLED, "name", None)
    if called is not None:
        _CALLED.name = None   # the first node of the call is the method's own
        return called
    pair = _OPERATOR_HINTS.get(op.name)
    if (pair is not None and len(inputs) == 2) or op.name in _OP_HINTS:
        return op_hint(op, inputs)
    return op.name


def auto_name(hint):
    """MXNet's automatic name: the active ``NameManager``'s (``with mx.name.Prefix('net_'):``
    gives ``net_flatten0``) for ``hint`` and its next count."""
    return NameManager.current.get(None, hint)


def op_hint(op, inputs):
    """MXNet's automatic-name hint for a node of ``op`` made by an operator or a method
    (``x + 1`` is ``_plusscalar``, ``x.reshape`` is ``reshape``)."""
    pair = _OPERATOR_HINTS.get(op.name)
    if pair is not None and len(inputs) == 2:
        left, right = is_entry(inputs[0]), is_entry(inputs[1])
        return pair[0] if left and right else pair[1] if left else pair[2]
    hint = _OP_HINTS.get(op.name)
    if hint is None:
        camel = [a for a in op.aliases if a[:1].isupper()]
        hint = _OP_HINTS[op.name] = camel[0].lower() if camel else op.name
    return hint
