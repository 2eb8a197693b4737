"""Eager gradient checkpointing: a checkpointed block called while autograd records keeps
no tape of its own ops; one tape node stands for the call, and its backward runs the block's
forward again (recording) and differentiates that.

The recomputation must see what the first run saw: the random generator's state is put back
to where the forward found it (dropout draws the same mask), and parameters without gradient
(BatchNorm's running statistics, which a training-mode forward updates in place) are restored
after the second run, so they are updated once. Hybridized blocks checkpoint inside their
compiled graphs instead (``symbol/remat.py``).
"""
import numpy as np

from .. import autograd
from ..ndarray import NDArray
from ..ndarray.rng import generator


class Recompute(autograd.Function):
    """One call of ``run(*inputs)`` (the block's eager forward) with its parameters as extra
    inputs, so their gradients reach ``.grad`` through the tape node."""

    def __init__(self, run, n_inputs, params, state):
        super().__init__()
        self.run, self.n_inputs, self.params, self.state = run, n_inputs, params, state
        self.train_mode = autograd.is_training()

    def forward(self, *arrays):
        self.inputs = arrays[:self.n_inputs]
        self.rng = _rng_state()
        out = self.run(*self.inputs)
        return out

    def backward(self, *gouts):
        after = _rng_state()
        kept = [(p, p.data().copy()) for p in self.state]
        _set_rng(self.rng)
        inputs = [x.detach() for x in self.inputs]
        for x in inputs:
            x.attach_grad()
        try:
            with autograd.record(train_mode=self.train_mode):
                out = self.run(*inputs)
            outs = [out] if isinstance(out, NDArray) else list(out)
            grads = autograd.grad(outs, inputs + self.params, head_grads=list(gouts))
        finally:
            _set_rng(after)
            for p, value in kept:
                p.data()[:] = value
        return tuple(grads)


def call(block, run, args):
    """``run(*args)`` as one recomputed tape node, or None when the call does not fit (a
    non-array input or output): the caller then runs the block as usual."""
    if not args or not all(isinstance(a, NDArray) for a in args):
        return None
    params = [p for p in block.collect_params().values() if p.grad_req != "null"]
    state = [p for p in block.collect_params().values() if p.grad_req == "null"]
    fn = Recompute(run, len(args), [p.data() for p in params], state)
    out = fn(*args, *fn.params)
    if not (isinstance(out, NDArray) or all(isinstance(o, NDArray) for o in out)):
        return None
    return out


def _rng_state():
    return generator(np).bit_generator.state


def _set_rng(state):
    generator(np).bit_generator.state = state
