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


def _smaller_dtype(dt1, dt2):
    """The less precise of two dtypes (``dt1`` when ``dt2`` is None)."""
    return dt1 if dt2 is None or np.dtype(dt1).itemsize < np.dtype(dt2).itemsize else dt2


def check_consistency(sym, ctx_list, scale=1.0, grad_req="write", arg_params=None,
                      aux_params=None, rtol=None, atol=None, raise_on_err=True,
                      ground_truth=None, equal_nan=False, use_uniform=False,
                      rand_type=np.float64):
    """Check that ``sym`` (or one symbol per entry) gives the same outputs and gradients bound
    with each entry of ``ctx_list`` (``{'ctx': ..., <arg>: shape, 'type_dict': {...}}``): the
    most precise output dtype is the reference, tolerances follow the less precise dtype.

    Example::

        >>> s = mx.sym.var('x') * 2
        >>> check_consistency(s, [{'ctx': mx.cpu(), 'x': (2, 3), 'type_dict': {'x': t}}
        ...                       for t in (np.float64, np.float32)])
    """
    from .. import ndarray as nd
    assert len(ctx_list) > 1
    syms = [sym] * len(ctx_list) if not isinstance(sym, (list, tuple)) else list(sym)
    assert len(syms) == len(ctx_list)
    output_names, arg_names = syms[0].list_outputs(), syms[0].list_arguments()
    exes = []
    for s, spec in zip(syms, ctx_list):
        assert s.list_arguments() == arg_names and s.list_outputs() == output_names
        exes.append(s.simple_bind(grad_req=grad_req, **spec))
    arg_params = {} if arg_params is None else arg_params
    aux_params = {} if aux_params is None else aux_params
    for n, arr in sorted(exes[0].arg_dict.items()):   # sorted: reproducible random draws
        if n not in arg_params:
            arg_params[n] = (np.random.uniform(-0.92 * scale, 0.92 * scale, size=arr.shape)
                             if use_uniform else
                             np.random.normal(size=arr.shape, scale=scale)).astype(rand_type)
    for n in exes[0].aux_dict:
        aux_params.setdefault(n, 0)
    for exe in exes:
        for name, arr in exe.arg_dict.items():
            arr[:] = arg_params[name]
        for name, arr in exe.aux_dict.items():
            arr[:] = aux_params[name]
        if grad_req == "add":
            for arr in exe.grad_arrays:
                if arr is not None:
                    arr[:] = 0
    for exe in exes:
        exe.forward(is_train=False)
    dtypes = [np.dtype(exe.outputs[0].dtype) for exe in exes]
    gt_idx = int(np.argmax(dtypes))
    gt = ground_truth or {n: a.asnumpy() for n, a in zip(output_names, exes[gt_idx].outputs)}
    _compare_outputs(exes, gt_idx, output_names, gt, rtol, atol, equal_nan, raise_on_err)
    if grad_req == "null":
        return gt
    for exe in exes:
        exe.forward(is_train=True)
    least = [out.dtype for out in exes[0].outputs]
    for exe in exes:
        least = [_smaller_dtype(out.dtype, dt) for out, dt in zip(exe.outputs, least)]
    heads = [out.astype(dt).asnumpy() for out, dt in zip(exes[0].outputs, least)]
    for exe in exes:
        exe.backward([nd.array(h, ctx=o.context, dtype=o.dtype)
                      for h, o in zip(heads, exe.outputs)])
    if ground_truth is None:
        gt = {n: a.asnumpy() for n, a in zip(output_names, exes[gt_idx].outputs)}
        gt.update({n: (None if a is None else a.asnumpy())
                   for n, a in exes[gt_idx].grad_dict.items()})
    for i, exe in enumerate(exes):
        if i == gt_idx:
            continue
        named = list(zip(output_names, exe.outputs)) + list(exe.grad_dict.items())
        for name, arr in named:
            if gt.get(name) is None:
                assert arr is None
                continue
            dtype = _smaller_dtype(arr.dtype, dtypes[i])
            _check(arr.astype(dtype) if dtype != arr.dtype else arr, gt[name], rtol, atol,
                   equal_nan, raise_on_err, f"Train Err: ctx {i} vs ctx {gt_idx} at {name}")
    return gt


def _compare_outputs(exes, gt_idx, names, gt, rtol, atol, equal_nan, raise_on_err):
    for i, exe in enumerate(exes):
        if i != gt_idx:
            for name, arr in zip(names, exe.outputs):
                _check(arr, gt[name], rtol, atol, equal_nan, raise_on_err,
                       f"Predict Err: ctx {i} vs ctx {gt_idx} at {name}")


def _check(arr, want, rtol, atol, equal_nan, raise_on_err, where):
    try:
        assert_almost_equal(arr, want, rtol=rtol, atol=atol, equal_nan=equal_nan)
    except AssertionError as e:
        if raise_on_err:
            raise AssertionError(f"{where}: {e}") from None
        print(f"{where}: {e}")



__all__ = ["check_consistency", "check_symbolic_forward", "check_symbolic_backward",
           "check_numeric_gradient"]
