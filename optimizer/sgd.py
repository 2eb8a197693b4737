"""SGD-family optimizers: SGD, NAG, LARS, Signum and SGLD (MXNet 1.9 update formulas).

Example::

    >>> opt = kiln.optimizer.SGD(learning_rate=0.1, momentum=0.9, wd=1e-4)
"""
import math
import os

import numpy as np

from ..ndarray._derived import thaw
from ..ndarray.ops._update_kernels import nag_kernel, sgd_kernel, signum_kernel
from .lazy import lazy_apply, lazy_rows
from .optimizer import (
    Optimizer,
    _copy_as,
    _warn_fp16,
    clip_py,
    register,
    sparse_weight,
    zeros_state,
)

__all__ = ["SGD", "ccSGD", "NAG", "LARS", "Signum", "SGLD", "DCASGD"]

class _MasterCopy(Optimizer):
    """SGD-style multi precision: the state is ``(inner_state, float32 master weight)``."""

    def create_state_multi_precision(self, index, weight):
        if self.multi_precision and weight.dtype == np.float16:
            master = _copy_as(weight, np.float32)
            return (self.create_state(index, master), master)
        if weight.dtype == np.float16 and not self.multi_precision:
            _warn_fp16(type(self).__name__)
        return self.create_state(index, weight)

    @sparse_weight
    def update(self, index, weight, grad, state):
        self._update_impl(index, weight, grad, state, multi_precision=False)

    @sparse_weight
    def update_multi_precision(self, index, weight, grad, state):
        use_mp = (self.multi_precision and weight.dtype == np.float16
                  and isinstance(state, (tuple, list)))
        self._update_impl(index, weight, grad, state, multi_precision=use_mp)

    def _update_impl(self, index, weight, grad, state, multi_precision=False):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        xp = weight.context.xp
        if multi_precision:
            mom, master = state
            self._kernel(xp, index, master._data, grad._data.astype(np.float32),
                         None if mom is None else mom._data, lr, wd, (weight, grad))
            thaw(weight._data)
            weight._data[...] = master._data.astype(weight._data.dtype)
        else:
            self._apply(xp, index, weight, grad, state, lr, wd)

    def _apply(self, xp, index, weight, grad, state, lr, wd):
        """One weight's update: lazily on a row_sparse gradient's rows (optimizer/lazy.py)."""
        mom = None if state is None else state._data
        rows = lazy_rows(self, grad)
        if rows is None:
            self._kernel(xp, index, weight._data, grad._data, mom, lr, wd, (weight, grad))
            return
        lazy_apply(lambda w, g, m: self._kernel(xp, index, w, g, m, lr, wd, (weight, grad)),
                   rows, weight._data, grad, [mom])

    def _kernel(self, xp, index, w, g, mom, lr, wd, model):
        """Update raw ``w`` (the master copy under multi precision) from raw ``g``;
        ``model`` is the (weight, grad) NDArray pair as the caller passed it."""
        raise NotImplementedError

    def update_many(self, indices, weights, grads, states):
        """One aggregated update of several weights (MXNet's multi-tensor ``multi_sgd``
        path, taken when ``aggregate_num > 1``): update counts first, then each weight with
        the learning rate and weight decay of that count."""
        if self.multi_precision and any(w.dtype == np.float16 for w in weights) or any(
                getattr(w, "stype", "default") != "default" for w in weights):
            # (sparse weights, as MXNet, are not aggregated: each goes through update)
            for i, w, g, s in zip(indices, weights, grads, states):
                self.update_multi_precision(i, w, g, s)
            return
        self._update_count(indices)
        xp = weights[0].context.xp
        for i, w, g, s, lr, wd in zip(indices, weights, grads, states, self._get_lrs(indices),
                                      self._get_wds(indices)):
            self._apply(xp, i, w, g, s, lr, wd)


