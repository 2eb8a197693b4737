"""The gradient ops MXNet 1.9's contrib namespace exposes as ``backward_<name>``
(``backward_gradientmultiplier``, ``backward_quadratic``, ``backward_index_copy``; the Hawkes
one lives with ``hawkesll`` in ``ops/hawkes.py``): callable ops that compute the input
gradients of the forward op from the head gradient (first input) and the forward's inputs.

Example::

    >>> nd.contrib.backward_quadratic(nd.ones((2,)), nd.array([1., 2.]), a=1, b=3)  # [5. 7.]
"""
import numpy as np

from .. import ops as F
from .._registry import Aval, Sample, register
from ._rules import same
from ._samples import rnd

_contrib_backward_gradientmultiplier = register(
    "_contrib_backward_gradientmultiplier",
    lambda xp, data, scalar=1.0, is_int=True: data * data.dtype.type(scalar),
    attrs={"scalar": 1.0, "is_int": True}, infer=same,
    grad=lambda i, o, g, scalar=1.0, is_int=True: (g[0] * float(scalar),),
    onnx=lambda g, i, a, o, scalar=1.0, is_int=True: g.op(
        "Mul", i[0], g.const(np.array(scalar, np.dtype(a[0].dtype)))),
    ref=lambda data, scalar=1.0, is_int=True: data * scalar,
    samples=[Sample(rnd(2, 3), scalar=-0.5), Sample(rnd(4), scalar=3.0)],
    doc="""The gradient of ``contrib.gradientmultiplier``: the head gradient ``data`` times
    ``scalar`` (MXNet ``contrib.backward_gradientmultiplier``). Output: like data.

    Example::

        >>> nd.contrib.backward_gradientmultiplier(nd.ones((2,)), scalar=3.0)   # [3. 3.]
    """)


def _bq_kernel(xp, ograd, data, a=0.0, b=0.0, c=0.0):
    return (ograd * (2 * a * data + b)).astype(data.dtype)


def _bq_grad(ins, outs, gouts, a=0.0, b=0.0, c=0.0):
    ograd, data = ins
    return gouts[0] * (data * (2.0 * a) + b), gouts[0] * ograd * (2.0 * a)


def _bq_onnx(g, names, avals, outs, a=0.0, b=0.0, c=0.0):
    dt = np.dtype(avals[1].dtype)
    slope = g.op("Add", g.op("Mul", names[1], g.const(np.array(2 * a, dt))),
                 g.const(np.array(b, dt)))
    return g.op("Mul", names[0], slope)


_contrib_backward_quadratic = register(
    "_contrib_backward_quadratic", _bq_kernel, inputs=("ograd", "data"),
    attrs={"a": 0.0, "b": 0.0, "c": 0.0},
    infer=lambda ograd, data, **_: Aval(tuple(data.shape), np.dtype(data.dtype)),
    grad=_bq_grad, onnx=_bq_onnx, ref=lambda og, x, a=0.0, b=0.0, c=0.0: og * (2 * a * x + b),
    samples=[Sample(rnd(2, 3), rnd(2, 3, salt=1), a=1.5, b=-0.5, c=2.0)],
    doc="""The gradient of ``contrib.quadratic`` (``a*x**2 + b*x + c``): ``ograd * (2*a*data
    + b)`` (MXNet ``contrib.backward_quadratic``). ograd, data: same shape; output like data.

    Example::

        >>> nd.contrib.backward_quadratic(nd.ones((2,)), nd.array([1., 2.]), a=1, b=3)
    """)


def _bic_kernel(xp, ograd, old_tensor, index_vector, new_tensor):
    idx = index_vector.astype(np.int64)
    g_old = ograd.copy()
    g_old[idx] = 0      # overwritten rows: the output does not depend on old's values there
    return g_old, xp.zeros_like(index_vector), ograd[idx]


def _bic_grad(ins, outs, gouts):
    # the three outputs are linear in ograd: rows of old's part and new's part are disjoint
    idx = F.cast(ins[2], dtype="int64")
    return F._contrib_index_copy(gouts[0], idx, gouts[2]), None, None, None


_contrib_backward_index_copy = register(
    "_contrib_backward_index_copy", _bic_kernel,
    inputs=("ograd", "old_tensor", "index_vector", "new_tensor"), num_outputs=3,
    infer=lambda og, old, index, new: (Aval(tuple(og.shape), np.dtype(og.dtype)),
                                       Aval(tuple(index.shape), np.dtype(index.dtype)),
                                       Aval(tuple(new.shape), np.dtype(og.dtype))),
    grad=_bic_grad, no_onnx="no ONNX lowering written (ScatterND and Gather would fit)",
    ref=lambda og, old, index, new: _bic_kernel(np, og, old, index, new),
    samples=[Sample(rnd(5, 3), rnd(5, 3, salt=1), np.array([0, 3], np.int64),
                    rnd(2, 3, salt=2), wrt=[0])],
    doc="""The gradients of ``contrib.index_copy`` (MXNet ``contrib.backward_index_copy``):
    from the head gradient ograd (N, ...) and the forward's inputs, returns old_tensor's
    gradient (ograd with the rows ``index_vector`` zeroed), index_vector's (zeros) and
    new_tensor's (those rows of ograd, (M, ...)).

    Example::

        >>> g_old, g_idx, g_new = nd.contrib.backward_index_copy(
        ...     nd.ones((3, 2)), nd.zeros((3, 2)), nd.array([1]), nd.ones((1, 2)))
    """)
