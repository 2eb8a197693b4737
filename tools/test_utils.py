"""``kiln.test_utils``: the helpers of MXNet 1.9's ``mx.test_utils`` that user tests rely on.

Comparisons accept NDArrays or numpy arrays. Default tolerances depend on the dtypes compared
(the looser of the two): float16 rtol 1e-2 / atol 1e-1, float32 1e-4 / 1e-3, float64 1e-5 /
1e-20, integers and bool exact, as in MXNet.

Example::

    >>> from kiln.test_utils import assert_almost_equal, rand_ndarray
    >>> x = rand_ndarray((2, 3))
    >>> assert_almost_equal(x * 1.00001, x.asnumpy())
"""
import contextlib
import numbers
import os
import sys

import numpy as np
import numpy.testing as npt

from ..base import MXNetError
from ..device import _ctx_stack, as_context, current_context

_FLOAT_RTOL = {np.dtype(np.float16): 1e-2, np.dtype(np.float32): 1e-4,
               np.dtype(np.float64): 1e-5}
_FLOAT_ATOL = {np.dtype(np.float16): 1e-1, np.dtype(np.float32): 1e-3,
               np.dtype(np.float64): 1e-20}


# ---- defaults ----
def default_context():
    """The device tests create arrays on (the current context, ``cpu(0)`` unless changed)."""
    return current_context()


def set_default_context(ctx):
    """Make ``ctx`` the current context of this thread (inside a ``with ctx:`` block, until
    the block ends, as in MXNet).

    Example: ``set_default_context(kiln.cpu(1)); nd.zeros(2).context`` is ``cpu(1)``.
    """
    ctx = as_context(ctx)
    stack = _ctx_stack()
    if stack:
        stack[-1] = ctx
    else:
        stack.append(ctx)


def default_dtype():
    """float32, the dtype test data is generated in."""
    return np.float32


def default_rtols():
    """dtype -> default relative tolerance."""
    return {**_FLOAT_RTOL, **{np.dtype(t): 0 for t in _EXACT}}


def default_atols():
    """dtype -> default absolute tolerance."""
    return {**_FLOAT_ATOL, **{np.dtype(t): 0 for t in _EXACT}}


def default_numeric_eps():
    """dtype -> finite-difference step (powers of two, exact as input deltas)."""
    return {np.dtype(np.float16): 1.0 / 2 ** 6, np.dtype(np.float32): 1.0 / 2 ** 9,
            np.dtype(np.float64): 1.0 / 2 ** 14}


_EXACT = (np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64,
          np.uint64)


def get_tolerance(dat, tol, default_tol):
    """``tol`` if it is a number, else its entry (or ``default_tol``'s) for ``dat``'s dtype."""
    if isinstance(tol, numbers.Number):
        return tol
    dtype = np.dtype(getattr(dat, "dtype", np.float64))
    tol = {} if tol is None else tol
    return tol.get(dtype, default_tol.get(dtype, 0))


def get_tols(x, y, rtol, atol):
    """``(rtol, atol)`` for comparing ``x`` and ``y``: the looser of their dtypes' defaults."""
    x = np.array(x) if isinstance(x, numbers.Number) else x
    y = np.array(y) if isinstance(y, numbers.Number) else y
    return (max(get_tolerance(x, rtol, default_rtols()), get_tolerance(y, rtol, default_rtols())),
            max(get_tolerance(x, atol, default_atols()), get_tolerance(y, atol, default_atols())))


def get_rtol(rtol=None, dtype=np.dtype(np.float64)):
    """``rtol``, or the default for ``dtype`` (float64) when None."""
    return default_rtols()[np.dtype(dtype)] if rtol is None else rtol


def get_atol(atol=None, dtype=np.dtype(np.float64)):
    """``atol``, or the default for ``dtype`` (float64) when None."""
    return default_atols()[np.dtype(dtype)] if atol is None else atol


def get_etol(etol=None):
    """Allowed fraction of mismatching elements (0 unless given)."""
    return 0 if etol is None else etol


# ---- comparisons ----
def _np(a):
    return a.asnumpy() if hasattr(a, "asnumpy") else np.asarray(a)


def _check_shapes(a, b):
    if np.shape(a) != np.shape(b):
        raise AssertionError(npt.build_err_msg(
            [a, b], err_msg=f"a.shape = {np.shape(a)} and b.shape = {np.shape(b)} are not equal"))


def same(a, b):
    """True when ``a`` and ``b`` (NDArray or numpy) have equal shapes and values.

    Example: ``same(nd.array([1, 2]), np.array([1, 2]))`` is True.
    """
    return np.array_equal(_np(a), _np(b))


