"""Symbolic checkers of ``kiln.test_utils``: forward, backward and numeric gradients of a
Symbol bound at given inputs (MXNet 1.9's ``check_symbolic_*``/``check_numeric_gradient``).

Example::

    >>> check_symbolic_forward(sym.relu(sym.var('x')), [np.array([-1., 2.])], [[0, 2]])
"""
import numpy as np

from ._tu_compare import (
    _np,
    assert_almost_equal,
    default_context,
    default_numeric_eps,
    get_tolerance,
)


# ---- symbolic checkers (over Symbol.bind's executor) ----
def _parse_arrays(names, values, ctx, dtype, what):
    """name -> NDArray from a list (in ``names`` order) or a dict; ``dtype='asnumpy'`` keeps
    each value's dtype."""
    from .. import ndarray as nd
    if values is None:
        return None
    if not isinstance(values, dict):
        values = list(values)
        if len(values) != len(names):
            raise ValueError(f"{what}: {len(values)} arrays for {names}")
        values = dict(zip(names, values))
    missing = [n for n in names if n not in values]
    if missing:
        raise ValueError(f"{what} misses {missing}")
    out = {}
    for k, v in values.items():
        v = _np(v)
        out[k] = nd.array(v, ctx=ctx, dtype=v.dtype if dtype == "asnumpy" else dtype)
    return out


def _grad_reqs(names, grad_req):
    if isinstance(grad_req, str):
        return {k: grad_req for k in names}
    if isinstance(grad_req, (list, tuple)):
        return dict(zip(names, grad_req))
    return dict(grad_req)


def check_symbolic_forward(sym, location, expected, rtol=None, atol=None, aux_states=None,
                           ctx=None, equal_nan=False, dtype=np.float32):
    """Run ``sym`` (inference mode) at ``location`` (arrays by argument, list or dict) and compare
    each output with ``expected`` (a list, or a dict by output name); returns the outputs.

    Example: ``check_symbolic_forward(sym.relu(sym.var('x')), [np.array([-1., 2.])], [[0, 2]])``.
    """
    ctx = ctx or default_context()
    args = _parse_arrays(sym.list_arguments(), location, ctx, dtype, "location")
    aux = _parse_arrays(sym.list_auxiliary_states(), aux_states, ctx, dtype, "aux_states")
    executor = sym.bind(ctx, args=args, aux_states=aux, grad_req="null")
    outputs = executor.forward(is_train=False)
    if isinstance(expected, dict):
        expected = [expected[k] for k in sym.list_outputs()]
    for name, expect, output in zip(sym.list_outputs(), expected, outputs):
        assert_almost_equal(expect, output, rtol, atol, (f"EXPECTED_{name}", f"FORWARD_{name}"),
                            equal_nan=equal_nan)
    return outputs


def check_symbolic_backward(sym, location, out_grads, expected, rtol=None, atol=None,
                            aux_states=None, grad_req="write", ctx=None, grad_stypes=None,
                            equal_nan=False, dtype=np.float32):
    """Backpropagate ``out_grads`` (per output) through ``sym`` at ``location`` and compare the
    argument gradients with ``expected`` (a list by argument or a dict). ``grad_req`` 'add'
    checks the accumulated part, 'null' that the gradient buffer is untouched. Returns the
    gradient arrays by name.

    Example: ``check_symbolic_backward(2 * sym.var('x'), [np.ones(2)], [np.ones(2)], [[2, 2]])``.
    """
    from .. import ndarray as nd
    ctx = ctx or default_context()
    names = sym.list_arguments()
    args = _parse_arrays(names, location, ctx, dtype, "location")
    aux = _parse_arrays(sym.list_auxiliary_states(), aux_states, ctx, dtype, "aux_states")
    if isinstance(expected, (list, tuple)):
        expected = dict(zip(names, expected))
    init = {k: np.random.normal(size=args[k].shape) for k in expected}
    grads = {k: nd.array(v, ctx=ctx, dtype=args[k].dtype) for k, v in init.items()}
    reqs = _grad_reqs(names, grad_req)
    executor = sym.bind(ctx, args=args, args_grad=grads, grad_req=reqs, aux_states=aux)
    executor.forward(is_train=True)
    if any(reqs.get(k, "null") != "null" for k in expected):
        executor.backward(_head_grads(sym, out_grads, ctx, dtype))
    for name, want in expected.items():
        got = grads[name].asnumpy()
        req = reqs.get(name, "null")
        pair = (f"EXPECTED_{name}", f"BACKWARD_{name}")
        if req == "write":
            assert_almost_equal(want, got, rtol, atol, pair, equal_nan=equal_nan)
        elif req == "add":
            assert_almost_equal(want, got - init[name], rtol, atol, pair, equal_nan=equal_nan)
        else:
            assert_almost_equal(init[name], got, rtol, atol, pair, equal_nan=equal_nan)
    return grads