@register
class SGD(_MasterCopy):
    """SGD with momentum and weight decay; with ``lazy_update`` a row_sparse gradient
    updates only its rows (weight and momentum; optimizer/lazy.py)::

        state = momentum * state - lr * (clip(rescale_grad * grad, clip_gradient) + wd * weight)
        weight = weight + state
    """

    _LAZY = True  # row_sparse gradients update lazily (optimizer/lazy.py)

    def __init__(self, momentum=0.0, lazy_update=True, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.lazy_update = lazy_update
        # MXNet 1.9 aggregates SGD updates in groups of MXNET_OPTIMIZER_AGGREGATION_SIZE
        self.aggregate_num = max(1, min(50, int(os.getenv("MXNET_OPTIMIZER_AGGREGATION_SIZE",
                                                          "4"))))

    def create_state(self, index, weight):
        return zeros_state(weight) if self.momentum != 0.0 else None

    def _kernel(self, xp, index, w, g, mom, lr, wd, model):
        sgd_kernel(xp, w, g, mom, lr, wd, self.momentum, self.rescale_grad, self.clip_gradient)


@register
class ccSGD(SGD):
    """[DEPRECATED] Same as ``SGD``; kept for backward compatibility."""


@register
class DCASGD(Optimizer):
    """Delay-compensated asynchronous SGD (Zheng et al. 2016)::

        g = clip(rescale_grad * grad, clip_gradient)
        mom = momentum * mom - lr * (g + wd * weight + lamda * g**2 * (weight - previous_weight))
        previous_weight = weight;  weight += mom
    """

    def __init__(self, momentum=0.0, lamda=0.04, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.weight_previous = {}
        self.lamda = lamda

    def create_state(self, index, weight):
        mom = zeros_state(weight) if self.momentum != 0.0 else None
        return (mom, _copy_as(weight, weight._data.dtype))  # momentum, previous weight

    @sparse_weight
    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        xp = weight.context.xp
        w = weight._data
        g = clip_py(xp, self.rescale_grad * grad._data, self.clip_gradient)
        mom, prev = state
        step = -lr * (g + wd * w + self.lamda * g * g * (w - prev._data))
        if mom is not None:  # MXNet tests ``if mom:``, which fails for arrays; this is meant
            mom._data *= self.momentum
            mom._data += step
            step = mom._data
        prev._data[...] = w
        w += step


@register
class NAG(_MasterCopy):
    """Nesterov accelerated gradient (MXNet's ``nag_mom_update``)::

        g = clip(rescale_grad * grad, clip_gradient) + wd * weight
        state = momentum * state - lr * g
        weight = weight + momentum * state - lr * g

    MXNet 1.9 builds the momentum from the already-updated weight when ``wd > 0``; kiln uses
    the weight before the update, as the formula says.
    """

    def __init__(self, momentum=0.0, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum

    def create_state(self, index, weight):
        return zeros_state(weight) if self.momentum != 0.0 else None

    def _kernel(self, xp, index, w, g, mom, lr, wd, model):
        nag_kernel(xp, w, g, mom, lr, wd, self.momentum, self.rescale_grad, self.clip_gradient)


@register
class LARS(_MasterCopy):
    """LARS: SGD with momentum and a layer-wise learning rate (Large Batch Training of
    Convolutional Networks). For parameters whose name does not end in gamma/beta/bias::

        w_norm, g_norm = L2(weight), L2(rescale_grad * grad)
        lr_layer = lr * eta * w_norm / (g_norm + wd * w_norm + eps)   (if both norms > 0)

    With ``momentum_correction`` the momentum is scaled by ``cur_lr / last_lr`` when the global
    learning rate changes.
    """

    def __init__(self, momentum=0.0, lazy_update=True, eta=0.001, eps=0,
                 momentum_correction=True, **kwargs):
        super().__init__(**kwargs)
        self.momentum = momentum
        self.momentum_correction = momentum_correction
        self.lazy_update = lazy_update
        self.eta = eta
        self.eps = eps
        self.skip = 0
        self.last_lr = None
        self.cur_lr = None

    def _get_lrs(self, indices):
        # track the global lr between calls, for the momentum correction
        if self.cur_lr is not None:
            self.last_lr = self.cur_lr
        lr = self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr
        if self.cur_lr is None:
            self.last_lr = lr
        self.cur_lr = lr
        return [lr * self._mult(index, self.lr_mult, "lr_mult") for index in indices]

    def set_wd_mult(self, args_wd_mult):
        self.wd_mult = {n: 0.0 for n in self.idx2name.values() if not n.endswith("_weight")}
        if self.sym_info:
            attr, arg_names = self.sym_info
            for name in arg_names:
                if name in attr and "__wd_mult__" in attr[name]:
                    self.wd_mult[name] = float(attr[name]["__wd_mult__"])
        self.wd_mult.update(args_wd_mult)

    def create_state(self, index, weight):
        return zeros_state(weight) if self.momentum != 0.0 else None

    def _kernel(self, xp, index, w, g, mom, lr, wd, model):
        lr = self._lars_lr(index, *model, lr, wd)  # norms of the model weight, as in MXNet
        momentum = self.momentum
        if self.momentum_correction and self.last_lr != 0 and momentum > 0:
            momentum = momentum * (self.cur_lr / self.last_lr)
        sgd_kernel(xp, w, g, mom, lr, wd, momentum, self.rescale_grad, self.clip_gradient)

    def _lars_lr(self, index, weight, grad, lr, wd):
        name = self.idx2name.get(index, str(index))
        if name.endswith("gamma") or name.endswith("beta") or name.endswith("bias"):
            return lr
        xp = weight.context.xp
        w_norm = float(xp.linalg.norm(weight._data.astype(np.float32).ravel()))
        g_norm = float(xp.linalg.norm(grad._data.astype(np.float32).ravel())) * self.rescale_grad
        if w_norm > 0.0 and g_norm > 0.0:
            return lr * self.eta * w_norm / (g_norm + wd * w_norm + self.eps)
        return lr


@register
class Signum(Optimizer):
    """signSGD / Signum (Bernstein et al. 2018)::

        momentum > 0:  state = momentum * state - (1 - momentum) * (clip(rescale_grad * grad)
                                                                     + wd * weight)
                       weight = (1 - lr * wd_lh) * weight + lr * sign(state)
        momentum == 0: weight = (1 - lr * wd) * weight - lr * sign(clip(rescale_grad * grad))
    """

    def __init__(self, learning_rate=0.01, momentum=0.9, wd_lh=0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.momentum = momentum
        self.wd_lh = wd_lh

    def create_state(self, index, weight):
        return zeros_state(weight) if self.momentum != 0.0 else None

    @sparse_weight
    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        xp = weight.context.xp
        w = weight._data
        # momentum 0 (no state) applies wd as decoupled decay (MXNet's signsgd_update)
        signum_kernel(xp, w, grad._data, None if state is None else state._data, lr, wd,
                      self.momentum, self.rescale_grad, self.clip_gradient, self.wd_lh)


@register
class SGLD(Optimizer):
    """Stochastic Gradient Langevin Dynamics::

        weight += -lr / 2 * (clip(rescale_grad * grad) + wd * weight) + N(0, sqrt(lr))
    """

    def create_state(self, index, weight):
        return None

    @sparse_weight
    def update(self, index, weight, grad, state):
        self._update_count(index)
        lr, wd = self._get_lr(index), self._get_wd(index)
        xp = weight.context.xp
        w = weight._data
        g = clip_py(xp, self.rescale_grad * grad._data, self.clip_gradient)
        w += -lr / 2 * (g + wd * w)
        # drawn like MXNet's SGLD (nd.random.normal in the weight's dtype), so a seeded run
        # reproduces MXNet's reference stream
        from ..ndarray import random as _ndrandom
        noise = _ndrandom.normal(0, math.sqrt(lr), shape=w.shape, dtype=weight.dtype,
                                 ctx=weight.context)
        w += noise._data
