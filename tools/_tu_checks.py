"""More checkers of ``kiln.test_utils``: MXNet 1.9's ``checkShapes``, ``locationError``,
``numeric_grad`` (over a bound executor), ``check_speed`` and
``check_gluon_hybridize_consistency``, and ``np_symbol`` (the np-flavoured Symbol class).

Example::

    >>> check_gluon_hybridize_consistency(lambda prefix=None: nn.Dense(3, prefix=prefix),
    ...                                   [mx.nd.ones((2, 4))])
"""
import time

import numpy as np
import numpy.testing as npt

from .. import autograd
from ..ndarray import array as nd_array
from ..ndarray import waitall
from ..nparray.traced import _Symbol as np_symbol
from ._tu_compare import assert_almost_equal, default_context, default_dtype


def checkShapes(a, b):  # noqa: N802 - MXNet's name
    """Raise AssertionError (with both arrays in the message) unless ``a.shape == b.shape``."""
    if a.shape != b.shape:
        raise AssertionError(npt.build_err_msg(
            [a, b], err_msg=f"a.shape = {a.shape} and b.shape = {b.shape} are not equal"))


def locationError(a, b, index, names, maxError=False):  # noqa: N802,N803 - MXNet's names
    """The message naming a mismatch at ``index`` (a tuple of coordinates) of ``a`` and ``b``.

    Example: ``locationError(np.zeros(2), np.ones(2), (1,), ("x", "y"))`` is
    ``'Location of error: (1,), x=0.00000000, y=1.00000000'``.
    """
    maximum = "maximum " if maxError else ""
    return (f"Location of {maximum}error: {index}, {names[0]}={a[index]:.8f}, "
            f"{names[1]}={b[index]:.8f}")


def numeric_grad(executor, location, aux_states=None, eps=1e-4, use_forward_train=True,
                 dtype=default_dtype()):
    """Central-difference gradients of ``sum(executor.outputs[0])`` with respect to each
    float argument in ``location`` (a dict name -> numpy array, written into the executor's
    arguments; the aux states are rewritten before every forward). Returns a dict name ->
    numpy array of ``dtype``. Example::

        >>> exe = (sym.var('x') ** 2).simple_bind(mx.cpu(), x=(3,))
        >>> numeric_grad(exe, {'x': np.array([1., 2., 3.])})['x']    # ~ [2, 4, 6]
    """
    assert dtype in (np.float16, np.float32, np.float64)
    ctx = next(iter(executor.arg_dict.values())).context if executor.arg_dict else \
        default_context()

    def put(name, value):
        executor.arg_dict[name][:] = nd_array(value, ctx=ctx, dtype=dtype)

    def objective():
        for key, val in (aux_states or {}).items():
            executor.aux_dict[key][:] = nd_array(val, ctx=ctx, dtype=dtype)
        executor.forward(is_train=use_forward_train)
        return executor.outputs[0].asnumpy()

    grads = {k: np.zeros(np.shape(v), dtype=dtype) for k, v in location.items()}
    for k in location:
        location[k] = np.asarray(location[k], order="C")
        put(k, location[k])
    for k, v in location.items():
        if v.dtype.kind != "f":
            continue
        old = v.copy()
        flat = v.reshape(-1)  # a view: writes reach ``v``
        for i in range(flat.size):
            flat[i] += eps / 2.0
            put(k, v)
            plus = objective()
            flat[i] -= eps
            put(k, v)
            minus = objective()
            grads[k].reshape(-1)[i] = (plus - minus).sum() / eps
            flat[i] = old.reshape(-1)[i]
        put(k, old)
    return grads


def check_speed(sym, location=None, ctx=None, N=20, grad_req=None, typ="whole",  # noqa: N803
                **kwargs):
    """Seconds per run of ``sym`` bound at ``location`` (dict name -> numpy array; random
    normal inputs of the shapes in ``kwargs`` when None), averaged over ``N`` runs after one
    warm-up: forward + backward (``typ='whole'``) or forward only (``'forward'``).

    Example: ``check_speed(sym.relu(sym.var('x')), x=(64, 64), N=3, typ='forward')``.
    """
    ctx = ctx or default_context()
    grad_req = grad_req or "write"
    if location is None:
        exe = sym.simple_bind(ctx, grad_req=grad_req, **kwargs)
        location = {k: np.random.normal(size=a.shape, scale=1.0)
                    for k, a in exe.arg_dict.items()}
    else:
        assert isinstance(location, dict), f'Expect dict, get "location"={location}'
        exe = sym.simple_bind(ctx, grad_req=grad_req,
                              **{k: v.shape for k, v in location.items()})
    for name, value in location.items():
        exe.arg_dict[name][:] = value.astype(exe.arg_dict[name].dtype)
    if typ not in ("whole", "forward"):
        raise ValueError('typ can only be "whole" or "forward".')
    train = typ == "whole"

    def run():
        exe.forward(is_train=train)
        if train:
            exe.backward(out_grads=exe.outputs)
    run()
    waitall()
    tic = time.time()
    for _ in range(N):
        run()
    waitall()
    return (time.time() - tic) / N


def check_gluon_hybridize_consistency(net_builder, data_l, numpy_func=None, test_grad=True,
                                      rtol=1E-4, atol=1E-4):
    """Check that a HybridBlock gives the same outputs (and input gradients, for
    ``out.backward(out)``) eager and hybridized, with and without autograd.

    ``net_builder(prefix='net_')`` builds the block (no random ops inside); every build gets
    the first build's parameter values. ``data_l``: the input arrays; ``numpy_func``, when
    given, must compute the same output from numpy inputs.
    """
    saved_out, saved_grads, params = None, None, None
    for hybridize in (False, True):
        for use_autograd in ((False, True) if test_grad else (False,)):
            net = net_builder(prefix="net_")
            net.initialize()
            inputs = [x.copy() for x in data_l]
            if params is not None:
                net(*inputs)  # finishes deferred initialization; then the first values
                for p, value in zip(net.collect_params().values(), params):
                    p.set_data(value)
            if hybridize:
                net.hybridize()
            if use_autograd:
                for x in inputs:
                    x.attach_grad()
                with autograd.record():
                    out = net(*inputs)
                out.backward(out)
            else:
                out = net(*inputs)
            if params is None:
                params = [p.data().copy() for p in net.collect_params().values()]
            if saved_out is None:
                saved_out = out.asnumpy()
            else:
                assert_almost_equal(out.asnumpy(), saved_out, rtol=rtol, atol=atol)
            if use_autograd:
                grads = [x.grad.asnumpy() for x in inputs]
                if saved_grads is None:
                    saved_grads = grads
                else:
                    for got, want in zip(grads, saved_grads):
                        assert_almost_equal(got, want, rtol=rtol, atol=atol)
    if numpy_func is not None:
        assert_almost_equal(saved_out, numpy_func(*[x.asnumpy() for x in data_l]), rtol=rtol,
                            atol=atol)


__all__ = ["checkShapes", "locationError", "numeric_grad", "check_speed",
           "check_gluon_hybridize_consistency", "np_symbol"]
