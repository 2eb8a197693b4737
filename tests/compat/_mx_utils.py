"""Stand-ins for the ``mxnet.test_utils`` / ``common`` helpers used by MXNet's own unit tests.

The ported tests in this folder are MXNet 1.9's tests with only their imports adapted; these
helpers reproduce what the originals check (tolerances per dtype, NDArray-or-numpy inputs).
"""
import contextlib
import functools
import os
import sys
import tempfile

import kiln as mx
import numpy as np

_RTOL = {np.dtype(np.float16): 1e-2, np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-5}
_ATOL = {np.dtype(np.float16): 1e-1, np.dtype(np.float32): 1e-3, np.dtype(np.float64): 1e-20}


def _np(a):
    if isinstance(a, mx.nd.NDArray):
        return a.asnumpy()
    return np.asarray(a)


def default_context():
    return mx.cpu()


def _tols(a, b, rtol, atol):
    dts = [x.dtype for x in (a, b) if x.dtype.kind == "f"]
    if rtol is None:
        rtol = max([_RTOL.get(d, 1e-5) for d in dts], default=1e-5)
    if atol is None:
        atol = max([_ATOL.get(d, 1e-20) for d in dts], default=1e-20)
    return rtol, atol


def assert_almost_equal(a, b, rtol=None, atol=None, names=("a", "b"), equal_nan=False,
                        use_broadcast=True, mismatches=(10, 10)):
    a, b = _np(a), _np(b)
    rtol, atol = _tols(a, b, rtol, atol)
    if use_broadcast and a.shape != b.shape:  # MXNet 1.9 compares broadcast shapes by default
        a, b = np.broadcast_arrays(a, b)
    np.testing.assert_allclose(a.astype(np.float64) if a.dtype.kind in "fiub" else a,
                               b.astype(np.float64) if b.dtype.kind in "fiub" else b,
                               rtol=rtol, atol=atol, equal_nan=equal_nan)


def almost_equal(a, b, rtol=None, atol=None, equal_nan=False):
    a, b = _np(a), _np(b)
    rtol, atol = _tols(a, b, rtol, atol)
    return np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def same(a, b):
    return np.array_equal(_np(a), _np(b))


def assert_exception(f, exception_type, *args, **kwargs):
    try:
        f(*args, **kwargs)
    except exception_type:
        return
    raise AssertionError(f"{f} did not raise {exception_type}")


def assertRaises(expected_exception, func, *args, **kwargs):
    assert_exception(func, expected_exception, *args, **kwargs)


def np_reduce(dat, axis, keepdims, numpy_reduce_func):
    """Reduce over several axes one at a time, as mxnet.test_utils.np_reduce does."""
    if isinstance(axis, int):
        axis = [axis]
    else:
        axis = list(axis) if axis is not None else range(len(dat.shape))
    ret = dat
    for i in reversed(sorted(axis)):
        ret = numpy_reduce_func(ret, axis=i)
    if keepdims:
        keepdims_shape = list(dat.shape)
        for i in axis:
            keepdims_shape[i] = 1
        ret = ret.reshape(tuple(keepdims_shape))
    return ret


def rand_shape_nd(num_dim, dim=10, allow_zero_size=False):
    low = 0 if allow_zero_size else 1
    return tuple(np.random.randint(low, dim + 1, size=num_dim))


def rand_shape_2d(dim0=10, dim1=10):
    return np.random.randint(1, dim0 + 1), np.random.randint(1, dim1 + 1)


def random_sample(population, k):
    population_copy = population[:]
    np.random.shuffle(population_copy)
    return population_copy[0:k]


def random_arrays(*shapes):
    arrays = [np.array(np.random.randn(), dtype=np.float32) if len(s) == 0 else
              np.random.randn(*s).astype(np.float32) for s in shapes]
    if len(arrays) == 1:
        return arrays[0]
    return arrays


def rand_ndarray(shape, stype="default", density=None, dtype=None):
    assert stype == "default"
    return mx.nd.array(np.random.uniform(-1, 1, shape), dtype=dtype or np.float32)


def with_seed(seed=None):
    def deco(fn):
        @functools.wraps(fn)
        def wrapped(*args, **kwargs):
            s = np.random.randint(0, 2 ** 31) if seed is None else seed
            np.random.seed(s)
            mx.random.seed(s)
            return fn(*args, **kwargs)
        return wrapped
    return deco


