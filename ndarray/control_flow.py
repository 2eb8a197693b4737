"""Control flow: ``nd.contrib.foreach``, ``while_loop`` and ``cond`` (MXNet 1.9's API).

Eagerly they run Python: one op call per step, so autograd records every step (backpropagation
through time needs nothing more). Called with a traced value inside a hybridized block's
``forward`` (``F.contrib.foreach(...)`` with tracer inputs) they hand the call to the tracer
through the registry's trace hook, with a ``Call`` marker in place of an op: ``symbol/
control_flow.py`` traces the Python functions once into subgraphs and emits one graph node
(``_foreach``, ``_while_loop``, ``_cond``) that the compiled graph runs, differentiates and
exports to ONNX (``Scan``, ``Loop``, ``If``).
"""
import numpy as np

from . import _registry
from . import ops as F


class Call:
    """Stands for a control-flow function in ``trace_hook(op, args, attrs)`` (the tracer builds
    the node: ``symbol/trace.py:trace_op`` checks ``control_flow``)."""

    control_flow = True

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"<control flow {self.name}>"


_FOREACH, _WHILE_LOOP, _COND = Call("foreach"), Call("while_loop"), Call("cond")


def _traced(*values):
    """Whether any of the (nested lists of) values is a traced symbol."""
    for v in values:
        if isinstance(v, (list, tuple)):
            if _traced(*v):
                return True
        elif hasattr(v, "_trace_node"):
            return True
    return False


def _as_list(x):
    return (list(x), True) if isinstance(x, (list, tuple)) else ([x], False)


def flatten(value, what):
    """``(flat list, format)`` of a nested list/tuple of arrays (MXNet's control-flow format:
    ``0`` for one array, a list of formats for a list; tuples read as lists)."""
    if not isinstance(value, (list, tuple)):
        if value is None:
            raise TypeError(f"{what} must be an array or a (nested) list of arrays, got None")
        return [value], 0
    flat, fmt = [], []
    for item in value:
        items, f = flatten(item, what)
        flat += items
        fmt.append(f)
    return flat, fmt


def regroup(flat, fmt):
    """Inverse of :func:`flatten`: ``(nested value, the rest of flat)``; lists come back as
    lists (MXNet turns a returned tuple into a list too)."""
    if not isinstance(fmt, list):
        return flat[0], flat[1:]
    out = []
    for f in fmt:
        item, flat = regroup(flat, f)
        out.append(item)
    return out, flat


def step_result(result, what):
    """A loop body's ``(outputs, states)`` with ``None`` read as no arrays, as MXNet does."""
    if not isinstance(result, (list, tuple)) or len(result) != 2:
        raise TypeError(f"{what} must return a pair (outputs, states), got {type(result).__name__}")
    outs, states = ([] if x is None else x for x in result)
    return outs, states


def _stack_steps(steps, fmt):
    """Stack per-step flat outputs along a new first axis and regroup them as ``fmt``."""
    if not steps:
        return []
    stacked = [F.stack(*col, axis=0) for col in zip(*steps)]
    return regroup(stacked, fmt)[0]


def foreach(body, data, init_states, name="foreach"):
    """Run ``body(data[i], states) -> (outputs, states)`` for each ``i`` along axis 0 of
    ``data``; returns ``(outputs stacked along a new axis 0, final states)``.

    ``data`` and ``init_states`` are an NDArray or a (nested) list of them; the outputs and
    states keep the structure ``body`` returns. ``name`` names the traced subgraph (MXNet's
    ``AttrScope._subgraph_names`` counts it). In a hybridized block the loop is one graph
    node. Example::

        >>> out, st = contrib.foreach(lambda x, s: (x + s[0], [s[0] + x]),
        ...                           nd.arange(6).reshape((3, 2)), [nd.zeros(2)])
        >>> out.shape, st[0]      # ((3, 2), [6. 9.])
    """
    if _traced(data, init_states):
        return _registry.trace_hook(_FOREACH, (body, data, init_states), {"name": name})
    seqs, data_list = _as_list(data)
    states = init_states
    steps, out_fmt = [], []
    for i in range(seqs[0].shape[0]):
        xs = [s[i] for s in seqs]
        outs, states = step_result(body(xs if data_list else xs[0], states), "foreach body")
        outs, out_fmt = flatten(outs, "foreach output")
        steps.append(outs)
    return _stack_steps(steps, out_fmt), states


def while_loop(cond, func, loop_vars, max_iterations=None, name="while_loop"):
    """Run ``func(*loop_vars) -> (outputs, loop_vars)`` while ``cond(*loop_vars)`` is true, at
    most ``max_iterations`` times; returns ``(outputs, loop_vars)``.

    Step outputs are stacked along a new axis 0 and zero-padded to ``max_iterations`` rows (MXNet
    leaves the padding uninitialised). In a hybridized block the loop is one graph node.
    Example::

        >>> out, (i, s) = contrib.while_loop(lambda i, s: i < 3,
        ...     lambda i, s: (i * 2, (i + 1, s + i)), (nd.array([0]), nd.array([1])), 5)
        >>> out.shape, s          # ((5, 1), [4.])
    """
    if max_iterations is None:
        raise ValueError("while_loop: max_iterations must be given (it fixes the number of "
                         "output rows)")
    if _traced(loop_vars):
        return _registry.trace_hook(_WHILE_LOOP, (cond, func, loop_vars),
                                    {"max_iterations": int(max_iterations), "name": name})
    variables, vars_list = _as_list(loop_vars)
    steps, out_fmt = [], None
    while len(steps) < int(max_iterations) and _truth(cond(*variables)):
        outs, new_vars = step_result(func(*variables), "while_loop func")
        outs, out_fmt = flatten(outs, "while_loop output")
        variables, _ = _as_list(new_vars)
        steps.append(outs)
    if out_fmt is None:   # no step ran: MXNet returns an empty list
        return [], (variables if vars_list else variables[0])
    stacked = [F.stack(*col, axis=0) for col in zip(*steps)]
    pad = int(max_iterations) - len(steps)
    if pad:
        stacked = [F.concat(s, F.zeros(shape=(pad,) + tuple(s.shape[1:]), dtype=s.dtype,
                                       ctx=s.context), dim=0) for s in stacked]
    return regroup(stacked, out_fmt)[0], (variables if vars_list else variables[0])


def cond(pred, then_func, else_func, name="cond"):
    """``then_func()`` if ``pred`` (a one-element NDArray) is nonzero, else ``else_func()``.

    In a hybridized block both branches are traced and the choice is made when the graph runs
    (the branches must then give outputs of the same shapes and dtypes). Example:
    ``contrib.cond(nd.array([1]), lambda: nd.ones(2), lambda: nd.zeros(2))`` is ``[1. 1.]``.
    """
    if _traced(pred):
        return _registry.trace_hook(_COND, (pred, then_func, else_func), {"name": name})
    return then_func() if _truth(pred) else else_func()


def _truth(value):
    if hasattr(value, "asnumpy"):
        value = value.asnumpy()
    return bool(np.asarray(value).reshape(-1)[0])


__all__ = ["foreach", "while_loop", "cond"]
