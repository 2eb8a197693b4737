"""User-defined differentiable functions (``autograd.Function``): their own ``forward`` and
``backward``, recorded on the tape as one node."""
from ..base import MXNetError
from ..ndarray._registry import STATE
from ..ndarray.ndarray import NDArray
from . import _record, is_training, pause


class Function:
    """A user-defined differentiable function with its own ``forward`` and ``backward``.

    Example::

        class Sigmoid(kl.autograd.Function):
            def forward(self, x):
                y = 1 / (1 + nd.exp(-x)); self.save_for_backward(y); return y
            def backward(self, dy):
                y, = self.saved_tensors; return dy * y * (1 - y)
    """

    def __init__(self):
        self.saved_tensors = ()
        self.name = type(self).__name__
        self.save_outputs = False

    def save_for_backward(self, *args):
        self.saved_tensors = args

    def forward(self, *inputs):
        raise NotImplementedError

    def backward(self, *output_grads):
        raise NotImplementedError

    def __call__(self, *inputs):
        with pause(train_mode=is_training()):
            outputs = self.forward(*inputs)
        single = isinstance(outputs, NDArray)
        outs = (outputs,) if single else tuple(outputs)
        outs = tuple(o.detach() for o in outs)
        if STATE.recording and any(isinstance(a, NDArray) and (a._node is not None or
                                   a._grad_req is not None) for a in inputs):
            _record(_FunctionOp(self), tuple(inputs), {}, outs)
        return outs[0] if single else outs


class _FunctionOp:
    """Adapts a ``Function`` instance to the op protocol the engine calls."""

    save_outputs = False

    def __init__(self, fn):
        self.fn, self.name = fn, fn.name

    def grad(self, ins, outs, gouts):
        res = self.fn.backward(*gouts)
        res = (res,) if isinstance(res, NDArray) else tuple(res)
        if len(res) != len(ins):
            raise MXNetError(f"{self.name}.backward returned {len(res)} gradients for "
                             f"{len(ins)} inputs")
        return res