def _head_grads(sym, out_grads, ctx, dtype):
    from .. import ndarray as nd
    if out_grads is None:
        return None
    if isinstance(out_grads, dict):
        out_grads = [out_grads[k] for k in sym.list_outputs()]
    elif not isinstance(out_grads, (list, tuple)):
        out_grads = [out_grads]
    return [g if isinstance(g, nd.NDArray) else
            nd.array(g, ctx=ctx, dtype=None if dtype == "asnumpy" else dtype) for g in out_grads]


def check_numeric_gradient(sym, location, aux_states=None, numeric_eps=None, rtol=None,
                           atol=None, grad_nodes=None, use_forward_train=True, ctx=None,
                           grad_stype_dict=None, dtype=np.float32):
    """Compare ``sym``'s backward with central differences of ``sum(output * proj)`` for a random
    positive ``proj`` (the first output only, as in MXNet).

    ``grad_nodes``: the arguments to check (all by default; a dict gives their grad_req).
    ``numeric_eps`` defaults per dtype (``default_numeric_eps``). Example::

        >>> x = sym.var('x')
        >>> check_numeric_gradient(sym.tanh(x), [np.random.rand(3, 2)])
    """
    from .. import ndarray as nd
    ctx = ctx or default_context()
    names = sym.list_arguments()
    args = _parse_arrays(names, location, ctx, dtype, "location")
    aux = _parse_arrays(sym.list_auxiliary_states(), aux_states, ctx, dtype, "aux_states")
    reqs = _grad_reqs(names if grad_nodes is None else list(grad_nodes),
                      "write" if not isinstance(grad_nodes, dict) else grad_nodes)
    init = {k: np.random.normal(0, 0.01, size=args[k].shape) for k in reqs}
    grads = {k: nd.array(v, ctx=ctx, dtype=args[k].dtype) for k, v in init.items()}
    executor = sym.bind(ctx, args={k: v.copy() for k, v in args.items()}, args_grad=grads,
                        grad_req=reqs, aux_states=_copy(aux))
    out = executor.forward(is_train=True)[0]
    proj = np.random.rand(*out.shape) + 0.1
    if any(r != "null" for r in reqs.values()):
        executor.backward([nd.array(proj, ctx=ctx, dtype=out.dtype)])
    eps = get_tolerance(out, numeric_eps, default_numeric_eps())
    numeric = _numeric_grads(sym, ctx, args, aux, proj, eps, use_forward_train, list(reqs))
    for name, req in reqs.items():
        got = grads[name].asnumpy()
        pair = (f"NUMERICAL_{name}", f"BACKWARD_{name}")
        if req == "write":
            assert_almost_equal(numeric[name], got, rtol, atol, pair)
        elif req == "add":
            assert_almost_equal(numeric[name], got - init[name], rtol, atol, pair)
        else:
            assert_almost_equal(init[name], got, rtol, atol, pair)


def _copy(arrays):
    return None if arrays is None else {k: v.copy() for k, v in arrays.items()}


def _numeric_grads(sym, ctx, args, aux, proj, eps, use_forward_train, names):
    """Central differences of ``sum(sym(args)[0] * proj)``, one element at a time (the aux
    states are restored before every forward: training-mode BatchNorm updates them)."""
    executor = sym.bind(ctx, args=_copy(args), aux_states=_copy(aux), grad_req="null")

    def objective():
        for k, v in (aux or {}).items():
            executor.aux_dict[k][:] = v
        out = executor.forward(is_train=use_forward_train)[0]
        return float((out.asnumpy().astype(np.float64) * proj).sum())

    result = {}
    for name in names:
        x = args[name].asnumpy().copy()
        if x.dtype.kind != "f":
            continue
        approx = np.zeros(x.shape, x.dtype)
        flat, buf = x.reshape(-1), executor.arg_dict[name]
        for i in range(flat.size):
            old = flat[i]
            flat[i] = old + eps / 2
            buf[:] = x
            f_plus = objective()
            flat[i] = old - eps / 2
            buf[:] = x
            approx.reshape(-1)[i] = (f_plus - objective()) / eps
            flat[i] = old
        buf[:] = x
        result[name] = approx
    return result


__all__ = ["check_symbolic_forward", "check_symbolic_backward", "check_numeric_gradient"]
