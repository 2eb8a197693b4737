"""The rest of MXNet 1.9's ``mx.test_utils`` helpers (re-exported by ``kiln.test_utils``).

Comparison of optimizers and of one symbol bound at several devices/dtypes, array identity,
small generators, and the environment/feature queries MXNet's own unit tests call.
"""
import functools
import os
import platform

import numpy as np

from ..base import MXNetError
from ..device import current_context
from ._tu_compare import _np, assert_almost_equal, default_context, get_etol, get_tols, same


def compare_ndarray_tuple(t1, t2, rtol=None, atol=None):
    """``assert_almost_equal`` over two (nested) tuples of arrays; ``None`` on either side
    compares nothing (MXNet's optimizer-state comparison).

    Example::

        >>> compare_ndarray_tuple((mx.nd.ones(2),), (np.ones(2),))
    """
    if t1 is None or t2 is None:
        return
    if isinstance(t1, tuple):
        for s1, s2 in zip(t1, t2):
            compare_ndarray_tuple(s1, s2, rtol, atol)
    else:
        assert_almost_equal(t1, t2, rtol=rtol, atol=atol)


def compare_optimizer(opt1, opt2, shape, dtype, w_stype="default", g_stype="default",
                      rtol=1e-4, atol=1e-5, compare_states=True, ntensors=1):
    """Apply one update of ``opt1`` and of ``opt2`` to the same random weight and gradient
    and compare the weights (and the states, with ``compare_states``).

    A list ``shape`` checks ``opt2``'s multi-tensor update (``ntensors`` weights at once)
    against ``opt1`` one weight at a time. Example::

        >>> compare_optimizer(mx.optimizer.SGD(), mx.optimizer.SGD(), (3, 4), np.float32)
    """
    from .. import ndarray as nd
    from ._tu_data import rand_ndarray
    for stype in (w_stype, g_stype):
        if stype not in ("default", "row_sparse", "csr"):
            raise MXNetError(f"compare_optimizer: unknown storage type {stype!r}")
    ctx = default_context()

    def pair(s, stype="default", density=None):
        # opt2 gets the array of storage ``stype``, opt1 a dense copy (MXNet's arrangement)
        if stype == "default":
            a = nd.random.uniform(shape=s, ctx=ctx, dtype=dtype)
            return a, a.copyto(ctx)
        a = rand_ndarray(s, stype, density=density, dtype=dtype, ctx=ctx)
        return a, a.copyto(ctx).tostype("default")

    if not isinstance(shape, list):
        assert ntensors == 1
        (w2, w1), (g2, g1) = pair(shape, w_stype, density=1), pair(shape, g_stype)
        state1 = opt1.create_state_multi_precision(0, w1)
        state2 = opt2.create_state_multi_precision(0, w2)
        if compare_states:
            compare_ndarray_tuple(state1, state2)
        opt1.update_multi_precision(0, w1, g1, state1)
        opt2.update_multi_precision(0, w2, g2, state2)
        if compare_states:
            compare_ndarray_tuple(state1, state2, rtol=rtol, atol=atol)
        assert_almost_equal(w1, w2, rtol=rtol, atol=atol)
        return
    ws, gs = zip(*[pair(s) for s in shape]), zip(*[pair(s) for s in shape])
    (w1, w2), (g1, g2) = ws, gs
    state2 = [opt2.create_state_multi_precision(0, w2[i]) for i in range(ntensors)]
    opt2.update_multi_precision(list(range(ntensors)), list(w2), list(g2), state2)
    for i in range(ntensors):
        state1 = opt1.create_state_multi_precision(i, w1[i])
        opt1.update_multi_precision(i, w1[i], g1[i], state1)
        if compare_states:
            compare_ndarray_tuple(state1, state2[i], rtol, atol)
        compare_ndarray_tuple(w1[i], w2[i], rtol, atol)


def same_array(array1, array2):
    """Whether two NDArrays share memory: adding 1 to one shows in the other.

    Example::

        >>> x = mx.nd.ones(3); same_array(x, x), same_array(x, x.copy())
        (True, False)
    """
    array1[:] += 1
    if not same(array1.asnumpy(), array2.asnumpy()):
        array1[:] -= 1
        return False
    array1[:] -= 1
    return same(array1.asnumpy(), array2.asnumpy())


def simple_forward(sym, ctx=None, is_train=False, **inputs):
    """Run ``sym`` on numpy ``inputs`` (by argument name); numpy output(s).

    Example::

        >>> simple_forward(mx.sym.var('x') * 2, x=np.ones(2))
        array([2., 2.], dtype=float32)
    """
    from .. import ndarray as nd
    ctx = ctx or default_context()
    exe = sym.bind(ctx, args={k: nd.array(v, ctx=ctx) for k, v in inputs.items()})
    outputs = [x.asnumpy() for x in exe.forward(is_train=is_train)]
    return outputs[0] if len(outputs) == 1 else outputs


def retry(n):
    """Decorator: rerun a stochastic test up to ``n`` times while it fails an assertion.

    Example::

        >>> @retry(3)
        ... def test_noisy(): ...
    """
    assert n > 0

    def decorate(f):
        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            for i in range(n):
                try:
                    return f(*args, **kwargs)
                except AssertionError:
                    if i == n - 1:
                        raise
        return wrapper
    return decorate


def list_gpus():
    """``range(number of GPUs kiln can use)``.

    Example::

        >>> list(list_gpus())   # on a CPU-only machine
        []
    """
    from ..device import num_gpus
    return range(num_gpus())


