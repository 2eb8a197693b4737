"""``kiln.nd.contrib``: MXNet 1.9's ``mx.nd.contrib`` namespace.

Every registered op or alias named ``_contrib_<name>`` is here as ``<name>`` (``contrib.ctc_loss``,
``contrib.CTCLoss``), imported by name below; tests/test_namespace_sync.py fails when one is
missing. The Python-level contrib functions (control flow ``foreach``/``while_loop``/
``cond``, ``isnan``/``isinf``/``isfinite``, ``boolean_mask``, ``arange_like``, the
straight-through estimators) are composed from registry ops, so autograd sees through them.

Example::

    >>> from kiln import nd
    >>> nd.contrib.ctc_loss(nd.zeros((4, 1, 3)), nd.array([[1, 2]])).shape
    (1,)
"""
import numpy as np

from . import ops as F
from .convert import array
from .ops._namespace import _contrib_ctc_loss as ctc_loss
from .ops._namespace import _contrib_CTCLoss as CTCLoss


# ---- element tests (MXNet keeps the input dtype: 1 where true, 0 elsewhere) ----
def _is_float(data):
    return np.dtype(getattr(data, "dtype", np.float32)).kind == "f"


def isnan(data):
    """1 where ``data`` is NaN, else 0; same shape and dtype as ``data``.

    Example: ``contrib.isnan(nd.array([1, nan]))`` is ``[0. 1.]``.
    """
    return F.not_equal(data, data) if _is_float(data) else F.zeros_like(data)


def isinf(data):
    """1 where ``data`` is +inf or -inf, else 0; same shape and dtype as ``data``.

    Example: ``contrib.isinf(nd.array([1, -inf, nan]))`` is ``[0. 1. 0.]``.
    """
    return F.equal(F.abs(data), np.inf) if _is_float(data) else F.zeros_like(data)


def isfinite(data):
    """1 where ``data`` is neither infinite nor NaN, else 0; same shape and dtype as ``data``.

    Example: ``contrib.isfinite(nd.array([1, inf, nan]))`` is ``[1. 0. 0.]``.
    """
    if not _is_float(data):
        return F.ones_like(data)
    # NaN compares false, so one comparison covers both cases without a floating-point warning
    return F.lesser_equal(F.abs(data), float(np.finfo(np.dtype(data.dtype)).max))


# ---- small composites ----
def div_sqrt_dim(data):
    """``data / sqrt(data.shape[-1])`` (scaled dot-product attention's scaling).

    Example: ``contrib.div_sqrt_dim(nd.ones((2, 4)))`` is all 0.5.
    """
    return data / float(np.sqrt(data.shape[-1]))


def quadratic(data, a=0.0, b=0.0, c=0.0):
    """``a * data**2 + b * data + c`` elementwise.

    Example: ``contrib.quadratic(nd.array([2]), a=1, c=1)`` is ``[5.]``.
    """
    return data * data * a + data * b + c


def round_ste(data):
    """``round(data)`` forward, identity gradient (straight-through estimator).

    Example: ``contrib.round_ste(nd.array([1.4, -2.5]))`` is ``[1. -3.]``; its gradient is 1.
    """
    # x - stop_gradient(x) is exactly 0 (so the forward is exactly round(x)) with gradient 1
    return F.stop_gradient(F.round(data)) + (data - F.stop_gradient(data))


def sign_ste(data):
    """``sign(data)`` forward, identity gradient (straight-through estimator).

    Example: ``contrib.sign_ste(nd.array([0.2, -3]))`` is ``[1. -1.]``.
    """
    return F.stop_gradient(F.sign(data)) + (data - F.stop_gradient(data))