def almost_equal(a, b, rtol=None, atol=None, equal_nan=False, use_broadcast=True):
    """True when ``|a - b| <= atol + rtol * |b|`` everywhere (float64 defaults when None:
    rtol 1e-5, atol 1e-20, as in MXNet).

    Example: ``almost_equal(nd.array([1.0]), np.array([1.0 + 1e-7]))`` is True.
    """
    a, b = _np(a), _np(b)
    if not use_broadcast:
        _check_shapes(a, b)
    return bool(np.allclose(a, b, rtol=get_rtol(rtol), atol=get_atol(atol), equal_nan=equal_nan))


def _max_violation(a, b, rtol, atol):
    """Index and size (in tolerances) of the worst element; equal infinities count as equal."""
    with np.errstate(invalid="ignore"):
        absdiff = np.where(np.equal(a, b), 0, np.abs(a - b))
    violation = absdiff / (atol + rtol * np.abs(b) + 1e-20)
    violation = np.where(np.isnan(violation), np.inf, violation)
    idx = tuple(int(i) for i in np.unravel_index(np.argmax(violation), violation.shape))
    return idx, float(np.max(violation))


def assert_almost_equal(a, b, rtol=None, atol=None, names=("a", "b"), equal_nan=False,
                        use_broadcast=True, mismatches=(10, 10)):
    """Raise AssertionError unless ``|a - b| <= atol + rtol * |b|`` everywhere.

    ``a``/``b``: NDArrays or numpy arrays (broadcast unless ``use_broadcast=False``).
    ``rtol``/``atol``: numbers, dicts dtype -> tolerance, or None for the dtype defaults (see the
    module docstring). ``names`` label the two arrays in the message, which gives the worst
    element and the share of mismatching elements.

    Example: ``assert_almost_equal(nd.ones((2,)), np.ones(2), names=('kiln', 'numpy'))``.
    """
    if not use_broadcast:
        _check_shapes(a, b)
    rtol, atol = get_tols(a, b, rtol, atol)
    a, b = _np(a), _np(b)
    if a.dtype == np.bool_ and b.dtype == np.bool_:
        np.testing.assert_equal(a, b)
        return
    if np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan):
        return
    a, b = np.broadcast_arrays(a, b)
    a64 = a.astype(np.float64) if a.dtype.kind in "biuf" else a
    b64 = b.astype(np.float64) if b.dtype.kind in "biuf" else b
    with np.errstate(invalid="ignore"):
        close = np.isclose(a64, b64, rtol=rtol, atol=atol, equal_nan=equal_nan)
    index, rel = _max_violation(a64, b64, rtol, atol)
    err = (f"Error {rel:f} exceeds tolerance rtol={rtol:e}, atol={atol:e} (mismatch "
           f"{100.0 * np.count_nonzero(~close) / max(close.size, 1):f}%).\n"
           f"Location of maximum error: {index}, {names[0]}={a64[index]:.8f}, "
           f"{names[1]}={b64[index]:.8f}")
    raise AssertionError(npt.build_err_msg([a, b], err_msg=err, names=list(names)))