def assert_almost_equal_with_err(a, b, rtol=None, atol=None, etol=None, names=("a", "b"),
                                 equal_nan=False, mismatches=(10, 10)):
    """``assert_almost_equal`` that tolerates a fraction ``etol`` of mismatching elements.

    Example::

        >>> assert_almost_equal_with_err(np.r_[0., 1.], np.r_[0., 9.], etol=0.5)
    """
    etol = get_etol(etol)
    if etol <= 0:
        return assert_almost_equal(a, b, rtol, atol, names, equal_nan=equal_nan)
    rtol, atol = get_tols(a, b, rtol, atol)
    a, b = _np(a), _np(b)
    close = np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)
    err = 1 - np.count_nonzero(close) / max(close.size, 1)
    if err > etol:
        raise AssertionError(f"{100 * err:.2f}% of {names[0]} and {names[1]} differ beyond "
                             f"rtol={rtol}, atol={atol} (allowed {100 * etol:.2f}%)")


def collapse_sum_like(a, shape):
    """Sum numpy ``a`` down to ``shape`` (undo broadcasting).

    Example::

        >>> collapse_sum_like(np.ones((2, 3)), (1, 3))
        array([[2., 2., 2.]])
    """
    assert len(a.shape) >= len(shape)
    if np.prod(shape) == 0 or a.size == 0:
        return np.zeros(shape, dtype=a.dtype)
    lead = len(a.shape) - len(shape)
    axes = list(range(lead))
    for i, s in enumerate(shape):
        if s != a.shape[i + lead]:
            assert s == 1
            axes.append(i + lead)
    return np.sum(a, axis=tuple(axes)).reshape(shape)


def same_symbol_structure(sym1, sym2):
    """Whether two symbols have the same op at every node position.

    Example::

        >>> x = mx.sym.var('x'); same_symbol_structure(x + 1, x + 2)
        True
    """
    import json
    nodes1 = json.loads(sym1.tojson())["nodes"]
    nodes2 = json.loads(sym2.tojson())["nodes"]
    return all(n1["op"] == n2["op"] for n1, n2 in zip(nodes1, nodes2))


def assign_each(the_input, function):
    """``function`` applied to each element of numpy ``the_input`` (a copy when None)."""
    if function is None:
        return np.array(the_input)
    return np.vectorize(function, otypes=[np.float64])(the_input)


def assign_each2(input1, input2, function):
    """``function`` applied elementwise to two same-shape numpy arrays."""
    if function is None:
        return np.array(input1)
    assert input1.shape == input2.shape
    return np.vectorize(function, otypes=[np.float64])(input1, input2)


def rand_coord_2d(x_low, x_high, y_low, y_high):
    """A random integer point in ``[x_low, x_high) x [y_low, y_high)``."""
    return (np.random.randint(x_low, x_high, dtype=np.int64),
            np.random.randint(y_low, y_high, dtype=np.int64))


def create_vector(size, dtype=np.int64):
    """``nd.arange(0, size)`` (MXNet's large-tensor tests)."""
    from .. import ndarray as nd
    return nd.arange(0, size, dtype=dtype)


def create_2d_tensor(rows, columns, dtype=np.int64):
    """A ``(rows, columns)`` NDArray whose row i holds i."""
    from .. import ndarray as nd
    a = nd.arange(0, rows, dtype=dtype).reshape(rows, 1)
    return nd.broadcast_to(a, shape=(rows, columns))


def get_identity_mat(size):
    """The ``size x size`` identity as an NDArray."""
    from .. import ndarray as nd
    return nd.array(np.eye(size))


def get_identity_mat_batch(size):
    """Two stacked identities, shape ``(2, size, size)``."""
    from .. import ndarray as nd
    eye = np.eye(size)
    return nd.array(np.stack([eye, eye]))


def has_tvm_ops():
    """Whether TVM-generated operators exist: never in kiln."""
    return False


def is_op_runnable():
    """Whether operators can run at the current device: always in kiln (no TVM operators)."""
    current_context()
    return True


def is_cd_run():
    """Whether this runs in MXNet's release (CD) pipeline: ``CD_JOB=1``."""
    return os.environ.get("CD_JOB", 0) == "1"


def is_aarch64_run():
    """Whether the machine is 64-bit ARM."""
    return platform.machine() == "aarch64"


class DummyIter:
    """A data iterator that returns the first batch of ``real_iter`` forever (benchmarks).

    Example::

        >>> it = DummyIter(mx.io.NDArrayIter(np.ones((4, 2)), batch_size=2))
        >>> next(it) is next(it)
        True
    """

    def __init__(self, real_iter):
        self.real_iter = real_iter
        self.provide_data = real_iter.provide_data
        self.provide_label = real_iter.provide_label
        self.batch_size = real_iter.batch_size
        self.the_batch = next(iter(real_iter))

    def __iter__(self):
        return self

    def next(self):
        """The same batch, again."""
        return self.the_batch

    __next__ = next


__all__ = ["compare_ndarray_tuple", "compare_optimizer", "same_array", "simple_forward", "retry",
           "list_gpus", "assert_almost_equal_with_err", "collapse_sum_like",
           "same_symbol_structure", "assign_each", "assign_each2", "rand_coord_2d",
           "create_vector", "create_2d_tensor", "get_identity_mat", "get_identity_mat_batch",
           "has_tvm_ops", "is_op_runnable", "is_cd_run", "is_aarch64_run", "DummyIter"]