TemporaryDirectory = tempfile.TemporaryDirectory


@contextlib.contextmanager
def discard_stderr():
    with open(os.devnull, "w") as null:
        old = sys.stderr
        sys.stderr = null
        try:
            yield
        finally:
            sys.stderr = old


# ---- symbolic checkers (mxnet.test_utils), over kiln's Symbol.bind executor ----
def _as_location(sym, location, dtype):
    names = sym.list_arguments()
    if isinstance(location, dict):
        missing = set(names) - set(location)
        assert not missing, f"location misses {missing}"
    else:
        location = dict(zip(names, location))
    out = {}
    for k, v in location.items():
        if isinstance(v, mx.nd.NDArray):
            out[k] = v if dtype == "asnumpy" else v.astype(dtype) if dtype else v
        else:
            v = np.asarray(v)
            out[k] = mx.nd.array(v, dtype=v.dtype if dtype == "asnumpy" else dtype)
    return out


def _as_aux(sym, aux_states, dtype):
    if aux_states is None:
        return None
    if not isinstance(aux_states, dict):
        aux_states = dict(zip(sym.list_auxiliary_states(), aux_states))
    return {k: v if isinstance(v, mx.nd.NDArray) else mx.nd.array(v, dtype=dtype)
            for k, v in aux_states.items()}


def check_symbolic_forward(sym, location, expected, rtol=None, atol=None, aux_states=None,
                           ctx=None, equal_nan=False, dtype=np.float32):
    location = _as_location(sym, location, dtype)
    executor = sym.bind(ctx or default_context(), args=location,
                        aux_states=_as_aux(sym, aux_states, dtype))
    outputs = executor.forward(is_train=False)
    if isinstance(expected, dict):
        expected = [expected[k] for k in sym.list_outputs()]
    for output_name, expect, output in zip(sym.list_outputs(), expected, outputs):
        assert_almost_equal(expect, output, rtol, atol, equal_nan=equal_nan)
    return outputs


def check_symbolic_backward(sym, location, out_grads, expected, rtol=None, atol=None,
                            aux_states=None, grad_req='write', ctx=None, grad_stypes=None,
                            equal_nan=False, dtype=np.float32):
    location = _as_location(sym, location, dtype)
    names = sym.list_arguments()
    if isinstance(expected, (list, tuple)):
        expected = dict(zip(names, expected))
    args_grad_npy = {k: np.random.normal(size=location[k].shape) for k in expected}
    args_grad_data = {k: mx.nd.array(v, dtype=location[k].dtype if dtype == "asnumpy"
                                     else dtype) for k, v in args_grad_npy.items()}
    if isinstance(grad_req, str):
        grad_req = {k: grad_req for k in names}
    elif isinstance(grad_req, (list, tuple)):
        grad_req = dict(zip(names, grad_req))
    executor = sym.bind(ctx or default_context(), args=location, args_grad=args_grad_data,
                        aux_states=_as_aux(sym, aux_states, dtype), grad_req=grad_req)
    executor.forward(is_train=True)
    if all(grad_req.get(k, "write") == "null" for k in names):
        # MXNet's executor accepts a backward with nothing to differentiate; kiln's raises
        out_grads = None
        return args_grad_data
    if isinstance(out_grads, (tuple, list)):
        outg = [mx.nd.array(v, dtype=dtype if dtype != "asnumpy" else None)
                if not isinstance(v, mx.nd.NDArray) else v for v in out_grads]
    elif isinstance(out_grads, dict):
        outg = [out_grads[k] for k in sym.list_outputs()]
        outg = [v if isinstance(v, mx.nd.NDArray) else mx.nd.array(v) for v in outg]
    elif out_grads is None:
        outg = None
    else:
        outg = [out_grads if isinstance(out_grads, mx.nd.NDArray) else mx.nd.array(out_grads)]
    executor.backward(outg)
    grads = {k: v.asnumpy() for k, v in args_grad_data.items()}
    for name in expected:
        req = grad_req.get(name, "write")
        if req == "write":
            assert_almost_equal(expected[name], grads[name], rtol, atol, equal_nan=equal_nan)
        elif req == "add":
            assert_almost_equal(expected[name], grads[name] - args_grad_npy[name], rtol, atol,
                                equal_nan=equal_nan)
        elif req == "null":
            assert_almost_equal(args_grad_npy[name], grads[name], rtol, atol,
                                equal_nan=equal_nan)
    return args_grad_data


