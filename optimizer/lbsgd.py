"""MXNet 1.9's ``LBSGD`` (large-batch SGD) and its ``Test`` optimizer.

LBSGD emulates a batch ``batch_scale`` times larger: it sums ``batch_scale`` successive
gradients of a weight and applies one SGD(-momentum) step with their mean, its learning rate
multiplied by a warm-up factor that grows from 1 to ``batch_scale`` over ``warmup_epochs *
updates_per_epoch`` gradients ('linear', 'power2' or 'sqrt'), or by the layer-wise LARS ratio
``sqrt(|w|^2 / (|g|^2 + wd |w|^2))`` clipped to [0.01, 100] ('lars'). Between the steps the
weight does not change.

Example::

    >>> opt = kiln.optimizer.create('lbsgd', learning_rate=0.1, momentum=0.9, batch_scale=2)
"""
import math

from .. import ndarray as nd
from .optimizer import Optimizer, register

__all__ = ["LBSGD", "Test"]


@register
class LBSGD(Optimizer):
    """Large-batch SGD with momentum, weight decay and learning-rate warm-up (module
    docstring). ``begin_epoch`` starts the warm-up that many epochs in; ``num_epochs`` is
    accepted as in MXNet (unused)."""

    def __init__(self, momentum=0.0, multi_precision=False, warmup_strategy="linear",
                 warmup_epochs=5, batch_scale=1, updates_per_epoch=32, begin_epoch=0,
                 num_epochs=60, **kwargs):
        super().__init__(multi_precision=multi_precision, **kwargs)
        self.momentum = momentum
        self.warmup_strategy = warmup_strategy
        self.warmup_epochs = warmup_epochs
        self.batch_scale = batch_scale
        self.updates_per_epoch = updates_per_epoch
        self.init_updates = begin_epoch * updates_per_epoch
        self.num_epochs = num_epochs
        self.cumgrads = {}

    def create_state(self, index, weight):
        if self.momentum == 0.0:
            return None
        return nd.zeros(weight.shape, ctx=weight.context, dtype=weight.dtype)

    def _get_lbmult(self, nup):
        """The warm-up multiplier after ``nup`` gradients: 1 -> batch_scale."""
        nwup = self.warmup_epochs * self.updates_per_epoch
        top = float(self.batch_scale)
        if nup >= nwup:
            return top
        if nwup <= 1:
            return 1.0
        frac = nup / nwup
        shape = {"linear": frac, "power2": frac * frac, "sqrt": math.sqrt(frac)}
        return 1.0 + (top - 1) * shape[self.warmup_strategy] \
            if self.warmup_strategy in shape else 1.0

    def _get_lars(self, weight, g, wd):
        """LARS's layer-wise ratio, clipped to [0.01, 100]."""
        w2 = float((weight * weight).asnumpy().sum())
        g2 = float((g * g).asnumpy().sum())
        return min(max(math.sqrt(w2 / (g2 + wd * w2 + 1e-18)), 0.01), 100.0)

    def _cumulate_gradient(self, grad, index):
        prev = self.cumgrads.get(index)
        if prev and prev["num_cums"] > 0:
            cum = {"cum_grad": prev["cum_grad"] + grad, "num_cums": prev["num_cums"] + 1}
        else:  # the count runs on across macro-batches (it drives the warm-up)
            start = prev["num_cums"] if prev else self.init_updates
            cum = {"cum_grad": grad.copy(), "num_cums": start + 1}
        self.cumgrads[index] = cum
        return cum

    def update(self, index, weight, grad, state):
        lr, wd = self._get_lr(index), self._get_wd(index)
        self._update_count(index)
        cum = self._cumulate_gradient(grad, index)
        if cum["num_cums"] % self.batch_scale:
            return  # MXNet runs an sgd_update with lr 0 here: the weight stays
        grad = cum["cum_grad"] / self.batch_scale
        if self.warmup_strategy == "lars":
            lr *= self._get_lars(weight, grad, wd)
        else:
            lr *= self._get_lbmult(cum["num_cums"])
        kwargs = {"rescale_grad": self.rescale_grad}
        if self.clip_gradient:
            kwargs["clip_gradient"] = self.clip_gradient
        if state is not None:
            nd.sgd_mom_update(weight, grad, state, out=weight, lr=lr, wd=wd,
                              momentum=self.momentum, **kwargs)
        else:
            nd.sgd_update(weight, grad, out=weight, lr=lr, wd=wd, **kwargs)
        cum["cum_grad"] = 0


@register
class Test(Optimizer):
    """MXNet's test optimizer: ``w += rescale_grad * grad``; its state is a copy of the new
    weight. Example: ``kiln.optimizer.create('test', rescale_grad=0.5)``."""

    def create_state(self, index, weight):
        return nd.zeros(weight.shape, ctx=weight.context)

    def update(self, index, weight, grad, state):
        weight[:] += grad * self.rescale_grad
        state[:] = weight
