"""MXNet's legacy Python operators (``mx.operator.PythonOp``, ``NumpyOp``, ``NDArrayOp``).

MXNet 1.9 still ships them, deprecated in favour of ``CustomOp``: subclass, override
``forward(in_data, out_data)`` and ``backward(out_grad, in_data, out_data, in_grad)`` (numpy
arrays for ``NumpyOp``, NDArrays for ``NDArrayOp``, written in place), ``infer_shape``,
``list_arguments``/``list_outputs``, then ``op.get_symbol(*symbols, name=...)`` (or
``op(...)``) gives a Symbol. Each instance runs as a ``CustomOp`` registered under a name of
its own (ndarray/custom_op.py), so it binds, differentiates and hybridizes like one. The
defaults are MXNet's: the output copies the first input, the input gradient is 1.

Example::

    >>> s = mx.operator.NumpyOp().get_symbol(mx.sym.var("X"), name="numpy_op")
"""
import itertools

import numpy as np

from ..ndarray import custom_op
from .custom import Custom

__all__ = ["PythonOp", "NumpyOp", "NDArrayOp"]

_ids = itertools.count()


class PythonOp:
    """Base of the legacy Python operators; see the module docstring."""

    def __init__(self, need_top_grad=True):
        self.need_top_grad_ = need_top_grad
        self._op_type = None

    def __call__(self, *args, **kwargs):
        return self.get_symbol(*args, **kwargs)

    def forward(self, in_data, out_data):
        out_data[0][:] = in_data[0]

    def backward(self, out_grad, in_data, out_data, in_grad):
        in_grad[0][:] = 1.0

    def infer_shape(self, in_shape):
        return in_shape, [in_shape[0]]

    def list_outputs(self):
        return ["output"]

    def list_arguments(self):
        return ["data"]

    def need_top_grad(self):
        return self.need_top_grad_

    def get_symbol(self, *args, **kwargs):
        """The op applied to Symbols (positional, or keywords named by ``list_arguments``)."""
        if self._op_type is None:
            self._op_type = f"_legacy_{type(self).__name__.lower()}{next(_ids)}"
            custom_op.register(self._op_type)(_prop_class(self))
        return Custom(*args, op_type=self._op_type, **kwargs)

    def _run(self, fn, arrays, written):
        """Call ``fn`` (``forward`` or ``backward``) on ``arrays`` (lists of NDArrays), the
        groups at positions ``written`` being its results."""
        raise NotImplementedError(f"{type(self).__name__}: subclass NumpyOp or NDArrayOp")


class NumpyOp(PythonOp):
    """A legacy operator computing on numpy arrays (copies of the NDArrays, written back)."""

    def _run(self, fn, arrays, written):
        views = [[a.asnumpy() for a in group] for group in arrays]
        fn(*views)
        for group in written:
            for dst, src in zip(arrays[group], views[group]):
                dst[:] = src


class NDArrayOp(PythonOp):
    """A legacy operator computing on the NDArrays themselves."""

    def _run(self, fn, arrays, written):
        fn(*arrays)


def _prop_class(legacy):
    class _Op(custom_op.CustomOp):
        def forward(self, is_train, req, in_data, out_data, aux):
            legacy._run(legacy.forward, [list(in_data), list(out_data)], (1,))

        def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
            for g in in_grad:
                g[:] = 0
            legacy._run(legacy.backward,
                        [list(out_grad), list(in_data), list(out_data), list(in_grad)], (3,))

    class _Prop(custom_op.CustomOpProp):
        def __init__(self):
            super().__init__(need_top_grad=legacy.need_top_grad())

        def list_arguments(self):
            return legacy.list_arguments()

        def list_outputs(self):
            return legacy.list_outputs()

        def infer_shape(self, in_shape):
            answer = legacy.infer_shape(in_shape)
            return answer[0], answer[1], []

        def infer_type(self, in_type):
            return in_type, [in_type[0] if in_type else np.float32] * len(self.list_outputs()), []

        def create_operator(self, ctx, shapes, dtypes):
            return _Op()
    return _Prop