def check_numeric_gradient(sym, location, aux_states=None, numeric_eps=1e-3, rtol=1e-2,
                           atol=None, grad_nodes=None, use_forward_train=True, ctx=None,
                           grad_stype_dict=None, dtype=np.float32):
    """Symbolic gradients (random head gradient) against central differences."""
    ctx = ctx or default_context()
    names = sym.list_arguments()
    if not isinstance(location, dict):
        location = dict(zip(names, location))
    location = {k: (v.asnumpy() if isinstance(v, mx.nd.NDArray) else np.asarray(v))
                for k, v in location.items()}
    if grad_nodes is None:
        grad_nodes = {k: "write" for k in names}
    elif isinstance(grad_nodes, (list, tuple)):
        grad_nodes = {k: "write" for k in grad_nodes}
    aux_np = None
    if aux_states is not None:
        if not isinstance(aux_states, dict):
            aux_states = dict(zip(sym.list_auxiliary_states(), aux_states))
        aux_np = {k: (v.asnumpy() if isinstance(v, mx.nd.NDArray) else np.asarray(v))
                  for k, v in aux_states.items()}

    def bind(loc, grads=None):
        args = {k: mx.nd.array(v, dtype=dtype) for k, v in loc.items()}
        aux = None if aux_np is None else {k: mx.nd.array(v, dtype=dtype)
                                           for k, v in aux_np.items()}
        reqs = {k: grad_nodes.get(k, "null") if grads is not None else "null" for k in names}
        return sym.bind(ctx, args=args, args_grad=grads, grad_req=reqs, aux_states=aux)

    fwd = bind(location)  # one executor for all the finite-difference forwards

    def forward():
        return [o.asnumpy().astype(np.float64) for o in fwd.forward(is_train=use_forward_train)]

    outs = forward()
    heads = [np.random.normal(0, 0.01, size=o.shape) for o in outs]
    init = {k: np.random.normal(size=location[k].shape) for k in grad_nodes}
    grads = {k: mx.nd.array(v, dtype=dtype) for k, v in init.items()}
    ex = bind(location, grads)
    ex.forward(is_train=True)
    if any(req != "null" for req in grad_nodes.values()):
        # (MXNet's executor accepts a backward with nothing to differentiate; kiln's raises)
        ex.backward([mx.nd.array(h, dtype=dtype) for h in heads])
    for k, req in grad_nodes.items():
        if req == "null":
            continue
        x = location[k].astype(np.float64)
        num = np.zeros_like(x)
        for i in range(x.size):
            old = x.flat[i]
            x.flat[i] = old + numeric_eps / 2
            fwd.arg_dict[k][:] = x
            fp = forward()
            x.flat[i] = old - numeric_eps / 2
            fwd.arg_dict[k][:] = x
            fm = forward()
            x.flat[i] = old
            num.flat[i] = sum(((a - b) * h).sum() for a, b, h in zip(fp, fm, heads)) / numeric_eps
        fwd.arg_dict[k][:] = x
        sym_grad = grads[k].asnumpy().astype(np.float64)
        if req == "add":
            sym_grad = sym_grad - init[k]
        np.testing.assert_allclose(sym_grad, num, rtol=rtol,
                                   atol=1e-4 if atol is None else atol, err_msg=k)


def assert_almost_equal_ignore_nan(a, b, rtol=None, atol=None, names=("a", "b")):
    a, b = np.copy(_np(a)), np.copy(_np(b))
    nan_mask = np.logical_or(np.isnan(a), np.isnan(b))
    a[nan_mask] = 0
    b[nan_mask] = 0
    assert_almost_equal(a, b, rtol, atol)


def np_softmax(x, axis=-1, temperature=1.0):
    x = x - np.max(x, axis=axis, keepdims=True)
    x = np.exp(x / temperature)
    x /= np.sum(x, axis=axis, keepdims=True)
    return x


@contextlib.contextmanager
def environment(*args):
    """MXNet's env-var scope (MXNET_SAFE_ACCUMULATION...); kiln always accumulates safely."""
    yield


def default_numeric_eps():
    return {np.dtype(np.float16): 1.0 / 2**6, np.dtype(np.float32): 1.0 / 2**9,
            np.dtype(np.float64): 1.0 / 2**14}


def default_rtols():
    return {np.dtype(k): v for k, v in _RTOL.items()}