def arange_like(data, start=0.0, step=1.0, repeat=1, ctx=None, axis=None):
    """``start + step * (i // repeat)`` shaped like ``data`` (or ``(data.shape[axis],)``),
    in ``data``'s dtype.

    Example: ``contrib.arange_like(nd.ones((2, 2)))`` is ``[[0, 1], [2, 3]]``.
    """
    shape = tuple(data.shape) if axis is None else (data.shape[axis],)
    n = int(np.prod(shape))
    vals = start + step * (np.arange(n) // int(repeat))
    return array(vals.reshape(shape), ctx=ctx or data.context, dtype=data.dtype)


def boolean_mask(data, index, axis=0):
    """The slices of ``data`` along ``axis`` where ``index`` (1-D, length ``data.shape[axis]``)
    is nonzero; the output's length along ``axis`` depends on the values.

    Example: ``contrib.boolean_mask(nd.array([[1, 2], [3, 4]]), nd.array([0, 1]))`` is
    ``[[3. 4.]]``.
    """
    keep = np.flatnonzero(index.asnumpy() if hasattr(index, "asnumpy") else np.asarray(index))
    return F.take(data, array(keep, ctx=data.context, dtype="int64"), axis=axis)


# ---- control flow (run eagerly, step by step; autograd records every step) ----
def _as_list(x):
    return (list(x), True) if isinstance(x, (list, tuple)) else ([x], False)


def _stack_steps(steps, was_list):
    """Stack per-step outputs (a list of lists) along a new first axis."""
    if not steps:
        return [] if was_list else None
    stacked = [F.stack(*col, axis=0) for col in zip(*steps)]
    return stacked if was_list else stacked[0]


def foreach(body, data, init_states):
    """Run ``body(data[i], states) -> (outputs, states)`` for each ``i`` along axis 0 of
    ``data``; returns ``(outputs stacked along a new axis 0, final states)``.

    ``data`` and ``init_states`` are an NDArray or a list of them; the outputs and states keep
    the structure ``body`` returns. Example::

        >>> out, st = contrib.foreach(lambda x, s: (x + s[0], [s[0] + x]),
        ...                           nd.arange(6).reshape((3, 2)), [nd.zeros(2)])
        >>> out.shape, st[0]      # ((3, 2), [6. 9.])
    """
    seqs, data_list = _as_list(data)
    states = init_states
    steps, out_list = [], False
    for i in range(seqs[0].shape[0]):
        xs = [s[i] for s in seqs]
        outs, states = body(xs if data_list else xs[0], states)
        outs, out_list = _as_list(outs)
        steps.append(outs)
    return _stack_steps(steps, out_list), states


def while_loop(cond, func, loop_vars, max_iterations=None):
    """Run ``func(*loop_vars) -> (outputs, loop_vars)`` while ``cond(*loop_vars)`` is true, at
    most ``max_iterations`` times; returns ``(outputs, loop_vars)``.

    Step outputs are stacked along a new axis 0 and zero-padded to ``max_iterations`` rows (MXNet
    leaves the padding uninitialised). Example::

        >>> out, (i, s) = contrib.while_loop(lambda i, s: i < 3,
        ...     lambda i, s: (i * 2, (i + 1, s + i)), (nd.array([0]), nd.array([1])), 5)
        >>> out.shape, s          # ((5, 1), [4.])
    """
    if max_iterations is None:
        raise ValueError("while_loop: max_iterations must be given (it fixes the number of "
                         "output rows)")
    variables, vars_list = _as_list(loop_vars)
    steps, out_list = [], False
    while len(steps) < int(max_iterations) and _truth(cond(*variables)):
        outs, new_vars = func(*variables)
        outs, out_list = _as_list(outs)
        variables, _ = _as_list(new_vars)
        steps.append(outs)
    stacked = _stack_steps(steps, True)
    pad = int(max_iterations) - len(steps)
    if pad and stacked:
        stacked = [F.concat(s, F.zeros(shape=(pad,) + tuple(s.shape[1:]), dtype=s.dtype,
                                       ctx=s.context), dim=0) for s in stacked]
    outputs = stacked if (out_list or not stacked) else stacked[0]
    return outputs, (variables if vars_list else variables[0])


def cond(pred, then_func, else_func):
    """``then_func()`` if ``pred`` (a one-element NDArray) is nonzero, else ``else_func()``.

    Example: ``contrib.cond(nd.array([1]), lambda: nd.ones(2), lambda: nd.zeros(2))`` is
    ``[1. 1.]``.
    """
    return then_func() if _truth(pred) else else_func()


def _truth(value):
    if hasattr(value, "asnumpy"):
        value = value.asnumpy()
    return bool(np.asarray(value).reshape(-1)[0])


__all__ = ["isnan", "isinf", "isfinite", "div_sqrt_dim", "quadratic", "round_ste", "sign_ste",
           "arange_like", "boolean_mask", "foreach", "while_loop", "cond",
           "CTCLoss", "ctc_loss"]  # the registry's _contrib_<name> ops and aliases