def assert_allclose(a, b, rtol=1e-07, atol=0, equal_nan=True):
    """``assert_almost_equal`` with numpy's ``assert_allclose`` defaults."""
    assert_almost_equal(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def assert_almost_equal_ignore_nan(a, b, rtol=None, atol=None, names=("a", "b")):
    """``assert_almost_equal`` after zeroing every position that is NaN in either array."""
    a, b = np.copy(_np(a)), np.copy(_np(b))
    nan_mask = np.logical_or(np.isnan(a), np.isnan(b))
    a[nan_mask] = 0
    b[nan_mask] = 0
    assert_almost_equal(a, b, rtol, atol, names)


def assert_exception(f, exception_type, *args, **kwargs):
    """Raise AssertionError unless ``f(*args, **kwargs)`` raises ``exception_type``.

    Example: ``assert_exception(nd.reshape, MXNetError, nd.ones(4), shape=(3,))``.
    """
    try:
        f(*args, **kwargs)
    except exception_type:
        return
    raise AssertionError(f"{getattr(f, '__name__', f)} did not raise "
                         f"{getattr(exception_type, '__name__', exception_type)}")


def assertRaises(expected_exception, func, *args, **kwargs):
    """``assert_exception`` with the exception type first (unittest's order)."""
    assert_exception(func, expected_exception, *args, **kwargs)


# ---- random data ----
def random_arrays(*shapes):
    """Standard-normal float32 numpy arrays, one per shape (a single array for one shape)."""
    arrays = [np.array(np.random.randn(), dtype=default_dtype()) if len(s) == 0
              else np.random.randn(*s).astype(default_dtype()) for s in shapes]
    return arrays[0] if len(arrays) == 1 else arrays


def random_uniform_arrays(*shapes, low=0.0, high=1.0, dtype=None):
    """Uniform [low, high) numpy arrays, one per shape (a single array for one shape)."""
    dtype = default_dtype() if dtype is None else dtype
    arrays = [np.random.uniform(low, high, size=s).astype(dtype) for s in shapes]
    return arrays[0] if len(arrays) == 1 else arrays


def random_sample(population, k):
    """``k`` distinct elements of the list ``population`` in random order."""
    population = list(population)
    np.random.shuffle(population)
    return population[:k]


def rand_ndarray(shape, stype="default", density=None, dtype=None, modifier_func=None,
                 shuffle_csr_indices=False, distribution=None, ctx=None):
    """A dense NDArray of standard-normal values (float32 unless ``dtype`` is given).

    Only ``stype='default'`` exists in kiln (dense arrays). Example:
    ``rand_ndarray((2, 3), dtype='float64').shape`` is ``(2, 3)``.
    """
    if stype != "default":
        raise MXNetError(f"rand_ndarray(stype={stype!r}): kiln arrays are dense only; "
                         "use stype='default'")
    from .. import ndarray as nd
    return nd.array(random_arrays(tuple(shape)), ctx=ctx or default_context(), dtype=dtype)


def rand_shape_2d(dim0=10, dim1=10, allow_zero_size=False):
    """A random 2-d shape, each size in [1, dim] (from 0 with ``allow_zero_size``)."""
    low = 0 if allow_zero_size else 1
    return np.random.randint(low, dim0 + 1), np.random.randint(low, dim1 + 1)


def rand_shape_3d(dim0=10, dim1=10, dim2=10, allow_zero_size=False):
    """A random 3-d shape, each size in [1, dim] (from 0 with ``allow_zero_size``)."""
    low = 0 if allow_zero_size else 1
    return (np.random.randint(low, dim0 + 1), np.random.randint(low, dim1 + 1),
            np.random.randint(low, dim2 + 1))


def rand_shape_nd(num_dim, dim=10, allow_zero_size=False):
    """A random ``num_dim``-d shape, each size in [1, dim] (from 0 with ``allow_zero_size``).

    Example: ``len(rand_shape_nd(4))`` is 4.
    """
    low = 0 if allow_zero_size else 1
    return tuple(np.random.randint(low, dim + 1, size=num_dim))


def np_reduce(dat, axis, keepdims, numpy_reduce_func):
    """Apply ``numpy_reduce_func(x, axis=i)`` over each axis in ``axis`` (all when None)."""
    axes = [axis] if isinstance(axis, int) else (
        list(range(dat.ndim)) if axis is None else list(axis))
    axes = [a % dat.ndim for a in axes]
    ret = dat
    for i in sorted(axes, reverse=True):
        ret = numpy_reduce_func(ret, axis=i)
    if keepdims:
        ret = np.reshape(ret, tuple(1 if i in axes else s for i, s in enumerate(dat.shape)))
    return ret


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


# ---- environment ----
@contextlib.contextmanager
def environment(*args):
    """Set environment variables for the block: ``environment('NAME', 'value')`` or
    ``environment({'A': '1', 'B': None})`` (None unsets); restored afterwards."""
    values = args[0] if len(args) == 1 and isinstance(args[0], dict) else {args[0]: args[1]}
    saved = {k: os.environ.get(k) for k in values}
    try:
        for k, v in values.items():
            _set_env(k, v)
        yield
    finally:
        for k, v in saved.items():
            _set_env(k, v)


def _set_env(key, value):
    if value is None:
        os.environ.pop(key, None)
    else:
        os.environ[key] = str(value)


@contextlib.contextmanager
def discard_stderr():
    """Silence ``sys.stderr`` for the block."""
    with open(os.devnull, "w") as null:
        old, sys.stderr = sys.stderr, null
        try:
            yield
        finally:
            sys.stderr = old


__all__ = ["default_context", "set_default_context", "default_dtype", "default_rtols",
           "default_atols", "default_numeric_eps", "get_tolerance", "get_tols", "get_rtol",
           "get_atol", "get_etol", "same", "almost_equal", "assert_almost_equal",
           "assert_allclose", "assert_almost_equal_ignore_nan", "assert_exception",
           "assertRaises", "random_arrays", "random_uniform_arrays", "random_sample",
           "rand_ndarray", "rand_shape_2d", "rand_shape_3d", "rand_shape_nd", "np_reduce",
           "check_symbolic_forward", "check_symbolic_backward", "check_numeric_gradient",
           "environment", "discard_stderr"]
